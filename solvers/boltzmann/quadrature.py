"""Independent deterministic quadrature of the cross operator ``Q_ij(f_i, M_j)`` in 2D, for a
Maxwellian partner ``M_j`` heavier than species ``i`` — a reference for the checks, used by no solver.

With ``q = v - v_*``, ``μ_i = m_i/(m_i+m_j)`` and the kernel ``B = b |q|^γ 1_{|q| <= R}`` (papers.md §1;
the fast spectral operator's truncated VHS kernel)::

    Q_ij(v) = ∫_{R²} ∫_{S¹} B [f_i(v') M_j(v_*') - f_i(v) M_j(v_*)] dσ dv_*,
    v' = v - μ_j (q - |q| σ),   v_*' = v - μ_j q - μ_i |q| σ.

Gain: for each σ substitute ``p = μ_j q + μ_i |q| σ`` (so ``v_*' = v - p``), ``dq = dp / (μ_j (μ_j + μ_i σ·q̂))``
(invertible for ``μ_j > μ_i``); ``|q| = |p| ρ̂``, ``ρ̂`` the positive root of
``(μ_j² - μ_i²) ρ̂² + 2 μ_i (p̂·σ) ρ̂ - 1 = 0``. ``p`` is taken in polar coordinates about 0, where ``|q|^γ``
(whose cusp at ``q = 0`` makes the hard-sphere light-heavy operator hard to resolve) is smooth; the
Gaussian ``M_j(v - p)`` confines ``|p|`` and its angle to ``K`` thermal widths around ``v - u_j``
(Gauss-Legendre in both, or the trapezoidal rule on the whole circle when the disk holds the origin),
and ``|q| <= R`` clips ``|p| <= R / ρ̂``. Loss: the same with ``p = q``. σ: trapezoidal rule.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.special import i0e, i1e

Density = Callable[[np.ndarray], np.ndarray]


def maxwellian(n: float, u, T: float, mass: float) -> Density:
    """``v -> n (m / 2πT) exp(-m |v - u|² / 2T)`` (2D) for points ``v`` of shape ``(..., 2)``."""
    u = np.asarray(u, float)
    return lambda v: n * mass / (2 * math.pi * T) * np.exp(-mass * ((v - u) ** 2).sum(-1) / (2 * T))


def mixture_of(*parts: Density) -> Density:
    """The sum of densities (e.g. a two-bump ``f_L``)."""
    return lambda v: sum(p(v) for p in parts)


def _angle_rule(c0: np.ndarray, width: float, n_a: int) -> tuple[np.ndarray, np.ndarray]:
    """Angles ``α`` of ``p`` and weights, per point (shape ``(P, n_a)``): Gauss-Legendre on the arc that
    sees the disk ``|p - c0| <= width``, or the trapezoidal rule on the circle when the disk holds 0."""
    r0 = np.hypot(c0[:, 0], c0[:, 1])
    a0 = np.arctan2(c0[:, 1], c0[:, 0])
    x, w = np.polynomial.legendre.leggauss(n_a)
    full = r0 <= width
    half = np.where(full, math.pi, np.arcsin(np.minimum(1.0, width / np.maximum(r0, width))))
    trap = a0[:, None] + 2 * math.pi * np.arange(n_a) / n_a
    gl = a0[:, None] + half[:, None] * x
    alpha = np.where(full[:, None], trap, gl)
    wa = np.where(full[:, None], 2 * math.pi / n_a, half[:, None] * w)
    return alpha, wa


def _radial_rule(lo: np.ndarray, hi: np.ndarray, n_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre on ``[lo, max(lo, hi)]`` (broadcast arrays); an empty interval gets zero weight."""
    x, w = np.polynomial.legendre.leggauss(n_s)
    half = 0.5 * np.maximum(hi - lo, 0.0)[..., None]
    return lo[..., None] + half * (x + 1.0), half * w


def _points(v: np.ndarray) -> np.ndarray:
    """The points ``v`` (shape ``(..., 2)``) as a ``(P, 2)`` array."""
    v = np.asarray(v, float)
    if v.shape[-1] != 2:
        raise ValueError("the quadrature is two-dimensional (v of shape (..., 2))")
    return v.reshape(-1, 2)


def gain(v: np.ndarray, f_i: Density, m_i: float, m_j: float, n_j: float, u_j, T_j: float, gamma: float,
         b: float, R: float | None = None, n_sigma: int = 48, n_a: int = 64, n_s: int = 32, K: float = 8.0,
         chunk: int = 8) -> np.ndarray:
    """Gain term ``Q⁺_ij(f_i, M_j)`` at the points ``v`` (shape ``(..., 2)``), ``M_j`` the Maxwellian
    ``(n_j, u_j, T_j)`` of mass ``m_j > m_i``. ``R = None``: untruncated kernel. ``O(n_sigma n_a n_s)`` per point."""
    if m_j <= m_i:
        raise ValueError(f"the partner must be heavier (m_j = {m_j} <= m_i = {m_i})")
    pts = _points(v)
    mi, mj = m_i / (m_i + m_j), m_j / (m_i + m_j)
    u_j = np.asarray(u_j, float)
    Mj = maxwellian(n_j, u_j, T_j, m_j)
    width = K * math.sqrt(T_j / m_j)
    phi = 2 * math.pi * np.arange(n_sigma) / n_sigma
    sig = np.stack([np.cos(phi), np.sin(phi)], -1)[None, :, None, None, :]      # (1, nσ, 1, 1, 2)
    a2 = mj ** 2 - mi ** 2
    out = np.empty(len(pts))
    for s0 in range(0, len(pts), chunk):
        vc = pts[s0:s0 + chunk]
        c0 = vc - u_j
        r0 = np.hypot(c0[:, 0], c0[:, 1])
        alpha, wa = _angle_rule(c0, width, n_a)                               # (P, na)
        om = np.stack([np.cos(alpha), np.sin(alpha)], -1)[:, None, :, None, :]  # (P, 1, na, 1, 2)
        t = (om * sig).sum(-1)                                                  # p̂·σ, (P, nσ, na, 1)
        rho = (-mi * t + np.sqrt((mi * t) ** 2 + a2)) / a2                      # |q| / |p|
        hi = (r0 + width)[:, None, None, None] * np.ones_like(rho)
        if R is not None:
            hi = np.minimum(hi, R / rho)
        s, ws = _radial_rule(np.maximum(r0 - width, 0.0)[:, None, None], hi[..., 0], n_s)
        p = s[..., None] * om                                                   # (P, nσ, na, ns, 2)
        q_abs = s * rho
        q = (p - mi * q_abs[..., None] * sig) / mj
        det = mj * (mj + mi * (sig * q).sum(-1) / q_abs)
        vv = vc[:, None, None, None, :]
        integrand = b * q_abs ** gamma * f_i(vv - mj * q + mj * q_abs[..., None] * sig) * Mj(vv - p) * s / det
        out[s0:s0 + chunk] = (2 * math.pi / n_sigma) * np.einsum("psak,pa,psak->p", integrand, wa, ws)
    return out.reshape(np.shape(v)[:-1])


def collision_frequency(v: np.ndarray, m_j: float, n_j: float, u_j, T_j: float, gamma: float, b: float,
                        R: float | None = None, n_a: int = 64, n_s: int = 32, K: float = 8.0) -> np.ndarray:
    """Loss frequency ``ν(v) = b |S¹| ∫ |q|^γ 1_{|q|<=R} M_j(v - q) dq`` (same polar rule, ``p = q``)."""
    pts = _points(v)
    u_j = np.asarray(u_j, float)
    width = K * math.sqrt(T_j / m_j)
    c0 = pts - u_j
    r0 = np.hypot(c0[:, 0], c0[:, 1])
    alpha, wa = _angle_rule(c0, width, n_a)
    hi = (r0 + width)[:, None] * np.ones(alpha.shape)
    if R is not None:
        hi = np.minimum(hi, R)
    s, ws = _radial_rule(np.maximum(r0 - width, 0.0)[:, None], hi, n_s)
    q = s[..., None] * np.stack([np.cos(alpha), np.sin(alpha)], -1)[:, :, None, :]
    Mj = maxwellian(n_j, u_j, T_j, m_j)
    nu = 2 * math.pi * b * np.einsum("pak,pa,pak->p", s ** (gamma + 1) * Mj(pts[:, None, None, :] - q), wa, ws)
    return nu.reshape(np.shape(v)[:-1])


def cross_operator(v: np.ndarray, f_i: Density, m_i: float, m_j: float, n_j: float, u_j, T_j: float,
                   gamma: float, b: float, R: float | None = None, **rule) -> np.ndarray:
    """``Q_ij(f_i, M_j) = Q⁺ - f_i ν`` at the points ``v``; ``rule``: node counts of :func:`gain`."""
    loss_rule = {k: rule[k] for k in ("n_a", "n_s", "K") if k in rule}
    nu = collision_frequency(v, m_j, n_j, u_j, T_j, gamma, b, R, **loss_rule)
    return gain(v, f_i, m_i, m_j, n_j, u_j, T_j, gamma, b, R, **rule) - f_i(np.asarray(v, float)) * nu


def hard_sphere_frequency(v: np.ndarray, m_j: float, n_j: float, u_j, T_j: float, b: float) -> np.ndarray:
    """Closed form of :func:`collision_frequency` for hard spheres, untruncated:
    ``ν = 2π b n_j E|w + θ Z|`` (``w = v - u_j``, ``θ² = T_j/m_j``, ``Z`` standard normal in 2D), the Rice mean
    ``θ sqrt(π/2) L_{1/2}(-|w|²/2θ²)``, ``L_{1/2}(x) = e^{x/2} [(1 - x) I_0(-x/2) - x I_1(-x/2)]``."""
    theta = math.sqrt(T_j / m_j)
    x = -((np.asarray(v, float) - np.asarray(u_j, float)) ** 2).sum(-1) / (2 * theta ** 2)
    return 2 * math.pi * b * n_j * theta * math.sqrt(math.pi / 2) * ((1 - x) * i0e(-x / 2) - x * i1e(-x / 2))
