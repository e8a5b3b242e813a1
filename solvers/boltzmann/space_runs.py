"""Drivers of the space-dependent mixture (:mod:`.space`) shared by the ``boltzmann_space`` kind and
the ``boltzmann_space`` checks: building the solver from a case, initial data, the time loop with
moment snapshots. Collective."""
from __future__ import annotations

import math
import time

import numpy as np
from mpi4py import MPI

from ..parallel import UserError
from .ap_scheme import Mixture, MixtureParams
from .positivity import positive_maxwellian
from .space import SpaceMixture
from .transport import Boundary, maxwellian_wall

STATE_KEYS = ("n_L", "n_H", "u_L", "u_H", "T_L", "T_H")
MOMENT_KEYS = ("n_L", "u_L", "T_L", "n_H", "u_H", "T_H")


class StateNotFinite(UserError):
    """f stopped being finite during the run, or a cell's collision step met a singular moment system (a
    distribution the velocity grid no longer resolves): the run stops at that step, nothing is written; exit 3.
    Collective when f stops being finite and the solver's communicator is the world's group (every rank
    raises it); a singular system is raised by its rank only (the job then ends by MPI_Abort, no hang)."""

    exit_code = 3


def box_temperatures(case: dict) -> tuple[float, float]:
    """Per species, the largest temperature the run starts with or meets at a wall (sets the boxes)."""
    ini, bc = case["initial"], case["boundary"]
    states = [ini["left"], ini["right"]] if ini["type"] == "riemann" else [ini["state"]]
    walls = [bc[f"T_{s}"] for s in ("left", "right") if bc[s] == "diffuse"]
    amp = 1 + abs(ini["amplitude"]) if ini["type"] == "wave" else 1.0
    return tuple(max([amp * st[f"T_{sp}"] for st in states] + walls) for sp in ("L", "H"))


def build(case: dict, comm) -> SpaceMixture:
    """The solver of a ``boltzmann_space`` case (grids scaled to :func:`box_temperatures`)."""
    vel, ker, sp, tm, bc = case["velocity"], case["kernel"], case["space"], case["time"], case["boundary"]
    p = MixtureParams(dim=vel["dim"], n=vel["n"], Lhat=vel["Lhat"], mass_ratio=case["species"]["mass_ratio"],
                      gamma=ker["gamma"], b=ker["b"], n_rho=ker["n_rho"] or None, n_dir=ker["n_dir"] or None)
    mix = Mixture(p, full_cross=tm["scheme"].startswith("full"), T_ref=box_temperatures(case),
                  centers=(vel["center_L"], vel["center_H"]))
    ends = []
    for side in ("left", "right"):
        kind = bc[side]
        if kind == "periodic":
            ends.append(None)
        elif kind == "outflow":
            ends.append((Boundary("outflow"), Boundary("outflow")))
        elif kind == "diffuse":
            ends.append(tuple(Boundary("diffuse", maxwellian_wall(g, bc[f"T_{side}"], m))
                              for g, m in ((mix.gL, mix.m_L), (mix.gH, mix.m_H))))
        elif kind == "inflow":
            st = end_state(case, side)
            ends.append(tuple(Boundary("inflow", positive_maxwellian(
                g, st[f"n_{s}"], np.r_[st[f"u_{s}"], np.zeros(p.dim - 1)], st[f"T_{s}"], m))
                for g, m, s in ((mix.gL, mix.m_L, "L"), (mix.gH, mix.m_H, "H"))))
        else:
            ends.append((Boundary("specular"), Boundary("specular")))
    Kn = math.inf if sp["Kn"] == 0 else sp["Kn"]
    rec = sp.get("reconstruction", "fixed")
    return SpaceMixture(mix, sp["nx"], sp["Lx"], ends[0], ends[1], Kn, tm["scheme"], comm, sp["cfl"],
                        tm.get("positivity", False), aligned=(rec == "aligned", rec != "fixed"))


def end_state(case: dict, side: str) -> dict:
    """The initial state at the ``side`` end of the domain (the inflow state there)."""
    ini = case["initial"]
    if ini["type"] == "riemann":
        return ini[side]
    return {k: profile(ini, k, np.array([0.0 if side == "left" else case["space"]["Lx"]]),
                       case["space"]["Lx"])[0] for k in STATE_KEYS}


def profile(ini: dict, key: str, x: np.ndarray, Lx: float) -> np.ndarray:
    """Initial ``n_i``, ``u_i`` or ``T_i`` at ``x``: Riemann data (jump at ``x0``) or the base state with
    the ``wave`` perturbation ``(1 + a sin(2π k x / L_x))`` on the temperatures and densities chosen."""
    if ini["type"] == "riemann":
        return np.where(x < ini["x0"] * Lx, ini["left"][key], ini["right"][key])
    base = np.full(x.shape, float(ini["state"][key]))
    if ini["type"] == "wave" and key[0] in ini["perturb"]:
        return base * (1 + ini["amplitude"] * np.sin(2 * math.pi * ini["mode"] * x / Lx))
    return base


def initial(sp: SpaceMixture, case: dict) -> tuple[np.ndarray, np.ndarray]:
    """Local-equilibrium (discrete Maxwellian) initial data in every local cell."""
    ini, Lx = case["initial"], case["space"]["Lx"]
    val = {k: profile(ini, k, sp.x, Lx) for k in STATE_KEYS}
    return sp.maxwellians((val["n_L"], val["n_H"]), (val["u_L"], val["u_H"]), (val["T_L"], val["T_H"]))


def evolve(sp: SpaceMixture, fL: np.ndarray, fH: np.ndarray, t_end: float, n_snap: int = 2, f_snap: int = 0,
           progress=None) -> dict:
    """Advance to ``t_end`` with the CFL step (the last step shortened); moment snapshots of the local
    cells (``n_snap`` evenly spaced in steps, first and last included), ``f_snap`` f snapshots,
    domain totals at every snapshot, the smallest value of f met and the positivity-fix counts of
    the solver so far (:meth:`.SpaceMixture.limiter_counts`). Raises :class:`StateNotFinite` at the
    first step whose f is not finite on some rank. Collective."""
    n = max(1, math.ceil(t_end / sp.dt * (1 - 1e-12)))
    dt = t_end / n
    snaps = set(np.linspace(0, n, max(n_snap, 2)).round().astype(int))
    fsnaps = set(np.linspace(0, n, f_snap).round().astype(int)) if f_snap else set()
    out = {"t": [], "totals": [], "f_t": [], "f_L": [], "f_H": [], **{k: [] for k in MOMENT_KEYS}}
    fmin = sp.min_value(fL, fH)
    tic = time.perf_counter()
    for i in range(n + 1):
        if i:
            try:
                fL, fH = sp.step(fL, fH, dt)
            except np.linalg.LinAlgError as exc:
                raise StateNotFinite(
                    f"the collision step failed at step {i} of {n} (t = {i * dt:.6g}): {exc} in the moment correction "
                    "of a cell whose distribution the velocity grid no longer resolves; nothing written. Try a larger "
                    "velocity.n or Lhat, or time.positivity = true") from exc
            if not sp.comm.allreduce(bool(np.isfinite(fL).all() and np.isfinite(fH).all()), op=MPI.LAND):
                raise StateNotFinite(
                    f"f stopped being finite at step {i} of {n} (t = {i * dt:.6g}); nothing written. Under-resolved "
                    "velocity grids (velocity.n, Lhat) or negative f growing at an inflow or wall end are the known "
                    "causes: try a larger velocity.n, or time.positivity = true",
                    collective=MPI.Comm.Compare(sp.comm, MPI.COMM_WORLD) in (MPI.IDENT, MPI.CONGRUENT))
            fmin = min(fmin, sp.min_value(fL, fH))
            if progress is not None:
                progress(1)
        if i in snaps:
            m = sp.cell_moments(fL, fH)
            for k in MOMENT_KEYS:
                out[k].append(m[k])
            out["t"].append(i * dt)
            out["totals"].append(sp.totals(fL, fH))
        if i in fsnaps:
            out["f_t"].append(i * dt)
            out["f_L"].append(fL.copy())
            out["f_H"].append(fH.copy())
    res = {k: np.array(v) for k, v in out.items() if k != "totals"}
    res.update(fL=fL, fH=fH, dt=dt, steps=n, fmin=fmin, wall=time.perf_counter() - tic, totals=out["totals"],
               limited=sp.limiter_counts())
    return res


def drifts(totals: list[dict], m_L: float, m_H: float) -> dict[str, float]:
    """Change of each domain total between the first and last snapshot, relative to the total; the
    momentum relative to ``sqrt(2 ρ E)`` (``ρ = m_L mass_L + m_H mass_H``), its thermal scale, since
    the total momentum is often zero."""
    a, b = totals[0], totals[-1]
    out = {k: abs(b[k] - a[k]) / abs(a[k]) for k in a if k != "momentum"}
    out["momentum"] = abs(b["momentum"] - a["momentum"]) / math.sqrt(
        2 * (m_L * a["mass_L"] + m_H * a["mass_H"]) * a["energy"])
    return out
