"""Moments of a distribution on a :class:`VelocityGrid`: density, velocity, temperature, entropy.

Temperature convention (k_B = 1): ``n T = (m/d) ∫ |v - u|^2 f dv``.
"""
from __future__ import annotations

import numpy as np

from .velocity import VelocityGrid


def density(g: VelocityGrid, f: np.ndarray) -> float:
    return float(f.sum() * g.vol)


def velocity(g: VelocityGrid, f: np.ndarray) -> np.ndarray:
    n = density(g, f)
    return np.array([(vi * f).sum() * g.vol / n for vi in g.v])


def temperature(g: VelocityGrid, f: np.ndarray, mass: float = 1.0, u=None) -> float:
    """``T = m ∫ |v-u|^2 f / (d n)`` about ``u`` (default the species' own mean velocity)."""
    u = velocity(g, f) if u is None else u
    return float(mass * (g.speed2(u) * f).sum() * g.vol / (g.dim * density(g, f)))


def energy(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> float:
    """Kinetic energy ``(m/2) ∫ |v|^2 f``."""
    return float(0.5 * mass * (g.speed2() * f).sum() * g.vol)


def entropy(g: VelocityGrid, f: np.ndarray) -> float:
    """H-function ``∫ f log f`` over the points where ``f > 0`` (spectral f may dip below 0)."""
    pos = f > 0
    return float((f[pos] * np.log(f[pos])).sum() * g.vol)


def discrete_maxwellian(g: VelocityGrid, n: float, u, T: float, mass: float = 1.0, iters: int = 4) -> np.ndarray:
    """Grid Maxwellian whose *discrete* density, velocity and temperature are ``n, u, T`` (to rounding):
    the parameters are corrected by a few fixed-point steps (matters on coarse grids, where the
    trapezoidal moments of a sampled Gaussian are off by ~exp(-2π²T/(m h²)))."""
    u_, T_ = np.asarray(u, float).copy(), float(T)
    for _ in range(iters):
        M = g.maxwellian(1.0, u_, T_, mass)
        u_ += np.asarray(u, float) - velocity(g, M)
        T_ *= T / temperature(g, M, mass, u)
    M = g.maxwellian(1.0, u_, T_, mass)
    return M * (n / density(g, M))


def maxwellian_of(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> np.ndarray:
    """The (discrete-moment-matched) Maxwellian with the density, velocity and temperature of ``f``."""
    u = velocity(g, f)
    return discrete_maxwellian(g, density(g, f), u, temperature(g, f, mass, u), mass)


def distance_to_maxwellian(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> float:
    """Relative L1 distance ``||f - M[f]||_1 / ||f||_1``."""
    return float(np.abs(f - maxwellian_of(g, f, mass)).sum() / np.abs(f).sum())


def species_moments(g: VelocityGrid, f: np.ndarray, mass: float) -> dict:
    u = velocity(g, f)
    return {"n": density(g, f), "u": u, "T": temperature(g, f, mass, u), "H": entropy(g, f),
            "dist_M": distance_to_maxwellian(g, f, mass)}
