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
from petsc4py import PETSc

from meshes import Grid

from .. import ksp as kspmod
from .. import output
from ..case import AnyTable, CaseError, Choice, Float, Int, List, Str, Table, mesh_section, solver_section
from ..parallel import rprint, world
from ..poisson.families import FAMILIES, Family, HeatFamily, make_family
from ..registry import RunContext, command, runner
from . import schema, writer

# Which sample arrays are stored as input fields (the others are constant and become
# simulation parameters); every family's output is the solution ``u``.
INPUTS = {"darcy_exp": ["kappa"], "darcy_fno": ["kappa"], "poisson": ["f", "g"],
          "helmholtz": ["f"], "heat": ["kappa"]}


def _check(sections: dict, path: str) -> None:
    fam, mesh, smp, par, out = (sections[k] for k in ("family", "mesh", "samples", "parallel", "output"))
    try:
        make_family(fam["name"], mesh["shape"], fam["seed"], **fam["options"]).sample(0)
    except (ValueError, TypeError) as exc:
        raise CaseError("family.options", str(exc)) from None
    fr = smp["split"]
    if abs(sum(fr) - 1.0) > 1e-9:
        raise CaseError("samples.split", f"fractions must sum to 1, got {sum(fr):g}")
    if split_sizes(smp["n"], fr)[0] < 1:
        raise CaseError("samples.split", f"the training split of {smp['n']} samples would be empty")
    if par["io"] == "mpio" and out["compression"] != "none":
        raise CaseError("output.compression", "needs io = 'shards' (parallel HDF5 writes with "
                        "compression filters must be collective)")
    if mesh["extent"] != [[0.0, 1.0]] * len(mesh["shape"]):
        raise CaseError("mesh.extent", "the families' random fields live on the unit box; leave extent out")


SCHEMA = Table({
    "family": Table({
        "name": Choice(tuple(sorted(FAMILIES)), doc="PDE family (solvers/poisson/families.py)"),
        "seed": Int(default=0, min=0, doc="base seed: sample i uses SeedSequence([seed, i])"),
        "options": AnyTable(doc="family options, e.g. alpha, tau, k_high, k_low, dt, n_steps"),
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
    "solver": solver_section(rtol=1e-8),
}, validate=_check)


def split_sizes(n: int, fractions: list[float]) -> tuple[int, int, int]:
    """(train, valid, test) counts: valid and test rounded, train takes the rest."""
    n_valid, n_test = round(n * fractions[1]), round(n * fractions[2])
    return n - n_valid - n_test, n_valid, n_test


def layout_for(family: Family, name: str, extent, compression: str) -> schema.Layout:
    """The Well layout of a family's dataset: its input fields and the solution ``u``."""
    heat = isinstance(family, HeatFamily)
    fields = [schema.FieldSpec(f, "input") for f in INPUTS[family.name]]
    fields.append(schema.FieldSpec("u", "output", time_varying=heat))
    scalars = {"sample_index": "int64", "seed": "int64", "iterations": "int64", "residual": "float64"}
    if family.name == "helmholtz":
        scalars["k"] = "float64"
    params = {k: float(v) for k, v in family.options.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return schema.Layout(dataset_name=name, shape=family.shape, extent=extent, fields=fields,
                         scalars=scalars, parameters=params,
                         times=family.times() if heat else np.zeros(1), compression=compression)


def solve_order(family: Family, n: int) -> list[int]:
    """The order in which samples are solved (index order)."""
    return list(range(n))


class SampleSolver:
    """Solves samples of ``family`` on a group's communicator with a PETSc KSP. Collective on ``comm``.

    Each solve starts from a zero guess, so a sample's solution does not depend on which group
    or in which order it was solved; the true relative residual ||b - A u|| / ||b|| is recorded.
    """

    def __init__(self, family: Family, comm: MPI.Comm, solver: dict[str, Any]):
        self.family = family
        self.grid = Grid(family.shape, comm=comm)
        self.solver = solver

    def _residual(self, A: PETSc.Mat, u: PETSc.Vec, b: PETSc.Vec) -> float:
        r = b.duplicate()
        A.mult(u, r)
        r.aypx(-1.0, b)
        nb = b.norm()
        out = r.norm() / nb if nb > 0 else r.norm()
        r.destroy()
        return float(out)

    def __call__(self, index: int) -> writer.SampleResult | None:
        fam, grid = self.family, self.grid
        s = fam.sample(index)
        op, b = fam.system(grid, s)
        ksp = kspmod.make_ksp(op.A, **self.solver)
        u = grid.create_vec()
        info = kspmod.solve(ksp, b, u)
        its, res = info.iterations, self._residual(op.A, u, b)
        states = [grid.gather(u)]
        if isinstance(fam, HeatFamily):
            states.insert(0, s.fields["u0"])
            for _ in range(fam.n_steps - 1):
                b.destroy()
                b = fam.step_rhs(op, s, u)
                info = kspmod.solve(ksp, b, u)
                its += info.iterations
                res = max(res, self._residual(op.A, u, b))
                states.append(grid.gather(u))
        for obj in (ksp, u, b):
            obj.destroy()
        op.destroy()
        if grid.comm.rank != 0:
            return None
        fields = {name: s.fields[name] for name in INPUTS[fam.name]}
        fields["u"] = np.stack(states) if isinstance(fam, HeatFamily) else states[0]
        scalars = {"sample_index": index, "seed": s.seed, "iterations": its, "residual": res, **s.scalars}
        return writer.SampleResult(index, fields, scalars)


def build_plan(case, root: Path) -> tuple[writer.Plan, Family]:
    fam_cfg, smp, par = case["family"], case["samples"], case["parallel"]
    family = make_family(fam_cfg["name"], case["mesh"]["shape"], fam_cfg["seed"], **fam_cfg["options"])
    layout = layout_for(family, case.name, case["mesh"]["extent"], case["output"]["compression"])
    data = {k: case[k] for k in ("family", "mesh", "samples", "solver", "petsc")}
    data["output"] = {"compression": case["output"]["compression"]}
    data["parallel"] = {"io": par["io"]}
    data["case"] = {"name": case.name}
    plan = writer.Plan(root=root, layout=layout, split_sizes=split_sizes(smp["n"], smp["split"]),
                       order=solve_order(family, smp["n"]), case_data=data, case_text=case.text,
                       io=par["io"], checkpoint=par["checkpoint"], ranks_per_solve=par["ranks_per_solve"],
                       metadata={"family": family.name, "family_options": dict(family.options),
                                 "seed": fam_cfg["seed"], "solver": dict(case["solver"])})
    return plan, family


@runner("dataset", SCHEMA, doc="operator-learning dataset in The Well's HDF5 layout (resumable, two-level parallel)")
def run_dataset(case, ctx: RunContext) -> dict:
    """Generate (or resume, or recognise as complete) the dataset of a case. Collective."""
    comm = ctx.comm
    root = Path(ctx.output or case["output"]["path"] or str(Path("out") / case.name))
    plan, family = build_plan(case, root)
    rprint(f"dataset {case.name}: {plan.n} {family.name} samples on {'x'.join(map(str, family.shape))} "
           f"(train/valid/test {'/'.join(map(str, plan.split_sizes))}), {comm.size} rank(s) in groups of "
           f"{plan.ranks_per_solve}, io = {plan.io}", comm=comm)
    rep = writer.generate(plan, lambda group: SampleSolver(family, group, case["solver"]), comm,
                          quiet=ctx.quiet, versions=output.versions(comm))
    summary = {"path": str(root), "status": rep.status, "samples": plan.n, "resumed_from": rep.resumed_from,
               "solved": rep.solved, "wall_time": rep.wall_time, "solve_time": rep.solve_time,
               "write_time": rep.write_time, "merge_time": rep.merge_time, "iterations": rep.iterations}
    if rep.status == "already complete":
        rprint(f"{root} is already complete (same case); nothing to do", comm=comm)
        return summary
    rate = rep.solved / rep.wall_time if rep.wall_time > 0 else float("nan")
    rprint(f"wrote {root}: {rep.solved} samples solved now"
           f"{f' (resumed with {rep.resumed_from} done)' if rep.resumed_from else ''} in {rep.wall_time:.2f} s "
           f"({rate:.2f} samples/s); solve {rep.solve_time:.2f} s, write {rep.write_time:.2f} s, "
           f"merge+finalize {rep.merge_time:.2f} s; {rep.iterations} Krylov iterations", comm=comm)
    return summary


# -- CLI: python -m solvers dataset {check,export} -------------------------------------------
def _args(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="dataset_command", required=True)
    c = sub.add_parser("check", help="verify schema, shapes, dtypes, completeness, NaN/inf, constant fields")
    c.add_argument("path", help="dataset directory (or one .hdf5 file)")
    e = sub.add_parser("export", help="write PDEBench or neuraloperator files")
    e.add_argument("path", help="dataset directory")
    e.add_argument("--format", required=True, choices=("pdebench", "neuraloperator"))
    e.add_argument("-o", "--output", default="", help="output directory (default PATH/export/FORMAT)")


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
        files = export(args.path, args.format, args.output or None)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}")
        return 2
    for f in files:
        print(f"wrote {f}")
    return 0


@command("dataset", _args, help="check or export an operator-learning dataset")
def dataset_cmd(args) -> int:
    """Runs on rank 0 (serial file work); every rank returns rank 0's exit code."""
    comm = world()
    code = None
    if comm.rank == 0:
        t0 = time.perf_counter()
        code = _check_cmd(args) if args.dataset_command == "check" else _export_cmd(args)
        print(f"({time.perf_counter() - t0:.2f} s)")
    return comm.bcast(code, root=0)
