"""The ``recycle`` case kind: sort a family's systems and solve them with recycling.

The KSP has the options prefix ``recycle_`` (``-recycle_ksp_type gmres``, ``-recycle_pc_type
gamg``, ``-recycle_ksp_gcrodr_k 10``); plain ``-ksp_type`` ... apply as well (:mod:`solvers.ksp`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from meshes import Grid

from ..case import Bool, CaseError, Choice, Float, Int, List, PetscType, Table, check_derived, grid_estimate
from ..parallel import rprint
from ..poisson.families import FAMILIES, Family, make_family
from ..poisson.systems import family_systems
from ..registry import RunContext, runner
from ..result import Block, Result
from .gcrodr import GCRODROptionError, check_parameters
from .sequence import SequenceResult, SolverSpec, System, SystemRecord, solve_sequence
from .skr_sort import ORDERINGS, SortResult, sort_systems

_FAMILY_OPTIONS = sorted({k for cls in FAMILIES.values() for k in cls.OPTIONS})
_INT_OPTIONS = {"modes", "n_steps"}
_OPT_DOC = "family option (families.py; only for families that have it; unset = family default)"


def _check_family(fam: dict, path: str) -> None:
    cls = FAMILIES[fam["name"]]
    for key in _FAMILY_OPTIONS:
        if fam[key] is not None and key not in cls.OPTIONS:
            raise CaseError(f"{path}.{key}", f"not an option of family {fam['name']!r} "
                                             f"(its options: {', '.join(sorted(cls.OPTIONS))})")
    try:
        make_family(fam["name"], (3, 3), 0, **_options(fam))
    except ValueError as exc:
        raise CaseError(path, str(exc)) from None


def _options(fam: dict) -> dict:
    return {k: fam[k] for k in _FAMILY_OPTIONS if fam[k] is not None}


def _check_sample(sections: dict, path: str) -> None:
    """Sample 0 of the family on the case's grid is finite and moderate (no option overflows)."""
    fam = sections["family"]

    def arrays() -> dict:
        s = make_family(fam["name"], sections["mesh"]["shape"], fam["seed"], **_options(fam)).sample(0)
        return {**s.fields, **s.scalars}

    check_derived("family", "sample 0 of these options", arrays)


def _estimate(sections: dict, ranks: int = 1) -> float:
    """Memory of a recycling run (bytes): the grid solve (``grid_estimate``), the GCRO-DR/GMRES
    basis (m + k vectors), every sample's inputs and stored solutions with their stacked copies
    and its system (measured ~11 vectors per sample for darcy_exp on 129^2, counted 15),
    the sort features (n samples x nodes) and SKR's n x n Gram matrix (float64, on every rank)."""
    nodes = float(np.prod(sections["mesh"]["shape"], dtype=float))
    fam, sol = sections["family"], sections["solver"]
    n = fam["samples"]
    steps = fam["n_steps"] or FAMILIES[fam["name"]].OPTIONS.get("n_steps", 1)
    kept = steps if sections["store"]["solutions"] else 0
    return grid_estimate(sections) + 8 * nodes * (sol["m"] + sol["k"] + 5 * n * (2 + kept)) + 8.0 * n * n * ranks


def _check_solver(sol: dict, path: str) -> None:
    if sol["method"] == "gcrodr":
        try:
            check_parameters(sol["m"], sol["k"])
        except GCRODROptionError as exc:
            raise CaseError(f"{path}.{'m' if sol['m'] < 1 else 'k'}", str(exc)) from None
    elif sol["m"] < 1:
        raise CaseError(f"{path}.m", f"restart length must be >= 1, got {sol['m']}")


SCHEMA = Table({
    "mesh": Table({
        "shape": List(Int(min=3), min_len=2, max_len=3, doc="nodes per dimension on [0, 1]^d, boundary included"),
    }, doc="vertex grid on the unit box (the random fields live on [0, 1]^d)"),
    "family": Table({
        "name": Choice(tuple(sorted(FAMILIES)), doc="parameterised PDE family (solvers.poisson.families)"),
        "samples": Int(min=1, doc="number of systems in the sequence"),
        "seed": Int(default=0, min=0, doc="base seed: sample i uses SeedSequence([seed, i])"),
        **{k: (Int(default=None, min=1, doc=_OPT_DOC) if k in _INT_OPTIONS
               else Float(default=None, doc=_OPT_DOC)) for k in _FAMILY_OPTIONS},
    }, validate=_check_family, doc="which systems; unset options take the family's defaults"),
    "sort": Table({
        "method": Choice(tuple(ORDERINGS), default="skr",
                         doc="skr (greedy nearest neighbour), pca_hilbert (cheap), none"),
    }).optional(),
    "solver": Table({
        "method": PetscType(default="gcrodr", family="ksp",
                            doc="'gcrodr', 'dcg' (deflated CG, SPD) or a PETSc KSP type (gmres, cg, ...)"),
        "m": Int(default=40, doc="GCRO-DR / GMRES restart length"),
        "k": Int(default=20, min=0, doc="GCRO-DR recycled dimension (< m) / deflated-CG space dimension"),
        "l": Int(default=20, min=1, doc="deflated CG: search directions kept for the Ritz update"),
        "recycle": Bool(default=True, doc="carry the recycled space from system to system"),
        "guard": Bool(default=False, doc="GCRO-DR: drop a recycled space after a solve it made dearer"),
        "update_every": Int(default=1, min=1, doc="GCRO-DR: update the recycled space after every n-th cycle"),
        "pc_type": PetscType(default="none", family="pc", doc="PETSc PC (right preconditioning; -pc_type overrides)"),
        "pc_reuse": Bool(default=False, doc="reuse the PC set up on the first system"),
        "pc_refresh": Int(default=0, min=0, doc="with pc_reuse: a fresh PC setup every n-th system (0: never)"),
        "warm_start": Bool(default=False, doc="initial guess = previous solution (default zero)"),
        "shared_matrix": Bool(default=False, doc="copy every A_i into one Mat: PETSc keeps pattern-keyed PC setup "
                              "data (GAMG: first system's prolongators; fails on Helmholtz)"),
        "rtol": Float(default=1e-8, positive=True, max=1.0, doc="||b - A x|| <= rtol ||b||"),
        "atol": Float(default=1e-50, positive=True, doc="absolute tolerance"),
        "max_it": Int(default=10000, min=1, doc="iterations per system"),
    }, validate=_check_solver, doc="Krylov solver for the sequence").optional(),
    "store": Table({
        "solutions": Bool(default=True, doc="store every solution u (else statistics only)"),
    }).optional(),
}, validate=_check_sample, estimate=_estimate)


def solve_family(family: Family, grid: Grid, spec: SolverSpec, n: int, ordering: str = "skr",
                 on_system: Callable[[SystemRecord, System], None] | None = None,
                 samples: list | None = None) -> tuple[SortResult, SequenceResult]:
    """Draw samples 0..n-1 on this rank's block (or take ``samples``), sort them by ``ordering``
    on their features (columns split over the ranks) and solve them in that order. Collective."""
    samples = samples if samples is not None else [family.sample(i, grid.ranges) for i in range(n)]
    X_loc = np.array([family.sort_features(s) for s in samples])
    srt = sort_systems(ordering, X_loc, grid.comm)
    systems = family_systems(family, grid, (samples[p] for p in srt.order))
    return srt, solve_sequence(systems, spec, on_system)


@runner("recycle", SCHEMA, doc="a sequence of systems from a PDE family, sorted, solved with GCRO-DR recycling")
def run_recycle(case, ctx: RunContext) -> Result:
    """Sort, solve the sequence, print per-system iterations/time/residual. Collective."""
    comm = ctx.comm
    fam_cfg, sol = case["family"], case["solver"]
    shape = case["mesh"]["shape"]
    n = fam_cfg["samples"]
    family = make_family(fam_cfg["name"], shape, fam_cfg["seed"], **_options(fam_cfg))
    grid = Grid(shape, comm=comm)
    spec = SolverSpec(**{k: sol[k] for k in ("method", "m", "k", "l", "recycle", "guard", "update_every", "pc_type",
                                              "pc_reuse", "pc_refresh", "warm_start", "shared_matrix", "rtol", "atol",
                                              "max_it")}, prefix="recycle_")
    rprint(f"recycle: {n} x {family.name} on {'x'.join(map(str, shape))} ({grid.size} unknowns), "
           f"{comm.size} rank(s), {spec.label()} (-recycle_ options win), sort = {case['sort']['method']}", comm=comm)
    rprint(f"{'pos':>4} {'sample':>6} {'step':>4} {'its':>6} {'matvecs':>7} {'time [s]':>9} "
           f"{'rel. residual':>13}  reason", comm=comm)
    keep = case["store"]["solutions"]
    blocks: dict[tuple[int, int], np.ndarray] = {}

    def show(rec: SystemRecord, system: System) -> None:
        rprint(f"{rec.position:4d} {rec.index:6d} {rec.step:4d} {rec.iterations:6d} {rec.matvecs:7d} "
               f"{rec.seconds:9.4f} {rec.residual:13.3e}  {rec.reason}", comm=comm)
        if keep:
            blocks[(rec.index, rec.step)] = grid.local_array(system.x)

    samples = [family.sample(i, grid.ranges) for i in range(n)]
    srt, res = solve_family(family, grid, spec, n, case["sort"]["method"], show, samples)
    out = Result()
    out.attrs.update({"systems": len(res.records), "iterations": res.iterations, "matvecs": res.matvecs,
                      "solve_time": res.seconds, "sort_time": srt.seconds, "failures": len(res.failures),
                      "max_residual": res.max_residual, "solver": res.solver, "family": family.name,
                      "family_options": family.options})
    out.say(f"solver (from the KSP object): {res.solver}")
    out.say(f"sort {srt.method}: {srt.seconds:.4f} s, path length {srt.path_length:.4g}")
    out.say(f"total: {res.iterations} iterations, {res.matvecs} matvecs, {res.seconds:.3f} s, "
            f"max rel. residual {res.max_residual:.2e}, {len(res.failures)} not converged")
    if res.failures:
        out.failure = (f"{len(res.failures)} system(s) did not converge (first: sample {res.failures[0].index}: "
                       f"{res.failures[0].reason}); raise solver.max_it or change pc_type (-recycle_pc_type)")
    _store(out, family, grid, samples, srt, res, blocks if keep else None)
    return out


def _store(out: Result, family: Family, grid: Grid, samples: list, srt: SortResult, res: SequenceResult,
           solutions: dict[tuple[int, int], np.ndarray] | None) -> None:
    """Per-sample arrays in sample order: inputs and solutions as this rank's blocks, scalars,
    solve order and statistics."""
    n, steps = len(samples), family.n_steps
    recs = sorted(res.records, key=lambda r: (r.index, r.step))
    out.arrays["order"] = np.asarray(srt.order, dtype=np.int64)
    for key in ("iterations", "matvecs", "seconds", "residual", "position"):
        out.arrays[f"stats/{key}"] = np.array([getattr(r, key) for r in recs]).reshape(n, steps)
    for name in samples[0].fields:
        out.blocks[f"inputs/{name}"] = Block.from_grid(grid, np.stack([s.fields[name] for s in samples]), (n,))
    for name in samples[0].scalars:
        out.arrays[f"scalars/{name}"] = np.array([s.scalars[name] for s in samples])
    if solutions is not None:
        u = np.stack([solutions[(r.index, r.step)] for r in recs])
        lead = (n, steps) if steps > 1 else (n,)
        out.blocks["u"] = Block.from_grid(grid, u.reshape(lead + u.shape[1:]), lead)
    if steps > 1:
        out.arrays["t"] = family.times()[1:]              # u[i, s] is the solution at t[s]
