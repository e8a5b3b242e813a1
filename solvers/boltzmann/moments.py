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


def maxwellian_of(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> np.ndarray:
    """The Maxwellian with the density, velocity and temperature of ``f``."""
    u = velocity(g, f)
    return g.maxwellian(density(g, f), u, temperature(g, f, mass, u), mass)


def distance_to_maxwellian(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> float:
    """Relative L1 distance ``||f - M[f]||_1 / ||f||_1``."""
    return float(np.abs(f - maxwellian_of(g, f, mass)).sum() / np.abs(f).sum())


def species_moments(g: VelocityGrid, f: np.ndarray, mass: float) -> dict:
    u = velocity(g, f)
    return {"n": density(g, f), "u": u, "T": temperature(g, f, mass, u), "H": entropy(g, f),
            "dist_M": distance_to_maxwellian(g, f, mass)}
