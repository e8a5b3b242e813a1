"""Solve a sequence of systems from a parameterised family: sort, then solve in order.

One KSP serves the whole sequence (``ksp.setOperators(A_i)`` per system), so GCRO-DR's
recycled space and, with ``pc_reuse``, the preconditioner set up on the first system carry
over (``pc_refresh``: a fresh setup every n-th system). With ``shared_matrix`` the values of
every A_i are copied into one Mat (the families assemble the same stencil; the pattern is
checked): PETSc then treats each system as new values in the same matrix and keeps setup data:
PETSc 3.18's GAMG keeps the first system's aggregation, prolongators and Chebyshev eigenvalue
bounds and recomputes only the Galerkin coarse operators (about half the setup time; same
iterations on Darcy, but it fails on Helmholtz, whose spectrum moves with k). A reused PC then
still applies the current A in its fine-level smoother.

Every variant uses the same convergence test: ||b - A x||_2 <= max(rtol ||b||_2, atol)
(unpreconditioned norm: CG with ``KSP_NORM_UNPRECONDITIONED``, GMRES-type methods with right
preconditioning). Each solution's true relative residual is recomputed after the solve.

Timed per system: KSP setup (preconditioner) + solve. Not timed: assembly of A_i and b_i.
For the ``heat`` family each sample contributes ``n_steps`` systems with one matrix.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meshes import Grid

from ..ksp import reason_name
from ..poisson.families import Family, HeatFamily
from .deflated_cg import make_deflated_cg_ksp
from .gcrodr import check_parameters, make_gcrodr_ksp
from .skr_sort import SortResult, local_block, sort_systems


@dataclass
class SolverSpec:
    """A Krylov solver for a sequence: ``method`` "gcrodr", "dcg" (deflated CG) or a PETSc KSP type."""

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
    prefix: str = ""               # options prefix (PETSc options override the spec)

    def __post_init__(self):
        if self.method == "gcrodr":
            check_parameters(self.m, self.k, self.update_every)

    def label(self) -> str:
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


def make_solver(spec: SolverSpec, A: PETSc.Mat) -> PETSc.KSP:
    """The KSP for ``spec`` on A (unpreconditioned-norm test; options database last). Collective."""
    if spec.method == "gcrodr":
        ksp = make_gcrodr_ksp(A, spec.m, spec.k, pc_type=spec.pc_type, rtol=spec.rtol, atol=spec.atol,
                              max_it=spec.max_it, recycle=spec.recycle, prefix=spec.prefix,
                              initial_guess_nonzero=spec.warm_start, guard=spec.guard,
                              update_every=spec.update_every)
    elif spec.method == "dcg":
        ksp = make_deflated_cg_ksp(A, spec.k, spec.l, pc_type=spec.pc_type, rtol=spec.rtol, atol=spec.atol,
                                   max_it=spec.max_it, recycle=spec.recycle, prefix=spec.prefix,
                                   initial_guess_nonzero=spec.warm_start)
    else:
        ksp = PETSc.KSP().create(comm=A.getComm())
        if spec.prefix:
            ksp.setOptionsPrefix(spec.prefix)
        ksp.setOperators(A)
        ksp.setType(spec.method)
        ksp.getPC().setType(spec.pc_type)
        if "gmres" in spec.method:
            ksp.setGMRESRestart(spec.m)
        if spec.method in ("cg", "pipecg", "cgne", "fcg"):
            ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        else:
            ksp.setPCSide(PETSc.PC.Side.RIGHT)
        ksp.setTolerances(rtol=spec.rtol, atol=spec.atol, max_it=spec.max_it)
        ksp.setInitialGuessNonzero(spec.warm_start)
        ksp.setFromOptions()
    return ksp


@dataclass
class SystemRecord:
    """One solve: which sample (and time step), where in the order, and what it cost."""

    index: int
    step: int
    position: int
    iterations: int
    matvecs: int
    pc_applies: int
    seconds: float
    setup_seconds: float
    residual: float               # true ||b - A x|| / ||b||
    reason: str
    recycled_dim: int = 0

    @property
    def converged(self) -> bool:
        return self.reason.startswith("CONVERGED")


@dataclass
class SequenceResult:
    spec: SolverSpec
    sort: SortResult
    records: list[SystemRecord] = field(default_factory=list)
    solutions: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)   # rank 0

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
    def failures(self) -> list[SystemRecord]:
        return [r for r in self.records if not r.converged]

    @property
    def max_residual(self) -> float:
        return max((r.residual for r in self.records), default=0.0)


def features(family: Family, samples: list, comm: MPI.Comm) -> np.ndarray:
    """This rank's block of the (n_samples x n_features) sort-feature matrix."""
    return local_block(np.array([family.sort_features(s) for s in samples]), comm)


def solve_sequence(family: Family, grid: Grid, spec: SolverSpec, n: int | None = None,
                   indices: list[int] | None = None, ordering: str = "skr", keep_solutions: bool = False,
                   progress: bool = False, on_system=None) -> SequenceResult:
    """Sort the samples ``indices`` (default 0..n-1) with ``ordering`` and solve them in that
    order with ``spec``. ``on_system(record)`` is called after each solve. Collective."""
    comm = grid.comm
    indices = list(range(n)) if indices is None else list(indices)
    samples = [family.sample(i) for i in indices]
    sort = sort_systems(ordering, features(family, samples, comm), comm)
    result = SequenceResult(spec, sort)
    steps = family.n_steps if isinstance(family, HeatFamily) else 1
    bar = None
    if progress and comm.rank == 0:
        from tqdm import tqdm
        bar = tqdm(total=len(samples) * steps, desc=spec.label(), unit="system")
    ksp = None
    A = None
    x_prev = None
    position = 0
    try:
        for pos in sort.order:
            sample = samples[pos]
            op, b = family.system(grid, sample)
            A = _shared_matrix(A, op.A) if spec.shared_matrix else op.A
            for step in range(steps):
                if ksp is None:
                    ksp = make_solver(spec, A)
                else:
                    ksp.setOperators(A)
                x = b.duplicate()
                if spec.warm_start and x_prev is not None:
                    x_prev.copy(x)
                else:
                    x.set(0.0)
                t0 = time.perf_counter()
                ksp.setUp()
                t1 = time.perf_counter()
                ksp.solve(b, x)
                t2 = time.perf_counter()
                if spec.pc_reuse:                         # systems 0, n, 2n, ... get a fresh setup
                    n_fresh = spec.pc_refresh
                    ksp.getPC().setReusePreconditioner(not (n_fresh and (position + 1) % n_fresh == 0))
                secs = comm.allreduce(t2 - t0, op=MPI.MAX)
                setup = comm.allreduce(t1 - t0, op=MPI.MAX)
                r = b.duplicate()
                A.mult(x, r)
                r.aypx(-1.0, b)
                bnorm = b.norm()
                res = r.norm() / bnorm if bnorm > 0 else r.norm()
                r.destroy()
                its = ksp.getIterationNumber()
                if spec.method in ("gcrodr", "dcg"):
                    st = ksp.getPythonContext().stats
                    mv, pa, kd = st.matvecs, st.pc_applies, st.recycled_dim
                else:
                    restarts = its // spec.m if "gmres" in spec.method else 0   # residual at each restart
                    mv = its + restarts + (1 if spec.warm_start else 0)
                    pa, kd = (its if spec.pc_type != "none" else 0), 0
                rec = SystemRecord(index=sample.index, step=step, position=position, iterations=its, matvecs=mv,
                                   pc_applies=pa, seconds=secs, setup_seconds=setup, residual=res,
                                   reason=reason_name(ksp.getConvergedReason()), recycled_dim=kd)
                result.records.append(rec)
                position += 1
                if keep_solutions:
                    u = grid.gather(x)
                    if comm.rank == 0:
                        result.solutions[(sample.index, step)] = u
                if on_system is not None:
                    on_system(rec)
                if bar is not None:
                    bar.update(1)
                if x_prev is not None:
                    x_prev.destroy()
                x_prev = x
                if step + 1 < steps:
                    b.destroy()
                    b = family.step_rhs(op, sample, x)
            b.destroy()
            op.destroy()
    finally:
        if bar is not None:
            bar.close()
        if x_prev is not None:
            x_prev.destroy()
        if ksp is not None:
            ksp.destroy()
        if spec.shared_matrix and A is not None:
            A.destroy()
    return result


def _shared_matrix(A: PETSc.Mat | None, A_new: PETSc.Mat) -> PETSc.Mat:
    """A_new's values in A (same nonzero pattern), or a copy of A_new if there is no A yet or the
    patterns differ (then A is destroyed). Collective."""
    if A is not None:
        same = A.getSizes() == A_new.getSizes()
        if same:
            ia, ja, _ = A.getValuesCSR()
            ib, jb, _ = A_new.getValuesCSR()
            same = np.array_equal(ia, ib) and np.array_equal(ja, jb)
        if A.getComm().tompi4py().allreduce(same, op=MPI.LAND):
            A_new.copy(A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
            return A
        A.destroy()
    return A_new.duplicate(copy=True)
