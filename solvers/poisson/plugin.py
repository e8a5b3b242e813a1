"""Registers the ``poisson`` case kind and the ``poisson`` validation."""
from __future__ import annotations

import numpy as np

from meshes import Grid

from ..case import Table, mesh_section, solver_section
from ..registry import RunContext, runner
from ..result import Block, Result
from .mms import problem_data, problem_section
from .solver import errors, solve_poisson
from . import validation  # noqa: F401  (registers the checks)

SCHEMA = Table({
    "mesh": mesh_section(),
    "problem": problem_section(),
    "solver": solver_section(rtol=1e-10),
})


@runner("poisson", SCHEMA, doc="-Δu = f with Dirichlet data on a 2D/3D DMDA grid (5/7-point)")
def run_poisson(case, ctx: RunContext) -> Result:
    """Solve one Poisson problem; report the error against the exact solution. Collective."""
    comm = ctx.comm
    mesh, prob, sol = case["mesh"], case["problem"], case["solver"]
    grid = Grid(mesh["shape"], mesh["extent"], comm=comm)
    exact, f, g = problem_data(prob)
    res = solve_poisson(grid, f, g, **sol)
    info = res.info
    out = Result()
    out.attrs.update({"unknowns": grid.size, "iterations": info.iterations, "reason": info.reason,
                      "residual_norm": info.residual_norm, "assembly_time": res.assembly_time,
                      "setup_time": info.setup_time, "solve_time": info.solve_time,
                      "ksp_type": res.ksp.getType(), "pc_type": res.ksp.getPC().getType()})
    out.say(f"poisson {grid.dim}D {'x'.join(map(str, grid.shape))} ({grid.size} unknowns) on "
            f"{comm.size} rank(s): {out.attrs['ksp_type']}+{out.attrs['pc_type']} {info.reason} in "
            f"{info.iterations} iterations, setup {info.setup_time:.3f} s, solve {info.solve_time:.3f} s")
    out.blocks["u"] = Block.from_grid(grid, grid.local_array(res.u))
    for d, name in enumerate("xyz"[:grid.dim]):
        out.arrays[name] = grid.coordinates(d)
    out.arrays["residual_history"] = info.history
    if exact is not None:
        out.attrs["error_l2"], out.attrs["error_max"] = errors(grid, res.u, exact)
        out.say(f"error vs exact solution ({prob['solution']}): L2 = {out.attrs['error_l2']:.3e}, "
                f"max = {out.attrs['error_max']:.3e}")
        out.blocks["exact"] = Block.from_grid(grid, np.broadcast_to(exact(*grid.local_coordinates()), grid.local_shape))
    return out
