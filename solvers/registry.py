"""Registry: case kind -> runner, validation name -> check, extra CLI commands.

Each solver family registers itself from a ``plugin`` module in its subpackage
(``solvers/<family>/plugin.py``); ``load_plugins()`` imports them all, so adding a family
never touches the CLI. A runner gets the validated :class:`~solvers.case.Case` and a
:class:`RunContext`; it does the work and writes its own output through ``solvers.output``.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from .case import Table


@dataclass
class RunContext:
    """What the CLI hands a runner: the communicator, output path, verbosity."""

    comm: Any                      # mpi4py communicator (COMM_WORLD unless split)
    output: str                    # output path ('' = kind's default next to the case)
    quiet: bool = False
    extras: dict = field(default_factory=dict)


@dataclass
class Runner:
    kind: str
    schema: Table
    run: Callable[[Any, RunContext], dict]
    doc: str = ""


@dataclass
class Check:
    """A validation: ``func(comm, plots_dir) -> list[CheckResult]``."""

    name: str
    func: Callable[..., list]
    doc: str = ""
    slow: bool = False


@dataclass
class CheckResult:
    """One line of the validate table: a measured value against what it must satisfy."""

    check: str
    quantity: str
    value: float
    target: str
    passed: bool
    detail: str = ""


@dataclass
class Command:
    name: str
    add_arguments: Callable            # (argparse.ArgumentParser) -> None
    func: Callable                     # (args) -> int (exit code)
    help: str = ""


RUNNERS: dict[str, Runner] = {}
CHECKS: dict[str, Check] = {}
COMMANDS: dict[str, Command] = {}


def runner(kind: str, schema: Table, doc: str = ""):
    """Decorator: register ``func(case, ctx)`` as the runner for ``[case] kind = kind``."""
    def deco(func):
        if kind in RUNNERS:
            raise RuntimeError(f"kind {kind!r} registered twice")
        RUNNERS[kind] = Runner(kind, schema, func, doc or (func.__doc__ or "").strip().split("\n")[0])
        return func
    return deco


def check(name: str, doc: str = "", slow: bool = False):
    """Decorator: register a validation ``func(comm, plots_dir) -> list[CheckResult]``."""
    def deco(func):
        if name in CHECKS:
            raise RuntimeError(f"validation {name!r} registered twice")
        CHECKS[name] = Check(name, func, doc or (func.__doc__ or "").strip().split("\n")[0], slow)
        return func
    return deco


def command(name: str, add_arguments: Callable, help: str = ""):
    """Decorator: register an extra CLI sub-command ``python -m solvers <name>``."""
    def deco(func):
        COMMANDS[name] = Command(name, add_arguments, func, help)
        return func
    return deco


def schemas() -> dict[str, Table]:
    return {k: r.schema for k, r in RUNNERS.items()}


_loaded = False


def load_plugins() -> None:
    """Import ``solvers.<pkg>.plugin`` for every subpackage that has one (idempotent)."""
    global _loaded
    if _loaded:
        return
    import solvers
    for info in sorted(pkgutil.iter_modules(solvers.__path__), key=lambda m: m.name):
        if info.ispkg:
            try:
                importlib.import_module(f"solvers.{info.name}.plugin")
            except ModuleNotFoundError as exc:
                if exc.name != f"solvers.{info.name}.plugin":
                    raise
    _loaded = True
