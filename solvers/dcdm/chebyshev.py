"""Chebyshev smoother for the high end of the spectrum, paired with the DCDM net.

Chebyshev semi-iteration on D^-1 A (Saad, Iterative Methods, Alg. 12.1) started from x = 0,
with eigenvalue interval [a, b] = [b / 4, b], b = 2 = the Gershgorin bound of D^-1 A_II for the
5/7-point Laplacian. It damps the modes with eigenvalues of D^-1 A in [b/4, b] (the upper
three quarters, i.e. the oscillatory modes) and leaves smooth modes to the net:

    theta = (b + a)/2, delta = (b - a)/2, sigma = theta/delta, rho_0 = 1/sigma
    d_0 = D^-1 r / theta;  x_{k+1} = x_k + d_k;  r_{k+1} = r_k - A d_k
    rho_{k+1} = 1/(2 sigma - rho_k);  d_{k+1} = rho_{k+1} rho_k d_k + (2 rho_{k+1}/delta) D^-1 r_{k+1}

``degree`` = number of terms (degree - 1 matrix-vector products). The same recurrence runs on
torch tensors (training) and on PETSc Vecs (solving), so the trained composite is the one solved
with.
"""
from __future__ import annotations

from typing import Callable

import torch
from petsc4py import PETSc

B_MAX = 2.0
A_MIN = B_MAX / 4


def _coefficients(degree: int) -> list[tuple[float, float]]:
    """(carry, gain) per step: d_{k+1} = carry d_k + gain D^-1 r_{k+1}."""
    theta, delta = (B_MAX + A_MIN) / 2, (B_MAX - A_MIN) / 2
    sigma = theta / delta
    rho = 1.0 / sigma
    out = []
    for _ in range(degree - 1):
        rho_new = 1.0 / (2.0 * sigma - rho)
        out.append((rho_new * rho, 2.0 * rho_new / delta))
        rho = rho_new
    return out


def smooth_torch(apply_a: Callable[[torch.Tensor], torch.Tensor], diag: float, r: torch.Tensor,
                 degree: int) -> torch.Tensor:
    """x ~ A^-1 r on the high modes: ``degree`` Chebyshev terms from x = 0 (torch, batched)."""
    theta = (B_MAX + A_MIN) / 2
    d = r / (diag * theta)
    x = d
    for carry, gain in _coefficients(degree):
        r = r - apply_a(d)
        d = carry * d + gain * r / diag
        x = x + d
    return x


def smooth_petsc(A: PETSc.Mat, inv_diag: PETSc.Vec, r: PETSc.Vec, x: PETSc.Vec, degree: int) -> None:
    """x <- ``degree`` Chebyshev terms for A x = r from x = 0 (PETSc Vecs). Collective."""
    theta = (B_MAX + A_MIN) / 2
    res = r.copy()
    d = r.duplicate()
    d.pointwiseMult(inv_diag, res)
    d.scale(1.0 / theta)
    d.copy(x)
    ad = r.duplicate()
    w = r.duplicate()
    for carry, gain in _coefficients(degree):
        A.mult(d, ad)
        res.axpy(-1.0, ad)
        w.pointwiseMult(inv_diag, res)
        d.scale(carry)
        d.axpy(gain, w)
        x.axpy(1.0, d)
    for v in (res, d, ad, w):
        v.destroy()
