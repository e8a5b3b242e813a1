"""Solve a sequence of linear systems A_i x_i = b_i with one KSP (recycling, PC reuse).

The sequence is an iterable of :class:`System` (matrix, right-hand side, where to put the
solution, and its name (index, step)); it knows nothing of PDE families. One KSP from
:func:`solvers.ksp.make_ksp` serves the whole sequence (``ksp.setOperators(A_i)`` per system),
so GCRO-DR's recycled space and, with ``pc_reuse``, the preconditioner set up on the first
system carry over (``pc_refresh``: a fresh setup every n-th system). With ``shared_matrix``
the values of every A_i are copied into one Mat (the pattern is checked): PETSc then treats each
system as new values in the same matrix and keeps pattern-keyed setup data: PETSc 3.18's GAMG
keeps the first system's aggregation, prolongators and Chebyshev eigenvalue bounds and
recomputes only the Galerkin coarse operators (about half the setup time; same iterations on
Darcy, but it fails on Helmholtz, whose spectrum moves with k). A reused PC then still applies
the current A in its fine-level smoother.

Every variant uses the same convergence test: ||b - A x||_2 <= max(rtol ||b||_2, atol)
(:class:`solvers.ksp.KSPSpec` ``norm = "unpreconditioned"``: CG with left, GMRES-type methods
with right preconditioning). Each solution's true relative residual is recomputed after the
solve (:func:`solvers.ksp.true_residual`).

Timed per system: KSP setup (preconditioner) + solve (maxima over ranks). Not timed here:
producing the systems (the caller times its sampling and assembly).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from .. import ksp as kspmod


@dataclass
class SolverSpec:
    """A Krylov solver for a sequence: ``method`` "gcrodr", "dcg" (deflated CG) or a PETSc KSP
    type, and the policy along the sequence. The options database under ``prefix`` wins over
    all of it (``-recycle_ksp_type gmres``); ``options`` are further database defaults."""

    method: str = "gcrodr"
    m: int = 40                    # GCRO-DR restart length (and GMRES restart)
    k: int = 20                    # GCRO-DR recycled dimension / deflated CG space dimension
    l: int = 20                    # deflated CG: search directions kept for the Ritz update  # noqa: E741
    recycle: bool = True           # carry the recycled space from system to system
    guard: bool = False            # GCRO-DR: drop a recycled space that made a solve dearer
    update_every: int = 1          # GCRO-DR: harmonic Ritz update after every n-th cycle
    pc_type: str = "none"
    pc_reuse: bool = False         # keep the PC set up on the first system for all
    pc_refresh: int = 0            # with pc_reuse: a fresh PC setup every n-th system (0: never)
    warm_start: bool = False       # x0 = previous solution in solve order (else 0)
    shared_matrix: bool = False    # copy each A_i into one Mat (PETSc keeps pattern-keyed setup data)
    rtol: float = 1e-8
    atol: float = 1e-50
    max_it: int = 10000
    prefix: str = "recycle_"       # options prefix of the sequence's KSP
    verify: int = 0                # up to n further solves from x (tighter rtol) while ||b - A x|| > rtol ||b||
    options: dict[str, Any] = field(default_factory=dict)

    def ksp_spec(self) -> kspmod.KSPSpec:
        """The KSP defaults: type, PC, tolerances, and every method's parameters as database
        defaults (only the chosen type reads its own)."""
        return kspmod.KSPSpec(
            ksp_type=self.method, pc_type=self.pc_type, rtol=self.rtol, atol=self.atol, max_it=self.max_it,
            initial_guess_nonzero=self.warm_start, norm="unpreconditioned",
            options={"ksp_gmres_restart": self.m, "ksp_gcrodr_m": self.m, "ksp_gcrodr_k": self.k,
                     "ksp_gcrodr_recycle": self.recycle, "ksp_gcrodr_guard": self.guard,
                     "ksp_gcrodr_update_every": self.update_every, "ksp_dcg_k": self.k, "ksp_dcg_l": self.l,
                     "ksp_dcg_recycle": self.recycle, **self.options})

    def label(self) -> str:
        """A benchmark label of the spec as written (what ran is :func:`solvers.ksp.describe`)."""
        base = f"GCRO-DR({self.m},{self.k})" if self.method == "gcrodr" else f"DCG({self.k},{self.l})" \
            if self.method == "dcg" else \
            (f"{self.method.upper()}({self.m})" if "gmres" in self.method else self.method.upper())
        if self.method in ("gcrodr", "dcg") and not self.recycle:
            base += " no-recycle"
        if self.method == "gcrodr" and self.guard:
            base += " guarded"
        if self.method == "gcrodr" and self.update_every > 1:
            base += f" update/{self.update_every}"
        if self.pc_type != "none":
            base += f"+{self.pc_type.upper()}" + (" reused" if self.pc_reuse else "") + \
                (f", refresh/{self.pc_refresh}" if self.pc_reuse and self.pc_refresh else "") + \
                (" shared-matrix" if self.shared_matrix else "")
        return base + (" warm" if self.warm_start else "")


@dataclass
class System:
    """One system of a sequence: solve A x = b into ``x`` (owned by the producer, which may
    read it afterwards, e.g. for the next time step); ``index``/``step`` name it."""

    A: PETSc.Mat
    b: PETSc.Vec
    x: PETSc.Vec
    index: int
    step: int = 0


@dataclass
class SystemRecord:
    """One solve: which sample (and time step), where in the order, and what it cost."""

    index: int
    step: int
    position: int
    iterations: int
    matvecs: int
    pc_applies: int
    seconds: float                # setup + solve (max over ranks)
    setup_seconds: float
    residual: float               # true ||b - A x|| / ||b||
    reason: str
    recycled_dim: int = 0

    @property
    def converged(self) -> bool:
        return self.reason.startswith("CONVERGED")


@dataclass
class SequenceResult:
    """The records of a sequence in solve order, with totals."""

    records: list[SystemRecord] = field(default_factory=list)
    solver: str = ""               # what ran (solvers.ksp.describe of the KSP object)

    @property
    def iterations(self) -> int:
        return sum(r.iterations for r in self.records)

    @property
    def matvecs(self) -> int:
        return sum(r.matvecs for r in self.records)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    @property
    def setup_seconds(self) -> float:
        return sum(r.setup_seconds for r in self.records)

    @property
    def failures(self) -> list[SystemRecord]:
        return [r for r in self.records if not r.converged]

    @property
    def max_residual(self) -> float:
        return max((r.residual for r in self.records), default=0.0)


class SequenceSolver:
    """One KSP for a sequence of systems (see the module docstring). Collective on the
    systems' communicator; call :meth:`close` when done (it destroys the KSP)."""

    def __init__(self, spec: SolverSpec):
        self.spec = spec
        self.ksp: PETSc.KSP | None = None
        self.result = SequenceResult()
        self._shared: PETSc.Mat | None = None
        self._pattern: tuple[np.ndarray, np.ndarray] | None = None
        self._source: tuple[PETSc.Mat, int] | None = None    # the matrix last copied and its state
        self._prev: PETSc.Vec | None = None
        self._work: PETSc.Vec | None = None

    def prime(self, A: PETSc.Mat) -> float:
        """Set the KSP and its PC up on ``A`` (e.g. a fixed reference system) without solving;
        returns the seconds (max over ranks). With ``shared_matrix`` the pattern-keyed PC data
        (GAMG's aggregates and prolongators, a factorisation's ordering) then come from A for every
        later system, so a solution depends only on A and its own system, not on which systems
        came before (the same bits for any order, chunking or restart). Collective."""
        t0 = time.perf_counter()
        kspmod.setup(self._operators(A))
        return A.getComm().tompi4py().allreduce(time.perf_counter() - t0, op=MPI.MAX)

    def _operators(self, A_sys: PETSc.Mat) -> PETSc.KSP:
        """The KSP (made on first use) with the system's matrix, or its values in the shared Mat
        (copied only when the system's matrix changed: time steps with one matrix keep the PC)."""
        A = A_sys
        if self.spec.shared_matrix:
            same = self._source is not None and self._source[0] is A_sys and self._source[1] == A_sys.stateGet()
            A = self._shared if same else self._share(A_sys)
            self._source = (A_sys, A_sys.stateGet())      # held: the same Python object means the same Mat
        if self.ksp is None:
            self.ksp = kspmod.make_ksp(A, self.spec.ksp_spec(), self.spec.prefix)
        else:
            self.ksp.setOperators(A)
        return self.ksp

    def solve(self, system: System) -> SystemRecord:
        """Solve one system (the next in the sequence) into ``system.x``. Collective."""
        spec = self.spec
        ksp, b, x = self._operators(system.A), system.b, system.x
        A = ksp.getOperators()[0]
        if self._prev is not None and ksp.getInitialGuessNonzero():
            self._prev.copy(x)
        else:
            x.set(0.0)
        if self._work is None:
            self._work = b.duplicate()
        t0 = time.perf_counter()
        kspmod.setup(ksp)
        t1 = time.perf_counter()
        ksp.solve(b, x)
        t2 = time.perf_counter()
        its, res = ksp.getIterationNumber(), kspmod.true_residual(A, x, b, self._work)
        w = kspmod.work(ksp, ksp.getInitialGuessNonzero())
        rtol, atol, dtol, max_it = ksp.getTolerances()
        target = rtol
        for _ in range(spec.verify):       # the test's norm or recurrence is off from b - A x: tighten, go on from x
            if res <= rtol or ksp.getConvergedReason() <= 0:
                break
            target *= 0.5 * rtol / res
            guess = ksp.getInitialGuessNonzero()
            ksp.setInitialGuessNonzero(True)
            ksp.setTolerances(rtol=target, atol=atol, divtol=dtol, max_it=max_it)
            t3 = time.perf_counter()
            ksp.solve(b, x)
            t2 += time.perf_counter() - t3
            ksp.setInitialGuessNonzero(guess)
            ksp.setTolerances(rtol=rtol, atol=atol, divtol=dtol, max_it=max_it)
            extra = kspmod.work(ksp, True)
            its += ksp.getIterationNumber()
            w = kspmod.Work(w.matvecs + extra.matvecs, w.pc_applies + extra.pc_applies, w.recycled_dim)
            res = kspmod.true_residual(A, x, b, self._work)
        position = len(self.result.records)
        if spec.pc_reuse:                                 # systems 0, n, 2n, ... get a fresh setup
            n_fresh = spec.pc_refresh
            ksp.getPC().setReusePreconditioner(not (n_fresh and (position + 1) % n_fresh == 0))
        comm = b.getComm().tompi4py()
        times = np.array([t2 - t0, t1 - t0])
        comm.Allreduce(MPI.IN_PLACE, times, op=MPI.MAX)
        secs, setup = times
        rec = SystemRecord(index=system.index, step=system.step, position=position,
                           iterations=its, matvecs=w.matvecs, pc_applies=w.pc_applies,
                           seconds=float(secs), setup_seconds=float(setup), residual=res,
                           reason=kspmod.reason_name(ksp.getConvergedReason()), recycled_dim=w.recycled_dim)
        if ksp.getInitialGuessNonzero():
            if self._prev is None:
                self._prev = x.duplicate()
            x.copy(self._prev)
        self.result.records.append(rec)
        self.result.solver = kspmod.describe(ksp)
        return rec

    def _share(self, A_new: PETSc.Mat) -> PETSc.Mat:
        """A_new's values in the sequence's one Mat (same nonzero pattern, compared by the row
        pointers and column indices of the local rows), or a copy of A_new if there is none yet
        or the patterns differ. Collective."""
        A = self._shared
        if A is not None:
            same = A.getSizes() == A_new.getSizes()
            if same:
                ia, ja = self._pattern
                ib, jb = A_new.getRowIJ()
                same = np.array_equal(ia, ib) and np.array_equal(ja, jb)
            if A.getComm().tompi4py().allreduce(same, op=MPI.LAND):
                A_new.copy(A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
                return A
            A.destroy()
        self._shared = A_new.duplicate(copy=True)
        self._pattern = self._shared.getRowIJ()
        return self._shared

    def close(self) -> None:
        """Destroy the KSP (undoing its options) and the work objects. Collective."""
        if self.ksp is not None:
            kspmod.destroy(self.ksp)
            self.ksp = None
        for obj in (self._shared, self._prev, self._work):
            if obj is not None:
                obj.destroy()
        self._shared = self._prev = self._work = self._source = None


def solve_sequence(systems: Iterable[System], spec: SolverSpec,
                   on_system: Callable[[SystemRecord, System], None] | None = None) -> SequenceResult:
    """Solve ``systems`` in the order given with one :class:`SequenceSolver`; ``on_system(record,
    system)`` is called after each solve (e.g. to keep this rank's block of the solution).
    Collective."""
    solver = SequenceSolver(spec)
    try:
        for system in systems:
            rec = solver.solve(system)
            if on_system is not None:
                on_system(rec, system)
    finally:
        solver.close()
    return solver.result
