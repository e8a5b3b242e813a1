"""PINN eigenstates vs exact references vs finite differences: error and time per state.

For the infinite well on [0, 1], the finite well (V0 = 50, a = 0.5, box [-2, 2]) and the barrier
(height 100, width 0.2 in [0, 1]), all with -ψ'' + V ψ = E ψ, trains states 0..n-1 with the default
PINNConfig (torch float64, one thread) and solves the 3-point FD reference (jumps midway between
nodes where the grid allows) at several sizes. Prints one table; writes JSON (results/pinn.json or
--json PATH). Serial: run it as ``python scripts/bench_pinn.py``.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from solvers.schrodinger import exact, finite_difference, pinn
from solvers.schrodinger.validation import PINN_CASES


def fd_timing(pot, n_states: int, N: int, repeats: int = 5) -> tuple[np.ndarray, float]:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = finite_difference.solve(pot, n_states, N)
        best = min(best, time.perf_counter() - t0)
    return res.E, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--states", type=int, default=3)
    ap.add_argument("--fd", type=int, nargs="+", default=[250, 1000, 4000], help="FD interior node targets")
    ap.add_argument("--cases", nargs="+", default=list(PINN_CASES), choices=list(PINN_CASES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-single", dest="single", action="store_false",
                    help="skip the single-network ground-state comparison")
    ap.add_argument("--json", default="results/pinn.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = pinn.PINNConfig()
    rows, out = [], {"config": dataclasses.asdict(cfg), "threads": args.threads, "cases": {},
                     "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                     "load_average_start": os.getloadavg()}
    for name in args.cases:
        pot, targets = PINN_CASES[name]
        E = exact.box_levels(pot, args.states)
        x = np.linspace(pot.lo, pot.hi, 801)
        states = pinn.solve(pot, args.states, cfg, x)
        fds = {}
        for n in args.fd:
            N = finite_difference.midway_size(pot, n)
            fds[N] = fd_timing(pot, args.states, N)
        case = out["cases"][name] = {"exact": E.tolist(), "pinn": [], "fd": {}}
        for s in states:
            rel = abs(s.E / E[s.n] - 1)
            case["pinn"].append({"n": s.n, "E": s.E, "rel_err": rel, "seconds": s.seconds, "nodes": s.nodes,
                                 "target": targets[s.n] if s.n < len(targets) else None})
            fd_cells = []
            for N, (Efd, t) in fds.items():
                fd_cells.append(f"{abs(Efd[s.n] / E[s.n] - 1):8.1e} {t * 1e3:6.2f}")
            rows.append(f"{name:14s} {s.n:>2} {E[s.n]:16.10f} {rel:9.2e} {s.seconds:7.1f} {s.nodes:>5}  "
                        + "  ".join(fd_cells) + f"  {s.seconds / min(t for _, t in fds.values()):9.0f}")
        for N, (Efd, t) in fds.items():
            case["fd"][str(N)] = {"rel_err": np.abs(Efd / E - 1).tolist(), "seconds": t}
    fd_head = "  ".join(f"{'FD N=' + str(N):>15}" for N in
                        [finite_difference.midway_size(PINN_CASES[args.cases[0]][0], n) for n in args.fd])
    print(f"PINN (float64, {args.threads} thread) vs exact vs FD; times: PINN per state (s), FD per solve of "
          f"{args.states} states (ms, best of 5); load average at start {out['load_average_start'][0]:.2f}")
    print(f"{'potential':14s} {'n':>2} {'E exact':>16} {'PINN err':>9} {'PINN s':>7} {'nodes':>5}  {fd_head}"
          f"  {'t_PINN/t_FD':>9}")
    print(f"{'':14s} {'':>2} {'':>16} {'':>9} {'':>7} {'':>5}  " + "  ".join(f"{'err':>8} {'ms':>6}" for _ in args.fd))
    for r in rows:
        print(r)
    print("(FD sizes are per potential: the N nearest each target that puts the jumps midway between nodes)")
    if args.single:
        print("\nground state with one smooth network for the whole box (networks = 'single') vs one per region:")
        print(f"{'potential':14s} {'single err':>10} {'single s':>8} {'per-region err':>14}")
        for name in args.cases:
            pot, _ = PINN_CASES[name]
            if len(pot.merged().regions) == 1:
                continue
            E0 = exact.box_levels(pot, 1)[0]
            x = np.linspace(pot.lo, pot.hi, 801)
            (s,) = pinn.solve(pot, 1, dataclasses.replace(cfg, networks="single"), x)
            rel = abs(s.E / E0 - 1)
            out["cases"][name]["single_network_ground"] = {"E": s.E, "rel_err": rel, "seconds": s.seconds,
                                                           "nodes": s.nodes}
            print(f"{name:14s} {rel:10.2e} {s.seconds:8.1f} {out['cases'][name]['pinn'][0]['rel_err']:14.2e}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
