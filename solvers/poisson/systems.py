"""A family's samples as a sequence of linear systems, the input of :mod:`solvers.krylov.sequence`.

Each sample gives ``family.n_steps`` systems with one matrix: steady families one, time-stepping
families (heat) one per step, the right-hand side of step s + 1 built from the solution of step
s (``family.step_rhs``). Everything is on the grid's communicator; each rank touches its owned
block only. The solution Vec ``System.x`` is valid until the consumer asks for the next system
(copy what you keep in ``solve_sequence``'s ``on_system``).
"""
from __future__ import annotations

import time
from typing import Iterable, Iterator

from meshes import Grid

from ..krylov.sequence import System
from .families import Family, Sample


def family_systems(family: Family, grid: Grid, samples: Iterable[Sample],
                   timings: dict[str, float] | None = None) -> Iterator[System]:
    """The systems of ``samples`` in the order given. ``timings["assembly"]`` accumulates the
    time spent assembling operators and right-hand sides (this rank's wall time). Collective."""
    times = timings if timings is not None else {}
    for s in samples:
        t0 = time.perf_counter()
        op, b = family.system(grid, s)
        x = grid.create_vec()
        times["assembly"] = times.get("assembly", 0.0) + time.perf_counter() - t0
        try:
            for step in range(family.n_steps):
                yield System(op.A, b, x, s.index, step)
                if step + 1 < family.n_steps:
                    t0 = time.perf_counter()
                    b_next = family.step_rhs(op, s, x)
                    b.destroy()
                    b = b_next
                    times["assembly"] += time.perf_counter() - t0
        finally:
            for obj in (b, x, op):
                obj.destroy()
