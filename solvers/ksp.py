"""The one KSP factory of the suite, PETSc options prefixes, solving and the true residual.

Every solver owns an options prefix (``poisson_``, ``recycle_``, ``dataset_``, ``dcdm_`` ...):
:func:`make_ksp` sets the defaults of a :class:`KSPSpec` first and calls ``setFromOptions()``
last, so the PETSc options database (``-recycle_ksp_type gmres``, ``-dataset_pc_type icc``,
``-poisson_ksp_monitor``, a case file's ``[petsc]`` table) always wins over the case.

Plain options work too, as in any PETSc program: an option without a solver prefix whose name
starts with ``ksp_``, ``pc_``, ``mg_`` or ``sub_`` (``-ksp_type cg``, ``-pc_type gamg``,
``-mg_levels_ksp_type richardson``, ``-ksp_monitor``) applies to every prefixed KSP of the run
that does not set it itself (the prefixed spelling wins). The aliases, like the defaults a
spec pushes into the database (``options``: e.g. ``ksp_gmres_restart``), are removed again
by :func:`destroy` (restoring what was there before).

Python KSP types are registered by name in :data:`PYTHON_TYPES` (``gcrodr``, ``dcg``), so
``-recycle_ksp_type gcrodr`` works like a built-in type; ``-ksp_type python
-ksp_python_type solvers.krylov.gcrodr.GCRODR`` works as well. Whatever a solver does next is
decided from the KSP object (``ksp.getType()``, the Python context's class), never from the
case file: see :func:`work`. An unknown type, an option the method rejects, or a type that
cannot use the requested norm and preconditioning side raises :class:`~solvers.parallel.UserError`
(exit 2) naming the option.

Convergence is PETSc's default test ||r_k|| <= max(rtol ||b||, atol). With
``KSPSpec.norm = "unpreconditioned"`` r_k is the true residual b - A x_k for every type that
supports it: right preconditioning where the type allows it (GMRES family, BiCGStab, GCRO-DR),
left otherwise (CG family); types with neither (MINRES, SYMMLQ, QCG) keep their own norm.
"""
from __future__ import annotations

import atexit
import importlib
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from .parallel import UserError

#: Python KSP types known by name: ``-<prefix>ksp_type gcrodr`` -> the context class.
PYTHON_TYPES: dict[str, str] = {
    "gcrodr": "solvers.krylov.gcrodr.GCRODR",
    "dcg": "solvers.krylov.deflated_cg.DeflatedCG",
}

#: Roots of the option names that belong to a KSP and its PC (aliased from plain options).
KSP_OPTION_ROOTS = ("ksp_", "pc_", "mg_", "sub_")

_REASONS: dict[int, str] = {}
for _n in sorted(dir(PETSc.KSP.ConvergedReason)):      # sorted: a stable choice among aliases
    if not _n.startswith("_") and isinstance(getattr(PETSc.KSP.ConvergedReason, _n), int):
        _REASONS.setdefault(getattr(PETSc.KSP.ConvergedReason, _n), _n)

_ERR_SUP = 56          # PETSC_ERR_SUP: e.g. a norm / PC side the KSP type does not support
_ERR_UNKNOWN_TYPE = 86
_ERR_MISSING_FACTOR = 92  # PETSC_ERR_MISSING_FACTOR: no factorisation package for the matrix type


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
class KSPSpec:
    """Defaults of a KSP (the options database overrides every one of them).

    ``ksp_type``: a PETSc type or a name in :data:`PYTHON_TYPES`; ``norm``: ``"default"`` (the
    type's own) or ``"unpreconditioned"`` (the true residual, see the module docstring);
    ``options``: further defaults as database entries under the prefix, e.g.
    ``{"ksp_gmres_restart": 40, "ksp_gcrodr_k": 20}`` (set only where the user set nothing);
    ``pc_context``: a petsc4py Python-PC context, used when the PC ends up of type ``python``.
    """

    ksp_type: str = "cg"
    pc_type: str = "gamg"
    rtol: float = 1e-8
    atol: float = 1e-50
    max_it: int = 10000
    initial_guess_nonzero: bool = False
    norm: str = "default"
    history: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    pc_context: Any = None


@dataclass
class SolveInfo:
    iterations: int
    reason: str
    residual_norm: float
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    setup_time: float = 0.0
    solve_time: float = 0.0


# Database entries pushed by live KSPs: name -> [(KSP handle, value, is_default)], and the value
# each name had before the first push (None: unset). destroy() pops a KSP's entries.
_STACK: dict[str, list[tuple[int, str, bool]]] = {}
_BASE: dict[str, str | None] = {}


def _push(owner: int, name: str, value: Any, default: bool) -> None:
    db = PETSc.Options()
    if name not in _STACK:
        _BASE[name] = db.getString(name) if db.hasName(name) else None
        _STACK[name] = []
    _STACK[name].append((owner, _option_text(value), default))
    db.setValue(name, _option_text(value))


def _release(owner: int) -> None:
    """Pop the entries ``owner`` pushed; each name gets the latest remaining value or its base."""
    db = PETSc.Options()
    for name in [n for n, st in _STACK.items() if any(o == owner for o, _, _ in st)]:
        stack = _STACK[name] = [e for e in _STACK[name] if e[0] != owner]
        value = stack[-1][1] if stack else _BASE.pop(name)
        if not stack:
            del _STACK[name]
        if value is None:
            db.delValue(name)
        else:
            db.setValue(name, value)


def _user_set(name: str) -> bool:
    """Whether the user (command line, [petsc], a plain option) set ``name``, not a spec default."""
    stack = _STACK.get(name)
    return PETSc.Options().hasName(name) and not (stack and stack[-1][2])


def _option_text(value: Any) -> str:
    """A database value: booleans as true/false, a flag (None) as the empty string."""
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _alias_plain_options(owner: int, prefix: str) -> None:
    """Copy plain ``-ksp_*``/``-pc_*``/``-mg_*``/``-sub_*`` options to ``prefix`` where the user
    did not set the prefixed one."""
    for name, value in PETSc.Options().getAll().items():
        if name.startswith(KSP_OPTION_ROOTS) and name not in _STACK and not _user_set(prefix + name):
            _push(owner, prefix + name, value, default=False)


def effective_tolerances(spec: KSPSpec, prefix: str) -> dict[str, float]:
    """rtol, atol and max_it a KSP made by :func:`make_ksp` with ``spec`` and ``prefix`` uses
    (read from such a KSP on a 1x1 serial system, so the options database's precedence is the
    factory's own): what a dataset records as the tolerance of its residuals."""
    A = PETSc.Mat().createAIJ([1, 1], nnz=1, comm=PETSc.COMM_SELF)
    A.setValue(0, 0, 1.0)
    A.assemble()
    ksp = make_ksp(A, KSPSpec(ksp_type="cg", pc_type="none", rtol=spec.rtol, atol=spec.atol,
                              max_it=spec.max_it), prefix)
    rtol, atol, _, max_it = ksp.getTolerances()
    destroy(ksp)
    A.destroy()
    return {"rtol": float(rtol), "atol": float(atol), "max_it": int(max_it)}


def _python_context(name: str) -> Any:
    module, _, cls = PYTHON_TYPES[name].rpartition(".")
    return getattr(importlib.import_module(module), cls)()


def _set_type(ksp: PETSc.KSP, name: str, prefix: str) -> None:
    """``ksp.setType(name)``; a registered Python type gets its context (and the database entry
    ``ksp_type`` reads ``python`` until :func:`destroy`, so ``setFromOptions`` keeps it)."""
    if name in PYTHON_TYPES:
        ksp.setType(PETSc.KSP.Type.PYTHON)
        ksp.setPythonContext(_python_context(name))
        if PETSc.Options(prefix).hasName("ksp_type"):
            _push(ksp.handle, prefix + "ksp_type", PETSc.KSP.Type.PYTHON, default=False)
        return
    try:
        ksp.setType(name)
    except PETSc.Error as exc:
        if exc.ierr != _ERR_UNKNOWN_TYPE:
            raise
        raise UserError(f"unknown KSP type {name!r} (-{prefix}ksp_type or the case's [solver]); "
                        f"PETSc types: {', '.join(sorted(_petsc_types()))}; Python types: "
                        f"{', '.join(sorted(PYTHON_TYPES))}") from None


def _petsc_types() -> list[str]:
    t = PETSc.KSP.Type
    return [getattr(t, n) for n in dir(t) if not n.startswith("_") and n != "PYTHON"]


def supported_side(ksp_type: str) -> PETSc.PC.Side | None:
    """The PC side with which ``ksp_type`` can test the unpreconditioned residual norm: RIGHT
    if it can, else LEFT, else None. Probed on a serial 1x1 system (microseconds; the same answer
    on every rank)."""
    A = PETSc.Mat().createAIJ([1, 1], nnz=1, comm=PETSc.COMM_SELF)
    A.setValue(0, 0, 1.0)
    A.assemble()
    found = None
    for side in (PETSc.PC.Side.RIGHT, PETSc.PC.Side.LEFT):
        probe = PETSc.KSP().create(comm=PETSc.COMM_SELF)
        try:
            probe.setOperators(A)
            probe.setType(ksp_type)
            probe.getPC().setType(PETSc.PC.Type.JACOBI)
            probe.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
            probe.setPCSide(side)
            probe.setUp()
            found = side
        except PETSc.Error:
            pass
        finally:
            probe.destroy()
        if found is not None:
            break
    A.destroy()
    return found


def make_ksp(A: PETSc.Mat, spec: KSPSpec, prefix: str) -> PETSc.KSP:
    """A KSP on A's communicator with options prefix ``prefix`` (e.g. ``"recycle_"``): the
    spec's defaults first, ``setFromOptions()`` last. Destroy it with :func:`destroy`.

    Raises :class:`UserError` for an unknown KSP/PC type or an option the method rejects.
    Collective.
    """
    if prefix and not prefix.endswith("_"):
        raise ValueError(f"options prefix {prefix!r} must end with '_'")
    ksp = PETSc.KSP().create(comm=A.getComm())
    try:
        ksp.setOptionsPrefix(prefix)
        if prefix:
            _alias_plain_options(ksp.handle, prefix)
        ksp.setOperators(A)
        opts = PETSc.Options(prefix)
        _set_type(ksp, opts.getString("ksp_type", spec.ksp_type), prefix)
        pc = ksp.getPC()
        pc.setType(opts.getString("pc_type", spec.pc_type))
        if pc.getType() == PETSc.PC.Type.PYTHON and spec.pc_context is not None:
            pc.setPythonContext(spec.pc_context)
        if spec.norm == "unpreconditioned" and ksp.getType() != PETSc.KSP.Type.PYTHON:
            side = supported_side(ksp.getType())
            if side is not None:
                ksp.setPCSide(side)
                ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setTolerances(rtol=spec.rtol, atol=spec.atol, max_it=spec.max_it)
        ksp.setInitialGuessNonzero(spec.initial_guess_nonzero)
        if spec.history:
            ksp.setConvergenceHistory(length=spec.max_it + 1, reset=True)
        for name, value in spec.options.items():
            if not _user_set(prefix + name):
                _push(ksp.handle, prefix + name, value, default=True)
        ksp.setFromOptions()
    except (PETSc.Error, ValueError, UserError) as exc:
        destroy(ksp)                                      # and undo what it pushed
        if isinstance(exc, UserError):
            raise
        detail = str(exc).strip().splitlines()
        raise UserError(f"cannot build the KSP with options prefix -{prefix}: "
                        f"{detail[-1] if detail else type(exc).__name__}") from None
    if ksp.getType() == PETSc.KSP.Type.PYTHON:
        destroy_at_exit(ksp)
    return ksp


def destroy(ksp: PETSc.KSP) -> None:
    """Destroy a KSP from :func:`make_ksp` and undo the database entries it pushed. Collective."""
    handle = ksp.handle
    ksp.destroy()
    _release(handle)


def setup(ksp: PETSc.KSP) -> None:
    """``ksp.setUp()``; a combination PETSc cannot do (error 56: e.g. a norm / PC side the type
    does not support; error 92: no factorisation for the matrix type, e.g. ICC on several ranks)
    or a Python KSP's ValueError (GCRO-DR with left preconditioning) raises :class:`UserError`
    with the reason, naming the options to change. Collective."""
    try:
        ksp.setUp()
    except ValueError as exc:                             # a Python KSP refusing its options
        raise UserError(f"{exc} (options prefix -{ksp.getOptionsPrefix() or ''})") from None
    except PETSc.Error as exc:
        if exc.ierr not in (_ERR_SUP, _ERR_MISSING_FACTOR):
            raise
        p = ksp.getOptionsPrefix() or ""
        lines = [ln.removeprefix("[0] ").strip() for ln in str(exc).strip().splitlines()]
        why = lines[-1] if len(lines) > 1 else "not supported"
        hint = (f" or set -{p}ksp_norm_type / -{p}ksp_pc_side (the solver asks for the unpreconditioned "
                f"norm where the type allows it)") if exc.ierr == _ERR_SUP else ""
        raise UserError(f"KSP {ksp.getType()} with PC {ksp.getPC().getType()}: {why} (PETSc error {exc.ierr}); "
                        f"choose another -{p}ksp_type / -{p}pc_type{hint}") from None


def solve(ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec, raise_on_diverged: bool = True) -> SolveInfo:
    """Set up (timed), solve (timed), and check the converged reason. Collective.

    Raises :class:`SolverDiverged` naming the reason (e.g. ``DIVERGED_ITS``) unless told not to.
    """
    t0 = time.perf_counter()
    setup(ksp)
    t1 = time.perf_counter()
    ksp.solve(b, x)
    t2 = time.perf_counter()
    code = ksp.getConvergedReason()
    info = SolveInfo(iterations=ksp.getIterationNumber(), reason=reason_name(code),
                     residual_norm=ksp.getResidualNorm(),
                     history=np.array(ksp.getConvergenceHistory()),
                     setup_time=t1 - t0, solve_time=t2 - t1)
    if code < 0 and raise_on_diverged:
        p = ksp.getOptionsPrefix() or ""
        world = MPI.Comm.Compare(ksp.getComm().tompi4py(), MPI.COMM_WORLD) in (MPI.IDENT, MPI.CONGRUENT)
        raise SolverDiverged(           # every rank of the KSP sees the same reason: collective on the world
            f"KSP {ksp.getType()}+{ksp.getPC().getType()} did not converge: {info.reason} after "
            f"{info.iterations} iterations (residual norm {info.residual_norm:.3e}); try "
            f"-{p}ksp_type/-{p}pc_type, a larger max_it, or -{p}ksp_monitor to see the history",
            collective=world)
    return info


def true_residual(A: PETSc.Mat, x: PETSc.Vec, b: PETSc.Vec, work: PETSc.Vec | None = None) -> float:
    """||b - A x||_2 / ||b||_2 (||b - A x||_2 if b = 0). ``work`` (like b) avoids an allocation.
    Collective."""
    r = work if work is not None else b.duplicate()
    A.mult(x, r)
    r.aypx(-1.0, b)
    bnorm = b.norm()
    rnorm = r.norm()
    if work is None:
        r.destroy()
    return rnorm / bnorm if bnorm > 0 else rnorm


@dataclass
class Work:
    """What a solve cost: products with A, PC applications, recycled dimension used."""

    matvecs: int
    pc_applies: int
    recycled_dim: int = 0


def work(ksp: PETSc.KSP, nonzero_guess: bool) -> Work:
    """The work of the last solve, read from the KSP object: a Python context's ``stats``
    (GCRO-DR, deflated CG) are exact; for PETSc types one product per iteration, plus one per
    restart for the GMRES family (the residual at each restart) and one for a nonzero guess."""
    its = ksp.getIterationNumber()
    if ksp.getType() == PETSc.KSP.Type.PYTHON:
        st = getattr(ksp.getPythonContext(), "stats", None)
        if st is not None:
            return Work(st.matvecs, st.pc_applies, st.recycled_dim)
    restart = 0
    if "gmres" in ksp.getType():
        restart = PETSc.Options(ksp.getOptionsPrefix() or "").getInt("ksp_gmres_restart", 30)
    matvecs = its + (its // restart if restart else 0) + int(nonzero_guess)
    pc_applies = its if ksp.getPC().getType() != PETSc.PC.Type.NONE else 0
    return Work(matvecs, pc_applies, 0)


def describe(ksp: PETSc.KSP) -> str:
    """A short name of what the KSP object is: 'GCRODR(40,20)+GAMG', 'CG+ICC', ... (from the object)."""
    t = ksp.getType()
    if t == PETSc.KSP.Type.PYTHON:
        ctx = ksp.getPythonContext()
        t = getattr(ctx, "label", type(ctx).__name__)
    return f"{t.upper()}+{ksp.getPC().getType().upper()}"


def destroy_at_exit(ksp: PETSc.KSP) -> None:
    """Destroy a Python KSP at exit, before PETSc finalises, if it is still alive then (a Python
    KSP collected after PetscFinalize crashes)."""
    _LIVE.append(weakref.ref(ksp))


_LIVE: list = []


@atexit.register
def _destroy_live() -> None:
    for ref in _LIVE:
        k = ref()
        if k is not None and k.handle:
            destroy(k)
