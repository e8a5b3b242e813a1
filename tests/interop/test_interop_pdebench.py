"""PDEBench 0.1.0: ``FNODatasetSingle`` reads the Darcy exports, ``FNODatasetMult`` (its
per-sample time-series loader) the others; every loaded tensor equals the project's HDF5."""
from __future__ import annotations

import numpy as np
import pytest
from pdebench.models.fno.utils import FNODatasetMult, FNODatasetSingle

from conftest import FAMILIES, read_split, train_ratio

DARCY = [f for f in FAMILIES if f.startswith("darcy")]
SERIES = [f for f in FAMILIES if not f.startswith("darcy")]


@pytest.mark.parametrize("family", DARCY)
@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_fno_dataset_single_reads_darcy(datasets, family, split):
    d = read_split(datasets[family], split)
    folder = str(datasets[family] / "export" / "pdebench") + "/"
    ds = FNODatasetSingle(f"{family}_{split}.hdf5", initial_step=1, saved_folder=folder, test_ratio=0.0)
    n = len(d["sample_index"])
    assert len(ds) == n
    for i in range(n):
        x, y, grid = ds[i]
        assert x.shape == (16, 16, 1, 1) and y.shape == (16, 16, 2, 1)
        assert np.array_equal(x[..., 0, 0].numpy(), d["fields"]["kappa"][i])
        assert np.array_equal(y[..., 1, 0].numpy(), d["fields"]["u"][i, 1])
    assert np.allclose(grid[-1, 0].numpy(), [1.0, 0.0])


@pytest.mark.parametrize("family", SERIES)
@pytest.mark.parametrize("split", ["train", "test"])
def test_fno_dataset_mult_reads_series(datasets, family, split):
    """data [x, y, t, C] with channels (u, inputs...): the pseudo-time (0, solution) of a steady
    family or the heat trajectory; initial_step = 1 gives the inputs and u(t0)."""
    d = read_split(datasets[family], split)
    folder = str(datasets[family] / "export" / "pdebench") + "/"
    ds = FNODatasetMult(f"{family}_{split}", initial_step=1, saved_folder=folder, test_ratio=0.0)
    u = d["fields"]["u"]
    n, T = u.shape[:2]
    assert len(ds) == n
    for i in range(n):
        x, y, grid = ds[i]
        assert y.shape == (16, 16, T, 1 + len(d["inputs"])) and x.shape == (16, 16, 1, y.shape[-1])
        assert np.array_equal(np.moveaxis(y[..., 0].numpy(), -1, 0), u[i])
        for c, name in enumerate(d["inputs"], start=1):
            want = d["fields"][name][i]
            assert np.all(y[..., c].numpy() == (want[..., None] if d["dim_varying"][name] else want))
        assert np.array_equal(x.numpy(), y[..., :1, :].numpy())


def test_pdebench_fno2d_trains_on_heat_series(datasets):
    """PDEBench's own FNO2d, trained autoregressively as its train.py does (initial_step = 1,
    channels (u, kappa), rollout over the 4 steps): 40 Adam steps cut the rollout MSE by > 3x."""
    import torch
    from pdebench.models.fno.fno import FNO2d
    torch.manual_seed(0)
    folder = str(datasets["heat"] / "export" / "pdebench") + "/"
    ds = FNODatasetMult("heat_train", initial_step=1, saved_folder=folder, test_ratio=0.0)
    xx, yy, grid = (torch.stack(t) for t in zip(*[ds[i] for i in range(len(ds))]))
    model = FNO2d(num_channels=yy.shape[-1], modes1=6, modes2=6, width=16, initial_step=1)

    def rollout_mse():
        inp, loss = xx.reshape(*xx.shape[:3], -1), 0.0
        for t in range(1, yy.shape[-2]):
            im = model(inp, grid)                                    # [b, x, y, 1, C]
            loss = loss + torch.mean((im - yy[..., t:t + 1, :]) ** 2)
            inp = im.reshape(*im.shape[:3], -1)
        return loss

    assert train_ratio(rollout_mse, model, 40) < 1 / 3
