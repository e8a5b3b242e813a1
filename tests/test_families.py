"""Parameterised PDE families: reproducible samples, the properties of each operator, np=1 vs 2."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from petsc4py import PETSc

from meshes import Grid
from solvers.poisson.families import FAMILIES, HeatFamily, make_family

from conftest import run_script

SHAPE = (33, 33)


def _dense(op) -> np.ndarray:
    return op.A.convert("dense").getDenseArray().copy()


def _lu_solve(op, b) -> PETSc.Vec:
    ksp = PETSc.KSP().create(comm=op.A.getComm())
    ksp.setOperators(op.A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    x = b.duplicate()
    ksp.solve(b, x)
    ksp.destroy()
    return x


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_samples_are_reproducible_in_any_order(name):
    fam = make_family(name, SHAPE, seed=3)
    late = fam.sample(7)
    for i in range(3):
        fam.sample(i)
    again = make_family(name, SHAPE, seed=3).sample(7)
    assert late.seed == again.seed and late.scalars == again.scalars
    for k in late.fields:
        assert late.fields[k].tobytes() == again.fields[k].tobytes()
    other = fam.sample(8)
    assert any(np.abs(other.fields[k] - late.fields[k]).max() > 0 for k in late.fields if k != "f" or name in
               ("poisson", "helmholtz"))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_declared_symmetry_matches_the_matrix(name):
    """``spd`` is what consumers (solver choice, CG vs GMRES) read: it must be the truth."""
    fam = make_family(name, (17, 17), seed=1)
    grid = Grid((17, 17))
    op, _ = fam.system(grid, fam.sample(0))
    a = _dense(op)
    assert np.abs(a - a.T).max() <= 1e-12 * np.abs(a).max()
    assert (np.linalg.eigvalsh(a).min() > 0) == fam.spd


def test_3d_family_is_symmetric_and_solvable():
    fam = make_family("darcy_exp", (9, 9, 9), seed=0)
    grid = Grid((9, 9, 9))
    op, b = fam.system(grid, fam.sample(0))
    a = _dense(op)
    assert a.shape == (729, 729) and np.abs(a - a.T).max() <= 1e-12 * np.abs(a).max()
    assert np.linalg.eigvalsh(a).min() > 0


def test_darcy_fno_coefficient_is_thresholded():
    s = make_family("darcy_fno", SHAPE, seed=0).sample(0)
    vals = set(np.unique(s.fields["kappa"]))
    assert vals == {3.0, 12.0}


def test_helmholtz_is_indefinite_and_k_in_range():
    fam = make_family("helmholtz", (17, 17), seed=2, k_min=15.0, k_max=25.0)
    s = fam.sample(0)
    assert 15.0 <= s.scalars["k"] <= 25.0
    op, _ = fam.system(Grid((17, 17)), s)
    ev = np.linalg.eigvalsh(_dense(op))
    assert ev.min() < 0 < ev.max()
    assert fam.sort_features(s)[0] == pytest.approx(17 * s.scalars["k"])


def test_heat_steps_satisfy_the_maximum_principle():
    """Backward Euler with an M-matrix and f = 0: max|u^{n+1}| <= max|u^n| (strictly decaying)."""
    fam = make_family("heat", SHAPE, seed=4, n_steps=3, dt=1e-3)
    assert isinstance(fam, HeatFamily) and len(fam.times()) == 4
    grid = Grid(SHAPE)
    s = fam.sample(0)
    op, b = fam.system(grid, s)
    u = fam.initial_condition(grid, s)
    peaks = [u.norm(PETSc.NormType.NORM_INFINITY)]
    for _ in range(fam.n_steps):
        u = _lu_solve(op, b)
        peaks.append(u.norm(PETSc.NormType.NORM_INFINITY))
        b = fam.step_rhs(op, s, u)
    assert all(p1 < p0 for p0, p1 in zip(peaks, peaks[1:]))


def test_poisson_family_reproduces_a_harmonic_function():
    """With f = 0 and g = x² - y² (harmonic, exact for the 5-point stencil) u = g everywhere."""
    fam = make_family("poisson", SHAPE, seed=0)
    grid = Grid(SHAPE)
    s = fam.sample(0)
    x, y = np.meshgrid(*(np.linspace(0, 1, n) for n in SHAPE), indexing="ij")
    s.fields["f"] = np.zeros(SHAPE)
    s.fields["g"] = x ** 2 - y ** 2
    op, b = fam.system(grid, s)
    u = grid.gather(_lu_solve(op, b), root_only=False)
    assert np.abs(u - (x ** 2 - y ** 2)).max() < 1e-12


def test_bad_family_options():
    with pytest.raises(ValueError, match="unknown family"):
        make_family("darcy", SHAPE)
    with pytest.raises(ValueError, match="unknown option"):
        make_family("darcy_exp", SHAPE, alfa=2.0)
    with pytest.raises(ValueError, match="k_min"):
        make_family("helmholtz", SHAPE, k_min=5.0, k_max=1.0)
    with pytest.raises(ValueError, match="modes"):
        make_family("darcy_exp", SHAPE, modes=1)


SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from mpi4py import MPI
    from petsc4py import PETSc
    from meshes import Grid
    from solvers.poisson.families import FAMILIES, make_family
    comm = MPI.COMM_WORLD
    grid = Grid((33, 25), comm=comm)
    out = {}
    for name in sorted(FAMILIES):
        fam = make_family(name, (33, 25), seed=9)
        op, b = fam.system(grid, fam.sample(1))
        ksp = PETSc.KSP().create(comm=op.A.getComm())
        ksp.setOperators(op.A); ksp.setType("gmres"); ksp.getPC().setType("none")
        ksp.setTolerances(rtol=1e-13, max_it=20000); ksp.setGMRESRestart(200)
        x = b.duplicate(); ksp.solve(b, x)
        out[name] = grid.gather(x, root_only=False).ravel().tolist()
    if comm.rank == 0:
        json.dump(out, open(sys.argv[1], "w"))
""")


@pytest.mark.mpi
def test_systems_identical_on_one_and_two_ranks(tmp_path):
    script = tmp_path / "fam.py"
    script.write_text(SCRIPT)
    res = {}
    for n in (1, 2):
        out = tmp_path / f"out{n}.json"
        proc = run_script(script, [str(out)], n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
        res[n] = json.loads(out.read_text())
    for name in FAMILIES:
        a, b = np.array(res[1][name]), np.array(res[2][name])
        assert np.abs(a - b).max() <= 1e-9 * np.abs(a).max(), name
