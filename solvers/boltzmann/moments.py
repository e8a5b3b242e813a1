"""Moments of a distribution on a :class:`VelocityGrid`: density, velocity, temperature, entropy.

Temperature convention (k_B = 1): ``n T = (m/d) ∫ |v - u|^2 f dv``.

Batched: ``f`` has shape ``batch + grid.shape`` (``batch`` e.g. the cells a rank owns, or ``()``);
scalar moments have shape ``batch``, velocities ``batch + (d,)``. The sums over the velocity axes
of one cell do not depend on the other cells, so a cell's moments are the same in any batch.
"""
from __future__ import annotations

import numpy as np

from .velocity import VelocityGrid


def vaxes(g: VelocityGrid) -> tuple[int, ...]:
    """The trailing velocity axes of a batched distribution."""
    return tuple(range(-g.dim, 0))


def integrate(g: VelocityGrid, f: np.ndarray) -> np.ndarray:
    """``∫ f dv`` over the velocity axes (trapezoidal, spectrally accurate on the periodic box)."""
    return f.sum(axis=vaxes(g)) * g.vol


def density(g: VelocityGrid, f: np.ndarray) -> np.ndarray:
    return integrate(g, f)


def velocity(g: VelocityGrid, f: np.ndarray) -> np.ndarray:
    n = density(g, f)
    return np.stack([integrate(g, vi * f) / n for vi in g.v], axis=-1)


def temperature(g: VelocityGrid, f: np.ndarray, mass: float = 1.0, u=None) -> np.ndarray:
    """``T = m ∫ |v-u|^2 f / (d n)`` about ``u`` (default the species' own mean velocity)."""
    u = velocity(g, f) if u is None else u
    return mass * integrate(g, g.speed2(u) * f) / (g.dim * density(g, f))


def energy(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> np.ndarray:
    """Kinetic energy ``(m/2) ∫ |v|^2 f``."""
    return 0.5 * mass * integrate(g, g.speed2() * f)


def entropy(g: VelocityGrid, f: np.ndarray) -> np.ndarray:
    """H-function ``∫ f log f`` over the points where ``f > 0`` (spectral f may dip below 0)."""
    pos = np.where(f > 0, f, 1.0)
    return integrate(g, np.where(f > 0, f * np.log(pos), 0.0))


def discrete_maxwellian(g: VelocityGrid, n, u, T, mass: float = 1.0, iters: int = 4) -> np.ndarray:
    """Grid Maxwellian whose *discrete* density, velocity and temperature are ``n, u, T`` (to rounding):
    the parameters are corrected by a few fixed-point steps (matters on coarse grids, where the
    trapezoidal moments of a sampled Gaussian are off by ~exp(-2π²T/(m h²))). Batched: ``n, T`` of
    shape ``batch``, ``u`` of shape ``batch + (d,)``."""
    u = np.asarray(u, float)
    u_, T_ = u.copy(), np.asarray(T, float).copy()
    for _ in range(iters):
        M = g.maxwellian(1.0, u_, T_, mass)
        u_ = u_ + u - velocity(g, M)
        T_ = T_ * T / temperature(g, M, mass, u)
    M = g.maxwellian(1.0, u_, T_, mass)
    return M * g.expand(n / density(g, M))


def maxwellian_of(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> np.ndarray:
    """The (discrete-moment-matched) Maxwellian with the density, velocity and temperature of ``f``."""
    u = velocity(g, f)
    return discrete_maxwellian(g, density(g, f), u, temperature(g, f, mass, u), mass)


def distance_to_maxwellian(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> np.ndarray:
    """Relative L1 distance ``||f - M[f]||_1 / ||f||_1``."""
    return integrate(g, np.abs(f - maxwellian_of(g, f, mass))) / integrate(g, np.abs(f))


def species_moments(g: VelocityGrid, f: np.ndarray, mass: float) -> dict:
    u = velocity(g, f)
    return {"n": density(g, f), "u": u, "T": temperature(g, f, mass, u), "H": entropy(g, f),
            "dist_M": distance_to_maxwellian(g, f, mass)}
