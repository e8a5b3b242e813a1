"""Held-out right-hand sides (never seen in training, which uses Ritz vectors of A) for the
DCDM tests and benchmark, defined in physical coordinates so any grid gets the same problems:

- ``smooth``: f = exp(-|x - (0.3, 0.6)|^2 / 0.02) + sin(3 pi x) y (2D; the analogous 3D field),
- ``random``: white noise f ~ N(0, 1) per node (seed-stable, independent of the number of ranks),
- ``points``: three point sources of strengths 1, -2, 1.5 at the nodes nearest fixed points.

All with zero Dirichlet data; returned as global ``shape`` arrays (replicated).
"""
from __future__ import annotations

import numpy as np

KINDS = ("smooth", "random", "points")
_POINTS = (((0.25, 0.33, 0.5), 1.0), ((0.67, 0.5, 0.3), -2.0), ((0.5, 0.75, 0.6), 1.5))


def held_out(kind: str, shape: tuple[int, ...], seed: int = 12345) -> np.ndarray:
    """The ``kind`` right-hand side f on the unit box with ``shape`` nodes."""
    dim = len(shape)
    x = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij")
    if kind == "smooth":
        centre = (0.3, 0.6, 0.4)[:dim]
        g = np.exp(-sum((xi - c) ** 2 for xi, c in zip(x, centre)) / 0.02)
        return g + np.sin(3 * np.pi * x[0]) * x[1]
    if kind == "random":
        return np.random.default_rng(seed).standard_normal(shape)
    if kind == "points":
        f = np.zeros(shape)
        for pos, strength in _POINTS:
            f[tuple(int(round(p * (n - 1))) for p, n in zip(pos[:dim], shape))] += strength
        return f
    raise ValueError(f"unknown right-hand side {kind!r}; known: {', '.join(KINDS)}")
