"""The one progress bar: tqdm on rank 0 of a communicator, off when quiet or not on a terminal.

    bar = Progress(total, "darcy", comm=comm, quiet=ctx.quiet, unit="sample")
    bar.update(1)
    bar.close()
"""
from __future__ import annotations

from typing import Any


class Progress:
    """A rank-0 tqdm bar (every other rank, and quiet runs, get a no-op). ``comm=None`` means a
    serial caller (the bar is shown unless quiet)."""

    def __init__(self, total: int, desc: str, comm: Any = None, quiet: bool = False, initial: int = 0,
                 unit: str = "it"):
        self.bar = None
        if not quiet and (comm is None or comm.rank == 0):
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, leave=False)

    def update(self, k: int = 1) -> None:
        if self.bar is not None and k:
            self.bar.update(k)

    def postfix(self, **values: Any) -> None:
        """Show ``key=value`` pairs after the bar (e.g. the current loss)."""
        if self.bar is not None:
            self.bar.set_postfix(**values)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
