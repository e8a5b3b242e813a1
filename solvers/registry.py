"""Registry: case kind -> runner, validation name -> check, extra CLI commands; loaded lazily.

Each kind lives in a module of its solver's subpackage that registers it with :func:`runner`
(usually ``solvers/<family>/plugin.py``). :data:`KINDS` and :data:`COMMAND_MODULES` say which
module holds what, so a run imports only its own kind's module (a ``poisson`` run, ``info`` and
``schema`` import no torch); ``validate`` imports the modules of :data:`CHECK_MODULES`. A runner
gets the validated :class:`~solvers.case.Case` and a :class:`solvers.run.RunContext` and returns
a :class:`solvers.result.Result`; :func:`solvers.run.run_case` writes it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from .case import Table

# kind -> module that registers it (imported only when the kind is used)
KINDS: dict[str, str] = {
    "poisson": "solvers.poisson.plugin",
    "recycle": "solvers.krylov.plugin",
    "dataset": "solvers.datasets.plugin",
    "poisson_dcdm": "solvers.dcdm.plugin",
    "dcdm_train": "solvers.dcdm.plugin",
    "boltzmann_bkw": "solvers.boltzmann.plugin",
    "boltzmann_mixture": "solvers.boltzmann.plugin",
    "boltzmann_space": "solvers.boltzmann.plugin",
    "boltzmann_space_dataset": "solvers.boltzmann.dataset",
    "schrodinger": "solvers.schrodinger.plugin",
    "schrodinger_sweep": "solvers.schrodinger.plugin",
}
# modules that register validation checks (``validate`` imports them all)
CHECK_MODULES: tuple[str, ...] = ("solvers.poisson.validation", "solvers.boltzmann.validation",
                                  "solvers.dcdm.validation", "solvers.schrodinger.validation")
# extra sub-command -> (module that registers it, help)
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "dataset": ("solvers.datasets.plugin", "check or export an operator-learning dataset"),
    "train-dcdm": ("solvers.dcdm.plugin", "train a DCDM model from a 'dcdm_train' case file"),
}


@dataclass
class RunContext:
    """What the pipeline hands a runner: the communicator owner, the checked output path, flags."""

    comms: Any                     # solvers.parallel.Comms
    output: Path                   # resolved and checked by solvers.run (file or directory)
    quiet: bool = False            # no progress bars
    overwrite: bool = False        # may replace an output this project wrote before
    restart: bool = False          # ignore a checkpoint / partial run and start afresh

    @property
    def comm(self) -> Any:
        """The world communicator (mpi4py)."""
        return self.comms.world


@dataclass
class Runner:
    """A case kind. ``output``: 'file' (an HDF5 file the pipeline writes from the Result),
    'dir' (a directory the kind's own io writes, e.g. a resumable dataset), or a file suffix
    such as '.pt' (written by the kind's io module next to the path)."""

    kind: str
    schema: Table
    run: Callable[[Any, RunContext], Any]
    doc: str = ""
    output: str = "file"


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
    func: Callable                     # (args, comm) -> int (exit code)
    help: str = ""


RUNNERS: dict[str, Runner] = {}
CHECKS: dict[str, Check] = {}
COMMANDS: dict[str, Command] = {}


def runner(kind: str, schema: Table, doc: str = "", output: str = "file"):
    """Decorator: register ``func(case, ctx) -> Result`` as the runner for ``[case] kind = kind``."""
    def deco(func):
        if kind in RUNNERS:
            raise RuntimeError(f"kind {kind!r} registered twice")
        if kind not in KINDS:
            raise RuntimeError(f"kind {kind!r} is not listed in solvers.registry.KINDS")
        RUNNERS[kind] = Runner(kind, schema, func, doc or (func.__doc__ or "").strip().split("\n")[0], output)
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


def get_runner(kind: str) -> Runner:
    """The runner of ``kind``, importing its module on first use."""
    if kind not in RUNNERS:
        importlib.import_module(KINDS[kind])
    return RUNNERS[kind]


def get_schema(kind: str) -> Table:
    return get_runner(kind).schema


def load_checks() -> None:
    """Import every module that registers validation checks (idempotent)."""
    for mod in CHECK_MODULES:
        importlib.import_module(mod)


def load_command(name: str) -> Command:
    """The extra sub-command ``name``, importing its module on first use."""
    if name not in COMMANDS:
        importlib.import_module(COMMAND_MODULES[name][0])
    return COMMANDS[name]


def load_all() -> None:
    """Import every kind's and every check's module (for ``schema`` and tests). Idempotent."""
    for kind in KINDS:
        get_runner(kind)
    load_checks()


class _Schemas(Mapping):
    """kind -> schema, importing a kind's module only when its schema is looked up."""

    def __getitem__(self, kind: str) -> Table:
        if kind not in KINDS:
            raise KeyError(kind)
        return get_schema(kind)

    def __iter__(self):
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


def schemas() -> Mapping[str, Table]:
    """Every kind's schema, looked up lazily (``case.validate`` imports only the case's kind)."""
    return _Schemas()
