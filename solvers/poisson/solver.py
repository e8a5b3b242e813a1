"""Solve -Δu = f, u = g on ∂Ω on a DMDA grid with any PETSc KSP/PC (default CG + GAMG)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from petsc4py import PETSc

from meshes import Grid

from .. import ksp as kspmod
from .operator import assemble


@dataclass
class PoissonResult:
    grid: Grid
    u: PETSc.Vec
    info: kspmod.SolveInfo
    assembly_time: float
    ksp: PETSc.KSP


def solve_poisson(grid: Grid, f: Callable[..., np.ndarray] | float, g: Callable[..., np.ndarray] | float = 0.0,
                  **ksp_options) -> PoissonResult:
    """Assemble the 5/7-point Laplacian, build the rhs from ``f`` and ``g`` (callables of the
    coordinates, or constants) and solve. ``ksp_options`` are :class:`solvers.ksp.KSPSpec` fields; the
    options prefix is ``poisson_`` (``-poisson_ksp_type``; plain ``-ksp_type`` works too).
    Collective."""
    import time

    t0 = time.perf_counter()
    op = assemble(grid)
    fv = grid.vec_from_function(f) if callable(f) else f
    gv = grid.vec_from_function(g) if callable(g) else g
    b = op.rhs(fv, gv)
    t1 = time.perf_counter()
    ksp = kspmod.make_ksp(op.A, kspmod.KSPSpec(**ksp_options, history=True), "poisson_")
    u = grid.create_vec()
    info = kspmod.solve(ksp, b, u)
    return PoissonResult(grid, u, info, t1 - t0, ksp)


def errors(grid: Grid, u: PETSc.Vec, exact: Callable[..., np.ndarray]) -> tuple[float, float]:
    """(discrete L2, max) norms of u - exact over all nodes. Collective."""
    e = grid.vec_from_function(exact)
    e.axpy(-1.0, u)
    return grid.l2_norm(e), e.norm(PETSc.NormType.NORM_INFINITY)
