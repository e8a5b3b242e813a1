"""The DCDM iteration on PETSc Vecs (Kaneda et al., arXiv 2205.10763, Alg. 2).

With M the learned direction map (``Direction``), x_0 exact on the boundary rows and
r_0 = b - A x_0:

    q_k = M(r_k)                                     (net(r/||r||), optionally between smoothers)
    q_k <- q_k - sum_{j=k-m}^{k-1} (q_k^T A p_j)/(p_j^T A p_j) p_j   (A-orthogonalise, m = ``k``)
    alpha_k = (q_k^T r_k)/(q_k^T A q_k);  x += alpha_k q_k;  r -= alpha_k A q_k;  p_k = q_k

stopping when ||r|| <= max(rtol ||b||, atol), confirmed on the true residual b - A x. A p_j are
stored, so an iteration costs one matrix-vector product plus one application of M. With the
identity map and m >= 1 the directions are exactly CG's (the iteration is then CG).

Boundary rows: the project's operator is diag(s I, A_II) (symmetric Dirichlet elimination,
``solvers.poisson.operator``), so x_b = b_b / s is exact and every later direction vanishes on the
boundary; the net only ever sees interior residuals. ``Direction`` still maps a boundary residual
r_b to r_b / s, so that it is a complete preconditioner inside PETSc's KSPFCG (``fcg_solve``).

Parallel (np > 1): the net is not distributed. Each application gathers the residual to rank 0
(``Grid.gather``), runs the net there, broadcasts the direction array and each rank keeps its
block (``Grid.scatter``). The smoother, products and reductions stay distributed. Because the
net sees the same gathered array on any number of ranks, np = 1 and np = 2 give the same iterates
up to round-off in the parallel dot products.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from petsc4py import PETSc

from meshes import Grid

from .. import ksp as kspmod
from .chebyshev import smooth_petsc
from .model import DCDMNet


class Direction:
    """The direction map M(r) on PETSc Vecs. Collective.

    ``net=None`` is the identity "network" (M(r) = r). ``degree`` > 0 sandwiches the net between
    Chebyshev smoothers exactly as in training (``train.composite``):
    y = S r; s = r - A y; n = net(s/||s||); y += (n^T s)/(n^T A n) n; M(r) = y + S(r - A y).
    """

    def __init__(self, grid: Grid, A: PETSc.Mat, bc_scale: float, mask: PETSc.Vec,
                 net: DCDMNet | None, degree: int = 0, threads: int = 1):
        self.grid, self.A, self.net, self.degree = grid, A, net, degree
        self.bc_scale, self.mask = bc_scale, mask
        self.threads = threads
        self.inv_diag = A.getDiagonal()
        self.inv_diag.reciprocal()
        self.interior = mask.duplicate()
        self.interior.set(1.0)
        self.interior.axpy(-1.0, mask)
        self.net_time = 0.0
        self.applications = 0

    def _net(self, r: PETSc.Vec, out: PETSc.Vec) -> None:
        """out = net(r / ||r||) on interior nodes (the net runs on rank 0: r is gathered there and
        the result scattered back; no other rank holds the whole field). Collective."""
        if self.net is None:
            out.pointwiseMult(r, self.interior)
            return
        t0 = time.perf_counter()
        comm = self.grid.comm
        arr = self.grid.gather(r)
        q = None
        if comm.rank == 0:
            torch.set_num_threads(self.threads)
            nrm = np.linalg.norm(arr)
            with torch.no_grad():
                x = torch.from_numpy(arr / (nrm if nrm > 0 else 1.0)).float()[None, None]
                q = self.net(x)[0, 0].double().numpy()
        self.grid.from_root(q, out)
        out.pointwiseMult(out, self.interior)
        self.net_time += time.perf_counter() - t0

    def apply(self, r: PETSc.Vec, q: PETSc.Vec) -> None:
        """q = M(r): M on the interior part of r, r_b / s on the boundary rows. Collective."""
        self.applications += 1
        ri = r.duplicate()
        ri.pointwiseMult(r, self.interior)
        if self.degree == 0:
            self._net(ri, q)
        else:
            A = self.A
            smooth_petsc(A, self.inv_diag, ri, q, self.degree)
            s, n, an = r.duplicate(), r.duplicate(), r.duplicate()
            A.mult(q, s)
            s.aypx(-1.0, ri)                                  # s = r - A y
            self._net(s, n)
            A.mult(n, an)
            nan = n.dot(an)
            if nan > 0:
                q.axpy(n.dot(s) / nan, n)
            A.mult(q, s)
            s.aypx(-1.0, ri)
            smooth_petsc(A, self.inv_diag, s, n, self.degree)
            q.axpy(1.0, n)
            for v in (s, n, an):
                v.destroy()
        ri.pointwiseMult(r, self.mask)                       # exact on the decoupled boundary rows
        q.axpy(1.0 / self.bc_scale, ri)
        ri.destroy()


class _PCContext:
    """Adapter: a ``Direction`` as a PETSc python PC (``apply(pc, x, y)``)."""

    def __init__(self, direction: Direction):
        self.direction = direction

    def apply(self, pc: PETSc.PC, x: PETSc.Vec, y: PETSc.Vec) -> None:
        self.direction.apply(x, y)


@dataclass
class DCDMResult:
    iterations: int
    converged: bool
    reason: str
    residual_norm: float
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))   # ||r_k|| / ||b||
    solve_time: float = 0.0
    net_time: float = 0.0


def boundary_guess(b: PETSc.Vec, x: PETSc.Vec, bc_scale: float, mask: PETSc.Vec) -> None:
    """x <- b / s on the boundary rows (exact there), 0 inside."""
    x.pointwiseMult(b, mask)
    x.scale(1.0 / bc_scale)


def dcdm_solve(A: PETSc.Mat, b: PETSc.Vec, x: PETSc.Vec, direction: Direction, rtol: float = 1e-6,
               atol: float = 1e-50, max_it: int = 1000, k: int = 2) -> DCDMResult:
    """Solve A x = b by DCDM from x = boundary guess (module docstring). Collective."""
    t0 = time.perf_counter()
    net0 = direction.net_time
    boundary_guess(b, x, direction.bc_scale, direction.mask)
    r = b.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, b)
    bnorm = b.norm()
    tol = max(rtol * bnorm, atol)
    rnorm = r.norm()
    history = [rnorm / bnorm if bnorm > 0 else 0.0]
    P: list[tuple[PETSc.Vec, PETSc.Vec, float]] = []            # (p_j, A p_j, p_j^T A p_j)
    it, reason = 0, "DIVERGED_ITS"
    while True:
        if rnorm <= tol:
            A.mult(x, r)                                         # confirm on the true residual
            r.aypx(-1.0, b)
            rnorm = r.norm()
            if rnorm <= tol:
                reason = "CONVERGED_RTOL" if tol > atol else "CONVERGED_ATOL"
                break
        if it >= max_it:
            break
        q = b.duplicate()
        direction.apply(r, q)
        aq = b.duplicate()
        A.mult(q, aq)
        for p, ap, pap in P:
            beta = q.dot(ap) / pap
            q.axpy(-beta, p)
            aq.axpy(-beta, ap)
        qaq = q.dot(aq)
        if not qaq > 0:
            reason = "DIVERGED_INDEFINITE_PC"
            break
        alpha = q.dot(r) / qaq
        x.axpy(alpha, q)
        r.axpy(-alpha, aq)
        P.append((q, aq, qaq))
        if len(P) > k:
            for v in P.pop(0)[:2]:
                v.destroy()
        it += 1
        rnorm = r.norm()
        history.append(rnorm / bnorm)
    for p, ap, _ in P:
        p.destroy()
        ap.destroy()
    r.destroy()
    return DCDMResult(it, reason.startswith("CONVERGED"), reason, rnorm, np.array(history),
                      time.perf_counter() - t0, direction.net_time - net0)


def fcg_ksp(A: PETSc.Mat, direction: Direction, rtol: float = 1e-6, atol: float = 1e-50,
            max_it: int = 1000, k: int = 2, prefix: str = "dcdm_") -> PETSc.KSP:
    """DCDM the PETSc way: KSPFCG (truncation ``standard``, mmax = k, unpreconditioned norm) with a
    python PC applying ``direction``. Start it from ``boundary_guess`` with a nonzero initial guess
    to get the iterates of ``dcdm_solve``. Options under ``-<prefix>`` override (:func:`solvers.ksp.make_ksp`;
    destroy it with :func:`solvers.ksp.destroy`). Collective."""
    spec = kspmod.KSPSpec("fcg", PETSc.PC.Type.PYTHON, rtol=rtol, atol=atol, max_it=max_it,
                          initial_guess_nonzero=True, norm="unpreconditioned", history=True,
                          options={"ksp_fcg_mmax": k, "ksp_fcg_truncation_type": "standard"},
                          pc_context=_PCContext(direction))
    return kspmod.make_ksp(A, spec, prefix)
