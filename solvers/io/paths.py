"""Output-path policy: decided before any work, the same on every rank.

(Owned by the reliability work of issue #15; the pipeline calls :func:`check_output`.)
"""
from __future__ import annotations

from pathlib import Path

from mpi4py import MPI

from ..parallel import UserError


def _problem(path: Path, is_dir: bool) -> str | None:
    if is_dir:
        if path.exists() and not path.is_dir():
            return f"output {path} exists and is not a directory"
    elif path.is_dir():
        return f"output {path} is a directory; give a file name"
    return None


def check_output(path: Path, *, kind: str, is_dir: bool, overwrite: bool, comm: MPI.Comm) -> Path:
    """``path`` if the run may write it, else ``UserError`` (exit 2) on every rank. Collective."""
    err = _problem(Path(path), is_dir) if comm.rank == 0 else None
    err = comm.bcast(err, root=0)
    if err:
        raise UserError(err)
    return Path(path)
