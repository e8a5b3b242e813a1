"""Convergence rates: one base class, each discretisation a few-line subclass (scikit-fem's
``test_convergence`` pattern). The study classes are the ones ``validate`` uses."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from solvers.poisson.validation import PoissonMMS
from solvers.schrodinger.validation import FiniteDifferenceWell
from solvers.validation import RefinementStudy


class RateTest(ABC):
    """Subclasses give ``study()``; every norm's slope and finest pair must be within tol."""

    norms: tuple[str, ...] = ("L2",)

    @abstractmethod
    def study(self) -> RefinementStudy:
        """The refinement study to check."""

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


class TestFiniteDifferenceWell(RateTest):
    norms = ("max rel",)

    def study(self):
        return FiniteDifferenceWell()
