"""What a run solves, fixed before any training: the box, the number of states, the references,
and the checks applied to the trained states (node counts, a posteriori bounds).

A potential with walls (``Potential``) is solved as given. A potential on the whole line
(``LinePotential``) first has its bound states counted (``truncation.bound_state_count``);
``states = "all"`` asks for every one of them, and the box is chosen from the decay length of the
highest requested state (``truncation.truncate``) unless the user gives it. The harmonic oscillator
(``Harmonic``) has infinitely many bound states (an integer count is required); its box comes from
the Gaussian tail of the highest requested state (``truncation.truncate_harmonic``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..parallel import UserError
from . import bounds, exact, truncation
from .potentials import Harmonic, LinePotential, Potential, SmoothBox


MAX_HARMONIC_STATES = 30             # the box reference meets box.tolerance = 1e-11 up to here (not at 50)


class StateNotFound(UserError):
    """A trained state has the wrong node count (Sturm: it is not the state asked for); exit code 3."""

    exit_code = 3


class StateNotConverged(UserError):
    """A trained state with the right node count whose a posteriori bounds do not certify its
    energy to the case's tolerance (the training did not converge); exit code 3."""

    exit_code = 3


@dataclass
class Plan:
    """``box``: the potential solved (walls at its ends); ``n``: states 0..n-1; for a line potential
    ``line``, ``n_bound`` (its number of bound states), ``trunc`` (how the box was chosen)."""

    box: Potential | SmoothBox
    n: int
    line: LinePotential | Harmonic | None = None
    n_bound: int | None = None
    trunc: truncation.Truncation | truncation.GaussianTruncation | None = None

    @property
    def beta_top(self) -> float:
        """A lower bound of box level n (bounds.py): V∞ when states 0..n-1 are all the bound states;
        for the harmonic oscillator its line level (n + ½)ω (min-max: a box level is ≥ the line's)."""
        if isinstance(self.line, Harmonic):
            return self.line.level(self.n)
        return self.line.threshold if self.line is not None and self.n == self.n_bound else np.inf

    def line_levels(self) -> np.ndarray | None:
        """The levels on the whole line (the finite well's transcendental roots), None with walls."""
        if self.line is None:
            return None
        if isinstance(self.line, Harmonic):
            return exact.harmonic_levels(self.n, self.line.omega)
        if self.line.name == "finite_well":
            V0, a = self.line.values[0], self.line.edges[1]
            return exact.finite_well_levels(V0, a, self.line.c, self.n)
        return truncation.line_levels(self.line, self.n)

    def line_states(self, x: np.ndarray) -> np.ndarray | None:
        """The states on the whole line at x where known in closed form (Hermite functions), else None."""
        if isinstance(self.line, Harmonic):
            return exact.harmonic_states(np.asarray(x) - self.line.center, self.n, self.line.omega, self.line.c)
        return None

    def describe(self) -> list[str]:
        if self.line is None:
            return []
        if isinstance(self.line, Harmonic):
            return [f"harmonic oscillator: V = {self.line.omega:g}² (x - {self.line.center:g})²/(4·{self.line.c:g}), "
                    f"E_n = (n + ½)·{self.line.omega:g}, infinitely many bound states; solving states 0..{self.n - 1}",
                    self.trunc.describe()]
        return [f"{self.line.name}: {self.n_bound} bound state(s) below V∞ = {self.line.threshold:g} "
                f"(Sturm count at the threshold); solving states 0..{self.n - 1}", self.trunc.describe()]


def count_states(pot: Potential | LinePotential, states: int | str) -> tuple[int, int | None]:
    """(n, n_bound): the requested number of states; raises ValueError (message for ``states.n``)
    when the request is impossible."""
    if isinstance(pot, Harmonic):
        if states == "all":
            raise ValueError("the harmonic oscillator has infinitely many bound states: give an integer "
                             "(states 0..n-1 are trained)")
        if states > MAX_HARMONIC_STATES:
            raise ValueError(f"{states} states requested; at most {MAX_HARMONIC_STATES} for the harmonic oscillator "
                             "(each is a sequential training; the box reference resolves ~n oscillations)")
        return states, None
    if isinstance(pot, LinePotential):
        n_bound = truncation.bound_state_count(pot)
        if n_bound == 0:
            raise ValueError(f"the potential has no bound state (V >= V∞ = {pot.threshold:g} everywhere)")
        if states == "all":
            return n_bound, n_bound
        if states > n_bound:
            raise ValueError(f"{states} states requested but the potential has only {n_bound} bound state(s)")
        return states, n_bound
    if states == "all":
        raise ValueError("'all' needs a potential on the whole line (finite_well without Lbox, or pieces); "
                         "a box with walls has infinitely many states")
    return states, None


def make_plan(pot: Potential | LinePotential, states: int | str, tolerance: float,
              margin: float | None = None) -> Plan:
    """The plan for ``pot`` (module docstring); ``margin`` is the user's box margin beyond the outermost edges."""
    n, n_bound = count_states(pot, states)
    if isinstance(pot, Harmonic):
        trunc = truncation.truncate_harmonic(pot, n, tolerance, margin)
        return Plan(trunc.box, n, pot, None, trunc)
    if not isinstance(pot, LinePotential):
        return Plan(pot, n)
    trunc = truncation.truncate(pot, n, tolerance, margin)
    return Plan(trunc.box, n, pot, n_bound, trunc)


def _states_text(a: int, b: int) -> str:
    """'states a..b-1 were' / 'state a was' / 'no state was'."""
    return ("no state was" if b <= a else f"state {a} was" if b == a + 1 else f"states {a}..{b - 1} were")


def check_nodes(states: list, n: int, E_exact: np.ndarray) -> None:
    """Raise ``StateNotFound`` unless states 0..n-1 are all there, state k with k nodes (collective:
    every rank holds the same states)."""
    for s in states:
        if s.nodes != s.n:
            raise StateNotFound(f"state {s.n} not found: the PINN converged to a function with {s.nodes} node(s) "
                                f"(state {s.n} has {s.n}), E = {s.E:.10g} (exact E_{s.n} = {E_exact[s.n]:.10g}); "
                                f"{_states_text(0, s.n)} found, {_states_text(s.n + 1, n)} not trained",
                                collective=True)
    if len(states) < n:
        raise StateNotFound(f"only {len(states)} of {n} states were trained", collective=True)


def unconverged(states: list, lo: np.ndarray, hi: np.ndarray, tolerance: float) -> list[str]:
    """The states whose certified relative error ``max(E - E_lower, E_upper - E)/|E|`` (from the
    a posteriori bounds, :func:`energy_bounds`) exceeds ``tolerance``, each as a sentence naming it."""
    out = []
    for s, a, b in zip(states, lo, hi):
        cert = max(s.E - a, b - s.E) / abs(s.E)
        if not cert <= tolerance:
            out.append(f"state {s.n} (E = {s.E:.10g}, bounds [{a:.10g}, {b:.10g}], residual {s.residual:.3g}): "
                       f"certified relative error {cert:.3g} > pinn.bound_tolerance = {tolerance:g}")
    return out


def check_converged(states: list, lo: np.ndarray, hi: np.ndarray, tolerance: float, require: bool,
                    where: str = "") -> list[str]:
    """Raise ``StateNotConverged`` (exit 3) when a state's bounds do not certify its energy to
    ``tolerance`` and ``require`` is set; otherwise return the warnings (empty when all converged)."""
    bad = unconverged(states, lo, hi, tolerance)
    if bad and require:
        raise StateNotConverged(f"{where}the PINN did not converge: " + "; ".join(bad)
                                + " (train longer, or set pinn.require_convergence = false to keep the result)",
                                collective=True)
    return [f"{where}did NOT converge (kept: pinn.require_convergence = false): {b}" for b in bad]


def energy_bounds(plan: Plan, states: list) -> tuple[np.ndarray, np.ndarray]:
    """Kato–Temple ∩ Weinstein bounds of every trained state from its (ρ, ε) (bounds.py)."""
    rho = np.array([s.E_rayleigh for s in states])
    eps = np.array([s.residual for s in states])
    return bounds.state_bounds(rho, eps, plan.beta_top if len(states) == plan.n else np.inf)
