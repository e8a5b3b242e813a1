"""MPI helpers: rank-0 printing, abort-on-exception, communicator splitting.

The communicator is always an argument (default ``MPI.COMM_WORLD``); nothing here keeps a
hidden global communicator.
"""
from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any, Callable, Sequence

from mpi4py import MPI


def rprint(*args: Any, comm: MPI.Comm | None = None, file=None, **kw) -> None:
    """Print on rank 0 of ``comm`` only (flushes, so output interleaves sanely under mpirun)."""
    comm = comm or MPI.COMM_WORLD
    if comm.rank == 0:
        print(*args, file=file or sys.stdout, flush=True, **kw)


def stdout_is_terminal() -> bool:
    """True when output goes to a terminal (progress bars on), false for files and pipes.

    Open MPI hands every rank a pseudo-terminal even when ``mpirun``'s own output is
    redirected, so under Open MPI the answer comes from the launcher's stdout.
    """
    if not sys.stdout.isatty():
        return False
    if "OMPI_COMM_WORLD_SIZE" in os.environ:
        try:
            target = os.readlink(f"/proc/{os.getppid()}/fd/1")
        except OSError:
            return True
        return target.startswith(("/dev/pts", "/dev/tty"))
    return True


class UserError(Exception):
    """An error the user can fix (bad input, impossible option): message only, exit code 2.

    ``collective=True`` promises that every rank of the world raises it (after an agreement,
    e.g. case validation): the job then ends cleanly with rank 0's message. Without it the
    raising rank cannot know what the others do, so :func:`guarded` ends the job with
    ``MPI_Abort(exit_code)`` (Open MPI's ``mpirun`` exits with that code).
    """

    exit_code = 2

    def __init__(self, message: str = "", *, collective: bool = False):
        super().__init__(message)
        self.collective = collective


ABORT_GRACE = 1.0    # seconds a failing rank > 0 waits, so that rank 0's message wins if both fail


def guarded(func: Callable[[], int], comm: MPI.Comm | None = None) -> int:
    """Run ``func``; an exception on any rank ends the whole job with its message, never a hang.

    A collective ``UserError`` (every rank raised it) prints once on rank 0 and returns its
    exit code (2 bad input, 3 divergence) on every rank. Any other failure on any rank prints
    the message (``UserError``) or the traceback (anything else), prefixed with the failing
    rank, and calls ``MPI_Abort`` with the exit code (1 for unexpected exceptions), so ranks
    waiting in a collective cannot hang; a failing rank other than 0 waits ``ABORT_GRACE``
    first, so a failure seen by every rank is reported once, by rank 0.
    """
    comm = comm or MPI.COMM_WORLD
    try:
        return func()
    except KeyboardInterrupt:
        if comm.size > 1:
            comm.Abort(130)
        return 130
    except Exception as exc:  # noqa: BLE001 - the whole point is to catch everything
        code = exc.exit_code if isinstance(exc, UserError) else 1
        if isinstance(exc, UserError) and (comm.size == 1 or exc.collective):
            if comm.rank == 0:
                print(f"error: {exc}", file=sys.stderr, flush=True)
            return code
        prefix = f"[rank {comm.rank}/{comm.size}] " if comm.size > 1 else ""
        lines = [] if isinstance(exc, UserError) else traceback.format_exc().rstrip().splitlines()
        lines.append(f"error: {exc}" if isinstance(exc, UserError) else f"error: {type(exc).__name__}: {exc}")
        if comm.size > 1 and comm.rank > 0:
            time.sleep(ABORT_GRACE)
        try:
            sys.stderr.write("".join(prefix + line + "\n" for line in lines))
            sys.stderr.flush()
        except OSError:                         # a closed stderr must not keep the job alive
            pass
        if comm.size > 1:
            comm.Abort(code)
        return code


def split(comm: MPI.Comm, ranks_per_group: int) -> tuple[MPI.Comm, int, int]:
    """Split ``comm`` into groups of ``ranks_per_group`` consecutive ranks. Collective.

    Returns ``(group_comm, group_index, n_groups)``. ``comm.size`` must be a multiple.
    """
    if ranks_per_group < 1 or comm.size % ranks_per_group:
        raise UserError(f"ranks_per_solve = {ranks_per_group} must divide the number of ranks ({comm.size})")
    color = comm.rank // ranks_per_group
    return comm.Split(color, comm.rank), color, comm.size // ranks_per_group


class Comms:
    """The one owner of the run's communicators (the analogue of Dedalus's ``Distributor``).

    ``world``: every rank of the run. ``group``: the sub-communicator of this rank's group of
    ``ranks_per_solve`` consecutive ranks after :meth:`split` (``world`` before), with
    ``group_index`` and ``n_groups``. :meth:`cart` makes a Cartesian process mesh (e.g. space x
    velocity). ``Comms(None)`` means ``MPI.COMM_WORLD``; nothing else in the code base picks a
    communicator on its own: objects take the one they are handed.
    """

    def __init__(self, world: MPI.Comm | None = None):
        self.world: MPI.Comm = world if world is not None else MPI.COMM_WORLD
        self.group: MPI.Comm = self.world
        self.group_index = 0
        self.n_groups = 1
        self._owned: list[MPI.Comm] = []

    @property
    def rank(self) -> int:
        return self.world.rank

    @property
    def size(self) -> int:
        return self.world.size

    def split(self, ranks_per_group: int) -> MPI.Comm:
        """Groups of ``ranks_per_group`` consecutive ranks; returns this rank's group. Collective."""
        if self.group is not self.world:
            raise RuntimeError("Comms.split: the world is already split into groups")
        self.group, self.group_index, self.n_groups = split(self.world, ranks_per_group)
        self._owned.append(self.group)
        return self.group

    def cart(self, dims: Sequence[int], periods: Sequence[bool] | None = None) -> MPI.Cartcomm:
        """A Cartesian process mesh over ``world`` with ``dims`` (0 entries: chosen by
        ``MPI.Compute_dims``). Collective."""
        dims = MPI.Compute_dims(self.world.size, list(dims))
        cart = self.world.Create_cart(dims, periods=list(periods) if periods else [False] * len(dims))
        self._owned.append(cart)
        return cart

    def free(self) -> None:
        """Free the communicators this owner created. Collective."""
        for c in self._owned:
            c.Free()
        self._owned.clear()
        self.group = self.world
        self.group_index, self.n_groups = 0, 1
