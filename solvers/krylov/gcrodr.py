"""GCRO-DR(m, k): GMRES with deflated restarting and subspace recycling across systems.

Parks, de Sturler, Mackey, Johnson, Maiti, SIAM J. Sci. Comput. 28 (2006) 1651-1674, Alg. 2.1,
in the flexible right-preconditioned form of Carvalho, Giraud, Le Tallec (FGCRO-DR, SISC 2011).
The recycled space is kept in the *solution* space: Y (k vectors) with C = A Y orthonormal,

    cycle:  x += Y C^T r,  r -= C C^T r                        (projection, r ⟂ C)
            Arnoldi on (I - C C^T) A M^{-1}, p = m - k steps:  A Z_p = C B_p + V_{p+1} H̄_p,
            Z_p = M^{-1} V_p                                    (eq. 2.9 with Z stored)
            y = argmin ||β e_1 - H̄_p y||,  x += Z_p y - Y B_p y   (eq. 2.13; the C block is exact)
    new Y:  harmonic Ritz vectors of  A Ẑ = Ŵ Ĝ,  Ẑ = [Y D, Z_p], Ŵ = [C, V_{p+1}],
            Ĝ = [[D, B_p], [0, H̄_p]], D = diag(1/||y_i||):  Ĝ^T Ĝ z = θ Ĝ^T Ŵ^T V̂ z  (eq. 2.14)
            with V̂ = [U D, V_p] in the preconditioned space (U = M Y is carried along; exact for
            a fixed preconditioner), the k smallest |θ| -> P;  Ĝ P = Q R;  C <- Ŵ Q,
            Y <- Ẑ P R^{-1},  U <- V̂ P R^{-1}.
    next system (A changed):  C = A Y, then C = Q R (Cholesky QR twice, Gram-Schmidt if C is
            nearly rank deficient), Y <- Y R^{-1}, U <- U R^{-1}  (eq. 2.11).

The first cycle of a cold start (no Y) is plain right-preconditioned GMRES(m) and its harmonic
Ritz vectors seed Y. Because Y lives in the solution space, C = A Y needs k products with A
and no preconditioner; the preconditioner may change between systems (or even be reused).

Convergence (PETSc-consistent): the residual is the *unpreconditioned* ||b - A x||_2 (right
preconditioning, ``KSP_NORM_UNPRECONDITIONED``) and PETSc's own test decides:
||r_k|| <= max(rtol ||b||, atol) (KSPConvergedDefault; ||b|| also for a nonzero initial guess).
``max_it`` counts Arnoldi steps (one A M^{-1} product each); reaching it gives
``KSP_DIVERGED_ITS`` (petsc4py: DIVERGED_MAX_IT). The k products for C = A Y and one
true-residual product per cycle are not iterations: they are counted in :attr:`GCRODR.stats`
(``matvecs``). Inner products: classical Gram-Schmidt against [C, V] in one reduction, a second
pass only on severe cancellation.

Use it as a petsc4py Python KSP::

    -ksp_type python -ksp_python_type solvers.krylov.gcrodr.GCRODR
    -ksp_gcrodr_m 40 -ksp_gcrodr_k 20 -ksp_gcrodr_recycle true -ksp_monitor

or by name through the suite's factory: ``make_ksp(A, KSPSpec("gcrodr", "gamg"), "recycle_")``
(``-recycle_ksp_type gcrodr``, :mod:`solvers.ksp`). The recycled space
lives in the context and survives ``ksp.setOperators(A_next)``; ``ksp.reset()`` drops it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
from scipy.linalg.blas import dgemv as _gemv
from mpi4py import MPI
from petsc4py import PETSc

_BREAKDOWN = 1e-14
_REORTH = 0.1       # DGKS-type test: a second Gram-Schmidt pass only on severe cancellation


class GCRODROptionError(ValueError):
    """Impossible GCRO-DR parameters (m < 1, k < 0, k >= m or update_every < 1)."""


def check_parameters(m: int, k: int, update_every: int = 1) -> None:
    """Raise :class:`GCRODROptionError` naming the option unless 1 <= m, 0 <= k < m, update_every >= 1."""
    if update_every < 1:
        raise GCRODROptionError(f"GCRO-DR: -ksp_gcrodr_update_every must be >= 1, got {update_every}")
    if m < 1:
        raise GCRODROptionError(f"GCRO-DR: restart length m (-ksp_gcrodr_m) must be >= 1, got {m}")
    if k < 0 or k >= m:
        raise GCRODROptionError(f"GCRO-DR: recycled dimension k (-ksp_gcrodr_k) must satisfy 0 <= k < m = {m}, got {k}")


@dataclass
class SolveStats:
    """Work of the last solve: Arnoldi steps, products with A, PC applications, cycles, ..."""

    iterations: int = 0
    matvecs: int = 0
    pc_applies: int = 0
    cycles: int = 0
    recycled_dim: int = 0          # dim of the recycled space used at the start of the solve
    recomputed_c: bool = False     # C = A Y was recomputed (the operator changed)
    projection_gain: float = 1.0   # ||r after projecting out C|| / ||r0|| at the start
    dropped: bool = False          # the guard dropped the space after this solve (it hurt)


def harmonic_ritz(G: np.ndarray, k: int, rhs: np.ndarray | None = None) -> np.ndarray:
    """Real orthonormal basis (n x <=k) of the k harmonic Ritz vectors with smallest |θ| of
    Ĝ^T Ĝ z = θ S z, Ĝ of shape (n+1, n); S = Ĝ^T Ŵ^T V̂ (default Ĝ_top^T, Ĝ's first n rows,
    the GMRES case Ŵ^T V̂ = [I; 0]) (Parks et al. eq. 2.14)."""
    n = G.shape[1]
    if k <= 0 or n == 0:
        return np.zeros((n, 0))
    theta, Z = sla.eig(G.T @ G, G[:n, :].T if rhs is None else rhs)
    finite = np.isfinite(theta)
    order = np.argsort(np.where(finite, np.abs(theta), np.inf), kind="stable")
    cols, used = [], set()
    for i in order:
        if len(cols) >= k or not finite[i] or i in used:
            continue
        z = Z[:, i]
        if abs(theta[i].imag) > 1e-12 * max(1.0, abs(theta[i])):
            j = next((j for j in order if j not in used and j != i and
                      abs(theta[j] - np.conj(theta[i])) <= 1e-10 * max(1.0, abs(theta[i]))), None)
            if j is not None:
                used.add(j)
            cols.extend([z.real, z.imag])
        else:
            cols.append(z.real)
        used.add(i)
    P = np.array(cols[:k]).T
    Q, R = np.linalg.qr(P)
    keep = np.abs(np.diag(R)) > 1e-12 * np.abs(np.diag(R)).max()
    return Q[:, keep]


class _Ops:
    """Local dense blocks + Allreduce: A and M^{-1} applied to numpy rows through work Vecs."""

    def __init__(self, A: PETSc.Mat, pc: PETSc.PC, stats: SolveStats):
        self.A, self.pc, self.stats = A, pc, stats
        self.comm = A.getComm().tompi4py()
        self.xin, self.yout = A.createVecs()
        self.nloc = self.xin.getLocalSize()
        self.identity_pc = pc.getType() == PETSc.PC.Type.NONE
        # Gram-Schmidt block: ~1.5 MiB of basis rows (best of 0.5-3 MiB measured at 129² and 257²)
        self.gs_rows = max(1, (3 << 19) // (8 * max(1, self.nloc)))

    def _apply(self, func, src: np.ndarray, dst: np.ndarray) -> None:
        self.xin.placeArray(src)
        self.yout.placeArray(dst)
        try:
            func(self.xin, self.yout)
        finally:
            self.xin.resetArray()
            self.yout.resetArray()

    def matvec(self, src: np.ndarray, dst: np.ndarray) -> None:
        self._apply(self.A.mult, src, dst)
        self.stats.matvecs += 1

    def precond(self, src: np.ndarray, dst: np.ndarray) -> None:
        self._apply(self.pc.apply, src, dst)
        self.stats.pc_applies += 1

    def allsum(self, a: np.ndarray) -> np.ndarray:
        if self.comm.size > 1:
            self.comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
        return a

    def norm(self, v: np.ndarray) -> float:
        return float(np.sqrt(self.allsum(np.array([v @ v]))[0]))

    def block_gram_schmidt(self, basis_t: np.ndarray, w: np.ndarray, h: np.ndarray, with_norm: bool = False) -> float:
        """w -= Q Q^T w for the orthonormal columns Q = ``basis_t`` (local rows, Fortran order),
        block by block: classical Gram-Schmidt within blocks of ~1.5 MiB (they stay in cache between
        the inner products and the update; 20-30% faster than one GEMV pair here), modified across
        blocks; one Allreduce per block. Q has at least one column. h receives Q^T w; returns
        ||w||² before (if asked, in the first block's reduction)."""
        step = self.gs_rows
        ww = 0.0
        for s in range(0, basis_t.shape[1], step):
            blk = basis_t[:, s:s + step]
            e = s + blk.shape[1]
            if with_norm and s == 0:
                q = np.empty(blk.shape[1] + 1)
                q[:-1] = _gemv(1.0, blk, w, trans=1)
                q[-1] = w @ w
                self.allsum(q)
                h[s:e], ww = q[:-1], float(q[-1])
            else:
                h[s:e] = self.allsum(_gemv(1.0, blk, w, trans=1))
            _gemv(-1.0, blk, h[s:e], beta=1.0, y=w, overwrite_y=1)
        return ww

    def start(self, ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec) -> tuple[np.ndarray, np.ndarray, float, int]:
        """x0 (zero unless the initial guess is nonzero), r0 = b - A x0, ||r0||, and the
        convergence test at iteration 0 (monitor and history record it)."""
        bl = b.getArray(readonly=True)
        xl = x.getArray(readonly=True).copy() if ksp.getInitialGuessNonzero() else np.zeros(self.nloc)
        r = np.empty(self.nloc)
        if ksp.getInitialGuessNonzero():
            self.matvec(xl, r)
            r[:] = bl - r
        else:
            r[:] = bl
        rnorm = self.norm(r)
        ksp.setIterationNumber(0)
        ksp.setResidualNorm(rnorm)
        ksp.logConvergenceHistory(rnorm)
        ksp.monitor(0, rnorm)
        return xl, r, rnorm, ksp.callConvergenceTest(0, rnorm)

    def destroy(self) -> None:
        self.xin.destroy()
        self.yout.destroy()


class GCRODR:
    """petsc4py Python-KSP context implementing GCRO-DR(m, k) (see the module docstring).

    Options (with the KSP's prefix): ``-ksp_gcrodr_m`` (restart length, default 40),
    ``-ksp_gcrodr_k`` (recycled dimension, default 20, 0 = GMRES(m)), ``-ksp_gcrodr_recycle``
    (keep the space across solves, default true; false = GCRO-DR restarted from scratch per
    solve, deflated restarting within each solve), ``-ksp_gcrodr_guard`` (default false): a
    solve that used a recycled space and cost more work (products with A plus PC applications)
    than the last solve that started without one drops the space, so the next solve starts
    cold and re-measures; recycling that hurts is switched off until it helps again. (It cannot
    tell harm from systems that get harder along the sequence, hence opt-in.)
    ``-ksp_gcrodr_update_every`` (default 1, Parks et al.): recompute the harmonic Ritz space
    after every n-th cycle only (and always at the end of a solve). The update costs about three
    k x (m+1) x n GEMMs, ~7 Arnoldi steps at m = 40, k = 20 on a 5-point stencil; n = 3 cut the
    time of the unpreconditioned Darcy benchmark by ~15% at ~2% more iterations (docs/recycling.md).
    Basis vectors are rows of local dense blocks; Gram-Schmidt runs block-wise
    (:meth:`_Ops.block_gram_schmidt`, one GEMV pair and one Allreduce per block). Collective on the KSP.
    """

    def __init__(self, m: int = 40, k: int = 20, recycle: bool = True, guard: bool = False, update_every: int = 1):
        check_parameters(m, k, update_every)
        self.m, self.k, self.recycle, self.guard = int(m), int(k), bool(recycle), bool(guard)
        self.update_every = int(update_every)
        self._cold_work: int | None = None
        self._empty = np.zeros((0, 0))
        self.Y = self._empty               # recycled solution-space basis (rows), C = A Y
        self.C = np.zeros((0, 0))          # orthonormal rows
        self.U = np.zeros((0, 0))          # the same space before preconditioning, Y = M^{-1} U
        self._ctu = np.zeros((0, 0))       # C^T U (rows: C @ U.T), carried through the updates
        self._ynorm = np.zeros(0)
        self._op_key: tuple | None = None
        self.stats = SolveStats()

    @property
    def recycled_dim(self) -> int:
        return self.Y.shape[0]

    @property
    def label(self) -> str:
        return f"GCRODR({self.m},{self.k})"

    # -- petsc4py Python-KSP hooks ---------------------------------------------------------
    def create(self, ksp: PETSc.KSP) -> None:
        ksp.setPCSide(PETSc.PC.Side.RIGHT)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)

    def setFromOptions(self, ksp: PETSc.KSP) -> None:
        opts = PETSc.Options(ksp.getOptionsPrefix() or "")
        m = opts.getInt("ksp_gcrodr_m", self.m)
        k = opts.getInt("ksp_gcrodr_k", self.k)
        every = opts.getInt("ksp_gcrodr_update_every", self.update_every)
        check_parameters(m, k, every)
        self.m, self.k, self.update_every = m, k, every
        self.recycle = opts.getBool("ksp_gcrodr_recycle", self.recycle)
        self.guard = opts.getBool("ksp_gcrodr_guard", self.guard)

    def setUp(self, ksp: PETSc.KSP) -> None:
        if ksp.getPCSide() != PETSc.PC.Side.RIGHT:
            raise GCRODROptionError("GCRO-DR supports right preconditioning only (-ksp_pc_side right)")

    def reset(self, ksp: PETSc.KSP | None = None) -> None:
        """Forget the recycled space (also called by KSPReset/KSPDestroy, possibly at exit)."""
        self.Y = self.C = self.U = self._ctu = self._empty
        self._ynorm, self._op_key = self._empty.reshape(0), None

    def view(self, ksp: PETSc.KSP, viewer: PETSc.Viewer) -> None:
        viewer.printfASCII(f"  GCRO-DR(m={self.m}, k={self.k}), recycle={self.recycle}, guard={self.guard}, "
                           f"update_every={self.update_every}, "
                           f"recycled space dim {self.recycled_dim}, flexible right preconditioning\n")

    # -- the method ------------------------------------------------------------------------
    def solve(self, ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec) -> None:
        A = ksp.getOperators()[0]
        st = self.stats = SolveStats()
        ops = _Ops(A, ksp.getPC(), st)
        max_it = ksp.getTolerances()[3]
        if not self.recycle or (self.recycled_dim and self.Y.shape[1] != ops.nloc):
            self.reset()                                  # cold: deflated restarts within this solve only
        xl, r, rnorm0, reason = ops.start(ksp, b, x)
        bl = b.getArray(readonly=True)
        its, first = 0, True
        if not reason and self.recycled_dim:
            key = self._op_key
            if key is None or key[0].handle != A.handle or key[1] != A.stateGet():
                self._refresh_c(ops)
                st.recomputed_c = True
            st.recycled_dim = self.recycled_dim
        while not reason:
            if self.recycled_dim:                         # x += Y C^T r, r -= C C^T r
                c = ops.allsum(self.C @ r)
                xl += c @ self.Y
                r -= c @ self.C
            beta = ops.norm(r)
            if first:
                st.projection_gain = beta / rnorm0
                first = False
            if beta == 0.0:                               # exact in the recycled space
                reason = PETSc.KSP.ConvergedReason.CONVERGED_ATOL
                break
            st.cycles += 1
            its, reason = self._cycle(ksp, ops, xl, r, beta, its, max_it, st.cycles)
            if not reason:
                ops.matvec(xl, r)                         # true residual for the next cycle
                r[:] = bl - r
        st.iterations = its
        work = st.matvecs + st.pc_applies
        if not st.recycled_dim:
            self._cold_work = work
        elif self.guard and self._cold_work is not None and work > self._cold_work:
            self.reset()
            st.dropped = True
        if self.recycled_dim:                             # holding A keeps its address unique
            self._op_key = (A, A.stateGet())
        with x as xa:
            xa[:] = xl
        ops.destroy()
        ksp.setConvergedReason(reason)

    def _refresh_c(self, ops: _Ops) -> None:
        """C = A Y, then C = Q R (Cholesky QR, twice; Gram-Schmidt if C is near rank deficient),
        Y <- Y R^{-1}, U <- U R^{-1} (Parks et al. eq. 2.11)."""
        Y, U = self.Y, self.U
        C = np.empty_like(Y)
        for i in range(Y.shape[0]):
            ops.matvec(Y[i], C[i])
        try:
            for _ in range(2):                            # CholQR2: C = R^T Q^T, rows orthonormal
                G = ops.allsum(C @ C.T)
                L = np.linalg.cholesky(0.5 * (G + G.T))
                if np.diag(L).min() <= 1e-7 * np.diag(L).max():
                    raise np.linalg.LinAlgError("ill-conditioned C")
                Linv = sla.solve_triangular(L, np.eye(L.shape[0]), lower=True)   # k x k, then GEMMs
                C, Y = Linv @ C, Linv @ Y
                U = Y if ops.identity_pc else Linv @ U
        except np.linalg.LinAlgError:
            C, Y, U = self._gram_schmidt(ops, C, self.Y.copy(), self.U.copy())
        self.Y, self.C, self.U = Y, C, U
        self._ctu = ops.allsum(C @ U.T)
        self._ynorm = np.sqrt(ops.allsum(np.einsum("ij,ij->i", Y, Y)))

    @staticmethod
    def _gram_schmidt(ops: _Ops, C: np.ndarray, Y: np.ndarray, U: np.ndarray):
        """Row-wise Gram-Schmidt (twice) of C = A Y dropping dependent rows; same ops on Y, U."""
        keep: list[int] = []
        for i in range(C.shape[0]):
            c0 = ops.norm(C[i])
            for _ in range(2):
                if keep:
                    h = ops.allsum(C[keep] @ C[i])
                    C[i] -= h @ C[keep]
                    Y[i] -= h @ Y[keep]
                    U[i] -= h @ U[keep]
            nrm = ops.norm(C[i])
            if nrm > 1e-10 * c0:
                C[i] /= nrm
                Y[i] /= nrm
                U[i] /= nrm
                keep.append(i)
        return C[keep], Y[keep], U[keep]

    def _cycle(self, ksp: PETSc.KSP, ops: _Ops, xl: np.ndarray, r: np.ndarray, beta: float,
               its: int, max_it: int, cycle: int) -> tuple[int, int]:
        """Arnoldi cycle number ``cycle`` (from 1) of p = m - dim(C) steps from r (r ⟂ C); updates
        xl; returns (its, reason). The recycled space is updated after it when the solve ends (if
        recycling), when there is none yet, or every ``update_every``-th cycle.

        Ŵ = [C; V] is one contiguous block of rows, orthogonalised against block-wise with ||w||²
        in the first reduction (:meth:`_Ops.block_gram_schmidt`)."""
        kk = self.recycled_dim
        p = self.m - kk
        W = np.empty((kk + p + 1, ops.nloc))
        WT = W.T                                          # Fortran-ordered view: columns are the rows of W
        if kk:
            W[:kk] = self.C
        V = W[kk:]
        V[0] = r / beta
        Z = V if ops.identity_pc else np.empty((p, ops.nloc))
        H = np.zeros((p + 1, p))
        B = np.zeros((kk, p))
        R = np.zeros((p, p))
        cs: list[float] = []
        sn: list[float] = []
        g = np.zeros(p + 1)
        g[0] = beta
        hh = np.empty(kk + p + 1)
        reason, n = 0, 0
        for j in range(p):
            if not ops.identity_pc:
                ops.precond(V[j], Z[j])
            w = V[j + 1]
            ops.matvec(Z[j], w)
            basis_t = WT[:, :kk + j + 1]
            h = hh[:kk + j + 1]
            ww = ops.block_gram_schmidt(basis_t, w, h, with_norm=True)
            if ww - float(h @ h) < _REORTH ** 2 * ww:     # DGKS: cancellation -> second pass
                h2 = np.empty_like(h)
                ops.block_gram_schmidt(basis_t, w, h2)
                h += h2
            hnext = ops.norm(w)                           # explicit: Pythagoras loses C's orthonormality
            B[:, j] = h[:kk]
            H[:j + 1, j] = h[kk:]
            H[j + 1, j] = hnext
            breakdown = hnext <= _BREAKDOWN * max(1.0, float(np.abs(h[kk:]).max()))
            if not breakdown:
                w /= hnext
            col = H[:j + 2, j].tolist()                   # Givens rotations -> |g[j+1]| = ||r||
            for i in range(j):
                c, s = cs[i], sn[i]
                col[i], col[i + 1] = c * col[i] + s * col[i + 1], -s * col[i] + c * col[i + 1]
            d = float(np.hypot(col[j], col[j + 1]))
            c, s = (col[j] / d, col[j + 1] / d) if d > 0 else (1.0, 0.0)
            cs.append(c)
            sn.append(s)
            col[j] = d
            R[:j + 1, j] = col[:j + 1]
            g[j + 1], g[j] = -s * g[j], c * g[j]
            its, n = its + 1, j + 1
            rnorm = abs(float(g[j + 1]))
            ksp.setIterationNumber(its)
            ksp.setResidualNorm(rnorm)
            ksp.logConvergenceHistory(rnorm)
            ksp.monitor(its, rnorm)
            reason = ksp.callConvergenceTest(its, rnorm)
            if not reason and its >= max_it:
                reason = PETSc.KSP.ConvergedReason.DIVERGED_MAX_IT
            if reason or breakdown:
                break
        y = sla.solve_triangular(R[:n, :n], g[:n])
        xl += y @ Z[:n]
        if kk:
            xl -= (B[:, :n] @ y) @ self.Y
        last = bool(reason)                               # the space for the next cycle (or system)
        if self.k > 0 and (self.recycle or not last) and (last or not kk or cycle % self.update_every == 0):
            self._update_space(ops, H[:n + 1, :n], B[:, :n], Z[:n], W[:kk + n + 1])
        return its, reason

    def _update_space(self, ops: _Ops, H: np.ndarray, B: np.ndarray, Z: np.ndarray, W: np.ndarray) -> None:
        """New Y, U, C from the harmonic Ritz vectors of  A Ẑ = Ŵ Ĝ  (module docstring):
        Ĝ^T Ĝ z = θ Ĝ^T Ŵ^T V̂ z  with  V̂ = [U D, V_p]  (Parks et al. eq. 2.14; exact when
        the preconditioner is fixed, U = M Y). W holds the rows of Ŵ = [C; V_{p+1}].
        C^T U is carried (C_new^T U_new = Q^T (Ŵ^T V̂) P R^{-1}), so only V^T U is new work."""
        kk, n = self.recycled_dim, H.shape[1]
        V = W[kk:]
        G = np.zeros((kk + n + 1, kk + n))
        WV = np.zeros((kk + n + 1, kk + n))
        WV[kk:kk + n, kk:] = np.eye(n)
        if kk:
            dinv = 1.0 / self._ynorm
            G[:kk, :kk] = np.diag(dinv)
            G[:kk, kk:] = B
            WV[:kk, :kk] = self._ctu * dinv[None, :]
            WV[kk:, :kk] = ops.allsum(V @ self.U.T) * dinv[None, :]
        G[kk:, kk:] = H
        P = harmonic_ritz(G, min(self.k, kk + n), G.T @ WV)
        if P.shape[1] == 0:
            return
        Q, R = np.linalg.qr(G @ P)
        d = np.abs(np.diag(R))
        if d.min() <= 1e-14 * d.max():
            return
        M = sla.solve_triangular(R, P.T, trans="T").T     # P R^{-1}
        self.C = Q.T @ W
        if kk:
            Ms = (M[:kk] * dinv[:, None]).T
            Y = Ms @ self.Y + M[kk:].T @ Z
            self.U = Y if ops.identity_pc else Ms @ self.U + M[kk:].T @ V[:n]
        else:
            Y = M.T @ Z
            self.U = Y if ops.identity_pc else M.T @ V[:n]
        self._ctu = Q.T @ WV @ M
        self.Y = Y
        self._ynorm = np.sqrt(ops.allsum(np.einsum("ij,ij->i", Y, Y)))
