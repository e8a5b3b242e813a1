"""A heavy trace behind a shock in the light gas (issue 13, §6): the relaxation zone behind a thin shock, against
the homogeneous solver and an independent (Langevin) reference.

When the heavy carries little of the mass (``ρ_H/ρ_L = loading ≪ 1``) the shock is the light gas's own: a few
light mean free paths thick, while the heavy, too slow to exchange momentum or energy in it, crosses it unchanged
— cold (``T_1 = 1``) and at the upstream speed ``u_1`` — into light gas at ``T_2`` moving at ``u_2``: the
temperatures separate by ``T_2 - T_1`` at the shock. Behind it the slip ``u_H - u_L`` and ``T_H - T_L`` relax on
the mixture's slow epochs (``ℓ_0 = u_2 τ_0`` is tens of light mean free paths at m_H/m_L = 100) with the light a
fixed bath (it changes by ~``loading``). A heavy parcel that crossed the shock a time ``t`` ago is at ``ξ(t)``,
``dξ/dt = u_H`` (:func:`heavy_time`). Two references:

- the homogeneous run from the post-shock state (:func:`homogeneous_reference`: the same grids and collision
  step, no space). Its slip is the profile's along ``t``; its ``T_H - T_L`` is not: the decelerating heavy is
  compressed (``n_H u_H`` constant), and with heavy-heavy collisions negligible its ``T_11`` is heated like
  ``-2 T_11 ∂_x u_H``, comparable to the exchange — ``T_H`` overshoots ``T_L``;
- the Langevin reference (:func:`langevin_reference`): the heavy's kinetic equation in the fixed bath solved by
  particles, which has the compression and the heavy's streaming; the profiles are compared with it cell by cell.

The heavy's velocity box must hold both ``u_1`` and ``u_2`` (a slip of ``M``-dependent size, ``∝ sqrt(m_H)``
in heavy thermal speeds) at a resolution of its cold upstream gas (:func:`heavy_box`): N = 24 at m_H/m_L = 100,
M = 1.5 gives 1.3 points per upstream heavy thermal speed; at 1000 the same needs N = 48.
"""
from __future__ import annotations

import math

import numpy as np

from . import asymptotic as asy
from . import runs
from .ap_scheme import time_levels
from .positivity import positive_maxwellian
from .shock_layer import rankine_hugoniot, shock_position, shock_setup
from .space_runs import evolve


def heavy_box(mach: float, mass_ratio: float, loading: float, Lhat: float, sigmas: float = 4.0) -> float:
    """The heavy box's scale in units of ``T_2``: half-width ``Lhat sqrt(T_ref/m_H)`` = half the slip plus
    ``sigmas`` heavy thermal speeds at ``T_2`` (both boxes centred at ``(u_1 + u_2)/2``)."""
    up, down = rankine_hugoniot(mach, 1.0, loading / mass_ratio, 1.0, 1.0, mass_ratio, 2)
    half = 0.5 * up["u"] + sigmas * math.sqrt(down["T"] / mass_ratio)
    return mass_ratio * (half / Lhat) ** 2 / down["T"]


def homogeneous_reference(mix, info: dict, t_end: float, dt: float, scheme: str = "ap2") -> dict:
    """The homogeneous run from the state right behind a thin light shock: the light at ``(n_L2, u_2, T_2)``,
    the heavy at ``(n_H, u_1, T_1)`` (its upstream state), on the solver's own grids; time series of the
    slip ``u_H - u_L`` (along ``v_1``) and of ``T_H - T_L``."""
    up, down, u2 = info["up"], info["down"], info["u_down"]
    u1 = u2 + up["u"]
    fL = positive_maxwellian(mix.gL, down["n_L"], np.r_[u2, 0.0], down["T"], mix.m_L)
    fH = positive_maxwellian(mix.gH, up["n_H"], np.r_[u1, 0.0], up["T"], mix.m_H)
    r = runs.run_mixture(mix, scheme, fL, fH, time_levels(t_end, dt))
    return {"t": np.asarray(r["t"]), "slip": np.array([h[0] - l[0] for h, l in zip(r["u_H"], r["u_L"])]),
            "dT": np.asarray(r["T_H"]) - np.asarray(r["T_L"])}


def heavy_time(x: np.ndarray, u_H: np.ndarray, x_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``t(x) = ∫_{x_s}^x dx'/u_H`` at the points ``x > x_s`` (trapezoids, ``1/u_H`` linear between points):
    the time since a heavy parcel at ``x`` crossed ``x_s``. Returns ``(mask of the points, t)``."""
    sel = x > x_s
    xs = np.r_[x_s, x[sel]]
    w = 1.0 / np.r_[np.interp(x_s, x, u_H), u_H[sel]]
    return sel, np.cumsum(0.5 * (w[1:] + w[:-1]) * np.diff(xs))


def decay_time(t: np.ndarray, d: np.ndarray, d0: float | None = None, hi: float = 0.3, lo: float = 0.03) -> float:
    """Least-squares ``τ`` in ``|d| ~ exp(-t/τ)`` over the points after ``|d|`` has fallen below ``hi`` of
    ``d0`` (default: its first value) and before it falls below ``lo`` of it (NaN with fewer than 3)."""
    a = np.abs(d) / abs(d[0] if d0 is None else d0)
    first = int(np.nonzero(a < hi)[0][0]) if (a < hi).any() else len(a)
    last = int(np.nonzero(a < lo)[0][0]) if (a < lo).any() else len(a)
    sel = slice(first, last)
    if last - first < 3:
        return math.nan
    return float(-1.0 / np.polyfit(t[sel], np.log(np.abs(d[sel])), 1)[0])


def langevin_reference(edges: np.ndarray, x_s: float, nu_H: float, u_L: float, T_L: float, m_H: float, u_1: float,
                       T_1: float, dim: int, h: float, particles: int = 200_000, seed: int = 0,
                       batch: int = 50_000) -> dict:
    """Independent reference for the heavy trace behind the shock: with the light a fixed bath ``(u_L, T_L)``
    and heavy-heavy collisions negligible, the heavy obeys the Fokker-Planck kinetic equation
    ``∂_t f + v_1 ∂_x f = ν_H ∇·[(v - u_L) f + (T_L/m_H) ∇f]`` (:func:`.asymptotic.heavy_fokker_planck`), whose
    particles follow the Langevin equation ``dV = -ν_H (V - u_L) dt + sqrt(2 ν_H T_L/m_H) dW``. Particles let in
    at ``x_s`` with the flux-weighted Maxwellian ``(u_1, T_1)`` (weights ``V_1``), advanced by the exact
    Ornstein-Uhlenbeck update of ``V`` and trapezoids in ``X`` with step ``h``; the steady profile's cell
    moments (cells ``edges``) are occupation-time averages. Returns per cell ``u`` (along ``x``) and ``T``; cells a particle never visited are NaN. Unlike the homogeneous reference it has the
    compression of the decelerating heavy (a heating ``-2 T_11 ∂_x u_H`` of ``T_11``) and its streaming."""
    rng = np.random.default_rng(seed)
    k = len(edges) - 1
    S = np.zeros((3, k))                          # occupation time, of V_1, of |V|^2 (weighted by flux)
    decay, spread = math.exp(-nu_H * h), math.sqrt(T_L / m_H * (1 - math.exp(-2 * nu_H * h)))
    mean = np.zeros(dim)
    mean[0] = u_L
    for start in range(0, particles, batch):
        m = min(batch, particles - start)
        V = rng.normal(0.0, math.sqrt(T_1 / m_H), (m, dim))
        V[:, 0] += u_1
        w = np.maximum(V[:, 0], 0.0)
        X = np.full(m, x_s)
        alive = np.ones(m, bool)
        while alive.any():
            Vn = mean + (V - mean) * decay + spread * rng.standard_normal(V.shape)
            Xn = X + 0.5 * h * (V[:, 0] + Vn[:, 0])
            c = np.searchsorted(edges, 0.5 * (X + Xn)) - 1
            ok = alive & (c >= 0) & (c < k)
            for j, q in enumerate((np.ones(m), 0.5 * (V[:, 0] + Vn[:, 0]), 0.5 * ((V ** 2).sum(-1) + (Vn ** 2).sum(-1)))):
                S[j] += np.bincount(c[ok], weights=(h * w * q)[ok], minlength=k)
            X, V = Xn, Vn
            alive &= X < edges[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        u = S[1] / S[0]
        T = m_H / dim * (S[2] / S[0] - u ** 2)
    return {"u": u, "T": T}


def trace_shock_relaxation(comm, mass_ratio: float, cells: float, loading: float = 0.01, mach: float = 1.5,
                           n: int = 24, Lhat: float = 5.0, t_lengths: float = 10.0, margins=(2.0, 6.0),
                           box: float = 1.2, positivity: bool = True, scheme: str = "ap2", n_snap: int = 11,
                           particles: int = 200_000, window=(1.0, 4.0), aligned: bool = False,
                           progress=None) -> dict:
    """The set-up of the module docstring (:func:`.shock_layer.shock_setup` in the shock frame, heavy box from
    :func:`heavy_box`, ``n_H = loading m_L/m_H``, right end inflow of the downstream state), run to
    ``t_lengths τ_0``. Behind the light shock (its density midpoint ``x_s``), against the heavy time
    :func:`heavy_time`: the slip ``u_H - u_L`` and ``T_H - T_L``; the slip's decay time (:func:`decay_time`) at
    ``t_end`` and at the snapshot before, and the homogeneous reference's (:func:`homogeneous_reference`); the
    Langevin reference (:func:`langevin_reference`, the light bath at the downstream state, ``ν_H`` of its
    Maxwellian on the solver's light grid) on the same cells, and the largest differences from it over the heavy
    times ``window`` (in ``τ_0``): of the slip relative to ``u_1 - u_2``, of ``T_H - T_L`` relative to
    ``T_2 - T_1``. Collective: the moment profiles (``n_x`` numbers each) are gathered on rank 0, the references
    computed there and the figures broadcast."""
    n_H = loading / mass_ratio
    sp, fL, fH, info = shock_setup(comm, mass_ratio, cells, n_H=n_H, mach=mach, n=n, Lhat=Lhat, scheme=scheme,
                                   t_lengths=t_lengths, margin_up=margins[0], margin_down=margins[1], box=box,
                                   positivity=positivity, frame="shock",
                                   box_H=heavy_box(mach, mass_ratio, loading, Lhat), aligned=aligned)
    mix, tau0, up, down, u2 = sp.mix, info["tau0"], info["up"], info["down"], info["u_down"]
    r = evolve(sp, fL, fH, info["t_end"], n_snap=n_snap, progress=progress)
    prof = {k: comm.gather(r[k], root=0) for k in ("n_L", "u_L", "T_L", "n_H", "u_H", "T_H")}
    fig = None
    if comm.rank == 0:
        hom = homogeneous_reference(mix, info, 8.0 * tau0, tau0 / 400, scheme)
        fL2 = positive_maxwellian(mix.gL, down["n_L"], np.r_[u2, 0.0], down["T"], mix.m_L)
        nu_H = float(asy.heavy_friction(mix.gL, fL2, mix.mu, mix.m_L, down["T"], np.r_[u2, 0.0], mix.p.gamma, mix.b))
        x = (np.arange(sp.nx) + 0.5) * sp.dx
        cat = {k: np.concatenate(v, axis=1) for k, v in prof.items()}
        out = {}
        for tag, i in (("_prev", -2), ("", -1)):              # the last pass leaves t_end's x_s, sel, t, slip
            x_s = shock_position(x, cat["n_L"][i], up["n_L"], down["n_L"])
            sel, t = heavy_time(x, cat["u_H"][i], x_s)
            slip = (cat["u_H"][i] - cat["u_L"][i])[sel]
            out |= {f"tau_slip{tag}": decay_time(t, slip, up["u"]), f"x_shock{tag}": x_s}
        lang = langevin_reference(np.arange(sp.nx + 1) * sp.dx, x_s, nu_H, u2, down["T"], mix.m_H, u2 + up["u"],
                                  up["T"], mix.p.dim, tau0 / 200, particles)
        dT = (cat["T_H"][-1] - cat["T_L"][-1])[sel]
        ref = {"slip": lang["u"][sel] - u2, "dT": lang["T"][sel] - down["T"]}
        win = (t >= window[0] * tau0) & (t <= window[1] * tau0)
        T_L = cat["T_L"][-1][sel]
        fig = out | {"t": t, "slip": slip, "dT": dT, "T_L_behind": T_L, "t_covered": float(t[-1]),
                     "ref_slip": ref["slip"], "ref_dT": ref["dT"], "nu_H": nu_H,
                     "gap_slip": float(np.abs(slip - ref["slip"])[win].max() / up["u"]),
                     "gap_dT": float(np.abs(dT - ref["dT"])[win].max() / (down["T"] - up["T"])),
                     "tau_slip_ref": decay_time(t, ref["slip"], up["u"]),
                     "tau_slip_hom": decay_time(hom["t"], hom["slip"]), "tau_dT_hom": decay_time(hom["t"], hom["dT"]),
                     "hom_t": hom["t"], "hom_slip": hom["slip"], "hom_dT": hom["dT"],
                     "light_dev": float(np.abs(T_L / down["T"] - 1).max())}
    fig = comm.bcast(fig, root=0)
    fig.update(mass_ratio=mass_ratio, loading=loading, mach=mach, n=n, nx=sp.nx, dx=sp.dx, cells_per_ell0=cells,
               tau0=tau0, ell0=info["ell0"], u2=info["u2"], slip0=up["u"], T2=down["T"], steps=r["steps"],
               dt=r["dt"], fmin=r["fmin"], wall=r["wall"], t_end=info["t_end"], window=window, aligned=aligned)
    return fig
