"""The one pipeline from a validated case to its output.

    run_case(case, comms) :  output path (default, checks)  ->  kind's run(case, ctx) -> Result
                             ->  NaN/inf check  ->  common attributes  ->  io.hdf5.write  ->  'wrote …'

Kinds only build and solve; the output-path default, ``case_text``, ``kind``, ``versions``,
the wall time and the "wrote" line exist here and nowhere else.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from .case import Case
from .parallel import Comms, UserError, rprint
from .registry import Runner, RunContext, get_runner
from .result import Result


class NonFiniteResult(UserError):
    """A result holds NaN or inf: nothing is written; exit code 3 (like a diverged solve)."""

    exit_code = 3


def default_output(case: Case, runner: Runner) -> Path:
    """``[output] path`` of the case, else ``out/<name>.h5`` (``out/<name>`` for directory
    outputs, ``out/<name><suffix>`` for other files)."""
    given = case["output"]["path"]
    if given:
        return Path(given)
    suffix = {"file": ".h5", "dir": ""}.get(runner.output, runner.output)
    return Path("out") / f"{case.name}{suffix}"


def nonfinite(result: Result, comm: MPI.Comm) -> list[str]:
    """Names of the arrays that hold NaN or inf on any rank. Collective."""
    bad = [name for name, b in sorted(result.blocks.items())
           if np.issubdtype(b.data.dtype, np.inexact) and not np.isfinite(b.data).all()]
    if comm.rank == 0:
        bad += [name for name, a in sorted(result.arrays.items())
                if np.issubdtype(np.asarray(a).dtype, np.inexact) and not np.isfinite(a).all()]
    return sorted(set(name for names in comm.allgather(bad) for name in names))


def run_case(case: Case, comms: Comms | None = None, output: str | Path = "", quiet: bool = True,
             overwrite: bool = False, restart: bool = False) -> dict[str, Any]:
    """Run a validated case and write its output; returns the summary (the result's attributes
    plus ``output`` and ``wall_time``). Collective on ``comms.world``."""
    from .io import hdf5, paths

    comms = comms or Comms()
    comm = comms.world
    runner = get_runner(case.kind)
    path = Path(output) if output else default_output(case, runner)
    path = paths.check_output(path, kind=case.kind, is_dir=runner.output == "dir", overwrite=overwrite,
                              comm=comm)
    ctx = RunContext(comms=comms, output=path, quiet=quiet, overwrite=overwrite, restart=restart)
    t0 = time.perf_counter()
    result = runner.run(case, ctx)
    wall = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    bad = nonfinite(result, comm)
    if bad:
        raise NonFiniteResult(f"{case.kind} run produced NaN or inf in {', '.join(bad)}; nothing written to {path}",
                              collective=comm.size == MPI.COMM_WORLD.size)     # same list on every rank
    for line in result.lines:
        rprint(line, comm=comm)
    summary = {**result.attrs, "wall_time": wall}
    if runner.output == "file":
        attrs = {"case_text": case.text, "kind": case.kind, "versions": hdf5.versions(comm), **summary}
        hdf5.write(path, result, attrs, comm)
    if result.wrote:
        rprint(f"wrote {path}", comm=comm)
    if result.failure:                               # the same on every rank (a collective outcome)
        from .ksp import SolverDiverged
        raise SolverDiverged(result.failure, collective=comm.size == MPI.COMM_WORLD.size)
    summary["output"] = str(path)
    return summary
