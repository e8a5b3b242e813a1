"""Orderings of a sequence of systems so that neighbours are similar (SKR, Wang et al. 2024 §3).

Every rank holds a block of *columns* of the feature matrix X (n_systems x n_features): the
slice of each system's parameter field it owns (``family.sort_features`` of a sample drawn on
the rank's block). Distances and
projections are computed locally and summed with one Allreduce, so the result is the same
for any number of ranks (up to round-off in the sums).

- :func:`skr_greedy`: SKR's sort. Greedy nearest neighbour from system ``start`` under the
  Frobenius distance ||X_i - X_j||_F; needs all pairwise distances: Gram matrix G = X X^T,
  O(n² N) flops, then an O(n²) greedy walk.
- :func:`pca_hilbert`: a cheaper order for long sequences: a randomized PCA (Halko, Martinsson,
  Tropp 2011, Alg. 4.1 with r = p + oversampling columns and the test matrix Ω = X^T Ψ, Ψ
  Gaussian in sample space, i.e. one step of their power scheme Alg. 4.3: the sketch X X^T Ψ
  does not depend on how the feature columns are split or ordered over the ranks; O(n N r)
  flops) projects each system
  to its first ``p = 2`` principal-component scores, which are then ordered along a Hilbert
  curve (Hilbert 1891; the classic xy -> d bit-twiddling, Lam & Shapiro 1994).

Both return a :class:`SortResult` with the order, the wall time of the sort itself and the
path length sum_i ||X_{o(i+1)} - X_{o(i)}|| (exact, for comparing orderings).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI


@dataclass
class SortResult:
    method: str
    order: np.ndarray          # permutation of range(n): solve order
    seconds: float             # wall time of the sort (max over ranks)
    flops: float               # leading-order flop count of the sort
    path_length: float         # sum of Frobenius distances between consecutive systems


def _allsum(a: np.ndarray, comm: MPI.Comm) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    if comm.size > 1:
        comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
    return a


def distance_matrix(X_loc: np.ndarray, comm: MPI.Comm) -> np.ndarray:
    """All pairwise Frobenius distances from the Gram matrix G = X X^T. Collective."""
    G = _allsum(X_loc @ X_loc.T, comm)
    d = np.diag(G)
    return np.sqrt(np.maximum(d[:, None] + d[None, :] - 2.0 * G, 0.0))


def path_length(X_loc: np.ndarray, order: np.ndarray, comm: MPI.Comm) -> float:
    """sum_i ||X_{o(i+1)} - X_{o(i)}||_F computed from the differences. Collective."""
    diffs = X_loc[order[1:]] - X_loc[order[:-1]]
    return float(np.sum(np.sqrt(_allsum(np.einsum("ij,ij->i", diffs, diffs), comm))))


def greedy_order(D: np.ndarray, start: int = 0) -> np.ndarray:
    """Nearest-neighbour chain through the distance matrix D starting at ``start``."""
    n = D.shape[0]
    if not 0 <= start < n:
        raise ValueError(f"start = {start} is not a system index (0..{n - 1})")
    order = [start]
    free = np.ones(n, dtype=bool)
    free[start] = False
    for _ in range(n - 1):
        cur = order[-1]
        nxt = int(np.argmin(np.where(free, D[cur], np.inf)))
        order.append(nxt)
        free[nxt] = False
    return np.array(order)


def skr_greedy(X_loc: np.ndarray, comm: MPI.Comm, start: int = 0) -> SortResult:
    """SKR's greedy nearest-neighbour order under the Frobenius distance. Collective."""
    t0 = MPI.Wtime()
    order = greedy_order(distance_matrix(X_loc, comm), start)
    secs = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    n, N = X_loc.shape[0], comm.allreduce(X_loc.shape[1])
    return SortResult("skr", order, secs, 2.0 * n * n * N, path_length(X_loc, order, comm))


def hilbert_index(x: np.ndarray, y: np.ndarray, bits: int = 16) -> np.ndarray:
    """Position along the Hilbert curve of integer points 0 <= x, y < 2**bits (vectorised)."""
    x, y = np.asarray(x, dtype=np.int64).copy(), np.asarray(y, dtype=np.int64).copy()
    d = np.zeros_like(x)
    s = 1 << (bits - 1)
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ~ry & rx
        x = np.where(flip, s - 1 - x, x)
        y = np.where(flip, s - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def pca_scores(X_loc: np.ndarray, comm: MPI.Comm, p: int = 2, oversample: int = 8,
               seed: int = 0) -> np.ndarray:
    """First ``p`` principal-component scores of the rows of X (randomized range finder). Collective."""
    n = X_loc.shape[0]
    Xc = X_loc - X_loc.mean(axis=0)
    r = min(n, p + oversample)
    psi = np.random.default_rng(seed).standard_normal((n, r))
    Yr = _allsum(Xc @ (Xc.T @ psi), comm)                  # n x r sketch X X^T Ψ of the range
    Q, _ = np.linalg.qr(Yr)
    Bloc = Q.T @ Xc                                        # r x N_loc
    S = _allsum(Bloc @ Bloc.T, comm)                       # B B^T = U Σ² U^T
    lam, U = np.linalg.eigh(S)
    idx = np.argsort(lam)[::-1][:p]
    return (Q @ U[:, idx]) * np.sqrt(np.maximum(lam[idx], 0.0))


def pca_hilbert(X_loc: np.ndarray, comm: MPI.Comm, p: int = 2, seed: int = 0) -> SortResult:
    """Order by the Hilbert-curve index of the first two PCA scores (p = 1: by the first score)."""
    if p not in (1, 2):
        raise ValueError(f"pca_hilbert: p must be 1 or 2, got {p}")
    t0 = MPI.Wtime()
    scores = pca_scores(X_loc, comm, p=p, seed=seed)
    if p == 1 or scores.shape[1] < 2:
        order = np.argsort(scores[:, 0], kind="stable")
    else:
        lo, hi = scores.min(axis=0), scores.max(axis=0)
        q = ((scores - lo) / np.where(hi > lo, hi - lo, 1.0) * (2 ** 16 - 1)).astype(np.int64)
        order = np.argsort(hilbert_index(q[:, 0], q[:, 1]), kind="stable")
    secs = comm.allreduce(MPI.Wtime() - t0, op=MPI.MAX)
    n, N = X_loc.shape[0], comm.allreduce(X_loc.shape[1])
    r = min(n, p + 8)
    return SortResult("pca_hilbert", order, secs, 4.0 * n * N * r, path_length(X_loc, order, comm))


def identity(X_loc: np.ndarray, comm: MPI.Comm) -> SortResult:
    """The given order (no sorting), with its path length for comparison."""
    order = np.arange(X_loc.shape[0])
    return SortResult("none", order, 0.0, 0.0, path_length(X_loc, order, comm))


ORDERINGS = {"skr": skr_greedy, "pca_hilbert": pca_hilbert, "none": identity}


def sort_systems(method: str, X_loc: np.ndarray, comm: MPI.Comm) -> SortResult:
    """Dispatch on ``method`` in :data:`ORDERINGS`. Collective."""
    if method not in ORDERINGS:
        raise ValueError(f"unknown ordering {method!r}; known: {', '.join(ORDERINGS)}")
    return ORDERINGS[method](X_loc, comm)
