"""Piecewise-constant potentials in a box with infinite walls: the wells of Sarkar (2025) and Jin et al. (2022).

The problem is -c ψ'' + V(x) ψ = E ψ on [x_a, x_b] with ψ(x_a) = ψ(x_b) = 0 (papers.md §5). c = 1
matches Sarkar's units (E = π² for the infinite well on [0, 1]); c = 1/2 matches Jin et al.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class PotentialError(ValueError):
    """An impossible potential; ``key`` names the offending parameter (e.g. ``'a'``)."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


class Interval:
    """Length and centre of a box [lo, hi]."""

    @property
    def length(self) -> float:
        return self.hi - self.lo

    @property
    def center(self) -> float:
        return 0.5 * (self.lo + self.hi)


@dataclass(frozen=True)
class Potential(Interval):
    """V = ``values[r]`` on ``[edges[r], edges[r+1]]``; infinite walls at ``edges[0]`` and ``edges[-1]``."""

    edges: tuple[float, ...]
    values: tuple[float, ...]
    c: float = 1.0
    name: str = "table"

    def __post_init__(self) -> None:
        e, v = np.asarray(self.edges, float), np.asarray(self.values, float)
        if e.ndim != 1 or e.size < 2:
            raise PotentialError("edges", f"need at least two edges, got {e.size}")
        if v.size != e.size - 1:
            raise PotentialError("values", f"need one value per interval ({e.size - 1}), got {v.size}")
        if not np.all(np.isfinite(e)):
            raise PotentialError("edges", "must be finite")
        if not np.all(np.isfinite(v)):
            raise PotentialError("values", "must be finite")
        if np.any(np.diff(e) <= 0):
            raise PotentialError("edges", "must be strictly increasing")
        if not (np.isfinite(self.c) and self.c > 0):
            raise PotentialError("c", f"must be positive and finite, got {self.c}")

    @property
    def lo(self) -> float:
        return float(self.edges[0])

    @property
    def hi(self) -> float:
        return float(self.edges[-1])

    @property
    def regions(self) -> list[tuple[float, float, float]]:
        """``(left, right, V)`` per interval."""
        return [(float(self.edges[r]), float(self.edges[r + 1]), float(self.values[r]))
                for r in range(len(self.values))]

    @property
    def symmetric(self) -> bool:
        """V(center + s) = V(center - s): the edges mirror and the values read the same backwards."""
        e = np.asarray(self.edges)
        tol = 1e-12 * self.length
        return bool(np.allclose(e - self.lo, (self.hi - e)[::-1], rtol=0, atol=tol)
                    and np.array_equal(np.asarray(self.values), np.asarray(self.values)[::-1]))

    def merged(self) -> "Potential":
        """The same V with adjacent intervals of equal value merged (the interfaces are the true jumps)."""
        edges, values = [self.edges[0]], []
        for (_, r, v) in self.regions:
            if values and values[-1] == v:
                edges[-1] = r
            else:
                values.append(v)
                edges.append(r)
        return Potential(tuple(edges), tuple(values), self.c, self.name)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """V(x) (at an interface, the value on the right)."""
        x = np.asarray(x, float)
        idx = np.clip(np.searchsorted(np.asarray(self.edges), x, side="right") - 1, 0, len(self.values) - 1)
        return np.asarray(self.values, float)[idx]

    def cell_average(self, x: np.ndarray, h: float) -> np.ndarray:
        """Mean of V over ``[x - h/2, x + h/2]`` (clipped to the box), exact for piecewise-constant V."""
        x = np.asarray(x, float)
        a, b = np.clip(x - h / 2, self.lo, self.hi), np.clip(x + h / 2, self.lo, self.hi)
        total = np.zeros_like(x)
        for (l, r, v) in self.regions:
            total += v * np.clip(np.minimum(b, r) - np.maximum(a, l), 0.0, None)
        return total / (b - a)


def infinite_well(L: float = 1.0, x0: float = 0.0, c: float = 1.0) -> Potential:
    """V = 0 on [x0, x0 + L]: E_n = c (n π / L)²."""
    if not L > 0:
        raise PotentialError("L", f"must be positive, got {L}")
    return Potential((x0, x0 + L), (0.0,), c, "infinite_well")


def finite_well(V0: float, a: float, Lbox: float, c: float = 1.0) -> Potential:
    """V = 0 for |x| < a, V0 for a < |x| < Lbox, infinite walls at ±Lbox."""
    if not V0 > 0:
        raise PotentialError("V0", f"well depth must be positive, got {V0}")
    if not a > 0:
        raise PotentialError("a", f"half-width must be positive, got {a}")
    if not Lbox > a:
        raise PotentialError("a", f"half-width must be smaller than the box half-width Lbox = {Lbox}, got {a}")
    return Potential((-Lbox, -a, a, Lbox), (V0, 0.0, V0), c, "finite_well")


def barrier(height: float, width: float, L: float = 1.0, center: float | None = None,
            c: float = 1.0) -> Potential:
    """V = height on |x - center| < width/2 inside the infinite well [0, L] (a double well)."""
    center = 0.5 * L if center is None else center
    if not L > 0:
        raise PotentialError("L", f"must be positive, got {L}")
    if not height > 0:
        raise PotentialError("height", f"barrier height must be positive, got {height}")
    if not width > 0:
        raise PotentialError("width", f"must be positive, got {width}")
    if not (0 < center - width / 2 and center + width / 2 < L):
        raise PotentialError("width", f"the barrier [{center - width / 2}, {center + width / 2}] "
                                      f"must lie strictly inside the well [0, {L}]")
    return Potential((0.0, center - width / 2, center + width / 2, L), (0.0, height, 0.0), c, "barrier")


def table(edges: list[float], values: list[float], c: float = 1.0) -> Potential:
    """Any piecewise-constant V from a case-file table (``len(values) == len(edges) - 1``)."""
    return Potential(tuple(float(e) for e in edges), tuple(float(v) for v in values), c, "table")


@dataclass(frozen=True)
class LinePotential:
    """V on the whole line: ``values[0]`` left of ``edges[0]``, ``values[r]`` on [edges[r-1], edges[r]],
    ``values[-1]`` right of ``edges[-1]``. Bound states have E below ``threshold`` = min of the two
    outer values; ``in_box`` truncates the line to a box with infinite walls (``solvers.schrodinger.truncation``
    chooses where)."""

    edges: tuple[float, ...]
    values: tuple[float, ...]
    c: float = 1.0
    name: str = "pieces"

    def __post_init__(self) -> None:
        e, v = np.asarray(self.edges, float), np.asarray(self.values, float)
        if e.ndim != 1 or e.size < 1 or v.size != e.size + 1:
            raise PotentialError("intervals", f"need one value per interval and two outer values, got "
                                           f"{e.size} edges and {v.size} values")
        if not (np.all(np.isfinite(e)) and np.all(np.isfinite(v))):
            raise PotentialError("intervals", "must be finite")
        if np.any(np.diff(e) <= 0):
            raise PotentialError("intervals", "must not overlap and must have positive width")
        if not (np.isfinite(self.c) and self.c > 0):
            raise PotentialError("c", f"must be positive and finite, got {self.c}")

    @property
    def threshold(self) -> float:
        """Bottom of the continuum: min(V(-∞), V(+∞))."""
        return min(self.values[0], self.values[-1])

    @property
    def width(self) -> float:
        return float(self.edges[-1] - self.edges[0])

    def in_box(self, lo: float, hi: float) -> Potential:
        """The same V with infinite walls at ``lo`` < edges[0] and ``hi`` > edges[-1]."""
        if not (lo < self.edges[0] and hi > self.edges[-1]):
            raise PotentialError("Lbox", f"the box [{lo:g}, {hi:g}] must contain the interior "
                                         f"[{self.edges[0]:g}, {self.edges[-1]:g}] with room to spare")
        return Potential((lo, *self.edges, hi), self.values, self.c, self.name).merged()

    def margin_box(self, d: float) -> Potential:
        """``in_box`` with walls a distance d beyond the outermost edges."""
        return self.in_box(self.edges[0] - d, self.edges[-1] + d)


def finite_well_line(V0: float, a: float, c: float = 1.0) -> LinePotential:
    """V = 0 for |x| < a, V0 outside, on the whole line."""
    if not V0 > 0:
        raise PotentialError("V0", f"well depth must be positive, got {V0}")
    if not a > 0:
        raise PotentialError("a", f"half-width must be positive, got {a}")
    return LinePotential((-a, a), (V0, 0.0, V0), c, "finite_well")


def pieces(intervals: list[list[float]], outside: float = 0.0, c: float = 1.0) -> LinePotential:
    """V = h on each [x0, x1] of ``intervals`` ([x0, x1, h] each, in any order, not overlapping),
    ``outside`` elsewhere on the line (double wells, asymmetric wells, multiple barriers)."""
    rows = sorted((float(a), float(b), float(h)) for a, b, h in intervals)
    edges: list[float] = []
    values = [float(outside)]
    for (a, b, h) in rows:
        if not b > a:
            raise PotentialError("intervals", f"[{a:g}, {b:g}] must have x0 < x1")
        if edges and a < edges[-1]:
            raise PotentialError("intervals", f"[{a:g}, {b:g}] overlaps the interval before it")
        if edges and a > edges[-1]:
            values.append(float(outside))             # a gap at the outside value
        if not edges or a > edges[-1]:
            edges.append(a)
        values.append(h)
        edges.append(b)
    values.append(float(outside))
    keep = [i for i in range(len(edges)) if values[i] != values[i + 1]]   # drop edges without a jump
    if not keep:
        raise PotentialError("intervals", f"V is {outside:g} everywhere: no well or barrier")
    return LinePotential(tuple(edges[i] for i in keep), (values[0], *(values[i + 1] for i in keep)), c, "pieces")


@dataclass(frozen=True)
class Harmonic:
    """V = ω² (x - x0)²/(4c) on the whole line (ħ = 1, m = 1/(2c)): E_n = (n + ½) ω, infinitely many
    bound states (Hermite functions, ``exact.harmonic_states``). ``in_box`` truncates it to a box
    with infinite walls (``truncation.truncate_harmonic`` chooses where)."""

    omega: float
    center: float = 0.0
    c: float = 1.0
    name: str = "harmonic"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.omega) and self.omega > 0):
            raise PotentialError("omega", f"must be positive and finite, got {self.omega}")
        if not np.isfinite(self.center):
            raise PotentialError("center", f"must be finite, got {self.center}")
        if not (np.isfinite(self.c) and self.c > 0):
            raise PotentialError("c", f"must be positive and finite, got {self.c}")

    threshold = np.inf                                 # no continuum: every state is bound

    def V(self, x):
        """ω² (x - x0)²/(4c) at x (numpy array or torch tensor)."""
        return (self.omega ** 2 / (4 * self.c)) * (x - self.center) ** 2

    def level(self, n: int) -> float:
        return (n + 0.5) * self.omega

    def turning_point(self, E: float) -> float:
        """Distance from x0 of the classical turning points, V = E."""
        return 2 * np.sqrt(self.c * E) / self.omega

    def in_box(self, lo: float, hi: float) -> "SmoothBox":
        """The same V with infinite walls at ``lo`` < x0 < ``hi``."""
        if not lo < self.center < hi:
            raise PotentialError("margin", f"the box [{lo:g}, {hi:g}] must contain the centre {self.center:g}")
        return SmoothBox(lo, hi, self, self.c, self.name)

    def margin_box(self, d: float) -> "SmoothBox":
        """``in_box`` with walls at x0 ± d."""
        return self.in_box(self.center - d, self.center + d)


@dataclass(frozen=True)
class SmoothBox(Interval):
    """A smooth V (``line.V``, numpy or torch) on [lo, hi] with infinite walls: one region, whose
    ``regions`` entry carries V as a function instead of a constant (the PINN evaluates it at its
    quadrature and collocation points)."""

    lo: float
    hi: float
    line: Harmonic
    c: float = 1.0
    name: str = "harmonic"

    @property
    def edges(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    @property
    def regions(self) -> list:
        return [(self.lo, self.hi, self.line.V)]

    @property
    def symmetric(self) -> bool:
        """V symmetric about the box centre: the box is centred on x0."""
        return abs(self.center - self.line.center) <= 1e-12 * self.length

    @property
    def gauss_rate(self) -> float:
        """a of the ground state's Gaussian e^{-a (x - x0)²}: a = ω/(4c) (WKB: e^{-∫κ}, κ ≈ √(V/c))."""
        return self.line.omega / (4 * self.c)

    def merged(self) -> "SmoothBox":
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.line.V(np.asarray(x, float))

    def cell_average(self, x: np.ndarray, h: float) -> np.ndarray:
        """The point value V(x): the 3-point FD reference is second order for smooth V with it."""
        return self(x)


def harmonic(omega: float, center: float = 0.0, c: float = 1.0) -> Harmonic:
    """The harmonic oscillator V = ω² (x - center)²/(4c) on the whole line."""
    return Harmonic(float(omega), float(center), float(c))


KINDS = {
    "infinite_well": (infinite_well, ("L",)),
    "finite_well": (finite_well, ("V0", "a", "Lbox")),
    "barrier": (barrier, ("height", "width", "L")),
    "table": (table, ("edges", "values")),
    "pieces": (pieces, ("intervals",)),
    "harmonic": (harmonic, ("omega",)),
}
OPTIONAL = {"barrier": ("center",), "infinite_well": (), "finite_well": (), "table": (), "pieces": ("outside",),
            "harmonic": ("center",)}
LINE = {"finite_well": (finite_well_line, ("V0", "a"))}   # types whose box is optional (Lbox absent)


def from_params(params: dict) -> Potential | LinePotential | Harmonic:
    """Build from a ``[potential]`` table: ``type`` plus that type's keys (None = absent). A finite
    well without ``Lbox`` and ``pieces`` are on the whole line (``LinePotential``), ``harmonic`` too
    (``Harmonic``)."""
    kind = params["type"]
    func, required = KINDS[kind]
    if kind in LINE and params.get("Lbox") is None:
        func, required = LINE[kind]
    kw = {"c": params["c"]}
    for key in required:
        if params.get(key) is None:
            raise PotentialError(key, f"required for type {kind!r}")
        kw[key] = params[key]
    for key in OPTIONAL[kind]:
        if params.get(key) is not None:
            kw[key] = params[key]
    known = KINDS[kind][1] + OPTIONAL[kind]
    unused = [k for k, v in params.items() if v is not None and k not in ("type", "c", *known)]
    if unused:
        raise PotentialError(unused[0], f"not a parameter of type {kind!r} (its keys: {', '.join(known)})")
    return func(**kw)
