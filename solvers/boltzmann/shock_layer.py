"""Temperature relaxation behind a shock in a light/heavy mixture (issue 13, §6): the decay of
``T_H - T_L`` behind the shock, measured as a relaxation time and compared with the homogeneous
solver's temperature-equalisation time at the post-shock state.

Set-up (frame of the post-shock gas, at rest): the mixture seen as one monatomic gas (``ρ = m_L n_L +
m_H n_H``, ``p = (n_L + n_H) T``, ``γ = (d+2)/d``) flows at ``u_1 - u_2`` into a specular wall at
``x = L_x`` and is stopped by a shock of Mach number ``M`` (Rankine-Hugoniot, e.g. Landau & Lifshitz
§89: compression ``r = (γ+1)M²/((γ-1)M²+2)``, the shocked gas at rest at ``T_2``); the left end lets
the upstream state in. The shock runs into the upstream gas at ``s = u_2``; a parcel at distance ``ξ``
behind it was shocked ``ξ / s`` ago, so a decay length ``ℓ`` of ``T_H - T_L`` is the relaxation time
``τ = ℓ / s`` (the flow speed relative to the shock). Kn = 1 (x in units of the mean free path
scale); the domain and the time are set in units of ``ℓ_0 = s τ_0``, ``τ_0`` the homogeneous time at
the post-shock state, so one number of cells per ``ℓ_0`` is the same resolution at every mass ratio.
In this frame the heavy species drifts by at most ``u_1 - u_2``: its box holds it.

The light species conducts heat over a mean free path in the time the gas moves ``s τ_0``: in the
layer the light temperature is smoothed by conduction, so ``τ`` is not expected to equal ``τ_0``
(the limits: ``τ_0`` without conduction, ``τ_0 (1 + n_H/n_L)`` with the light temperature held fixed).
"""
from __future__ import annotations

import math

import numpy as np

from . import asymptotic as asy
from . import runs
from .ap_scheme import Mixture, MixtureParams, time_levels
from .positivity import positive_maxwellian
from .space import SpaceMixture
from .space_runs import evolve
from .transport import Boundary


def rankine_hugoniot(mach: float, n_L: float, n_H: float, T: float, m_L: float, m_H: float,
                     dim: int) -> tuple[dict, dict]:
    """Upstream and downstream equilibrium states ``{n_L, n_H, u, T}`` of a normal shock of Mach number
    ``mach``, in the frame of the downstream gas (``u = 0`` there); ``down["s"]``: the shock speed
    relative to it (towards -x)."""
    g = (dim + 2) / dim
    rho, n = m_L * n_L + m_H * n_H, n_L + n_H
    u1 = mach * math.sqrt(g * n * T / rho)
    r = (g + 1) * mach ** 2 / ((g - 1) * mach ** 2 + 2)
    p2 = n * T * (1 + 2 * g / (g + 1) * (mach ** 2 - 1))
    up = {"n_L": n_L, "n_H": n_H, "u": u1 - u1 / r, "T": T}
    down = {"n_L": r * n_L, "n_H": r * n_H, "u": 0.0, "T": p2 / (r * n), "s": u1 / r}
    return up, down


def homogeneous_time(mix: Mixture, n_L: float, n_H: float, T: float, scheme: str = "ap2",
                     delta: float = 0.05) -> float:
    """Temperature-equalisation time ``1/λ`` of the homogeneous solver at ``(n_L, n_H, T)``: Maxwellian
    data ``T_L = T + δ n_H/n``, ``T_H = T - δ n_L/n`` (mean ``T``), ``dt = 0.05 / λ_est``, ``λ`` the
    least-squares decay rate of ``T_L - T_H`` from 0.5 to 0.05 of its initial value (:func:`.runs.decay_rate`)."""
    n = n_L + n_H
    TL, TH = T + delta * n_H / n, T - delta * n_L / n
    fL = mix.gL.maxwellian(n_L, np.zeros(mix.p.dim), TL, mix.m_L)
    fH = mix.gH.maxwellian(n_H, np.zeros(mix.p.dim), TH, mix.m_H)
    lam = 2 * asy.heavy_friction(mix.gL, fL, mix.mu, mix.m_L, TL, np.zeros(mix.p.dim), mix.p.gamma, mix.b) \
        * (1 + n_H / n_L)
    r = runs.run_mixture(mix, scheme, fL, fH, time_levels(4.0 / lam, 0.05 / lam))
    return 1.0 / runs.decay_rate(r["t"], r["T_L"] - r["T_H"], 0.5, 0.05)


def shock_position(x: np.ndarray, rho: np.ndarray, rho1: float, rho2: float) -> float:
    """Where the mass density crosses ``(ρ_1 + ρ_2)/2`` (last crossing from the upstream side, linear)."""
    mid = 0.5 * (rho1 + rho2)
    i = int(np.nonzero(rho < mid)[0].max())
    return float(x[i] + (mid - rho[i]) / (rho[i + 1] - rho[i]) * (x[i + 1] - x[i]))


def decay_length(x: np.ndarray, d: np.ndarray, x_s: float, lo: float = 0.5, hi: float = 0.1) -> float:
    """Least-squares ``ℓ`` in ``|d| ~ exp(-(x - x_s)/ℓ)`` over the points behind the peak of ``|d|``
    (downstream of ``x_s``) where ``hi <= |d|/max|d| <= lo``, up to the first point below ``hi``."""
    behind = x > x_s
    xb, db = x[behind], np.abs(d[behind])
    k = int(db.argmax())
    r = db[k:] / db[k]
    end = k + (int(np.nonzero(r < hi)[0][0]) if (r < hi).any() else len(r))
    sel = np.arange(k, end)
    sel = sel[(db[sel] / db[k] <= lo) & (db[sel] / db[k] >= hi)]
    return float(-1.0 / np.polyfit(xb[sel], np.log(db[sel]), 1)[0])


def shock_relaxation(comm, mass_ratio: float, nx: int, n_H: float = 0.25, mach: float = 2.0, n: int = 16,
                     Lhat: float = 5.0, scheme: str = "ap2", t_lengths: float = 10.0, margin: float = 4.0,
                     progress=None) -> dict:
    """The set-up of the module docstring at ``m_H/m_L = mass_ratio``, upstream ``n_L = 1``, ``n_H``,
    ``T = 1``, on ``nx`` cells of ``[0, (t_lengths + margin) ℓ_0]``, run to ``t_lengths τ_0``: the decay
    length of ``T_H - T_L`` behind the shock at ``t_end`` and at ``0.8 t_end`` (steadiness), the
    relaxation time ``τ = ℓ / s`` against ``τ_0``, the measured shock speed. Collective; the moment
    profiles are gathered on rank 0 for the fit (``n_x`` numbers each) and the figures broadcast."""
    p = MixtureParams(dim=2, n=n, Lhat=Lhat, mass_ratio=mass_ratio)
    up, down = rankine_hugoniot(mach, 1.0, n_H, 1.0, 1.0, mass_ratio, p.dim)
    T_box = 1.2 * down["T"]
    mix = Mixture(p, T_ref=(T_box, T_box))
    tau0 = homogeneous_time(mix, down["n_L"], down["n_H"], down["T"], scheme)
    s = down["s"]
    ell0 = s * tau0
    Lx, t_end = (t_lengths + margin) * ell0, t_lengths * tau0
    inflow = tuple(Boundary("inflow", positive_maxwellian(g, up[f"n_{k}"], np.r_[up["u"], 0.0], up["T"], m))
                   for g, m, k in ((mix.gL, mix.m_L, "L"), (mix.gH, mix.m_H, "H")))
    sp = SpaceMixture(mix, nx, Lx, inflow, (Boundary("specular"), Boundary("specular")), 1.0, scheme, comm,
                      positivity=True)
    fL, fH = sp.maxwellians((up["n_L"], up["n_H"]), (up["u"], up["u"]), (up["T"], up["T"]))
    r = evolve(sp, fL, fH, t_end, n_snap=6, progress=progress)
    prof = {k: comm.gather(r[k], root=0) for k in ("n_L", "n_H", "T_L", "T_H", "u_H")}
    fig = None
    if comm.rank == 0:
        x = (np.arange(nx) + 0.5) * sp.dx
        cat = {k: np.concatenate(v, axis=1) for k, v in prof.items()}
        rho = mix.m_L * cat["n_L"] + mix.m_H * cat["n_H"]
        rho1, rho2 = (mix.m_L * st["n_L"] + mix.m_H * st["n_H"] for st in (up, down))
        xs = [shock_position(x, rho[i], rho1, rho2) for i in range(1, len(r["t"]))]
        ells = [decay_length(x, cat["T_H"][i] - cat["T_L"][i], xs[i - 1]) for i in (-2, -1)]
        s_meas = (xs[-3] - xs[-1]) / (r["t"][-1] - r["t"][-3])
        fig = {"ell": ells[-1], "ell_prev": ells[0], "tau": ells[-1] / s, "tau0": tau0, "s": s, "s_meas": s_meas,
               "x_shock": xs[-1], "peak_dT": float(np.abs(cat["T_H"][-1] - cat["T_L"][-1]).max()),
               "x": x, "T_L": cat["T_L"][-1], "T_H": cat["T_H"][-1], "rho": rho[-1], "u_H": cat["u_H"][-1]}
    fig = comm.bcast(fig, root=0)
    fig.update(mass_ratio=mass_ratio, nx=nx, dx=sp.dx, ell0=ell0, cells_per_ell0=ell0 / sp.dx, steps=r["steps"],
               dt=r["dt"], fmin=r["fmin"], wall=r["wall"], up=up, down=down, Lx=Lx, t_end=t_end)
    return fig
