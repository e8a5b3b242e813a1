"""The KSP factory and the options database: prefixes, plain options, Python types by name,
clean-up, and every -ksp_type a user may pass to a `recycle` or `dataset` run works or exits 2."""
from __future__ import annotations

import textwrap

import h5py
import numpy as np
import pytest
from petsc4py import PETSc

from meshes import Grid
from solvers import ksp as kspmod
from solvers.krylov.deflated_cg import DeflatedCG
from solvers.krylov.gcrodr import GCRODR
from solvers.parallel import UserError
from solvers.poisson.families import make_family

from conftest import run_cli


@pytest.fixture
def system():
    fam = make_family("darcy_exp", (17, 17), seed=1)
    grid = Grid((17, 17))
    op, b = fam.system(grid, fam.sample(0, grid.ranges))
    yield op.A, b
    b.destroy()
    op.destroy()


def _solve(A, b, spec, prefix):
    ksp = kspmod.make_ksp(A, spec, prefix)
    x = b.duplicate()
    kspmod.setup(ksp)
    ksp.solve(b, x)
    out = (ksp.getType(), ksp.getPC().getType(), ksp.getIterationNumber(), kspmod.true_residual(A, x, b),
           ksp.getPythonContext() if ksp.getType() == "python" else None, ksp.getNormType(), ksp.getPCSide())
    kspmod.destroy(ksp)
    x.destroy()
    return out


def _options() -> dict:
    return dict(PETSc.Options().getAll())


@pytest.mark.parametrize("name,ctx", [("gcrodr", GCRODR), ("dcg", DeflatedCG)])
def test_python_types_by_name_reach_rtol_in_the_true_residual(system, name, ctx):
    A, b = system
    before = _options()
    t, pc, its, res, context, norm, _ = _solve(A, b, kspmod.KSPSpec(name, "jacobi", rtol=1e-9,
                                                                    norm="unpreconditioned"), "t_py_")
    assert t == "python" and isinstance(context, ctx) and pc == "jacobi"
    assert res <= 1e-9 * 1.001 and its > 0
    assert norm == PETSc.KSP.NormType.UNPRECONDITIONED
    assert _options() == before                                  # nothing left in the database


@pytest.mark.parametrize("ksp_type,side", [("cg", PETSc.PC.Side.LEFT), ("gmres", PETSc.PC.Side.RIGHT),
                                           ("fgmres", PETSc.PC.Side.RIGHT), ("bcgs", PETSc.PC.Side.RIGHT)])
def test_unpreconditioned_norm_on_the_side_the_type_supports(system, ksp_type, side):
    """The test ||b - A x|| <= rtol ||b|| holds in the true residual for every type."""
    A, b = system
    t, _, _, res, _, norm, got = _solve(A, b, kspmod.KSPSpec(ksp_type, "jacobi", rtol=1e-9, norm="unpreconditioned"),
                                        "t_side_")
    assert t == ksp_type and got == side and norm == PETSc.KSP.NormType.UNPRECONDITIONED
    assert res <= 1e-9 * 1.001


def test_prefixed_option_wins_over_plain_wins_over_spec_and_all_are_undone(system):
    A, b = system
    db = PETSc.Options()
    db.setValue("ksp_type", "gmres")
    db.setValue("pc_type", "none")
    db.setValue("t_win_pc_type", "jacobi")
    before = _options()
    try:
        t, pc, *_ = _solve(A, b, kspmod.KSPSpec("cg", "gamg", options={"ksp_gmres_restart": 7}), "t_win_")
        assert (t, pc) == ("gmres", "jacobi")
        assert _options() == before
        t, pc, *_ = _solve(A, b, kspmod.KSPSpec("cg", "gamg"), "t_other_")
        assert (t, pc) == ("gmres", "none")                      # plain options reach every prefix
    finally:
        for k in ("ksp_type", "pc_type", "t_win_pc_type"):
            db.delValue(k)


def test_nested_ksps_with_one_prefix_keep_their_own_defaults(system):
    """A spec default is not mistaken for a user option by a second live KSP of the same prefix."""
    A, b = system
    before = _options()
    first = kspmod.make_ksp(A, kspmod.KSPSpec("gcrodr", "none", options={"ksp_gcrodr_m": 20, "ksp_gcrodr_k": 8}),
                            "t_nest_")
    second = kspmod.make_ksp(A, kspmod.KSPSpec("gcrodr", "none", options={"ksp_gcrodr_m": 10, "ksp_gcrodr_k": 0}),
                             "t_nest_")
    assert (first.getPythonContext().m, first.getPythonContext().k) == (20, 8)
    assert (second.getPythonContext().m, second.getPythonContext().k) == (10, 0)
    kspmod.destroy(first)                      # out of order
    kspmod.destroy(second)
    assert _options() == before


@pytest.mark.parametrize("options,message", [
    ({"t_bad_ksp_type": "nosuch"}, "unknown KSP type 'nosuch' (-t_bad_ksp_type"),
    ({"t_bad_pc_type": "nosuch"}, "cannot build the KSP with options prefix -t_bad_"),
    ({"t_bad_ksp_gcrodr_k": "50"}, "must satisfy 0 <= k < m = 40"),
])
def test_bad_options_are_user_errors_and_leave_nothing(system, options, message):
    A, b = system
    db = PETSc.Options()
    options = {**options, "ksp_max_it": "77"}               # a plain option: aliased, then undone
    for k, v in options.items():
        db.setValue(k, v)
    before = _options()
    try:
        with pytest.raises(UserError) as exc:
            kspmod.make_ksp(A, kspmod.KSPSpec("gcrodr", "none"), "t_bad_")
        assert message in str(exc.value)
        assert _options() == before
    finally:
        for k in options:
            db.delValue(k)


RECYCLE = textwrap.dedent("""
    [case]
    kind = "recycle"
    [mesh]
    shape = [17, 17]
    [family]
    name = "darcy_exp"
    samples = 3
    seed = 3
    [solver]
    m = 20
    k = 5
    rtol = 1e-9
""")

DATASET = textwrap.dedent("""
    [case]
    kind = "dataset"
    name = "ds"
    [family]
    name = "darcy_fno"
    seed = 7
    [mesh]
    shape = [17, 17]
    [samples]
    n = 4
    split = [0.5, 0.25, 0.25]
    [solver]
    ksp_type = "cg"
    pc_type = "gamg"
    rtol = 1e-9
""")


def _residuals(kind: str, out) -> np.ndarray:
    if kind == "recycle":
        with h5py.File(out) as h5:
            return h5["stats/residual"][...].ravel()
    res = []
    for f in sorted(out.glob("data/*/*.hdf5")):
        with h5py.File(f) as h5:
            res.append(h5["scalars/residual"][...])
    return np.concatenate(res)


@pytest.mark.parametrize("kind", ["recycle", "dataset"])
@pytest.mark.parametrize("args,shown", [
    (["-ksp_type", "gmres"], "GMRES+"), (["-ksp_type", "cg"], "CG+"), (["-ksp_type", "fgmres"], "FGMRES+"),
    (["-ksp_type", "gcrodr"], "GCRODR(")], ids=["gmres", "cg", "fgmres", "gcrodr"])
def test_any_ksp_type_after_double_dash_works(tmp_path, kind, args, shown):
    """README: plain -ksp_type after -- works as in any PETSc program (and the -<kind>_ spelling)."""
    case = tmp_path / f"{kind}.toml"
    case.write_text(RECYCLE if kind == "recycle" else DATASET)
    for n, opts in enumerate([args, [f"-{kind}_{args[0][1:]}", args[1]]]):
        out = tmp_path / (f"out{n}.h5" if kind == "recycle" else f"out{n}")
        proc = run_cli(["run", str(case), "-o", str(out), "--", *opts, "-pc_type", "jacobi"], timeout=300)
        assert proc.returncode == 0, proc.stderr
        if kind == "recycle":
            assert f"solver (from the KSP object): {shown}" in proc.stdout and "+JACOBI" in proc.stdout
        res = _residuals(kind, out)
        assert len(res) in (3, 4) and res.max() <= 1e-9 * 1.01


@pytest.mark.parametrize("kind", ["recycle", "dataset"])
@pytest.mark.parametrize("args,message", [
    (["-{kind}_ksp_type", "nosuch"], "unknown KSP type 'nosuch' (-{kind}_ksp_type"),
    (["-pc_type", "nosuchpc"], "cannot build the KSP with options prefix -{kind}_"),
    (["-ksp_type", "gmres", "-{kind}_ksp_pc_side", "left"],
     "does not support norm type UNPRECONDITIONED with preconditioner side LEFT (PETSc error 56)"),
    (["-{kind}_ksp_type", "gcrodr", "-ksp_pc_side", "left"], "GCRO-DR supports right preconditioning only"),
], ids=["ksp_type", "pc_type", "side", "gcrodr-left"])
def test_impossible_options_exit_2_and_write_nothing(tmp_path, kind, args, message):
    case = tmp_path / f"{kind}.toml"
    case.write_text(RECYCLE if kind == "recycle" else DATASET)
    out = tmp_path / ("out.h5" if kind == "recycle" else "out")
    proc = run_cli(["run", str(case), "-o", str(out), "--", *(a.format(kind=kind) for a in args)], timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert message.format(kind=kind) in proc.stderr
    assert not out.exists()


@pytest.mark.mpi
def test_serial_factorisation_on_two_ranks_exits_2_naming_the_reason(tmp_path):
    """ICC has no parallel factorisation in PETSc: -pc_type icc on 2 ranks is exit 2 with PETSc's
    reason, not a crash."""
    case = tmp_path / "recycle.toml"
    case.write_text(RECYCLE)
    out = tmp_path / "out.h5"
    proc = run_cli(["run", str(case), "-o", str(out), "--", "-ksp_type", "cg", "-pc_type", "icc"], n=2, timeout=120)
    assert proc.returncode == 2
    assert "Could not locate a solver type for factorization type ICC" in proc.stderr
    assert "choose another -recycle_ksp_type / -recycle_pc_type" in proc.stderr
    assert not out.exists()
