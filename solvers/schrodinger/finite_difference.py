"""Classical reference: 3-point finite differences + scipy.linalg.eigh_tridiagonal (validation.md).

Nodes x_i = x_a + i h, i = 1..N, h = (x_b - x_a)/(N + 1); -c (ψ_{i-1} - 2ψ_i + ψ_{i+1})/h² + V_i ψ_i = E ψ_i.
V_i is the mean of V over [x_i - h/2, x_i + h/2]: when a jump lies midway between two nodes this is
the point value (the second-order "jump between nodes" placement); ``midway_size`` picks such an N.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal

from .potentials import Potential


@dataclass
class FDResult:
    E: np.ndarray          # (n,)
    x: np.ndarray          # (N + 2,) nodes including the walls
    psi: np.ndarray        # (n, N + 2), ∑ ψ² h = 1, first interior value > 0


def midway_size(pot: Potential, n_target: int, search: int = 4000) -> int:
    """The smallest N >= n_target for which every jump of V lies midway between two nodes (else n_target)."""
    jumps = np.asarray(pot.merged().edges[1:-1])
    for N in range(n_target, n_target + search):
        h = pot.length / (N + 1)
        frac = ((jumps - pot.lo) / h) % 1.0
        if np.all(np.abs(frac - 0.5) < 1e-9):
            return N
    return n_target


def solve(pot: Potential, n_states: int, N: int) -> FDResult:
    """The lowest ``n_states`` eigenpairs on N interior nodes."""
    if N < n_states:
        raise ValueError(f"need at least {n_states} interior nodes, got N = {N}")
    h = pot.length / (N + 1)
    xi = pot.lo + h * np.arange(1, N + 1)
    d = 2 * pot.c / h ** 2 + pot.cell_average(xi, h)
    e = np.full(N - 1, -pot.c / h ** 2)
    E, vec = eigh_tridiagonal(d, e, select="i", select_range=(0, n_states - 1))
    vec = vec.T / np.sqrt(h)
    vec *= np.sign(vec[:, :1])
    psi = np.zeros((n_states, N + 2))
    psi[:, 1:-1] = vec
    return FDResult(E, np.concatenate([[pot.lo], xi, [pot.hi]]), psi)
