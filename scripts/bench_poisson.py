"""Benchmark: 3D Poisson (7-point, u = exp(xyz)) with >= 1e6 unknowns, CG + {GAMG, BoomerAMG, ICC}.

Runs each preconditioner at np = 1 and np = 2 (it launches itself under mpirun), and prints
assembly, setup and solve times, iterations, unknowns per second of solve, and the strong-scaling
efficiency t(1) / (np t(np)) of setup + solve. Writes JSON.

    python scripts/bench_poisson.py                 # n = 101 (1,030,301 unknowns), np = 1, 2
    python scripts/bench_poisson.py --n 65 --np 1 2 --json results/bench_poisson.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PCS = {  # label: (ksp, pc, extra options)
    "CG+GAMG": ("cg", "gamg", {}),
    "CG+BoomerAMG": ("cg", "hypre", {"pc_hypre_type": "boomeramg"}),
    "CG+ICC(0)": ("cg", "bjacobi", {"sub_pc_type": "icc"}),
}


def worker(n: int, rtol: float, out: str) -> None:
    import solvers  # noqa: F401
    import petsc4py
    petsc4py.init(sys.argv[:1])
    from mpi4py import MPI
    from petsc4py import PETSc

    from meshes import Grid
    from solvers import ksp as K
    from solvers.poisson.mms import SOLUTIONS
    from solvers.poisson.operator import assemble
    from solvers.poisson.solver import errors

    comm = MPI.COMM_WORLD
    exact, f = SOLUTIONS["exp"](1)
    rows = []
    for label, (kt, pt, extra) in PCS.items():
        opts = PETSc.Options()
        for k, v in extra.items():
            opts[k] = v
        comm.Barrier()
        t0 = time.perf_counter()
        grid = Grid((n, n, n), comm=comm)
        op = assemble(grid)
        b = op.rhs(grid.vec_from_function(f), grid.vec_from_function(exact))
        comm.Barrier()
        t_asm = time.perf_counter() - t0
        ksp = K.make_ksp(op.A, K.KSPSpec(kt, pt, rtol=rtol, history=True), "poisson_")
        u = grid.create_vec()
        info = K.solve(ksp, b, u)
        e2, emax = errors(grid, u, exact)
        rows.append({"solver": label, "np": comm.size, "unknowns": grid.size, "iterations": info.iterations,
                     "reason": info.reason, "assembly_s": t_asm, "setup_s": info.setup_time,
                     "solve_s": info.solve_time, "error_max": emax,
                     "unknowns_per_s": grid.size / info.solve_time})
        for k in extra:
            opts.delValue(k)
        K.destroy(ksp)
        op.destroy()
    if comm.rank == 0:
        Path(out).write_text(json.dumps(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=101, help="nodes per dimension (default 101: 1.03e6 unknowns)")
    ap.add_argument("--np", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--json", default="results/bench_poisson.json")
    ap.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.n, args.rtol, args.worker)
        return
    rows = []
    for np_ in args.np:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        cmd = [sys.executable, __file__, "--n", str(args.n), "--rtol", str(args.rtol), "--worker", out]
        if np_ > 1:
            flags = ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
            cmd = ["mpirun", "-n", str(np_), *flags, *cmd]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run(cmd, check=True, env=env)
        rows.extend(json.loads(Path(out).read_text()))
        os.unlink(out)
    base = {r["solver"]: r["setup_s"] + r["solve_s"] for r in rows if r["np"] == 1}
    for r in rows:
        t = r["setup_s"] + r["solve_s"]
        r["efficiency"] = base[r["solver"]] / (r["np"] * t) if r["solver"] in base else None
    hdr = f"{'solver':14s} {'np':>3} {'unknowns':>10} {'its':>4} {'assembly s':>10} {'setup s':>8} " \
          f"{'solve s':>8} {'Munknowns/s':>11} {'efficiency':>10} {'max error':>10}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        eff = f"{r['efficiency']:.2f}" if r["efficiency"] is not None else "-"
        print(f"{r['solver']:14s} {r['np']:>3} {r['unknowns']:>10} {r['iterations']:>4} {r['assembly_s']:>10.2f} "
              f"{r['setup_s']:>8.2f} {r['solve_s']:>8.2f} {r['unknowns_per_s'] / 1e6:>11.2f} {eff:>10} "
              f"{r['error_max']:>10.2e}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"n": args.n, "rtol": args.rtol, "rows": rows}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
