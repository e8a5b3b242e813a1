"""Training right-hand sides from Ritz vectors of A (Kaneda et al., arXiv 2205.10763, Sec. 3.4).

``lanczos_ritz`` runs m steps of Lanczos with full reorthogonalisation on h_0^2 A_II from a
random start vector: A Q_m = Q_m T_m + beta_m q_{m+1} e_m^T, T_m = Y diag(theta) Y^T, and the
Ritz pairs are (theta_j, Q_m y_j). The extreme Ritz pairs converge to eigenpairs; the others
spread over the whole spectrum. ``RitzSampler`` draws

    b = sum_j c_j (theta_1 / theta_j)^p v_j / ||.||,    c_j ~ N(0, 1),

so the weight decays like theta^-p toward the high end ("weighted toward the low end of the
spectrum"; p = ``spectrum_decay``), unit-normalised, zero on the boundary. With each b comes its
energy b^T A^-1 b, estimated from the Ritz pairs, for the energy-norm loss (``train``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.linalg as sla
import torch

from .stencil import interior_matrix


def lanczos_ritz(shape: Sequence[int], h: Sequence[float], steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values (ascending) and Ritz vectors (interior nodes x steps) of h_0^2 A_II."""
    A = interior_matrix(shape, h)
    n = A.shape[0]
    m = min(steps, n)
    rng = np.random.default_rng(seed)
    Q = np.zeros((n, m + 1))
    q = rng.standard_normal(n)
    Q[:, 0] = q / np.linalg.norm(q)
    alpha, beta = np.zeros(m), np.zeros(m)
    for j in range(m):
        w = A @ Q[:, j]
        alpha[j] = Q[:, j] @ w
        w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)          # full reorthogonalisation (twice)
        w -= Q[:, :j + 1] @ (Q[:, :j + 1].T @ w)
        beta[j] = np.linalg.norm(w)
        if beta[j] < 1e-12:
            m = j + 1
            break
        Q[:, j + 1] = w / beta[j]
    theta, Y = sla.eigh_tridiagonal(alpha[:m], beta[:m - 1])
    return theta, Q[:, :m] @ Y


class RitzSampler:
    """Batches ``(B, 1, *shape)`` of unit-norm right-hand sides from Ritz vectors (see module)."""

    def __init__(self, shape: Sequence[int], h: Sequence[float], steps: int, decay: float, seed: int):
        theta, V = lanczos_ritz(shape, h, steps, seed)
        self.shape = tuple(shape)
        self.theta = theta
        self.weights = (theta[0] / theta) ** decay
        self.V = torch.tensor(V * self.weights, dtype=torch.float32)
        self.gen = torch.Generator().manual_seed(seed + 1)

    def sample(self, batch: int, gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(b, e): unit right-hand sides and their energies e = b^T A^-1 b ~ sum_j (b^T v_j)^2 / theta_j
        (exact for exact eigenvectors; the Ritz estimate otherwise). Coefficients from ``gen``
        (default the training stream ``self.gen``)."""
        c = torch.randn(self.V.shape[1], batch, generator=self.gen if gen is None else gen)
        inner = (self.V @ c).T                                  # (batch, n_interior)
        norms = inner.norm(dim=1, keepdim=True)
        inner = inner / norms
        coef = c.T * torch.tensor(self.weights, dtype=torch.float32) / norms
        energy = (coef ** 2 / torch.tensor(self.theta, dtype=torch.float32)).sum(1)
        ishape = tuple(n - 2 for n in self.shape)
        # interior nodes are stored x fastest (Fortran order): reverse the axes
        fields = inner.reshape((batch,) + ishape[::-1]).permute(0, *range(len(ishape), 0, -1))
        out = torch.zeros((batch, 1) + self.shape)
        out[(slice(None), 0) + tuple(slice(1, n - 1) for n in self.shape)] = fields
        return out, energy
