"""Output-path policy, decided before any work, the same on every rank.

The project never overwrites a file it did not write, never deletes a directory it did not
create, and finds an unusable output path before the computation, not after it:

- a file output (``is_dir=False``) may replace an existing file only if the project wrote it
  (an HDF5 file whose root attributes hold ``kind`` and ``case_text``, or a file with a project
  card ``<stem>.json`` next to it) and ``--overwrite`` is given; anything else (the case file
  itself, a user's data, a device, a ``/proc`` entry, a directory) is refused; the writer's
  temporary ``<path>.partial`` may also be any HDF5 file (what an interrupted write leaves);
- a directory output (``is_dir=True``, a dataset) may be an absent, empty or project-made
  directory (it holds :data:`MARKER`, or a ``<name>.yaml`` with a ``case_hash``); its working
  siblings ``<path>.work`` / ``<path>.partial`` must be absent or hold :data:`MARKER`;
- the deepest existing directory on the way must accept a new file (probed by creating and
  removing one), so a read-only directory, ``/proc`` or a full quota fail here;
- the last component of the path is a real name (not ``.``, ``..`` or empty).

Every refusal is a ``UserError`` (exit 2) raised on every rank. A full disk is :class:`DiskFull`
(exit 1, one message): writers check the free space before a file whose size they know
(:func:`require_space`) and turn ENOSPC/EDQUOT (:func:`is_disk_full`) into it, since HDF5
failing halfway through a file leaves the library unable to close it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from mpi4py import MPI

from ..parallel import UserError

class DiskFull(UserError):
    """No space left (or quota exceeded) for an output: exit code 1."""

    exit_code = 1


def is_disk_full(exc: BaseException | None) -> bool:
    """True if ``exc`` or an exception it arose from (a failing close after a failing write) is
    ENOSPC / EDQUOT (h5py reports HDF5's errno in the message of an OSError or RuntimeError)."""
    while exc is not None:
        if (getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
                or "No space left on device" in str(exc) or "errno = 28" in str(exc)):
            return True
        exc = exc.__context__
    return False


def space_problem(where: Path, nbytes: int) -> str | None:
    """Why ``nbytes`` will not fit on the file system of ``where`` (its deepest existing
    directory), or None. Not collective."""
    where = Path(where)
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if free >= nbytes:
        return None
    return (f"disk full: {nbytes / 2**20:.2f} MiB to write, {where} has {free / 2**20:.2f} MiB free; "
            "free some space and run the same command again")


def require_space(where: Path, nbytes: int, comm: MPI.Comm) -> None:
    """:class:`DiskFull` on every rank of ``comm`` unless ``nbytes`` fit at ``where`` (rank 0
    decides). Collective."""
    err = comm.bcast(space_problem(where, nbytes) if comm.rank == 0 else None, root=0)
    if err:
        raise DiskFull(err, collective=comm.size == MPI.COMM_WORLD.size)


MARKER = ".solvers-created"          # inside every directory the project creates (and may delete)
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def mark(directory: Path, kind: str) -> None:
    """Create ``directory`` (and parents) and put the project's marker in it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(json.dumps({"kind": kind}) + "\n")


def is_marked(directory: Path) -> bool:
    """True if ``directory`` is one the project created (it holds :data:`MARKER`)."""
    return (directory / MARKER).is_file()


def foreign(path: Path) -> str | None:
    """Why ``path`` may be neither used nor deleted (it exists and is not a directory this
    project created), or None."""
    if os.path.lexists(path) and not (path.is_dir() and not path.is_symlink() and is_marked(path)):
        return (f"{path} exists and was not created by this project; refusing to use or delete it "
                f"(move it away or choose another output path)")
    return None


def _is_hdf5(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def written_by_project(path: Path) -> bool:
    """True if the regular file ``path`` is an output of this project (see the module doc)."""
    if _is_hdf5(path):
        import h5py
        try:
            with h5py.File(path, "r") as h5:
                return "kind" in h5.attrs and "case_text" in h5.attrs
        except (OSError, ValueError):
            return False
    card = path.with_suffix(".json")
    if card == path or not card.is_file():
        return False
    try:
        data = json.loads(card.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("format"), str) and data["format"].startswith("dcdm-model")


def _dataset_dir(path: Path) -> bool:
    if is_marked(path):
        return True
    import yaml
    for meta in path.glob("*.yaml"):
        try:
            data = yaml.safe_load(meta.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and "case_hash" in data:
            return True
    return False


def _probe(path: Path) -> str | None:
    """None if a new file can be created in the deepest existing directory above ``path``."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a directory"
    try:
        fd, probe = tempfile.mkstemp(prefix=".solvers-probe-", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot create files in {parent}: {exc.strerror or exc}"
    return None


def _file_problem(path: Path, kind: str, overwrite: bool) -> str | None:
    """Why ``path`` (or the writer's temporary ``<path>.partial``, which an interrupted write of
    ours leaves as an HDF5 file without attributes yet) may not be written, or None."""
    partial = path.with_name(path.name + ".partial")
    for p in (path, partial):
        if not os.path.lexists(p):
            continue
        st = os.stat(p) if p.exists() else os.lstat(p)
        if stat.S_ISDIR(st.st_mode):
            return f"output {p} is a directory; give a file name"
        if not stat.S_ISREG(st.st_mode):
            return f"output {p} exists and is not a regular file; refusing to write to it"
        if not (written_by_project(p) or (p == partial and _is_hdf5(p))):
            return (f"output {p} exists and was not written by this project; refusing to overwrite it "
                    f"(choose another output path)")
        if p == path and not overwrite:
            return f"output {p} exists (written by an earlier run); pass --overwrite to replace it with the {kind} output"
    return None


def _dir_problem(path: Path) -> str | None:
    if path.exists():
        if not path.is_dir():
            return f"output {path} exists and is not a directory"
        if any(path.iterdir()) and not _dataset_dir(path):
            return (f"output directory {path} exists, is not empty and was not made by this project; "
                    f"refusing to write into it (choose another output path)")
    return foreign(path.with_name(path.name + ".work")) or foreign(path.with_name(path.name + ".partial"))


def problem(path: Path, *, kind: str, is_dir: bool, overwrite: bool) -> str | None:
    """Why the run may not write ``path`` (None if it may). Not collective."""
    if path.name in ("", ".", "..") or "\x00" in str(path):
        return f"output {str(path)!r} is not a file or directory name"
    found = _dir_problem(path) if is_dir else _file_problem(path, kind, overwrite)
    return found or _probe(path)


def check_output(path: Path, *, kind: str, is_dir: bool, overwrite: bool, comm: MPI.Comm) -> Path:
    """``path`` if the run may write it (see the module doc), else ``UserError`` (exit 2) on
    every rank of ``comm``. Rank 0 decides. Collective."""
    path = Path(path)
    err = problem(path, kind=kind, is_dir=is_dir, overwrite=overwrite) if comm.rank == 0 else None
    err = comm.bcast(err, root=0)
    if err:
        raise UserError(err, collective=comm.size == MPI.COMM_WORLD.size)
    return path
