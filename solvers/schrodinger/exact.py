"""Exact references: infinite-well levels, the finite-well transcendental equations, and the
transfer-matrix shooting solution for any piecewise-constant V in a box (validation.md).

Inside a region of constant V the solution of -c ψ'' + (V - E) ψ = 0 is a combination of
cos/sin (E > V), cosh/sinh (E < V) or 1/x (E = V), so ψ(x; E) is known in closed form; the
eigenvalues are the roots of ψ(x_b; E) = 0 (brentq, ~1e-15), bracketed by the Sturm count
(the number of zeros of ψ(·; E) in (x_a, x_b) equals the number of eigenvalues below E).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from .potentials import Potential


def infinite_well_levels(n: int, L: float = 1.0, c: float = 1.0) -> np.ndarray:
    """E_k = c (k π / L)², k = 1..n."""
    k = np.arange(1, n + 1)
    return c * (k * np.pi / L) ** 2


def infinite_well_states(x: np.ndarray, n: int, L: float = 1.0, x0: float = 0.0) -> np.ndarray:
    """ψ_k = √(2/L) sin(k π (x - x0) / L), k = 1..n; shape (n, len(x))."""
    k = np.arange(1, n + 1)[:, None]
    return np.sqrt(2.0 / L) * np.sin(k * np.pi * (np.asarray(x)[None, :] - x0) / L)


def finite_well_levels(V0: float, a: float, c: float = 1.0, n: int | None = None) -> np.ndarray:
    """Bound states of the finite well on the whole line (V = 0 for |x| < a, V0 outside).

    z = k a, z0 = a √(V0/c): even states z tan z = √(z0² - z²), odd states -z cot z = √(z0² - z²),
    one root in each [mπ/2, (m+1)π/2) below z0; E = c z²/a². Solved in the pole-free forms
    z sin z - w cos z = 0 and z cos z + w sin z = 0 with brentq.
    """
    z0 = a * math.sqrt(V0 / c)
    roots = []
    m = 0
    while m * math.pi / 2 < z0 and (n is None or len(roots) < n):
        lo, hi = m * math.pi / 2, min((m + 1) * math.pi / 2, z0)
        if m % 2 == 0:
            f = lambda z: z * math.sin(z) - math.sqrt(max(z0 * z0 - z * z, 0.0)) * math.cos(z)  # noqa: E731
        else:
            f = lambda z: z * math.cos(z) + math.sqrt(max(z0 * z0 - z * z, 0.0)) * math.sin(z)  # noqa: E731
        if f(lo) * f(hi) < 0:
            roots.append(brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))
        m += 1
    return c * (np.asarray(roots) / a) ** 2


def _propagate(k2: float, w: float, psi: float, dpsi: float) -> tuple[float, float]:
    """(ψ, ψ') after a distance w of ψ'' = -k2 ψ."""
    if k2 > 0:
        k = math.sqrt(k2)
        cs, sn = math.cos(k * w), math.sin(k * w)
        return psi * cs + dpsi * sn / k, -psi * k * sn + dpsi * cs
    if k2 < 0:
        q = math.sqrt(-k2)
        ch, sh = math.cosh(q * w), math.sinh(q * w)
        return psi * ch + dpsi * sh / q, psi * q * sh + dpsi * ch
    return psi + dpsi * w, dpsi


def _zeros_in(k2: float, w: float, psi: float, dpsi: float) -> int:
    """Zeros of ψ in (0, w] for a region starting with (ψ, ψ') (the start point is excluded)."""
    if k2 > 0:
        k = math.sqrt(k2)
        phase = math.atan2(psi * k, dpsi) % math.pi      # ψ ∝ sin(k s + phase), phase in [0, π)
        return int(math.floor((phase + k * w) / math.pi))
    end, _ = _propagate(k2, w, psi, dpsi)                 # at most one zero: a sign change
    start_negative = psi < 0 if psi != 0.0 else dpsi < 0
    return int(end == 0.0 or (end < 0) != start_negative)


class TransferMatrix:
    """Closed-form ψ(x; E) for a piecewise-constant ``Potential``, with ψ(x_a) = 0, ψ'(x_a) = 1."""

    def __init__(self, pot: Potential):
        self.pot = pot.merged()

    def shoot(self, E: float) -> tuple[float, int]:
        """ψ(x_b; E) (scaled by a positive factor) and the number of zeros of ψ in (x_a, x_b)."""
        psi, dpsi, zeros = 0.0, 1.0, 0
        for (l, rr, v) in self.pot.regions:
            k2 = (E - v) / self.pot.c
            zeros += _zeros_in(k2, rr - l, psi, dpsi)
            psi, dpsi = _propagate(k2, rr - l, psi, dpsi)
            s = math.hypot(psi, dpsi)
            psi, dpsi = psi / s, dpsi / s
        if psi == 0.0:
            zeros -= 1                                     # the zero at the wall is not interior
        return psi, zeros

    def count_below(self, E: float) -> int:
        """Number of eigenvalues < E (Sturm oscillation theorem)."""
        return self.shoot(E)[1]

    def level(self, n: int) -> float:
        """E_n (n = 0 for the ground state): bisect on the Sturm count, then brentq on ψ(x_b; E)."""
        c, L = self.pot.c, self.pot.length
        lo = min(self.pot.values)
        hi = max(max(self.pot.values), lo) + c * ((n + 1) * math.pi / L) ** 2 + 1.0
        while self.count_below(hi) <= n:
            hi = lo + 2 * (hi - lo)
        while True:                                         # shrink until [lo, hi] holds E_n only
            cl, ch = self.count_below(lo), self.count_below(hi)
            if cl == n and ch == n + 1:
                break
            mid = 0.5 * (lo + hi)
            if self.count_below(mid) <= n:
                lo = mid
            else:
                hi = mid
        f = lambda E: self.shoot(E)[0]  # noqa: E731
        return brentq(f, lo, hi, xtol=1e-14 * max(1.0, abs(hi)), rtol=4 * np.finfo(float).eps, maxiter=500)

    def levels(self, n: int) -> np.ndarray:
        return np.array([self.level(k) for k in range(n)])

    def state(self, E: float, x: np.ndarray) -> np.ndarray:
        """ψ(x; E) normalised to ∫ψ² = 1 (Gauss-Legendre per region) with ψ'(x_a) > 0."""
        x = np.asarray(x, float)
        out = np.zeros_like(x)
        norm2 = 0.0
        gx, gw = np.polynomial.legendre.leggauss(80)
        psi, dpsi = 0.0, 1.0
        for (l, r, v) in self.pot.regions:
            k2 = (E - v) / self.pot.c
            mask = (x >= l) & (x <= r)
            out[mask] = [_propagate(k2, s, psi, dpsi)[0] for s in x[mask] - l]
            s = 0.5 * (r - l) * (gx + 1)
            vals = np.array([_propagate(k2, si, psi, dpsi)[0] for si in s])
            norm2 += 0.5 * (r - l) * float(np.sum(gw * vals ** 2))
            psi, dpsi = _propagate(k2, r - l, psi, dpsi)
        return out / math.sqrt(norm2)


def box_levels(pot: Potential, n: int) -> np.ndarray:
    """The first n eigenvalues of -c ψ'' + V ψ = E ψ in the box, ψ = 0 at both walls."""
    return TransferMatrix(pot).levels(n)


def box_states(pot: Potential, n: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E_k, ψ_k(x)) for k < n, each ψ normalised with ψ'(x_a) > 0."""
    tm = TransferMatrix(pot)
    E = tm.levels(n)
    return E, np.stack([tm.state(e, x) for e in E])
