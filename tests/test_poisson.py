"""Poisson: operator correctness, MMS order (2D/3D), HDF5 output, divergence, PETSc options."""
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from meshes import Grid
from solvers.poisson.mms import SOLUTIONS
from solvers.poisson.operator import assemble
from solvers.poisson.solver import errors, solve_poisson

from conftest import ROOT, run_cli


def to_scipy(A):
    ai, aj, av = A.getValuesCSR()
    return sp.csr_matrix((av, aj, ai), shape=A.getSize())


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 7)])
def test_operator_matches_stencil_and_is_symmetric(shape):
    g = Grid(shape)
    kap = g.vec_from_function(lambda *x: 1 + sum(xi ** 2 for xi in x))
    op = assemble(g, kap, shift=0.3)
    A = to_scipy(op.A)
    assert abs(A - A.T).max() < 1e-12
    # Interior rows: sum_d [K_{+}(u_i-u_{i+1}) + K_{-}(u_i-u_{i-1})]/h^2 + c u_i, harmonic K faces.
    U = np.random.default_rng(1).normal(size=shape)
    K = g.gather(kap)
    u = g.scatter(U)
    y = op.A.createVecLeft()
    op.A.mult(u, y)
    z = y.duplicate()
    op.lift.mult(u, z)
    y.axpy(1.0, z)
    Y = g.gather(y)
    inner = tuple(slice(1, -1) for _ in shape)
    ref = 0.3 * U[inner]
    for d in range(len(shape)):
        for s in (-1, 1):
            nb = tuple(slice(1 + s, n - 1 + s) if e == d else slice(1, n - 1) for e, n in enumerate(shape))
            kf = 2 * K[inner] * K[nb] / (K[inner] + K[nb])
            ref = ref + kf * (U[inner] - U[nb]) / g.h[d] ** 2
    assert np.abs(Y[inner] - ref).max() < 1e-10 * np.abs(ref).max()


def test_nonzero_boundary_data_exp_solution():
    u, f = SOLUTIONS["exp"](1)
    g = Grid((65, 65))
    res = solve_poisson(g, f, u, ksp_type="cg", pc_type="gamg", rtol=1e-12)
    e2, emax = errors(g, res.u, u)
    assert emax < 1e-6 and e2 < 5e-7     # O(h^2), h = 1/64: measured L2 3.8e-7, max 7.7e-7


EXP_CASE = '[case]\nkind="poisson"\n[mesh]\nshape=[129,129]\n[problem]\nsolution="exp"\n'


def test_run_writes_hdf5_with_metadata(tmp_path):
    out = tmp_path / "p.h5"
    proc = run_cli(["run", "cases/poisson_2d.toml", "-o", str(out), "--", "-ksp_type", "cg",
                    "-pc_type", "jacobi", "-ksp_converged_reason"])
    assert proc.returncode == 0, proc.stderr
    assert "Linear poisson_ solve converged due to CONVERGED_RTOL" in proc.stdout   # options prefix poisson_
    assert "cg+jacobi" in proc.stdout        # command-line options override the case file
    with h5py.File(out) as h5:
        u, ex = h5["u"][...], h5["exact"][...]
        assert u.shape == (257, 257) and h5["x"].shape == (257,)
        assert np.abs(u - ex).max() < 2e-5
        assert np.isclose(h5.attrs["error_max"], np.abs(u - ex).max())
        assert h5.attrs["reason"] == "CONVERGED_RTOL" and h5.attrs["iterations"] >= 1
        assert h5.attrs["pc_type"] == "jacobi"
        assert "kind = \"poisson\"" in h5.attrs["case_text"]
        assert len(h5["residual_history"]) == h5.attrs["iterations"] + 1
        assert "petsc" in h5.attrs["versions"]


def test_case_petsc_table_and_log_view(tmp_path):
    case = tmp_path / "c.toml"
    case.write_text('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[petsc]\nksp_type="gmres"\n'
                    'pc_type="sor"\nksp_monitor=""\n')
    proc = run_cli(["run", str(case), "-o", str(tmp_path / "o.h5"), "--", "-log_view"])
    assert proc.returncode == 0, proc.stderr
    assert "gmres+sor" in proc.stdout
    assert "KSP Residual norm" in proc.stdout
    assert "PETSc Performance Summary" in proc.stdout or "Performance Summary" in proc.stdout


def test_divergence_is_a_clear_error(tmp_path):
    out = tmp_path / "d.h5"
    case = tmp_path / "exp.toml"
    case.write_text(EXP_CASE)
    proc = run_cli(["run", str(case), "-o", str(out), "--", "-pc_type", "none", "-ksp_max_it", "3"])
    assert proc.returncode == 3
    assert "DIVERGED_MAX_IT" in proc.stderr
    assert not out.exists()
