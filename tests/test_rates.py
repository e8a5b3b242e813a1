"""Convergence rates: one base class, each discretisation a few-line subclass (scikit-fem's
``test_convergence`` pattern). The study classes are the ones ``validate`` uses."""
from __future__ import annotations

import numpy as np

from solvers.poisson.validation import PoissonMMS
from solvers.schrodinger import exact, finite_difference
from solvers.schrodinger.potentials import finite_well
from solvers.validation import RefinementStudy


class RateTest:
    """Subclasses give ``study()``; every norm's slope and finest pair must be within tol."""

    norms: tuple[str, ...] = ("L2",)

    def study(self) -> RefinementStudy:
        raise NotImplementedError

    def test_rate(self):
        s = self.study()
        orders = s.orders()
        for norm in self.norms:
            pairwise, slope = orders[norm]
            assert s.passed(pairwise, slope), f"{norm}: slope {slope:.3f}, pairwise {np.round(pairwise, 3)}"


class TestPoisson2DSines(RateTest):
    norms = ("L2", "max")

    def study(self):
        return PoissonMMS(2, "sines", (17, 33, 65))


class TestPoisson3DSines(RateTest):
    def study(self):
        return PoissonMMS(3, "sines", (9, 17, 33))


class TestPoisson2DExp(RateTest):
    norms = ("L2", "max")

    def study(self):
        return PoissonMMS(2, "exp", (17, 33, 65))


class FiniteDifferenceWell(RefinementStudy):
    """3-point FD levels of the finite well V0 = 50, a = 0.5 in a box of half-width 2, with the
    jumps midway between nodes; error = max relative error of the 3 lowest levels."""

    levels = (100, 200, 400)

    def __init__(self):
        self.pot = finite_well(50.0, 0.5, 2.0)
        self.E = exact.box_levels(self.pot, 3)

    def errors(self, level):
        n = finite_difference.midway_size(self.pot, level)
        return self.pot.length / (n + 1), {"L2": float(np.max(np.abs(finite_difference.solve(self.pot, 3, n).E
                                                                    / self.E - 1)))}


class TestFiniteDifferenceWell(RateTest):
    def study(self):
        return FiniteDifferenceWell()
