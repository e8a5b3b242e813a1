"""Gaussian random fields with covariance  C = τ^(2α-2) (-Δ + τ²)^(-α)  on [0, 1]^d.

The field is the truncated Karhunen-Loève expansion in the Neumann eigenfunctions of -Δ
(the FNO / SKR recipe, Li et al. 2021; Wang et al. 2024, papers.md §3, datasets.md):

    u(x) = Σ_{κ ≠ 0} sqrt(λ_κ) ξ_κ φ_κ(x),   λ_κ = τ^(2α-2) (π² |κ|² + τ²)^(-α),
    φ_κ(x) = Π_d c_{κ_d} cos(π κ_d x_d),   c_0 = 1, c_{j>0} = √2,   ξ_κ ~ N(0, 1) i.i.d.

(the constant mode κ = 0 is dropped, as in the FNO generator, so the field has zero mean).
It is evaluated exactly at the vertex nodes x_i = i / (n - 1) by a type-I DCT per axis.
The coefficients ξ come from ``numpy.random.default_rng(seed)`` with shape ``(modes,) * d``,
so the field depends only on (shape, α, τ, seed, modes). With a fixed ``modes`` the same seed
gives the same continuous field at every resolution (the nodes then sample one function).

Distributed evaluation (:func:`grf_block`): the KL sum is separable on the lattice,
u_B = Σ_{κ_0} C_0[B_0, κ_0] (a_{κ_0,:} ×_1 C_1[B_1, :] ×_2 C_2[B_2, :]) with C_d[i, k] =
cos(π k i / (n_d - 1)), so a rank evaluates only its owned block B = B_0 × B_1 (× B_2). It streams
the coefficients in slabs of κ_0 (the generator's stream is the same however it is cut), so
it never holds an array of the global size: memory O(|B| + slab), work O(modes^d · |B_1 × B_2|
+ |B| · modes_0). Each block entry is computed by the same sequence of floating-point
operations whatever the decomposition, so the values are identical for any number of ranks
(tested at np = 1, 2, 3).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.fft import dct


def eigenvalues(modes: Sequence[int], alpha: float, tau: float,
                rows: tuple[int, int] | None = None) -> np.ndarray:
    """λ_κ = τ^(2α-2) (π²|κ|² + τ²)^(-α) on the index box ``modes`` (λ_0 set to 0); with
    ``rows = (k0, k1)`` only the slab k0 <= κ_0 < k1."""
    k0, k1 = rows if rows is not None else (0, modes[0])
    axes = np.meshgrid(np.arange(k0, k1, dtype=float), *[np.arange(m, dtype=float) for m in modes[1:]],
                       indexing="ij")
    k2 = sum(a ** 2 for a in axes)
    lam = tau ** (2 * alpha - 2) * (np.pi ** 2 * k2 + tau ** 2) ** (-alpha)
    if k0 == 0:
        lam[(0,) * len(modes)] = 0.0
    return lam


def _coefficients(shape: tuple[int, ...], alpha: float, tau: float, seed: int,
                  modes: int | None) -> tuple[tuple[int, ...], np.random.Generator]:
    """Checked arguments: the kept modes per axis and the generator of the ξ_κ."""
    if len(shape) not in (1, 2, 3) or min(shape) < 2:
        raise ValueError(f"grf: shape must have 1-3 entries each >= 2, got {shape}")
    if alpha <= 0 or tau <= 0:
        raise ValueError(f"grf: alpha and tau must be positive, got alpha={alpha}, tau={tau}")
    m = int(modes) if modes is not None else None
    if m is not None and m < 2:
        raise ValueError(f"grf: modes must be >= 2, got {modes}")
    kept = tuple(m if m is not None else n for n in shape)
    return kept, np.random.default_rng(seed)


def _scale(kept: tuple[int, ...], alpha: float, tau: float, rows: tuple[int, int]) -> np.ndarray:
    """sqrt(λ_κ) Π_d c_{κ_d} on the slab rows[0] <= κ_0 < rows[1], with the orthonormal cosine
    factors c_0 = 1, c_j = √2."""
    out = np.sqrt(eigenvalues(kept, alpha, tau, rows=rows))
    for d in range(len(kept)):
        k = np.arange(*rows) if d == 0 else np.arange(kept[d])
        out = out * np.where(k == 0, 1.0, np.sqrt(2.0)).reshape([-1 if e == d else 1 for e in range(len(kept))])
    return out


TILE = 64


def _tiles(n: int, a: int, b: int) -> list[tuple[int, int]]:
    """The global tiles [t T, (t+1) T) ∩ [0, n) that meet the index range [a, b)."""
    if a >= b:
        return []
    return [(t, min(t + TILE, n)) for t in range(a // TILE * TILE, b, TILE)]


def _cos(n: int, tile: tuple[int, int], modes: tuple[int, int]) -> np.ndarray:
    """C[i, k] = cos(π k i / (n - 1)) for the nodes i of ``tile`` and the modes k0 <= k < k1."""
    return np.cos(np.pi * np.outer(np.arange(*tile), np.arange(*modes)) / (n - 1))


def grf_block(shape: Sequence[int], ranges: Sequence[tuple[int, int]], alpha: float = 2.5, tau: float = 7.0,
              seed: int = 0, modes: int | None = None) -> np.ndarray:
    """The field of :func:`grf` on the index block ``ranges`` = ((start, stop), ...) only.

    Bitwise identical to the same block of the field evaluated on any other decomposition:
    every value is computed on fixed global tiles of ``TILE`` nodes per axis by operations of
    the same shapes, whichever rank does it. Memory and work scale with the block.
    """
    shape = tuple(int(n) for n in shape)
    kept, rng = _coefficients(shape, alpha, tau, seed, modes)
    ranges = [(int(a), int(b)) for a, b in ranges]
    if len(ranges) != len(shape) or any(not 0 <= a <= b <= n for (a, b), n in zip(ranges, shape)):
        raise ValueError(f"grf_block: ranges {ranges} do not fit shape {shape}")
    tiles = [_tiles(n, a, b) for n, (a, b) in zip(shape, ranges)]
    # trailing axes: this block's tiles x all modes; axis 0: one (tile, slab) piece at a time
    cos = [{}] + [{t: _cos(n, t, (0, m)) for t in ts} for n, m, ts in zip(shape[1:], kept[1:], tiles[1:])]
    lo = [ts[0][0] if ts else 0 for ts in tiles]
    cover = np.zeros(tuple(ts[-1][1] - ts[0][0] if ts else 0 for ts in tiles))
    tail = kept[1:]
    slab = max(1, (1 << 16) // max(1, int(np.prod(tail))))
    for k0 in range(0, kept[0], slab):
        k1 = min(kept[0], k0 + slab)
        a = _scale(kept, alpha, tau, (k0, k1)) * rng.standard_normal((k1 - k0,) + tail)
        parts = {(): a}
        for d in range(len(shape) - 1, 0, -1):         # contract the trailing axes, tile by tile
            parts = {(t,) + key: np.moveaxis(np.tensordot(p, cos[d][t], axes=([d], [1])), -1, d)
                     for key, p in parts.items() for t in tiles[d]}
        for t0 in tiles[0]:
            c0 = _cos(shape[0], t0, (k0, k1))
            for key, p in parts.items():
                idx = (slice(t0[0] - lo[0], t0[1] - lo[0]),) + tuple(
                    slice(t[0] - lo[d], t[1] - lo[d]) for d, t in enumerate(key, start=1))
                cover[idx] += np.tensordot(c0, p, axes=([1], [0]))
    return cover[tuple(slice(a - l, b - l) for (a, b), l in zip(ranges, lo))]


def grf(shape: Sequence[int], alpha: float = 2.5, tau: float = 7.0, seed: int = 0,
        modes: int | None = None) -> np.ndarray:
    """A zero-mean Gaussian random field sample on the vertex grid ``shape`` of [0, 1]^d.

    ``modes`` cosine modes per dimension are kept (default: one per node, the grid's
    resolution). Deterministic in its arguments: identical on every rank and for any number
    of ranks. Returns a float64 array of ``shape`` in grid index order ``[i, j(, k)]``.
    """
    shape = tuple(int(n) for n in shape)
    kept, rng = _coefficients(shape, alpha, tau, seed, modes)
    a = _scale(kept, alpha, tau, (0, kept[0])) * rng.standard_normal(kept)
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
