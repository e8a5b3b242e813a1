"""Registers the ``schrodinger`` and ``schrodinger_sweep`` case kinds and the Schrödinger validations."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from .. import output
from ..case import CaseError, Choice, Float, Int, List, Str, Table
from ..parallel import UserError, rprint
from ..registry import RunContext, runner
from . import exact, finite_difference, pinn
from . import validation  # noqa: F401  (registers the checks)
from .potentials import KINDS, OPTIONAL, PotentialError, from_params

_DEFAULTS = pinn.PINNConfig()


def _check_potential(p: dict, path: str) -> None:
    try:
        from_params(p)
    except PotentialError as exc:
        raise CaseError(f"{path}.{exc.key}", exc.message) from None


POTENTIAL = Table({
    "type": Choice(tuple(KINDS), doc="infinite_well on [0, L]; finite_well (V0 for a < |x| < Lbox); "
                                     "barrier (height, width, centre) inside [0, L]; table (edges, values)"),
    "c": Float(default=1.0, positive=True, doc="-c ψ'' + V ψ = E ψ (c = 1: E = π² on [0, 1]; c = 1/2: Jin et al.)"),
    "L": Float(default=None, positive=True, doc="well width (infinite_well, barrier)"),
    "V0": Float(default=None, doc="finite_well: depth (> 0)"),
    "a": Float(default=None, doc="finite_well: half-width (0 < a < Lbox)"),
    "Lbox": Float(default=None, positive=True, doc="finite_well: box half-width (walls at ±Lbox)"),
    "height": Float(default=None, doc="barrier: height (> 0)"),
    "width": Float(default=None, doc="barrier: width (> 0)"),
    "center": Float(default=None, doc="barrier: centre (default L/2)"),
    "edges": List(Float(), default=None, min_len=2, doc="table: increasing interval edges (walls at the ends)"),
    "values": List(Float(), default=None, min_len=1, doc="table: V on each interval"),
}, validate=_check_potential, doc="piecewise-constant V(x) with infinite walls at the box ends")

PINN = Table({
    "networks": Choice(("per_region", "single"), default=_DEFAULTS.networks,
                       doc="one network per region of constant V (C¹ joins) or one for the box"),
    "parity": Choice(("auto", "on", "off"), default=_DEFAULTS.parity, doc="parity ansatz h(x) ± h(-x)"),
    "width": Int(default=_DEFAULTS.width, min=1, doc="neurons per hidden layer"),
    "depth": Int(default=_DEFAULTS.depth, min=1, doc="hidden layers"),
    "activation": Choice(("tanh", "sin"), default=_DEFAULTS.activation),
    "collocation": Int(default=_DEFAULTS.collocation, min=4, doc="residual points per region (resampled each epoch)"),
    "quadrature": Int(default=_DEFAULTS.quadrature, min=4, doc="Gauss-Legendre points per region (norm, R)"),
    "ritz_epochs": Int(default=_DEFAULTS.ritz_epochs, min=0, doc="Adam epochs on the Rayleigh quotient"),
    "adam_epochs": Int(default=_DEFAULTS.adam_epochs, min=0, doc="Adam epochs on the PINN loss"),
    "lr_ritz": Float(default=_DEFAULTS.lr_ritz, positive=True),
    "lr": Float(default=_DEFAULTS.lr, positive=True, doc="network learning rate, PINN phase"),
    "lr_energy": Float(default=_DEFAULTS.lr_energy, positive=True, doc="learning rate of E/S"),
    "lr_decay": Float(default=_DEFAULTS.lr_decay, positive=True, max=1.0, doc="decay factor over each Adam phase"),
    "lbfgs_rounds": Int(default=_DEFAULTS.lbfgs_rounds, min=0),
    "lbfgs_iters": Int(default=_DEFAULTS.lbfgs_iters, min=1),
    "w_norm": Float(default=_DEFAULTS.w_norm, positive=True),
    "w_orth": Float(default=_DEFAULTS.w_orth, positive=True),
    "w_ritz": Float(default=_DEFAULTS.w_ritz, min=0.0, doc="Rayleigh-quotient term kept in the PINN loss"),
    "seed": Int(default=_DEFAULTS.seed, min=0),
    "tails": Choice(("auto", "off"), default=_DEFAULTS.tails,
                    doc="exp(-κ|x - x_j|) factor (κ trainable) in the outer regions where V > min V"),
    "ritz_polish": Int(default=_DEFAULTS.ritz_polish, min=0,
                       doc="final L-BFGS iterations on the Ritz loss (Rayleigh quotient + constraints)"),
    "energy": Choice(("rayleigh", "trained"), default=_DEFAULTS.energy,
                     doc="reported E: Rayleigh quotient of the final ψ (variational) or the trained scalar E"),
    "energy_quadrature": Int(default=_DEFAULTS.energy_quadrature, min=4,
                             doc="Gauss-Legendre points per region for the final Rayleigh quotient"),
    "threads": Int(default=1, min=1, doc="torch threads (pinned: results do not depend on the rank count)"),
}, doc="network and training hyperparameters").optional()

STATES = Table({
    "n": Int(default=3, min=1, max=12, doc="states to train (0 = ground state)"),
    "points": Int(default=401, min=3, doc="output grid points (walls included)"),
}).optional()

REFERENCE = Table({
    "fd_nodes": Int(default=2000, min=10, doc="interior nodes of the finite-difference reference"),
}).optional()

SCHEMA = Table({"potential": POTENTIAL, "states": STATES, "pinn": PINN, "reference": REFERENCE})


def _check_sweep(sections: dict, path: str) -> None:
    sw, pot = sections["sweep"], sections["potential"]
    key = sw["parameter"]
    allowed = KINDS[pot["type"]][1] + OPTIONAL[pot["type"]] + ("c",)
    if key not in allowed or key in ("edges", "values"):
        raise CaseError("sweep.parameter", f"{key!r} is not a scalar parameter of type {pot['type']!r} "
                                           f"(choose from {', '.join(k for k in allowed if k not in ('edges', 'values'))})")
    for i, v in enumerate(sw["values"]):
        try:
            from_params(dict(pot, **{key: v}))
        except PotentialError as exc:
            raise CaseError(f"sweep.values[{i}]", f"{key} = {v}: {exc.message}") from None


SWEEP_SCHEMA = Table({
    "potential": POTENTIAL, "states": STATES, "pinn": PINN,
    "sweep": Table({
        "parameter": Str(doc="the [potential] key to vary, e.g. 'V0' or 'height'"),
        "values": List(Float(), min_len=1, doc="its values (one training task each)"),
    }),
}, validate=_check_sweep)


def config(section: dict) -> pinn.PINNConfig:
    return pinn.PINNConfig(**{k: v for k, v in section.items() if k != "threads"})


def _pin_threads(n: int) -> None:
    import torch
    torch.set_num_threads(n)


def sign_aligned_l2(psi: np.ndarray, ref: np.ndarray, x: np.ndarray) -> float:
    """min over s = ±1 of ||s ψ - ψ_ref||_L2 (trapezoid rule on the output grid)."""
    return float(min(np.sqrt(np.trapz((s * psi - ref) ** 2, x)) for s in (1.0, -1.0)))


@runner("schrodinger", SCHEMA, doc="PINN eigenstates of -c ψ'' + V ψ = E ψ in a box vs exact and FD references")
def run_schrodinger(case, ctx: RunContext) -> dict:
    """Train the first n states on rank 0 (sequential by nature), print them next to the references."""
    comm = ctx.comm
    pot = from_params(case["potential"])
    n, npts = case["states"]["n"], case["states"]["points"]
    cfg = config(case["pinn"])
    x = np.linspace(pot.lo, pot.hi, npts)
    E_ex, psi_ex = exact.box_states(pot, n, x)
    fd = finite_difference.solve(pot, n, finite_difference.midway_size(pot, case["reference"]["fd_nodes"]))
    states = None
    if comm.rank == 0:
        _pin_threads(case["pinn"]["threads"])
        states = pinn.solve(pot, n, cfg, x, progress=not ctx.quiet)
    states = comm.bcast(states, root=0)
    rprint(f"{pot.name}: -{pot.c:g} ψ'' + V ψ = E ψ on [{pot.lo:g}, {pot.hi:g}], {n} state(s), "
           f"{'parity ansatz, ' if (pot.symmetric if cfg.parity == 'auto' else cfg.parity == 'on') else ''}"
           f"networks {cfg.networks}; PINN on rank 0 of {comm.size}", comm=comm)
    rprint(f"{'n':>2} {'E PINN':>18} {'E exact':>18} {'rel err':>9} {'E FD':>14} {'rel err':>9} "
           f"{'ψ L2 err':>9} {'nodes':>5} {'time s':>7} {'E trained':>18} {'rel err':>9}", comm=comm)
    summary = {"E": [], "E_exact": E_ex.tolist(), "E_fd": fd.E.tolist(), "rel_err": [], "psi_err": []}
    for s in states:
        rel = abs(s.E - E_ex[s.n]) / abs(E_ex[s.n])
        err = sign_aligned_l2(s.psi, psi_ex[s.n], x)
        summary["E"].append(s.E)
        summary["rel_err"].append(rel)
        summary["psi_err"].append(err)
        rprint(f"{s.n:>2} {s.E:18.12f} {E_ex[s.n]:18.12f} {rel:9.2e} {fd.E[s.n]:14.8f} "
               f"{abs(fd.E[s.n] / E_ex[s.n] - 1):9.2e} {err:9.2e} {s.nodes:>5} {s.seconds:7.1f} "
               f"{s.E_trained:18.12f} {abs(s.E_trained / E_ex[s.n] - 1):9.2e}", comm=comm)
        if s.nodes != s.n:
            rprint(f"warning: state {s.n} has {s.nodes} nodes (expected {s.n}): not the intended state", comm=comm)
    if pot.name == "finite_well":
        p = case["potential"]
        line = exact.finite_well_levels(p["V0"], p["a"], p["c"], n)
        rprint("infinite-line finite well (Jin et al. formulas): " + ", ".join(f"{e:.10f}" for e in line)
               + f"  (box truncation shifts the levels by at most {np.max(np.abs(E_ex[:len(line)] - line)):.1e})",
               comm=comm)
    path = ctx.output or case["output"]["path"] or str(Path("out") / f"{case.name}.h5")
    datasets = {"x": x, "V": pot(x), "E": np.array(summary["E"]), "E_exact": E_ex, "E_fd": fd.E,
                "E_trained": np.array([s.E_trained for s in states]),
                "E_rayleigh": np.array([s.E_rayleigh for s in states]),
                "psi": np.stack([s.psi for s in states]), "psi_exact": psi_ex,
                "nodes": np.array([s.nodes for s in states]), "seconds": np.array([s.seconds for s in states])}
    for s in states:
        for k, v in s.history.items():
            datasets[f"history/state_{s.n}/{k}"] = v
    attrs = {"case_text": case.text, "kind": case.kind, "versions": output.versions(comm),
             "pinn_config": json.dumps(dataclasses.asdict(cfg)), "fd_nodes": len(fd.x) - 2,
             "convention": f"-{pot.c:g} psi'' + V psi = E psi, psi = 0 at x = {pot.lo:g}, {pot.hi:g}"}
    output.write(path, datasets, attrs, comm=comm)
    rprint(f"wrote {path}", comm=comm)
    summary["output"] = path
    return summary


@runner("schrodinger_sweep", SWEEP_SCHEMA, doc="PINN trainings over a potential parameter, spread over MPI ranks")
def run_sweep(case, ctx: RunContext) -> dict:
    """Distribute the tasks (task i on rank i mod size, seed + i); write one Well-layout file."""
    from .sweep import run_tasks, write_well

    comm = ctx.comm
    sw = case["sweep"]
    n, npts = case["states"]["n"], case["states"]["points"]
    cfg = config(case["pinn"])
    _pin_threads(case["pinn"]["threads"])
    params = case["potential"]
    pot0 = from_params(dict(params, **{sw["parameter"]: sw["values"][0]}))
    x = np.linspace(pot0.lo, pot0.hi, npts)
    for v in sw["values"]:
        p = from_params(dict(params, **{sw["parameter"]: v}))
        if (p.lo, p.hi) != (pot0.lo, pot0.hi):
            raise UserError(f"sweep.parameter: {sw['parameter']} changes the box; the samples need one x grid")
    rprint(f"sweep of {sw['parameter']} over {len(sw['values'])} values, {n} state(s) each, "
           f"on {comm.size} rank(s)", comm=comm)
    tasks = run_tasks(params, sw["parameter"], sw["values"], n, cfg, x, comm,
                      progress=not ctx.quiet and comm.rank == 0)
    path = ctx.output or case["output"]["path"] or str(Path("out") / f"{case.name}.h5")
    err = None
    if comm.rank == 0:
        rprint(f"{sw['parameter']:>10} " + " ".join(f"{'E_' + str(k):>12} {'rel err':>8}" for k in range(n)), comm=comm)
        for t in tasks:
            rprint(f"{t['value']:10.4g} " + " ".join(f"{t['E'][k]:12.6f} {abs(t['E'][k] / t['E_exact'][k] - 1):8.1e}"
                                                    for k in range(n)), comm=comm)
        constants = {k: float(v) for k, v in params.items()
                     if isinstance(v, float) and math.isfinite(v) and k != sw["parameter"]}
        attrs = {"case_text": case.text, "kind": case.kind, "versions": json.dumps(output.versions(comm)),
                 "pinn_config": json.dumps(dataclasses.asdict(cfg)), "swept_parameter": sw["parameter"],
                 "potential_type": params["type"]}
        try:
            write_well(path, tasks, sw["parameter"], x, constants, attrs)
        except OSError as exc:
            err = f"could not write {path}: {exc}"
    err = comm.bcast(err, root=0)
    if err:
        raise OSError(err)
    rprint(f"wrote {path}", comm=comm)
    return {"output": path}
