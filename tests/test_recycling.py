"""Recycling across a sequence: iteration savings, sorting, the 'recycle' case kind, np=1 vs np=2."""
from __future__ import annotations

import textwrap

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from meshes import Grid
from solvers.fields.grf import grf_block
from solvers.krylov.plugin import solve_family
from solvers.krylov.sequence import SequenceSolver, SolverSpec, System
from solvers.krylov.skr_sort import distance_matrix, greedy_order, hilbert_index, pca_hilbert, skr_greedy
from solvers.poisson.families import DarcyExp, Sample

from conftest import run_cli, run_script


def solve_sequence(fam, grid, spec, n, ordering, keep_solutions=False):
    """Sort samples 0..n-1 and solve them (solvers.krylov.plugin.solve_family); the records and,
    if asked, each solution's local block by (index, step)."""
    solutions = {}

    def keep(rec, system: System) -> None:
        solutions[(rec.index, rec.step)] = grid.local_array(system.x)

    _, res = solve_family(fam, grid, spec, n, ordering, keep if keep_solutions else None)
    res.solutions = solutions
    return res


class SlowDarcy(DarcyExp):
    """K_i = exp(z0 + 0.02 i z1): a slowly varying sequence (a parameter sweep)."""

    name = "slow_darcy"

    def _draw(self, s: Sample) -> None:
        z0 = grf_block(self.shape, s.ranges, 2.5, 7.0, seed=self.seed)
        z1 = grf_block(self.shape, s.ranges, 2.5, 7.0, seed=self.seed + 1)
        s.fields["kappa"] = np.exp(z0 + 0.02 * s.index * z1)
        s.fields["f"] = np.ones(s.shape)


def test_recycling_cuts_iterations_on_a_slowly_varying_sequence():
    """Measured on 65², 6 systems, rtol 1e-8: 914 iterations recycled vs 1635 without (0.56)."""
    fam = SlowDarcy((65, 65), seed=5)
    grid = Grid((65, 65))
    rec = solve_sequence(fam, grid, SolverSpec("gcrodr", m=40, k=20), n=6, ordering="none")
    cold = solve_sequence(fam, grid, SolverSpec("gcrodr", m=40, k=20, recycle=False), n=6, ordering="none")
    assert not rec.failures and not cold.failures
    assert rec.max_residual <= 1.01e-8 and cold.max_residual <= 1.01e-8
    assert rec.iterations <= 0.65 * cold.iterations
    assert rec.records[0].iterations == cold.records[0].iterations      # the first solve is cold in both
    assert all(r.recycled_dim == 20 for r in rec.records[1:])


def test_same_matrix_new_rhs_heat_steps_reuse_c():
    from solvers.poisson.families import make_family
    fam = make_family("heat", (33, 33), seed=0, n_steps=4)
    res = solve_sequence(fam, Grid((33, 33)), SolverSpec("gcrodr", m=20, k=10), 2, "none")
    assert len(res.records) == 8 and not res.failures
    assert res.records[1].iterations < res.records[0].iterations


def test_greedy_sort_orders_points_on_a_line():
    x = np.array([0.0, 5.0, 1.0, 4.0, 2.0, 3.0])[:, None] * np.ones((1, 7))
    D = distance_matrix(x, MPI.COMM_SELF)
    assert np.allclose(D[0, 1], 5.0 * np.sqrt(7))
    assert list(greedy_order(D, 0)) == [0, 2, 4, 5, 3, 1]
    r = skr_greedy(x, MPI.COMM_SELF, start=0)
    assert list(r.order) == [0, 2, 4, 5, 3, 1]
    assert r.path_length == pytest.approx(5.0 * np.sqrt(7))          # 5 steps of length sqrt(7)
    assert r.flops == 2.0 * 6 * 6 * 7                                  # the Gram matrix: 2 n² N


def test_pca_hilbert_is_a_permutation_and_orders_a_line():
    rng = np.random.default_rng(0)
    t = rng.permutation(40).astype(float)
    direction = rng.standard_normal(50)
    X = t[:, None] * direction[None, :] + 1e-6 * rng.standard_normal((40, 50))
    r = pca_hilbert(X, MPI.COMM_SELF, p=1)
    assert sorted(r.order) == list(range(40))
    assert np.all(np.diff(t[r.order]) > 0) or np.all(np.diff(t[r.order]) < 0)
    r2 = pca_hilbert(X, MPI.COMM_SELF, p=2)
    assert sorted(r2.order) == list(range(40))


def test_hilbert_curve_visits_neighbours():
    xs, ys = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    d = hilbert_index(xs.ravel(), ys.ravel(), bits=4)
    assert sorted(d) == list(range(256))
    o = np.argsort(d)
    assert np.all(np.abs(np.diff(xs.ravel()[o])) + np.abs(np.diff(ys.ravel()[o])) == 1)


SORT_SCRIPT = textwrap.dedent("""
    import numpy as np
    from mpi4py import MPI
    from meshes import Grid
    from solvers.krylov.skr_sort import sort_systems
    from solvers.poisson.families import make_family
    comm = MPI.COMM_WORLD
    fam = make_family("darcy_exp", (17, 19), seed=2)
    grid = Grid((17, 19), comm=comm)
    X = np.array([fam.sort_features(fam.sample(i, grid.ranges)) for i in range(12)])
    sizes = comm.allgather(X.shape[1])
    whole = np.concatenate([np.ravel(fam.sample(i).fields["kappa"])[None] for i in range(12)])
    for method in ("skr", "pca_hilbert", "none"):
        r = sort_systems(method, X, comm)
        if comm.rank == 0:
            print("ORDER", method, " ".join(map(str, r.order)), f"{r.path_length:.12e}")
    if comm.rank == 0:
        print("SIZES", " ".join(map(str, sizes)), whole.shape[1])
""")


@pytest.mark.mpi
def test_feature_columns_partition_and_sorts_agree_on_three_ranks(tmp_path):
    """At np = 3 (uneven blocks of a 17x19 grid) each rank holds its own columns of the feature
    matrix, the blocks partition all 323 columns, and every sort gives the np = 1 order."""
    script = tmp_path / "sort.py"
    script.write_text(SORT_SCRIPT)
    out = {}
    for n in (1, 3):
        proc = run_script(script, n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        out[n] = [ln.split() for ln in proc.stdout.splitlines() if ln.startswith(("ORDER", "SIZES"))]
    sizes = [int(v) for v in out[3][-1][1:-1]]
    assert len(sizes) == 3 and min(sizes) > 0 and sum(sizes) == int(out[3][-1][-1]) == 17 * 19
    assert len(set(sizes)) > 1                                     # uneven partition exercised
    for one, three in zip(out[1][:-1], out[3][:-1]):
        assert one[:-1] == three[:-1]                                # same order
        assert float(one[-1]) == pytest.approx(float(three[-1]), rel=1e-12)


CASE = textwrap.dedent("""
    [case]
    kind = "recycle"
    [mesh]
    shape = [33, 33]
    [family]
    name = "darcy_exp"
    samples = 5
    seed = 3
    [solver]
    m = 30
    k = 10
    rtol = 1e-10
""")


@pytest.mark.mpi
def test_case_run_same_solutions_on_one_two_and_three_ranks(tmp_path):
    case = tmp_path / "rec.toml"
    case.write_text(CASE)
    data = {}
    for n in (1, 2, 3):
        out = tmp_path / f"rec{n}.h5"
        proc = run_cli(["run", str(case), "-o", str(out)], n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "CONVERGED_RTOL" in proc.stdout and "sort skr" in proc.stdout
        with h5py.File(out) as h5:
            data[n] = {k: h5[k][()] for k in ("u", "order", "stats/iterations", "stats/residual", "inputs/kappa")}
    assert data[1]["u"].shape == (5, 33, 33)
    assert np.array_equal(data[1]["order"], data[2]["order"])
    assert np.array_equal(data[1]["inputs/kappa"], data[2]["inputs/kappa"])
    assert np.abs(data[1]["u"] - data[2]["u"]).max() <= 1e-7 * np.abs(data[1]["u"]).max()
    assert np.abs(data[1]["stats/iterations"] - data[2]["stats/iterations"]).max() <= 2
    assert data[2]["stats/residual"].max() <= 1.01e-10
    assert data[3]["stats/residual"].max() <= 1.01e-10
    assert np.array_equal(data[1]["order"], data[3]["order"])
    assert np.array_equal(data[1]["inputs/kappa"], data[3]["inputs/kappa"])
    assert np.abs(data[1]["u"] - data[3]["u"]).max() <= 1e-7 * np.abs(data[1]["u"]).max()


@pytest.mark.parametrize("edit,key", [("k = 10", "k = 30"), ("samples = 5", "samples = 0"),
                                      ("seed = 3", "seed = 3\nk_min = 2.0")])
def test_bad_case_exits_2_without_output(tmp_path, edit, key):
    case = tmp_path / "bad.toml"
    case.write_text(CASE.replace(edit, key))
    out = tmp_path / "bad.h5"
    proc = run_cli(["run", str(case), "-o", str(out)], n=1, timeout=120)
    assert proc.returncode == 2
    path = {"k = 30": "solver.k", "samples = 0": "family.samples", "seed = 3\nk_min = 2.0": "family.k_min"}[key]
    assert path in proc.stderr
    assert not out.exists()


def test_deflated_cg_without_space_is_cg_and_recycling_cuts_iterations():
    """DCG with k = 0 takes exactly CG's iterations; with a recycled Ritz space it reaches rtol and,
    on the slowly varying sequence, needs fewer (measured 65², 6 systems, ICC: 267 vs 402)."""
    fam = SlowDarcy((65, 65), seed=5)
    grid = Grid((65, 65))
    cg = solve_sequence(fam, grid, SolverSpec("cg", pc_type="icc"), n=6, ordering="none")
    flat = solve_sequence(fam, grid, SolverSpec("dcg", k=10, l=20, pc_type="icc", recycle=False), n=6,
                          ordering="none")
    dcg = solve_sequence(fam, grid, SolverSpec("dcg", k=10, l=20, pc_type="icc"), n=6, ordering="none")
    assert [r.iterations for r in flat.records] == [r.iterations for r in cg.records]
    assert not dcg.failures and dcg.max_residual <= 1.01e-8
    assert dcg.iterations <= 0.7 * cg.iterations


@pytest.mark.mpi
@pytest.mark.slow
def test_deflated_cg_case_same_on_one_and_two_ranks(tmp_path):
    case = tmp_path / "dcg.toml"
    case.write_text(CASE.replace("m = 30", 'method = "dcg"\npc_type = "jacobi"'))
    data = {}
    for n in (1, 2):
        out = tmp_path / f"dcg{n}.h5"
        proc = run_cli(["run", str(case), "-o", str(out)], n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out) as h5:
            data[n] = (h5["u"][()], h5["stats/iterations"][()])
    assert np.abs(data[1][0] - data[2][0]).max() <= 1e-7 * np.abs(data[1][0]).max()
    assert np.abs(data[1][1] - data[2][1]).max() <= 2


def test_shared_matrix_gives_the_same_solutions():
    """shared_matrix copies each A_i into one Mat; the answers and residuals must not change."""
    from solvers.poisson.families import make_family
    fam = make_family("darcy_exp", (33, 33), seed=3)
    grid = Grid((33, 33))
    own = solve_sequence(fam, grid, SolverSpec("cg", pc_type="gamg"), n=4, ordering="skr", keep_solutions=True)
    shared = solve_sequence(fam, grid, SolverSpec("cg", pc_type="gamg", shared_matrix=True), n=4, ordering="skr",
                            keep_solutions=True)
    assert not own.failures and not shared.failures and shared.max_residual <= 1.01e-8
    for key, u in own.solutions.items():
        assert np.abs(shared.solutions[key] - u).max() <= 1e-6 * np.abs(u).max()


def test_shared_matrix_refuses_a_different_pattern():
    from petsc4py import PETSc
    a = PETSc.Mat().createAIJ([3, 3], nnz=3)
    for i in range(3):
        a.setValue(i, i, 2.0)
    a.assemble()
    b = PETSc.Mat().createAIJ([3, 3], nnz=3)
    for i in range(3):
        b.setValue(i, i, 3.0)
    b.setValue(0, 2, 1.0)
    b.assemble()
    seq = SequenceSolver(SolverSpec("cg", shared_matrix=True))
    shared = seq._share(a)
    same = seq._share(a)
    assert same is shared
    other = seq._share(b)                          # pattern differs: a fresh copy of b
    assert other is not shared and other.getValue(0, 2) == 1.0 and not shared.handle
    seq.close()
    a.destroy()
    b.destroy()


@pytest.mark.mpi
@pytest.mark.slow
def test_benchmark_smoke_run_converges_everywhere(tmp_path):
    """bench_recycling --quick: every variant (np = 1 and the np = 2 rerun) reaches rtol 1e-8
    in the true residual without max_it; recycling beats cold GMRES(40) in iterations."""
    import json

    from conftest import ROOT  # noqa: E402
    out = tmp_path / "quick.json"
    proc = run_script(ROOT / "scripts" / "bench_recycling.py", ["--quick", "--stall", "0", "-q", "--json", str(out)],
                      timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert {r["np"] for r in rows} == {1, 2}
    assert all(r["failures"] == 0 and r["max_residual"] <= 1.01e-8 for r in rows)
    darcy = {r["label"]: r for r in rows if r["group"] == "Darcy 65²"}
    assert darcy["GCRO-DR(40,20) SKR"]["iterations"] <= 0.3 * darcy["GMRES(40) cold"]["iterations"]
    assert "| e | GCRO-DR(40,20) SKR |" in run_script(ROOT / "scripts" / "bench_recycling.py",
                                                      ["--markdown", str(out)]).stdout


def test_pc_refresh_sets_up_every_nth_system_afresh():
    """pc_reuse with pc_refresh = 2: systems 0, 2, 4 get a fresh GAMG (same iterations as a
    fresh setup per system), systems 1, 3, 5 reuse their predecessor's."""
    from solvers.poisson.families import make_family
    fam = make_family("darcy_exp", (33, 33), seed=4)
    grid = Grid((33, 33))
    fresh = solve_sequence(fam, grid, SolverSpec("cg", pc_type="gamg"), n=6, ordering="skr")
    every2 = solve_sequence(fam, grid, SolverSpec("cg", pc_type="gamg", pc_reuse=True, pc_refresh=2), n=6,
                            ordering="skr")
    never = solve_sequence(fam, grid, SolverSpec("cg", pc_type="gamg", pc_reuse=True), n=6, ordering="skr")
    assert not every2.failures and every2.max_residual <= 1.01e-8
    f, e, n = ([r.iterations for r in res.records] for res in (fresh, every2, never))
    assert e[0::2] == f[0::2]                          # measured 12 each
    assert e[1] == n[1] and e[3] != n[3]               # system 3 reuses system 2's PC, not system 0's (25 vs 32)


def test_verify_continues_until_the_true_residual_meets_rtol():
    """With the convergence test on the preconditioned norm (-recycle_ksp_norm_type preconditioned)
    CG+SOR stops with ||b - A x|| above rtol ||b|| (measured 2.7e-6 at rtol 1e-6 on darcy_fno 33²);
    verify = 3 continues from x with a tighter rtol until every true residual meets rtol."""
    from solvers.poisson.families import make_family
    fam = make_family("darcy_fno", (33, 33), seed=1)
    grid = Grid((33, 33))
    opts = {"ksp_norm_type": "preconditioned", "ksp_pc_side": "left"}
    loose = solve_sequence(fam, grid, SolverSpec("cg", pc_type="sor", rtol=1e-6, options=opts), 4, "none")
    strict = solve_sequence(fam, grid, SolverSpec("cg", pc_type="sor", rtol=1e-6, options=opts, verify=3), 4, "none")
    assert loose.max_residual > 1.5e-6 and not loose.failures
    assert strict.max_residual <= 1e-6 and not strict.failures
    assert loose.iterations < strict.iterations <= 1.2 * loose.iterations


def test_primed_shared_matrix_gives_each_solution_independent_of_the_order():
    """shared_matrix with the PC primed on a fixed reference system (the dataset kind's default):
    GAMG keeps the reference's prolongators and recomputes the coarse operators per system, so a
    solution's bits depend only on the reference and its own system, not on what came before."""
    from solvers.krylov.sequence import SequenceSolver
    from solvers.poisson.families import make_family
    from solvers.poisson.systems import family_systems
    fam = make_family("darcy_fno", (33, 33), seed=0)
    grid = Grid((33, 33))

    def run(order):
        seq = SequenceSolver(SolverSpec("cg", pc_type="gamg", shared_matrix=True))
        ref = family_systems(fam, grid, [fam.sample(0, grid.ranges)])
        seq.prime(next(ref).A)
        ref.close()
        out = {}
        for system in family_systems(fam, grid, [fam.sample(i, grid.ranges) for i in order]):
            rec = seq.solve(system)
            out[rec.index] = (grid.local_array(system.x), rec.residual)
        seq.close()
        return out

    a, b = run([3, 5, 7]), run([7, 2, 5, 3])
    for i in (3, 5, 7):
        assert np.array_equal(a[i][0], b[i][0]) and a[i][1] <= 1e-8


def test_unconverged_systems_are_written_then_exit_3(tmp_path):
    case = tmp_path / "fail.toml"
    case.write_text(CASE.replace("rtol = 1e-10", "rtol = 1e-10\nmax_it = 30"))
    out = tmp_path / "fail.h5"
    proc = run_cli(["run", str(case), "-o", str(out)], timeout=120)
    assert proc.returncode == 3
    assert "5 system(s) did not converge (first: sample" in proc.stderr and "DIVERGED_MAX_IT" in proc.stderr
    with h5py.File(out) as h5:
        assert h5.attrs["failures"] == 5 and h5["stats/iterations"][...].max() == 30
