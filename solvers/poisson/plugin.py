"""Registers the ``poisson`` case kind and the ``poisson`` validation."""
from __future__ import annotations

from pathlib import Path

from meshes import Grid

from .. import output
from ..case import Choice, Float, Int, Table, mesh_section, solver_section
from ..parallel import rprint
from ..registry import RunContext, runner
from .mms import SOLUTIONS
from .solver import errors, solve_poisson
from . import validation  # noqa: F401  (registers the checks)

SCHEMA = Table({
    "mesh": mesh_section(),
    "problem": Table({
        "solution": Choice(("sines", "exp", "none"), default="sines",
                           doc="manufactured solution (validation.md) or 'none' for constant data"),
        "k": Int(default=1, min=1, doc="wavenumber of the 'sines' solution"),
        "source": Float(default=1.0, doc="constant f when solution = 'none'"),
        "boundary": Float(default=0.0, doc="constant g when solution = 'none'"),
    }).optional(),
    "solver": solver_section(rtol=1e-10),
})


@runner("poisson", SCHEMA, doc="-Δu = f with Dirichlet data on a 2D/3D DMDA grid (5/7-point)")
def run_poisson(case, ctx: RunContext) -> dict:
    """Solve one Poisson problem; print the error against the exact solution; write HDF5."""
    comm = ctx.comm
    mesh, prob, sol = case["mesh"], case["problem"], case["solver"]
    grid = Grid(mesh["shape"], mesh["extent"], comm=comm)
    if prob["solution"] == "none":
        exact, f, g = None, prob["source"], prob["boundary"]
    else:
        exact, f = SOLUTIONS[prob["solution"]](prob["k"])
        g = exact
    res = solve_poisson(grid, f, g, **sol)
    info = res.info
    summary = {"unknowns": grid.size, "iterations": info.iterations, "reason": info.reason,
               "residual_norm": info.residual_norm, "assembly_time": res.assembly_time,
               "setup_time": info.setup_time, "solve_time": info.solve_time,
               "ksp_type": res.ksp.getType(), "pc_type": res.ksp.getPC().getType()}
    if exact is not None:
        summary["error_l2"], summary["error_max"] = errors(grid, res.u, exact)
    rprint(f"poisson {grid.dim}D {'x'.join(map(str, grid.shape))} ({grid.size} unknowns) on "
           f"{comm.size} rank(s): {summary['ksp_type']}+{summary['pc_type']} {info.reason} in "
           f"{info.iterations} iterations, setup {info.setup_time:.3f} s, solve {info.solve_time:.3f} s",
           comm=comm)
    if exact is not None:
        rprint(f"error vs exact solution ({prob['solution']}): L2 = {summary['error_l2']:.3e}, "
               f"max = {summary['error_max']:.3e}", comm=comm)
    path = ctx.output or case["output"]["path"] or str(Path("out") / f"{case.name}.h5")
    u = grid.gather(res.u)
    datasets = {"u": u}
    for d, name in enumerate("xyz"[:grid.dim]):
        datasets[name] = grid.coordinates(d)
    if exact is not None:
        ex = grid.gather(grid.vec_from_function(exact))
        datasets["exact"] = ex
    datasets["residual_history"] = info.history
    attrs = {"case_text": case.text, "kind": case.kind, "versions": output.versions(comm), **summary}
    output.write(path, datasets, attrs, comm=comm)
    rprint(f"wrote {path}", comm=comm)
    summary["output"] = path
    return summary
