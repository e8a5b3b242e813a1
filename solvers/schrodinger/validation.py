"""``validate schrodinger_ref`` (fast: exact references, FD order) and ``validate schrodinger`` (slow:
PINN energies and wavefunctions against the exact references, orthogonality, node counts, plots)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..parallel import rprint
from ..registry import CheckResult, check
from ..validation import observed_orders
from . import exact, finite_difference, pinn
from .potentials import barrier, finite_well, infinite_well

JIN_WELL = (20.0, 1.7, 0.5)                               # V0, a, c of Jin et al.
JIN_LEVELS = (0.357144, 1.426322, 3.200236, 5.664576)     # validation.md, 6 significant digits

PINN_CASES = {   # name -> (potential, energy targets per state)
    "infinite_well": (infinite_well(), (1e-7, 1e-4, 1e-4)),
    "finite_well": (finite_well(50.0, 0.5, 2.0), (1e-5, 1e-4, 1e-4)),
    "barrier": (barrier(100.0, 0.2), (1e-5, 1e-4, 1e-4)),
}


@check("schrodinger_ref", doc="exact well levels (Jin et al. values, transfer matrix) and FD order 2")
def validate_references(comm, plots: str | None = None) -> list[CheckResult]:
    V0, a, c = JIN_WELL
    line = exact.finite_well_levels(V0, a, c, 4)
    box = exact.box_levels(finite_well(V0, a, 9.0, c), 4)
    inf = exact.box_levels(infinite_well(2.0, c=0.5), 4)
    out = [
        CheckResult("schrodinger-jin", "max |E - published|", float(np.max(np.abs(line - JIN_LEVELS))),
                    "<= 5e-7 (6 digits)", bool(np.max(np.abs(line - JIN_LEVELS)) <= 5e-7)),
        CheckResult("schrodinger-box", "max rel |E_box - E_line|", float(np.max(np.abs(box / line - 1))),
                    "<= 1e-12", bool(np.max(np.abs(box / line - 1)) <= 1e-12)),
        CheckResult("schrodinger-inf", "max rel |E - c n²π²/L²|",
                    float(np.max(np.abs(inf / exact.infinite_well_levels(4, 2.0, 0.5) - 1))), "<= 1e-12",
                    bool(np.max(np.abs(inf / exact.infinite_well_levels(4, 2.0, 0.5) - 1)) <= 1e-12)),
    ]
    pot = finite_well(50.0, 0.5, 2.0)
    E = exact.box_levels(pot, 3)
    hs, errs = [], []
    for n in (100, 200, 400, 800):
        N = finite_difference.midway_size(pot, n)
        hs.append(pot.length / (N + 1))
        errs.append(float(np.max(np.abs(finite_difference.solve(pot, 3, N).E / E - 1))))
    _, slope = observed_orders(hs, errs)
    rprint("finite-difference reference, finite well V0=50 a=0.5 Lbox=2, jumps midway between nodes:", comm=comm)
    for h, e in zip(hs, errs):
        rprint(f"  h = {h:.4e}  max rel error (3 states) = {e:.3e}", comm=comm)
    out.append(CheckResult("schrodinger-fd", "order", slope, "2 ± 0.1", abs(slope - 2) <= 0.1))
    return out


@check("schrodinger", doc="PINN states 0-2 of the infinite well, finite well, barrier vs exact (minutes)",
       slow=True)
def validate_pinn(comm, plots: str | None = None) -> list[CheckResult]:
    """Each potential is trained on one rank (round robin); results are gathered to rank 0."""
    import torch
    torch.set_num_threads(1)
    names = list(PINN_CASES)
    mine = {}
    for i in range(comm.rank, len(names), comm.size):
        pot, _ = PINN_CASES[names[i]]
        x = np.linspace(pot.lo, pot.hi, 801)
        mine[names[i]] = (x, pinn.solve(pot, 3, pinn.PINNConfig(), x), *exact.box_states(pot, 3, x))
    runs = {}
    for part in comm.allgather(mine):
        runs.update(part)
    out = []
    for name in names:
        x, states, E, psi_ex = runs[name]
        targets = PINN_CASES[name][1]
        for s in states:
            rel = abs(s.E / E[s.n] - 1)
            err = float(min(np.sqrt(np.trapz((sg * s.psi - psi_ex[s.n]) ** 2, x)) for sg in (1, -1)))
            out.append(CheckResult(f"pinn-{name}-{s.n}", "E rel error", rel, f"<= {targets[s.n]:g}",
                                   rel <= targets[s.n], f"{s.seconds:.0f} s"))
            out.append(CheckResult(f"pinn-{name}-{s.n}", "psi L2 error", err, "<= 1e-2", err <= 1e-2))
            out.append(CheckResult(f"pinn-{name}-{s.n}", "nodes", s.nodes, f"== {s.n}", s.nodes == s.n))
        gram = np.array([[np.trapz(a.psi * b.psi, x) for b in states] for a in states])
        off = float(np.max(np.abs(gram - np.eye(len(states)))))
        out.append(CheckResult(f"pinn-{name}", "max |<ψi,ψj> - δij|", off, "<= 1e-3", off <= 1e-3))
        if plots and comm.rank == 0:
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
    ax[2].set_title("|E - E_exact| / E_exact")
    for a in ax:
        a.legend(fontsize=8)
    ax[1].set_xlabel("epoch / L-BFGS evaluation")
    ax[2].set_xlabel("epoch / L-BFGS evaluation")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
