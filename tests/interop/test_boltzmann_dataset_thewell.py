"""The ``boltzmann_space_dataset`` trajectories (1D in x, six time-varying moment fields, periodic)
read by The Well (the-well 1.2.0): its format checker, ``WellDataset`` with the default window and
``DefaultChannelsFirstFormatter``, ZScore normalisation, and ``compute_statistics.py``."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from the_well.data import WellDataset
from the_well.data.data_formatter import DefaultChannelsFirstFormatter
from the_well.data.normalization import ZScoreNormalization

from conftest import cli, read_split
from test_interop_thewell import test_format_checker_passes_every_split as format_check
from test_interop_thewell import test_stats_equal_compute_statistics as stats_check

NX, SNAPSHOTS = 16, 4
FIELDS = ["n_L", "u_L", "T_L", "n_H", "u_H", "T_H"]
CASE = f"""case = {{kind = "boltzmann_space_dataset", name = "mixture"}}
velocity = {{dim = 2, n = 12}}
species = {{mass_ratio = 100.0}}
space = {{nx = {NX}, Kn = 0.01}}
initial = {{state = {{T_L = 1.2, T_H = 0.8}}}}
time = {{t_end = 0.03, snapshots = {SNAPSHOTS}}}
samples = {{n = 10, split = [0.6, 0.2, 0.2], seed = 1}}
"""


@pytest.fixture(scope="module")
def mixture(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("boltzmann")
    (base / "mixture.toml").write_text(CASE)
    root = base / "mixture"
    assert "wrote" in cli("run", str(base / "mixture.toml"), "-o", str(root), "-q").stdout
    cli("dataset", "check", str(root))
    return root


def test_format_checker_passes_every_split(mixture, capsys):
    format_check({"mixture": mixture}, "mixture", capsys)


@pytest.mark.parametrize("split", ["train", "test"])
def test_welldataset_windows_are_consecutive_states_of_every_species(mixture, split):
    """Default window (1 input, 1 output step): T - 1 windows per trajectory; window w of trajectory
    i maps the six moment fields at t_w to those at t_{w+1}; the boundaries are read as periodic."""
    d = read_split(mixture, split)
    ds = WellDataset(path=str(mixture), well_split_name=split)
    assert ds.metadata.n_spatial_dims == 1 and ds.metadata.field_names[0] == FIELDS
    assert ds.metadata.boundary_condition_types == ["PERIODIC"]
    n = len(d["sample_index"])
    assert len(ds) == n * (SNAPSHOTS - 1)
    batch = torch.utils.data.default_collate([ds[i] for i in range(len(ds))])
    (x,), y = DefaultChannelsFirstFormatter(ds.metadata).process_input(batch)
    assert x.shape == (len(ds), 6, NX) and y.shape == (len(ds), 1, NX, 6)
    assert np.all(batch["boundary_conditions"].numpy() == 2)            # BoundaryCondition.PERIODIC
    for i in range(n):
        for w in range(SNAPSHOTS - 1):
            j = i * (SNAPSHOTS - 1) + w
            for c, name in enumerate(FIELDS):
                assert np.array_equal(x[j, c].numpy(), d["fields"][name][i, w])
                assert np.array_equal(y[j, 0, :, c].numpy(), d["fields"][name][i, w + 1])


def test_welldataset_zscore_normalisation(mixture):
    d = read_split(mixture, "train")
    stats = yaml.safe_load((mixture / "stats.yaml").read_text())
    ds = WellDataset(path=str(mixture), well_split_name="train", use_normalization=True,
                     normalization_type=ZScoreNormalization)
    item = ds[0]
    for c, name in enumerate(FIELDS):
        ref = (d["fields"][name][0] - stats["mean"][name]) / max(stats["std"][name], 1e-4)
        assert np.allclose(item["input_fields"][0, :, c].numpy(), ref[0], rtol=1e-5, atol=1e-5), name
        assert np.allclose(item["output_fields"][0, :, c].numpy(), ref[1], rtol=1e-5, atol=1e-5), name


def test_stats_equal_compute_statistics(mixture, tmp_path):
    stats_check({"mixture": mixture}, "mixture", tmp_path)
