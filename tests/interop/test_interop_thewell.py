"""The Well (the-well 1.2.0): its format checker, ``WellDataset`` with the default window and
``DefaultChannelsFirstFormatter``, ZScore / RMS normalisation, and ``compute_statistics.py``."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from the_well.data import WellDataset
from the_well.data.data_formatter import DefaultChannelsFirstFormatter
from the_well.data.normalization import RMSNormalization, ZScoreNormalization

from conftest import FAMILIES, model_view, read_split

HERE = Path(__file__).parent / "thewell"


def _vendored(name: str):
    spec = importlib.util.spec_from_file_location(f"thewell_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("family", FAMILIES)
def test_format_checker_passes_every_split(datasets, family, capsys):
    check = _vendored("check_thewell_formatting").check_hdf5_format
    for split in ("train", "valid", "test"):
        check(str(datasets[family] / "data" / split / f"{family}.hdf5"))      # raises AssertionError on a violation
    assert capsys.readouterr().out.count("passed!") == 3 * 6


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("split", ["train", "test"])
def test_welldataset_default_window_yields_inputs_and_solution(datasets, family, split):
    """Default arguments (1 input step, 1 output step): steady -> one window per sample with
    x = (u(0) = 0, inputs...) and y = the solution; heat -> T windows per trajectory."""
    d = read_split(datasets[family], split)
    ds = WellDataset(path=str(datasets[family]), well_split_name=split)
    u = d["fields"]["u"]
    n, T = u.shape[:2]
    assert len(ds) == n * (T - 1)
    fmt = DefaultChannelsFirstFormatter(ds.metadata)
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    (x,), y = fmt.process_input(batch)
    x, y = x.numpy(), y.numpy()
    inputs, _ = model_view(d)
    if d["steady"]:                                              # inputs: [n, C, H, W]
        assert x.shape == (n, 1 + inputs.shape[1], 16, 16) and y.shape == (n, 1, 16, 16, 1)
        assert not np.any(x[:, 0])                               # u(0) = 0
        assert np.array_equal(x[:, 1:], inputs)                  # every input, k as a constant channel
        assert np.array_equal(y[:, 0, ..., 0], u[:, 1])
    else:                                                        # window w of trajectory i: u(t_w) -> u(t_w+1)
        kappa = d["fields"]["kappa"]
        for i in range(n):
            for w in range(T - 1):
                j = i * (T - 1) + w
                assert np.array_equal(x[j, 0], u[i, w]) and np.array_equal(x[j, 1], kappa[i])
                assert np.array_equal(y[j, 0, ..., 0], u[i, w + 1])
    if family == "helmholtz":
        assert ds.metadata.constant_field_names[0] == ["f", "k"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("norm", [ZScoreNormalization, RMSNormalization])
def test_welldataset_normalisation(datasets, family, norm):
    d = read_split(datasets[family], "train")
    stats = yaml.safe_load((datasets[family] / "stats.yaml").read_text())
    ds = WellDataset(path=str(datasets[family]), well_split_name="train", use_normalization=True,
                     normalization_type=norm)
    item = ds[0]
    f = d["fields"]

    def ref(name, a):
        if norm is ZScoreNormalization:
            return (a - stats["mean"][name]) / max(stats["std"][name], 1e-4)
        return a / max(stats["rms"][name], 1e-4)

    got_u = item["input_fields"][0, ..., 0].numpy()
    assert np.allclose(got_u, ref("u", f["u"][0, 0]), rtol=1e-5, atol=1e-5)
    assert np.allclose(item["output_fields"][0, ..., 0].numpy(), ref("u", f["u"][0, 1]), rtol=1e-5, atol=1e-5)
    for c, name in enumerate(d["inputs"]):
        a = f[name][0] if d["dim_varying"][name] else np.full((16, 16), f[name][0])
        assert np.allclose(item["constant_fields"][..., c].numpy(), ref(name, a), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_stats_equal_compute_statistics(datasets, family, tmp_path):
    """stats.yaml (written by the generator) against The Well's own compute_statistics.py."""
    compute = _vendored("compute_statistics").compute_statistics
    compute(str(datasets[family] / "data" / "train"), str(tmp_path / "stats.yaml"))
    theirs = yaml.safe_load((tmp_path / "stats.yaml").read_text())
    ours = yaml.safe_load((datasets[family] / "stats.yaml").read_text())
    assert set(theirs) == {"mean", "std", "rms", "mean_delta", "std_delta", "rms_delta"}
    for key, per_field in theirs.items():
        assert set(ours[key]) == set(per_field), key
        for name, v in per_field.items():
            assert ours[key][name] == pytest.approx(v, rel=1e-4, abs=1e-12), f"{key}.{name}"
