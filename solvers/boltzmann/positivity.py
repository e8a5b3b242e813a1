"""Positivity of the collision step, keeping the density, momentum and energy of every cell and species.

The spectral collision step leaves small negative values in the tails of ``f`` (measured: at
``m|v - u|²/T >= 20``, i.e. where the Maxwellian is below ``e^{-10}`` of its peak; negative mass
1e-7 … 1e-3 of the density). Two conservative steps, per cell and species (only in cells where
``f`` has a negative value; elsewhere the identity, bitwise):

1. **clip and project**: ``f⁺ = max(f, 0)``, then ``g = f⁺ (1 - λ·φ)`` with ``φ = (1, (v - u)/c,
   |v - u|²/c²)`` (``u`` the velocity of ``f``, ``c = sqrt(T/m)``: the span of ``(1, v, |v|²)``, well
   scaled) and ``λ`` such that ``Σ φ g = Σ φ f`` (:func:`.moments.project_moments` weighted by ``f⁺``:
   the ``f⁺``-weighted L2-closest correction). ``λ`` is of the size of the negative mass, so
   ``1 - λ·φ > 0`` on the grid and ``g >= 0`` unless the negative part is large;
2. **scaling limiter** (Zhang & Shu, JCP 229 (2010) 3091, adapted to kinetics), where ``g`` still has
   a negative value: ``θ g + (1 - θ) M[f]``, ``M[f]`` the discrete Maxwellian with the discrete moments
   of ``f`` (:func:`.moments.maxwellian_of`, matched to rounding; its far-tail values below 0, ~1e-38 of
   the peak, set to 0), ``θ = min_{g_j<0} M_j / (M_j - g_j)``,
   the largest value in ``[0, 1]`` with a non-negative result.

Step 2 alone (the textbook limiter) is not used first because the negative values sit in the tails:
there ``M_j / (M_j - f_j)`` is 1e-16 … 1e-26, i.e. ``θ ≈ 0`` replaces ``f`` by ``M[f]`` in every cell
at every step and removes the whole non-equilibrium part of the distribution (measured in
``docs/boltzmann.md``). Step 1 changes ``f`` by the negative mass only.

Batched: ``f`` of shape ``batch + grid.shape``; a cell's result does not depend on the batch.
"""
from __future__ import annotations

import numpy as np

from ..parallel import UserError
from . import moments as mo
from .velocity import VelocityGrid

SAFETY = 1.0 - 1e-13    # θ a few ulps below the root: the rounding of θ g + (1-θ) M stays >= 0


class PositivityError(UserError):
    """No non-negative distribution has a cell's moments (the step diverged): exit code 3, like a
    diverged solve (raised on the rank that owns the cell: the job ends by ``MPI_Abort``)."""

    exit_code = 3


def clip_and_project(g: VelocityGrid, f: np.ndarray, mass: float) -> np.ndarray:
    """Step 1 of the module docstring on a batch of cells."""
    u = mo.velocity(g, f)
    c2 = mo.temperature(g, f, mass, u) / mass
    w = [(vi - g.expand(u[..., i])) / g.expand(np.sqrt(c2)) for i, vi in enumerate(g.v)]
    phis = [np.ones_like(f), *w, g.speed2(u) / g.expand(c2)]
    targets = np.stack([(phi * f).sum(axis=mo.vaxes(g)) for phi in phis], axis=-1)
    fp = np.maximum(f, 0.0)
    return mo.project_moments(g, fp, phis, targets, weight=fp)


def scaling_limiter(g: VelocityGrid, f: np.ndarray, M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 2: ``(θ f + (1 - θ) M, θ)`` per cell, ``M >= 0`` with the moments of ``f``."""
    neg = f < 0
    ratio = np.where(neg, M / np.where(neg, M - f, 1.0), 1.0)
    theta = np.minimum(ratio.min(axis=mo.vaxes(g)), 1.0)
    theta = np.where(theta < 1.0, theta * SAFETY, 1.0)
    return g.expand(theta) * f + g.expand(1.0 - theta) * M, theta


def positive_part(g: VelocityGrid, f: np.ndarray, mass: float = 1.0) -> tuple[np.ndarray, dict]:
    """``f`` made non-negative with its density, momentum and energy per cell (module docstring).
    Returns the result and counts: ``cells`` (cells changed), ``scaled`` (cells that needed step 2),
    ``theta`` (smallest θ of step 2, 1 if none)."""
    ax = mo.vaxes(g)
    bad = (f < 0).any(axis=ax)
    info = {"cells": int(bad.sum()), "scaled": 0, "theta": 1.0}
    if not bad.any():
        return f, info
    n, T = mo.density(g, f[bad]), mo.temperature(g, f[bad], mass)
    if not ((n > 0).all() and (T > 0).all()):
        raise PositivityError("positivity fix: a cell has a non-positive density or temperature (no "
                              "non-negative distribution has its moments: the step diverged)")
    out = f.copy()
    fb = clip_and_project(g, f[bad], mass)
    still = (fb < 0).any(axis=ax)
    if still.any():
        M = np.maximum(mo.maxwellian_of(g, f[bad][still], mass), 0.0)     # see positive_maxwellian
        fb[still], theta = scaling_limiter(g, fb[still], M)
        info.update(scaled=int(still.sum()), theta=float(theta.min()))
    out[bad] = fb
    return out, info


def positive_maxwellian(g: VelocityGrid, n, u, T, mass: float = 1.0) -> np.ndarray:
    """:func:`.moments.discrete_maxwellian` made non-negative by :func:`positive_part`: its moment
    correction ``M (a + b·v + c|v - u|²)`` can leave values of ~1e-38 of the peak below 0 in the far
    tails; clipping them changes nothing above rounding. Initial data, inflow ghosts and wall
    Maxwellians use this, so the data of a run are non-negative."""
    return positive_part(g, mo.discrete_maxwellian(g, n, u, T, mass), mass)[0]
