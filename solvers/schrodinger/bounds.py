"""A posteriori eigenvalue bounds from an approximate eigenfunction's own residual (papers.md §5).

For ψ with ρ = ⟨ψ, Hψ⟩/⟨ψ, ψ⟩ (Rayleigh quotient) and ε = ‖(H - ρ)ψ‖/‖ψ‖ (residual norm):
- Weinstein (1934): [ρ - ε, ρ + ε] contains an eigenvalue of H.
- Kato–Temple (Temple 1928, Kato 1949): if α ≥ λ_{n-1} and β ≤ λ_{n+1} with α < ρ < β, then
  ρ - ε²/(β - ρ) ≤ λ_n ≤ ρ + ε²/(ρ - α)   (from ⟨(H - λ_n)(H - β)ψ, ψ⟩ ≥ 0 and ⟨(H - α)(H - λ_n)ψ, ψ⟩ ≥ 0).
For the ground state α = -∞ (upper bound ρ, Rayleigh–Ritz). α for state n is the upper bound already
found for state n-1; β is ρ_{n+1} - ε_{n+1} (the next state's Weinstein interval; this presumes that
interval holds λ_{n+1}, which the node count and disjoint, ordered intervals support) or, for the
highest bound state of a potential on the line, the continuum threshold V∞: by min-max with the
box's functions extended by zero, the (N+1)-th box level is ≥ the line's, i.e. ≥ V∞ when the line
has N bound states. The reported interval is the intersection of Weinstein and Kato–Temple, widened
by a few ulps of ρ (ρ and ε are quadratures of the trained network, exact to rounding).
"""
from __future__ import annotations

import numpy as np

ULPS = 64 * np.finfo(float).eps


def weinstein(rho: float, eps: float) -> tuple[float, float]:
    """[ρ - ε, ρ + ε]: holds an eigenvalue."""
    return rho - eps, rho + eps


def kato_temple(rho: float, eps: float, alpha: float, beta: float) -> tuple[float, float]:
    """[ρ - ε²/(β - ρ), ρ + ε²/(ρ - α)] (α = -∞ or β = +∞ allowed): holds λ_n when λ_{n-1} ≤ α < ρ < β ≤ λ_{n+1}."""
    lo = rho - eps ** 2 / (beta - rho) if np.isfinite(beta) else -np.inf
    hi = rho + eps ** 2 / (rho - alpha) if np.isfinite(alpha) else rho
    return lo, hi


def state_bounds(rho: np.ndarray, eps: np.ndarray, beta_top: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of λ_0..λ_{m-1} from the Rayleigh quotients ``rho`` and residual norms
    ``eps`` of m consecutive states (module docstring). ``beta_top`` is a lower bound of λ_m (V∞ when
    state m-1 is the highest bound state on the line; +∞ when unknown: Weinstein only below)."""
    m = len(rho)
    lo, hi = np.empty(m), np.empty(m)
    alpha = -np.inf
    for n in range(m):
        beta = rho[n + 1] - eps[n + 1] if n + 1 < m else beta_top
        w_lo, w_hi = weinstein(rho[n], eps[n])
        if alpha < rho[n] < beta:
            k_lo, k_hi = kato_temple(rho[n], eps[n], alpha, beta)
        else:                                            # the gap is not resolved: Weinstein only
            k_lo, k_hi = -np.inf, np.inf
        pad = ULPS * max(abs(rho[n]), 1.0)
        lo[n], hi[n] = max(w_lo, k_lo) - pad, min(w_hi, k_hi) + pad
        alpha = hi[n]
    return lo, hi
