"""Manufactured solutions for -Δu = f on a box (validation.md, "Poisson family").

Each entry gives the exact u and f = -Δu for any dimension d:
- ``sines``: u = prod_i sin(k π x_i), f = d k² π² u (zero boundary data on [0,1]^d);
- ``exp``: u = exp(prod_i x_i) (non-separable, non-zero boundary data),
  f = -(sum_i prod_{j≠i} x_j²) u.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Field = Callable[..., np.ndarray]


def sines(k: int = 1) -> tuple[Field, Field]:
    def u(*x):
        return np.prod([np.sin(k * np.pi * xi) for xi in x], axis=0)

    def f(*x):
        return len(x) * (k * np.pi) ** 2 * u(*x)
    return u, f


def exp_product(k: int = 1) -> tuple[Field, Field]:
    del k

    def u(*x):
        return np.exp(np.prod(x, axis=0))

    def f(*x):
        lap = sum(np.prod([x[j] ** 2 for j in range(len(x)) if j != i], axis=0) for i in range(len(x)))
        return -lap * u(*x)
    return u, f


SOLUTIONS: dict[str, Callable[[int], tuple[Field, Field]]] = {"sines": sines, "exp": exp_product}


def problem_section():
    """The ``[problem]`` table of the kinds that solve one Poisson problem (poisson, poisson_dcdm)."""
    from ..case import Choice, Float, Int, Table

    return Table({
        "solution": Choice(("sines", "exp", "none"), default="sines",
                           doc="manufactured solution (validation.md) or 'none' for constant data"),
        "k": Int(default=1, min=1, doc="wavenumber of the 'sines' solution"),
        "source": Float(default=1.0, doc="constant f when solution = 'none'"),
        "boundary": Float(default=0.0, doc="constant g when solution = 'none'"),
    }).optional()


def problem_data(problem: dict) -> tuple[Field | None, Field | float, Field | float]:
    """(exact u or None, f, g) of a validated ``[problem]`` table."""
    if problem["solution"] == "none":
        return None, problem["source"], problem["boundary"]
    exact, f = SOLUTIONS[problem["solution"]](problem["k"])
    return exact, f, exact
