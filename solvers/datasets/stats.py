"""``stats.yaml``: per-field statistics of a split, as The Well's ``scripts/compute_statistics.py``.

For every field ``a`` of ``t{0,1,2}_fields`` (over all samples, times and grid points, float64):
``mean`` = E[a], ``std`` = sqrt(E[(a - E a)^2]) (population), ``rms`` = sqrt(E[a^2]); for a
time-varying field also the same three of its time increments ``a[:, 1:] - a[:, :-1]``
(``mean_delta``, ``std_delta``, ``rms_delta``), which The Well's ``ZScoreNormalization`` and
``RMSNormalization`` require. For a steady family (pseudo-time [0, 1], ``u[:, 0] = 0``) the
increment is the solution itself. Streamed one batch of samples at a time; the batch moments are
combined exactly (Chan, Golub and LeVeque's pairwise update), so the result does not depend on
the batch size up to rounding.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

KEYS = ("mean", "std", "rms")
DELTA_KEYS = tuple(f"{k}_delta" for k in KEYS)


class Moments:
    """Running count, mean and sum of squared deviations of a stream of arrays (float64)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: np.ndarray) -> None:
        """Merge the batch ``x`` (Chan et al. 1979, eq. 2.1b)."""
        x = np.asarray(x, dtype=np.float64)
        nb = x.size
        if nb == 0:
            return
        mb = float(x.mean())
        m2b = float(np.square(x - mb).sum())
        n = self.n + nb
        d = mb - self.mean
        self.mean += d * nb / n
        self.m2 += m2b + d * d * self.n * nb / n
        self.n = n

    def stats(self) -> tuple[float, float, float]:
        """(mean, std, rms), population moments."""
        var = self.m2 / self.n
        return self.mean, float(np.sqrt(var)), float(np.sqrt(var + self.mean ** 2))


def well_stats(path: str | Path, batch: int = 64) -> dict[str, dict[str, float]]:
    """mean/std/rms (+ the ``_delta`` keys of time-varying fields) of every field of one split file."""
    import h5py
    out: dict[str, dict[str, float]] = {k: {} for k in KEYS + DELTA_KEYS}
    with h5py.File(path, "r") as h5:
        for order in range(3):
            grp = h5[f"t{order}_fields"]
            for name in grp.attrs["field_names"]:
                name = name.decode() if isinstance(name, bytes) else str(name)
                ds = grp[name]
                if order:
                    raise ValueError(f"{path}: statistics of order-{order} (vector/tensor) field {name!r} are not "
                                     "supported (no family writes one)")
                timed = bool(ds.attrs["time_varying"])
                acc, dacc = Moments(), Moments()
                rows = ds.shape[0] if ds.attrs["sample_varying"] else 1
                for a in range(0, rows, batch):
                    x = ds[a:a + batch] if ds.attrs["sample_varying"] else ds[...][None]
                    acc.add(x)
                    if timed:
                        x = np.asarray(x, dtype=np.float64)
                        dacc.add(x[:, 1:] - x[:, :-1])
                for k, v in zip(KEYS, acc.stats()):
                    out[k][name] = v
                if timed and dacc.n:
                    for k, v in zip(DELTA_KEYS, dacc.stats()):
                        out[k][name] = v
    return out


def compare(stored: dict, fresh: dict, rel: float = 1e-6) -> list[str]:
    """Entries of ``stored`` that are missing or differ from ``fresh`` by more than ``rel``
    relative to the field's scale (its rms, resp. rms_delta)."""
    bad = []
    for k in KEYS + DELTA_KEYS:
        scale = fresh["rms_delta" if k.endswith("_delta") else "rms"]
        for name, v in fresh[k].items():
            got = stored.get(k, {}).get(name)
            if got is None or abs(got - v) > rel * max(abs(v), scale[name]):
                bad.append(f"{k}.{name} = {got}, recomputed {v:.8g}")
    return bad
