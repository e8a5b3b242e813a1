"""Gaussian random fields with covariance  C = τ^(2α-2) (-Δ + τ²)^(-α)  on [0, 1]^d.

The field is the truncated Karhunen-Loève expansion in the Neumann eigenfunctions of -Δ
(the FNO / SKR recipe, Li et al. 2021; Wang et al. 2024, papers.md §3, datasets.md):

    u(x) = Σ_{κ ≠ 0} sqrt(λ_κ) ξ_κ φ_κ(x),   λ_κ = τ^(2α-2) (π² |κ|² + τ²)^(-α),
    φ_κ(x) = Π_d c_{κ_d} cos(π κ_d x_d),   c_0 = 1, c_{j>0} = √2,   ξ_κ ~ N(0, 1) i.i.d.

(the constant mode κ = 0 is dropped, as in the FNO generator, so the field has zero mean).
It is evaluated exactly at the vertex nodes x_i = i / (n - 1) by a type-I DCT per axis.
The coefficients ξ come from ``numpy.random.default_rng(seed)`` with shape ``(modes,) * d``,
so the field depends only on (shape, α, τ, seed, modes) and every rank computing it gets the
same bytes: a field is generated replicated and then scattered (``Grid.scatter``), which makes
it independent of the number of ranks. With a fixed ``modes`` the same seed gives the same
continuous field at every resolution (the nodes then sample one function).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.fft import dct


def eigenvalues(modes: Sequence[int], alpha: float, tau: float) -> np.ndarray:
    """λ_κ = τ^(2α-2) (π²|κ|² + τ²)^(-α) on the index box ``modes`` (λ_0 set to 0)."""
    axes = np.meshgrid(*[np.arange(m, dtype=float) for m in modes], indexing="ij")
    k2 = sum(a ** 2 for a in axes)
    lam = tau ** (2 * alpha - 2) * (np.pi ** 2 * k2 + tau ** 2) ** (-alpha)
    lam[(0,) * len(modes)] = 0.0
    return lam


def grf(shape: Sequence[int], alpha: float = 2.5, tau: float = 7.0, seed: int = 0,
        modes: int | None = None) -> np.ndarray:
    """A zero-mean Gaussian random field sample on the vertex grid ``shape`` of [0, 1]^d.

    ``modes`` cosine modes per dimension are kept (default: one per node, the grid's
    resolution). Deterministic in its arguments: identical on every rank and for any number
    of ranks. Returns a float64 array of ``shape`` in grid index order ``[i, j(, k)]``.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (1, 2, 3) or min(shape) < 2:
        raise ValueError(f"grf: shape must have 1-3 entries each >= 2, got {shape}")
    if alpha <= 0 or tau <= 0:
        raise ValueError(f"grf: alpha and tau must be positive, got alpha={alpha}, tau={tau}")
    m = int(modes) if modes is not None else None
    if m is not None and m < 2:
        raise ValueError(f"grf: modes must be >= 2, got {modes}")
    kept = tuple(m if m is not None else n for n in shape)
    xi = np.random.default_rng(seed).standard_normal(kept)
    a = np.sqrt(eigenvalues(kept, alpha, tau)) * xi
    for d, c in enumerate(kept):                # orthonormal cosine factors c_0 = 1, c_j = √2
        w = np.full(c, np.sqrt(2.0))
        w[0] = 1.0
        a = a * w.reshape([-1 if e == d else 1 for e in range(len(kept))])
    return _cosine_sum(a, shape)


def _cosine_sum(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """u_i = Σ_κ a_κ Π_d cos(π κ_d i_d / (n_d - 1)) at the vertex nodes (DCT-I per axis)."""
    out = a
    for d, n in enumerate(shape):
        out = np.moveaxis(out, d, -1)
        m = out.shape[-1]
        if m > n:                                 # modes above the grid's Nyquist: fold exactly
            k = np.arange(m)
            grid = np.cos(np.pi * np.outer(k, np.arange(n)) / (n - 1))
            out = out @ grid
        else:
            coef = np.zeros(out.shape[:-1] + (n,))
            coef[..., :m] = out
            coef[..., 1:n - 1] *= 0.5             # DCT-I: y_i = a_0 + (-1)^i a_{n-1} + 2 Σ a_k cos
            out = dct(coef, type=1, axis=-1)
        out = np.moveaxis(out, -1, d)
    return np.ascontiguousarray(out)
