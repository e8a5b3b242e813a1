"""Benchmark of the Boltzmann family (run once; all ratios are measured side by side in this run).

1. One 3D fast spectral evaluation at N = 16, 24, 32 (fixed M directions and radial points): time and
   growth against N^3 log N.
2. Speed-up over the classical O(N^6) spectral sum (same radial rule, exact angular integral) at
   N = 8, 12, 16 (3D), with the difference between the two.
3. np = 2 vs np = 1: one 3D N = 32 evaluation with COMM_SELF and with the 2-rank communicator
   (launches ``mpirun -n 2`` on this script).
4. Run cost: AP scheme vs full explicit RK4 (full cross operators) at m_H/m_L = 16, errors
   against a fine full reference; per-step costs at m_H/m_L = 1024 (full cross on a 32N common grid)
   and the step counts each scheme needs, i.e. an extrapolated total for the full solver.
5. Epoch time scales of AP runs at m_H/m_L = 1e2, 1e3, 1e4 and the fitted powers of ε.
6. Stability with dt fixed by the slow scale (0.05/ε²) at m_H/m_L = 10 ... 1e4: AP vs explicit RK4.
7. The full cross operator ``Q_LH`` (2D N = 24) against the independent quadrature at m_H/m_L = 4, 16,
   100 (hard spheres, two light data; Maxwell molecules at 16): errors, pair conservation, cost.

    OMP_NUM_THREADS=1 python scripts/bench_boltzmann.py [--json results/boltzmann.json] [--quick] [--sections 4,7]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solvers.boltzmann import bkw, runs  # noqa: E402
from solvers.boltzmann.ap_scheme import (Mixture, MixtureParams, initial_data,  # noqa: E402
                                         reference_temperatures, time_levels)
from solvers.boltzmann.fast_spectral import FastSpectral, direct_spectral  # noqa: E402

N_DIR, N_RHO = 8, 8          # 3D: 2 * 8^2 = 128 directions on the sphere (64 evaluated by symmetry), 8 radii


def best_time(fn, repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        tic = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - tic)
    return best


def bench_fast(sizes=(16, 24, 32)) -> list[dict]:
    rows = []
    for n in sizes:
        g = runs.bkw_grid(3, n, 6.0)
        op = FastSpectral(g, R=6.0, n_rho=N_RHO, n_dir=N_DIR)
        f = bkw.f(5.5, g.speed2(), 3)
        rows.append({"N": n, "time": best_time(lambda: op(f)), "M": 2 * op.n_directions, "n_rho": N_RHO})
    base = rows[0]
    for r in rows:
        r["ratio"] = r["time"] / base["time"]
        r["model"] = (r["N"] ** 3 * math.log(r["N"])) / (base["N"] ** 3 * math.log(base["N"]))
    return rows


def bench_direct(sizes=(8, 12, 16)) -> list[dict]:
    rows = []
    for n in sizes:
        g = runs.bkw_grid(3, n, 6.0)
        f = bkw.f(5.5, g.speed2(), 3)
        op = FastSpectral(g, R=6.0, n_rho=N_RHO, n_dir=N_DIR)
        t_fast = best_time(lambda: op.gain(f))
        tic = time.perf_counter()
        ref = direct_spectral(g, f, R=6.0, n_rho=N_RHO)
        t_direct = time.perf_counter() - tic
        diff = float(np.abs(op.gain(f) - ref).max() / np.abs(ref).max())
        rows.append({"N": n, "direct": t_direct, "fast": t_fast, "speedup": t_direct / t_fast, "rel_diff": diff})
    return rows


def parallel_child() -> None:
    """Under mpirun -n 2: time one N=32 evaluation on 1 rank (COMM_SELF) and on 2 ranks."""
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    g = runs.bkw_grid(3, 32, 6.0)
    f = bkw.f(5.5, g.speed2(), 3)
    op2 = FastSpectral(g, R=6.0, n_rho=16, n_dir=N_DIR, comm=comm)
    t1 = math.inf
    if comm.rank == 0:
        op1 = FastSpectral(g, R=6.0, n_rho=16, n_dir=N_DIR, comm=MPI.COMM_SELF)
        t1 = best_time(lambda: op1(f))
        q1 = op1(f)
    comm.Barrier()
    t2 = math.inf
    for _ in range(3):
        comm.Barrier()
        tic = time.perf_counter()
        q2 = op2(f)
        t2 = min(t2, comm.allreduce(time.perf_counter() - tic, op=MPI.MAX))
    if comm.rank == 0:
        print(json.dumps({"np1": t1, "np2": t2, "speedup": t1 / t2, "efficiency": t1 / t2 / 2,
                          "max_diff": float(np.abs(q1 - q2).max())}))


def bench_parallel() -> dict:
    cmd = ["mpirun", "-n", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else []) + \
          [sys.executable, __file__, "--parallel-child"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_epochal(quick: bool) -> dict:
    """m_H/m_L = 16, hard spheres, 2D N = 16, bimodal data T_L = 1.2, T_H = 0.8, t in [0, 16]: full
    explicit RK4 at dt = 0.4, 0.8 and AP at dt = 0.4, 2.0, errors against a full RK4 reference, dt = 0.1."""
    mr, n, t_end = 16.0, 16, 16.0
    T_ref = reference_temperatures(1.0, 1.0, 1.2, 0.8)
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mr, gamma=1.0), full_cross=True, T_ref=T_ref)
    fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.2, 0.8, [0, 0], [0, 0])
    ref = runs.run_mixture(mix, "explicit", fL, fH, time_levels(t_end, 0.1))
    d0 = abs(ref["T_L"][0] - ref["T_H"][0])

    def err(res):
        if res["blew_up"]:
            return math.inf
        TL = np.interp(ref["t"], res["t"], res["T_L"])
        TH = np.interp(ref["t"], res["t"], res["T_H"])
        return float(max(np.abs(TL - ref["T_L"]).max(), np.abs(TH - ref["T_H"]).max()) / d0)

    rows = [{"scheme": "explicit (full)", "dt": 0.1, "steps": len(ref["t"]) - 1, "wall": ref["wall"], "error": 0.0}]
    for scheme, dt in (("explicit", 0.4), ("explicit", 0.8), ("ap", 0.4), ("ap", 2.0)):
        # same grids as the full run (boxes at the common temperature) so the initial data are shared
        m = mix if scheme == "explicit" else Mixture(MixtureParams(dim=2, n=n, mass_ratio=mr, gamma=1.0),
                                                     T_ref=(max(T_ref),) * 2)
        res = runs.run_mixture(m, scheme, fL, fH, time_levels(t_end, dt))
        rows.append({"scheme": "explicit (full)" if scheme == "explicit" else "ap", "dt": dt,
                     "steps": len(res["t"]) - 1, "wall": res["wall"], "error": err(res), "blew_up": res["blew_up"]})
    # per-step cost at m_H/m_L = 1024 (r = 32: a 512^2 common grid for the full cross operators)
    big = Mixture(MixtureParams(dim=2, n=n, mass_ratio=1024.0, gamma=1.0), full_cross=not quick, T_ref=(1.5, 1.5))
    gL, gH = initial_data(big, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    ap_steps = len(time_levels(3000.0, 0.02, 1.05, 50.0)) - 1
    t_ap = best_time(lambda: big.step("ap", gL, gH, 1.0), 2)
    extra = {"mass_ratio": 1024.0, "ap_step": t_ap, "ap_steps": ap_steps, "ap_total": t_ap * ap_steps}
    if not quick:
        t_rhs = best_time(lambda: big.rhs_full(gL, gH), 1)
        steps = int(3000.0 / 0.2)    # RK4 at dt = 0.2 (0.4 blew up at m_H/m_L = 16) to t = 3000
        extra.update(full_rhs=t_rhs, full_step=4 * t_rhs, full_steps=steps, full_total=4 * t_rhs * steps)
    return {"rows": rows, "large": extra}


def bench_epochs(ratios=(1e2, 1e3, 1e4)) -> dict:
    rows = []
    for mr in ratios:
        eps = 1 / math.sqrt(mr)
        mix = Mixture(MixtureParams(dim=2, n=24, mass_ratio=mr, gamma=1.0), T_ref=reference_temperatures(1, 1, 1.5, 0.5))
        fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
        res = runs.run_mixture(mix, "ap", fL, fH, time_levels(3.0 / eps ** 2, 0.02, 1.05))
        rows.append({"mass_ratio": mr, "eps": eps, **runs.epochs(res), "steps": len(res["t"]) - 1, "wall": res["wall"],
                     "energy_drift": float(abs(res["energy"][-1] / res["energy"][0] - 1))})
    le = np.log([r["eps"] for r in rows])
    fit = {k: float(np.polyfit(le, np.log([r[k] for r in rows]), 1)[0]) for k in ("tau_L", "tau_H", "tau_T")}
    return {"rows": rows, "exponents": fit, "predicted": {"tau_L": 0.0, "tau_H": -1.0, "tau_T": -2.0}}


def bench_stability(ratios=(10.0, 100.0, 1e3, 1e4), trial_dts=(0.025, 0.05, 0.1, 0.2, 0.4)) -> list[dict]:
    """dt fixed by the slow scale (dt = 0.05/ε², 60 steps to t = 3/ε²): AP vs explicit RK4 (asymptotic
    operators); and the largest explicit dt (of ``trial_dts``) that survives 30 steps."""
    rows = []
    for mr in ratios:
        eps = 1 / math.sqrt(mr)
        mix = Mixture(MixtureParams(dim=2, n=24, mass_ratio=mr, gamma=1.0), T_ref=reference_temperatures(1, 1, 1.5, 0.5))
        fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
        dt = 0.05 / eps ** 2
        ts = time_levels(3.0 / eps ** 2, dt)
        ap = runs.run_mixture(mix, "ap", fL, fH, ts)
        ex = runs.run_mixture(mix, "explicit_asymptotic", fL, fH, ts)
        stable = [h for h in trial_dts
                  if not runs.run_mixture(mix, "explicit_asymptotic", fL, fH, time_levels(30 * h, h))["blew_up"]]
        rows.append({"mass_ratio": mr, "dt": dt, "ap_blew_up": ap["blew_up"],
                     "ap_dT_final": float(abs(ap["T_L"][-1] - ap["T_H"][-1]) / abs(ap["T_L"][0] - ap["T_H"][0])),
                     "ap_energy_drift": float(abs(ap["energy"][-1] / ap["energy"][0] - 1)),
                     "explicit_blew_up": ex["blew_up"], "explicit_blowup_step": len(ex["t"]),
                     "explicit_max_stable_dt": max(stable) if stable else 0.0,
                     "explicit_steps_needed": math.ceil(3.0 / eps ** 2 / max(stable)) if stable else None})
    return rows


def bench_cross() -> list[dict]:
    rows = []
    for mr, gamma, data in ((4.0, 1.0, "maxwellian"), (4.0, 1.0, "two-bump"), (16.0, 1.0, "maxwellian"),
                            (16.0, 1.0, "two-bump"), (100.0, 1.0, "maxwellian"), (100.0, 1.0, "two-bump"),
                            (16.0, 0.0, "maxwellian"), (16.0, 0.0, "two-bump")):
        r = runs.cross_operator_error(mr, gamma=gamma, data=data)
        rows.append({"mass_ratio": mr, "gamma": gamma, "data": data, **r})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", default=str(ROOT / "results" / "boltzmann.json"))
    ap.add_argument("--quick", action="store_true", help="skip the slowest items (the N=16 direct sum, full at 1024)")
    ap.add_argument("--sections", default="1,2,3,4,5,6,7", help="comma-separated items to run (default: all)")
    ap.add_argument("--parallel-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.parallel_child:
        parallel_child()
        return 0
    sections = args.sections.split(",")
    if not set(sections) <= {str(k) for k in SECTIONS}:
        ap.error(f"--sections: items are 1-{len(SECTIONS)}, got {args.sections!r}")
    out = {}
    for k in sections:
        SECTIONS[int(k)](args, out)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    print(f"\nwrote {args.json}")
    return 0


def section_fast(args, out: dict) -> None:
    print("1. fast spectral Q, 3D BKW data, M = 128 directions (64 evaluated), 8 radial points")
    out["fast"] = bench_fast()
    print(f"{'N':>4} {'time [s]':>10} {'ratio':>7} {'N^3 log N ratio':>16}")
    for r in out["fast"]:
        print(f"{r['N']:>4} {r['time']:10.4f} {r['ratio']:7.2f} {r['model']:16.2f}")


def section_direct(args, out: dict) -> None:
    print("\n2. fast vs classical O(N^6) spectral sum (gain term, 3D, same radial rule)")
    out["direct"] = bench_direct((8, 12) if args.quick else (8, 12, 16))
    print(f"{'N':>4} {'direct [s]':>11} {'fast [s]':>9} {'speed-up':>9} {'rel. diff':>10}")
    for r in out["direct"]:
        print(f"{r['N']:>4} {r['direct']:11.3f} {r['fast']:9.4f} {r['speedup']:9.1f} {r['rel_diff']:10.2e}")


def section_parallel(args, out: dict) -> None:
    print("\n3. np=2 vs np=1 (3D N=32, 16 radial points split over ranks)")
    out["parallel"] = p = bench_parallel()
    print(f"np=1 {p['np1']:.3f} s, np=2 {p['np2']:.3f} s: speed-up {p['speedup']:.2f}, efficiency {p['efficiency']:.2f}, "
          f"max |Q_np1 - Q_np2| = {p['max_diff']:.1e}")


def section_epochal(args, out: dict) -> None:
    print("\n4. run cost, m_H/m_L = 16 (2D N=16, hard spheres, t in [0, 16]); error = max|ΔT|/ΔT(0) vs full dt=0.1")
    out["epochal"] = e = bench_epochal(args.quick)
    print(f"{'scheme':>16} {'dt':>5} {'steps':>6} {'wall [s]':>9} {'error':>9}")
    for r in e["rows"]:
        print(f"{r['scheme']:>16} {r['dt']:5.2f} {r['steps']:>6} {r['wall']:9.2f} {r['error']:9.2e}")
    lg = e["large"]
    print(f"m_H/m_L = 1024: AP step {lg['ap_step']:.3f} s x {lg['ap_steps']} steps = {lg['ap_total']:.1f} s to t = 3000")
    if "full_step" in lg:
        print(f"                full RK4 step (4 x {lg['full_rhs']:.1f} s) {lg['full_step']:.1f} s x {lg['full_steps']} steps (dt = 0.2) = "
              f"{lg['full_total'] / 3600:.1f} h (extrapolated), ratio {lg['full_total'] / lg['ap_total']:.0f}x")


def section_epochs(args, out: dict) -> None:
    print("\n5. epoch time scales (AP, 2D N=24, hard spheres): e-folding times and fitted powers of eps")
    out["epochs"] = ep = bench_epochs()
    print(f"{'m_H/m_L':>8} {'eps':>7} {'tau_L':>8} {'tau_H':>8} {'tau_T':>9} {'steps':>6} {'wall [s]':>9}")
    for r in ep["rows"]:
        print(f"{r['mass_ratio']:8g} {r['eps']:7.4f} {r['tau_L']:8.3f} {r['tau_H']:8.2f} {r['tau_T']:9.1f} "
              f"{r['steps']:>6} {r['wall']:9.1f}")
    print("fitted exponents (tau ~ eps^p): " + ", ".join(f"{k} {v:+.2f} (predicted {ep['predicted'][k]:+.0f})"
                                                         for k, v in ep["exponents"].items()))


def section_stability(args, out: dict) -> None:
    print("\n6. stability with dt fixed by the slow scale (dt = 0.05/eps^2, t_end = 3/eps^2; 2D N=24, hard spheres)")
    out["stability"] = st = bench_stability()
    print(f"{'m_H/m_L':>8} {'dt':>7} {'AP':>7} {'AP |dT|/dT0':>12} {'AP energy':>10} {'explicit RK4':>16} "
          f"{'expl. max dt':>13} {'expl. steps':>12}")
    for r in st:
        ex = f"blew up (step {r['explicit_blowup_step']})" if r["explicit_blew_up"] else "stable"
        print(f"{r['mass_ratio']:8g} {r['dt']:7.1f} {'blew up' if r['ap_blew_up'] else 'stable':>7} "
              f"{r['ap_dT_final']:12.2e} {r['ap_energy_drift']:10.1e} {ex:>16} {r['explicit_max_stable_dt']:13.2f} "
              f"{r['explicit_steps_needed']:>12}")


def section_cross(args, out: dict) -> None:
    print("\n7. full Q_LH (2D N=24) vs the independent quadrature; pair conservation; one Q_LH evaluation")
    out["cross"] = rows = bench_cross()
    cols = (("m_H/m_L", "mass_ratio", "8g"), ("gamma", "gamma", "6g"), ("f_L", "data", ">11"), ("rel. L2", "l2", "10.2e"),
            ("max rel.", "max", "10.2e"), ("conserv.", "conservation", "10.1e"), ("N_rho", "n_rho", "6d"),
            ("common N", "common_n", "9d"), ("wall [s]", "wall", "9.2f"))
    print("".join(f"{head:>{int(fmt.strip('>gefd').split('.')[0])}}" for head, _, fmt in cols))
    for r in rows:
        r["conservation"] = max(r["mass"], r["momentum"], r["energy"])
        print("".join(format(r[key], fmt) for _, key, fmt in cols))


SECTIONS = {1: section_fast, 2: section_direct, 3: section_parallel, 4: section_epochal, 5: section_epochs,
            6: section_stability, 7: section_cross}


if __name__ == "__main__":
    sys.exit(main())
