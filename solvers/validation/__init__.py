"""Validation framework: refinement studies, observed orders, result tables, plots.

Checks live next to the solver they validate (e.g. ``solvers/poisson/validation.py``) and
register with :func:`solvers.registry.check`; this module only arranges numbers.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Sequence

import numpy as np

from ..registry import CheckResult


def observed_orders(h: Sequence[float], err: Sequence[float]) -> tuple[np.ndarray, float]:
    """Pairwise orders log(e_i/e_{i+1})/log(h_i/h_{i+1}) and the least-squares slope."""
    h, err = np.asarray(h, float), np.asarray(err, float)
    pairwise = np.log(err[:-1] / err[1:]) / np.log(h[:-1] / h[1:])
    slope = float(np.polyfit(np.log(h), np.log(err), 1)[0])
    return pairwise, slope


class RefinementStudy(ABC):
    """A convergence-rate study (the scikit-fem ``test_convergence`` pattern): solve on each of
    ``levels``, fit log(error) against log(h) and compare the slope with ``expected``.

    A subclass sets ``levels`` (and ``expected``, ``tol``) and implements :meth:`errors`; tests
    and ``validate`` checks are then a few lines each.
    """

    levels: Sequence[int] = ()
    expected: float = 2.0
    tol: float = 0.1

    @abstractmethod
    def errors(self, level: int) -> tuple[float, dict[str, float]]:
        """(h, {norm name: error}) of the solve on ``level``."""

    def run(self) -> tuple[list[float], dict[str, list[float]]]:
        """h and the errors of every norm on every level."""
        hs, errs = [], {}
        for level in self.levels:
            h, e = self.errors(level)
            hs.append(h)
            for norm, value in e.items():
                errs.setdefault(norm, []).append(value)
        return hs, errs

    def orders(self) -> dict[str, tuple[np.ndarray, float]]:
        """Per norm: (pairwise orders, least-squares slope)."""
        hs, errs = self.run()
        return {norm: observed_orders(hs, e) for norm, e in errs.items()}

    def passed(self, pairwise: np.ndarray, slope: float) -> bool:
        """The slope and the finest pair's order are both within ``tol`` of ``expected``."""
        return abs(slope - self.expected) <= self.tol and abs(pairwise[-1] - self.expected) <= self.tol


def format_results(results: Sequence[CheckResult]) -> str:
    """A fixed-width table of check results."""
    rows = [("check", "quantity", "value", "target", "status")]
    for r in results:
        rows.append((r.check, r.quantity, f"{r.value:.4g}", r.target, "PASS" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def plot_convergence(path: str | Path, title: str, series: dict[str, tuple[Sequence[float], Sequence[float]]],
                     order: float = 2.0) -> str:
    """Log-log error vs h for each series, with a reference slope; writes PNG, returns its path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    for label, (h, e) in series.items():
        ax.loglog(h, e, "o-", label=label)
    h0, e0 = next(iter(series.values()))
    hh = np.array([min(h0), max(h0)])
    ax.loglog(hh, e0[0] * (hh / h0[0]) ** order, "k--", lw=0.8, label=f"O(h^{order:g})")
    ax.set_xlabel("h")
    ax.set_ylabel("error")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
