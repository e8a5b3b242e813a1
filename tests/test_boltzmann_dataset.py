"""The ``boltzmann_space_dataset`` kind (issue #13, item 7): trajectories of the 1D-in-x mixture in
The Well's layout. Checked: ``dataset check`` passes; the time axis, x axis and t0 fields of the
layout; the stored initial moments are the drawn perturbation (|δ| <= A); each species' mass,
the momentum and the energy are conserved over every trajectory to rounding; a crashed run resumed
gives the same file contents as an uninterrupted one; bitwise the same trajectories for np = 1, 2, 3
and ranks_per_solve 1, 2, 3; bad cases exit 2 naming the key."""
from __future__ import annotations

import random
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from solvers.boltzmann import dataset as bd
from solvers.boltzmann import space_runs as sr
from solvers.case import CaseError
from solvers.datasets import check as checkmod

from conftest import mpirun_cmd, run_cli
from test_dataset import close_fds_on, generate, load_case, read_all
from test_dataset_mpi import _records as records
from test_dataset_mpi import kill_when

NX, T_END, SNAPSHOTS, N = 12, 0.02, 3, 8


def case_text(io: str = "shards", rps: int = 1, extra: str = "", n: int = N) -> str:
    return f"""
[case]
kind = "boltzmann_space_dataset"
name = "bsd"
[velocity]
dim = 2
n = 12
[species]
mass_ratio = 100.0
[space]
nx = {NX}
Kn = 0.01
[initial]
amplitude = 0.3
[initial.state]
T_L = 1.2
T_H = 0.8
[time]
t_end = {T_END}
snapshots = {SNAPSHOTS}
[samples]
n = {n}
split = [0.5, 0.25, 0.25]
seed = 5
[parallel]
ranks_per_solve = {rps}
io = "{io}"
checkpoint = 2
{extra}
"""


@pytest.fixture(scope="module")
def traj(tmp_path_factory) -> Path:
    return Path(generate(case_text(), tmp_path_factory.mktemp("bsd") / "bsd")["output"])


def test_passes_check_with_time_axis_and_t0_fields_per_species(traj):
    rep = checkmod.check(traj)
    assert rep.ok and rep.n_samples == N, rep.problems
    with h5py.File(traj / "data" / "train" / "bsd.hdf5") as h5:
        assert h5.attrs["n_spatial_dims"] == 1 and h5.attrs["n_trajectories"] == 4
        assert np.array_equal(h5["dimensions/time"][...], np.linspace(0, T_END, SNAPSHOTS).astype(np.float32))
        assert np.allclose(h5["dimensions/x"][...], (np.arange(NX) + 0.5) / NX, rtol=0, atol=1e-7)
        t0 = h5["t0_fields"]
        assert [str(n) for n in t0.attrs["field_names"]] == ["n_L", "u_L", "T_L", "n_H", "u_H", "T_H"]
        for name in sr.MOMENT_KEYS:
            assert t0[name].shape == (4, SNAPSHOTS, NX) and t0[name].dtype == np.float32
            assert t0[name].attrs["time_varying"] and list(t0[name].attrs["dim_varying"]) == [True]
        bc = h5["boundary_conditions/x_periodic"]
        assert bc.attrs["bc_type"] == "PERIODIC" and "values" not in bc
        assert h5["scalars/sample_index"][...].tolist() == [0, 1, 2, 3]


def test_initial_moments_are_the_drawn_smooth_perturbation(traj):
    """t = 0: n_s, T_s = base (1 + δ) with δ from the sample's own coefficients (float32 storage),
    |δ| <= A, u_s = 0; a perturbation evaluated on pieces of the cells is the same bits."""
    case = load_case(case_text())
    data = read_all(traj)
    x = (np.arange(NX) + 0.5) / NX
    for i in range(N):
        seed, val = bd.initial_state(case, i, x)
        assert seed == data["seed"][i]
        for k in sr.STATE_KEYS:
            assert np.allclose(data[k][i, 0], val[k], rtol=2e-7, atol=1e-12), (i, k)
        for k, base in (("n_L", 1.0), ("T_L", 1.2), ("n_H", 1.0), ("T_H", 0.8)):
            assert np.abs(val[k] / base - 1).max() <= 0.3 and np.ptp(val[k]) > 1e-3
        _, c, phi = bd.draw(case, i)
        whole = bd.perturbation(0.3, c[0], phi[0], x, 1.0)
        pieces = np.concatenate([bd.perturbation(0.3, c[0], phi[0], p, 1.0) for p in (x[:5], x[5:7], x[7:])])
        assert whole.tobytes() == pieces.tobytes()


def test_mass_momentum_energy_conserved_over_every_trajectory(traj):
    data = read_all(traj)
    for k in bd.DRIFTS:
        assert np.abs(data[f"drift_{k}"]).max() <= 1e-14, k        # float64, first vs last time
    for s in ("L", "H"):                                              # from the stored float32 fields
        mass = data[f"n_{s}"].astype(float).sum(axis=2)
        assert np.abs(mass / mass[:, :1] - 1).max() <= 1e-6
    assert np.all(data["steps"] == data["steps"][0]) and data["steps"][0] >= SNAPSHOTS - 1


@pytest.mark.parametrize("io", ["shards", "mpio"])
def test_resume_after_crash_gives_the_same_file_contents(traj, tmp_path, io, monkeypatch):
    """The run dies in its 4th trajectory (checkpoint 2: one record of 2 kept); the same command
    finishes it, and the files equal an uninterrupted run's to the bit."""
    text = case_text(io=io)
    root = tmp_path / "bsd"
    trajectory = bd.Trajectories.__call__
    calls = []

    def dies_in_the_fourth(self, index: int):
        calls.append(index)
        if len(calls) == 4:
            raise RuntimeError("simulated crash")
        return trajectory(self, index)
    monkeypatch.setattr(bd.Trajectories, "__call__", dies_in_the_fourth)
    with pytest.raises(RuntimeError, match="simulated crash"):
        generate(text, root)
    monkeypatch.undo()
    plan = bd.build_plan(load_case(text), root)
    assert not root.exists() and plan.work.exists()
    close_fds_on(plan.work / "lock")             # what the dying process would release: its flock
    summary = generate(text, root)
    assert summary["resumed_from"] == 2 and summary["solved"] == 6
    assert checkmod.check(root).ok
    a, b = read_all(traj), read_all(root)
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.mark.slow
@pytest.mark.mpi
def test_sigkill_then_same_command_finishes_the_same_trajectories(traj, tmp_path):
    """mpirun -n 2 and its ranks SIGKILLed after 2-6 recorded trajectories of 16; the same command
    finishes the dataset; trajectories 0-7 equal the 8-trajectory dataset's to the bit (a sample
    depends on its index and seed only, not on the number of samples or the split)."""
    f = tmp_path / "c.toml"
    f.write_text(case_text(n=16))
    out = tmp_path / "d"
    target = 2 * random.Random().randint(1, 3)
    kill_when([*mpirun_cmd(2), sys.executable, "-m", "solvers", "run", str(f), "-o", str(out), "-q"],
              lambda: records(tmp_path / "d.work", "shards") >= target)
    assert not out.exists(), "the run finished before it could be killed"
    done = run_cli(["run", str(f), "-o", str(out), "-q"], n=2, timeout=300)
    assert done.returncode == 0 and "resumed with" in done.stdout, done.stdout + done.stderr
    assert checkmod.check(out).ok
    a, b = read_all(traj), read_all(out)
    for k in a:
        assert a[k].tobytes() == b[k][:N].tobytes(), k


@pytest.mark.mpi
@pytest.mark.parametrize("n, rps, io", [(2, 1, "shards"), (2, 2, "mpio"), (3, 3, "shards")],
                         ids=["np2-groups-of-1", "np2-one-group-of-2-mpio", "np3-one-group-of-3"])
def test_bitwise_identical_across_ranks_and_groups(traj, tmp_path, n, rps, io):
    """Every field and per-sample scalar equal to the bit against np = 1, except the drifts, which
    are global sums (reduction order; each <= 1e-14 anyway)."""
    f = tmp_path / "c.toml"
    f.write_text(case_text(io=io, rps=rps))
    out = tmp_path / "d"
    proc = run_cli(["run", str(f), "-o", str(out), "-q"], n=n, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    a, b = read_all(traj), read_all(out)
    for k in a:
        if k.startswith("drift_"):
            assert np.abs(b[k]).max() <= 1e-14, k
        else:
            assert a[k].tobytes() == b[k].tobytes(), (n, rps, k)


@pytest.mark.slow
@pytest.mark.mpi
def test_bitwise_identical_np3_groups_of_1_mpio(traj, tmp_path):
    test_bitwise_identical_across_ranks_and_groups(traj, tmp_path, 3, 1, "mpio")


@pytest.mark.parametrize("extra, key", [
    ("", "initial.amplitude"),
    ("", "space.nx"),
    ("", "samples.split"),
    ("[output]\ncompression = \"gzip\"", "output.compression"),
    ("", "time.scheme"),
])
def test_bad_cases_name_the_key(extra, key):
    text = case_text(io="mpio" if key == "output.compression" else "shards", extra=extra,
                     rps=7 if key == "space.nx" else 1)
    text = {"initial.amplitude": text.replace("amplitude = 0.3", "amplitude = 1.0"),
            "samples.split": text.replace("[0.5, 0.25, 0.25]", "[0.5, 0.25, 0.2]"),
            "time.scheme": text.replace("[time]", '[time]\nscheme = "full_ap"')}.get(key, text)
    with pytest.raises(CaseError) as err:
        load_case(text)
    assert err.value.key_path == key


@pytest.mark.parametrize("n, text, message", [
    (1, case_text().replace("amplitude = 0.3", "amplitude = 1.5"), "initial.amplitude: must be in (0, 1)"),
    (2, case_text(rps=3), "parallel.ranks_per_solve: 3 must divide the number of ranks (2)"),
], ids=["amplitude", "ranks_per_solve"])
def test_bad_case_exits_2_and_writes_nothing(tmp_path, n, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    proc = run_cli(["run", str(f), "-o", str(tmp_path / "d")], n=n, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
