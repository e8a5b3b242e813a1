"""Registers the ``recycle`` case kind: sort a family's systems and solve them with recycling."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from meshes import Grid

from .. import output
from ..case import Bool, CaseError, Choice, Float, Int, List, Str, Table
from ..parallel import UserError, rprint
from ..poisson.families import FAMILIES, HeatFamily, make_family
from ..registry import RunContext, runner
from .gcrodr import GCRODROptionError, check_parameters
from .sequence import SolverSpec, solve_sequence
from .skr_sort import ORDERINGS

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
        "method": Str(default="gcrodr", doc="'gcrodr', 'dcg' (deflated CG, SPD) or a PETSc KSP type (gmres, cg, ...)"),
        "m": Int(default=40, doc="GCRO-DR / GMRES restart length"),
        "k": Int(default=20, min=0, doc="GCRO-DR recycled dimension (< m) / deflated-CG space dimension"),
        "l": Int(default=20, min=1, doc="deflated CG: search directions kept for the Ritz update"),
        "recycle": Bool(default=True, doc="carry the recycled space from system to system"),
        "guard": Bool(default=False, doc="GCRO-DR: drop a recycled space after a solve it made dearer"),
        "update_every": Int(default=1, min=1, doc="GCRO-DR: update the recycled space after every n-th cycle"),
        "pc_type": Str(default="none", doc="PETSc PC (right preconditioning; -pc_type overrides)"),
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
})


@runner("recycle", SCHEMA, doc="a sequence of systems from a PDE family, sorted, solved with GCRO-DR recycling")
def run_recycle(case, ctx: RunContext) -> dict:
    """Sort, solve the sequence, print per-system iterations/time/residual, write HDF5."""
    comm = ctx.comm
    fam_cfg, sol = case["family"], case["solver"]
    shape = case["mesh"]["shape"]
    family = make_family(fam_cfg["name"], shape, fam_cfg["seed"], **_options(fam_cfg))
    grid = Grid(shape, comm=comm)
    spec = SolverSpec(method=sol["method"], m=sol["m"], k=sol["k"], l=sol["l"], recycle=sol["recycle"], guard=sol["guard"],
                      update_every=sol["update_every"], pc_type=sol["pc_type"], pc_reuse=sol["pc_reuse"],
                      pc_refresh=sol["pc_refresh"], warm_start=sol["warm_start"], shared_matrix=sol["shared_matrix"],
                      rtol=sol["rtol"], atol=sol["atol"], max_it=sol["max_it"])
    rprint(f"recycle: {fam_cfg['samples']} x {family.name} on {'x'.join(map(str, shape))} "
           f"({grid.size} unknowns), {comm.size} rank(s), {spec.label()}, sort = {case['sort']['method']}",
           comm=comm)
    rprint(f"{'pos':>4} {'sample':>6} {'step':>4} {'its':>6} {'matvecs':>7} {'time [s]':>9} "
           f"{'rel. residual':>13}  reason", comm=comm)

    def show(rec) -> None:
        rprint(f"{rec.position:4d} {rec.index:6d} {rec.step:4d} {rec.iterations:6d} {rec.matvecs:7d} "
               f"{rec.seconds:9.4f} {rec.residual:13.3e}  {rec.reason}", comm=comm)

    try:
        res = solve_sequence(family, grid, spec, n=fam_cfg["samples"], ordering=case["sort"]["method"],
                             keep_solutions=case["store"]["solutions"], on_system=show)
    except ValueError as exc:        # e.g. an unknown -ksp_type given through the case
        raise UserError(str(exc)) from None
    srt = res.sort
    rprint(f"sort {srt.method}: {srt.seconds:.4f} s, path length {srt.path_length:.4g}", comm=comm)
    rprint(f"total: {res.iterations} iterations, {res.matvecs} matvecs, {res.seconds:.3f} s, "
           f"max rel. residual {res.max_residual:.2e}, {len(res.failures)} not converged", comm=comm)
    summary = {"systems": len(res.records), "iterations": res.iterations, "matvecs": res.matvecs,
               "solve_time": res.seconds, "sort_time": srt.seconds, "failures": len(res.failures),
               "max_residual": res.max_residual, "solver": spec.label()}
    path = ctx.output or case["output"]["path"] or str(Path("out") / f"{case.name}.h5")
    datasets = _datasets(family, res, fam_cfg["samples"], case["store"]["solutions"], comm)
    attrs = {"case_text": case.text, "kind": case.kind, "family": family.name,
             "family_options": family.options, "versions": output.versions(comm), **summary}
    output.write(path, datasets, attrs, comm=comm)
    rprint(f"wrote {path}", comm=comm)
    summary["output"] = path
    if res.failures:
        raise UserError(f"{len(res.failures)} system(s) did not converge (first: sample "
                        f"{res.failures[0].index}: {res.failures[0].reason}); raise solver.max_it or change pc_type")
    return summary


def _datasets(family, res, n: int, with_solutions: bool, comm) -> dict:
    """Per-sample arrays in sample order: inputs, scalars, solutions, solve statistics."""
    steps = family.n_steps if isinstance(family, HeatFamily) else 1
    recs = sorted(res.records, key=lambda r: (r.index, r.step))
    ds = {
        "order": np.asarray(res.sort.order, dtype=np.int64),
        "stats/iterations": np.array([r.iterations for r in recs]).reshape(n, steps),
        "stats/matvecs": np.array([r.matvecs for r in recs]).reshape(n, steps),
        "stats/seconds": np.array([r.seconds for r in recs]).reshape(n, steps),
        "stats/residual": np.array([r.residual for r in recs]).reshape(n, steps),
        "stats/position": np.array([r.position for r in recs]).reshape(n, steps),
    }
    if comm.rank == 0:
        samples = [family.sample(i) for i in range(n)]
        for name in samples[0].fields:
            ds[f"inputs/{name}"] = np.stack([s.fields[name] for s in samples])
        for name in samples[0].scalars:
            ds[f"scalars/{name}"] = np.array([s.scalars[name] for s in samples])
        if with_solutions:
            u = np.stack([res.solutions[(r.index, r.step)] for r in recs])
            ds["u"] = u.reshape((n, steps) + u.shape[1:]) if steps > 1 else u
        if steps > 1:
            ds["t"] = family.times()[1:]              # u[i, s] is the solution at t[s]
    return ds
