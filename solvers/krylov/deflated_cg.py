"""Deflated preconditioned CG with a recycled deflation space (SPD sequences).

Saad, Yeung, Erhel, Guyomarc'h, SIAM J. Sci. Comput. 21 (2000) 1909-1926: with a deflation
basis W (k vectors), AW = A W and E = W^T A W,

    x_0 = x_{-1} + W E^{-1} W^T r_{-1},  r_0 = b - A x_0 (W^T r_0 = 0),  z_0 = M^{-1} r_0,
    p_0 = z_0 - W E^{-1} (AW)^T z_0                                            (Alg. 3.1/5.1)
    α_j = (r_j, z_j) / (p_j, A p_j),  x += α_j p_j,  r -= α_j A p_j,  z = M^{-1} r,
    β_j = (r_{j+1}, z_{j+1}) / (r_j, z_j),  p_{j+1} = β_j p_j + z_{j+1} - W E^{-1} (AW)^T z_{j+1}.

The search directions stay A-orthogonal to W, so every step works in the complement of the
deflated (small-eigenvalue) space. Recycling (their §4): after a solve, the next W is the k
Ritz vectors with the smallest Ritz values of A on span[W, P_l], P_l the first l search
directions; since P_l is A-orthogonal to W and A-conjugate, S^T A S = diag(E, p_j^T A p_j)
needs no extra products with A, only the Gram matrix S^T S. For the next system (A changed)
AW and E are recomputed (k products with A). Cost per iteration over PCG: one k-vector
projection (a GEMV, one reduction, a GEMV).

Convergence: PETSc's default test on the unpreconditioned residual, ||r_j|| <= max(rtol ||b||,
atol) (``KSP_NORM_UNPRECONDITIONED``), as for every solver in the recycling benchmark.

    -ksp_type python -ksp_python_type solvers.krylov.deflated_cg.DeflatedCG
    -ksp_dcg_k 10 -ksp_dcg_l 20 -ksp_dcg_recycle true      (or by name: -<prefix>ksp_type dcg)
"""
from __future__ import annotations

import numpy as np
import scipy.linalg as sla
from petsc4py import PETSc

from .gcrodr import SolveStats, _Ops


class DeflatedCG:
    """petsc4py Python-KSP context: deflated PCG with a recycled deflation space (see module)."""

    def __init__(self, k: int = 10, l: int = 20, recycle: bool = True):  # noqa: E741 (the paper's l)
        _check(k, l)
        self.k, self.l, self.recycle = int(k), int(l), bool(recycle)
        self._empty = np.zeros((0, 0))
        self.W = self._empty
        self.stats = SolveStats()

    @property
    def label(self) -> str:
        return f"DCG({self.k},{self.l})"

    # -- petsc4py hooks --------------------------------------------------------------------
    def create(self, ksp: PETSc.KSP) -> None:
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)

    def setFromOptions(self, ksp: PETSc.KSP) -> None:
        opts = PETSc.Options(ksp.getOptionsPrefix() or "")
        k, l = opts.getInt("ksp_dcg_k", self.k), opts.getInt("ksp_dcg_l", self.l)  # noqa: E741
        _check(k, l)
        self.k, self.l = k, l
        self.recycle = opts.getBool("ksp_dcg_recycle", self.recycle)

    def reset(self, ksp: PETSc.KSP | None = None) -> None:
        self.W = self._empty

    def view(self, ksp: PETSc.KSP, viewer: PETSc.Viewer) -> None:
        viewer.printfASCII(f"  deflated PCG, k={self.k}, l={self.l}, recycle={self.recycle}, "
                           f"deflation space dim {self.W.shape[0]}\n")

    def solve(self, ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec) -> None:
        A = ksp.getOperators()[0]
        st = self.stats = SolveStats()
        ops = _Ops(A, ksp.getPC(), st)
        max_it = ksp.getTolerances()[3]
        if not self.recycle or (self.W.shape[0] and self.W.shape[1] != ops.nloc):
            self.reset()
        xl, r, rnorm, reason = ops.start(ksp, b, x)
        W = self.W
        kk = W.shape[0]
        st.recycled_dim = kk
        if kk and not reason:                             # AW, E = W^T A W; x += W E^{-1} W^T r
            AW = np.empty_like(W)
            for i in range(kk):
                ops.matvec(W[i], AW[i])
            st.recomputed_c = True
            E = ops.allsum(W @ AW.T)
            E = 0.5 * (E + E.T)
            Ef = sla.cho_factor(E)
            mu = sla.cho_solve(Ef, ops.allsum(W @ r))
            xl += mu @ W
            r -= mu @ AW
            st.projection_gain = ops.norm(r) / rnorm if rnorm > 0 else 1.0
        z = np.empty(ops.nloc)
        self._precond(ops, r, z)
        p = z.copy()
        if kk:
            p -= sla.cho_solve(Ef, ops.allsum(AW @ z)) @ W
        P = np.empty((min(self.l, max_it), ops.nloc)) if self.recycle else None
        d = []                                            # p_j^T A p_j of the stored directions
        rz = ops.allsum(np.array([r @ z]))[0]
        q = np.empty(ops.nloc)
        its = 0
        while not reason:
            ops.matvec(p, q)
            pq = ops.allsum(np.array([p @ q]))[0]
            if pq <= 0:
                reason = PETSc.KSP.ConvergedReason.DIVERGED_INDEFINITE_MAT
                break
            if P is not None and its < P.shape[0]:
                P[its] = p
                d.append(pq)
            alpha = rz / pq
            xl += alpha * p
            r -= alpha * q
            self._precond(ops, r, z)
            red = ops.allsum(np.array([r @ z, r @ r]))
            rz_new, rnorm = red[0], float(np.sqrt(red[1]))
            its += 1
            ksp.setIterationNumber(its)
            ksp.setResidualNorm(rnorm)
            ksp.logConvergenceHistory(rnorm)
            ksp.monitor(its, rnorm)
            reason = ksp.callConvergenceTest(its, rnorm)
            if not reason and its >= max_it:
                reason = PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT
            if reason:
                break
            beta = rz_new / rz
            rz = rz_new
            p *= beta
            p += z
            if kk:
                p -= sla.cho_solve(Ef, ops.allsum(AW @ z)) @ W
        st.iterations = its
        if P is not None and self.k > 0 and d:
            self._ritz(ops, E if kk else None, P[:len(d)], np.array(d))
        with x as xa:
            xa[:] = xl
        ops.destroy()
        ksp.setConvergedReason(reason)

    def _precond(self, ops: _Ops, r: np.ndarray, z: np.ndarray) -> None:
        if ops.identity_pc:
            z[:] = r
        else:
            ops.precond(r, z)

    def _ritz(self, ops: _Ops, E: np.ndarray | None, P: np.ndarray, d: np.ndarray) -> None:
        """W <- the k Ritz vectors of A with smallest Ritz values on span[W, P] (Saad et al. §4)."""
        W = self.W
        pn = np.sqrt(ops.allsum(np.einsum("ij,ij->i", P, P)))
        P = P / pn[:, None]
        S = np.vstack([W, P]) if W.shape[0] else P
        SAS = np.diag(np.concatenate([np.zeros(W.shape[0]), d / pn ** 2]))
        if W.shape[0]:
            SAS[:W.shape[0], :W.shape[0]] = E
        SS = ops.allsum(S @ S.T)
        lam, V = np.linalg.eigh(0.5 * (SS + SS.T))
        keep = lam > 1e-10 * lam.max()
        T = V[:, keep] / np.sqrt(lam[keep])               # S T has orthonormal columns
        theta, Y = np.linalg.eigh(T.T @ SAS @ T)
        C = T @ Y[:, :min(self.k, Y.shape[1])]
        Wn = C.T @ S
        nrm = np.sqrt(ops.allsum(np.einsum("ij,ij->i", Wn, Wn)))
        self.W = Wn / nrm[:, None]


def _check(k: int, l: int) -> None:  # noqa: E741
    if k < 0:
        raise ValueError(f"deflated CG: k (-ksp_dcg_k) must be >= 0, got {k}")
    if l < 1:
        raise ValueError(f"deflated CG: l (-ksp_dcg_l) must be >= 1, got {l}")
