"""Bound states of a potential on the whole line and the box that truncates it (no box to guess).

Count (Sturm oscillation theorem on the line): the number of bound states (E < V∞ = min(V(-∞), V(+∞)))
equals the number of zeros of the threshold solution, E = V∞, that decays (or stays bounded) at -∞:
start from the left with (ψ, ψ') = (1, κ_L), κ_L = √((V(-∞) - V∞)/c), count its zeros through the
interior and one more if it crosses zero in the right exterior, i.e. if ψ (ψ' + κ_R ψ) < 0 at the last
edge (the exterior solution is A e^{κ_R s} + B e^{-κ_R s}, or linear when κ_R = 0).

Truncation: walls a distance d beyond the outermost edges shift a level by ~e^{-2κd}, κ = √((V∞ - E)/c)
the decay rate of the state; the slowest decaying requested state sets d = ln(1/τ)/(2κ), widened
until the exact shift |E_box - E_line| ≤ τ (E_line - min V) (checked with the transfer matrix).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .exact import _propagate, _zeros_in, box_levels
from .potentials import LinePotential, Potential


def bound_state_count(line: LinePotential) -> int:
    """Number of bound states of ``line`` (module docstring)."""
    E, c = line.threshold, line.c
    psi, dpsi, zeros = 1.0, math.sqrt(max(line.values[0] - E, 0.0) / c), 0
    for (l, r, v) in zip(line.edges[:-1], line.edges[1:], line.values[1:-1]):
        k2 = (E - v) / c
        zeros += _zeros_in(k2, r - l, psi, dpsi)
        psi, dpsi = _propagate(k2, r - l, psi, dpsi)
        s = math.hypot(psi, dpsi)
        psi, dpsi = psi / s, dpsi / s
    kappa_r = math.sqrt(max(line.values[-1] - E, 0.0) / c)
    return zeros + int(psi * (dpsi + kappa_r * psi) < 0)


def decay_rate(line: LinePotential, E: float) -> float:
    """κ = √((V∞ - E)/c) of a bound state at energy E."""
    return math.sqrt((line.threshold - E) / line.c)


def line_levels(line: LinePotential, n: int) -> np.ndarray:
    """The n lowest bound levels on the whole line to rounding: box levels with every margin
    d ≥ 20/κ_{n-1} (truncation shift ~e^{-40})."""
    count = bound_state_count(line)
    if n > count:
        raise ValueError(f"{line.name} has {count} bound state(s), {n} requested")
    scale = math.sqrt(line.c / (max(line.values) - min(line.values)))      # a length of the problem
    d = max(line.width, scale)
    while True:
        E = box_levels(line.margin_box(d), n)
        kappa = decay_rate(line, E[-1]) if E[-1] < line.threshold else 0.0
        if kappa * d >= 20:
            return E
        d = max(2 * d, 22 / kappa if kappa > 0 else 2 * d)


@dataclass
class Truncation:
    """The chosen box and what it costs: ``shift`` = max relative |E_box - E_line| of the requested
    states (relative to E_line - min V), ``decay_length`` = 1/κ of the highest requested state."""

    box: Potential
    margin: float
    decay_length: float
    shift: float
    tolerance: float
    chosen: bool                # False: the user's box

    def describe(self) -> str:
        how = "from the decay length" if self.chosen else "given (Lbox)"
        return (f"box [{self.box.lo:.6g}, {self.box.hi:.6g}] {how}: margin {self.margin:.4g} = "
                f"{self.margin / self.decay_length:.2f} decay lengths (1/κ = {self.decay_length:.4g} of the "
                f"highest requested state); truncation shift of the levels {self.shift:.1e} "
                f"(relative; tolerance {self.tolerance:.0e})")


def truncate(line: LinePotential, n: int, tolerance: float, margin: float | None = None) -> Truncation:
    """Box for the n lowest bound states of ``line``: margin ln(1/τ)/(2κ_{n-1}), widened by 1.25
    until the exact shift is ≤ τ; or the user's ``margin`` (the shift is then only reported)."""
    E_line = line_levels(line, n)
    depth = E_line - min(line.values)
    kappa = decay_rate(line, E_line[-1])
    d = margin if margin is not None else math.log(1.0 / tolerance) / (2 * kappa)
    while True:
        box = line.margin_box(d)
        shift = float(np.max(np.abs(box_levels(box, n) - E_line) / depth))
        if margin is not None or shift <= tolerance:
            return Truncation(box, d, 1.0 / kappa, shift, tolerance, margin is None)
        d *= 1.25
