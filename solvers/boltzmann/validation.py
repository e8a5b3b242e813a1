"""``validate boltzmann``: BKW (2D, 3D), Q(M) = 0, conservation, entropy, exact Maxwell-mixture
relaxation rates, the AP scheme's small-ε rate and large-dt stability, and the hard-sphere cross
operator against an independent quadrature and a closed-form exchange rate.
``validate boltzmann_slow``: 3D BKW time evolution at N = 32 and AP vs full solver at m_H/m_L = 16, 100."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from mpi4py import MPI

from ..parallel import rprint
from ..registry import CheckResult, check
from . import quadrature, runs
from .ap_scheme import Mixture, MixtureParams, initial_data, reference_temperatures, time_levels
from .fast_spectral import SPHERE_AREA, FastSpectral, conservative_projection
from .mixture import CrossCollision
from .velocity import VelocityGrid
from . import validation_space  # noqa: F401  (registers the boltzmann_space checks)

RATE_RATIOS = (1.0, 4.0, 16.0, 100.0)


def mixture_rate(mass_ratio: float, dim: int = 2, n: int = 24, comm: MPI.Comm = MPI.COMM_SELF, n_L=1.0, n_H=0.7, T_L=1.2,
                 T_H=0.8) -> tuple[float, float]:
    """Measured ``-d(T_L - T_H)/dt / (T_L - T_H)`` from the full cross operators (Maxwell molecules,
    Maxwellian data), and the exact ``λ_T``. The moment equations are exact for Maxwell molecules, so
    the instantaneous rate is the decay rate at all times."""
    mL, mH = 1.0, float(mass_ratio)
    gL = VelocityGrid.for_species(dim, n, mL, Lhat=7.0)
    gH = VelocityGrid.for_species(dim, n, mH, Lhat=7.0)
    fL, fH = gL.maxwellian(n_L, np.zeros(dim), T_L, mL), gH.maxwellian(n_H, np.zeros(dim), T_H, mH)
    QLH = CrossCollision(gL, gH, mL, mH, comm=comm)(fL, fH)
    QHL = CrossCollision(gH, gL, mH, mL, comm=comm)(fH, fL)
    dTL = mL * (gL.speed2() * QLH).sum() * gL.vol / (dim * n_L)
    dTH = mH * (gH.speed2() * QHL).sum() * gH.vol / (dim * n_H)
    return float(-(dTL - dTH) / (T_L - T_H)), runs.exact_rate(mL, mH, n_L, n_H, 1.0)


def ap_rate(mass_ratio: float, dt: float, t_end: float, n: int = 24, comm: MPI.Comm = MPI.COMM_SELF) -> tuple[float, float, dict]:
    """Decay rate of ``T_L - T_H`` in the AP scheme (Maxwell molecules), fitted while it falls from
    ``e^-0.5`` to ``e^-2.5`` of its initial value, and the exact ``λ_T``. First order in time: the
    fitted rate exceeds the scheme's ``λ`` by ``≈ λ dt / 2`` (0.4% with the steps used here)."""
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio, gamma=0.0), comm=comm,
                  T_ref=reference_temperatures(1.0, 1.0, 1.5, 0.5))
    fL, fH = initial_data(mix, "maxwellian", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    res = runs.run_mixture(mix, "ap", fL, fH, time_levels(t_end, dt))
    lam = runs.decay_rate(res["t"], res["T_L"] - res["T_H"], math.exp(-0.5), math.exp(-2.5))
    return lam, runs.exact_rate(1.0, mass_ratio, 1.0, 1.0, 1.0), res


def _plot_series(path: Path, title: str, xs, series: dict, logx=False, logy=False, xlabel="t") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, (x, y) in series.items():
        ax.plot(x, y, label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


@check("boltzmann", doc="BKW 2D/3D, Q(M)=0, conservation, entropy, exact mixture rates, AP rate and stability, "
                        "hard-sphere cross operator vs quadrature")
def validate_boltzmann(comm, plots: str | None = None) -> list[CheckResult]:
    res: list[CheckResult] = []
    # 1. BKW, collision operator against df/dt at t0
    rprint("\nBKW: max|Q(f) - df/dt| / max|df/dt| (R = 6, L = (3+sqrt2)R/4, N_rho = N/2)", comm=comm)
    rprint(f"{'dim':>3} {'N':>3} {'M':>4} {'error':>10} {'mass':>9} {'energy':>9}", comm=comm)
    for dim, n, t0 in ((2, 16, 1.0), (2, 24, 1.0), (2, 32, 1.0), (3, 16, 5.5), (3, 24, 5.5), (3, 32, 5.5)):
        r = runs.bkw_operator_error(dim, n, 6.0, t0, comm=comm)
        rprint(f"{dim:>3} {n:>3} {r['M']:>4} {r['error']:10.3e} {r['mass']:9.1e} {r['energy']:9.1e}", comm=comm)
        if n == 32:
            tol = 1e-4 if dim == 2 else 1e-5
            res.append(CheckResult(f"bkw-{dim}d-operator", f"rel. error N=32 M={r['M']}", r["error"], f"<= {tol:g}",
                                   r["error"] <= tol))
    # 2. BKW 2D evolution t0 .. t0 + 3, RK4 dt = 0.1
    ev = runs.bkw_evolution(2, 32, 6.0, 1.0, 4.0, 0.1, comm=comm)
    res.append(CheckResult("bkw-2d-evolution", "max rel. error t0..t0+3", float(ev["error"].max()), "<= 1e-4",
                           float(ev["error"].max()) <= 1e-4))
    dH = float(np.diff(ev["H"]).max())
    res.append(CheckResult("bkw-2d-entropy", "max H(t_{n+1}) - H(t_n)", dH, "<= 1e-12", dH <= 1e-12))
    drift = float(max(abs(ev["mass"][-1] / ev["mass"][0] - 1), abs(ev["energy"][-1] / ev["energy"][0] - 1)))
    res.append(CheckResult("bkw-2d-conservative", "mass/energy drift (projected Q)", drift, "<= 1e-12", drift <= 1e-12))
    if plots and comm.rank == 0:
        _plot_series(Path(plots) / "boltzmann_bkw_2d.png", "BKW 2D, N=32: relative max error", None,
                     {"error": (ev["t"], ev["error"])}, logy=True)
    # 3. Maxwellian and raw conservation of the spectral operator
    g = VelocityGrid(2, 32, runs.bkw_grid(2, 32, 6.0).L)
    op = FastSpectral(g, R=6.0, comm=comm)
    M = g.maxwellian(1.0, [0.2, -0.1], 1.0)
    qm = float(np.abs(op(M)).max() / np.abs(op.loss(M)).max())
    res.append(CheckResult("maxwellian-2d", "max|Q(M,M)| / max|Q-(M,M)|", qm, "<= 1e-6", qm <= 1e-6))
    r = runs.bkw_operator_error(2, 32, 6.0, 1.0, comm=comm)
    qc = conservative_projection(g, r["Q"])
    raw = max(r["mass"], r["momentum"], r["energy"])
    cons = float(max(abs(qc.sum()), *(abs((vd * qc).sum()) for vd in g.v), abs((g.speed2() * qc).sum())) * g.vol)
    res.append(CheckResult("conservation-2d", "raw |∫Q(1,v,|v|^2)| (spectral)", raw, "<= 1e-6 (spectral)", raw <= 1e-6))
    res.append(CheckResult("conservation-2d", "projected |∫Q(1,v,|v|^2)|", cons, "<= 1e-12", cons <= 1e-12))
    # 4. exact Maxwell-molecule mixture rates
    rprint("\nMixture, Maxwell molecules (2D, N=24 per species, common grid): decay rate of T_L - T_H", comm=comm)
    for mr in RATE_RATIOS:
        lam, ex = mixture_rate(mr, comm=comm)
        rprint(f"  m_H/m_L = {mr:5g}: lambda_T = {lam:.6f}, exact {ex:.6f}, rel. error {lam / ex - 1:+.2e}", comm=comm)
        res.append(CheckResult(f"mixture-rate-{mr:g}", "lambda_T / exact - 1", lam / ex - 1, "|.| <= 1%",
                               abs(lam / ex - 1) <= 0.01))
    # 5. AP scheme: small-eps limit of the rate, and stability with a large dt
    for mr, dt, t_end in ((1e3, 2.0, 700.0), (1e4, 20.0, 7000.0)):
        lam, ex, _ = ap_rate(mr, dt, t_end, comm=comm)
        rprint(f"  AP, m_H/m_L = {mr:g}, dt = {dt:g}: lambda_T = {lam:.6e}, exact {ex:.6e}, rel. {lam / ex - 1:+.2e}",
               comm=comm)
        res.append(CheckResult(f"ap-rate-{mr:g}", "lambda_T / exact - 1", lam / ex - 1, "|.| <= 1%",
                               abs(lam / ex - 1) <= 0.01))
    mix = Mixture(MixtureParams(dim=2, n=24, mass_ratio=1e4, gamma=1.0), comm=comm,
                  T_ref=reference_temperatures(1.0, 1.0, 1.5, 0.5))
    fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    ts = time_levels(2e4, 100.0)
    ap = runs.run_mixture(mix, "ap", fL, fH, ts)
    ex = runs.run_mixture(mix, "explicit_asymptotic", fL, fH, ts[:20])
    dT = float(abs(ap["T_L"][-1] - ap["T_H"][-1]))
    ok = (not ap["blew_up"]) and dT < 1e-3 and abs(ap["energy"][-1] / ap["energy"][0] - 1) < 1e-6
    res.append(CheckResult("ap-stability-1e4", "|T_L - T_H| at t=2e4, dt=100", dT, "< 1e-3, no blow-up", ok))
    res.append(CheckResult("explicit-blowup-1e4", "explicit RK4 dt=100 blew up", float(ex["blew_up"]), "= 1",
                           bool(ex["blew_up"])))
    res += hard_sphere_mixture_checks(comm)
    if plots:
        _plot_epochs(Path(plots) / "boltzmann_epochs_1e3.png", comm)
    return res


def hard_sphere_mixture_checks(comm) -> list[CheckResult]:
    """The full cross operator against the independent quadrature (:mod:`.quadrature`, itself checked
    against exact properties), the closed-form hard-sphere temperature exchange and pair conservation."""
    res: list[CheckResult] = []
    b, mH = 1.0 / SPHERE_AREA[2], 16.0
    v = np.stack(np.meshgrid(*([np.linspace(-3.0, 3.0, 7)] * 2), indexing="ij"), -1)
    uH, TH = np.array([0.1, -0.05]), 0.9
    eq = quadrature.cross_operator(v, quadrature.maxwellian(1.0, uH, TH, 1.0), 1.0, mH, 0.7, uH, TH, 1.0, b)
    loss = quadrature.maxwellian(1.0, uH, TH, 1.0)(v) * quadrature.hard_sphere_frequency(v, mH, 0.7, uH, TH, b)
    e_eq = float(np.abs(eq).max() / np.abs(loss).max())
    nu = quadrature.collision_frequency(v, mH, 0.7, uH, TH, 1.0, b)
    e_nu = float(np.abs(nu / quadrature.hard_sphere_frequency(v, mH, 0.7, uH, TH, b) - 1).max())
    rprint("\nHard-sphere mixture (2D): reference quadrature vs exact properties (m_H/m_L = 16)", comm=comm)
    rprint(f"  Q_LH(M_L, M_H), common u and T: max|Q| / max|Q-| = {e_eq:.2e};  "
           f"loss frequency vs the Rice mean: max rel. {e_nu:.2e}", comm=comm)
    res.append(CheckResult("quadrature-equilibrium", "max|Q(M,M)| / max|Q-|", e_eq, "<= 1e-9", e_eq <= 1e-9))
    res.append(CheckResult("quadrature-frequency", "max |nu / nu_exact - 1|", e_nu, "<= 1e-10", e_nu <= 1e-10))
    rprint("Full Q_LH (common grid, sampled at the light nodes, conservative) vs the quadrature, N = 24, "
           "heavy Maxwellian u_H = (0.13, -0.07), T_H = 0.8:", comm=comm)
    rprint(f"  {'m_H/m_L':>7} {'gamma':>5} {'f_L':>10} {'rel. L2':>9} {'max rel.':>9} {'mass':>8} {'momentum':>8} "
           f"{'energy':>8}", comm=comm)
    for mr, gamma, data, tol in ((16.0, 1.0, "maxwellian", 1e-3), (16.0, 1.0, "two-bump", 1e-3),
                                 (100.0, 1.0, "maxwellian", 1e-3), (16.0, 0.0, "maxwellian", 1e-5)):
        r = runs.cross_operator_error(mr, gamma=gamma, data=data, comm=comm)
        rprint(f"  {mr:7g} {gamma:5g} {data:>10} {r['l2']:9.2e} {r['max']:9.2e} {r['mass']:8.1e} {r['momentum']:8.1e} "
               f"{r['energy']:8.1e}", comm=comm)
        name = f"cross-{'hs' if gamma else 'mm'}-{mr:g}-{data}"
        res.append(CheckResult(name, "rel. L2 error of Q_LH vs quadrature", r["l2"], f"<= {tol:g}", r["l2"] <= tol))
        cons = max(r["mass"], r["momentum"], r["energy"])
        res.append(CheckResult(name + "-conservation", "mass_i, total momentum, energy (rel.)", cons, "<= 1e-13",
                               cons <= 1e-13))
    rprint("Hard-sphere temperature exchange of Maxwellians at rest (T_L = 1.2, T_H = 0.8), dT_L/dt vs closed form:",
           comm=comm)
    for mr in (4.0, 16.0, 100.0):
        rate, exact = runs.hard_sphere_exchange(mr, comm=comm)
        rprint(f"  m_H/m_L = {mr:5g}: {rate:.8f}, exact {exact:.8f}, rel. error {rate / exact - 1:+.2e}", comm=comm)
        res.append(CheckResult(f"hs-exchange-{mr:g}", "dT_L/dt / exact - 1", rate / exact - 1, "|.| <= 1e-5",
                               abs(rate / exact - 1) <= 1e-5))
    return res


def _plot_epochs(path: Path, comm) -> None:
    """T_L, T_H and the distances to the Maxwellians of an AP run at m_H/m_L = 1000 (log time)."""
    mix = Mixture(MixtureParams(dim=2, n=24, mass_ratio=1e3, gamma=1.0), comm=comm,
                  T_ref=reference_temperatures(1.0, 1.0, 1.5, 0.5))
    fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    r = runs.run_mixture(mix, "ap", fL, fH, time_levels(3000.0, 0.02, 1.05, 50.0))
    if comm.rank != 0:
        return
    t = r["t"][1:]
    _plot_series(path, "AP, m_H/m_L = 1000: temperatures", None,
                 {"T_L": (t, r["T_L"][1:]), "T_H": (t, r["T_H"][1:])}, logx=True)
    _plot_series(path.with_name(path.stem + "_dist.png"), "AP, m_H/m_L = 1000: ||f - M[f]||_1 / ||f||_1", None,
                 {"light": (t, r["dist_L"][1:]), "heavy": (t, r["dist_H"][1:])}, logx=True, logy=True)
    rprint(f"plots: {path}, {path.with_name(path.stem + '_dist.png')}", comm=comm)


@check("boltzmann_slow", doc="3D BKW evolution N=32; AP vs full solver at m_H/m_L = 16, 100 (2D N=16, t <= 9)",
       slow=True)
def validate_boltzmann_slow(comm, plots: str | None = None) -> list[CheckResult]:
    res: list[CheckResult] = []
    ev = runs.bkw_evolution(3, 32, 6.0, 5.5, 8.5, 0.1, comm=comm)
    e = float(ev["error"].max())
    rprint(f"\nBKW 3D N=32 RK4 dt=0.1, t = 5.5..8.5: max relative error {e:.3e}", comm=comm)
    res.append(CheckResult("bkw-3d-evolution", "max rel. error t0..t0+3", e, "<= 1e-5", e <= 1e-5))
    errs = []
    for mr in (16.0, 100.0):
        cmp = compare_ap_full(mr, comm=comm)
        errs.append(cmp["error"])
        rprint(f"  AP vs full, m_H/m_L = {mr:g}: max |T_AP - T_full| / |T_L(0) - T_H(0)| = {cmp['error']:.3e}",
               comm=comm)
        res.append(CheckResult(f"ap-vs-full-{mr:g}", "max |ΔT| / ΔT(0)", cmp["error"], "<= 0.1", cmp["error"] <= 0.1))
    res.append(CheckResult("ap-vs-full-trend", "error(100) / error(16)", errs[1] / errs[0], "< 1", errs[1] < errs[0]))
    return res


def compare_ap_full(mass_ratio: float, n: int = 16, dt: float = 0.15, t_end: float = 9.0, comm: MPI.Comm = MPI.COMM_SELF,
                    T_L: float = 1.2, T_H: float = 0.8) -> dict:
    """Hard spheres, 2D, bimodal data: AP (asymptotic cross operators) vs explicit RK4 with the full
    cross operators, same small ``dt``, on ``[0, t_end]``. The difference is the truncation error of
    the expansion in ε (plus the AP scheme's first-order time error)."""
    p = MixtureParams(dim=2, n=n, mass_ratio=mass_ratio, gamma=1.0)
    mix = Mixture(p, comm=comm, full_cross=True, T_ref=reference_temperatures(1.0, 1.0, T_L, T_H))
    fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, T_L, T_H, [0, 0], [0, 0])
    ts = time_levels(t_end, dt)
    full = runs.run_mixture(mix, "explicit", fL, fH, ts)
    ap = runs.run_mixture(mix, "ap", fL, fH, ts)
    d0 = abs(full["T_L"][0] - full["T_H"][0])
    err = max(np.abs(ap["T_L"] - full["T_L"]).max(), np.abs(ap["T_H"] - full["T_H"]).max()) / d0
    return {"error": float(err), "full": full, "ap": ap, "t_end": t_end}
