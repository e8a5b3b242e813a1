"""Structured vertex grids over a PETSc DMDA (2D and 3D).

A :class:`Grid` owns one DMDA on a communicator. Nodes are ``x_i = lo + i h`` for
``i = 0..n-1`` (boundary nodes included), ``h = (hi - lo) / (n - 1)``. Arrays use grid index
order ``a[i, j(, k)]`` (x first), the order petsc4py's ``getVecArray`` uses. Every solver
builds on this class: it gives coordinates, owned ranges, ghost exchange, gather to rank 0
and scatter from a replicated global array.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc


class Grid:
    """A ``dim``-dimensional vertex grid distributed with a DMDA. Collective on ``comm``.

    Parameters
    ----------
    shape: nodes per dimension (boundary included), each >= 2.
    extent: ``[(lo, hi), ...]`` per dimension; default the unit box.
    comm: mpi4py communicator (default COMM_WORLD).
    stencil_width: ghost layer width (1 for 5/7-point stencils).
    stencil: ``"star"`` (5/7-point) or ``"box"``.
    """

    def __init__(self, shape: Sequence[int], extent: Sequence[Sequence[float]] | None = None,
                 comm: MPI.Comm | None = None, stencil_width: int = 1, stencil: str = "star"):
        shape = tuple(int(n) for n in shape)
        if len(shape) not in (2, 3):
            raise ValueError(f"grid shape must have 2 or 3 entries, got {shape}")
        if min(shape) < 2:
            raise ValueError(f"every grid dimension needs >= 2 nodes, got {shape}")
        extent = [(0.0, 1.0)] * len(shape) if extent is None else [tuple(map(float, e)) for e in extent]
        if len(extent) != len(shape) or any(hi <= lo for lo, hi in extent):
            raise ValueError(f"extent {extent} does not match shape {shape} or is empty")
        self.comm = comm or MPI.COMM_WORLD
        self.shape = shape
        self.dim = len(shape)
        self.extent = extent
        self.h = tuple((hi - lo) / (n - 1) for (lo, hi), n in zip(extent, shape))
        st = PETSc.DMDA.StencilType.STAR if stencil == "star" else PETSc.DMDA.StencilType.BOX
        self.da = PETSc.DMDA().create(dim=self.dim, dof=1, sizes=shape, stencil_type=st,
                                      stencil_width=stencil_width,
                                      comm=PETSc.Comm(self.comm))
        self.da.setUniformCoordinates(*[v for e in extent for v in e])
        self.ranges: tuple[tuple[int, int], ...] = tuple(self.da.getRanges())
        self.ghost_ranges: tuple[tuple[int, int], ...] = tuple(self.da.getGhostRanges())

    # -- sizes and index sets -------------------------------------------------------------
    @property
    def size(self) -> int:
        """Total number of nodes (unknowns)."""
        return int(np.prod(self.shape))

    @property
    def local_shape(self) -> tuple[int, ...]:
        return tuple(e - s for s, e in self.ranges)

    @property
    def local_size(self) -> int:
        return int(np.prod(self.local_shape))

    def local_slices(self) -> tuple[slice, ...]:
        """Slices of a global ``[i, j(, k)]`` array that this rank owns."""
        return tuple(slice(s, e) for s, e in self.ranges)

    def coordinates(self, d: int) -> np.ndarray:
        """All node coordinates along dimension ``d`` (1D, replicated)."""
        lo, hi = self.extent[d]
        return np.linspace(lo, hi, self.shape[d])

    def local_coordinates(self) -> list[np.ndarray]:
        """Coordinates of the owned nodes as ``dim`` arrays of ``local_shape`` (ij indexing)."""
        axes = [self.coordinates(d)[s:e] for d, (s, e) in enumerate(self.ranges)]
        return list(np.meshgrid(*axes, indexing="ij"))

    def local_indices(self) -> list[np.ndarray]:
        """Global integer indices ``(i, j(, k))`` of owned nodes, each of ``local_shape``."""
        axes = [np.arange(s, e) for s, e in self.ranges]
        return list(np.meshgrid(*axes, indexing="ij"))

    def boundary_mask(self) -> np.ndarray:
        """Boolean array of ``local_shape``: True on owned nodes of the domain boundary."""
        mask = np.zeros(self.local_shape, dtype=bool)
        for d, idx in enumerate(self.local_indices()):
            mask |= (idx == 0) | (idx == self.shape[d] - 1)
        return mask

    def natural_index(self, idx: Sequence[np.ndarray]) -> np.ndarray:
        """Natural (x-fastest lexicographic) index of nodes given by index arrays."""
        nat = np.zeros_like(np.asarray(idx[0]), dtype=PETSc.IntType)
        stride = 1
        for d in range(self.dim):
            nat = nat + np.asarray(idx[d], dtype=PETSc.IntType) * stride
            stride *= self.shape[d]
        return nat

    def petsc_index(self, natural: np.ndarray) -> np.ndarray:
        """Map natural indices to PETSc's global (rank-contiguous) ordering. Collective."""
        flat = np.ascontiguousarray(natural, dtype=PETSc.IntType).ravel()
        return np.asarray(self.da.getAO().app2petsc(flat), dtype=PETSc.IntType).reshape(np.shape(natural))

    # -- vectors --------------------------------------------------------------------------
    def create_vec(self) -> PETSc.Vec:
        """A zeroed global vector. Collective."""
        v = self.da.createGlobalVec()
        v.set(0.0)
        return v

    def create_local_vec(self) -> PETSc.Vec:
        return self.da.createLocalVec()

    def local_array(self, vec: PETSc.Vec) -> np.ndarray:
        """Owned values of a global vector as a ``local_shape`` array (a copy)."""
        return vec.getArray(readonly=True).reshape(self.local_shape, order="F").copy()

    def set_local(self, vec: PETSc.Vec, values: np.ndarray) -> PETSc.Vec:
        """Set the owned values of ``vec`` from a ``local_shape`` array (or a scalar)."""
        vec.setArray(np.ascontiguousarray(np.broadcast_to(values, self.local_shape).ravel(order="F")))
        return vec

    def vec_from_function(self, func) -> PETSc.Vec:
        """Global vector with ``func(*coords)`` at the owned nodes."""
        return self.set_local(self.create_vec(), func(*self.local_coordinates()))

    def ghosted(self, vec: PETSc.Vec) -> np.ndarray:
        """Owned + ghost values (ghost exchange) as an array over ``ghost_ranges``. Collective."""
        loc = self.da.createLocalVec()
        self.da.globalToLocal(vec, loc)
        shape = tuple(e - s for s, e in self.ghost_ranges)
        out = loc.getArray(readonly=True).reshape(shape, order="F").copy()
        loc.destroy()
        return out

    def scatter(self, global_array: np.ndarray, vec: PETSc.Vec | None = None) -> PETSc.Vec:
        """Vector from a global ``shape`` array replicated on every rank (each takes its block).

        Because every rank reads the same replicated array, the result does not depend on the
        number of ranks (used for seed-stable random fields).
        """
        global_array = np.asarray(global_array)
        if global_array.shape != self.shape:
            raise ValueError(f"array of shape {global_array.shape} does not match grid {self.shape}")
        vec = vec or self.create_vec()
        return self.set_local(vec, global_array[self.local_slices()])

    def _natural_scatter(self, to_all: bool) -> tuple[PETSc.Vec, PETSc.Scatter, PETSc.Vec]:
        """(natural-ordering Vec, scatter to rank 0 or to all, the sequential target), cached."""
        key = "_to_all" if to_all else "_to_zero"
        if getattr(self, key, None) is None:
            nat = self.da.createNaturalVec()
            sc, seq = (PETSc.Scatter.toAll if to_all else PETSc.Scatter.toZero)(nat)
            setattr(self, key, (nat, sc, seq))
        return getattr(self, key)

    def gather(self, vec: PETSc.Vec, root_only: bool = True) -> np.ndarray | None:
        """The whole field as a ``shape`` array on rank 0 (None elsewhere). Collective.

        A deliberate gather (PETSc's natural-ordering scatter to rank 0): for small fields or a
        rank-0 consumer such as a network. With ``root_only=False`` every rank gets the array.
        """
        nat, sc, seq = self._natural_scatter(not root_only)
        self.da.globalToNatural(vec, nat)
        sc.scatter(nat, seq, addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
        if root_only and self.comm.rank != 0:
            return None
        return seq.getArray(readonly=True).reshape(self.shape, order="F").copy()

    def from_root(self, array: np.ndarray | None, vec: PETSc.Vec) -> PETSc.Vec:
        """Fill ``vec`` from a ``shape`` array held by rank 0 only (the inverse of :meth:`gather`;
        the other ranks pass None and never hold the whole array). Collective."""
        nat, sc, seq = self._natural_scatter(False)
        if self.comm.rank == 0:
            if np.shape(array) != self.shape:
                raise ValueError(f"array of shape {np.shape(array)} does not match grid {self.shape}")
            seq.setArray(np.ascontiguousarray(np.asarray(array, dtype=float).ravel(order="F")))
        sc.scatter(seq, nat, addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.REVERSE)
        self.da.naturalToGlobal(nat, vec)
        return vec

    # -- norms on the grid ----------------------------------------------------------------
    def l2_norm(self, vec: PETSc.Vec) -> float:
        """Discrete L2 norm sqrt(prod(h) * sum u^2) (approximates the continuous L2 norm)."""
        return float(np.sqrt(np.prod(self.h)) * vec.norm(PETSc.NormType.NORM_2))

    def __repr__(self) -> str:
        return f"Grid(shape={self.shape}, extent={self.extent}, ranks={self.comm.size})"
