"""Registers the ``dataset`` case kind and the ``dataset {check,export}`` CLI command.

A dataset case names a PDE family of :mod:`solvers.poisson.families`, a grid, a number of
samples with split fractions, a seed and solver settings; ``python -m solvers run CASE`` (under
``mpirun -n N``) writes ``<path>/data/{train,valid,test}/<name>.hdf5`` (The Well's layout,
:mod:`.schema`), ``<path>/<name>.yaml`` and ``<path>/stats.yaml`` through the resumable writer
(:mod:`.writer`).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from meshes import Grid

from ..case import (AnyTable, Bool, CaseError, Choice, Float, Int, List, Number, Str, Table, check_derived,
                    grid_estimate, mesh_section, solver_section)
from ..io.hdf5 import versions
from ..krylov.sequence import SequenceSolver, SolverSpec
from ..krylov.skr_sort import ORDERINGS, sort_systems
from ..ksp import KSPSpec, SolverDiverged, effective_tolerances
from ..parallel import rprint
from ..poisson.families import FAMILIES, Family, make_family
from ..poisson.systems import family_systems
from ..registry import RunContext, command, runner
from ..result import Block, Result
from . import schema, writer

def _arrays(sample) -> dict[str, Any]:
    return {**sample.fields, **sample.scalars}


def _check(sections: dict, path: str) -> None:
    fam, mesh, smp, par, out = (sections[k] for k in ("family", "mesh", "samples", "parallel", "output"))
    check_derived("family.options", "sample 0 of these options", lambda: _arrays(
        make_family(fam["name"], mesh["shape"], fam["seed"], **fam["options"]).sample(0)))
    check_storage(smp, par, out)
    sol = sections["solver"]
    if sol["ksp_type"] == "gcrodr" and not 0 <= sol["gcrodr_k"] < sol["gcrodr_m"]:
        raise CaseError("solver.gcrodr_k", f"must satisfy 0 <= gcrodr_k < gcrodr_m = {sol['gcrodr_m']}, "
                        f"got {sol['gcrodr_k']}")
    if mesh["extent"] != [[0.0, 1.0]] * len(mesh["shape"]):
        raise CaseError("mesh.extent", "the families' random fields live on the unit box; leave extent out")


def check_storage(smp: dict, par: dict, out: dict) -> None:
    """The ``[samples]``, ``[parallel]``, ``[output]`` checks of every dataset kind (CaseError, key path)."""
    fr = smp["split"]
    if abs(sum(fr) - 1.0) > 1e-9:
        raise CaseError("samples.split", f"fractions must sum to 1, got {sum(fr):g}")
    if split_sizes(smp["n"], fr)[0] < 1:
        raise CaseError("samples.split", f"the training split of {smp['n']} samples would be empty")
    if par["io"] == "mpio" and out["compression"] != "none":
        raise CaseError("output.compression", "needs io = 'shards' (parallel HDF5 writes with "
                        "compression filters must be collective)")


def _estimate(sections: dict, ranks: int = 1) -> float:
    """Memory of a dataset job of ``ranks`` ranks (bytes): ``ranks // ranks_per_solve`` groups, each
    holding its solve (``grid_estimate``, split over the group's ranks) and a heat sample's
    n_steps + 1 states gathered to its leader (float64, list and stacked copy); every rank's GRF
    coefficients (``modes``^d float64, ~4 live arrays); rank 0's sort features (n samples x nodes,
    float64)."""
    shape = sections["mesh"]["shape"]
    o = {**FAMILIES[sections["family"]["name"]].OPTIONS, **sections["family"]["options"]}
    nodes = float(np.prod(shape, dtype=float))
    with np.errstate(over="ignore"):
        coefficients = np.float64(o["modes"]) ** len(shape) if o.get("modes") is not None else nodes
    states = float(o.get("n_steps", 1)) + 1
    groups = max(1, ranks // sections["parallel"]["ranks_per_solve"])
    return (groups * (grid_estimate(sections, ranks) + 16 * nodes * states) + ranks * 32 * coefficients
            + 8 * nodes * sections["samples"]["n"])


SCHEMA = Table({
    "family": Table({
        "name": Choice(tuple(sorted(FAMILIES)), doc="PDE family (solvers/poisson/families.py)"),
        "seed": Int(default=0, min=0, doc="base seed: sample i uses SeedSequence([seed, i])"),
        "options": AnyTable(values=Number(), doc="family options, e.g. alpha, tau, k_high, k_low, dt, n_steps"),
    }, doc="what to sample"),
    "mesh": mesh_section(),
    "samples": Table({
        "n": Int(min=1, doc="number of samples"),
        "split": List(Float(min=0.0, max=1.0), min_len=3, max_len=3, default=[0.8, 0.1, 0.1],
                      doc="train, valid, test fractions (sum 1); splits are consecutive index ranges"),
    }, doc="how many samples and how they are split"),
    "parallel": Table({
        "ranks_per_solve": Int(default=1, min=1, doc="ranks per group; groups solve different samples"),
        "io": Choice(("shards", "mpio"), default="shards",
                     doc="per-group shards merged at the end, or parallel HDF5 into the final files"),
        "checkpoint": Int(default=8, min=1, doc="samples per progress record (shard / write round)"),
    }).optional(),
    "output": Table({
        "path": Str(default="", doc="dataset directory (default out/<name>); -o overrides"),
        "compression": Choice(("none", "gzip", "lzf"), default="none", doc="HDF5 filter (io = 'shards')"),
    }).optional(),
    "solver": Table({
        **solver_section(rtol=1e-8).keys,
        "ordering": Choice(tuple(ORDERINGS), default="skr",
                           doc="solve order (solvers/krylov/skr_sort.py); groups take contiguous chunks of it"),
        "recycle": Bool(default=True, doc="ksp_type = 'gcrodr': keep the recycled space from sample to sample"),
        "gcrodr_m": Int(default=40, min=1, doc="GCRO-DR restart length m"),
        "gcrodr_k": Int(default=20, min=0, doc="GCRO-DR recycled dimension k (< m)"),
        "shared_matrix": Bool(default=True, doc="one Mat per group, only values change: the PC's pattern-keyed data "
                              "(GAMG's aggregates and prolongators, a factorisation's ordering) come from the first "
                              "sample of the solve order (the same bits for any np and on resume); false: a fresh "
                              "PC per sample"),
        "pc_reuse": Bool(default=False, doc="keep the preconditioner of the group's first sample"),
        "pc_refresh": Int(default=0, min=0, doc="with pc_reuse: a fresh PC setup every n-th sample (0: never)"),
    }, doc="Krylov solver (options prefix dataset_): any PETSc KSP type, 'gcrodr' (recycles its space "
           "along the group's chunk) or 'dcg'; one KSP per group, a fresh PC per sample unless "
           "shared_matrix / pc_reuse").optional(),
}, validate=_check, estimate=_estimate)


def split_sizes(n: int, fractions: list[float]) -> tuple[int, int, int]:
    """(train, valid, test) counts: valid and test rounded, train takes the rest."""
    n_valid, n_test = round(n * fractions[1]), round(n * fractions[2])
    return n - n_valid - n_test, n_valid, n_test


def layout_for(family: Family, name: str, extent, compression: str) -> schema.Layout:
    """The Well layout of a family's dataset, from the family's declarations: its input fields
    (``family.inputs``), its scalar parameters as constant channels (``family.scalars``, e.g.
    Helmholtz's k) and its outputs (``family.outputs``: the solution ``u``)."""
    heat = family.n_steps > 1
    fields = [schema.FieldSpec(f, "input") for f in family.inputs]
    fields += [schema.FieldSpec(k, "input", dim_varying=False) for k in family.scalars]   # constant channels
    fields += [schema.FieldSpec(u, "output", time_varying=True) for u in family.outputs]
    scalars = {"sample_index": "int64", "seed": "int64", "iterations": "int64", "residual": "float64"}
    scalars.update({k: "float64" for k in family.scalars})
    params = {k: float(v) for k, v in family.options.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return schema.Layout(dataset_name=name, shape=family.shape, extent=extent, fields=fields,
                         scalars=scalars, parameters=params,
                         times=family.times() if heat else schema.STEADY_TIMES, compression=compression,
                         steady=not heat)


def solve_order(family: Family, n: int, method: str, comm: MPI.Comm) -> list[int]:
    """The solve order of samples 0..n-1 by ``method`` on their sort features. Collective.

    Every rank draws each sample on its own block of a grid over ``comm`` only and the sort
    sums the blocks' contributions (:mod:`solvers.krylov.skr_sort`): no rank holds a sample of
    global size. The order depends on the samples only, up to rounding in those sums (a near-tie
    between two distances could break differently on another number of ranks; every order is a
    valid one).
    """
    grid = Grid(family.shape, comm=comm)
    X = np.array([family.sort_features(family.sample(i, grid.ranges)) for i in range(n)]).reshape(n, -1)
    return [int(i) for i in sort_systems(method, X, comm).order]


class SampleSolver:
    """Solves samples of ``family`` on a group's communicator along the group's chunk of the solve
    order, with one :class:`~solvers.krylov.sequence.SequenceSolver` (options prefix ``dataset_``:
    ``-dataset_ksp_type``, ``-dataset_pc_type``; plain ``-ksp_type`` works too). Collective on ``comm``.

    One KSP serves the chunk. With ``shared_matrix`` (the default) each sample's values are
    copied into one Mat per group and the PC is first set up on the ``reference`` sample (the
    first of the solve order, the same for every group): PETSc keeps the pattern-keyed setup data
    from it (GAMG: aggregates and prolongators; LU/ICC: the ordering and symbolic factorisation)
    and recomputes the rest per sample (GAMG: the Galerkin coarse operators), so with a zero
    initial guess a solution depends only on the reference and its own sample: the same bits for
    any number of groups, any chunking and on resume. ``shared_matrix = false`` sets the PC up
    from scratch per sample. ``pc_reuse``/``pc_refresh`` keep the whole PC and GCRO-DR recycles
    its space along the chunk: faster for some families, and each solution still meets
    ||b - A u||_2 <= rtol ||b||_2, but its bits depend on the chunk. The true relative
    residual of every solve is stored; a solve whose recurrence reported convergence but whose
    true residual misses rtol continues from its solution (up to 3 times: ``verify``).
    ``timings`` accumulates this rank's seconds per stage (draw, assembly, pc_setup, solve). Fields are
    returned as this rank's blocks: with ``io = "mpio"`` every rank writes its own block (no gather).
    """

    def __init__(self, family: Family, comm: MPI.Comm, solver: dict[str, Any], reference: int | None = None):
        self.family = family
        self.reference = reference if solver["shared_matrix"] else None
        self.grid = Grid(family.shape, comm=comm)
        self.sequence = SequenceSolver(SolverSpec(
            method=solver["ksp_type"], m=solver["gcrodr_m"], k=solver["gcrodr_k"], recycle=solver["recycle"],
            pc_type=solver["pc_type"], pc_reuse=solver["pc_reuse"], pc_refresh=solver["pc_refresh"],
            shared_matrix=solver["shared_matrix"], rtol=solver["rtol"], atol=solver["atol"],
            max_it=solver["max_it"], prefix="dataset_", options={"ksp_gmres_restart": 30}, verify=3))
        self.timings = {k: 0.0 for k in ("draw", "assembly", "pc_setup", "solve")}
        self.leader = comm.rank == 0

    def close(self) -> None:
        self.sequence.close()

    def __call__(self, index: int) -> writer.SampleResult | None:
        fam, grid, t = self.family, self.grid, self.timings
        if self.reference is not None:                # set the PC up on the reference sample first
            systems = family_systems(fam, grid, [fam.sample(self.reference, grid.ranges)], t)
            t["pc_setup"] += self.sequence.prime(next(systems).A)
            systems.close()
            self.reference = None
        t0 = time.perf_counter()
        s = fam.sample(index, grid.ranges)
        t["draw"] += time.perf_counter() - t0
        its, res = 0, 0.0
        states = [s.fields["u0"]] if fam.n_steps > 1 else []
        for system in family_systems(fam, grid, [s], t):
            rec = self.sequence.solve(system)
            if not rec.converged:              # the writer adds the sample index
                raise SolverDiverged(f"{rec.reason} after {rec.iterations} iterations (true relative residual "
                                     f"{rec.residual:.2e}); raise solver.max_it or change the solver")
            its, res = its + rec.iterations, max(res, rec.residual)
            t["pc_setup"] += rec.setup_seconds
            t["solve"] += rec.seconds - rec.setup_seconds
            states.append(grid.local_array(system.x))
        u = np.stack(states) if fam.n_steps > 1 else schema.steady_states(states[0])
        fields: dict[str, Any] = {name: Block.from_grid(grid, s.fields[name]) for name in fam.inputs}
        fields[fam.outputs[0]] = Block.from_grid(grid, u, leading=u.shape[:1])
        fields.update({name: np.asarray(s.scalars[name]) for name in fam.scalars})   # constant channels
        scalars = {"sample_index": index, "seed": s.seed, "iterations": its, "residual": res, **s.scalars}
        return writer.SampleResult(index, fields, scalars)


def cost_per_sample(producer: SampleSolver | None, rep: writer.Report, comm: MPI.Comm) -> dict[str, float]:
    """Mean seconds per sample of one group by stage: draw, assembly, pc_setup, solve, write
    (gather to the group leader + HDF5), overhead (the rest of the wall time: sort, start of the
    writer, merge, imbalance). Collective."""
    stages = ("draw", "assembly", "pc_setup", "solve")
    leader = producer is not None and producer.leader
    mine = [producer.timings[k] if leader else 0.0 for k in stages]
    leaders = comm.allreduce(int(leader))
    totals = comm.allreduce(np.array(mine), op=MPI.SUM)
    solved = max(rep.solved, 1)
    per = {k: float(v) / solved for k, v in zip(stages, totals)}
    per["write"] = rep.write_time * leaders / solved
    per["overhead"] = max(rep.wall_time * leaders / solved - sum(per.values()), 0.0)
    return per


def solver_settings(solver: dict[str, Any]) -> dict[str, Any]:
    """The ``[solver]`` table with the tolerances the solves use (PETSc options such as
    ``-dataset_ksp_rtol`` or ``-ksp_rtol`` after ``--`` override the case): what the metadata
    stores and ``dataset check`` verifies the residuals against."""
    spec = KSPSpec(rtol=solver["rtol"], atol=solver["atol"], max_it=solver["max_it"])
    return {**solver, **effective_tolerances(spec, "dataset_")}


def build_plan(case, root: Path) -> tuple[writer.Plan, Family]:
    fam_cfg, smp, par = case["family"], case["samples"], case["parallel"]
    family = make_family(fam_cfg["name"], case["mesh"]["shape"], fam_cfg["seed"], **fam_cfg["options"])
    layout = layout_for(family, case.name, case["mesh"]["extent"], case["output"]["compression"])
    data = {k: case[k] for k in ("family", "mesh", "samples", "solver", "petsc")}
    data["output"] = {"compression": case["output"]["compression"]}
    data["parallel"] = {"io": par["io"]}
    data["case"] = {"name": case.name}
    plan = writer.Plan(root=root, layout=layout, split_sizes=split_sizes(smp["n"], smp["split"]),
                       order=list(range(smp["n"])), case_data=data, case_text=case.text,
                       io=par["io"], checkpoint=par["checkpoint"], ranks_per_solve=par["ranks_per_solve"],
                       metadata={"family": family.name, "family_options": dict(family.options),
                                 "seed": fam_cfg["seed"], "solver": solver_settings(case["solver"])})
    return plan, family


@runner("dataset", SCHEMA, doc="operator-learning dataset in The Well's HDF5 layout (resumable, two-level parallel)",
        output="dir")
def run_dataset(case, ctx: RunContext) -> Result:
    """Generate (or resume, or recognise as complete) the dataset of a case. Collective."""
    comm = ctx.comm
    root = ctx.output
    plan, family = build_plan(case, root)
    t0 = time.perf_counter()
    plan.order = solve_order(family, plan.n, case["solver"]["ordering"], comm)
    sort_time = time.perf_counter() - t0
    rprint(f"dataset {case.name}: {plan.n} {family.name} samples on {'x'.join(map(str, family.shape))} "
           f"(train/valid/test {'/'.join(map(str, plan.split_sizes))}), {comm.size} rank(s) in groups of "
           f"{plan.ranks_per_solve}, io = {plan.io}", comm=comm)
    producers: list[SampleSolver] = []

    def produce(group: MPI.Comm) -> SampleSolver:
        producers.append(SampleSolver(family, group, case["solver"], reference=plan.order[0]))
        return producers[-1]
    rep = writer.generate(plan, produce, ctx.comms,
                          quiet=ctx.quiet, versions=versions(comm))
    rep.wall_time += sort_time
    summary = {"path": str(root), "status": rep.status, "samples": plan.n, "resumed_from": rep.resumed_from,
               "solved": rep.solved, "wall_time": rep.wall_time, "solve_time": rep.solve_time,
               "write_time": rep.write_time, "merge_time": rep.merge_time, "iterations": rep.iterations,
               "sort_time": sort_time}
    res = Result(attrs=summary)
    if rep.status == "already complete":
        res.say(f"{root} is already complete (same case); nothing to do")
        res.wrote = False
        return res
    rate = rep.solved / rep.wall_time if rep.wall_time > 0 else float("nan")
    res.say(f"{rep.solved} samples solved now"
            f"{f' (resumed with {rep.resumed_from} done)' if rep.resumed_from else ''} in {rep.wall_time:.2f} s "
            f"({rate:.2f} samples/s); solve {rep.solve_time:.2f} s, write {rep.write_time:.2f} s, "
            f"merge+finalize {rep.merge_time:.2f} s, {case['solver']['ordering']} sort {sort_time:.2f} s; "
            f"{rep.iterations} Krylov iterations")
    summary["cost_per_sample"] = cost_per_sample(producers[0] if producers else None, rep, comm)
    costs = ", ".join(f"{k} {1e3 * v:.2f}" for k, v in summary["cost_per_sample"].items())
    res.say(f"per sample (one group, ms): {costs}")
    return res


# -- CLI: python -m solvers dataset {check,export} -------------------------------------------
def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dataset_command", required=True)
    c = sub.add_parser("check", help="verify schema, shapes, dtypes, completeness, NaN/inf, constant fields")
    c.add_argument("path", help="dataset directory (or one .hdf5 file)")
    e = sub.add_parser("export", help="write PDEBench or neuraloperator files")
    e.add_argument("path", help="dataset directory")
    e.add_argument("--format", required=True, choices=("pdebench", "neuraloperator"))
    e.add_argument("-o", "--output", default="", help="output directory (default PATH/export/FORMAT)")
    e.add_argument("--name", default="", help="file-name prefix (default: the dataset name; neuraloperator's "
                   "DarcyDataset reads --name darcy)")


def _check_cmd(args) -> int:
    from .check import check
    rep = check(args.path)
    print("\n".join(rep.summary))
    for p in rep.problems:
        print(f"FAIL {p}")
    print(f"{args.path}: {rep.n_samples} samples, {'OK' if rep.ok else f'{len(rep.problems)} problem(s)'}")
    return 0 if rep.ok else 1


def _export_cmd(args) -> int:
    from .export import export
    try:
        files = export(args.path, args.format, args.output or None, args.name or None)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    for f in files:
        print(f"wrote {f}")
    return 0


@command("dataset", _args, help="check or export an operator-learning dataset")
def dataset_cmd(args, comm: MPI.Comm) -> int:
    """Runs on rank 0 (serial file work); every rank returns rank 0's exit code. Collective."""
    code = None
    if comm.rank == 0:
        t0 = time.perf_counter()
        code = _check_cmd(args) if args.dataset_command == "check" else _export_cmd(args)
        print(f"({time.perf_counter() - t0:.2f} s)")
    return comm.bcast(code, root=0)
