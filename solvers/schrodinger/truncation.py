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

from scipy.optimize import brentq

from .exact import _propagate, _zeros_in, box_levels
from .potentials import Harmonic, LinePotential, Potential


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


@dataclass
class GaussianTruncation:
    """The box of a harmonic oscillator: walls at x0 ± ``half_width``; ``turning_point`` = x_t of the
    highest requested state (distance from x0), ``wkb`` = ∫_{x_t}^{X} κ (the tail's e-folds at the
    walls), ``shift`` as in ``Truncation``."""

    box: object
    half_width: float
    turning_point: float
    wkb: float
    shift: float
    tolerance: float
    chosen: bool

    def describe(self) -> str:
        how = "from the Gaussian tail" if self.chosen else "given (margin)"
        return (f"box [{self.box.lo:.6g}, {self.box.hi:.6g}] {how}: half-width {self.half_width:.4g} = classical "
                f"turning point {self.turning_point:.4g} of the highest requested state + "
                f"{self.half_width - self.turning_point:.4g}, WKB tail exponent ∫κ = {self.wkb:.3g} at the walls; "
                f"truncation shift of the levels {self.shift:.1e} (relative; tolerance {self.tolerance:.0e})")


def wkb_exponent(line: Harmonic, E: float, X: float) -> float:
    """∫_{x_t}^{X} √((V - E)/c) dx for V = k (x - x0)², k = ω²/(4c), x_t = √(E/k) (closed form)."""
    xt = line.turning_point(E)
    if X <= xt:
        return 0.0
    root = math.sqrt(X * X - xt * xt)
    return line.omega / (4 * line.c) * (X * root - xt * xt * math.log((X + root) / xt))


def truncate_harmonic(line: Harmonic, n: int, tolerance: float, margin: float | None = None) -> GaussianTruncation:
    """Box for the n lowest states of ``line``: half-width X with ``wkb_exponent`` = ln(1/τ)/2 for state
    n-1, its excess over x_t widened by 1.25 until the shift is ≤ τ; or the user's ``margin`` (the half-
    width; the shift is then only reported)."""
    E_line = np.array([line.level(k) for k in range(n)])
    xt = line.turning_point(E_line[-1])
    target = 0.5 * math.log(1.0 / tolerance)
    X = margin if margin is not None else brentq(lambda X: wkb_exponent(line, E_line[-1], X) - target,
                                                 xt, xt + 2 * target / math.sqrt(line.omega / (4 * line.c)) + xt)
    while True:
        box = line.margin_box(X)
        shift = float(np.max(np.abs(box_levels(box, n) - E_line) / E_line))
        if margin is not None or shift <= tolerance:
            return GaussianTruncation(box, X, xt, wkb_exponent(line, E_line[-1], X), shift, tolerance, margin is None)
        X = xt + 1.25 * (X - xt)
