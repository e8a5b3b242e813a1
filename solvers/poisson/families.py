"""Parameterised PDE families: seed-reproducible sequences of systems A_i x_i = b_i.

Every family discretises a member of  -div(K grad u) + c u = f,  u = g on the boundary, with
:func:`solvers.poisson.operator.assemble` (5/7-point stencil, harmonic face means, symmetric
Dirichlet elimination) on a :class:`meshes.Grid` (2D or 3D):

- ``darcy_exp``: K = exp(GRF(α=2.5, τ=7)), f = 1, g = 0 (SKR's Darcy, papers.md §3). SPD.
- ``darcy_fno``: K = 12 where GRF(α=2, τ=3) >= 0, else 3; f = 1, g = 0 (FNO recipe). SPD.
- ``poisson``: K = 1, random source f = GRF(α=2, τ=3) and random boundary data g
  (GRF(α=2, τ=3) restricted to the boundary). One matrix, many right-hand sides. SPD.
- ``helmholtz``: -Δu - k²u = f, k ~ U(k_min, k_max) per sample, f = GRF(α=2, τ=3), g = 0.
  Indefinite once k² exceeds the smallest Dirichlet eigenvalue d π² (k > 4.44 in 2D).
- ``heat``: backward-Euler steps of u_t = div(K grad u) + f: (I/dt - div K grad) u^{n+1} =
  u^n/dt + f, K = exp(GRF(α=2.5, τ=7)), u^0 = GRF(α=2, τ=3), g = 0. SPD. ``system`` gives
  the first step; :meth:`HeatFamily.step_rhs` the later ones (same matrix, new rhs).

A :class:`Sample` holds the inputs on one index block of the grid (``ranges``; grid index
order ``[i, j(, k)]``): on a rank's owned block (``fam.sample(i, grid.ranges)``) the random
fields are evaluated there only (:func:`solvers.fields.grf.grf_block`), bitwise equal to the
same block of the whole field, so a sample is the same for any number of ranks and no rank
holds a field of global size. Without ``ranges`` the block is the whole grid (small grids,
tests). Sample ``i`` of a family with seed ``s`` uses the seed ``SeedSequence([s, i])``
whatever other samples were drawn, so samples can be generated in any order or on any worker.

    fam = make_family("darcy_exp", (129, 129), seed=0)
    s = fam.sample(3, grid.ranges)      # Sample(index=3, seed=..., ranges, fields={"kappa", "f"}, scalars={})
    op, b = fam.system(grid, s)         # DirichletOperator (op.A is the matrix), rhs Vec
    feats = fam.sort_features(s)        # what SKR sorting compares (Frobenius distance)
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
from petsc4py import PETSc

from meshes import Grid

from ..fields.grf import grf_block
from .operator import DirichletOperator, assemble


Ranges = tuple[tuple[int, int], ...]


@dataclass
class Sample:
    """One member of a family: its index, its seed, its input fields on the index block
    ``ranges`` ((start, stop) per axis) and its scalars."""

    index: int
    seed: int
    ranges: Ranges
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    scalars: dict[str, float] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the block."""
        return tuple(b - a for a, b in self.ranges)

    def block(self, name: str, ranges: Ranges) -> np.ndarray:
        """Field ``name`` on the sub-block ``ranges`` of this sample's block."""
        if any(a < s or b > e for (a, b), (s, e) in zip(ranges, self.ranges)):
            raise ValueError(f"sample {self.index} holds the block {self.ranges}, not {ranges}")
        return self.fields[name][tuple(slice(a - s, b - s) for (a, b), (s, _) in zip(ranges, self.ranges))]


def sample_seed(family_seed: int, index: int, tag: int = 0) -> int:
    """The seed of sample ``index`` (and of its field number ``tag``): SeedSequence([s, i, tag])."""
    return int(np.random.SeedSequence([int(family_seed), int(index), int(tag)]).generate_state(1)[0])


class Family(ABC):
    """Base class: a seed-reproducible sequence of linear systems on a fixed grid shape.

    Subclasses set ``name``, ``spd``, ``OPTIONS`` (name -> default) and implement
    :meth:`_draw` (the sample's inputs) and :meth:`_assemble` (operator and rhs).
    """

    name: ClassVar[str] = ""
    spd: ClassVar[bool] = True
    inputs: ClassVar[tuple[str, ...]] = ("kappa",)    # sample fields that are the operator-learning inputs
    outputs: ClassVar[tuple[str, ...]] = ("u",)       # what a solve produces
    scalars: ClassVar[tuple[str, ...]] = ()           # per-sample scalar parameters (Sample.scalars)
    OPTIONS: ClassVar[dict[str, Any]] = {}
    DOC: ClassVar[str] = ""

    def __init__(self, shape: Sequence[int], seed: int = 0, **options: Any):
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) not in (2, 3) or min(self.shape) < 3:
            raise ValueError(f"{self.name}: shape must have 2 or 3 entries each >= 3, got {self.shape}")
        self.seed = int(seed)
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ValueError(f"{self.name}: unknown option(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(self.OPTIONS)) or 'none'})")
        self.options = {**self.OPTIONS, **options}
        modes = self.options.get("modes")
        if modes is not None and int(modes) < 2:
            raise ValueError(f"{self.name}: modes must be >= 2 (cosine modes per dimension), got {modes}")
        self._check_options()

    def _check_options(self) -> None:
        """Raise ValueError naming the option if a value is impossible."""

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def n_steps(self) -> int:
        """Systems per sample: 1 (steady); time-stepping families solve ``n_steps`` with one matrix."""
        return 1

    def sample(self, i: int, ranges: Sequence[tuple[int, int]] | None = None) -> Sample:
        """Sample ``i`` on the index block ``ranges`` (default the whole grid); deterministic in
        (family seed, i, options), and its values on a block do not depend on the block."""
        if i < 0:
            raise ValueError(f"{self.name}: sample index must be >= 0, got {i}")
        ranges = tuple((0, n) for n in self.shape) if ranges is None else tuple((int(a), int(b)) for a, b in ranges)
        s = Sample(index=int(i), seed=sample_seed(self.seed, i), ranges=ranges)
        self._draw(s)
        return s

    def system(self, grid: Grid, sample: Sample) -> tuple[DirichletOperator, PETSc.Vec]:
        """Assemble (operator, right-hand side) of ``sample`` on ``grid``; the sample's block must
        contain this rank's owned block. Collective."""
        if grid.shape != self.shape:
            raise ValueError(f"{self.name}: grid shape {grid.shape} != family shape {self.shape}")
        return self._assemble(grid, sample)

    def sort_features(self, sample: Sample) -> np.ndarray:
        """This block's part of the vector SKR's Frobenius distance compares: the parameter
        field(s), flattened (the blocks of a decomposition together give the whole vector)."""
        return np.ascontiguousarray(sample.fields["kappa"], dtype=float).ravel()

    # -- helpers for subclasses --------------------------------------------------------
    def _field(self, sample: Sample, tag: int, alpha: float, tau: float) -> np.ndarray:
        return grf_block(self.shape, sample.ranges, alpha, tau, sample_seed(self.seed, sample.index, tag),
                         modes=self.options.get("modes"))

    def _boundary(self, sample: Sample) -> np.ndarray:
        """True on the nodes of the sample's block that lie on the domain boundary."""
        axes = [np.arange(a, b) for a, b in sample.ranges]
        mask = np.zeros(tuple(b - a for a, b in sample.ranges), dtype=bool)
        for d, (ax, n) in enumerate(zip(axes, self.shape)):
            edge = (ax == 0) | (ax == n - 1)
            mask |= edge.reshape([-1 if e == d else 1 for e in range(self.dim)])
        return mask

    @staticmethod
    def _vec(grid: Grid, sample: Sample, name: str) -> PETSc.Vec:
        """Field ``name`` as a grid vector (this rank's block of the sample). Collective."""
        return grid.set_local(grid.create_vec(), sample.block(name, grid.ranges))

    @abstractmethod
    def _draw(self, sample: Sample) -> None:
        """Fill ``sample.fields`` / ``sample.scalars`` from the sample's seed."""

    def _assemble(self, grid: Grid, sample: Sample) -> tuple[DirichletOperator, PETSc.Vec]:
        kappa = self._vec(grid, sample, "kappa")
        op = assemble(grid, kappa=kappa, shift=self._shift(sample))
        kappa.destroy()
        f = self._vec(grid, sample, "f")
        b = op.rhs(f, 0.0)
        f.destroy()
        return op, b

    def _shift(self, sample: Sample) -> float:
        return 0.0


class DarcyExp(Family):
    """-div(K grad u) = f, K = exp(GRF(α, τ)) (SKR: α = 2.5, τ = 7), f = 1, u = 0 on ∂Ω."""

    name = "darcy_exp"
    OPTIONS = {"alpha": 2.5, "tau": 7.0, "source": 1.0, "modes": None}

    def _draw(self, s: Sample) -> None:
        o = self.options
        s.fields["kappa"] = np.exp(self._field(s, 1, o["alpha"], o["tau"]))
        s.fields["f"] = np.full(s.shape, float(o["source"]))


class DarcyFNO(Family):
    """-div(K grad u) = 1, K = k_high where GRF(α=2, τ=3) >= 0 else k_low (FNO: 12 / 3)."""

    name = "darcy_fno"
    OPTIONS = {"alpha": 2.0, "tau": 3.0, "k_high": 12.0, "k_low": 3.0, "source": 1.0, "modes": None}

    def _check_options(self) -> None:
        if self.options["k_high"] <= 0 or self.options["k_low"] <= 0:
            raise ValueError(f"{self.name}: k_high and k_low must be positive")

    def _draw(self, s: Sample) -> None:
        o = self.options
        z = self._field(s, 1, o["alpha"], o["tau"])
        s.fields["kappa"] = np.where(z >= 0, float(o["k_high"]), float(o["k_low"]))
        s.fields["f"] = np.full(s.shape, float(o["source"]))


class PoissonRandomData(Family):
    """-Δu = f, u = g on ∂Ω with f = amp_f GRF(α, τ) and g = amp_g GRF(α, τ) on the boundary."""

    name = "poisson"
    inputs = ("f", "g")
    OPTIONS = {"alpha": 2.0, "tau": 3.0, "amp_f": 100.0, "amp_g": 1.0, "modes": None}

    def _draw(self, s: Sample) -> None:
        o = self.options
        s.fields["f"] = o["amp_f"] * self._field(s, 1, o["alpha"], o["tau"])
        s.fields["g"] = np.where(self._boundary(s), o["amp_g"] * self._field(s, 2, o["alpha"], o["tau"]), 0.0)

    def _assemble(self, grid: Grid, sample: Sample) -> tuple[DirichletOperator, PETSc.Vec]:
        op = assemble(grid)
        f, g = self._vec(grid, sample, "f"), self._vec(grid, sample, "g")
        b = op.rhs(f, g)
        f.destroy()
        g.destroy()
        return op, b

    def sort_features(self, sample: Sample) -> np.ndarray:
        return np.concatenate([sample.fields["f"].ravel(), sample.fields["g"].ravel()])


class Helmholtz(Family):
    """-Δu - k²u = f, k ~ U(k_min, k_max), f = GRF(α, τ), u = 0 on ∂Ω (indefinite for large k).

    ``sort_features`` = (w_k k, f): SKR's distance adds |k_i - k_j| to the field distance;
    ``k_weight`` w_k (default sqrt(number of nodes), so one unit of k counts as much as a
    unit-rms change of f) sets how much the wavenumber, which alone changes A, dominates.
    """

    name = "helmholtz"
    spd = False
    inputs = ("f",)
    scalars = ("k",)
    OPTIONS = {"k_min": 15.0, "k_max": 25.0, "alpha": 2.0, "tau": 3.0, "k_weight": None, "modes": None}

    def _check_options(self) -> None:
        o = self.options
        if not 0 <= o["k_min"] <= o["k_max"]:
            raise ValueError(f"{self.name}: need 0 <= k_min <= k_max, got {o['k_min']}, {o['k_max']}")

    def _draw(self, s: Sample) -> None:
        o = self.options
        rng = np.random.default_rng(sample_seed(self.seed, s.index, 0))
        s.scalars["k"] = float(rng.uniform(o["k_min"], o["k_max"]))
        s.fields["f"] = self._field(s, 1, o["alpha"], o["tau"])

    def _assemble(self, grid: Grid, sample: Sample) -> tuple[DirichletOperator, PETSc.Vec]:
        op = assemble(grid, shift=-sample.scalars["k"] ** 2)
        f = self._vec(grid, sample, "f")
        b = op.rhs(f, 0.0)
        f.destroy()
        return op, b

    def sort_features(self, sample: Sample) -> np.ndarray:
        """(w_k k, f); k belongs to the block that holds node 0."""
        w = self.options["k_weight"]
        w = float(np.sqrt(np.prod(self.shape))) if w is None else float(w)
        k = [w * sample.scalars["k"]] if all(a == 0 for a, _ in sample.ranges) else []
        return np.concatenate([k, sample.fields["f"].ravel()])


class HeatFamily(Family):
    """Backward Euler for u_t = div(K grad u) + f: (I/dt - div K grad) u^{n+1} = u^n/dt + f.

    K = exp(GRF(α, τ)), u^0 = GRF(α0, τ0), u = 0 on ∂Ω. One matrix per sample, ``n_steps``
    right-hand sides: ``system`` returns step 1 (from u^0), :meth:`step_rhs` the next ones.
    The times of u^0..u^n are :meth:`times`.
    """

    name = "heat"
    OPTIONS = {"alpha": 2.5, "tau": 7.0, "alpha0": 2.0, "tau0": 3.0, "dt": 1e-3, "n_steps": 10,
               "source": 0.0, "modes": None}

    def _check_options(self) -> None:
        if self.options["dt"] <= 0 or int(self.options["n_steps"]) < 1:
            raise ValueError(f"{self.name}: dt must be positive and n_steps >= 1")

    @property
    def n_steps(self) -> int:
        return int(self.options["n_steps"])

    @property
    def dt(self) -> float:
        return float(self.options["dt"])

    def times(self) -> np.ndarray:
        """t_n = n dt for n = 0..n_steps."""
        return self.dt * np.arange(self.n_steps + 1)

    def _draw(self, s: Sample) -> None:
        o = self.options
        s.fields["kappa"] = np.exp(self._field(s, 1, o["alpha"], o["tau"]))
        u0 = self._field(s, 2, o["alpha0"], o["tau0"])
        s.fields["u0"] = np.where(self._boundary(s), 0.0, u0)
        s.fields["f"] = np.full(s.shape, float(o["source"]))

    def _shift(self, sample: Sample) -> float:
        return 1.0 / self.dt

    def initial_condition(self, grid: Grid, sample: Sample) -> PETSc.Vec:
        """u^0 as a grid vector. Collective."""
        return self._vec(grid, sample, "u0")

    def step_rhs(self, op: DirichletOperator, sample: Sample, u_prev: PETSc.Vec) -> PETSc.Vec:
        """b = u^n/dt + f on interior rows (g = 0 on the boundary). Collective."""
        f = self._vec(op.grid, sample, "f")
        f.axpy(1.0 / self.dt, u_prev)
        b = op.rhs(f, 0.0)
        f.destroy()
        return b

    def _assemble(self, grid: Grid, sample: Sample) -> tuple[DirichletOperator, PETSc.Vec]:
        kappa = self._vec(grid, sample, "kappa")
        op = assemble(grid, kappa=kappa, shift=self._shift(sample))
        kappa.destroy()
        u0 = self.initial_condition(grid, sample)
        b = self.step_rhs(op, sample, u0)
        u0.destroy()
        return op, b


FAMILIES: dict[str, type[Family]] = {c.name: c for c in (DarcyExp, DarcyFNO, PoissonRandomData, Helmholtz, HeatFamily)}


def make_family(name: str, shape: Sequence[int], seed: int = 0, **options: Any) -> Family:
    """The family ``name`` (one of :data:`FAMILIES`) on grid ``shape`` with base ``seed``."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name](shape, seed, **options)
