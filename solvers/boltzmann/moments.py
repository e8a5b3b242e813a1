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


def project_moments(g: VelocityGrid, Q: np.ndarray, phis: list[np.ndarray], targets=None,
                    weight: np.ndarray | None = None) -> np.ndarray:
    """``Q - W C^T (C W C^T)^{-1} (C Q - t)`` with rows ``φ``: the closest ``Q`` (in the ``W^{-1}``-norm)
    with ``Σ Q φ = t`` (``t = 0`` by default; ``t`` of shape ``batch + (K,)`` or ``(K,)``). A weight
    ``W`` such as ``|f|`` keeps the correction where ``f`` lives (an unweighted constant correction
    would carry momentum: the periodic grid ``-L + j h`` is not symmetric). Batched."""
    ax = vaxes(g)
    w = np.ones_like(Q) if weight is None else np.abs(weight)
    phis = [np.broadcast_to(phi, Q.shape) for phi in phis]
    K = len(phis)
    G = np.empty(Q.shape[:Q.ndim - g.dim] + (K, K))
    for i in range(K):
        for j in range(i, K):
            G[..., i, j] = G[..., j, i] = (phis[i] * w * phis[j]).sum(axis=ax)
    r = np.stack([(phi * Q).sum(axis=ax) for phi in phis], axis=-1)
    if targets is not None:
        r = r - np.asarray(targets, float)
    lam = np.linalg.solve(G, r[..., None])[..., 0]
    corr = sum(g.expand(lam[..., i]) * phis[i] for i in range(K))
    return Q - w * corr


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
    M = M * g.expand(n / density(g, M))
    # exact discrete moments even where the grid under-resolves the Gaussian (then the fixed point
    # stalls): the weighted correction M (a + b·v + c|v - u|²) of project_moments
    targets = np.concatenate([np.asarray(n, float)[..., None], np.asarray(n, float)[..., None] * u,
                              (g.dim * np.asarray(n, float) * T / mass)[..., None]], axis=-1) / g.vol
    return project_moments(g, M, [np.ones(g.shape), *g.v, g.speed2(u)], targets, weight=M)


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
