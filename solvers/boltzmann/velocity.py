"""Per-species periodic velocity grids for the Fourier-Galerkin (spectral) collision operator.

Species ``i`` of mass ``m_i`` at reference temperature ``T`` has thermal speed ``sqrt(T/m_i)``;
its grid is the box ``c_i + [-L_i, L_i]^d`` with ``L_i = Lhat * sqrt(T/m_i)`` and ``N`` points per
dimension (``v_j = c - L_i + j h``, ``h = 2 L_i / N``); the centre ``c_i`` is 0 unless the species flows
(a box centred at the flow velocity holds a drift of many thermal speeds; the collision operators are
translation invariant and see only the grid values, the moments use the absolute ``v``). ``Lhat`` (in thermal units) is chosen so that
the distribution is ~1e-15 at ``R = 4 L / (3 + sqrt 2)`` (the anti-aliasing bound of
Mouhot-Pareschi 2006 / Gamba et al. 2017: ``L >= (3 + sqrt 2) R / 4`` when ``f`` lives in ``B(0, R/2)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ALIAS = (3.0 + math.sqrt(2.0)) / 4.0   # L = ALIAS * R


@dataclass
class VelocityGrid:
    """The box ``center + [-L, L]^dim`` with ``n`` points per dimension (``n`` even); arrays are ``[i, j(, k)]``."""

    dim: int
    n: int
    L: float
    center: tuple = ()          # the box centre (``dim`` numbers; empty: v = 0)
    v: list = field(init=False, repr=False)
    k: list = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dim not in (2, 3):
            raise ValueError(f"velocity dimension must be 2 or 3, got {self.dim}")
        if self.n < 4 or self.n % 2:
            raise ValueError(f"points per dimension must be an even integer >= 4, got {self.n}")
        if not self.L > 0:
            raise ValueError(f"box half-width must be positive, got {self.L}")
        self.center = tuple(float(c) for c in self.center) or (0.0,) * self.dim
        if len(self.center) != self.dim or not all(math.isfinite(c) for c in self.center):
            raise ValueError(f"box centre must be {self.dim} finite numbers, got {self.center}")
        axes = [(c - self.L) + self.h * np.arange(self.n) for c in self.center]
        self.v = list(np.meshgrid(*axes, indexing="ij"))
        k1 = np.fft.fftfreq(self.n, 1.0 / self.n)
        self.k = list(np.meshgrid(*([k1] * self.dim), indexing="ij"))

    @property
    def h(self) -> float:
        return 2.0 * self.L / self.n

    @property
    def origin(self) -> tuple:
        """The first grid point ``c - L`` along each axis."""
        return tuple(c - self.L for c in self.center)

    @property
    def vol(self) -> float:
        """Quadrature weight ``h^d`` of one grid point (trapezoidal rule, spectrally accurate)."""
        return self.h ** self.dim

    @property
    def shape(self) -> tuple:
        return (self.n,) * self.dim

    @property
    def R(self) -> float:
        """Truncation radius of the relative velocity allowed by this box (``L = (3+sqrt2) R / 4``)."""
        return self.L / ALIAS

    def expand(self, a) -> np.ndarray:
        """A batch array (e.g. one value per cell) with singleton velocity axes appended."""
        return np.asarray(a, float).reshape(np.shape(a) + (1,) * self.dim)

    def speed2(self, u=None) -> np.ndarray:
        """``|v - u|^2``; ``u`` of shape ``(d,)`` or ``batch + (d,)`` (then the result is batched)."""
        if u is None:
            return sum(vi ** 2 for vi in self.v)
        u = np.asarray(u, float)
        return sum((vi - self.expand(u[..., i])) ** 2 for i, vi in enumerate(self.v))

    def maxwellian(self, n, u, T, mass: float = 1.0) -> np.ndarray:
        """``n (m / 2 pi T)^{d/2} exp(-m |v - u|^2 / 2T)`` on the grid (``n, T`` scalars or batch arrays)."""
        n, T = self.expand(n), self.expand(T)
        return n * (mass / (2 * math.pi * T)) ** (self.dim / 2) * np.exp(-mass * self.speed2(u) / (2 * T))

    @classmethod
    def for_species(cls, dim: int, n: int, mass: float, T_ref: float = 1.0, Lhat: float = 8.0,
                    u1: float = 0.0) -> "VelocityGrid":
        """The grid of a species: ``L = Lhat sqrt(T_ref / mass)`` (thermal-speed scaling), centred at
        ``(u1, 0, ...)``."""
        if not mass > 0:
            raise ValueError(f"mass must be positive, got {mass}")
        return cls(dim, n, Lhat * math.sqrt(T_ref / mass), (u1,) + (0.0,) * (dim - 1))
