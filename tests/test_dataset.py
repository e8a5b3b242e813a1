"""Datasets (serial, in-process): Well schema, inputs = family samples, solution error bound,
check failures, resume after a crash, changed-case refusal, exports round trip, torch Dataset."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import yaml
from mpi4py import MPI

from meshes import Grid
from solvers import case as casemod
from solvers.datasets import check as checkmod
from solvers.datasets import export as exportmod
from solvers.datasets import plugin, writer
from solvers.datasets.torch_dataset import WellSplit
from solvers.parallel import Comms, UserError
from solvers.poisson.families import make_family
from solvers.registry import schemas
from solvers.run import run_case

from conftest import run_cli

EPS32 = 2.0 ** -24


def case_text(family: str = "darcy_fno", n: int = 24, shape=(17, 17), io: str = "shards", rps: int = 1,
              checkpoint: int = 4, solver: str = 'ksp_type = "cg"\npc_type = "gamg"', extra: str = "",
              name: str = "ds") -> str:
    return f"""
[case]
kind = "dataset"
name = "{name}"
[family]
name = "{family}"
seed = 7
[mesh]
shape = {list(shape)}
[samples]
n = {n}
split = [0.5, 0.25, 0.25]
[parallel]
ranks_per_solve = {rps}
io = "{io}"
checkpoint = {checkpoint}
[solver]
{solver}
rtol = 1e-8
{extra}
"""


def load_case(text: str):
    return casemod.validate(casemod.parse_text(text), schemas(), text=text, source="test.toml")


def generate(text: str, out: Path) -> dict:
    return run_case(load_case(text), Comms(), output=out, quiet=True)


def read_all(root: Path) -> dict[str, np.ndarray]:
    """Every field and per-sample scalar of a dataset, concatenated over the splits in index order."""
    out: dict[str, list] = {}
    for split in ("train", "valid", "test"):
        for f in sorted((root / "data" / split).glob("*.hdf5")):
            with h5py.File(f, "r") as h5:
                for k in h5["t0_fields"]:
                    out.setdefault(k, []).append(h5["t0_fields"][k][...])
                for k in h5["scalars"]:
                    if h5["scalars"][k].ndim == 1:
                        key = f"scalars/{k}" if k in h5["t0_fields"] else k
                        out.setdefault(key, []).append(h5["scalars"][k][...])
    return {k: np.concatenate(v) for k, v in out.items()}


def solution_bound(family, index: int, residuals, u_norms) -> float:
    """The bound we guarantee between two stored solutions of sample ``index``:

    ||u_a - u_b||_2 <= (r_a + r_b) ||b||_2 / λ_min(A) + 2^-24 (||u_a||_2 + ||u_b||_2),

    r = the recorded true relative residual ||b - A u|| / ||b|| of each solve (each <= rtol when
    the solve converged in the unpreconditioned norm), the last term the float32 rounding.
    Against the exact discrete solution, use r_b = 0 and ||u_b|| = 0.
    """
    grid = Grid(family.shape, comm=MPI.COMM_SELF)
    op, b = family.system(grid, family.sample(index))
    A = op.A.convert("dense").getDenseArray()
    lam_min = float(np.linalg.eigvalsh(A)[0])
    return sum(residuals) * b.norm() / lam_min + EPS32 * sum(u_norms)


def exact_solution(family, index: int) -> np.ndarray:
    grid = Grid(family.shape, comm=MPI.COMM_SELF)
    op, b = family.system(grid, family.sample(index))
    A = op.A.convert("dense").getDenseArray()
    x = np.linalg.solve(A, b.getArray())
    v = grid.create_vec()
    v.setArray(x)
    return grid.gather(v)


@pytest.fixture(scope="module")
def darcy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("darcy") / "darcy"
    generate(case_text(), root)
    return root


def test_generated_dataset_passes_check_with_well_layout(darcy):
    rep = checkmod.check(darcy)
    assert rep.ok, rep.problems
    assert rep.n_samples == 24
    meta = yaml.safe_load((darcy / "ds.yaml").read_text())
    assert [meta["splits"][s]["n"] for s in ("train", "valid", "test")] == [12, 6, 6]
    with h5py.File(darcy / "data" / "valid" / "ds.hdf5") as h5:
        assert h5.attrs["n_trajectories"] == 6 and h5.attrs["n_spatial_dims"] == 2
        assert set(h5) >= {"dimensions", "t0_fields", "t1_fields", "t2_fields", "scalars", "boundary_conditions"}
        u = h5["t0_fields/u"]
        assert u.dtype == np.float32 and u.shape == (6, 2, 17, 17) and u.chunks == (1, 2, 17, 17)
        assert u.attrs["time_varying"] and not h5["t0_fields/kappa"].attrs["time_varying"]
        assert np.array_equal(h5["dimensions/time"][...], [0.0, 1.0]) and h5.attrs["steady"]
        assert not np.any(u[:, 0]) and np.all(np.abs(u[:, 1, 1:-1, 1:-1]) > 0)   # pseudo-time (0, solution)
        assert list(h5["scalars/sample_index"][...]) == list(range(12, 18))
        assert h5["boundary_conditions/x_wall/mask"][...].sum() == 2
    stats = yaml.safe_load((darcy / "stats.yaml").read_text())
    train = read_all(darcy)["u"][:12].astype(np.float64)
    assert stats["mean"]["u"] == pytest.approx(train.mean(), rel=1e-12)
    assert stats["std"]["u"] == pytest.approx(train.std(), rel=1e-9)
    delta = train[:, 1] - train[:, 0]                   # The Well's time increments: the solution
    assert stats["mean_delta"]["u"] == pytest.approx(delta.mean(), rel=1e-12)
    assert stats["std_delta"]["u"] == pytest.approx(delta.std(), rel=1e-9)
    assert stats["rms_delta"]["u"] == pytest.approx(np.sqrt(np.mean(delta ** 2)), rel=1e-9)
    assert "kappa" not in stats["mean_delta"]           # time-constant fields have no increments


def test_inputs_are_the_family_samples_and_solutions_within_bound(darcy):
    data = read_all(darcy)
    fam = make_family("darcy_fno", (17, 17), seed=7)
    for i in (0, 13, 23):
        s = fam.sample(i)
        assert np.array_equal(data["kappa"][i], s.fields["kappa"].astype(np.float32))
        assert data["seed"][i] == s.seed and data["sample_index"][i] == i
        assert data["residual"][i] <= 1e-7
        u_exact = exact_solution(fam, i)
        err = np.linalg.norm(data["u"][i, 1].astype(np.float64) - u_exact)
        assert err <= solution_bound(fam, i, [data["residual"][i]], [np.linalg.norm(data["u"][i, 1])])
        assert err <= 1e-6 * np.linalg.norm(u_exact)


def test_check_reports_nan_constant_missing_and_stats(darcy, tmp_path):
    bad = tmp_path / "darcy"
    shutil.copytree(darcy, bad)
    f = bad / "data" / "train" / "ds.hdf5"
    with h5py.File(f, "r+") as h5:
        h5["t0_fields/u"][3, 1, 5, 5] = np.nan
        h5["t0_fields/kappa"][4] = 0.0
        h5["scalars/sample_index"][5] = 6                        # sample 5 missing, 6 twice
        h5["scalars/residual"][2] = 2e-8                         # above the stored rtol 1e-8
    rep = checkmod.check(bad)
    text = "\n".join(rep.problems)
    assert "1 stored residual(s) above solver.rtol = 1e-08 (samples [2]; worst 2.000e-08 at sample 2)" in text
    assert "t0_fields/u: NaN/inf in samples [3]" in text
    assert "t0_fields/kappa: constant over samples [4]" in text
    assert "1 samples missing (first [5])" in text and "more than once: [6]" in text
    assert "stats.yaml" in text
    proc = run_cli(["dataset", "check", str(bad)])
    assert proc.returncode == 1 and "FAIL" in proc.stdout


def test_check_reports_schema_violations(darcy, tmp_path):
    f = tmp_path / "one.hdf5"
    shutil.copy(darcy / "data" / "test" / "ds.hdf5", f)
    with h5py.File(f, "r+") as h5:
        del h5["t1_fields"]
    rep = checkmod.check(f)
    assert any("group /t1_fields missing" in p for p in rep.problems)
    shutil.copy(darcy / "data" / "test" / "ds.hdf5", f)
    with h5py.File(f, "r+") as h5:
        h5["t0_fields/u"].attrs["time_varying"] = False         # shape no longer matches the flags
    rep = checkmod.check(f)
    assert any("t0_fields/u: shape [6, 2, 17, 17], expected [6, 17, 17]" in p for p in rep.problems)


class CrashingSolver(plugin.SampleSolver):
    """The dataset's solver, raising (a crash) when asked for its (k+1)-th sample."""

    def __init__(self, k: int, *args):
        super().__init__(*args)
        self.k, self.calls = k, 0

    def __call__(self, index: int):
        if self.calls == self.k:
            self.close()                         # a dying process takes its solver (and its options) along
            raise RuntimeError("simulated crash")
        self.calls += 1
        return super().__call__(index)


def close_fds_on(path: Path) -> None:
    """Close this process's file descriptors open on ``path`` (Linux /proc)."""
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == path.resolve():
                os.close(int(fd.name))
        except OSError:
            pass


@pytest.mark.parametrize("io", ["shards", "mpio"])
def test_resume_after_crash_and_refuse_changed_case(darcy, tmp_path, io):
    text = case_text(io=io, checkpoint=3)
    root = tmp_path / "ds"
    case = load_case(text)
    plan, family = plugin.build_plan(case, root)
    with pytest.raises(RuntimeError, match="simulated crash"):
        writer.generate(plan, lambda group: CrashingSolver(10, family, group, case["solver"]), Comms())
    assert not root.exists() and plan.work.exists()
    close_fds_on(plan.work / "lock")             # what the dying process would release: its flock
    with pytest.raises(UserError, match=r"case changed since it started \(samples.n: 24 -> 25\)"):
        generate(case_text(io=io, checkpoint=3, n=25), root)
    close_fds_on(plan.work / "lock")             # the refusing run ends its process too (exit 2)
    summary = generate(text, root)
    assert summary["resumed_from"] == 9 and summary["solved"] == 15   # 3 full records of 3
    assert checkmod.check(root).ok and not plan.work.exists() and not plan.partial.exists()
    a, b = read_all(darcy), read_all(root)
    for k in ("kappa", "u", "sample_index", "seed", "residual", "iterations"):
        assert np.array_equal(a[k], b[k]), k
    assert generate(text, root)["status"] == "already complete"
    with pytest.raises(UserError, match="already holds a dataset made from a different case"):
        generate(case_text(io=io, n=25), root)


def test_recycling_along_sorted_order_saves_iterations(tmp_path):
    """GCRO-DR(40, 20) keeping its recycled space along the SKR order needs fewer iterations than
    without recycling, and its solutions satisfy the same residual bound."""
    its = {}
    for recycle in ("true", "false"):
        root = tmp_path / recycle
        solver = f'ksp_type = "gcrodr"\npc_type = "none"\nrecycle = {recycle}\nordering = "skr"'
        its[recycle] = generate(case_text(n=12, shape=(33, 33), solver=solver), root)["iterations"]
        data = read_all(root)
        assert data["residual"].max() <= 1e-8
    assert its["true"] < 0.85 * its["false"], its
    fam = make_family("darcy_fno", (33, 33), seed=7)
    u = exact_solution(fam, 5)
    assert np.linalg.norm(data["u"][5, 1] - u) <= solution_bound(fam, 5, [data["residual"][5]],
                                                                 [np.linalg.norm(data["u"][5, 1])])


@pytest.mark.parametrize("family, solver", [
    ("heat", 'ksp_type = "cg"\npc_type = "gamg"'),
    ("helmholtz", 'ksp_type = "gmres"\npc_type = "lu"'),
    ("poisson", 'ksp_type = "cg"\npc_type = "gamg"'),
])
def test_other_families(tmp_path, family, solver):
    root = tmp_path / family
    generate(case_text(family=family, n=4, solver=solver), root)
    assert checkmod.check(root).ok
    data = read_all(root)
    fam = make_family(family, (17, 17), seed=7)
    s = fam.sample(2)
    if family == "heat":
        assert data["u"].shape == (4, fam.n_steps + 1, 17, 17)
        assert np.array_equal(data["u"][2, 0], s.fields["u0"].astype(np.float32))
        with h5py.File(root / "data" / "train" / "ds.hdf5") as h5:
            assert np.allclose(h5["dimensions/time"][...], fam.times())
    elif family == "helmholtz":
        assert data["scalars/k"][2] == s.scalars["k"] and data["k"][2] == np.float32(s.scalars["k"])
        with h5py.File(root / "data" / "train" / "ds.hdf5") as h5:      # k: one value per sample
            assert h5["t0_fields/k"].shape == (2,) and not any(h5["t0_fields/k"].attrs["dim_varying"])
        u = exact_solution(fam, 2)
        assert np.linalg.norm(data["u"][2, 1] - u) <= 1e-5 * np.linalg.norm(u)
    else:
        assert np.array_equal(data["g"][2], s.fields["g"].astype(np.float32))
        u = exact_solution(fam, 2)
        assert np.linalg.norm(data["u"][2, 1] - u) <= 1e-6 * np.linalg.norm(u)


def test_exports_round_trip(darcy, tmp_path):
    data = read_all(darcy)
    files = exportmod.export(darcy, "pdebench", tmp_path / "pdeb")
    assert [f.name for f in files] == ["ds_train.hdf5", "ds_valid.hdf5", "ds_test.hdf5"]
    got_u = []
    for f in files:
        with h5py.File(f) as h5:
            assert h5["tensor"].dtype == np.float32 and h5["tensor"].shape[1] == 1
            assert h5["nu"].shape == h5["tensor"].shape[:1] + (17, 17)
            assert np.array_equal(h5["nu"][...], data["kappa"][h5["sample_index"][...]])
            assert np.allclose(h5["x-coordinate"][...], np.linspace(0, 1, 17))
            assert h5.attrs["beta"] == 1.0
            got_u.append(h5["tensor"][:, 0])
    assert np.array_equal(np.concatenate(got_u), data["u"][:, 1])
    files = exportmod.export(darcy, "neuraloperator", tmp_path / "no")
    assert [f.name for f in files] == ["ds_train_17.pt", "ds_valid_17.pt", "ds_test_17.pt"]
    d = torch.load(files[0])
    assert set(d) == {"x", "y"} and d["x"].dtype == torch.float32
    assert np.array_equal(d["x"].numpy(), data["kappa"][:12]) and np.array_equal(d["y"].numpy(), data["u"][:12, 1])
    proc = run_cli(["dataset", "export", str(darcy), "--format", "neuraloperator", "--name", "darcy",
                    "-o", str(tmp_path / "cli")])
    assert proc.returncode == 0, proc.stderr
    assert torch.equal(torch.load(tmp_path / "cli" / "darcy_test_17.pt")["y"], torch.from_numpy(data["u"][18:, 1]))


@pytest.mark.parametrize("family, solver", [
    ("heat", 'ksp_type = "cg"\npc_type = "gamg"'),
    ("helmholtz", 'ksp_type = "gmres"\npc_type = "lu"'),
])
def test_exports_carry_every_input(tmp_path, family, solver):
    """Helmholtz: k is a constant channel of x next to f; heat: x = (kappa, u(t0)), y = u(t1..tT)
    as channels for neuraloperator and (u, kappa) over time per sample for PDEBench."""
    root = tmp_path / family
    generate(case_text(family=family, n=4, solver=solver), root)
    data = read_all(root)
    fam = make_family(family, (17, 17), seed=7)
    d = torch.load(exportmod.export(root, "neuraloperator", tmp_path / "no")[0])
    x, y = d["x"].numpy(), d["y"].numpy()
    pde = exportmod.export(root, "pdebench", tmp_path / "pb")[0]
    assert pde.name == "ds_train.h5"
    with h5py.File(pde) as h5:
        assert list(h5) == ["0000", "0001"] and list(h5.attrs["channels"]) == ["u"] + fam_inputs(root)
        series = np.stack([h5[g]["data"][...] for g in h5])          # [n, T, nx, ny, C]
        assert np.array_equal(h5["0001/grid/t"][...], read_times(root))
    if family == "helmholtz":
        assert x.shape == (2, 2, 17, 17) and y.shape == (2, 1, 17, 17)
        assert np.array_equal(x[:, 0], data["f"][:2])
        for j in range(2):
            assert np.all(x[j, 1] == np.float32(fam.sample(j).scalars["k"]))
            assert np.all(series[j, :, :, :, 2] == np.float32(fam.sample(j).scalars["k"]))
        assert np.array_equal(y[:, 0], data["u"][:2, 1])
        assert np.array_equal(series[..., 0], data["u"][:2]) and not np.any(series[:, 0, ..., 0])
    else:
        T = fam.n_steps
        assert x.shape == (2, 2, 17, 17) and y.shape == (2, T, 17, 17)
        assert np.array_equal(x[:, 0], data["kappa"][:2]) and np.array_equal(x[:, 1], data["u"][:2, 0])
        assert np.array_equal(y, data["u"][:2, 1:])
        assert np.array_equal(series[..., 0], data["u"][:2])
        assert np.array_equal(series[..., 1], np.broadcast_to(data["kappa"][:2, None], series[..., 1].shape))
    ds = WellSplit(root, "train")
    assert np.array_equal(ds[1]["x"].numpy(), x[1]) and np.array_equal(ds[1]["y"].numpy(), y[1])


def fam_inputs(root: Path) -> list[str]:
    with h5py.File(root / "data" / "train" / "ds.hdf5") as h5:
        return [str(n) for n in h5.attrs["input_fields"]]


def read_times(root: Path) -> np.ndarray:
    with h5py.File(root / "data" / "train" / "ds.hdf5") as h5:
        return h5["dimensions/time"][...]


def test_stats_streamed_equal_direct_and_batch_independent(darcy):
    from solvers.datasets.stats import well_stats
    f = darcy / "data" / "train" / "ds.hdf5"
    a, b = well_stats(f, batch=5), well_stats(f, batch=64)
    u = read_all(darcy)["u"][:12].astype(np.float64)
    for k in a:
        for name in a[k]:
            assert a[k][name] == pytest.approx(b[k][name], rel=1e-12, abs=1e-300)
    assert a["rms"]["u"] == pytest.approx(np.sqrt(np.mean(u ** 2)), rel=1e-12)


def test_torch_dataset_is_lazy_and_matches_files(darcy):
    data = read_all(darcy)
    ds = WellSplit(darcy, "valid")
    assert len(ds) == 6 and ds._h5 is None                     # nothing opened yet
    item = ds[2]
    assert item["index"] == 14 and item["x"].shape == (1, 17, 17) and item["y"].shape == (1, 17, 17)
    assert np.array_equal(item["x"][0].numpy(), data["kappa"][14])
    assert np.array_equal(item["y"][0].numpy(), data["u"][14, 1])
    assert pickle.loads(pickle.dumps(ds))._h5 is None         # workers open their own handle
    loader = torch.utils.data.DataLoader(WellSplit(darcy, "train", normalize=True), batch_size=4, num_workers=2)
    xs = torch.cat([b["x"] for b in loader])
    stats = yaml.safe_load((darcy / "stats.yaml").read_text())
    ref = (data["kappa"][:12] - stats["mean"]["kappa"]) / stats["std"]["kappa"]
    assert torch.allclose(xs[:, 0], torch.from_numpy(ref.astype(np.float32)), atol=1e-6)


@pytest.mark.parametrize("extra, key", [
    ('[output]\ncompression = "gzip"', "output.compression"),          # with io = mpio
    ("[family.options]\nalpha = -1", "family.options"),
    ("[family.options]\nbogus = 1", "family.options"),
])
def test_malformed_cases_name_the_key(extra, key):
    with pytest.raises(casemod.CaseError) as err:
        load_case(case_text(io="mpio", extra=extra))
    assert err.value.key_path == key


def test_split_fractions_validated():
    with pytest.raises(casemod.CaseError, match="samples.split: fractions must sum to 1"):
        load_case(case_text().replace("[0.5, 0.25, 0.25]", "[0.5, 0.25, 0.5]"))
    with pytest.raises(casemod.CaseError, match="training split of 2 samples would be empty"):
        load_case(case_text(n=2).replace("[0.5, 0.25, 0.25]", "[0.0, 0.5, 0.5]"))


@pytest.mark.parametrize("text, message", [
    (case_text().replace('name = "darcy_fno"', 'name = "darcy"'), "family.name: must be one of"),
    (case_text(rps=2), "ranks_per_solve = 2 must divide the number of ranks (1)"),
])
def test_bad_case_exits_2_and_writes_nothing(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    proc = run_cli(["run", str(f), "-o", str(tmp_path / "out")])
    assert proc.returncode == 2 and message in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_metadata_records_the_tolerance_the_solves_used(tmp_path):
    """-dataset_ksp_rtol after -- overrides the case's rtol: the metadata stores what the solves
    used, and `dataset check` verifies every stored residual against it (issue 15, item 7)."""
    case = tmp_path / "c.toml"
    case.write_text(case_text(n=6))
    out = tmp_path / "d"
    proc = run_cli(["run", str(case), "-o", str(out), "-q", "--", "-dataset_ksp_rtol", "1e-3"], timeout=120)
    assert proc.returncode == 0, proc.stderr
    meta = yaml.safe_load((out / "ds.yaml").read_text())
    assert meta["solver"]["rtol"] == 1e-3
    res = read_all(out)["residual"]
    assert res.max() <= 1e-3 and res.max() > 1e-8          # the looser tolerance was used
    assert checkmod.check(out).ok
