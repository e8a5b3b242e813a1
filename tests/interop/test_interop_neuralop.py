"""neuraloperator 2.0.0: ``PTDataset`` reads every family's export, ``DarcyDataset`` the Darcy
export written with ``--name darcy`` (download=False), and an FNO trains on the heat series."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from neuralop.data.datasets.darcy import DarcyDataset
from neuralop.data.datasets.pt_dataset import PTDataset
from neuralop.models import FNO

from conftest import FAMILIES, SPLIT, model_view, read_split, train_ratio


def _pt(datasets, family, name=None, sub="neuraloperator", squeezed=True):
    return PTDataset(root_dir=datasets[family] / "export" / sub, dataset_name=name or family, n_train=SPLIT[0],
                     n_tests=[SPLIT[2]], batch_size=2, test_batch_sizes=[2], train_resolution=16,
                     test_resolutions=[16], encode_input=False, encode_output=False,
                     channels_squeezed=squeezed)


@pytest.mark.parametrize("family", FAMILIES)
def test_ptdataset_reads_every_family(datasets, family):
    train, test = read_split(datasets[family], "train"), read_split(datasets[family], "test")
    one_channel = family.startswith("darcy")                     # x, y stored [N, H, W]
    ds = _pt(datasets, family, squeezed=one_channel)
    for db, d in ((ds.train_db, train), (ds.test_dbs[16], test)):
        x, y = model_view(d)
        assert len(db) == len(x)
        got = torch.utils.data.default_collate([db[i] for i in range(len(db))])
        assert got["x"].shape == x.shape and got["y"].shape == y.shape     # [N, C, H, W] both
        assert np.array_equal(got["x"].numpy(), x) and np.array_equal(got["y"].numpy(), y)


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.startswith("darcy")])
def test_darcy_dataset_reads_named_export(datasets, family):
    ds = DarcyDataset(root_dir=datasets[family] / "export" / "darcy", n_train=SPLIT[0], n_tests=[SPLIT[2]],
                      batch_size=2, test_batch_sizes=[2], train_resolution=16, test_resolutions=[16],
                      download=False)
    d = read_split(datasets[family], "test")
    x, y = model_view(d)
    got = torch.utils.data.default_collate([ds.test_dbs[16][i] for i in range(SPLIT[2])])
    assert np.array_equal(got["x"].numpy(), x) and np.array_equal(got["y"].numpy(), y)


def test_fno_trains_on_heat_series(datasets):
    """x = (kappa, u(t0)), y = u(t1..t4) as channels: 60 Adam steps of a small FNO reduce the
    training loss (relative L2) by more than 3x."""
    torch.manual_seed(0)
    ds = _pt(datasets, "heat", squeezed=False)
    batch = torch.utils.data.default_collate([ds.train_db[i] for i in range(len(ds.train_db))])
    x, y = batch["x"], batch["y"]
    model = FNO(n_modes=(6, 6), in_channels=x.shape[1], out_channels=y.shape[1], hidden_channels=16, n_layers=2)

    def rel_l2():
        return (torch.linalg.vector_norm(model(x) - y, dim=(1, 2, 3)) / torch.linalg.vector_norm(y, dim=(1, 2, 3))).mean()

    assert train_ratio(rel_l2, model, 60) < 1 / 3
