"""Free transport ``∂_t f + v_1 ∂_x f = 0`` of a distribution ``f(x, v)`` by second-order finite volumes
in x (MUSCL with the van Leer limiter, upwind fluxes, SSP-RK2 = Heun in time; van Leer 1979, Shu & Osher 1988).

Arrays are ``[cell, *velocity]`` with two ghost cells on each side (``ng = 2``) filled by the caller
(ghost exchange between ranks, or a :class:`Boundary` at a wall). With slopes
``σ_i = vL(f_i - f_{i-1}, f_{i+1} - f_i)``, ``vL(a, b) = 2ab/(a+b)`` if ``ab > 0`` else 0, the face
states are ``f_i ± σ_i/2`` and the flux ``F_{i+1/2} = v⁺ (f_i + σ_i/2) + v⁻ (f_{i+1} - σ_{i+1}/2)``.

Positivity: ``0 <= vL(a, b) <= 2 min(a, b)`` for ``a, b > 0``, so every face state lies between the
cell's neighbours and ``f_i + σ_i/2 <= 2 f_i``; one forward-Euler stage is then a convex combination
of non-negative values when ``max|v_1| dt / dx <= 1/2``, and so is SSP-RK2 (Gottlieb, Shu, Tadmor
2001). The time step of the space-dependent solver is this CFL bound, nothing else.

The periodic velocity grid ``v_j = -L + j h`` has its point ``-L`` (≡ ``+L``) without a mirror
partner; it is given transport speed 0, so the discrete velocity set is symmetric under
``v_1 -> -v_1`` and a specular wall conserves mass exactly (the distribution is ~1e-8 of its
maximum there with the default boxes). A box centred at a flow velocity ``c`` keeps the rule for its first
column ``v_1 = c - L`` (no wall can use it; f is as small there).

**Frame-aligned reconstruction** (``aligned=True``, for a species much heavier than the other): where the
species' mean velocity ``U(x)`` changes by ``dx ∂_x U`` ≳ its thermal speed from one cell to the next, ``f(x, v)``
at fixed ``v`` is not smooth in x (its peak moves across ``v`` within a cell), the limiter falls back to first
order and the upwind flux mixes Maxwellians of different means: a spurious heating ``~ m (dx ∂_x U)²`` per
cell passage. The slopes of cell ``j`` are then taken in its own frame: its neighbours moved onto its mean,
``h_{j±1}(v) = f_{j±1}(v + U_{j±1} - U_j)`` (``U_j``: the cell's mean ``v_1``), ``σ_j = vL(f_j - h_{j-1}, h_{j+1} - f_j)``,
and the face states ``f_j ± σ_j/2`` moved to the face by the van Leer slope of ``U`` itself,
``f^±(v) = (f_j ± σ_j/2)(v ∓ σ^U_j/2)``: shape and position reconstructed apart (a face mean ``(U_i + U_{i+1})/2``
for both states would be a central difference of the position and decouples odd and even cells). Every move is
``O(dx ∂_x U)``, by exact trigonometric interpolation along ``v_1`` on the periodic grid (:func:`frame_shift`); its
one inexact mode, the Nyquist mode, is damped by ``cos²`` of the move, an ``O(dx²)`` change (moves of ``O(1)``, to
a common frame, would damp it by ``O(1)`` every step). The flux is the same upwind flux at fixed ``v``, so
mass, momentum and energy stay conserved exactly; uniform data stay uniform (every move is 0). Consistent
and second order for smooth ``U``: ``f`` is smooth in x in the frame moving with ``U(x)``. Positivity: a move is
not monotone, so the face states are cut to ``[0, κ(v) f_j(v)]`` of the cell they leave, ``κ = 2 s/|v_1|``
with ``s`` the speed of the CFL bound (the fastest species' ``max|v_1|``): a stage leaves
``f_j - (h/dx)|v_1| f^out >= 0`` when ``s h/dx <= 1/2``, the bound above (``κ = 2`` for the fastest velocity; a heavy
species' ``|v_1| << s``, so its cut is loose).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .positivity import positive_maxwellian
from .velocity import VelocityGrid

NG = 2                 # ghost cells per side (MUSCL stencil)
CFL_MAX = 0.5          # positivity bound of one forward-Euler stage


def transport_velocity(g: VelocityGrid) -> np.ndarray:
    """``v_1`` on the grid, 0 on the unpaired first column (``v_1 = -L`` on a centred box)."""
    v1 = g.v[0].copy()
    v1[0] = 0.0
    return v1


def mirror_index(n: int) -> np.ndarray:
    """Column map ``j -> (n - j) mod n``: ``v_1 -> -v_1`` on the periodic grid."""
    return (n - np.arange(n)) % n


def van_leer(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``2ab/(a+b)`` where ``ab > 0``, else 0 (symmetric, odd, ``<= 2 min(|a|, |b|)``)."""
    ab = a * b
    return np.where(ab > 0, 2.0 * ab / np.where(ab > 0, a + b, 1.0), 0.0)


def face_states(fg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right states at the faces between ghosted cells ``NG-1 .. n+NG`` (``n + 1`` faces)."""
    d = np.diff(fg, axis=0)
    s = van_leer(d[:-1], d[1:])                 # slopes of cells 1 .. len-2
    return fg[1:-2] + 0.5 * s[:-1], fg[2:-1] - 0.5 * s[1:]    # right face of cell i, left face of i+1


def frame_shift(F: np.ndarray, s: np.ndarray, h: float) -> np.ndarray:
    """``f_j(v + s_j)`` from ``F = rfft(f, axis=1)`` of the cells ``j`` of ``f[j, v_1, ...]``: trigonometric
    interpolation along ``v_1`` on the periodic grid of spacing ``h`` (the Nyquist mode kept as its real part)."""
    n = 2 * (F.shape[1] - 1)
    k = 2.0 * np.pi * np.fft.rfftfreq(n, h)
    phase = np.exp(1j * np.multiply.outer(s, k)).reshape(s.shape + k.shape + (1,) * (F.ndim - 2))
    return np.fft.irfft(F * phase, n=n, axis=1)


def aligned_face_states(fg: np.ndarray, g: VelocityGrid, kappa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`face_states` of ``fg`` with the slopes taken in every cell's own frame (module docstring): the
    cell means ``U_j`` of ``v_1`` (the box centre where a cell is empty), the neighbours moved onto them, the face
    states moved by the slope of ``U`` and cut to ``[0, κ f]`` of the cell each leaves (``kappa``: ``κ(v)``)."""
    axes = tuple(range(1, fg.ndim))
    n = fg.sum(axis=axes)
    full = n > 0
    U = np.where(full, (fg * g.v[0]).sum(axis=axes) / np.where(full, n, 1.0), g.center[0])
    F = np.fft.rfft(fg, axis=1)
    c, dU = fg[1:-1], np.diff(U)
    s = van_leer(c - frame_shift(F[:-2], -dU[:-1], g.h), frame_shift(F[2:], dU[1:], g.h) - c)
    sU = 0.5 * van_leer(dU[:-1], dU[1:])
    lo = frame_shift(np.fft.rfft(c[:-1] + 0.5 * s[:-1], axis=1), -sU[:-1], g.h)
    hi = frame_shift(np.fft.rfft(c[1:] - 0.5 * s[1:], axis=1), sU[1:], g.h)
    return (np.clip(lo, 0.0, kappa * np.maximum(fg[1:-2], 0.0)),
            np.clip(hi, 0.0, kappa * np.maximum(fg[2:-1], 0.0)))


def upwind_flux(v1: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.maximum(v1, 0.0) * left + np.minimum(v1, 0.0) * right


@dataclass
class Boundary:
    """A physical boundary of the x-interval. ``kind``: ``specular``, ``diffuse`` (Maxwell wall at rest,
    temperature ``T_wall``, full accommodation, zero net mass flux per species), ``inflow`` (ghost cells
    hold ``f_in``, given Maxwellians; outgoing characteristics leave freely) or ``outflow`` (ghost cells
    copy the last interior cell: zero gradient, the interior decides what enters — the usual open end of
    kinetic solvers, which does not over-determine a subsonic flow). The walls need a velocity box
    centred at ``v_1 = 0`` (the mirror map ``v_1 -> -v_1`` must map the grid onto itself)."""

    kind: str
    wall: np.ndarray | None = None      # diffuse: wall Maxwellian on the species grid; inflow: f_in

    def fill(self, fg: np.ndarray, side: str) -> None:
        """Fill the two ghost cells on ``side`` ('left' | 'right') of ``fg`` in place."""
        inner = slice(NG, 2 * NG) if side == "left" else slice(-2 * NG, -NG)
        ghost = slice(0, NG) if side == "left" else slice(-NG, None)
        if self.kind == "specular":
            src = fg[inner][::-1]                                    # ghost k mirrors interior k
            fg[ghost] = src[:, mirror_index(fg.shape[1])]
        elif self.kind == "inflow":
            fg[ghost] = self.wall
        else:                                  # diffuse (zero slope in the wall cell), outflow (zero gradient)
            fg[ghost] = fg[NG] if side == "left" else fg[-NG - 1]

    def wall_flux(self, v1: np.ndarray, flux: np.ndarray, state: np.ndarray, side: str) -> None:
        """Diffuse wall: replace the incoming half of the wall flux by ``σ v_1 M_w`` with ``σ`` such
        that the net mass flux through the wall is zero (``state``: the interior face state)."""
        if self.kind != "diffuse":
            return
        inc = v1 > 0 if side == "left" else v1 < 0
        out = (v1 * state)[~inc].sum()
        back = (v1 * self.wall)[inc].sum()
        flux[...] = np.where(inc, -(out / back) * v1 * self.wall, v1 * state)


class Transport:
    """MUSCL fluxes of one species on ``[0, L_x]`` cut into cells of width ``dx``; ``aligned``: the face states
    by :func:`aligned_face_states` (module docstring)."""

    def __init__(self, g: VelocityGrid, dx: float, aligned: bool = False):
        self.g, self.dx, self.aligned = g, dx, aligned
        self.v1 = transport_velocity(g)
        self.bound_speed(self.max_speed())

    def bound_speed(self, s: float) -> None:
        """The speed ``s`` of the CFL bound (``s dt/dx <= cfl``), for the cut ``κ = 2 s/|v_1|`` of ``aligned``."""
        self.kappa = 2.0 * s / np.maximum(np.abs(self.v1), self.g.h)     # |v_1| < h: stricter than needed

    def max_speed(self) -> float:
        return float(np.abs(self.v1).max())

    def rhs(self, fg: np.ndarray, left: Boundary | None, right: Boundary | None) -> np.ndarray:
        """``-(F_{i+1/2} - F_{i-1/2}) / dx`` on the interior cells of the ghosted ``fg`` (ghosts filled);
        ``left``/``right``: the physical boundary this block touches (``None``: neighbour rank or periodic)."""
        lo, hi = aligned_face_states(fg, self.g, self.kappa) if self.aligned else face_states(fg)
        F = upwind_flux(self.v1, lo, hi)
        if left is not None:
            left.wall_flux(self.v1, F[0], hi[0], "left")
        if right is not None:
            right.wall_flux(self.v1, F[-1], lo[-1], "right")
        return -(F[1:] - F[:-1]) / self.dx


def maxwellian_wall(g: VelocityGrid, T: float, mass: float) -> np.ndarray:
    """Unit-density discrete Maxwellian at rest at the wall temperature (non-negative)."""
    return positive_maxwellian(g, 1.0, np.zeros(g.dim), T, mass)
