"""Registers the ``boltzmann_bkw`` and ``boltzmann_mixture`` case kinds and the ``boltzmann`` checks."""
from __future__ import annotations

import math
import numpy as np
from mpi4py import MPI

from ..case import Bool, CaseError, Choice, Float, Int, List, Table
from ..estimates import bkw_estimate, mixture_estimate, space_estimate
from ..registry import RunContext, runner
from ..result import Block, Result
from . import runs
from .ap_scheme import SCHEMES, Mixture, MixtureParams, reference_temperatures, time_levels
from .fast_spectral import SPHERE_AREA
from . import validation  # noqa: F401  (registers the checks)


def _progress(ctx: RunContext, total: int, desc: str):
    """A tqdm bar on rank 0 when interactive; returns (update, close)."""
    if ctx.quiet or ctx.comm.rank != 0:
        return None, lambda: None
    from tqdm import tqdm
    bar = tqdm(total=total, desc=desc, leave=False)
    return bar.update, bar.close


def _check_bkw(s: dict, path: str) -> None:
    t = s["time"]
    dim = s["velocity"]["dim"]
    from .bkw import t_min
    if t["t0"] is None:
        t["t0"] = 5.5 if dim == 3 else 1.0
    if t["t0"] < t_min(dim) - 1e-12:
        raise CaseError("time.t0", f"BKW solution is negative before t = {t_min(dim):.4f} in {dim}D, got {t['t0']}")
    if t["t_end"] is None:
        t["t_end"] = t["t0"] + 3.0
    if t["t_end"] <= t["t0"]:
        raise CaseError("time.t_end", f"must be > time.t0 = {t['t0']}, got {t['t_end']}")


BKW_SCHEMA = Table({
    "velocity": Table({
        "dim": Choice((2, 3), doc="velocity dimension"),
        "n": Int(min=4, even=True, doc="points per dimension N"),
        "R": Float(default=6.0, positive=True, doc="truncation radius; box L = (3+sqrt2) R / 4"),
        "n_rho": Int(default=0, min=0, doc="Gauss-Legendre radial points (0: N/2)"),
        "n_dir": Int(default=0, min=0, even=True,
                     doc="directions: 2D angles on the circle; 3D polar nodes (2 n_dir^2 on the sphere); 0: default"),
        "conservative": Bool(default=True, doc="project Q so mass, momentum, energy are exact"),
    }),
    "time": Table({
        "t0": Float(default=None, doc="start time (default 5.5 in 3D, 1 in 2D)"),
        "t_end": Float(default=None, doc="end time (default t0 + 3)"),
        "dt": Float(default=0.1, positive=True, doc="RK4 step"),
    }).optional(),
}, validate=_check_bkw, estimate=bkw_estimate)


@runner("boltzmann_bkw", BKW_SCHEMA, doc="single-species Boltzmann (Maxwell molecules), BKW exact solution, RK4")
def run_bkw(case, ctx: RunContext) -> Result:
    comm, vel, tm = ctx.comm, case["velocity"], case["time"]
    nsteps = len(time_levels(tm["t_end"] - tm["t0"], tm["dt"]))
    update, close = _progress(ctx, nsteps, "BKW")
    res = runs.bkw_evolution(vel["dim"], vel["n"], vel["R"], tm["t0"], tm["t_end"], tm["dt"],
                             n_rho=vel["n_rho"] or None, n_dir=vel["n_dir"] or None,
                             conservative=vel["conservative"], comm=comm, progress=update)
    close()
    op = runs.bkw_operator_error(vel["dim"], vel["n"], vel["R"], tm["t0"], vel["n_rho"] or None,
                                 vel["n_dir"] or None, comm=comm)
    summary = {"operator_error": op["error"], "max_error": float(res["error"].max()),
               "final_error": float(res["error"][-1]), "directions": op["M"], "n_rho": op["n_rho"],
               "mass_drift": float(abs(res["mass"][-1] / res["mass"][0] - 1)),
               "energy_drift": float(abs(res["energy"][-1] / res["energy"][0] - 1)),
               "entropy_increase": float(max(0.0, np.diff(res["H"]).max()))}
    res_ = Result(attrs=summary)
    res_.say(f"BKW {vel['dim']}D N={vel['n']} M={op['M']} directions, {op['n_rho']} radial points, R={vel['R']} "
             f"on {comm.size} rank(s)")
    res_.say(f"  |Q(f) - df/dt| / |df/dt| at t0={tm['t0']}: {op['error']:.3e}")
    res_.say(f"  RK4 dt={tm['dt']} t0..{tm['t_end']}: max relative error {summary['max_error']:.3e}, "
             f"final {summary['final_error']:.3e}; mass drift {summary['mass_drift']:.1e}, energy drift "
             f"{summary['energy_drift']:.1e}, max entropy increase {summary['entropy_increase']:.1e}")
    res_.arrays.update({"t": res["t"], "error": res["error"], "entropy": res["H"], "mass": res["mass"],
                        "energy": res["energy"], "f_final": res["f"], "f_exact": res["exact"], "v": res["v"]})
    return res_


def _check_mixture(s: dict, path: str) -> None:
    dim, sp, tm = s["velocity"]["dim"], s["species"], s["time"]
    for key in ("u_L", "u_H"):
        if sp[key] is not None and len(sp[key]) != dim:
            raise CaseError(f"species.{key}", f"must have {dim} entries (velocity.dim), got {len(sp[key])}")
    if tm["scheme"] == "explicit":
        r = math.sqrt(sp["mass_ratio"])
        if abs(r - round(r)) > 1e-9 * r:
            raise CaseError("species.mass_ratio", "the full (explicit) cross operator needs sqrt(mass_ratio) to be "
                                                  f"an integer (nested grids), got {sp['mass_ratio']}")
    if tm["dt_max"] is not None and tm["dt_max"] < tm["dt"]:
        raise CaseError("time.dt_max", f"must be >= time.dt = {tm['dt']}, got {tm['dt_max']}")
    if tm["dt"] > tm["t_end"]:
        raise CaseError("time.dt", f"must be <= time.t_end = {tm['t_end']}, got {tm['dt']}")


MIXTURE_SCHEMA = Table({
    "velocity": Table({
        "dim": Choice((2, 3), doc="velocity dimension"),
        "n": Int(default=24, min=4, even=True, doc="points per dimension, each species"),
        "Lhat": Float(default=6.0, positive=True,
                      doc="box half-width in thermal units: L_i = Lhat sqrt(T_i/m_i), T_i = max(T_i(0), T_eq)"),
    }),
    "kernel": Table({
        "gamma": Float(default=1.0, min=0.0, max=1.0, doc="B = b |q|^gamma (0 Maxwell molecules, 1 hard spheres)"),
        "b": Float(default=None, positive=True, doc="kernel constant (default 1/|S^{d-1}|, i.e. b0 - b1 = 1)"),
        "n_rho": Int(default=0, min=0, doc="radial points (0: N/2 self, max(N, rN/2) cross, r = sqrt(m_H/m_L))"),
        "n_dir": Int(default=0, min=0, even=True, doc="directions (as in boltzmann_bkw; 0: default)"),
    }).optional(),
    "species": Table({
        "mass_ratio": Float(positive=True, min=1.0, max=1e12,
                            doc="m_H / m_L (m_L = 1; epsilon = sqrt(m_L/m_H); at most 1e12: epsilon^2 = 1e-12 is near "
                                "the float64 resolution of the heavy/light scale split)"),
        "n_L": Float(default=1.0, positive=True, doc="light density"),
        "n_H": Float(default=1.0, positive=True, doc="heavy density"),
        "T_L": Float(default=1.5, positive=True, doc="light temperature"),
        "T_H": Float(default=0.5, positive=True, doc="heavy temperature"),
        "u_L": List(Float(), default=None, min_len=2, max_len=3, doc="light mean velocity (default 0)"),
        "u_H": List(Float(), default=None, min_len=2, max_len=3, doc="heavy mean velocity (default 0)"),
        "initial": Choice(("maxwellian", "bimodal"), default="bimodal",
                          doc="initial shape of each species (bimodal: far from equilibrium)"),
    }),
    "time": Table({
        "scheme": Choice(SCHEMES, default="ap", doc="ap (first-order IMEX penalised, asymptotic cross operators), ap2 (ARS(2,2,2)), "
                                                    "explicit (RK4, full cross), explicit_asymptotic (RK4)"),
        "t_end": Float(positive=True, doc="final time (units of the light-light collision time)"),
        "dt": Float(positive=True, doc="first time step"),
        "dt_growth": Float(default=1.0, min=1.0, doc="dt_{n+1} = dt_growth * dt_n (log-spaced epochs)"),
        "dt_max": Float(default=None, positive=True, doc="largest time step (default unlimited)"),
        "snapshots": Int(default=8, min=0, doc="number of f snapshots stored"),
    }),
}, validate=_check_mixture, estimate=mixture_estimate)


@runner("boltzmann_mixture", MIXTURE_SCHEMA, doc="light/heavy Boltzmann mixture: AP scheme or full explicit")
def run_mixture(case, ctx: RunContext) -> Result:
    comm, vel, ker, sp, tm = ctx.comm, case["velocity"], case["kernel"], case["species"], case["time"]
    p = MixtureParams(dim=vel["dim"], n=vel["n"], Lhat=vel["Lhat"], mass_ratio=sp["mass_ratio"],
                      gamma=ker["gamma"], b=ker["b"], n_rho=ker["n_rho"] or None, n_dir=ker["n_dir"] or None)
    mix = Mixture(p, comm=comm, full_cross=tm["scheme"] == "explicit",
                  T_ref=reference_temperatures(sp["n_L"], sp["n_H"], sp["T_L"], sp["T_H"]))
    fL, fH = runs.mixture_initial(mix, sp)
    ts = time_levels(tm["t_end"], tm["dt"], tm["dt_growth"], tm["dt_max"])
    update, close = _progress(ctx, len(ts) - 1, tm["scheme"])
    res = runs.run_mixture(mix, tm["scheme"], fL, fH, ts, n_snap=tm["snapshots"], progress=update)
    close()
    ep = runs.epochs(res)
    e = p.eps
    b = mix.b * SPHERE_AREA[p.dim]
    summary = {"eps": e, "blew_up": res["blew_up"], "t_reached": float(res["t"][-1]), "steps": len(res["t"]) - 1,
               "wall_time": res["wall"], **ep,
               "energy_drift": float(abs(res["energy"][-1] / res["energy"][0] - 1)),
               "lambda_T_exact_maxwell": runs.exact_rate(mix.m_L, mix.m_H, sp["n_L"], sp["n_H"], b)}
    out = Result(attrs=summary)
    out.say(f"mixture {p.dim}D N={p.n}, m_H/m_L = {p.mass_ratio:g} (eps = {p.eps:.4g}), gamma = {p.gamma:g}, "
            f"scheme {tm['scheme']}, {len(ts) - 1} steps to t = {tm['t_end']:g}, {comm.size} rank(s)")
    if res["blew_up"]:
        k = summary["steps"] + 1
        out.say(f"BLEW UP in step {k} (t = {ts[k]:.4g}); last finite state at t = {res['t'][-1]:.4g}")
    rows = [("t", "T_L", "T_H", "dist(f_L,M)", "dist(f_H,M)")]
    for i in np.unique(np.geomspace(1, len(res["t"]), 12).astype(int) - 1):
        rows.append((f"{res['t'][i]:.4g}", f"{res['T_L'][i]:.5f}", f"{res['T_H'][i]:.5f}",
                     f"{res['dist_L'][i]:.2e}", f"{res['dist_H'][i]:.2e}"))
    for r in rows:
        out.say("  " + "  ".join(c.rjust(12) for c in r))
    out.say(f"epochs (e-folding times): light relaxation {ep['tau_L']:.4g} (~eps^0), heavy relaxation "
            f"{ep['tau_H']:.4g} (~eps^-1 = {1 / e:.4g}), temperature equalisation {ep['tau_T']:.4g} "
            f"(~eps^-2 = {1 / e ** 2:.4g}); energy drift {summary['energy_drift']:.1e}; wall {res['wall']:.1f} s")
    out.arrays.update({k: res[k] for k in ("t", "n_L", "n_H", "T_L", "T_H", "u_L", "u_H", "H_L", "H_H",
                                            "dist_L", "dist_H", "energy", "momentum")})
    out.arrays.update({"snapshots/t": res["t_snap"], "snapshots/f_L": res["snap_L"], "snapshots/f_H": res["snap_H"],
                       "grid/v_L": mix.gL.v[0][(slice(None),) + (0,) * (p.dim - 1)],
                       "grid/v_H": mix.gH.v[0][(slice(None),) + (0,) * (p.dim - 1)]})
    return out


def _state(doc: str) -> Table:
    return Table({
        "n_L": Float(default=1.0, positive=True, doc=f"light density ({doc})"),
        "n_H": Float(default=1.0, positive=True, doc=f"heavy density ({doc})"),
        "u_L": Float(default=0.0, doc="light x-velocity"),
        "u_H": Float(default=0.0, doc="heavy x-velocity"),
        "T_L": Float(default=1.0, positive=True, doc="light temperature"),
        "T_H": Float(default=1.0, positive=True, doc="heavy temperature"),
    }).optional()


ENDS = ("periodic", "specular", "diffuse", "inflow", "outflow")   # outflow: zero-gradient open end


def _check_space(s: dict, path: str) -> None:
    bc = s["boundary"]
    if (bc["left"] == "periodic") != (bc["right"] == "periodic"):
        raise CaseError("boundary.right" if bc["left"] == "periodic" else "boundary.left",
                        "periodic must be chosen at both ends")
    if s["initial"]["type"] == "riemann" and bc["left"] == "periodic":
        raise CaseError("boundary.left", "Riemann data needs non-periodic ends (inflow, outflow, specular or diffuse)")
    vel = s["velocity"]
    for side in ("left", "right"):
        for sp in ("L", "H"):
            if bc[side] in ("specular", "diffuse") and vel[f"center_{sp}"] != 0:
                raise CaseError(f"velocity.center_{sp}", f"a {bc[side]} wall (boundary.{side}) needs the box centred "
                                                         f"at v_1 = 0 (mirror map), got {vel[f'center_{sp}']}")
    if s["time"]["scheme"].startswith("full") and vel["center_L"] != vel["center_H"]:
        raise CaseError("velocity.center_H", f"the full cross operators need one centre for both boxes (nested "
                                             f"grids), got center_L = {vel['center_L']}, center_H = {vel['center_H']}")
    if not 0 < s["initial"]["x0"] < 1:
        raise CaseError("initial.x0", f"must be in (0, 1) (fraction of space.Lx), got {s['initial']['x0']}")
    if s["time"]["scheme"].startswith("full"):
        r = math.sqrt(s["species"]["mass_ratio"])
        if abs(r - round(r)) > 1e-9 * r:
            raise CaseError("species.mass_ratio", "the full cross operators need sqrt(mass_ratio) to be an integer "
                                                  f"(nested grids), got {s['species']['mass_ratio']}")
    if s["initial"]["type"] == "wave" and abs(s["initial"]["amplitude"]) >= 1:
        raise CaseError("initial.amplitude", f"must be in (-1, 1) (positive densities and temperatures), "
                                             f"got {s['initial']['amplitude']}")


SPACE_SCHEMA = Table({
    "velocity": Table({
        **MIXTURE_SCHEMA.keys["velocity"].keys,
        "center_L": Float(default=0.0, doc="v_1 at which the light box is centred (a flow's velocity; walls need 0)"),
        "center_H": Float(default=0.0, doc="v_1 at which the heavy box is centred: a heavy flow of many thermal speeds "
                                           "needs its box centred near it (walls need 0)"),
    }),
    "kernel": MIXTURE_SCHEMA.keys["kernel"],
    "species": Table({
        "mass_ratio": Float(positive=True, min=1.0, max=1e12,
                            doc="m_H / m_L (m_L = 1; epsilon = sqrt(m_L/m_H); at most 1e12: epsilon^2 = 1e-12 is near "
                                "the float64 resolution of the heavy/light scale split)"),
    }),
    "space": Table({
        "nx": Int(min=2, doc="cells in x"),
        "Lx": Float(default=1.0, positive=True, doc="length of the x-interval"),
        "Kn": Float(min=0.0, doc="Knudsen number (0: collisionless free transport)"),
        "cfl": Float(default=0.45, positive=True, max=0.5, doc="dt = cfl dx / max|v_1| (<= 1/2: positivity)"),
        "reconstruction": Choice(("fixed", "aligned_H", "aligned"), default="fixed",
                                 doc="MUSCL at fixed v (fixed), or in every cell's own frame (moved by its mean "
                                     "velocity) for the heavy species (aligned_H) or both: for a heavy species whose "
                                     "mean velocity changes by its thermal speed over a few cells (docs/boltzmann.md)"),
    }),
    "boundary": Table({
        "left": Choice(ENDS, default="periodic", doc="x = 0"),
        "right": Choice(ENDS, default="periodic", doc="x = Lx"),
        "T_left": Float(default=1.0, positive=True, doc="wall temperature at x = 0 (diffuse)"),
        "T_right": Float(default=1.0, positive=True, doc="wall temperature at x = Lx (diffuse)"),
    }).optional(),
    "initial": Table({
        "type": Choice(("uniform", "wave", "riemann"), default="uniform",
                       doc="uniform state; wave: state x (1 + amplitude sin(2 pi mode x/Lx)); riemann: left|right"),
        "state": _state("uniform and wave"),
        "left": _state("riemann, x < x0 Lx"),
        "right": _state("riemann, x > x0 Lx"),
        "x0": Float(default=0.5, doc="riemann: position of the jump, fraction of Lx"),
        "amplitude": Float(default=0.1, doc="wave: relative amplitude"),
        "mode": Int(default=1, min=1, doc="wave: wave number"),
        "perturb": Choice(("T", "n", "nT"), default="T", doc="wave: perturbed fields"),
    }).optional(),
    "time": Table({
        "scheme": Choice(("ap", "ap2", "full_ap", "full_ap2"), default="ap2",
                         doc="collision step: ap (first order), ap2 (ARS(2,2,2)) with the asymptotic cross operators; "
                             "full_ap, full_ap2: full cross operators penalised (integer sqrt(mass_ratio), e.g. 1)"),
        "t_end": Float(positive=True, doc="final time"),
        "snapshots": Int(default=11, min=2, doc="moment snapshots (first and last included)"),
        "f_snapshots": Int(default=0, min=0, doc="snapshots of f(x, v) (each rank writes its cells)"),
        "positivity": Bool(default=False, doc="after each collision step make f >= 0 keeping every cell's "
                                              "density, momentum and energy (solvers/boltzmann/positivity.py; "
                                              "costs accuracy at diffuse walls: docs/boltzmann.md)"),
    }),
}, validate=_check_space, estimate=space_estimate)


@runner("boltzmann_space", SPACE_SCHEMA, doc="light/heavy mixture 1D in x (MUSCL + AP collisions, x over ranks)")
def run_space(case, ctx: RunContext) -> Result:
    """Strang-split MUSCL transport and AP collision step; per-cell moments as distributed blocks."""
    from ..parallel import UserError
    from . import space_runs as sr
    from .transport import NG
    comm, sp = ctx.comm, case["space"]
    if sp["nx"] < NG * comm.size:
        raise UserError(f"space.nx: {sp['nx']} cells cannot be split over {comm.size} ranks "
                        f"(at least {NG} cells per rank)", collective=True)   # same test on every rank
    solver = sr.build(case, comm)
    fL, fH = sr.initial(solver, case)
    tm = case["time"]
    nsteps = math.ceil(tm["t_end"] / solver.dt)
    update, close = _progress(ctx, nsteps, "boltzmann_space")
    r = sr.evolve(solver, fL, fH, tm["t_end"], tm["snapshots"], tm["f_snapshots"], progress=update)
    close()
    mix, nx, xs = solver.mix, solver.nx, solver.xs
    dr = sr.drifts(r["totals"], mix.m_L, mix.m_H)
    dT = comm.allreduce(float(np.abs(r["T_L"][-1] - r["T_H"][-1]).max()), op=MPI.MAX)
    attrs = {"eps": mix.p.eps, "Kn": sp["Kn"], "dt": r["dt"], "steps": r["steps"], "min_f_rel": r["fmin"],
             "max_dT_final": dT, "wall_time_loop": r["wall"], **{f"drift_{k}": v for k, v in dr.items()}}
    out = Result(attrs=attrs)
    out.say(f"boltzmann_space: {mix.p.dim}D velocity N={mix.p.n}, m_H/m_L = {mix.p.mass_ratio:g} "
            f"(eps = {mix.p.eps:.4g}), nx = {nx}, Kn = {sp['Kn']:g}, boundaries {case['boundary']['left']}/"
            f"{case['boundary']['right']}, scheme {tm['scheme']}, {comm.size} rank(s)")
    out.say(f"  dt = {r['dt']:.4g} (transport CFL {sp['cfl']:g}, independent of Kn and eps), {r['steps']} steps, "
            f"{r['wall']:.1f} s")
    out.say("  domain totals, relative change: " + ", ".join(f"{k} {v:.2e}" for k, v in dr.items()))
    out.say(f"  min f / max f over the run {r['fmin']:.3e}; max |T_L - T_H| at t_end {dT:.4e}")
    nt = len(r["t"])
    for k in sr.MOMENT_KEYS:
        out.blocks[f"moments/{k}"] = Block((nt, nx), (0, xs), r[k])
    if len(r["f_t"]):
        for s, g in (("L", mix.gL), ("H", mix.gH)):
            out.blocks[f"snapshots/f_{s}"] = Block((len(r["f_t"]), nx) + g.shape, (0, xs) + (0,) * g.dim, r[f"f_{s}"])
        out.arrays["snapshots/t"] = r["f_t"]
    out.arrays.update({"t": r["t"], "x": (np.arange(nx) + 0.5) * solver.dx,
                       "grid/v_L": mix.gL.v[0][(slice(None),) + (0,) * (mix.p.dim - 1)],
                       "grid/v_H": mix.gH.v[0][(slice(None),) + (0,) * (mix.p.dim - 1)]})
    for k in r["totals"][0]:
        out.arrays[f"totals/{k}"] = np.array([tt[k] for tt in r["totals"]])
    return out

