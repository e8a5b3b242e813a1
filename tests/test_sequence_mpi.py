"""The sequence solver under MPI with uneven work: a dataset at np = 3 (three groups, chunks of
5, 5, 4 samples) gives the bits of np = 1 with the default primed shared matrix."""
from __future__ import annotations

import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import run_cli

CASE = textwrap.dedent("""
    [case]
    kind = "dataset"
    name = "ds3"
    [family]
    name = "darcy_fno"
    seed = 7
    [mesh]
    shape = [33, 33]
    [samples]
    n = 14
    split = [0.5, 0.25, 0.25]
    [parallel]
    checkpoint = 3
    [solver]
    ksp_type = "cg"
    pc_type = "gamg"
    rtol = 1e-8
""")


def _load(root: Path) -> dict[str, np.ndarray]:
    out: dict[str, list] = {}
    for split in ("train", "valid", "test"):
        for f in sorted((root / "data" / split).glob("*.hdf5")):
            with h5py.File(f) as h5:
                for k in h5["t0_fields"]:
                    out.setdefault(k, []).append(h5["t0_fields"][k][...])
                out.setdefault("residual", []).append(h5["scalars/residual"][...])
                out.setdefault("iterations", []).append(h5["scalars/iterations"][...])
    return {k: np.concatenate(v) for k, v in out.items()}


@pytest.mark.mpi
def test_dataset_three_groups_give_the_bits_of_one(tmp_path):
    case = tmp_path / "ds.toml"
    case.write_text(CASE)
    data = {}
    for n in (1, 3):
        proc = run_cli(["run", str(case), "-o", str(tmp_path / f"np{n}"), "-q"], n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        data[n] = _load(tmp_path / f"np{n}")
    assert data[1]["u"].shape[0] == 14
    for key in ("kappa", "u", "residual", "iterations"):
        assert np.array_equal(data[1][key], data[3][key]), key
    assert data[3]["residual"].max() <= 1e-8
