"""``validate boltzmann_space``: the space-dependent mixture against exact references.

- uniform data: every cell reproduces the homogeneous solver (:class:`.ap_scheme.Mixture`);
- collisionless free streaming of a smooth periodic profile against the exact ``f(x - v_1 t, v)``:
  observed order 2 in x (L1, cell averages);
- periodic box with collisions: mass of each species, total momentum and energy to rounding, without
  and with the positivity fix of :mod:`.positivity` (then ``f >= 0`` throughout);
- positivity of the transport (Riemann data, walls) and mass conservation at specular and diffuse walls;
- the CFL step is stable for every Kn and mass ratio (no Kn, no ε in dt);
- temperature relaxation in a flow (the tail behind a shock, :func:`.shock_layer.advected_relaxation`) at
  m_H/m_L = 100 and 1000: the decay time of ``T_L - T_H`` along the flow is the homogeneous solver's
  equalisation time ``τ_0`` within the two-temperature model's bracket ``[τ_0, τ_0 (1 + n_H/n_L)]``;
- the frame-aligned reconstruction of :mod:`.transport` (``aligned``): the same properties (uniform data,
  order 2, conservation, positivity), and a collisionless heavy beam whose mean velocity changes by its
  thermal speed over a cell (:func:`sheared_beam_errors`) against its exact solution;
- the relaxation zone behind a light shock crossed by a heavy trace (:mod:`.trace_shock`, m_H/m_L = 100): the
  slip decays on the homogeneous time scale, and the slip and ``T_H - T_L`` follow a Langevin (particle)
  solution of the heavy's kinetic equation in the light bath (4 cells per ``ℓ_0``; and 2 with the heavy's
  transport frame-aligned).
"""
from __future__ import annotations

import math

import numpy as np
from mpi4py import MPI

from ..parallel import rprint
from ..registry import CheckResult, check
from . import moments as mo
from .ap_scheme import Mixture, MixtureParams, initial_data, reference_temperatures
from .positivity import positive_maxwellian, positive_part
from .space import SpaceMixture
from .transport import Boundary, maxwellian_wall, transport_velocity


def uniform_vs_homogeneous(comm, n: int = 16, nx: int = 6, steps: int = 4, mass_ratio: float = 100.0,
                           scheme: str = "ap2", Kn: float = 0.5, positivity: bool = False,
                           aligned: bool = False) -> float:
    """Largest relative difference between the cells of a periodic run with uniform (bimodal,
    far-from-equilibrium) data and the homogeneous solver with the step ``dt/Kn`` (followed by the
    same positivity fix, :func:`.positivity.positive_part`, if ``positivity``)."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio), T_ref=reference_temperatures(1, 1, 1.5, 0.5))
    fL0, fH0 = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0.0, 0.0], [0.0, 0.0])
    sp = SpaceMixture(mix, nx, 1.0, None, None, Kn, scheme, comm, positivity=positivity, aligned=(aligned, aligned))
    fL, fH = np.repeat(fL0[None], sp.nloc, 0), np.repeat(fH0[None], sp.nloc, 0)
    hL, hH = fL0, fH0
    for _ in range(steps):
        fL, fH = sp.step(fL, fH, sp.dt)
        hL, hH = mix.step(scheme, hL, hH, sp.dt / Kn)
        if positivity:
            hL, hH = positive_part(mix.gL, hL, mix.m_L)[0], positive_part(mix.gH, hH, mix.m_H)[0]
    err = max(np.abs(fL - hL).max() / np.abs(hL).max(), np.abs(fH - hH).max() / np.abs(hH).max())
    return float(comm.allreduce(err, op=MPI.MAX))


def free_streaming_errors(comm, sizes=(32, 64, 128, 256), n: int = 8, t_end: float = 0.25,
                          aligned: bool = False) -> list[float]:
    """Relative L1 errors (x and v) of collisionless transport of ``(1 + a sin 2πx) M(v)`` (both
    species) against the exact cell averages of ``f(x - v_1 t, v)`` at ``t_end``, for ``n_x`` in ``sizes``."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=100.0))
    errs = []
    for nx in sizes:
        sp = SpaceMixture(mix, nx, 1.0, None, None, math.inf, comm=comm, aligned=(aligned, aligned))
        k = 2 * math.pi
        damp = math.sin(k * sp.dx / 2) / (k * sp.dx / 2)          # cell average of sin
        prof = 1 + 0.5 * damp * np.sin(k * sp.x)
        fL, fH = sp.maxwellians((prof, prof), (0.0, 0.0), (1.0, 1.0))
        M = (fL[0] / prof[0], fH[0] / prof[0])
        steps = math.ceil(t_end / sp.dt)
        for _ in range(steps):
            fL, fH = sp.step(fL, fH, t_end / steps)
        num = den = 0.0
        for f, g, Mi in ((fL, mix.gL, M[0]), (fH, mix.gH, M[1])):
            ex = (1 + 0.5 * damp * np.sin(k * (sp.x[:, None, None] - transport_velocity(g) * t_end))) * Mi
            num += np.abs(f - ex).sum() * g.vol
            den += np.abs(ex).sum() * g.vol
        num, den = comm.allreduce(num, op=MPI.SUM), comm.allreduce(den, op=MPI.SUM)
        errs.append(num / den)
    return errs


def sheared_beam_errors(comm, nx: int = 16, aligned: bool = False, n: int = 32, mass_ratio: float = 100.0,
                        U: float = 2.0, A: float = 0.3, t_end: float = 0.15, gauss: int = 16) -> dict:
    """Collisionless transport of the heavy species with a mean velocity varying in x, ``f(0, x, v) = M(v; U + A
    sin 2πx, T = 1)`` (periodic, box centred at ``U``), against the exact cell averages of ``f(0, x - v_1 t, v)``
    (Gauss-Legendre in every cell): relative L1 error of ``f`` and the largest error of the cells' temperature.
    With ``dx ∂_x u`` near the thermal speed (``nx = 16``: 1.2 σ) the fixed-frame MUSCL heats the beam (module
    :mod:`.transport`); ``aligned`` the frame-aligned reconstruction."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio, Lhat=5.0),
                  T_ref=(1.0, ((A + 4.0 / math.sqrt(mass_ratio)) / 5.0) ** 2 * mass_ratio * 1.1), centers=(0.0, U))
    sp = SpaceMixture(mix, nx, 1.0, None, None, math.inf, comm=comm, aligned=(False, aligned))
    g, m = mix.gH, mix.m_H
    xg, wg = np.polynomial.legendre.leggauss(gauss)

    def cell_average(t: float) -> np.ndarray:
        out = np.zeros((sp.nloc,) + g.shape)
        for xq, wq in zip(xg, wg):
            x = sp.x[:, None, None] + 0.5 * sp.dx * xq - g.v[0] * t
            u = U + A * np.sin(2 * math.pi * x)
            out += 0.5 * wq * m / (2 * math.pi) * np.exp(-0.5 * m * ((g.v[0] - u) ** 2 + g.v[1] ** 2))
        return out

    fL = np.zeros((sp.nloc,) + mix.gL.shape)
    fH = cell_average(0.0)
    steps = math.ceil(t_end / sp.dt)
    for _ in range(steps):
        fL, fH = sp.step(fL, fH, t_end / steps)
    ex = cell_average(t_end)
    err = comm.allreduce(np.abs(fH - ex).sum(), op=MPI.SUM) / comm.allreduce(np.abs(ex).sum(), op=MPI.SUM)
    T = [mo.temperature(g, f, m, mo.velocity(g, f)) for f in (fH, ex)]
    return {"f": float(err), "T": float(comm.allreduce(np.abs(T[0] - T[1]).max(), op=MPI.MAX)),
            "fmin": float(comm.allreduce(fH.min(), op=MPI.MIN) / comm.allreduce(fH.max(), op=MPI.MAX))}


def periodic_conservation(comm, n: int = 16, nx: int = 16, t_end: float = 0.5, mass_ratio: float = 100.0,
                          Kn: float = 0.05, positivity: bool = False, aligned: bool = False) -> dict:
    """Totals drift of a periodic box with a temperature and density wave, collisions on; ``fmin``: the
    smallest min f / max f over the run (>= 0 with the positivity fix)."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio), T_ref=(1.3, 1.3))
    sp = SpaceMixture(mix, nx, 1.0, None, None, Kn, "ap2", comm, positivity=positivity, aligned=(aligned, aligned))
    w = 1 + 0.2 * np.sin(2 * math.pi * sp.x)
    fL, fH = sp.maxwellians((w, 2 - w), (0.1 * w, 0.0), (w, 1.0 / w))
    a, fmin = sp.totals(fL, fH), sp.min_value(fL, fH)
    for _ in range(math.ceil(t_end / sp.dt)):
        fL, fH = sp.step(fL, fH, sp.dt)
        fmin = min(fmin, sp.min_value(fL, fH))
    b = sp.totals(fL, fH)
    scale_p = math.sqrt(2 * (a["mass_L"] + mass_ratio * a["mass_H"]) * a["energy"])
    return {"mass_L": abs(b["mass_L"] / a["mass_L"] - 1), "mass_H": abs(b["mass_H"] / a["mass_H"] - 1),
            "momentum": abs(b["momentum"] - a["momentum"]) / scale_p, "energy": abs(b["energy"] / a["energy"] - 1),
            "fmin": fmin}


def walls_positivity(comm, n: int = 12, nx: int = 24, t_end: float = 1.0, aligned: bool = False) -> dict:
    """Collisionless Riemann data between a specular (left) and a hot diffuse (right) wall: min f / max f
    over the run (>= 0: the limiter) and the drift of each species' mass (both walls are closed)."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=100.0), T_ref=(2.0, 2.0))
    walls = tuple(Boundary("diffuse", maxwellian_wall(g, 2.0, m)) for g, m in ((mix.gL, 1.0), (mix.gH, 100.0)))
    sp = SpaceMixture(mix, nx, 1.0, (Boundary("specular"), Boundary("specular")), walls, math.inf, comm=comm,
                      aligned=(aligned, aligned))
    left = sp.x < 0.5
    fL, fH = sp.maxwellians((np.where(left, 1.0, 0.125),) * 2, (0.0, 0.0), (np.where(left, 1.0, 0.8),) * 2)
    a, fmin = sp.totals(fL, fH), sp.min_value(fL, fH)
    for _ in range(math.ceil(t_end / sp.dt)):
        fL, fH = sp.step(fL, fH, sp.dt)
        fmin = min(fmin, sp.min_value(fL, fH))
    b = sp.totals(fL, fH)
    return {"fmin": fmin, "mass_L": abs(b["mass_L"] / a["mass_L"] - 1), "mass_H": abs(b["mass_H"] / a["mass_H"] - 1)}


def cfl_step_any_kn(comm, n: int = 16, nx: int = 8, steps: int = 10) -> list[tuple]:
    """The same CFL step for Kn from 1 to 1e-6 and m_H/m_L = 1e2, 1e4 (dt/Kn up to ~1e4), temperature
    wave ``T_i (1 + 0.1 sin 2πx)``, ``T_L = 1.2``, ``T_H = 0.8``: rows ``(mass_ratio, Kn, dt, finite,
    max |T_L - T_H|)`` after ``steps`` steps (``|T_L - T_H| = 0.4`` at t = 0)."""
    rows = []
    for mr in (1e2, 1e4):
        mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mr), T_ref=(1.35, 1.05))
        for Kn in (1.0, 1e-2, 1e-4, 1e-6):
            sp = SpaceMixture(mix, nx, 1.0, None, None, Kn, "ap2", comm)
            w = 1 + 0.1 * np.sin(2 * math.pi * sp.x)
            fL, fH = sp.maxwellians((1.0, 1.0), (0.0, 0.0), (1.2 * w, 0.8 * w))
            for _ in range(steps):
                fL, fH = sp.step(fL, fH, sp.dt)
            m = sp.cell_moments(fL, fH)
            ok = bool(comm.allreduce(bool(np.isfinite(fL).all() and np.isfinite(fH).all()), op=MPI.LAND))
            dT = comm.allreduce(float(np.abs(m["T_L"] - m["T_H"]).max()), op=MPI.MAX)
            rows.append((mr, Kn, sp.dt, ok, dT))
    return rows


@check("boltzmann_space", doc="space-dependent mixture: uniform = homogeneous, free-streaming order 2, "
                              "conservation, positivity, walls, CFL-only dt, Sod -> Euler, relaxation in a flow = "
                              "homogeneous time")
def validate_boltzmann_space(comm, plots: str | None = None) -> list[CheckResult]:
    res: list[CheckResult] = []
    for scheme, pos in (("ap", False), ("ap2", False), ("ap2", True)):
        e = uniform_vs_homogeneous(comm, scheme=scheme, positivity=pos)
        name = f"uniform-{scheme}" + ("-positivity" if pos else "")
        rprint(f"uniform data vs homogeneous solver ({scheme}{', positivity fix on both' if pos else ''}): "
               f"max relative difference {e:.2e}", comm=comm)
        res.append(CheckResult(name, "max |f_cell - f_hom| / max f_hom", e, "<= 1e-12", e <= 1e-12))
    sizes = (32, 64, 128, 256)
    errs = free_streaming_errors(comm, sizes)
    orders = [math.log2(a / b) for a, b in zip(errs, errs[1:])]
    rprint("free streaming (Kn = inf) vs exact f(x - v1 t, v), L1: " + ", ".join(
        f"nx={n}: {e:.3e}" for n, e in zip(sizes, errs)) + "; orders " + ", ".join(f"{o:.2f}" for o in orders),
        comm=comm)
    res.append(CheckResult("free-streaming-order", f"observed order nx={sizes[-2]}->{sizes[-1]}", orders[-1],
                           ">= 1.9", orders[-1] >= 1.9))
    res += aligned_checks(comm)
    for pos in (False, True):
        c = periodic_conservation(comm, positivity=pos)
        fmin = c.pop("fmin")
        rprint(f"periodic box, m_H/m_L = 100, Kn = 0.05, positivity fix {'on' if pos else 'off'}: drift " + ", ".join(
            f"{k} {v:.1e}" for k, v in c.items()) + f"; min f / max f over the run {fmin:.2e}", comm=comm)
        worst = max(c.values())
        res.append(CheckResult("periodic-conservation" + ("-positivity" if pos else ""),
                               "max drift (masses, momentum, energy)", worst, "<= 1e-13", worst <= 1e-13))
    res.append(CheckResult("collision-positivity", "min f / max f with collisions (positivity fix)", fmin, ">= 0",
                           fmin >= 0))
    w = walls_positivity(comm)
    rprint(f"walls (specular | diffuse T=2), Kn = inf: min f/max f {w['fmin']:.2e}, mass drift L {w['mass_L']:.1e}, "
           f"H {w['mass_H']:.1e}", comm=comm)
    res.append(CheckResult("transport-positivity", "min f / max f (Riemann data, walls)", w["fmin"], ">= 0",
                           w["fmin"] >= 0))
    res.append(CheckResult("wall-mass", "max mass drift (specular + diffuse walls)", max(w["mass_L"], w["mass_H"]),
                           "<= 1e-13", max(w["mass_L"], w["mass_H"]) <= 1e-13))
    rows = cfl_step_any_kn(comm)
    for mr, Kn, dt, ok, dT in rows:
        rprint(f"  m_H/m_L = {mr:g}, Kn = {Kn:g}: dt = {dt:.4g} (dt/Kn = {dt / Kn:.3g}), finite {ok}, "
               f"max|T_L - T_H| = {dT:.3e}", comm=comm)
    allok = all(r[3] for r in rows) and len({r[2] for r in rows if r[0] == rows[0][0]}) == 1
    res.append(CheckResult("cfl-dt-any-kn", "stable runs with the CFL dt, Kn = 1..1e-6, m_H/m_L = 1e2, 1e4",
                           float(sum(r[3] for r in rows)), f"= {len(rows)}", allok))
    res += sod_checks(comm)
    res += relaxation_checks(comm)
    res += trace_shock_checks(comm)
    res += trace_shock_checks(comm, cells=2.0, aligned=True)
    return res


def aligned_checks(comm, sizes=(16, 32, 64)) -> list[CheckResult]:
    """The frame-aligned reconstruction: free streaming order 2, and a sheared heavy beam (:func:`sheared_beam_errors`)
    against its exact solution, temperature error against the fixed frame's."""
    errs = free_streaming_errors(comm, (64, 128, 256), aligned=True)
    order = math.log2(errs[-2] / errs[-1])
    beam = [(sheared_beam_errors(comm, nx), sheared_beam_errors(comm, nx, aligned=True)) for nx in sizes]
    rprint("aligned reconstruction: free streaming L1 " + ", ".join(f"{e:.3e}" for e in errs) + f" (order {order:.2f}); "
           "sheared heavy beam, error of T (fixed, aligned): " + ", ".join(
               f"nx={n}: {a['T']:.3f}, {b['T']:.3f}" for n, (a, b) in zip(sizes, beam)), comm=comm)
    worst = max(b["T"] / a["T"] for a, b in beam)
    border = math.log2(beam[-2][1]["f"] / beam[-1][1]["f"])
    return [CheckResult("aligned-free-streaming-order", "observed order nx=128->256 (aligned)", order, ">= 1.9",
                        order >= 1.9),
            CheckResult("aligned-sheared-beam", "max over nx of T error aligned / fixed (sheared heavy beam)", worst,
                        "<= 0.55", worst <= 0.55),
            CheckResult("aligned-sheared-beam-order", f"observed L1 order nx={sizes[-2]}->{sizes[-1]} (aligned)", border,
                        ">= 1.9", border >= 1.9)]


def trace_shock_checks(comm, cells: float = 4.0, aligned: bool = False) -> list[CheckResult]:
    """The relaxation zone behind a light shock crossed by a heavy trace (:mod:`.trace_shock`, m_H/m_L = 100,
    ρ_H/ρ_L = 0.01, M = 1.5, N = 24, ``cells`` per ``ℓ_0``; ``aligned``: the heavy's transport frame-aligned, with 5 %
    for ``T_H - T_L``): the slip's decay time along the heavy's time against the homogeneous run's, and the slip and
    ``T_H - T_L`` against the Langevin reference over 1-4 ``τ_0``."""
    from .trace_shock import trace_shock_relaxation
    f = trace_shock_relaxation(comm, 100.0, cells, n=24, particles=50_000, aligned=aligned)
    tag, tol_tau, tol = ("-aligned", 0.03, 0.05) if aligned else ("", 0.02, 0.1)
    tau0, r = f["tau0"], f["tau_slip"] / f["tau_slip_hom"]
    rprint(f"heavy trace behind a light shock, m_H/m_L = 100, rho_H/rho_L = 0.01, M = 1.5, N = 24, {cells:g} cells per "
           f"l0{', heavy frame-aligned' if aligned else ''}: T_2 - T_1 = {f['T2'] - 1:.3f} at the shock; slip decay time {f['tau_slip'] / tau0:.4f} tau0 (homogeneous "
           f"{f['tau_slip_hom'] / tau0:.4f}, Langevin {f['tau_slip_ref'] / tau0:.4f}; tau0 = {tau0:.4g}); largest "
           f"difference from the Langevin reference over 1-4 tau0: slip {f['gap_slip']:.2e} of u_1 - u_2, T_H - T_L "
           f"{f['gap_dT']:.2e} of T_2 - T_1; {f['steps']} steps", comm=comm)
    return [CheckResult(f"trace-shock-slip-100{tag}", "slip decay time behind the shock / homogeneous - 1", r - 1,
                        f"|.| <= {tol_tau:.0%}", abs(r - 1) <= tol_tau),
            CheckResult(f"trace-shock-langevin-slip-100{tag}", "max |slip - Langevin| / (u_1 - u_2), 1-4 tau0",
                        f["gap_slip"], "<= 2%", f["gap_slip"] <= 0.02),
            CheckResult(f"trace-shock-langevin-dT-100{tag}", "max |dT - Langevin| / (T_2 - T_1), 1-4 tau0", f["gap_dT"],
                        f"<= {tol:.0%}", f["gap_dT"] <= tol)]


def relaxation_checks(comm, drift: float = 40.0, cells: float = 4.0) -> list[CheckResult]:
    """The advected temperature relaxation (:func:`.shock_layer.advected_relaxation`, N = 16, velocity boxes
    centred at the flow, ``drift`` heavy thermal speeds, ``cells`` cells per ``ℓ_0``) at m_H/m_L = 100 and 1000:
    ``τ/τ_0`` over the first two e-folds within the bracket ``[1, 1 + n_H/n_L]`` (``n_H/n_L = 0.05``), with 1 %
    allowed below it (the fit)."""
    from .shock_layer import advected_relaxation
    res = []
    for mr in (100.0, 1000.0):
        f = advected_relaxation(comm, mr, cells, drift=drift, lengths=8.0, t_lengths=12.0, ell_guess=1.05)
        r, hi = f["tau_head"] / f["tau0"], 1 + f["n_H_over_n_L"]
        rprint(f"advected temperature relaxation, m_H/m_L = {mr:g}, drift {drift:g} heavy thermal speeds, N = 16, "
               f"{cells:g} cells per l0: tau/tau0 = {r:.4f} over [0.5, 2.5] l0 (tau0 = {f['tau0']:.4g} from the "
               f"homogeneous solver; bracket [1, {hi:g}]), {f['steps']} steps", comm=comm)
        res.append(CheckResult(f"relaxation-tau-{mr:g}", f"tau/tau0 behind the inflow, m_H/m_L = {mr:g}", r,
                               f"in [0.99, {hi:g}]", 0.99 <= r <= hi))
    return res


def sod_checks(comm, nx: int = 50, n: int = 12) -> list[CheckResult]:
    """Sod's tube, one gas in two labels: the errors against the exact Euler solution fall as Kn
    decreases (same dx, dt), and, at the smallest Kn, as dx is halved."""
    Kns = (1e-1, 1e-2, 1e-3, 1e-4)
    sod = sod_errors(comm, Kns, nx=nx, n=n)
    coarse = sod_errors(comm, (Kns[-1],), nx=nx // 2, n=n)[Kns[-1]]
    rprint(f"Sod tube, m_H/m_L = 1 (two labels), full_ap2, 2D N = {n}, relative L1 vs exact Euler (gamma = 2), "
           f"t = 0.15:", comm=comm)
    for Kn, e in sod.items():
        rprint(f"  nx = {nx}, Kn = {Kn:g}: dt = {e['dt']:.3g} (dt/Kn = {e['dt'] / Kn:.3g}), rho {e['rho']:.3e}, "
               f"u {e['u']:.3e}, p {e['p']:.3e}", comm=comm)
    rprint(f"  nx = {nx // 2}, Kn = {Kns[-1]:g}: rho {coarse['rho']:.3e}, u {coarse['u']:.3e}, p {coarse['p']:.3e}",
           comm=comm)
    res = []
    for q in ("u", "p"):
        e = [sod[k][q] for k in Kns]
        ratio = e[-1] / e[0]
        res.append(CheckResult(f"sod-kn-{q}", f"{q} error Kn=1e-4 / Kn=0.1 (nx={nx}), decreasing in Kn", ratio,
                               "< 0.5, monotone", ratio < 0.5 and all(a > b for a, b in zip(e, e[1:]))))
    r = sod[Kns[-1]]["rho"] / sod[Kns[0]]["rho"]
    res.append(CheckResult("sod-kn-rho", f"rho error Kn=1e-4 / Kn=0.1 (nx={nx})", r, "< 1", r < 1))
    worst = max(sod[Kns[-1]][q] / coarse[q] for q in ("rho", "u", "p"))
    res.append(CheckResult("sod-dx", f"max error ratio nx={nx} / nx={nx // 2} at Kn=1e-4 (rho, u, p)", worst,
                           "< 1", worst < 1))
    return res


def sod_errors(comm, Kns=(1e-2, 1e-3, 1e-4), nx: int = 100, n: int = 16, t_end: float = 0.15,
               positivity: bool = False) -> dict:
    """Sod's tube (ρ, u, p) = (1, 0, 1) | (0.125, 0, 0.1) for one gas split into two labels (mass ratio 1,
    full cross operators, ``full_ap2``), inflow ends: relative L1 errors of ρ, u and p against the exact
    Euler solution (``γ = (d+2)/d``) at ``t_end``, per Kn, at one ``dx`` and ``dt`` for every Kn."""
    from . import moments as mo
    from .riemann import sample
    left, right = (1.0, 0.0, 1.0), (0.125, 0.0, 0.1)
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=1.0, Lhat=5.0), full_cross=True, T_ref=(1.0, 1.0))
    g = mix.gL
    gamma = (g.dim + 2) / g.dim
    out = {}
    for Kn in Kns:
        ends = []
        for rho, u, p in (left, right):
            M = positive_maxwellian(g, 0.5 * rho, np.r_[u, np.zeros(g.dim - 1)], p / rho)
            ends.append((Boundary("inflow", M), Boundary("inflow", M)))
        sp = SpaceMixture(mix, nx, 1.0, ends[0], ends[1], Kn, "full_ap2", comm, positivity=positivity)
        lo = sp.x < 0.5
        rho0, T0 = np.where(lo, left[0], right[0]), np.where(lo, left[2] / left[0], right[2] / right[0])
        fL, fH = sp.maxwellians((0.5 * rho0, 0.5 * rho0), (0.0, 0.0), (T0, T0))
        steps = math.ceil(t_end / sp.dt)
        for _ in range(steps):
            fL, fH = sp.step(fL, fH, t_end / steps)
        f = fL + fH
        rho, u = mo.density(g, f), mo.velocity(g, f)[:, 0]
        p = rho * mo.temperature(g, f)
        ex = sample(left, right, gamma, (sp.x - 0.5) / t_end)
        err = [comm.allreduce(float(np.abs(a - b).sum()), op=MPI.SUM) / comm.allreduce(float(np.abs(b).sum()), op=MPI.SUM)
               for a, b in zip((rho, u, p), ex)]
        out[Kn] = {"rho": err[0], "u": err[1], "p": err[2], "dt": sp.dt, "steps": steps,
                   "profiles": {"x": sp.x, "rho": rho, "u": u, "p": p, "exact": ex}}
    return out
