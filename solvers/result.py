"""What a kind's run returns: distributed fields, small replicated arrays, attributes, report lines.

A kind never writes a file. It returns a :class:`Result`; :func:`solvers.run.run_case` adds the
common attributes (``case_text``, ``kind``, ``versions``, timings) once and hands the result to
the one writer (:mod:`solvers.io.hdf5`), which writes every :class:`Block` as a hyperslab in
parallel (no gather) and every replicated array once.

    res = Result()
    res.blocks["u"] = Block.from_grid(grid, grid.local_array(u))   # this rank's block
    res.arrays["x"] = grid.coordinates(0)                          # same on every rank, small
    res.attrs["iterations"] = its
    res.say(f"converged in {its} iterations")                      # printed once, by rank 0
    return res
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Block:
    """This rank's block ``data`` of a distributed array of ``global_shape``, at ``start``.

    Blocks of one array must tile it (every element owned by exactly one rank); a rank that
    owns nothing gives an empty block. Leading axes that are not split (e.g. time) are part of
    ``global_shape`` with ``start`` 0.
    """

    global_shape: tuple[int, ...]
    start: tuple[int, ...]
    data: np.ndarray

    def __post_init__(self) -> None:
        if len(self.global_shape) != self.data.ndim or len(self.start) != self.data.ndim:
            raise ValueError(f"block of shape {self.data.shape} at {self.start} does not match "
                             f"global shape {self.global_shape}")
        for s, n, g in zip(self.start, self.data.shape, self.global_shape):
            if s < 0 or s + n > g:
                raise ValueError(f"block of shape {self.data.shape} at {self.start} exceeds {self.global_shape}")

    @property
    def slices(self) -> tuple[slice, ...]:
        """Where the block sits in the global array."""
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.data.shape))

    @classmethod
    def from_grid(cls, grid: Any, local: np.ndarray, leading: tuple[int, ...] = ()) -> "Block":
        """The block of a field on a ``meshes.Grid``'s owned range; ``leading`` axes (e.g. time
        steps) precede the grid axes and are not split."""
        return cls(tuple(leading) + tuple(grid.shape), (0,) * len(leading) + tuple(s for s, _ in grid.ranges),
                   np.ascontiguousarray(local))

    @classmethod
    def whole(cls, array: np.ndarray, owner: bool) -> "Block":
        """An array held by one rank (``owner``): the others contribute empty blocks."""
        array = np.asarray(array)
        if owner:
            return cls(array.shape, (0,) * array.ndim, np.ascontiguousarray(array))
        return cls(array.shape, (0,) * array.ndim, np.empty((0,) * array.ndim, dtype=array.dtype))


@dataclass
class Result:
    """The outcome of one run of a kind. Collective in the sense that every rank returns one.

    ``blocks``: distributed arrays (name, possibly ``group/name`` -> this rank's :class:`Block`).
    ``arrays``: small arrays identical on every rank (rank 0's copy is written).
    ``attrs``: root attributes (numbers, strings, lists, dicts: dicts are stored as JSON).
    ``dataset_attrs``: attributes per dataset name.
    ``lines``: report lines, printed by rank 0 after the run (progress goes to the log as it happens).
    ``layout``: optional ``f(h5)`` that lays out the open file before the arrays are written
    (groups, attributes, empty datasets: e.g. The Well's ``datasets.schema.create``); arrays whose
    names it created are written into those datasets. Collective with parallel HDF5.
    """

    blocks: dict[str, Block] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    dataset_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    wrote: bool = True             # False: the run found its output complete and wrote nothing
    layout: Callable[[Any], None] | None = None
    failure: str = ""              # after writing, the run ends with exit 3 and this message (e.g. unconverged solves)

    def say(self, line: str) -> None:
        """Add a report line (printed once, by rank 0, before the 'wrote' line)."""
        self.lines.append(line)

    def names(self) -> list[str]:
        return sorted(set(self.blocks) | set(self.arrays))
