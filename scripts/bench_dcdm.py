"""Benchmark (issue #6): DCDM vs CG, ICC(0)-PCG and GAMG-PCG on held-out right-hand sides.

For each grid (the model's training grid and larger ones: transfer), each right-hand side of
``solvers.dcdm.rhs`` (smooth, random, point sources; zero Dirichlet data) and each tolerance
(||b - A x|| <= rtol ||b||, the same unpreconditioned test for every method), one run measures
iterations and wall time of

- DCDM: the shipped net (+ its Chebyshev sandwich), k = 2 (``solvers.dcdm.solver.dcdm_solve``),
- Cheb-FCG: the same iteration with the identity in place of the net (ablation: what the net adds),
- CG, ICC(0)-PCG, GAMG-PCG: PETSc KSPCG, unpreconditioned norm.

Times are the best of ``--repeat`` runs; PETSc times include the PC setup (ICC factorisation,
GAMG hierarchy), DCDM times include the net (torch, ``--threads`` threads) but not loading it.
Serial (one rank). Prints a table and writes JSON (results/dcdm.json or --json).

    python scripts/bench_dcdm.py --sizes 128 256 --repeat 3
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI
from petsc4py import PETSc

from meshes import Grid
from solvers import ksp as kspmod
from solvers.dcdm.plugin import resolve_model
from solvers.dcdm.rhs import KINDS, held_out
from solvers.dcdm.solver import Direction, dcdm_solve
from solvers.dcdm.train import load_model
from solvers.poisson.operator import assemble

PCS = {"CG": "none", "ICC(0)-PCG": "icc", "GAMG-PCG": "gamg"}


def petsc_cg(op, b, pc: str, rtol: float) -> tuple[int, float, float]:
    """(iterations, setup + solve seconds, relative residual) for a fresh KSPCG."""
    ksp = kspmod.make_ksp(op.A, kspmod.KSPSpec("cg", pc, rtol=rtol, max_it=20000, norm="unpreconditioned"), "bench_")
    x = b.duplicate()
    info = kspmod.solve(ksp, b, x, raise_on_diverged=False)
    rel = info.residual_norm / b.norm()
    kspmod.destroy(ksp)
    x.destroy()
    return info.iterations, info.setup_time + info.solve_time, rel


def dcdm(op, b, direction: Direction, rtol: float) -> tuple[int, float, float, float]:
    """(iterations, seconds, relative residual, net seconds)."""
    x = b.duplicate()
    res = dcdm_solve(op.A, b, x, direction, rtol=rtol, max_it=3000, k=2)
    x.destroy()
    return res.iterations, res.solve_time, res.history[-1], res.net_time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="dcdm_2d_128", help="model name or path")
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="nodes per dimension (default: the training grid and twice it)")
    ap.add_argument("--rtol", type=float, nargs="+", default=[1e-4, 1e-6])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the net")
    ap.add_argument("--json", default="results/dcdm.json")
    args = ap.parse_args()
    comm = MPI.COMM_WORLD
    path = resolve_model(args.model, ".")
    net, card = load_model(path)
    n0 = card["grid"]["shape"][0]
    dim = card["architecture"]["dim"]
    sizes = args.sizes or [n0, 2 * n0]
    degree = card["smoother"]["degree"]
    rows = []
    print(f"model {path} ({card['parameters']} parameters, {card['flops_per_apply'] / 1e6:.0f} MFLOP/apply "
          f"on {card['grid']['shape']}, Chebyshev degree {degree}); torch threads {args.threads}; "
          f"best of {args.repeat}; one rank")
    head = f"{'grid':>9} {'rhs':>7} {'rtol':>6} {'method':>12} {'its':>5} {'time s':>8} {'its/CG':>7} {'time/CG':>8}"
    print(head + "\n" + "-" * len(head))
    for n in sizes:
        grid = Grid((n,) * dim, comm=comm)
        op = assemble(grid)
        methods = {"DCDM": Direction(grid, op.A, op.bc_scale, op.mask, net, degree, args.threads),
                   "Cheb-FCG": Direction(grid, op.A, op.bc_scale, op.mask, None, degree)}
        for kind in KINDS:
            b = op.rhs(grid.scatter(held_out(kind, grid.shape)), 0.0)
            for rtol in args.rtol:
                block = []
                for name in [*methods, *PCS]:
                    best = None
                    for _ in range(args.repeat):
                        if name in methods:
                            its, t, rel, tnet = dcdm(op, b, methods[name], rtol)
                        else:
                            (its, t, rel), tnet = petsc_cg(op, b, PCS[name], rtol), 0.0
                        if best is None or t < best[1]:
                            best = (its, t, rel, tnet)
                    its, t, rel, tnet = best
                    block.append({"grid": n, "rhs": kind, "rtol": rtol, "method": name, "iterations": its,
                                  "time": t, "net_time": tnet, "relative_residual": float(rel),
                                  "converged": bool(rel <= rtol * (1 + 1e-9))})
                cg = next(r for r in block if r["method"] == "CG")
                for r in block:
                    r["iterations_vs_cg"] = r["iterations"] / cg["iterations"]
                    r["time_vs_cg"] = r["time"] / cg["time"]
                    flag = "" if r["converged"] else " (not converged)"
                    print(f"{f'{n}^{dim}':>9} {kind:>7} {rtol:6.0e} {r['method']:>12} {r['iterations']:5d} "
                          f"{r['time']:8.4f} {r['iterations_vs_cg']:7.3f} {r['time_vs_cg']:8.2f}{flag}")
                rows.extend(block)
            b.destroy()
    per_it = {}
    for n in sizes:
        d = [r for r in rows if r["grid"] == n and r["method"] == "DCDM"]
        c = [r for r in rows if r["grid"] == n and r["method"] == "CG"]
        per_it[n] = {"dcdm_ms_per_iteration": 1e3 * sum(r["time"] for r in d) / sum(r["iterations"] for r in d),
                     "net_ms_per_apply": 1e3 * sum(r["net_time"] for r in d) / sum(r["iterations"] for r in d),
                     "cg_ms_per_iteration": 1e3 * sum(r["time"] for r in c) / sum(r["iterations"] for r in c)}
        p = per_it[n]
        print(f"{n}^{dim}: DCDM {p['dcdm_ms_per_iteration']:.2f} ms/iteration (net {p['net_ms_per_apply']:.2f}), "
              f"CG {p['cg_ms_per_iteration']:.3f} ms/iteration: DCDM pays in wall time only with "
              f"{p['dcdm_ms_per_iteration'] / p['cg_ms_per_iteration']:.0f}x fewer iterations than CG")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": str(path), "card": {k: v for k, v in card.items() if k != "loss_curve"},
                               "threads": args.threads, "repeat": args.repeat, "rows": rows,
                               "per_iteration": per_it,
                               "command": "python scripts/bench_dcdm.py " + " ".join(
                                   f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                                   for k, v in vars(args).items() if v is not None)}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    import torch
    torch.set_num_threads(1)
    main()
