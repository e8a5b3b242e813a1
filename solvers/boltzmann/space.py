"""Space-dependent light/heavy mixture, 1D in x, 2D/3D in velocity (x along v_1)::

    ∂_t f_i + v_1 ∂_x f_i = (1/Kn) Σ_j Q_ij,    x ∈ [0, L_x],  i ∈ {L, H}

with the nondimensionalisation of :mod:`.ap_scheme` (x in units of the light mean free path times
``Kn``). Strang splitting ``T(dt/2) C(dt) T(dt/2)`` (Strang 1968): ``T`` the MUSCL transport of
:mod:`.transport` (SSP-RK2), ``C`` the homogeneous collision step of :class:`.ap_scheme.Mixture`
with time ``dt/Kn``, batched over the cells a rank owns in blocks of
:meth:`.ap_scheme.Mixture.cells_per_block` cells (cache blocking). The time step is the transport CFL
bound ``dt = cfl dx / max|v_1|`` (``cfl <= 1/2``), independent of Kn and ε: the collision step is
stable for every ``dt`` (``ap``, ``ap2``). The transport keeps ``f >= 0`` under that bound; the spectral
collision step does not; with ``positivity=True`` (an option: it costs accuracy where the negative part
is large, e.g. next to a diffuse wall) it is followed by the conservative positivity fix of
:mod:`.positivity` in every cell and species: ``f >= 0`` for all time for non-negative data, with the
density, momentum and energy of every cell unchanged to rounding.

Parallel: x is split over the ranks by a PETSc DMDA (dof = both species' velocity points, stencil
width 2); ``globalToLocal`` fills the ghost cells of the MUSCL stencil (periodic wrap included),
physical boundaries fill their own. Every cell's arithmetic is the same on any number of ranks
(the batched operators are batch-independent to the bit), so the state is bitwise identical on
1, 2, 3 ranks; only the diagnostic global sums (mass, energy) are reduced in a rank-dependent order.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
from mpi4py import MPI

from . import moments as mo
from .ap_scheme import Mixture
from .positivity import positive_maxwellian, positive_part
from .transport import CFL_MAX, NG, Boundary, Transport

PHASES = ("ghosts", "muscl", "collide")   # ghost exchange and boundary fill; MUSCL fluxes and SSP-RK2 stages;
#                                            collision step (with the positivity fix)


class SpaceMixture:
    """The two species on ``n_x`` cells of ``[0, L_x]``; ``left``/``right`` ``None`` means periodic;
    ``aligned``: per species (L, H), the frame-aligned reconstruction of :mod:`.transport`. Collective (every method that exchanges ghosts or reduces)."""

    def __init__(self, mix: Mixture, nx: int, Lx: float, left: Boundary | None, right: Boundary | None,
                 Kn: float, scheme: str = "ap2", comm=None, cfl: float = 0.45, positivity: bool = False,
                 aligned: tuple[bool, bool] = (False, False)):
        from petsc4py import PETSc
        if (left is None) != (right is None):
            raise ValueError("periodic boundaries must be periodic at both ends")
        walls = any(b.kind in ("specular", "diffuse") for b in (left or ()) + (right or ()))
        if walls and not (mix.gL.center[0] == mix.gH.center[0] == 0.0):
            raise ValueError("specular and diffuse walls need velocity boxes centred at v_1 = 0 (mirror map)")
        if not 0 < cfl <= CFL_MAX:
            raise ValueError(f"cfl must be in (0, {CFL_MAX}] (positivity of the MUSCL stages), got {cfl}")
        self.mix, self.nx, self.Lx, self.Kn, self.scheme = mix, nx, Lx, Kn, scheme
        self.left, self.right, self.positivity = left, right, positivity
        self.limited = {"cells": 0, "scaled": 0, "theta": 1.0}     # this rank's positivity-fix counts
        self.comm = comm or MPI.COMM_WORLD
        self.P = (int(np.prod(mix.gL.shape)), int(np.prod(mix.gH.shape)))
        bt = PETSc.DMDA.BoundaryType.PERIODIC if left is None else PETSc.DMDA.BoundaryType.GHOSTED
        self.da = PETSc.DMDA().create([nx], dof=sum(self.P), stencil_width=NG, boundary_type=(bt,),
                                      comm=self.comm)
        (self.xs, self.xe), = self.da.getRanges()
        self.nloc = self.xe - self.xs
        if self.nloc < NG:
            raise ValueError(f"{nx} cells over {self.comm.size} ranks leaves a rank fewer than {NG} cells")
        self.gvec, self.lvec = self.da.createGlobalVec(), self.da.createLocalVec()
        self.dx = Lx / nx
        self.x = (self.xs + np.arange(self.nloc) + 0.5) * self.dx
        self.tr = (Transport(mix.gL, self.dx, aligned[0]), Transport(mix.gH, self.dx, aligned[1]))
        speed = max(t.max_speed() for t in self.tr)
        for t in self.tr:
            t.bound_speed(speed)
        self.dt = cfl * self.dx / speed
        self.chunk = mix.cells_per_block()           # cells per block of the collision step
        self.timers = dict.fromkeys(PHASES, 0.0)    # this rank's wall time per phase (s), see :meth:`timed`

    @contextmanager
    def timed(self, phase: str):
        """Adds the wall time of the block to ``timers[phase]`` (phases exclusive: :data:`PHASES`)."""
        tic = time.perf_counter()
        yield
        self.timers[phase] += time.perf_counter() - tic

    # -- ghosts ------------------------------------------------------------------------------------
    def ghosted(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both species with ``NG`` ghost cells per side, filled (neighbour ranks, wrap, boundaries). Collective."""
        with self.timed("ghosts"):
            return self._ghosted(fL, fH)

    def _ghosted(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        PL, PH = self.P
        self.gvec.array.reshape(self.nloc, PL + PH)[:] = np.concatenate(
            [fL.reshape(self.nloc, PL), fH.reshape(self.nloc, PH)], axis=1)
        self.da.globalToLocal(self.gvec, self.lvec)
        loc = self.lvec.array.reshape(self.nloc + 2 * NG, PL + PH)
        out = (loc[:, :PL].reshape((-1,) + self.mix.gL.shape).copy(),
               loc[:, PL:].reshape((-1,) + self.mix.gH.shape).copy())
        for k, fg in enumerate(out):
            if self.xs == 0 and self.left is not None:
                self.left[k].fill(fg, "left")
            if self.xe == self.nx and self.right is not None:
                self.right[k].fill(fg, "right")
        return out

    def _walls(self, k: int) -> tuple[Boundary | None, Boundary | None]:
        lo = self.left[k] if self.left is not None and self.xs == 0 else None
        hi = self.right[k] if self.right is not None and self.xe == self.nx else None
        return lo, hi

    # -- splitting steps -----------------------------------------------------------------------------
    def transport_rhs(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gs = self.ghosted(fL, fH)
        with self.timed("muscl"):
            return tuple(tr.rhs(fg, *self._walls(k)) for k, (tr, fg) in enumerate(zip(self.tr, gs)))

    def transport(self, fL: np.ndarray, fH: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
        """SSP-RK2 (Heun) of the MUSCL semi-discretisation over ``h``. Collective. The stages are convex
        combinations of non-negative values in exact arithmetic only: where a value falls to ~0 its
        rounding can be ~1e-16 of the local values below 0 (measured: -4e-51 against 1e-35 neighbours); with
        ``positivity`` those are set to 0 (a change below the rounding of every total)."""
        kL, kH = self.transport_rhs(fL, fH)
        with self.timed("muscl"):
            aL, aH = fL + h * kL, fH + h * kH
        kL, kH = self.transport_rhs(aL, aH)
        with self.timed("muscl"):
            out = 0.5 * (fL + aL + h * kL), 0.5 * (fH + aH + h * kH)
            return tuple(np.maximum(f, 0.0) for f in out) if self.positivity else out

    def collide(self, fL: np.ndarray, fH: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
        """The homogeneous collision step over ``h / Kn`` (``Kn = inf``: none), followed by the positivity
        fix (:meth:`positive`) if ``positivity``, on blocks of :attr:`chunk` cells (each block's stages
        run before the next block's: cache blocking; every cell's arithmetic is the same in any block)."""
        if np.isinf(self.Kn):
            return fL, fH
        with self.timed("collide"):
            out = np.empty_like(fL), np.empty_like(fH)
            for a in range(0, self.nloc, self.chunk):
                c = slice(a, a + self.chunk)
                gL, gH = self.mix.step(self.scheme, fL[c], fH[c], h / self.Kn)
                out[0][c], out[1][c] = self.positive(gL, gH) if self.positivity else (gL, gH)
            return out

    def positive(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both species made non-negative, moments of every cell kept (:func:`.positivity.positive_part`);
        counts the cells changed in :attr:`limited`."""
        out = []
        for g, m, f in ((self.mix.gL, self.mix.m_L, fL), (self.mix.gH, self.mix.m_H, fH)):
            fp, info = positive_part(g, f, m)
            self.limited["cells"] += info["cells"]
            self.limited["scaled"] += info["scaled"]
            self.limited["theta"] = min(self.limited["theta"], info["theta"])
            out.append(fp)
        return out[0], out[1]

    def limiter_counts(self) -> dict:
        """:attr:`limited` summed (cells) / minimised (θ) over the ranks. Collective."""
        c = self.comm.allreduce(np.array([self.limited["cells"], self.limited["scaled"]]), op=MPI.SUM)
        return {"cells": int(c[0]), "scaled": int(c[1]),
                "theta": self.comm.allreduce(self.limited["theta"], op=MPI.MIN)}

    def step(self, fL: np.ndarray, fH: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Strang: ``T(dt/2) C(dt) T(dt/2)``. Collective."""
        fL, fH = self.transport(fL, fH, 0.5 * dt)
        fL, fH = self.collide(fL, fH, dt)
        return self.transport(fL, fH, 0.5 * dt)

    # -- data and diagnostics ------------------------------------------------------------------------
    def maxwellians(self, n: tuple, u: tuple, T: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Discrete Maxwellians in every local cell; ``n, u, T``: per species, arrays over the local
        cells (``u`` the x-velocity)."""
        out = []
        for g, m, ni, ui, Ti in zip((self.mix.gL, self.mix.gH), (self.mix.m_L, self.mix.m_H), n, u, T):
            uv = np.zeros((self.nloc, g.dim))
            uv[:, 0] = ui
            out.append(positive_maxwellian(g, np.broadcast_to(ni, (self.nloc,)), uv,
                                              np.broadcast_to(Ti, (self.nloc,)), m))
        return out[0], out[1]

    def cell_moments(self, fL: np.ndarray, fH: np.ndarray) -> dict[str, np.ndarray]:
        """Per local cell: ``n_i``, x-velocity ``u_i`` and ``T_i`` of both species."""
        out = {}
        for s, g, m, f in (("L", self.mix.gL, self.mix.m_L, fL), ("H", self.mix.gH, self.mix.m_H, fH)):
            u = mo.velocity(g, f)
            out[f"n_{s}"], out[f"u_{s}"], out[f"T_{s}"] = mo.density(g, f), u[:, 0], mo.temperature(g, f, m, u)
        return out

    def totals(self, fL: np.ndarray, fH: np.ndarray) -> dict[str, float]:
        """Mass of each species, total x-momentum and energy in the domain (``Σ_cells dx ∫ ...``). Collective."""
        _, _, P, E = self.mix.invariants(fL, fH)
        loc = np.array([mo.density(self.mix.gL, fL).sum(), mo.density(self.mix.gH, fH).sum(),
                        P[:, 0].sum(), E.sum()]) * self.dx
        tot = self.comm.allreduce(loc, op=MPI.SUM)
        return dict(zip(("mass_L", "mass_H", "momentum", "energy"), map(float, tot)))

    def min_value(self, fL: np.ndarray, fH: np.ndarray) -> float:
        """``min f / max f`` of each species, the smaller, over all cells. Collective."""
        lo = [self.comm.allreduce(float(f.min()), op=MPI.MIN) / self.comm.allreduce(float(f.max()), op=MPI.MAX)
              for f in (fL, fH)]
        return min(lo)
