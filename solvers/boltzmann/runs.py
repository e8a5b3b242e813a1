"""Drivers shared by the runners, the validation and the benchmark: BKW evolution, mixture runs,
epoch analysis. Collective (the spectral operators reduce over ``comm``)."""
from __future__ import annotations

import math
import time

import numpy as np
from mpi4py import MPI
from scipy.special import gammainc

from . import bkw
from . import moments as mo
from . import quadrature
from .ap_scheme import Mixture, initial_data, time_levels
from .fast_spectral import SPHERE_AREA, FastSpectral
from .mixture import CrossCollision
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


# light data of the cross-operator checks: a drifting Maxwellian and two bumps (far from equilibrium);
# the heavy partner is a Maxwellian whose mean velocity is off both grids
LIGHT_DATA = {"maxwellian": quadrature.maxwellian(1.0, [0.2, -0.1], 1.0, 1.0),
              "two-bump": quadrature.mixture_of(quadrature.maxwellian(0.5, [0.9, 0.3], 0.5, 1.0),
                                                quadrature.maxwellian(0.5, [-0.8, -0.4], 0.6, 1.0))}
HEAVY = {"n": 0.7, "u": (0.13, -0.07), "T": 0.8}


def cross_operator_error(mass_ratio: float, n: int = 24, gamma: float = 1.0, data: str = "maxwellian",
                         window: float | None = None, comm: MPI.Comm = MPI.COMM_SELF) -> dict:
    """``Q_LH`` of :class:`.mixture.CrossCollision` (2D, ``Lhat = 6``, b = 1/2π) against the independent
    quadrature (:mod:`.quadrature`) at the light nodes (those within ``window`` of ``u_H`` if given):
    relative discrete L2 and max errors, and the conservation of the pair ``(Q_LH, Q_HL)``: mass of
    each species, total momentum and energy (relative to the momentum and energy exchanged)."""
    mH, b = float(mass_ratio), 1.0 / SPHERE_AREA[2]
    gL = VelocityGrid.for_species(2, n, 1.0, 1.0, 6.0)
    gH = VelocityGrid.for_species(2, n, mH, 1.0, 6.0)
    f = LIGHT_DATA[data]
    vL = np.stack(gL.v, -1)
    fL, fH = f(vL), gH.maxwellian(HEAVY["n"], HEAVY["u"], HEAVY["T"], mH)
    QLH = CrossCollision(gL, gH, 1.0, mH, gamma=gamma, b=b, comm=comm)
    QHL = CrossCollision(gH, gL, mH, 1.0, gamma=gamma, b=b, comm=comm)
    tic = time.perf_counter()
    Q = QLH(fL, fH)
    wall = time.perf_counter() - tic
    QH = QHL(fH, fL)
    sel = np.ones(gL.shape, bool) if window is None else np.linalg.norm(vL - HEAVY["u"], axis=-1) <= window
    mine = np.array_split(vL[sel], comm.size)[comm.rank]      # the reference points split over the ranks
    ref = np.concatenate(comm.allgather(quadrature.cross_operator(mine, f, 1.0, mH, HEAVY["n"], HEAVY["u"],
                                                                   HEAVY["T"], gamma, b, R=QLH.op.R)))
    err = Q[sel] - ref
    P = [mo.integrate(gL, vd * Q) for vd in gL.v]
    E = 0.5 * mo.integrate(gL, gL.speed2() * Q)
    mom = max(abs(p + mH * mo.integrate(gH, vd * QH)) for p, vd in zip(P, gH.v)) / max(abs(p) for p in P)
    return {"l2": float(np.linalg.norm(err) / np.linalg.norm(ref)), "max": float(np.abs(err).max() / np.abs(ref).max()),
            "mass": float(max(abs(mo.integrate(gL, Q)), abs(mo.integrate(gH, QH)))), "momentum": float(mom),
            "energy": float(abs(E + 0.5 * mH * mo.integrate(gH, gH.speed2() * QH)) / abs(E)), "points": int(sel.sum()),
            "wall": wall, "n_rho": QLH.op.n_rho, "common_n": QLH.gc.n}


def hard_sphere_exchange(mass_ratio: float, n: int = 24, T_L: float = 1.2, T_H: float = 0.8, n_L: float = 1.0,
                         n_H: float = 0.7, comm: MPI.Comm = MPI.COMM_SELF) -> tuple[float, float]:
    """``dT_L/dt`` from the full hard-sphere ``Q_LH`` (2D, Maxwellians at rest) and its closed form
    ``(2/(d n_L)) m_L μ_H b|S| n_L n_H (μ_H - α) E[|q|³ 1_{|q|<=R}]`` (weak form of ``Q_LH``; ``q = v - v_*`` is
    Gaussian with variance ``s² = T_L/m_L + T_H/m_H`` per component, ``E[v | q] = α q``, ``α = (T_L/m_L)/s²``,
    ``E[|q|³ 1_{|q|<=R}] = 2^{3/2} Γ(5/2) P(5/2, R²/2s²) s³``, ``P`` the regularised incomplete gamma function)."""
    mH, b, d = float(mass_ratio), 1.0 / SPHERE_AREA[2], 2
    gL = VelocityGrid.for_species(d, n, 1.0, max(T_L, T_H), 6.0)
    gH = VelocityGrid.for_species(d, n, mH, max(T_L, T_H), 6.0)
    fL, fH = gL.maxwellian(n_L, np.zeros(d), T_L), gH.maxwellian(n_H, np.zeros(d), T_H, mH)
    op = CrossCollision(gL, gH, 1.0, mH, gamma=1.0, b=b, comm=comm)
    Q = op(fL, fH)
    dTL = mo.integrate(gL, gL.speed2() * Q) / (d * n_L)
    s2, mu_H = T_L + T_H / mH, mH / (1.0 + mH)
    exact = 2.0 / (d * n_L) * mu_H * b * SPHERE_AREA[d] * n_L * n_H * (mu_H - T_L / s2) * \
        2.0 ** 1.5 * math.gamma(2.5) * gammainc(2.5, op.op.R ** 2 / (2 * s2)) * s2 ** 1.5
    return float(dTL), float(exact)
