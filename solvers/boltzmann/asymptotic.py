"""Truncated asymptotic expansion of the cross operators for a light (L) / heavy (H) mixture.

Convention: ``ε = sqrt(m_L / m_H)`` and ``μ = ε² = m_L/m_H``. Kernel ``B = b |q|^γ`` (isotropic),
momentum-transfer frequency of a light particle of relative speed ``s`` on the heavy gas
``ν(s) = n_H b |S^{d-1}| s^γ`` (Maxwell molecules: ``n_H (b0 - b1)``). Derived for this project
from Degond & Lucquin-Desreux (1996), checked against the exact Maxwell-molecule rates (validation.md):

- O(1), Lorentz operator (elastic scattering off heavy particles at rest in their mean frame ``u_H``)::

      Lor(f_L)(v) = n_H b |w|^γ [ ∫_S f_L(u_H + |w| σ) dσ - |S| f_L(v) ],   w = v - u_H.

  The sphere average of the trigonometric interpolant is exact: ``Σ_k f̂_k e^{iπk·u/L} F_d(π|k||w|/L)``;
  for ``|w| >= L`` the sphere leaves the periodic box and the operator is set to zero there.
- O(μ), energy exchange (the two-term / Davydov operator, written in Cartesian form; it equals
  ``μ v^{-2} ∂_v [v^3 ν (f + T_H/(m_L v) ∂_v f)]`` on isotropic ``f`` in 3D)::

      D(f_L) = μ ∇·[ ν(|w|) (w f_L + (T_H / m_L) ∇f_L) ]   ⇒   dT_L/dt = -2 μ ν (T_L - T_H) (Maxwell).

- O(μ), heavy species in the light bath (Fokker-Planck / Brownian motion)::

      F(f_H) = ν_H ∇·[ (w - u_L) f_H + (T_L / m_H) ∇f_H ],
      ν_H = μ (m_L / (d T_L)) ∫ f_L |v - u_L|^2 ν_1(|v - u_L|) dv,   ν_1 = ν / n_H,

  ``ν_H = μ n_L b |S|`` for Maxwell molecules: ``dT_H/dt = -2 ν_H (T_H - T_L)``, ``du_H/dt = -ν_H (u_H - u_L)``.

Batched like :mod:`.moments`: distributions ``batch + grid.shape``, per-cell parameters (``n_H``,
``T_H``, ``ν_H`` ...) of shape ``batch``, mean velocities ``batch + (d,)``; every sum that mixes
points of one cell is done elementwise (never by BLAS), so a cell's result does not depend on the batch.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from .fast_spectral import CACHE_BYTES, SPHERE_AREA, sphere_average_multiplier
from .moments import integrate, project_moments, vaxes
from .velocity import VelocityGrid


def _spectral_gradient(g: VelocityGrid, f: np.ndarray) -> list[np.ndarray]:
    fh = sfft.fftn(f, axes=vaxes(g), workers=1)
    out = []
    for kd in g.k:
        kd = np.where(np.abs(kd) == g.n // 2, 0.0, kd)
        out.append(np.real(sfft.ifftn(1j * math.pi * kd / g.L * fh, axes=vaxes(g), workers=1)))
    return out


def _spectral_divergence(g: VelocityGrid, flux: list[np.ndarray]) -> np.ndarray:
    acc = 0.0
    for kd, Fd in zip(g.k, flux):
        kd = np.where(np.abs(kd) == g.n // 2, 0.0, kd)
        acc = acc + 1j * math.pi * kd / g.L * sfft.fftn(Fd, axes=vaxes(g), workers=1)
    return np.real(sfft.ifftn(acc, axes=vaxes(g), workers=1))


def _kmax(g: VelocityGrid) -> float:
    return math.pi * (g.n // 2) * math.sqrt(g.dim) / g.L


def _speed(g: VelocityGrid, u) -> np.ndarray:
    return np.sqrt(g.speed2(u))


class Lorentz:
    """``Lor(f_L)`` on the light grid (Fourier modes grouped by ``|k|``)."""

    CHUNK = CACHE_BYTES // 32  # entries of the (points, |k| groups) multiplier evaluated at once: with its
    #                            temporaries (argument, product) within CACHE_BYTES

    def __init__(self, g: VelocityGrid, gamma: float, b: float):
        self.g, self.gamma, self.b = g, gamma, b
        k2 = sum(kd.astype(float) ** 2 for kd in g.k).ravel()
        self.order = np.argsort(k2, kind="stable")
        self.k_unique, self.starts = np.unique(k2[self.order], return_index=True)
        self.nyq = np.zeros(g.shape, bool)
        for kd in g.k:
            self.nyq |= np.abs(kd) == g.n // 2

    def sphere_average(self, f: np.ndarray, u) -> np.ndarray:
        """``∫_S f(u + |v - u| σ) dσ`` at every grid point (spectrally exact); ``u`` per cell."""
        g = self.g
        batch = f.shape[:f.ndim - g.dim]
        P = int(np.prod(g.shape))
        c = sfft.fftn(f, axes=vaxes(g), workers=1) / P
        c[..., self.nyq] = 0.0
        u = np.asarray(u, float)
        c = c * np.exp(1j * math.pi * sum(kd * g.expand(u[..., i] - g.origin[i]) for i, kd in enumerate(g.k)) / g.L)
        c = c.reshape((-1, P))[:, self.order]
        S = np.add.reduceat(c.real, self.starts, axis=-1)            # Re Σ_{|k| = κ} ĉ_k e^{...}
        r = _speed(g, u).reshape(-1)
        outside = g.speed2(u) >= (g.L * (1 - 1e-9)) ** 2   # sphere leaves the periodic box: no scattering
        rows = np.flatnonzero(~outside.reshape(-1))         # (cell, point) pairs inside, cell-major
        avg = np.zeros(r.shape)
        step = max(1, self.CHUNK // len(self.k_unique))
        kap = math.pi * np.sqrt(self.k_unique) / g.L
        for a in range(0, len(rows), step):
            i = rows[a:a + step]
            A = sphere_average_multiplier(g.dim, r[i, None] * kap)
            A *= S[i // P]
            avg[i] = A.sum(axis=-1)
        return np.where(outside, SPHERE_AREA[g.dim] * f, avg.reshape(batch + g.shape))

    def frequency(self, n_H, u) -> np.ndarray:
        """Loss frequency ``n_H b |S| |w|^γ``."""
        return self.g.expand(n_H) * self.b * SPHERE_AREA[self.g.dim] * _speed(self.g, u) ** self.gamma

    def __call__(self, f: np.ndarray, n_H, u_H) -> np.ndarray:
        """``Lor(f)``, projected (weighted) to conserve mass and energy about ``u_H`` exactly."""
        nu = self.frequency(n_H, u_H) / SPHERE_AREA[self.g.dim]
        out = nu * (self.sphere_average(f, u_H) - SPHERE_AREA[self.g.dim] * f)
        return project_moments(self.g, out, [np.ones(self.g.shape), self.g.speed2(u_H)], weight=f)


def energy_exchange(g: VelocityGrid, f: np.ndarray, mu: float, m_L: float, n_H, T_H, u_H,
                    gamma: float, b: float) -> np.ndarray:
    """``D(f_L) = μ ∇·[ν(|w|)(w f + (T_H/m_L) ∇f)]`` (O(μ) energy exchange of the light species)."""
    u_H = np.asarray(u_H, float)
    w = [vd - g.expand(u_H[..., i]) for i, vd in enumerate(g.v)]
    nu = g.expand(n_H) * b * SPHERE_AREA[g.dim] * _speed(g, u_H) ** gamma
    grad = _spectral_gradient(g, f)
    D = g.expand(T_H) / m_L
    flux = [nu * (wd * f + D * gd) for wd, gd in zip(w, grad)]
    return mu * _spectral_divergence(g, flux)


def energy_exchange_bound(g: VelocityGrid, mu: float, m_L: float, n_H, T_H, gamma: float,
                          b: float) -> np.ndarray:
    """Upper bound of the spectral radius of ``D`` (sizes the penalisation); ``sqrt(d) L`` bounds ``|v - u_H|``
    on a box centred near ``u_H`` (centre the box at the flow: :class:`.velocity.VelocityGrid`)."""
    nu_max = np.asarray(n_H) * b * SPHERE_AREA[g.dim] * (math.sqrt(g.dim) * g.L) ** gamma
    km = _kmax(g)
    return mu * nu_max * ((np.asarray(T_H) / m_L) * km ** 2 + math.sqrt(g.dim) * g.L * km + g.dim + gamma)


def heavy_friction(gL: VelocityGrid, fL: np.ndarray, mu: float, m_L: float, T_L, u_L, gamma: float,
                   b: float) -> np.ndarray:
    """``ν_H = μ (m_L/(d T_L)) ∫ f_L |v-u_L|^2 ν_1(|v-u_L|) dv`` (``= μ n_L b|S|`` for Maxwell molecules)."""
    s2 = gL.speed2(u_L)
    nu1 = b * SPHERE_AREA[gL.dim] * np.sqrt(s2) ** gamma
    return mu * m_L / (gL.dim * np.asarray(T_L)) * integrate(gL, fL * s2 * nu1)


def heavy_fokker_planck(gH: VelocityGrid, fH: np.ndarray, nu_H, m_H: float, T_L, u_L) -> np.ndarray:
    """``F(f_H) = ν_H ∇·[(w - u_L) f_H + (T_L/m_H) ∇f_H]``."""
    u_L = np.asarray(u_L, float)
    grad = _spectral_gradient(gH, fH)
    D = gH.expand(T_L) / m_H
    flux = [(vd - gH.expand(u_L[..., i])) * fH + D * gd for i, (vd, gd) in enumerate(zip(gH.v, grad))]
    return gH.expand(nu_H) * _spectral_divergence(gH, flux)


def heavy_fokker_planck_bound(gH: VelocityGrid, nu_H, m_H: float, T_L) -> np.ndarray:
    km = _kmax(gH)
    return np.asarray(nu_H) * ((np.asarray(T_L) / m_H) * km ** 2 + math.sqrt(gH.dim) * gH.L * km + gH.dim)
