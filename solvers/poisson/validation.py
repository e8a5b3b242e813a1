"""``validate poisson``: MMS refinement studies in 2D and 3D; the observed order must be 2 ± 0.1."""
from __future__ import annotations

from pathlib import Path

from meshes import Grid

from ..parallel import rprint
from ..registry import CheckResult, check
from ..validation import RefinementStudy, observed_orders, plot_convergence
from .mms import SOLUTIONS
from .solver import errors, solve_poisson

STUDIES = {  # (dim, solution): node counts per dimension
    (2, "sines"): (17, 33, 65, 129),
    (2, "exp"): (17, 33, 65, 129),
    (3, "sines"): (9, 17, 33),
    (3, "exp"): (17, 33, 65),
}
TOL = 0.1


class PoissonMMS(RefinementStudy):
    """Solve -Δu = f with the manufactured ``solution`` on (n,)*dim grids (CG + GAMG, rtol 1e-12);
    errors in the discrete L2 and max norms."""

    def __init__(self, dim: int, solution: str, levels, comm=None):
        self.dim, self.levels, self.comm = dim, tuple(levels), comm
        self.exact, self.f = SOLUTIONS[solution](1)
        self.tol = TOL

    def errors(self, level: int) -> tuple[float, dict[str, float]]:
        grid = Grid((level,) * self.dim, comm=self.comm)
        res = solve_poisson(grid, self.f, self.exact, ksp_type="cg", pc_type="gamg", rtol=1e-12)
        e2, emax = errors(grid, res.u, self.exact)
        return grid.h[0], {"L2": e2, "max": emax}


@check("poisson", doc="MMS order of the 5/7-point Laplacian in 2D and 3D (target 2 ± 0.1)")
def validate_poisson(comm, plots: str | None = None) -> list[CheckResult]:
    results = []
    for (dim, sol), sizes in STUDIES.items():
        study = PoissonMMS(dim, sol, sizes, comm)
        hs, errs = study.run()
        l2, mx = errs["L2"], errs["max"]
        rprint(f"\npoisson {dim}D, u = {sol}", comm=comm)
        rprint(f"{'n':>5} {'h':>10} {'L2 error':>11} {'order':>6} {'max error':>11} {'order':>6}", comm=comm)
        p2, s2 = observed_orders(hs, l2)
        pm, sm = observed_orders(hs, mx)
        for i, n in enumerate(sizes):
            o2 = f"{p2[i - 1]:6.2f}" if i else " " * 6
            om = f"{pm[i - 1]:6.2f}" if i else " " * 6
            rprint(f"{n:>5} {hs[i]:10.4e} {l2[i]:11.3e} {o2} {mx[i]:11.3e} {om}", comm=comm)
        for norm, slope, last in (("L2", s2, p2[-1]), ("max", sm, pm[-1])):
            ok = study.passed(p2 if norm == "L2" else pm, slope)
            results.append(CheckResult(f"poisson-{dim}d-{sol}", f"order ({norm})", slope, "2 ± 0.1", ok,
                                       f"finest pair {last:.3f}"))
        if plots and comm.rank == 0:
            p = plot_convergence(Path(plots) / f"poisson_{dim}d_{sol}.png", f"Poisson {dim}D, u = {sol}",
                                 {"L2": (hs, l2), "max": (hs, mx)})
            rprint(f"plot: {p}", comm=comm)
    return results
