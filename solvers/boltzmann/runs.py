"""Drivers shared by the runners, the validation and the benchmark: BKW evolution, mixture runs,
epoch analysis. Collective (the spectral operators reduce over ``comm``)."""
from __future__ import annotations

import math
import time

import numpy as np
from mpi4py import MPI

from . import bkw
from . import moments as mo
from .ap_scheme import Mixture, initial_data, time_levels
from .fast_spectral import FastSpectral
from .velocity import ALIAS, VelocityGrid


def bkw_grid(dim: int, n: int, R: float) -> VelocityGrid:
    """BKW grid: ``L = (3 + sqrt 2) R / 4``."""
    return VelocityGrid(dim, n, ALIAS * R)


def bkw_operator_error(dim: int, n: int, R: float, t0: float, n_rho=None, n_dir=None, conservative=False,
                       comm: MPI.Comm = MPI.COMM_SELF) -> dict:
    """``max|Q(f) - ∂f/∂t| / max|∂f/∂t|`` for the BKW solution at ``t0``, and the moments of ``Q``."""
    g = bkw_grid(dim, n, R)
    op = FastSpectral(g, R=R, n_rho=n_rho, n_dir=n_dir, conservative=conservative, comm=comm)
    v2 = g.speed2()
    f0 = bkw.f(t0, v2, dim)
    ex = bkw.dfdt(t0, v2, dim)
    tic = time.perf_counter()
    Q = op(f0)
    wall = time.perf_counter() - tic
    scale = np.abs(ex).max()
    return {"error": float(np.abs(Q - ex).max() / scale), "mass": float(abs(Q.sum()) * g.vol),
            "momentum": float(max(abs((vd * Q).sum()) for vd in g.v) * g.vol),
            "energy": float(abs((v2 * Q).sum()) * g.vol), "wall": wall,
            "M": 2 * op.n_directions, "n_rho": op.n_rho, "Q": Q}


def bkw_evolution(dim: int, n: int, R: float, t0: float, t_end: float, dt: float, n_rho=None, n_dir=None,
                  conservative=True, comm: MPI.Comm = MPI.COMM_SELF, progress=None) -> dict:
    """RK4 from the exact BKW data at ``t0`` to ``t_end``; errors against the exact solution."""
    g = bkw_grid(dim, n, R)
    op = FastSpectral(g, R=R, n_rho=n_rho, n_dir=n_dir, conservative=conservative, comm=comm)
    v2 = g.speed2()
    f = bkw.f(t0, v2, dim)
    ts = time_levels(t_end - t0, dt) + t0
    err, H, mass, energy = [], [], [], []
    for i, t in enumerate(ts):
        if i:
            h = t - ts[i - 1]
            k1 = op(f)
            k2 = op(f + 0.5 * h * k1)
            k3 = op(f + 0.5 * h * k2)
            k4 = op(f + h * k3)
            f = f + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        ex = bkw.f(t, v2, dim)
        err.append(float(np.abs(f - ex).max() / np.abs(ex).max()))
        H.append(mo.entropy(g, f))
        mass.append(mo.density(g, f))
        energy.append(mo.energy(g, f))
        if progress is not None:
            progress(1)
    return {"t": ts, "error": np.array(err), "H": np.array(H), "mass": np.array(mass),
            "energy": np.array(energy), "f": f, "exact": bkw.f(ts[-1], v2, dim), "v": g.v[0][(slice(None),) +
                                                                                            (0,) * (dim - 1)]}


def run_mixture(mix: Mixture, scheme: str, fL: np.ndarray, fH: np.ndarray, ts: np.ndarray,
                n_snap: int = 0, progress=None, blowup: float = 1e3) -> dict:
    """Advance from ``ts[0]`` through ``ts``; moment time series and ``n_snap`` snapshots of ``f``.

    Stops early (``blew_up = True``) if ``f`` stops being finite or grows beyond ``blowup`` times
    its initial maximum.
    """
    keys = ("n_L", "T_L", "H_L", "dist_L", "n_H", "T_H", "H_H", "dist_H", "energy")
    series = {k: [] for k in keys}
    series.update(u_L=[], u_H=[], momentum=[])
    snap_idx = set(np.unique(np.linspace(0, len(ts) - 1, n_snap).round().astype(int))) if n_snap else set()
    snaps_L, snaps_H, t_snap = [], [], []
    f0max = max(np.abs(fL).max(), np.abs(fH).max())
    blew_up, t_done = False, [ts[0]]
    tic = time.perf_counter()

    def record(i: int) -> None:
        s = mix.state(fL, fH)
        for k in keys:
            series[k].append(s[k])
        for k in ("u_L", "u_H", "momentum"):
            series[k].append(np.asarray(s[k]))
        if i in snap_idx:
            snaps_L.append(fL.copy())
            snaps_H.append(fH.copy())
            t_snap.append(ts[i])

    record(0)
    for i in range(1, len(ts)):
        with np.errstate(all="ignore"):          # an unstable explicit step overflows: detected below
            try:
                fL, fH = mix.step(scheme, fL, fH, ts[i] - ts[i - 1])
            except np.linalg.LinAlgError:        # moment projection of an overflowed state
                blew_up = True
                break
        if progress is not None:
            progress(1)
        if not (np.all(np.isfinite(fL)) and np.all(np.isfinite(fH))) or \
                max(np.abs(fL).max(), np.abs(fH).max()) > blowup * f0max:
            blew_up = True
            break
        t_done.append(ts[i])
        with np.errstate(all="ignore"):
            record(i)
    out = {k: np.array(v) for k, v in series.items()}
    out.update(t=np.array(t_done), blew_up=blew_up, wall=time.perf_counter() - tic, fL=fL, fH=fH,
               snap_L=np.array(snaps_L), snap_H=np.array(snaps_H), t_snap=np.array(t_snap))
    return out


def efold_time(t: np.ndarray, y: np.ndarray) -> float:
    """First time at which ``|y|`` has fallen to ``|y(0)|/e`` (log-linear interpolation); nan if never."""
    y = np.abs(np.asarray(y, float))
    target = y[0] / math.e
    below = np.nonzero(y <= target)[0]
    if len(below) == 0:
        return math.nan
    i = below[0]
    if i == 0:
        return 0.0
    a, b = math.log(y[i - 1]), math.log(y[i])
    s = (math.log(target) - a) / (b - a)
    return float(t[i - 1] + s * (t[i] - t[i - 1]))


def epochs(res: dict) -> dict:
    """Time scales of the three epochs: e-folding of ``dist(f_L, M_L)``, ``dist(f_H, M_H)``, ``T_L - T_H``."""
    return {"tau_L": efold_time(res["t"], res["dist_L"]), "tau_H": efold_time(res["t"], res["dist_H"]),
            "tau_T": efold_time(res["t"], res["T_L"] - res["T_H"])}


def decay_rate(t: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Least-squares ``λ`` in ``|y| ~ exp(-λ t)`` over the samples with ``hi <= |y|/|y(0)| <= lo``."""
    y = np.abs(np.asarray(y, float))
    r = y / y[0]
    sel = (r <= lo) & (r >= hi)
    return float(-np.polyfit(t[sel], np.log(y[sel]), 1)[0])


def mixture_initial(mix: Mixture, cfg: dict):
    return initial_data(mix, cfg["initial"], cfg["n_L"], cfg["n_H"], cfg["T_L"], cfg["T_H"],
                        cfg["u_L"] or [0.0] * mix.p.dim, cfg["u_H"] or [0.0] * mix.p.dim)


def exact_rate(m_L: float, m_H: float, n_L: float, n_H: float, b0_minus_b1: float) -> float:
    """``λ_T = 2 m_L m_H (n_L + n_H)(b0 - b1) / (m_L + m_H)^2`` (validation.md)."""
    return 2 * m_L * m_H * (n_L + n_H) * b0_minus_b1 / (m_L + m_H) ** 2
