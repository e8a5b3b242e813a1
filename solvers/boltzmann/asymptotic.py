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
"""
from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from .fast_spectral import SPHERE_AREA, sphere_average_multiplier
from .velocity import VelocityGrid


def _spectral_gradient(g: VelocityGrid, f: np.ndarray) -> list[np.ndarray]:
    fh = sfft.fftn(f, workers=1)
    out = []
    for kd in g.k:
        kd = np.where(np.abs(kd) == g.n // 2, 0.0, kd)
        out.append(np.real(sfft.ifftn(1j * math.pi * kd / g.L * fh, workers=1)))
    return out


def _spectral_divergence(g: VelocityGrid, flux: list[np.ndarray]) -> np.ndarray:
    acc = np.zeros(g.shape, complex)
    for kd, Fd in zip(g.k, flux):
        kd = np.where(np.abs(kd) == g.n // 2, 0.0, kd)
        acc += 1j * math.pi * kd / g.L * sfft.fftn(Fd, workers=1)
    return np.real(sfft.ifftn(acc, workers=1))


def _kmax(g: VelocityGrid) -> float:
    return math.pi * (g.n // 2) * math.sqrt(g.dim) / g.L


class Lorentz:
    """``Lor(f_L)`` on the light grid (modes grouped by ``|k|``, points by ``|w|``)."""

    def __init__(self, g: VelocityGrid, gamma: float, b: float):
        self.g, self.gamma, self.b = g, gamma, b
        k2 = sum(kd.astype(float) ** 2 for kd in g.k)
        self.k_unique, self.k_inv = np.unique(k2.ravel(), return_inverse=True)
        self.nyq = np.zeros(g.shape, bool)
        for kd in g.k:
            self.nyq |= np.abs(kd) == g.n // 2

    def sphere_average(self, f: np.ndarray, u) -> np.ndarray:
        """``∫_S f(u + |v - u| σ) dσ`` at every grid point (spectrally exact)."""
        g = self.g
        c = sfft.fftn(f, workers=1) / f.size
        c[self.nyq] = 0.0
        c = c * np.exp(1j * math.pi * sum(kd * (ud + g.L) for kd, ud in zip(g.k, u)) / g.L)
        S = (np.bincount(self.k_inv, c.real.ravel(), len(self.k_unique))
             + 1j * np.bincount(self.k_inv, c.imag.ravel(), len(self.k_unique)))
        r = np.sqrt(g.speed2(u)).ravel()
        r_unique, r_inv = np.unique(np.round(r, 12), return_inverse=True)
        A = sphere_average_multiplier(g.dim, math.pi * np.outer(r_unique, np.sqrt(self.k_unique)) / g.L)
        avg = np.real(A @ S)[r_inv].reshape(g.shape)
        outside = self.g.speed2(u) >= (g.L * (1 - 1e-9)) ** 2   # sphere leaves the periodic box: no scattering
        avg[outside] = SPHERE_AREA[g.dim] * f[outside]
        return avg

    def frequency(self, n_H: float, u) -> np.ndarray:
        """Loss frequency ``n_H b |S| |w|^γ``."""
        return n_H * self.b * SPHERE_AREA[self.g.dim] * np.sqrt(self.g.speed2(u)) ** self.gamma

    def __call__(self, f: np.ndarray, n_H: float, u_H) -> np.ndarray:
        """``Lor(f)``, projected (L2-closest) to conserve mass and energy about ``u_H`` exactly."""
        nu = self.frequency(n_H, u_H) / SPHERE_AREA[self.g.dim]
        out = nu * (self.sphere_average(f, u_H) - SPHERE_AREA[self.g.dim] * f)
        return project_moments(out, [np.ones(self.g.shape), self.g.speed2(u_H)], weight=f)


def project_moments(Q: np.ndarray, phis: list[np.ndarray], targets=None, weight: np.ndarray | None = None) -> np.ndarray:
    """``Q - W C^T (C W C^T)^{-1} (C Q - t)`` with rows ``φ``: the closest ``Q`` (in the ``W^{-1}``-norm)
    with ``Σ Q φ = t`` (``t = 0`` by default). A weight ``W`` such as ``|f|`` keeps the correction
    where ``f`` lives (an unweighted constant correction would carry momentum: the periodic grid
    ``-L + j h`` is not symmetric)."""
    C = np.stack([phi.ravel() for phi in phis])
    q = Q.ravel()
    w = np.ones_like(q) if weight is None else np.abs(weight).ravel()
    t = np.zeros(len(phis)) if targets is None else np.asarray(targets, float)
    return (q - w * (C.T @ np.linalg.solve((C * w) @ C.T, C @ q - t))).reshape(Q.shape)


def energy_exchange(g: VelocityGrid, f: np.ndarray, mu: float, m_L: float, n_H: float, T_H: float, u_H,
                    gamma: float, b: float) -> np.ndarray:
    """``D(f_L) = μ ∇·[ν(|w|)(w f + (T_H/m_L) ∇f)]`` (O(μ) energy exchange of the light species)."""
    w = [vd - ud for vd, ud in zip(g.v, u_H)]
    nu = n_H * b * SPHERE_AREA[g.dim] * np.sqrt(g.speed2(u_H)) ** gamma
    grad = _spectral_gradient(g, f)
    flux = [nu * (wd * f + (T_H / m_L) * gd) for wd, gd in zip(w, grad)]
    return mu * _spectral_divergence(g, flux)


def energy_exchange_bound(g: VelocityGrid, mu: float, m_L: float, n_H: float, T_H: float, gamma: float,
                          b: float) -> float:
    """Upper bound of the spectral radius of ``D`` (sizes the penalisation)."""
    nu_max = n_H * b * SPHERE_AREA[g.dim] * (math.sqrt(g.dim) * g.L) ** gamma
    km = _kmax(g)
    return mu * nu_max * ((T_H / m_L) * km ** 2 + math.sqrt(g.dim) * g.L * km + g.dim + gamma)


def heavy_friction(gL: VelocityGrid, fL: np.ndarray, mu: float, m_L: float, T_L: float, u_L, gamma: float,
                   b: float) -> float:
    """``ν_H = μ (m_L/(d T_L)) ∫ f_L |v-u_L|^2 ν_1(|v-u_L|) dv`` (``= μ n_L b|S|`` for Maxwell molecules)."""
    s2 = gL.speed2(u_L)
    nu1 = b * SPHERE_AREA[gL.dim] * np.sqrt(s2) ** gamma
    return float(mu * m_L / (gL.dim * T_L) * (fL * s2 * nu1).sum() * gL.vol)


def heavy_fokker_planck(gH: VelocityGrid, fH: np.ndarray, nu_H: float, m_H: float, T_L: float, u_L) -> np.ndarray:
    """``F(f_H) = ν_H ∇·[(w - u_L) f_H + (T_L/m_H) ∇f_H]``."""
    grad = _spectral_gradient(gH, fH)
    flux = [(vd - ud) * fH + (T_L / m_H) * gd for vd, ud, gd in zip(gH.v, u_L, grad)]
    return nu_H * _spectral_divergence(gH, flux)


def heavy_fokker_planck_bound(gH: VelocityGrid, nu_H: float, m_H: float, T_L: float) -> float:
    km = _kmax(gH)
    return nu_H * ((T_L / m_H) * km ** 2 + math.sqrt(gH.dim) * gH.L * km + gH.dim)
