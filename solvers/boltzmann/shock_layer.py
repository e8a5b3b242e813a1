"""Temperature relaxation behind a shock in a light/heavy mixture (issue 13, §6): the decay of
``T_H - T_L`` behind the shock, measured as a relaxation time and compared with the homogeneous
solver's temperature-equalisation time at the post-shock state.

Set-up: a shock between two inflow ends, no wall. The mixture seen as one monatomic gas (``ρ = m_L n_L
+ m_H n_H``, ``p = (n_L + n_H) T``, ``γ = (d+2)/d``) has a normal shock of Mach number ``M`` (Rankine-
Hugoniot, e.g. Landau & Lifshitz §89: compression ``r = (γ+1)M²/((γ-1)M²+2)``), upstream velocity
``u_1``, downstream ``u_2 = u_1/r`` in the shock frame. The run is in the frame moving at ``w = (u_1 +
u_2)/2``: the upstream state enters at the left end with ``+(u_1 - u_2)/2``, the downstream state at the
right end with ``-(u_1 - u_2)/2`` (ghost cells hold their Maxwellians), the initial data are the two
states with a step at ``x_0``, and the shock runs to the left at ``w``. In the shock's own frame the heavy
species moves at ~10 of its thermal speeds (``u_1 sqrt(m_H/T) ≈ M sqrt(γ n/n_H)``), which no centred box
of ``N = 16`` points holds; in this frame it drifts by ``±(u_1 - u_2)/2``, 1.6-1.8 of its upstream thermal
speeds at ``M = 1.5``, ``n_H/n_L = 0.05``. The gas behind the shock moves away from it at ``u_2``, so a
parcel a distance ``ξ`` behind it was shocked ``ξ/u_2`` ago and a decay length ``ℓ`` of ``T_H - T_L`` in
``ξ`` is the relaxation time ``τ = ℓ/u_2``. Kn = 1 (x in units of the mean free path scale); domain and
time are set in ``ℓ_0 = u_2 τ_0`` and ``τ_0``, the homogeneous equalisation time at the post-shock state
(:func:`homogeneous_time`, drifting with the downstream gas), so one number of cells per ``ℓ_0`` is the
same resolution at every mass ratio. Only gas shocked after the start (``ξ < u_2 t``) is in the fit.

Expected (two-temperature model of the tail, heavy advected, light advected and conducting, linear about
the post-shock state): the decay rate ``k`` solves ``(u_2 + χk)(u_2 k - λ_H) = λ_H (n_H/n_L) u_2``,
``λ_H = 2ν_H`` the heavy's rate towards a fixed light temperature, ``χ`` the light's thermal diffusivity;
so ``τ = 1/(u_2 k)`` lies in ``[τ_0, τ_0 (1 + n_H/n_L)]`` (``τ_0 = 1/(λ_H (1 + n_H/n_L))``: no conduction;
the upper end: light temperature held by conduction). With a small heavy fraction the bracket is tight.

Measured (docs/boltzmann.md, "Temperature relaxation in a flow and behind a shock"): the tail without the
shock (:func:`advected_relaxation`, velocity boxes centred at the flow, open right end) converges to the
homogeneous time as the drift grows and dx falls, at m_H/m_L = 100 and 1000 (``τ/τ_0`` 1.003 and 1.013 at
80 heavy thermal speeds); with boxes centred at 0 the heavy could drift only 1.5-3 thermal speeds and its
own streaming made ``τ`` 1.3-2.7 ``τ_0``. The shock between two inflow ends forms, at the parameters
measured (M = 1.5-2, N = 16), no thin shock followed by a relaxation zone but a compression ~17-19 ``ℓ_0``
wide (in its own frame, long domains) in which the temperatures separate and then follow the compression; with
``n_H = n_L`` (M = 2, N = 24) a smooth ~10-``ℓ_0`` compression with a light precursor longer than 12 ``ℓ_0``.
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
    relative to it (towards -x), i.e. ``u_2`` of the shock frame (``u_1 = up["u"] + down["s"]``)."""
    g = (dim + 2) / dim
    rho, n = m_L * n_L + m_H * n_H, n_L + n_H
    u1 = mach * math.sqrt(g * n * T / rho)
    r = (g + 1) * mach ** 2 / ((g - 1) * mach ** 2 + 2)
    p2 = n * T * (1 + 2 * g / (g + 1) * (mach ** 2 - 1))
    up = {"n_L": n_L, "n_H": n_H, "u": u1 - u1 / r, "T": T}
    down = {"n_L": r * n_L, "n_H": r * n_H, "u": 0.0, "T": p2 / (r * n), "s": u1 / r}
    return up, down


def homogeneous_time(mix: Mixture, n_L: float, n_H: float, T: float, scheme: str = "ap2",
                     delta: float = 0.05, u: float = 0.0) -> float:
    """Temperature-equalisation time ``1/λ`` of the homogeneous solver at ``(n_L, n_H, T)``, both species
    drifting at ``u`` along ``v_1``: Maxwellian data ``T_L = T + δ n_H/n``, ``T_H = T - δ n_L/n`` (mean ``T``),
    ``dt = 0.05 / λ_est``, ``λ`` the least-squares decay rate of ``T_L - T_H`` from 0.5 to 0.05 of its
    initial value (:func:`.runs.decay_rate`)."""
    n = n_L + n_H
    TL, TH = T + delta * n_H / n, T - delta * n_L / n
    uv = np.r_[u, np.zeros(mix.p.dim - 1)]
    fL = mix.gL.maxwellian(n_L, uv, TL, mix.m_L)
    fH = mix.gH.maxwellian(n_H, uv, TH, mix.m_H)
    lam = 2 * asy.heavy_friction(mix.gL, fL, mix.mu, mix.m_L, TL, uv, mix.p.gamma, mix.b) * (1 + n_H / n_L)
    r = runs.run_mixture(mix, scheme, fL, fH, time_levels(4.0 / lam, 0.05 / lam))
    return 1.0 / runs.decay_rate(r["t"], r["T_L"] - r["T_H"], 0.5, 0.05)


def shock_position(x: np.ndarray, rho: np.ndarray, rho1: float, rho2: float) -> float:
    """Where the mass density crosses ``(ρ_1 + ρ_2)/2`` (first crossing from the upstream side, linear)."""
    mid = 0.5 * (rho1 + rho2)
    i = int(np.nonzero(rho >= mid)[0].min()) - 1
    return float(x[i] + (mid - rho[i]) / (rho[i + 1] - rho[i]) * (x[i + 1] - x[i]))


def rise_width(x: np.ndarray, rho: np.ndarray, rho1: float, rho2: float, lo: float = 0.1, hi: float = 0.9
               ) -> float:
    """Distance over which ``ρ`` rises from ``ρ_1 + lo (ρ_2 - ρ_1)`` to ``ρ_1 + hi (ρ_2 - ρ_1)`` (first crossings
    from the upstream side, linear between points): the thickness of the compression; NaN if ``ρ`` does not
    reach the upper level in the domain."""
    if not (rho >= rho1 + hi * (rho2 - rho1)).any():
        return math.nan
    return shock_position(x, rho, rho1, rho1 + 2 * hi * (rho2 - rho1)) - \
        shock_position(x, rho, rho1, rho1 + 2 * lo * (rho2 - rho1))


def separation_peaks(xi: np.ndarray, d: np.ndarray) -> dict:
    """The largest ``T_L - T_H`` ahead of the shock (``ξ < 0``) and ``T_H - T_L`` behind it (``ξ > 0``), ``d = T_H - T_L``,
    and where they are: ``{"ahead": (value, ξ), "behind": (value, ξ)}``."""
    out = {}
    for side, sel, sign in (("ahead", xi < 0, -1.0), ("behind", xi > 0, 1.0)):
        k = int(np.argmax(sign * d[sel]))
        out[side] = (float(sign * d[sel][k]), float(xi[sel][k]))
    return out


def tail_window(xi: np.ndarray, d: np.ndarray, xi_max: float, lo: float = 0.5, hi: float = 0.03
                ) -> tuple[float, float]:
    """The fit window ``[ξ_a, ξ_b]`` behind the shock: from the first point past the peak of ``|d|``
    (over ``0 < ξ <= ξ_max``) where ``|d|`` is below ``lo`` of the peak, to the last point before it falls
    below ``hi`` of the peak or ``ξ`` passes ``ξ_max``."""
    sel = (xi > 0) & (xi <= xi_max)
    xb, db = xi[sel], np.abs(d[sel])
    if not len(xb):
        return math.nan, math.nan
    k = int(db.argmax())
    r = db[k:] / db[k]
    if not (r <= lo).any():
        return math.nan, math.nan
    a = int(np.nonzero(r <= lo)[0][0])
    b = int(np.nonzero(r < hi)[0][0]) - 1 if (r < hi).any() else len(r) - 1
    return float(xb[k + a]), float(xb[k + b])


def decay_length(xi: np.ndarray, d: np.ndarray, window: tuple[float, float]) -> float:
    """Least-squares ``ℓ`` in ``|d| ~ exp(-ξ/ℓ)`` over the points of ``window``."""
    sel = (xi >= window[0]) & (xi <= window[1])
    if sel.sum() < 3:
        return math.nan
    return float(-1.0 / np.polyfit(xi[sel], np.log(np.abs(d[sel])), 1)[0])


def decay_length_offset(x: np.ndarray, d: np.ndarray, window: tuple[float, float]) -> tuple[float, float]:
    """Least-squares ``(ℓ, c)`` in ``d ~ A exp(-x/ℓ) + c`` over the points of ``window`` (a decay on top of a
    constant offset ``c``; :func:`scipy.optimize.curve_fit`)."""
    from scipy.optimize import curve_fit
    sel = (x >= window[0]) & (x <= window[1])
    xs, ds = x[sel], d[sel]
    p0 = (ds[0], (xs[-1] - xs[0]) / max(math.log(abs(ds[0] / ds[-1])), 1.0), 0.0)
    (_, ell, c), _ = curve_fit(lambda t, A, l, c: A * np.exp(-(t - xs[0]) / l) + c, xs, ds, p0=p0)
    return float(ell), float(c)


def shock_setup(comm, mass_ratio: float, cells: float, n_H: float = 0.05, mach: float = 1.5, n: int = 16,
                Lhat: float = 5.0, scheme: str = "ap2", t_lengths: float = 8.0, margin_up: float = 3.0,
                margin_down: float = 2.0, box: float = 1.2, positivity: bool = False, frame: str = "mid",
                right: str = "inflow", box_H: float | None = None, aligned: bool = False) -> tuple[SpaceMixture, np.ndarray, np.ndarray, dict]:
    """The solver and initial data of the module docstring's set-up at ``m_H/m_L = mass_ratio``, upstream
    ``n_L = 1``, ``n_H``, ``T = 1``, ``cells`` cells per ``ℓ_0``, for a run to ``t_lengths τ_0``: the domain
    holds the shock's travel plus ``margin_up`` ``ℓ_0`` ahead of it and ``margin_down`` behind the step;
    velocity boxes scaled to ``box T_2``. ``frame = "shock"``: the run in the shock's own frame instead (upstream
    let in at ``u_1``, downstream at ``u_2``, both velocity boxes centred at ``(u_1 + u_2)/2``, the shock standing at
    ``margin_up ℓ_0``; no travel to hold, so long runs need no longer domain). ``right = "outflow"``: the end
    behind the shock open (zero-gradient ghosts) instead of letting the downstream state in. Returns ``(sp, f_L,
    f_H, info)``; ``aligned``: the heavy's transport frame-aligned (:mod:`.transport`); ``box_H``: the heavy box scaled to ``box_H T_2`` instead (:func:`.trace_shock.heavy_box`), ``info`` the states, ``τ_0``, ``ℓ_0``, ``u_2``, ``w`` (the shock's speed in the frame of the run)
    and ``t_end``. Collective."""
    if right not in ("inflow", "outflow"):
        raise ValueError(f"right end must be 'inflow' or 'outflow', got {right!r}")
    p = MixtureParams(dim=2, n=n, Lhat=Lhat, mass_ratio=mass_ratio)
    up, down = rankine_hugoniot(mach, 1.0, n_H, 1.0, 1.0, mass_ratio, p.dim)
    u2, slip = down["s"], up["u"]
    mid = u2 + 0.5 * slip                             # (u_1 + u_2)/2 in the shock frame
    T_box = box * down["T"]
    if frame == "mid":                                # the shock runs to the left at w = mid
        w, u_in, centers = mid, {"left": 0.5 * slip, "right": -0.5 * slip}, (0.0, 0.0)
    elif frame == "shock":                            # the shock stands still, the boxes are centred at mid
        w, u_in, centers = 0.0, {"left": u2 + slip, "right": u2}, (mid, mid)
    else:
        raise ValueError(f"frame must be 'mid' or 'shock', got {frame!r}")
    mix = Mixture(p, T_ref=(T_box, T_box if box_H is None else box_H * down["T"]), centers=centers)
    tau0 = homogeneous_time(mix, down["n_L"], down["n_H"], down["T"], scheme, u=u_in["right"])
    ell0 = u2 * tau0
    t_end = t_lengths * tau0
    x0 = w * t_end + margin_up * ell0
    Lx = x0 + margin_down * ell0
    nx = math.ceil(cells * Lx / ell0)
    states = {"left": up, "right": down}
    ends = [tuple(Boundary("inflow", positive_maxwellian(g, states[side][f"n_{k}"], np.r_[u_in[side], 0.0],
                                                         states[side]["T"], m))
                  for g, m, k in ((mix.gL, mix.m_L, "L"), (mix.gH, mix.m_H, "H"))) for side in ("left", "right")]
    if right == "outflow":
        ends[1] = (Boundary("outflow"), Boundary("outflow"))
    sp = SpaceMixture(mix, nx, Lx, ends[0], ends[1], 1.0, scheme, comm, positivity=positivity,
                      aligned=(False, aligned))
    left = sp.x < x0
    val = {k: np.where(left, up[k], down[k]) for k in ("n_L", "n_H", "T")}
    u = np.where(left, u_in["left"], u_in["right"])
    fL, fH = sp.maxwellians((val["n_L"], val["n_H"]), (u, u), (val["T"], val["T"]))
    info = {"up": up, "down": down, "u2": u2, "w": w, "u_down": u_in["right"], "tau0": tau0, "ell0": ell0,
            "t_end": t_end, "Lx": Lx, "nx": nx, "x0": x0}
    return sp, fL, fH, info


def shock_relaxation(comm, mass_ratio: float, cells: float, n_snap: int = 41, progress=None, **kw) -> dict:
    """:func:`shock_setup` (``kw``) run to ``t_end``: the decay length ``ℓ`` of ``T_H - T_L`` behind the shock
    at ``t_end`` and, over the same window, at ``0.8 t_end`` (steadiness), ``τ = ℓ/u_2`` against ``τ_0``, the
    shock speed. Collective; the moment profiles are gathered on rank 0 for the fit (``n_x`` numbers each)
    and the figures broadcast."""
    sp, fL, fH, info = shock_setup(comm, mass_ratio, cells, **kw)
    mix, nx, up, down = sp.mix, sp.nx, info["up"], info["down"]
    u2, w, tau0, ell0, t_end = info["u2"], info["w"], info["tau0"], info["ell0"], info["t_end"]
    n_H = up["n_H"]
    r = evolve(sp, fL, fH, t_end, n_snap=n_snap, progress=progress)
    prof = {k: comm.gather(r[k], root=0) for k in ("n_L", "n_H", "T_L", "T_H", "u_H", "u_L")}
    fig = None
    if comm.rank == 0:
        x = (np.arange(nx) + 0.5) * sp.dx
        cat = {k: np.concatenate(v, axis=1) for k, v in prof.items()}
        rho = mix.m_L * cat["n_L"] + mix.m_H * cat["n_H"]
        rho1, rho2 = (mix.m_L * st["n_L"] + mix.m_H * st["n_H"] for st in (up, down))
        xs = [shock_position(x, rho[i], rho1, rho2) for i in range(len(r["t"]))]
        dT = cat["T_H"] - cat["T_L"]
        j = int(np.argmin(np.abs(r["t"] - 0.8 * r["t"][-1])))     # the snapshot nearest 0.8 t_end
        t_prev = r["t"][j]
        xi = {i: x - xs[i] for i in (j, -1)}
        window = tail_window(xi[-1], dT[-1], xi_max=u2 * t_prev - ell0)
        ells = [decay_length(xi[i], dT[i], window) for i in (j, -1)]
        s_meas = (xs[-3] - xs[-1]) / (r["t"][-1] - r["t"][-3])
        far = xi[-1] > u2 * r["t"][-1] + ell0          # initial downstream gas, never shocked
        fig = {"ell": ells[-1], "ell_prev": ells[0], "tau": ells[-1] / u2, "tau0": tau0, "u2": u2, "w": w,
               "s_meas": s_meas, "x_shock": xs[-1], "window": window,
               "width": rise_width(x, rho[-1], rho1, rho2), "width_prev": rise_width(x, rho[j], rho1, rho2),
               "peak_dT": float(np.abs(dT[-1][xi[-1] > -ell0]).max()), "separation": separation_peaks(xi[-1], dT[-1]),
               "floor_dT": float(np.abs(dT[-1][far]).max()) if far.any() else float("nan"),
               "x": x, "xi": xi[-1], "T_L": cat["T_L"][-1], "T_H": cat["T_H"][-1], "dT_prev": dT[j],
               "t_snap": r["t"], "x_shocks": np.array(xs),
               **{f"hist_{k}": v for k, v in cat.items()},
               "rho": rho[-1], "u_H": cat["u_H"][-1], "u_L": cat["u_L"][-1]}
    fig = comm.bcast(fig, root=0)
    fig.update(mass_ratio=mass_ratio, n_H_over_n_L=n_H, mach=kw.get("mach", 1.5), nx=nx, dx=sp.dx, ell0=ell0,
               cells_per_ell0=ell0 / sp.dx, steps=r["steps"], dt=r["dt"], fmin=r["fmin"], wall=r["wall"],
               up=up, down=down, Lx=info["Lx"], t_end=t_end, T2=down["T"],
               bracket=(tau0, tau0 * (1 + n_H)))
    return fig


def advected_relaxation(comm, mass_ratio: float, cells: float, n_H: float = 0.05, T: float = 1.0,
                        delta: float = 0.2, drift: float = 1.5, n: int = 16, Lhat: float = 5.0, scheme: str = "ap2",
                        lengths: float = 5.5, t_lengths: float = 8.0, margin: float = 1.5, ell_guess: float = 2.0,
                        moving_boxes: bool = True, right: str = "outflow", head: float = 2.5) -> dict:
    """The tail behind a shock without the shock: both species flow at ``u = drift sqrt(T/m_H)`` (``drift``
    heavy thermal speeds) through ``[0, lengths ℓ_0]``, ``ℓ_0 = u τ_0``; the left end lets in Maxwellians
    with ``T_L = T + δ n_H/n``, ``T_H = T - δ n_L/n`` (same density and pressure as the equilibrium at ``T``,
    which the right end lets in). The exchange conserves the mixture's pressure (equal heat capacities), so
    the flow stays uniform and the steady ``T_H - T_L`` decays like ``exp(-x/(u τ))``, ``τ`` in ``[τ_0,
    τ_0 (1 + n_H/n_L)]`` (two-temperature model of the module docstring; the light conducts). Initial data:
    that profile with ``ℓ = ell_guess ℓ_0``; run to ``t_lengths τ_0``; ``ℓ`` fitted (:func:`decay_length`) over
    ``[ℓ_0/2, ξ_b]``, ``ξ_b`` where ``|T_H - T_L|`` falls below 3 % of its inflow value or ``margin ℓ_0``
    before the right end (its conduction layer), at ``t_end`` and at ``0.75 t_end`` (steadiness); and ``ℓ`` of
    a decay on a constant offset over ``[ℓ_0/2, L_x - margin ℓ_0]`` (:func:`decay_length_offset`); and ``ℓ`` over the
    first two e-folds, ``[ℓ_0/2, head ℓ_0]`` (``ell_head``: the decay the inflow state starts; farther downstream
    the profile decays more slowly than any exponential — measured, cause not established: the flow departs
    from uniform by a few 1e-4 there, enough to drive ``T_L - T_H`` of that size by compression). The model
    treats the heavy as advected at ``u``; at small ``drift`` its own streaming (thermal spread ``u/drift``) adds
    a heavy conduction ``~ v_thH²/ν_H``, relative size ``~ 1/drift²``, and the light's conduction is of relative
    size ``χ/(u ℓ) ∝ 1/u² ∝ 1/drift²`` too (estimates from the model's rates; the measured excess falls more slowly):
``τ → τ_0`` as the drift grows.
    ``moving_boxes``: both velocity boxes centred at ``u`` (any drift; scaled to 1.2 of each species' inflow
    temperature); otherwise centred at 0, the heavy box scaled to hold ``drift + 4.5`` thermal speeds (drift 4
    at N = 16 blows up: measured). ``right``: ``"outflow"`` (zero-gradient open end) or ``"inflow"`` (the
    equilibrium at ``T`` let in: over-determines the subsonic flow, which then leaves the uniform state by a
    few per cent). Collective."""
    p = MixtureParams(dim=2, n=n, Lhat=Lhat, mass_ratio=mass_ratio)
    n_L, ntot = 1.0, 1.0 + n_H
    TL0, TH0 = T + delta * n_H / ntot, T - delta * n_L / ntot
    u = drift * math.sqrt(T / mass_ratio)
    if moving_boxes:
        mix = Mixture(p, T_ref=(1.2 * TL0, 1.2 * T), centers=(u, u))
    else:
        mix = Mixture(p, T_ref=(1.2 * TL0, T * max(1.2, ((drift + 4.5) / Lhat) ** 2)))   # heavy box: drift + 4.5 σ
    tau0 = homogeneous_time(mix, n_L, n_H, T, scheme, u=u)
    ell0 = u * tau0
    Lx = lengths * ell0
    nx = math.ceil(cells * lengths)
    uv = np.r_[u, 0.0]
    ends = [tuple(Boundary("inflow", positive_maxwellian(g, dens, uv, temp, m))
                  for g, m, dens, temp in ((mix.gL, mix.m_L, n_L, TL), (mix.gH, mix.m_H, n_H, TH)))
            for TL, TH in ((TL0, TH0), (T, T))]
    if right == "outflow":
        ends[1] = (Boundary("outflow"), Boundary("outflow"))
    elif right != "inflow":
        raise ValueError(f"right end must be 'outflow' or 'inflow', got {right!r}")
    sp = SpaceMixture(mix, nx, Lx, ends[0], ends[1], 1.0, scheme, comm)
    d0 = delta * np.exp(-sp.x / (ell_guess * ell0))
    fL, fH = sp.maxwellians((n_L, n_H), (u, u), (T + d0 * n_H / ntot, T - d0 * n_L / ntot))
    t_end = t_lengths * tau0
    r = evolve(sp, fL, fH, t_end, n_snap=5)
    prof = {k: comm.gather(r[k], root=0) for k in ("T_L", "T_H", "n_L", "n_H", "u_L", "u_H")}
    fig = None
    if comm.rank == 0:
        x = (np.arange(nx) + 0.5) * sp.dx
        cat = {k: np.concatenate(v, axis=1) for k, v in prof.items()}
        dT = cat["T_L"] - cat["T_H"]
        a, b = 0.5 * ell0, Lx - margin * ell0
        small = (x > a) & (np.abs(dT[-1]) < 0.03 * delta)
        window = (a, min(b, float(x[small].min())) if small.any() else b)
        ells = [decay_length(x, dT[i], window) for i in (-2, -1)]
        heads = [decay_length(x, dT[i], (a, head * ell0)) for i in (-2, -1)]
        ell_c, offset = decay_length_offset(x, dT[-1], (a, b))
        fig = {"ell": ells[-1], "ell_prev": ells[0], "window": window, "ell_offset": ell_c, "offset": offset,
               "ell_head": heads[-1], "ell_head_prev": heads[0],
               "x": x, "dT": dT[-1], "dT_prev": dT[-2],
               "flow_dev": float(max(np.abs(cat["n_H"][-1] / n_H - 1).max(), np.abs(cat["u_H"][-1] / u - 1).max(),
                                     np.abs(cat["n_L"][-1] / n_L - 1).max()))}
    fig = comm.bcast(fig, root=0)
    fig.update(mass_ratio=mass_ratio, n_H_over_n_L=n_H, delta=delta, drift=drift, n=n, moving_boxes=moving_boxes,
               right=right, u=u, tau0=tau0, ell0=ell0, tau=fig["ell"] / u, tau_head=fig["ell_head"] / u,
               tau_head_prev=fig["ell_head_prev"] / u,
               tau_prev=fig["ell_prev"] / u, nx=nx, dx=sp.dx, cells_per_ell0=ell0 / sp.dx, steps=r["steps"],
               dt=r["dt"], t_end=t_end, fmin=r["fmin"], wall=r["wall"], bracket=(tau0, tau0 * (1 + n_H)))
    return fig
