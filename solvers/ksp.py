"""PETSc KSP construction and solving, shared by every linear solver in the suite.

Defaults from a case file (``ksp_type``, ``pc_type``, ``rtol`` ...) are set first and
``setFromOptions()`` is called last, so the PETSc options database (``-ksp_type``,
``-pc_type``, ``-ksp_monitor``, ``-ksp_converged_reason``, a case file's ``[petsc]`` table)
always wins. Convergence is PETSc's default test: ||r_k|| < max(rtol ||b||, atol) in the
norm of ``-ksp_norm_type`` (preconditioned for left-preconditioned CG/GMRES by default).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from petsc4py import PETSc

from .parallel import UserError

_REASONS: dict[int, str] = {}
for _n in sorted(dir(PETSc.KSP.ConvergedReason)):      # sorted: a stable choice among aliases
    if not _n.startswith("_") and isinstance(getattr(PETSc.KSP.ConvergedReason, _n), int):
        _REASONS.setdefault(getattr(PETSc.KSP.ConvergedReason, _n), _n)


def reason_name(code: int) -> str:
    """petsc4py's name of a KSPConvergedReason code: 'CONVERGED_RTOL', 'DIVERGED_MAX_IT', ..."""
    return _REASONS.get(code, str(code))


class SolverDiverged(UserError):
    """A Krylov solve ended with KSP_DIVERGED_* (the reason is in the message).

    Raised collectively (every rank sees the same converged reason): the CLI prints the message
    once and exits with code 3.
    """

    exit_code = 3


@dataclass
class SolveInfo:
    iterations: int
    reason: str
    residual_norm: float
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    setup_time: float = 0.0
    solve_time: float = 0.0


def make_ksp(A: PETSc.Mat, ksp_type: str = "cg", pc_type: str = "gamg", rtol: float = 1e-8,
             atol: float = 1e-50, max_it: int = 10000, prefix: str = "",
             initial_guess_nonzero: bool = False) -> PETSc.KSP:
    """A KSP on A's communicator with the given defaults, then ``setFromOptions()``. Collective."""
    ksp = PETSc.KSP().create(comm=A.getComm())
    if prefix:
        ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    ksp.setType(ksp_type)
    ksp.getPC().setType(pc_type)
    ksp.setTolerances(rtol=rtol, atol=atol, max_it=max_it)
    ksp.setInitialGuessNonzero(initial_guess_nonzero)
    ksp.setConvergenceHistory(length=max_it + 1, reset=True)
    ksp.setFromOptions()
    return ksp


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, raise_on_diverged: bool = True) -> SolveInfo:
    """Set up (timed), solve (timed), and check the converged reason. Collective.

    Raises :class:`SolverDiverged` naming the reason (e.g. ``DIVERGED_ITS``) unless told not to.
    """
    t0 = time.perf_counter()
    ksp.setUp()
    t1 = time.perf_counter()
    ksp.solve(b, x)
    t2 = time.perf_counter()
    code = ksp.getConvergedReason()
    info = SolveInfo(iterations=ksp.getIterationNumber(), reason=reason_name(code),
                     residual_norm=ksp.getResidualNorm(),
                     history=np.array(ksp.getConvergenceHistory()),
                     setup_time=t1 - t0, solve_time=t2 - t1)
    if code < 0 and raise_on_diverged:
        raise SolverDiverged(
            f"KSP {ksp.getType()}+{ksp.getPC().getType()} did not converge: {info.reason} after "
            f"{info.iterations} iterations (residual norm {info.residual_norm:.3e}); try "
            f"-ksp_type/-pc_type, a larger max_it, or -ksp_monitor to see the history")
    return info
