"""Bobylev-Krook-Wu exact solution of the space-homogeneous Boltzmann equation (Maxwell molecules).

``f(t, v) = (2π K)^{-d/2} exp(-|v|^2 / 2K) [ (d+2)/2 - (d + |v|^2)/(2K) + |v|^2/(2K^2) ]``,
``K(t) = 1 - C exp(-λ t)``; 2D: ``C = 1/2``, ``λ = (π/4) B``; 3D: ``C = 1``, ``λ = (2π/3) B``
(constant kernel ``B``; with ``B = 1/|S^{d-1}|``: 2D ``λ = 1/8``, 3D ``λ = 1/6``).
"""
from __future__ import annotations

import math

import numpy as np

from .fast_spectral import SPHERE_AREA


def constants(dim: int, B: float | None = None) -> tuple[float, float]:
    """``(C, λ)`` for the kernel constant ``B`` (default ``1/|S^{d-1}|``)."""
    B = 1.0 / SPHERE_AREA[dim] if B is None else B
    return (0.5, math.pi * B / 4.0) if dim == 2 else (1.0, 2.0 * math.pi * B / 3.0)


def K(t: float, dim: int, B: float | None = None) -> float:
    C, lam = constants(dim, B)
    return 1.0 - C * math.exp(-lam * t)


def _f_of_K(v2: np.ndarray, Kv, dim: int):
    return (2 * np.pi * Kv) ** (-dim / 2) * np.exp(-v2 / (2 * Kv)) * (
        (dim + 2) / 2 - (dim + v2) / (2 * Kv) + v2 / (2 * Kv ** 2))


def f(t: float, v2: np.ndarray, dim: int, B: float | None = None) -> np.ndarray:
    """The BKW distribution at time ``t`` and squared speeds ``v2``."""
    return _f_of_K(v2, K(t, dim, B), dim)


def dfdt(t: float, v2: np.ndarray, dim: int, B: float | None = None) -> np.ndarray:
    """``∂f/∂t = (∂f/∂K) K'(t)``; ``∂f/∂K`` by the complex-step derivative (exact to rounding)."""
    C, lam = constants(dim, B)
    Kv, h = K(t, dim, B), 1e-30
    dfdK = np.imag(_f_of_K(v2.astype(complex), Kv + 1j * h, dim)) / h
    return dfdK * C * lam * math.exp(-lam * t)


def t_min(dim: int, B: float | None = None) -> float:
    """Earliest time at which the BKW solution is non-negative (``K >= d/(d+2)``)."""
    C, lam = constants(dim, B)
    return math.log(C * (dim + 2) / 2.0) / lam
