"""Registers the ``schrodinger`` and ``schrodinger_sweep`` case kinds. torch is imported by the runs
only (reading a case, ``schema`` and ``info`` never import it)."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..case import Bool, CaseError, Choice, Float, Int, List, Spec, Str, Table
from ..estimates import schrodinger_estimate, sweep_estimate
from ..parallel import rprint
from ..registry import RunContext, runner
from ..result import Result
from . import exact, finite_difference
from .config import PINNConfig
from .plan import Plan, check_converged, check_nodes, count_states, energy_bounds, make_plan
from .potentials import KINDS, OPTIONAL, Harmonic, PotentialError, from_params

_DEFAULTS = PINNConfig()


MAX_STRENGTH = 1e8
HARMONIC_TOLERANCE = 1e-11     # rounding floor of exact.smooth_box_states (truncation shifts below it are noise)


def _check_potential(p: dict, path: str) -> None:
    """The potential builds, and its strength (max V - min V) (x_max - x_min)² / c, whose square
    root over π counts the bound states and oscillations the references must resolve, is at most
    MAX_STRENGTH (e.g. V0 = 1e300 would ask the exact reference for ~1e150 quadrature panels)."""
    try:
        pot = from_params(p)
    except PotentialError as exc:
        raise CaseError(f"{path}.{exc.key}", exc.message) from None
    if isinstance(pot, Harmonic):                  # smooth: state n has n nodes whatever ω, x0, c
        return
    v, e = np.asarray(pot.values, float), np.asarray(pot.edges, float)
    with np.errstate(over="ignore"):
        strength = float(np.ptp(v) * np.ptp(e) ** 2 / pot.c)
    if not strength <= MAX_STRENGTH:
        raise CaseError(path, f"potential strength (max V - min V)·width²/c = {strength:.3g} exceeds "
                              f"{MAX_STRENGTH:g} (about {np.sqrt(min(strength, 1e300)) / np.pi:.3g} oscillations "
                              "to resolve); use a shallower or narrower potential, or a larger c")


POTENTIAL = Table({
    "type": Choice(tuple(KINDS), doc="infinite_well on [0, L]; finite_well (V0 for |x| > a; on the whole line, "
                                     "or walls at ±Lbox); barrier (height, width, centre) inside [0, L]; "
                                     "table (edges, values; walls at the ends); pieces (intervals, outside; whole line); "
                                     "harmonic (omega, center: V = ω²(x - center)²/(4c), E_n = (n + ½)ω; whole line)"),
    "c": Float(default=1.0, positive=True, doc="-c ψ'' + V ψ = E ψ (c = 1: E = π² on [0, 1]; c = 1/2: Jin et al.)"),
    "L": Float(default=None, positive=True, doc="well width (infinite_well, barrier)"),
    "V0": Float(default=None, doc="finite_well: depth (> 0)"),
    "a": Float(default=None, doc="finite_well: half-width (0 < a < Lbox)"),
    "Lbox": Float(default=None, positive=True, doc="finite_well: box half-width (walls at ±Lbox; default: "
                                                   "the whole line, box chosen from [box] tolerance)"),
    "height": Float(default=None, doc="barrier: height (> 0)"),
    "width": Float(default=None, doc="barrier: width (> 0)"),
    "center": Float(default=None, doc="barrier: centre (default L/2); harmonic: x0 (default 0)"),
    "omega": Float(default=None, doc="harmonic: ω > 0 (V = ω²(x - center)²/(4c), E_n = (n + ½)ω)"),
    "edges": List(Float(), default=None, min_len=2, doc="table: increasing interval edges (walls at the ends)"),
    "values": List(Float(), default=None, min_len=1, doc="table: V on each interval"),
    "intervals": List(List(Float(), min_len=3, max_len=3), default=None, min_len=1,
                      doc="pieces: [[x0, x1, height], ...] (not overlapping), V = outside elsewhere on the line"),
    "outside": Float(default=None, doc="pieces: V outside the intervals (default 0)"),
}, validate=_check_potential, doc="V(x): piecewise constant (with infinite walls at the box ends, or on the whole "
                                  "line), or the harmonic oscillator (smooth, on the whole line)")

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
    "tail_kappa": Choice(("depth", "previous"), default=_DEFAULTS.tail_kappa,
                         doc="the tails' initial κ: from the step's depth, 0.7 √((V - min V)/c), or from the "
                             "previous state's trained energy, 0.7 √((V - E_{n-1})/c) (states near V∞)"),
    "ritz_polish": Int(default=_DEFAULTS.ritz_polish, min=0,
                       doc="L-BFGS iterations on the Ritz loss (Rayleigh quotient + constraints) per polish round"),
    "polish_rounds": Int(default=_DEFAULTS.polish_rounds, min=1,
                         doc="polish rounds, each started from an output-layer Rayleigh–Ritz solve"),
    "rayleigh_ritz": Bool(default=_DEFAULTS.rayleigh_ritz,
                          doc="solve for the output layers exactly (Rayleigh–Ritz in the span of the network's "
                              "features, orthogonal to the earlier states) before each polish round and at the end"),
    "energy": Choice(("rayleigh", "trained"), default=_DEFAULTS.energy,
                     doc="reported E: Rayleigh quotient of the final ψ (variational) or the trained scalar E"),
    "energy_quadrature": Int(default=_DEFAULTS.energy_quadrature, min=4,
                             doc="Gauss-Legendre points per region for the final Rayleigh quotient"),
    "threads": Int(default=1, min=1, doc="torch threads (pinned: results do not depend on the rank count)"),
    "bound_tolerance": Float(default=1e-2, positive=True,
                             doc="a state is converged when its a posteriori bounds certify E to this relative "
                                 "error: max(E - E_lower, E_upper - E)/|E|"),
    "require_convergence": Bool(default=True, doc="an unconverged state is exit 3 with nothing written (false: "
                                                  "keep the result, say so, store converged = false)"),
}, doc="network and training hyperparameters").optional()
RUN_KEYS = ("threads", "bound_tolerance", "require_convergence")   # [pinn] keys that are not PINNConfig fields



class StateCount(Spec):
    """A positive integer or the string "all" (every bound state of a potential on the whole line)."""

    def __init__(self, default: Any, doc: str = ""):
        self.default, self.doc = default, doc

    def check(self, value: Any, path: str) -> int | str:
        if value == "all":
            return value
        return Int(min=1).check(value, path)

    def describe(self) -> str:
        return 'positive integer or "all"'


STATES = Table({
    "n": StateCount(default=3, doc='states to train (0 = ground state), or "all" bound states'),
    "points": Int(default=401, min=3, doc="output grid points (walls included)"),
}).optional()

BOX = Table({
    "tolerance": Float(default=1e-9, positive=True, max=1e-2,
                       doc="largest relative shift of the requested levels by the box walls (line potentials)"),
    "margin": Float(default=None, positive=True,
                    doc="box walls this far beyond the outermost edges; harmonic: the box half-width about "
                        "the centre (default: from the decay length / Gaussian tail)"),
}, doc="truncation of a potential on the whole line").optional()

REFERENCE = Table({
    "fd_nodes": Int(default=2000, min=10, doc="interior nodes of the finite-difference reference"),
}).optional()


def _check_case(sections: dict, path: str) -> None:
    """Impossible state requests are input errors (exit 2), found before any work."""
    pot = from_params(sections["potential"])
    try:
        count_states(pot, sections["states"]["n"])
    except ValueError as exc:
        raise CaseError("states.n", str(exc)) from None
    _check_tolerance(pot, sections["box"]["tolerance"])


def _check_tolerance(pot, tolerance: float) -> None:
    """The harmonic oscillator's truncation shift is measured against a reference good to ~1e-11."""
    if isinstance(pot, Harmonic) and tolerance < HARMONIC_TOLERANCE:
        raise CaseError("box.tolerance", f"{tolerance:g} is below {HARMONIC_TOLERANCE:g}, the accuracy of the "
                                         "harmonic oscillator's box reference (Legendre–Galerkin)")


SCHEMA = Table({"potential": POTENTIAL, "states": STATES, "box": BOX, "pinn": PINN, "reference": REFERENCE},
               validate=_check_case, estimate=schrodinger_estimate)


def _check_sweep(sections: dict, path: str) -> None:
    sw, pot = sections["sweep"], sections["potential"]
    key = sw["parameter"]
    allowed = KINDS[pot["type"]][1] + OPTIONAL[pot["type"]] + ("c",)
    scalar = [k for k in allowed if k not in ("edges", "values", "intervals")]
    if key not in scalar:
        raise CaseError("sweep.parameter", f"{key!r} is not a scalar parameter of type {pot['type']!r} "
                                           f"(choose from {', '.join(scalar)})")
    counts = []
    for i, v in enumerate(sw["values"]):
        try:
            p = from_params(dict(pot, **{key: v}))
            counts.append(count_states(p, sections["states"]["n"])[0])
            _check_tolerance(p, sections["box"]["tolerance"])
        except PotentialError as exc:
            raise CaseError(f"sweep.values[{i}]", f"{key} = {v}: {exc.message}") from None
        except ValueError as exc:
            raise CaseError(f"sweep.values[{i}]", f"{key} = {v}: {exc}") from None
    if len(set(counts)) > 1:
        raise CaseError("states.n", f"'all' gives different numbers of bound states over the sweep "
                                    f"({min(counts)} to {max(counts)}): one dataset needs one count; "
                                    f"ask for states.n = {min(counts)}")


SWEEP_SCHEMA = Table({
    "potential": POTENTIAL, "states": STATES, "box": BOX, "pinn": PINN,
    "sweep": Table({
        "parameter": Str(doc="the [potential] key to vary, e.g. 'V0' or 'height'"),
        "values": List(Float(), min_len=1, doc="its values (one training task each)"),
    }),
}, validate=_check_sweep, estimate=sweep_estimate)


def config(section: dict) -> PINNConfig:
    return PINNConfig(**{k: v for k, v in section.items() if k not in RUN_KEYS})


def case_plan(case) -> Plan:
    return make_plan(from_params(case["potential"]), case["states"]["n"], case["box"]["tolerance"],
                     case["box"]["margin"])


def sign_aligned_l2(psi: np.ndarray, ref: np.ndarray, x: np.ndarray) -> float:
    """min over s = ±1 of ||s ψ - ψ_ref||_L2 (trapezoid rule on the output grid)."""
    return float(min(np.sqrt(np.trapz((s * psi - ref) ** 2, x)) for s in (1.0, -1.0)))


@runner("schrodinger", SCHEMA, doc="PINN eigenstates of -c ψ'' + V ψ = E ψ with error bounds, vs exact and FD references")
def run_schrodinger(case, ctx: RunContext) -> Result:
    """Train states 0..n-1 on rank 0 (sequential by nature); every energy with its a posteriori
    bounds, next to the exact (box and line) and FD references. A state with the wrong node count
    ends the run with exit code 3."""
    import torch

    from . import pinn

    comm = ctx.comm
    plan = case_plan(case)
    pot, n, npts = plan.box, plan.n, case["states"]["points"]
    cfg = config(case["pinn"])
    for line in plan.describe():
        rprint(line, comm=comm)
    x = np.linspace(pot.lo, pot.hi, npts)
    E_ex, psi_ex = exact.box_states(pot, n, x)
    E_line = plan.line_levels()
    fd = finite_difference.solve(pot, n, finite_difference.midway_size(pot, case["reference"]["fd_nodes"]))
    states = None
    if comm.rank == 0:
        torch.set_num_threads(case["pinn"]["threads"])
        states = pinn.solve(pot, n, cfg, x, progress=not ctx.quiet)
    states = comm.bcast(states, root=0)
    lines = [f"{pot.name}: -{pot.c:g} ψ'' + V ψ = E ψ on [{pot.lo:g}, {pot.hi:g}], {n} state(s), "
             f"{'parity ansatz, ' if (pot.symmetric if cfg.parity == 'auto' else cfg.parity == 'on') else ''}"
             f"networks {cfg.networks}; PINN on rank 0 of {comm.size}",
             f"{'n':>2} {'E PINN':>18} {'E exact (box)':>18} {'rel err':>9} {'bound lower':>18} {'bound upper':>18} "
             f"{'holds':>5} {'E FD':>14} {'rel err':>9} {'ψ L2 err':>9} {'nodes':>5} {'time s':>7}"]
    lo, hi = energy_bounds(plan, states)
    for s, b_lo, b_hi in zip(states, lo, hi):
        lines.append(f"{s.n:>2} {s.E:18.12f} {E_ex[s.n]:18.12f} {abs(s.E / E_ex[s.n] - 1):9.2e} {b_lo:18.12f} "
                     f"{b_hi:18.12f} {'yes' if b_lo <= E_ex[s.n] <= b_hi else 'NO':>5} {fd.E[s.n]:14.8f} "
                     f"{abs(fd.E[s.n] / E_ex[s.n] - 1):9.2e} {sign_aligned_l2(s.psi, psi_ex[s.n], x):9.2e} "
                     f"{s.nodes:>5} {s.seconds:7.1f}")
    if E_line is not None:
        lines.append("levels on the whole line: " + ", ".join(f"{e:.10f}" for e in E_line)
                     + f"; PINN rel. error against them: max "
                     + f"{max(abs(s.E / E_line[s.n] - 1) for s in states if s.n < len(E_line)):.1e}")
    try:
        check_nodes(states, n, E_ex)
        warnings = check_converged(states, lo, hi, case["pinn"]["bound_tolerance"], case["pinn"]["require_convergence"])
    except Exception:
        for line in lines:
            rprint(line, comm=comm)
        raise
    res = Result()
    for line in lines + warnings:
        res.say(line)
    res.arrays.update({"x": x, "V": pot(x), "E": np.array([s.E for s in states]), "E_lower": lo, "E_upper": hi,
                       "residual": np.array([s.residual for s in states]), "E_exact": E_ex, "E_fd": fd.E,
                       "E_trained": np.array([s.E_trained for s in states]),
                       "E_rayleigh": np.array([s.E_rayleigh for s in states]),
                       "psi": np.stack([s.psi for s in states]), "psi_exact": psi_ex,
                       "nodes": np.array([s.nodes for s in states]),
                       "seconds": np.array([s.seconds for s in states])})
    if E_line is not None:
        res.arrays["E_line"] = E_line
    for s in states:
        for k, v in s.history.items():
            res.arrays[f"history/state_{s.n}/{k}"] = v
    res.attrs.update({"pinn_config": dataclasses.asdict(cfg), "fd_nodes": len(fd.x) - 2, "n_states": n,
                      "converged": not warnings, "bound_tolerance": case["pinn"]["bound_tolerance"],
                      "box": [pot.lo, pot.hi],
                      "convention": f"-{pot.c:g} psi'' + V psi = E psi, psi = 0 at x = {pot.lo:g}, {pot.hi:g}"})
    if plan.line is not None:
        res.attrs.update({"truncation": plan.trunc.describe(), "truncation_shift": plan.trunc.shift})
    if plan.n_bound is not None:
        res.attrs.update({"n_bound": plan.n_bound, "threshold": plan.line.threshold})
    return res


@runner("schrodinger_sweep", SWEEP_SCHEMA, doc="PINN trainings over a potential parameter, spread over MPI ranks")
def run_sweep(case, ctx: RunContext) -> Result:
    """Distribute the tasks (task i on rank i mod size, seed + i); one Well-layout result."""
    import torch

    from .sweep import run_tasks, sweep_plans, well_result

    comm = ctx.comm
    sw = case["sweep"]
    torch.set_num_threads(case["pinn"]["threads"])
    plans = sweep_plans(case["potential"], sw["parameter"], sw["values"], case["states"]["n"],
                        case["box"]["tolerance"], case["box"]["margin"])
    n = plans[0].n
    x = np.linspace(plans[0].box.lo, plans[0].box.hi, case["states"]["points"])
    rprint(f"sweep of {sw['parameter']} over {len(sw['values'])} values, {n} state(s) each, box "
           f"[{x[0]:.6g}, {x[-1]:.6g}], on {comm.size} rank(s)", comm=comm)
    pc = case["pinn"]
    tasks, warnings = run_tasks(plans, sw["values"], config(pc), x, comm, progress=not ctx.quiet and comm.rank == 0,
                                bound_tolerance=pc["bound_tolerance"], require_convergence=pc["require_convergence"])
    res = well_result(tasks, sw["parameter"], x, case["potential"])
    res.say(f"{sw['parameter']:>10} " + " ".join(f"{'E_' + str(k):>12} {'rel err':>8} {'bound':>7}" for k in range(n)))
    for t in tasks:
        res.say(f"{t['value']:10.4g} " + " ".join(
            f"{t['E'][k]:12.6f} {abs(t['E'][k] / t['E_exact'][k] - 1):8.1e} "
            f"{'holds' if t['E_lower'][k] <= t['E_exact'][k] <= t['E_upper'][k] else 'NO':>7}" for k in range(n)))
    for line in warnings:
        res.say(line)
    res.attrs.update({"pinn_config": dataclasses.asdict(config(pc)), "swept_parameter": sw["parameter"],
                      "potential_type": case["potential"]["type"], "converged": not warnings,
                      "bound_tolerance": pc["bound_tolerance"]})
    return res
