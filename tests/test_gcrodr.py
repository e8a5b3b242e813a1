"""GCRO-DR(m, k): convergence to rtol, agreement with direct solves, GMRES limit, options, errors."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from petsc4py import PETSc

from meshes import Grid
from solvers import ksp as kspmod
from solvers.krylov.gcrodr import GCRODR, GCRODROptionError, harmonic_ritz
from solvers.poisson.families import make_family

from conftest import run_script


def _csr(a: np.ndarray) -> PETSc.Mat:
    n = a.shape[0]
    M = PETSc.Mat().createAIJ([n, n], nnz=n)
    M.setValues(range(n), range(n), a)
    M.assemble()
    return M


def _convection_diffusion(n: int = 30, peclet: float = 40.0) -> np.ndarray:
    """Upwind -u'' + c u' on n interior nodes of a 2D grid (nonsymmetric, well posed)."""
    h = 1.0 / (n + 1)
    T = (np.diag(2 * np.ones(n)) - np.diag(np.ones(n - 1), 1) - np.diag(np.ones(n - 1), -1)) / h ** 2
    D = (np.diag(np.ones(n)) - np.diag(np.ones(n - 1), -1)) / h * peclet
    eye = np.eye(n)
    return np.kron(eye, T + D) + np.kron(T, eye)


def _lu(A: PETSc.Mat, b: PETSc.Vec) -> np.ndarray:
    ksp = PETSc.KSP().create(comm=A.getComm())
    ksp.setOperators(A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    x = b.duplicate()
    ksp.solve(b, x)
    ksp.destroy()
    return x.getArray().copy()


def make_gcrodr_ksp(A, pc_type: str = "none", rtol: float = 1e-8, max_it: int = 10000,
                    initial_guess_nonzero: bool = False, **gcrodr) -> PETSc.KSP:
    """GCRO-DR by name through the suite's factory (prefix t_gcrodr_); gcrodr: m, k, update_every."""
    spec = kspmod.KSPSpec("gcrodr", pc_type, rtol=rtol, max_it=max_it, initial_guess_nonzero=initial_guess_nonzero,
                          options={f"ksp_gcrodr_{k}": v for k, v in gcrodr.items()})
    ksp = kspmod.make_ksp(A, spec, "t_gcrodr_")
    assert isinstance(ksp.getPythonContext(), GCRODR)
    return ksp


def _solve(A, b, **kw):
    ksp = make_gcrodr_ksp(A, **kw)
    x = b.duplicate()
    ksp.solve(b, x)
    r = b.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, b)
    out = (x.getArray().copy(), ksp.getIterationNumber(), ksp.getConvergedReason(), r.norm() / b.norm(),
           ksp.getPythonContext())
    kspmod.destroy(ksp)
    return out


@pytest.mark.parametrize("pc", ["none", "jacobi"])
def test_nonsymmetric_reaches_rtol_and_matches_lu(pc):
    a = _convection_diffusion()
    A = _csr(a)
    b = A.createVecs()[1]
    b.setArray(np.random.default_rng(0).standard_normal(a.shape[0]))
    x, its, reason, res, _ = _solve(A, b, m=30, k=10, rtol=1e-10, pc_type=pc)
    assert reason > 0 and res <= 1e-10 * 1.001
    exact = np.linalg.solve(a, b.getArray())
    assert np.abs(x - exact).max() <= 1e-7 * np.abs(exact).max()


def test_spd_darcy_matches_lu():
    fam = make_family("darcy_exp", (33, 33), seed=1)
    op, b = fam.system(Grid((33, 33)), fam.sample(0))
    x, its, reason, res, _ = _solve(op.A, b, m=40, k=20, rtol=1e-10)
    exact = _lu(op.A, b)
    assert reason > 0 and res <= 1e-10 * 1.001
    assert np.abs(x - exact).max() <= 1e-6 * np.abs(exact).max()


def test_k0_is_gmres_m():
    """With k = 0 GCRO-DR is GMRES(m): the same iteration count as PETSc's right-preconditioned GMRES."""
    fam = make_family("darcy_exp", (33, 33), seed=2)
    op, b = fam.system(Grid((33, 33)), fam.sample(0))
    _, its, reason, _, _ = _solve(op.A, b, m=20, k=0, rtol=1e-8)
    ksp = PETSc.KSP().create()
    ksp.setOperators(op.A)
    ksp.setType("gmres")
    ksp.setGMRESRestart(20)
    ksp.getPC().setType("none")
    ksp.setPCSide(PETSc.PC.Side.RIGHT)
    ksp.setTolerances(rtol=1e-8, max_it=10000)
    x = b.duplicate()
    ksp.solve(b, x)
    assert reason > 0 and abs(its - ksp.getIterationNumber()) <= 1
    ksp.destroy()


def test_deflation_beats_gmres_and_recycled_space_is_the_small_eigenspace():
    """Diagonal A with 5 tiny eigenvalues: after one solve C = A Y is orthonormal, spans those
    eigenvectors, and GCRO-DR(20, 8) needs far fewer steps than GMRES(20) (measured 35 vs 100)."""
    n = 400
    d = np.concatenate([np.linspace(1e-3, 1e-2, 5), np.linspace(1.0, 2.0, n - 5)])
    A = _csr(np.diag(d))
    b = A.createVecs()[1]
    b.setArray(np.random.default_rng(0).standard_normal(n))
    ksp = make_gcrodr_ksp(A, m=20, k=8, rtol=1e-10)
    x = b.duplicate()
    ksp.solve(b, x)
    ctx = ksp.getPythonContext()
    its = ksp.getIterationNumber()
    assert np.abs(ctx.Y * d[None, :] - ctx.C).max() < 1e-10
    assert np.abs(ctx.C @ ctx.C.T - np.eye(ctx.C.shape[0])).max() < 1e-12
    captured = np.linalg.norm(ctx.C[:, :5], axis=0)       # |projection of e_i onto span C|
    assert captured.min() > 0.999
    _, its_gmres, _, _, _ = _solve(A, b, m=20, k=0, rtol=1e-10)
    assert its <= 0.5 * its_gmres
    b.setArray(np.random.default_rng(1).standard_normal(n))   # same A, new rhs: no C recompute
    ksp.solve(b, x)
    assert not ctx.stats.recomputed_c and ksp.getIterationNumber() <= 0.25 * its_gmres
    kspmod.destroy(ksp)


def test_harmonic_ritz_of_gmres_hessenberg():
    """For a full Arnoldi (n steps, h_{n+1,n} = 0) harmonic Ritz values are the eigenvalues."""
    rng = np.random.default_rng(3)
    a = np.diag(np.arange(1.0, 9.0)) + 0.01 * rng.standard_normal((8, 8))
    G = np.vstack([a, np.zeros((1, 8))])
    P = harmonic_ritz(G, 3)
    ev, vec = np.linalg.eig(a)
    small = vec[:, np.argsort(np.abs(ev))[:3]].real
    # span(P) == span of the 3 eigenvectors with smallest |λ|
    proj = P @ (P.T @ small)
    assert np.abs(proj - small).max() < 1e-8


def test_max_it_gives_diverged_reason():
    fam = make_family("darcy_exp", (33, 33), seed=1)
    op, b = fam.system(Grid((33, 33)), fam.sample(0))
    _, its, reason, res, _ = _solve(op.A, b, m=10, k=4, rtol=1e-12, max_it=15)
    assert its == 15 and reason == PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT and res > 1e-12


def test_warm_start_from_the_solution_takes_no_iterations():
    fam = make_family("darcy_exp", (17, 17), seed=1)
    op, b = fam.system(Grid((17, 17)), fam.sample(0))
    ksp = make_gcrodr_ksp(op.A, m=10, k=4, rtol=1e-8, initial_guess_nonzero=True)
    x = b.duplicate()
    x.setArray(_lu(op.A, b))
    ksp.solve(b, x)
    assert ksp.getIterationNumber() == 0 and ksp.getConvergedReason() > 0
    kspmod.destroy(ksp)


@pytest.mark.parametrize("m,k,every", [(0, 0, 1), (10, 10, 1), (10, 12, 1), (5, -1, 1), (10, 4, 0)])
def test_bad_parameters(m, k, every):
    with pytest.raises(GCRODROptionError, match="-ksp_gcrodr_"):
        GCRODR(m, k, update_every=every)


def test_sparser_updates_reach_rtol_and_match_lu():
    """update_every = 3: the space is refreshed after every third cycle; the answer is unchanged."""
    fam = make_family("darcy_exp", (33, 33), seed=2)
    op, b = fam.system(Grid((33, 33)), fam.sample(0))
    ref = _lu(op.A, b)
    x1, its1, reason1, res1, _ = _solve(op.A, b, m=20, k=8, rtol=1e-10)
    x3, its3, reason3, res3, ctx = _solve(op.A, b, m=20, k=8, rtol=1e-10, update_every=3)
    assert reason1 > 0 and reason3 > 0 and res1 <= 1e-10 and res3 <= 1e-10
    assert np.abs(x3 - ref).max() <= 1e-7 * np.abs(ref).max()
    assert ctx.stats.cycles > 3 and ctx.recycled_dim == 8
    assert its3 <= 1.25 * its1         # measured 193 vs 183 iterations


OPTIONS_SCRIPT = textwrap.dedent("""
    import sys, petsc4py
    petsc4py.init(sys.argv)
    from mpi4py import MPI
    from petsc4py import PETSc
    from meshes import Grid
    from solvers.poisson.families import make_family
    fam = make_family("darcy_exp", (33, 33), seed=1)
    grid = Grid((33, 33), comm=MPI.COMM_WORLD)
    op, b = fam.system(grid, fam.sample(0))
    ksp = PETSc.KSP().create(comm=op.A.getComm())
    ksp.setOperators(op.A)
    ksp.setFromOptions()
    x = b.duplicate()
    ksp.solve(b, x)
    r = b.duplicate(); op.A.mult(x, r); r.aypx(-1, b)
    rel = r.norm() / b.norm()
    PETSc.Sys.Print(f"RESULT {ksp.getType()} {ksp.getIterationNumber()} {ksp.getConvergedReason()} {rel:.3e}")
    ksp.destroy()
""")


@pytest.mark.mpi
def test_usable_from_petsc_options_on_two_ranks(tmp_path):
    script = tmp_path / "opts.py"
    script.write_text(OPTIONS_SCRIPT)
    base = ["-ksp_type", "python", "-ksp_python_type", "solvers.krylov.gcrodr.GCRODR", "-ksp_gcrodr_m", "30",
            "-ksp_gcrodr_k", "10", "-ksp_rtol", "1e-9", "-ksp_monitor", "-pc_type", "none"]
    outs = {}
    for n in (1, 2):
        proc = run_script(script, base, n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0].split()
        assert line[1] == "python" and int(line[3]) > 0 and float(line[4]) <= 1e-9 * 1.001
        assert "KSP Residual norm" in proc.stdout
        outs[n] = int(line[2])
    assert abs(outs[1] - outs[2]) <= 2
    bad = run_script(script, base + ["-ksp_gcrodr_k", "30"], n=1, timeout=120)
    assert bad.returncode != 0 and "must satisfy 0 <= k < m = 30" in bad.stdout + bad.stderr
