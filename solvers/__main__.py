"""Command line: ``python -m solvers {run,validate,info,schema,...} [-- PETSc options]``.

Everything after ``--`` (and a case file's ``[petsc]`` table, with lower precedence) goes into
PETSc's options database before PETSc initialises, so ``-log_view``, ``-ksp_monitor``,
``-ksp_type``... behave as in any PETSc program. A case file is read and validated as a whole
before PETSc initialises (a rejected case's ``[petsc]`` table never reaches PETSc), then its PETSc
type names are checked against PETSc's registry. Works identically under ``mpirun -n N``;
only rank 0 prints.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any


def _split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, []


def _defer_petsc() -> None:
    """Load petsc4py's ``PETSc`` module without initialising PETSc, so that modules doing
    ``from petsc4py import PETSc`` at import (a kind's schema) load before PETSc sees any
    option; :func:`_init_petsc` initialises it."""
    import solvers  # noqa: F401  (locates petsc4py)
    import petsc4py.lib

    petsc4py.lib.ImportPETSc(None)


def _init_petsc(petsc_args: list[str]) -> None:
    import petsc4py

    petsc4py.init([sys.argv[0]] + petsc_args)


def _agree(comm: Any, err: str | None) -> None:
    """Raise one collective ``UserError`` on every rank if any rank has an error (the lowest
    failing rank's message, naming the rank if it differs from rank 0's view). Collective."""
    from .parallel import UserError

    errs = comm.allgather(err)
    bad = [(r, e) for r, e in enumerate(errs) if e is not None]
    if bad:
        r, e = bad[0]
        raise UserError(e if r == 0 else f"(rank {r}) {e}", collective=True)


def load_case(path: str, comm: Any) -> Any:
    """The validated case of ``path``: rank 0 reads the file and broadcasts its text, every rank
    validates it (its memory estimate for ``comm.size`` ranks, the busiest node's share against
    one node's memory); any failure is a collective
    ``UserError`` (exit 2). Runs before PETSc initialises. Collective."""
    from mpi4py import MPI

    from . import case as casemod
    from .parallel import UserError
    from .registry import schemas

    text, err, case = None, None, None
    if comm.rank == 0:
        try:
            text = casemod.read_case_text(path)
        except casemod.CaseError as exc:
            err = f"{path}: {exc}"
    text, err = comm.bcast((text, err), root=0)
    if err is not None:
        raise UserError(err, collective=True)
    hosts = comm.allgather(MPI.Get_processor_name())
    try:
        case = casemod.validate(casemod.parse_text(text), schemas(), text=text, source=path,
                                memory=casemod.machine_memory(), ranks=comm.size,
                                node_ranks=max(hosts.count(h) for h in hosts))
    except casemod.CaseError as exc:
        err = f"{path}: {exc}"
    _agree(comm, err)
    return case


def check_case_petsc(case: Any, comm: Any) -> None:
    """The case's PETSc type names exist (:func:`solvers.case.check_petsc_types`); after PETSc
    initialised, a failure also clears the options database, so that options acting at
    ``PetscFinalize`` (``-log_view``) do nothing for a rejected case. Collective."""
    from . import case as casemod
    from .registry import schemas

    err = None
    try:
        casemod.check_petsc_types(case, schemas()[case.kind])
    except casemod.CaseError as exc:
        err = f"{case.source}: {exc}"
    if err is not None:
        from petsc4py import PETSc

        if PETSc.Sys.isInitialized():
            PETSc.Options().clear()
    _agree(comm, err)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; an extra sub-command's module is imported only when it is ``command``."""
    from .registry import COMMAND_MODULES, KINDS, load_command

    p = argparse.ArgumentParser(prog="python -m solvers",
                                description="MPI-parallel PDE and kinetics solvers on PETSc. "
                                            "PETSc options go after '--'.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run a case file")
    r.add_argument("case", help="TOML case file (kinds: " + ", ".join(sorted(KINDS)) + ")")
    r.add_argument("-o", "--output", default="", help="output path (overrides [output] path)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    r.add_argument("--overwrite", action="store_true", help="replace an output this project wrote before")
    v = sub.add_parser("validate", help="run analytic validation checks")
    v.add_argument("names", nargs="*", help="checks to run (default: all fast ones)")
    v.add_argument("--plots", metavar="DIR", help="write PNG plots to DIR")
    v.add_argument("--list", action="store_true", help="list the checks and exit")
    i = sub.add_parser("info", help="versions of PETSc, MPI, numpy, h5py, torch; ranks")
    i.add_argument("--short", action="store_true")
    s = sub.add_parser("schema", help="print the case-file schema (markdown)")
    s.add_argument("kinds", nargs="*")
    for name, (_, help_text) in sorted(COMMAND_MODULES.items()):
        cp = sub.add_parser(name, help=help_text)
        if name == command:
            load_command(name).add_arguments(cp)
    return p


def cmd_run(args, comm) -> int:
    from .parallel import Comms, stdout_is_terminal
    from .run import run_case

    c = args.loaded_case
    run_case(c, Comms(comm), output=args.output, quiet=args.quiet or not stdout_is_terminal(),
             overwrite=args.overwrite)
    return 0


def cmd_validate(args, comm) -> int:
    from .parallel import UserError, rprint
    from .registry import CHECKS, load_checks
    from .validation import format_results

    load_checks()
    if args.list:
        for name, chk in sorted(CHECKS.items()):
            rprint(f"{name:14s} {'(slow) ' if chk.slow else ''}{chk.doc}", comm=comm)
        return 0
    unknown = [n for n in args.names if n not in CHECKS]
    if unknown:
        raise UserError(f"unknown validation(s) {', '.join(unknown)}; known: {', '.join(sorted(CHECKS))}")
    names = args.names or [n for n, c in sorted(CHECKS.items()) if not c.slow]
    results = []
    for name in names:
        results.extend(CHECKS[name].func(comm, args.plots))
    rprint("\n" + format_results(results), comm=comm)
    failed = [r for r in results if not r.passed]
    rprint(f"\n{len(results) - len(failed)} passed, {len(failed)} failed", comm=comm)
    return 1 if failed else 0


def cmd_info(args, comm) -> int:
    from .io.hdf5 import versions
    from .parallel import rprint
    from .registry import KINDS

    v = versions(comm)
    if args.short:
        rprint(f"PETSc {v['petsc']}, numpy {v['numpy']}, h5py {v['h5py']}, torch {v['torch']}", comm=comm)
        return 0
    for k, val in v.items():
        rprint(f"{k:10s} {val}", comm=comm)
    rprint(f"{'kinds':10s} {', '.join(sorted(KINDS))}", comm=comm)
    return 0


def cmd_schema(args, comm) -> int:
    from .case import COMMON, Table, describe_schema
    from .parallel import UserError, rprint
    from .registry import KINDS, get_runner

    kinds = args.kinds or sorted(KINDS)
    if not args.kinds:
        rprint("# Case-file schema\n\nGenerated by `python -m solvers schema > cases/README.md`; "
               "tests/test_case.py checks it is current.\nEvery kind also accepts the common sections "
               "`[case]`, `[output]` and `[petsc]` listed under each kind.", comm=comm)
    for k in kinds:
        if k not in KINDS:
            raise UserError(f"unknown kind {k!r}; known: {', '.join(sorted(KINDS))}")
        runner = get_runner(k)
        rprint(f"\n### kind = \"{k}\"\n\n{runner.doc}\n", comm=comm)
        rprint("\n".join(describe_schema(Table({**COMMON, **runner.schema.keys}))), comm=comm)
    return 0


def main(argv: list[str] | None = None) -> int:
    args_in, petsc_args = _split_argv(list(sys.argv[1:] if argv is None else argv))
    _defer_petsc()
    from mpi4py import MPI

    from .parallel import guarded
    from .registry import load_command

    comm = MPI.COMM_WORLD

    def go() -> int:
        args = build_parser(args_in[0] if args_in else None).parse_args(args_in)
        case = load_case(args.case, comm) if args.command == "run" else None
        if case is not None:
            check_case_petsc(case, comm)            # type names PETSc defines (before PETSc starts)
        _init_petsc((case.petsc_options() if case is not None else []) + petsc_args)
        if case is not None:
            check_case_petsc(case, comm)            # registered in this build
            args.loaded_case = case
        handlers = {"run": cmd_run, "validate": cmd_validate, "info": cmd_info, "schema": cmd_schema}
        if args.command in handlers:
            return handlers[args.command](args, comm)
        return load_command(args.command).func(args, comm)

    return guarded(go, comm)


if __name__ == "__main__":
    sys.exit(main())
