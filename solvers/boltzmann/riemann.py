"""Exact solution of the Riemann problem for the Euler equations of a polytropic gas (Toro, *Riemann
Solvers and Numerical Methods for Fluid Dynamics*, 3rd ed., ch. 4): the star pressure from
``f_L(p) + f_R(p) + u_R - u_L = 0`` (eq. 4.5), the star velocity (eq. 4.9), then sampling of the
self-similar solution at ``(x - x0)/t`` (section 4.5). The kinetic mixture's Euler limit is monatomic
with ``γ = (d + 2)/d``, ``d`` the velocity dimension.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq


def _f(p: float, rho: float, pk: float, c: float, g: float) -> float:
    """Toro eq. (4.6)-(4.7): shock (p > p_K) or rarefaction branch."""
    if p > pk:
        A, B = 2 / ((g + 1) * rho), (g - 1) / (g + 1) * pk
        return (p - pk) * math.sqrt(A / (p + B))
    return 2 * c / (g - 1) * ((p / pk) ** ((g - 1) / (2 * g)) - 1)


def star_state(left: tuple, right: tuple, g: float) -> tuple[float, float]:
    """``(p*, u*)`` for primitive states ``(ρ, u, p)``."""
    (rl, ul, pl), (rr, ur, pr) = left, right
    cl, cr = math.sqrt(g * pl / rl), math.sqrt(g * pr / rr)
    if 2 * (cl + cr) / (g - 1) <= ur - ul:
        raise ValueError("the Riemann data generate vacuum")
    F = lambda p: _f(p, rl, pl, cl, g) + _f(p, rr, pr, cr, g) + ur - ul      # noqa: E731
    hi = max(pl, pr)
    while F(hi) < 0:
        hi *= 2
    p = brentq(F, 1e-14 * min(pl, pr), hi, xtol=1e-15, rtol=1e-15)
    u = 0.5 * (ul + ur) + 0.5 * (_f(p, rr, pr, cr, g) - _f(p, rl, pl, cl, g))
    return p, u


def sample(left: tuple, right: tuple, g: float, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ρ, u, p)`` at the similarity coordinates ``ξ = (x - x0)/t`` (Toro section 4.5)."""
    ps, us = star_state(left, right, g)
    out = np.empty((3, len(xi)))
    for k, s in enumerate(np.asarray(xi, float)):
        side, sgn = (left, 1.0) if s <= us else (right, -1.0)
        rho, u, p = side
        c = math.sqrt(g * p / rho)
        if ps > p:                                             # shock on this side
            rs = rho * (ps / p + (g - 1) / (g + 1)) / ((g - 1) / (g + 1) * ps / p + 1)
            S = u - sgn * c * math.sqrt((g + 1) / (2 * g) * ps / p + (g - 1) / (2 * g))
            out[:, k] = (rho, u, p) if sgn * (s - S) < 0 else (rs, us, ps)
            continue
        rs = rho * (ps / p) ** (1 / g)                         # rarefaction on this side
        cs = c * (ps / p) ** ((g - 1) / (2 * g))
        head, tail = u - sgn * c, us - sgn * cs
        if sgn * (s - head) < 0:
            out[:, k] = (rho, u, p)
        elif sgn * (s - tail) > 0:
            out[:, k] = (rs, us, ps)
        else:                                                  # inside the fan
            uf = 2 / (g + 1) * (sgn * c + (g - 1) / 2 * u + s)
            cf = sgn * (uf - s)
            rf = rho * (cf / c) ** (2 / (g - 1))
            out[:, k] = (rf, uf, p * (cf / c) ** (2 * g / (g - 1)))
    return out[0], out[1], out[2]
