"""The interior block of the project's Poisson matrix, as a torch convolution and a scipy matrix.

``solvers.poisson.operator.assemble`` eliminates Dirichlet rows symmetrically, so on the full
vertex grid A = diag(s I_boundary, A_II): boundary nodes decouple. DCDM solves the boundary rows
exactly (x_b = b_b / s) and iterates on A_II, the 5/7-point stencil
(A_II u)_i = sum_d (2 u_i - u_{i-e_d} - u_{i+e_d}) / h_d^2 with zero boundary values. Here A_II is
scaled by ``scale`` = h_0^2 so its entries are O(1); the DCDM loss, the line searches and the
Jacobi/Chebyshev smoother are all invariant to that scaling.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F


def weights(h: Sequence[float]) -> np.ndarray:
    """Per-dimension stencil weights h_0^2 / h_d^2."""
    return np.array([h[0] ** 2 / hd ** 2 for hd in h])


def interior_mask(shape: Sequence[int]) -> np.ndarray:
    """1.0 on interior nodes, 0.0 on boundary nodes."""
    m = np.zeros(shape)
    m[tuple(slice(1, n - 1) for n in shape)] = 1.0
    return m


class Laplacian:
    """h_0^2 A_II applied to batches ``(B, 1, *shape)`` of fields that vanish on the boundary."""

    def __init__(self, shape: Sequence[int], h: Sequence[float], dtype=torch.float32):
        dim = len(shape)
        w = weights(h)
        k = np.zeros((3,) * dim)
        centre = (1,) * dim
        k[centre] = 2.0 * w.sum()
        for d in range(dim):
            for s in (0, 2):
                idx = list(centre)
                idx[d] = s
                k[tuple(idx)] = -w[d]
        self.dim = dim
        self.kernel = torch.tensor(k, dtype=dtype)[None, None]
        self.mask = torch.tensor(interior_mask(shape), dtype=dtype)[None, None]
        self.diag = float(2.0 * w.sum())

    def __call__(self, u: torch.Tensor) -> torch.Tensor:
        conv = F.conv2d if self.dim == 2 else F.conv3d
        return conv(u, self.kernel, padding=1) * self.mask


def interior_matrix(shape: Sequence[int], h: Sequence[float]) -> sp.csr_matrix:
    """h_0^2 A_II as a scipy matrix on the interior nodes (x fastest, i.e. Fortran order)."""
    w = weights(h)
    inner = [n - 2 for n in shape]
    ops = []
    for d, n in enumerate(inner):
        t = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]) * w[d]
        mats = [sp.identity(m) for m in inner]
        mats[d] = t
        kron = mats[0]
        for m in mats[1:]:                       # Fortran order: later dimensions vary slower
            kron = sp.kron(m, kron)
        ops.append(kron)
    return sp.csr_matrix(sum(ops))
