"""``validate schrodinger_ref`` (fast: exact references, bound-state counts, truncation, FD order) and
``validate schrodinger`` (slow: PINN energies, wavefunctions and a posteriori bounds against the
exact references on walled wells and on potentials on the whole line: finite well (all states),
double well (tunnelling splitting), asymmetric well, multiple barriers, harmonic oscillator). torch
is imported by the PINN check only."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..parallel import rprint
from ..registry import CheckResult, check
from ..validation import RefinementStudy, observed_orders
from . import exact, finite_difference, truncation
from .plan import energy_bounds, make_plan
from .potentials import barrier, finite_well, finite_well_line, harmonic, infinite_well, pieces

JIN_WELL = (20.0, 1.7, 0.5)                               # V0, a, c of Jin et al.
JIN_LEVELS = (0.357144, 1.426322, 3.200236, 5.664576)     # validation.md, 6 significant digits
DEEP_WELLS = ((500.0, 2.5, 12.0), (2000.0, 4.0, 30.0))    # V0, a, box half-width: e^{κ(L - a)} up to e^{1000}

# name -> (potential, states, energy targets per state (the last repeats)[, PINNConfig fields that differ
# from the defaults]); line potentials: box chosen
PINN_CASES = {
    "infinite_well": (infinite_well(), 3, (1e-7, 1e-4)),
    "finite_well": (finite_well(50.0, 0.5, 2.0), 3, (1e-5, 1e-4)),
    "barrier": (barrier(100.0, 0.2), 3, (1e-5, 1e-4)),
    "finite_well_line": (finite_well_line(50.0, 0.5), "all", (1e-6, 1e-5)),
    "double_well": (pieces([[-2.0, -0.5, 0.0], [0.5, 2.0, 0.0]], outside=50.0), 2, (1e-6, 1e-5)),
    "asymmetric_well": (pieces([[-1.0, 0.0, 0.0], [0.0, 1.5, 12.0]], outside=40.0), "all", (1e-6, 1e-5),
                        {"tail_kappa": "previous"}),
    "two_barriers": (pieces([[-1.5, -0.3, 0.0], [-0.3, -0.1, 60.0], [-0.1, 0.1, 0.0], [0.1, 0.3, 60.0],
                             [0.3, 1.5, 0.0]], outside=60.0), 3, (1e-6, 1e-5), {"polish_rounds": 6}),
    "harmonic": (harmonic(2.0), 4, (1e-6, 1e-5)),       # V = x², E_n = 2n + 1: the smooth potential
}
SPLITTING_TARGET = 1e-2                                   # double well: |ΔE_PINN / ΔE - 1|


def case_config(name: str):
    """The PINNConfig of validation case ``name``: the defaults, except the fields the case sets."""
    from .config import PINNConfig

    case = PINN_CASES[name]
    return PINNConfig(**(case[3] if len(case) > 3 else {}))


def _ok(name: str, quantity: str, value: float, bound: float, detail: str = "") -> CheckResult:
    return CheckResult(name, quantity, float(value), f"<= {bound:g}", bool(value <= bound), detail)



class FiniteDifferenceWell(RefinementStudy):
    """3-point FD levels of the finite well V0 = 50, a = 0.5 in a box of half-width 2 with the
    jumps midway between nodes; error = max relative error of the 3 lowest levels (order 2)."""

    def __init__(self, levels=(100, 200, 400)):
        self.levels = tuple(levels)
        self.pot = finite_well(50.0, 0.5, 2.0)
        self.E = exact.box_levels(self.pot, 3)

    def errors(self, level: int) -> tuple[float, dict[str, float]]:
        n = finite_difference.midway_size(self.pot, level)
        E = finite_difference.solve(self.pot, 3, n).E
        return self.pot.length / (n + 1), {"max rel": float(np.max(np.abs(E / self.E - 1)))}

@check("schrodinger_ref", doc="exact well levels and states (Jin et al., deep wells, harmonic oscillator), "
                              "bound-state counts, truncation, FD order 2")
def validate_references(comm, plots: str | None = None) -> list[CheckResult]:
    V0, a, c = JIN_WELL
    line = exact.finite_well_levels(V0, a, c, 4)
    box = exact.box_levels(finite_well(V0, a, 9.0, c), 4)
    inf = exact.box_levels(infinite_well(2.0, c=0.5), 4)
    out = [
        _ok("schrodinger-jin", "max |E - published|", np.max(np.abs(line - JIN_LEVELS)), 5e-7, "6 digits"),
        _ok("schrodinger-box", "max rel |E_box - E_line|", np.max(np.abs(box / line - 1)), 1e-12),
        _ok("schrodinger-inf", "max rel |E - c n²π²/L²|",
            np.max(np.abs(inf / exact.infinite_well_levels(4, 2.0, 0.5) - 1)), 1e-12),
    ]
    for V0, a, L in DEEP_WELLS:                            # the stable states against the closed forms
        x = np.linspace(-L, L, 20001)
        psi_line = exact.finite_well_states(x, V0, a)
        E, psi = exact.box_states(finite_well(V0, a, L), len(psi_line), x)
        l2 = np.sqrt(np.trapz((psi - psi_line) ** 2, x, axis=1))
        peak = np.max(np.abs(psi).max(axis=1) / np.abs(psi_line).max(axis=1) - 1)
        tag = f"schrodinger-deep-V0={V0:g}-a={a:g}"
        out += [_ok(tag, f"max ψ L2 error ({len(E)} states)", np.max(l2), 1e-10, f"box ±{L:g}"),
                _ok(tag, "max |ψ| / max |ψ_exact| - 1", peak, 1e-10)]
    rng = np.random.default_rng(2024)                      # Sturm count at the threshold vs the roots
    wrong = 0
    for _ in range(50):
        V0, a, c = rng.uniform(1, 300), rng.uniform(0.2, 3), rng.uniform(0.3, 2)
        wrong += truncation.bound_state_count(finite_well_line(V0, a, c)) != len(exact.finite_well_levels(V0, a, c))
    out.append(CheckResult("schrodinger-count", "wrong bound-state counts (50 random wells)", wrong, "== 0", wrong == 0))
    plan = make_plan(finite_well_line(50.0, 0.5), "all", 1e-9)
    shift = float(np.max(np.abs(exact.box_levels(plan.box, plan.n) / plan.line_levels() - 1)))
    out.append(_ok("schrodinger-truncation", "rel |E_box - E_line| (V0=50, a=0.5, all states)", shift, 1e-9,
                   plan.trunc.describe()))
    dw = PINN_CASES["double_well"][0]                      # transfer matrix vs FD: independent references
    E_tm = truncation.line_levels(dw, 2)
    box = make_plan(dw, 2, 1e-12).box
    N = finite_difference.midway_size(box, 8000)
    fd = finite_difference.solve(box, 2, N).E
    split = abs((fd[1] - fd[0]) / (E_tm[1] - E_tm[0]) - 1)
    out.append(_ok("schrodinger-double-fd", "|ΔE_FD / ΔE_TM - 1|", split, 1e-2, f"FD N = {N}, ΔE = {E_tm[1] - E_tm[0]:.4e}"))
    ho = harmonic(3.0, 0.25, 0.5)                          # the PINN's box reference vs (n + ½) ω, Hermite functions
    box = ho.margin_box(10.0)
    xg = np.linspace(box.lo, box.hi, 4001)
    E_lg, psi_lg = exact.box_states(box, 8, xg)
    out += [_ok("schrodinger-harmonic-box", "max rel |E_LG - (n+½)ω| (box x0 ± 10, 8 states)",
                np.max(np.abs(E_lg / exact.harmonic_levels(8, 3.0) - 1)), 1e-10, "Legendre-Galerkin"),
            _ok("schrodinger-harmonic-box", "max ψ L2 error vs Hermite functions",
                np.max(np.sqrt(np.trapz((psi_lg - exact.harmonic_states(xg - 0.25, 8, 3.0, 0.5)) ** 2, xg, axis=1))),
                1e-9)]
    plan = make_plan(harmonic(2.0), 4, 1e-9)
    out.append(_ok("schrodinger-harmonic-truncation", "rel |E_box - (n+½)ω| (ω = 2, states 0-3)", plan.trunc.shift,
                   1e-9, plan.trunc.describe()))
    omega, L = 3.0, 8.0                                    # harmonic oscillator: FD on a smooth V vs (n + ½) ω
    N = 4000
    h = 2 * L / (N + 1)
    xi = -L + h * np.arange(1, N + 1)
    from scipy.linalg import eigh_tridiagonal
    E_ho = eigh_tridiagonal(2 / h ** 2 + omega ** 2 * xi ** 2 / 4, np.full(N - 1, -1 / h ** 2),
                            select="i", select_range=(0, 3))[0]
    out.append(_ok("schrodinger-harmonic", "max rel |E_FD - (n+½)ω| (N = 4000)",
                   np.max(np.abs(E_ho / exact.harmonic_levels(4, omega) - 1)), 1e-5))
    xg = np.linspace(-L, L, 8001)
    herm = exact.harmonic_states(xg, 4, omega)
    out.append(_ok("schrodinger-hermite", "max |<ψi,ψj> - δij|",
                   np.max(np.abs(np.trapz(herm[:, None] * herm[None], xg) - np.eye(4))), 1e-10))
    study = FiniteDifferenceWell((100, 200, 400, 800))
    hs, errs = study.run()
    errs = errs["max rel"]
    pairwise, slope = observed_orders(hs, errs)
    rprint("finite-difference reference, finite well V0=50 a=0.5 Lbox=2, jumps midway between nodes:", comm=comm)
    for h, e in zip(hs, errs):
        rprint(f"  h = {h:.4e}  max rel error (3 states) = {e:.3e}", comm=comm)
    out.append(CheckResult("schrodinger-fd", "order", slope, "2 ± 0.1", study.passed(pairwise, slope)))
    return out


def pinn_checks(name: str, plan, states: list, x: np.ndarray, targets: tuple) -> list[CheckResult]:
    """Energy (vs the line levels for a line potential, else the box), bound containment (box level),
    ψ error (against the line's states where known in closed form: Hermite functions), node count
    per state; orthogonality; the tunnelling splitting of a double well."""
    E_box, psi_ex = exact.box_states(plan.box, plan.n, x)
    if plan.line_states(x) is not None:
        psi_ex = plan.line_states(x)
    E_ref = plan.line_levels() if plan.line is not None else E_box
    lo, hi = energy_bounds(plan, states)
    out = []
    for s in states:
        tag, target = f"pinn-{name}-{s.n}", targets[min(s.n, len(targets) - 1)]
        rel = abs(s.E / E_ref[s.n] - 1)
        err = float(min(np.sqrt(np.trapz((sg * s.psi - psi_ex[s.n]) ** 2, x)) for sg in (1, -1)))
        inside = lo[s.n] <= E_box[s.n] <= hi[s.n]
        out += [_ok(tag, "E rel error", rel, target, f"{s.seconds:.0f} s"),
                CheckResult(tag, "bound holds exact E", hi[s.n] - lo[s.n], f"[{lo[s.n]:.10g}, {hi[s.n]:.10g}] ∋ E",
                            bool(inside), "value: bound width"),
                _ok(tag, "psi L2 error", err, 1e-2),
                CheckResult(tag, "nodes", s.nodes, f"== {s.n}", s.nodes == s.n)]
    gram = np.array([[np.trapz(a.psi * b.psi, x) for b in states] for a in states])
    out.append(_ok(f"pinn-{name}", "max |<ψi,ψj> - δij|", np.max(np.abs(gram - np.eye(len(states)))), 1e-3))
    if name == "double_well":
        split = abs((states[1].E - states[0].E) / (E_ref[1] - E_ref[0]) - 1)
        out.append(_ok(f"pinn-{name}", "|ΔE / ΔE_exact - 1|", split, SPLITTING_TARGET,
                       f"ΔE/E0 = {(E_ref[1] - E_ref[0]) / E_ref[0]:.1e}"))
    return out


@check("schrodinger", doc="PINN states of walled wells and of line potentials (all bound states, double, "
                          "asymmetric, two barriers; harmonic oscillator) vs exact, with a posteriori bounds "
                          "(many minutes)", slow=True)
def validate_pinn(comm, plots: str | None = None) -> list[CheckResult]:
    """Each potential is trained on one rank (round robin); results are gathered to every rank."""
    import torch

    from . import pinn

    torch.set_num_threads(1)
    names = list(PINN_CASES)
    mine = {}
    for i in range(comm.rank, len(names), comm.size):
        pot, states = PINN_CASES[names[i]][:2]
        plan = make_plan(pot, states, 1e-9)
        x = np.linspace(plan.box.lo, plan.box.hi, 801)
        mine[names[i]] = (plan, x, pinn.solve(plan.box, plan.n, case_config(names[i]), x))
    runs = {}
    for part in comm.allgather(mine):
        runs.update(part)
    out = []
    for name in names:
        plan, x, states = runs[name]
        out += pinn_checks(name, plan, states, x, PINN_CASES[name][2])
        if plots and comm.rank == 0:
            E, psi_ex = exact.box_states(plan.box, plan.n, x)
            rprint(f"plot: {plot_states(Path(plots) / f'schrodinger_{name}.png', name, x, states, E, psi_ex)}",
                   comm=comm)
    return out


def plot_states(path: Path, title: str, x: np.ndarray, states: list, E: np.ndarray, psi_ex: np.ndarray) -> str:
    """ψ_n (PINN vs exact) and the training curves (loss, |E - E_exact|/E_exact) to one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for s in states:
        line, = ax[0].plot(x, s.psi, lw=2, alpha=0.6, label=f"PINN n={s.n}")
        ax[0].plot(x, psi_ex[s.n], "k--", lw=0.8)
        ax[1].semilogy(s.history["loss"], color=line.get_color(), lw=0.8, label=f"n={s.n}")
        ax[2].semilogy(np.abs(s.history["E"] / E[s.n] - 1), color=line.get_color(), lw=0.8, label=f"n={s.n}")
    ax[0].set_title(f"{title}: ψ_n (dashed: exact)")
    ax[1].set_title("loss (Ritz phase, PINN Adam, L-BFGS)")
    ax[2].set_title("|E - E_exact| / E_exact (R[ψ] or trained E)")
    for a in ax:
        a.legend(fontsize=8)
    ax[1].set_xlabel("epoch / L-BFGS evaluation")
    ax[2].set_xlabel("epoch / L-BFGS evaluation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
