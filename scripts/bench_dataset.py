"""Benchmark: dataset generation throughput and its per-sample cost, side by side with an older
revision of the project ("old path") in one run.

Every variant generates the same Darcy dataset (FNO recipe, ``darcy_fno``, seed 0, rtol 1e-8,
SKR order, shards) in a fresh process and is timed from outside (process wall time, start-up
included) and from inside (the dataset's own wall time, samples/s, and the per-sample cost
breakdown of the run summary: draw, assembly, pc_setup, solve, write, overhead). The old path
runs ``python -m solvers run`` in a git worktree of ``--baseline`` (default: main at the start of
the redesign) and reports what its summary line printed. Every stored true residual is read
back from the files and must be <= rtol.

    python scripts/bench_dataset.py --quick                       # 65² x 32, ~1 min
    python scripts/bench_dataset.py                               # 65² x 512 and 257² x 64, np = 1
    python scripts/bench_dataset.py --np 2                        # the same, sample-parallel on 2 ranks
    python scripts/bench_dataset.py --np 2 --rps 2 --io mpio      # 2 ranks per solve, parallel HDF5

Variants (new path; any PETSc options work through ``-dataset_`` prefixed options). All but
"fresh" use the default ``shared_matrix = true``: one Mat per group, the PC's pattern-keyed data
set up on the first sample of the solve order (bitwise the same for any np and on resume):
  CG+GAMG fresh         shared_matrix = false: a whole GAMG setup per sample (the old path's solver)
  CG+GAMG (default)     GAMG's aggregates and prolongators from the reference, coarse operators per sample
  CG+GAMG reused/8      the whole PC of every 8th sample reused for the next 7 (bits depend on the chunk)
  CG+ICC                incomplete Cholesky, symbolic factorisation kept (skipped with ranks_per_solve > 1)
  Cholesky              direct (preonly + cholesky, ordering kept; skipped with ranks_per_solve > 1)
  GCRO-DR(40,20)+GAMG   recycling along the SKR-sorted chunk (bits depend on the chunk)
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASE = """
[case]
kind = "dataset"
name = "bench"
[family]
name = "darcy_fno"
seed = 0
[mesh]
shape = [{n}, {n}]
[samples]
n = {samples}
split = [0.8, 0.1, 0.1]
[parallel]
ranks_per_solve = {rps}
io = "{io}"
checkpoint = 8
[solver]
ksp_type = "{ksp}"
pc_type = "{pc}"
rtol = 1e-8
ordering = "skr"
{extra}
"""

VARIANTS = [
    ("CG+GAMG fresh", "cg", "gamg", "shared_matrix = false"),
    ("CG+GAMG (default)", "cg", "gamg", ""),
    ("CG+GAMG reused/8", "cg", "gamg", "pc_reuse = true\npc_refresh = 8"),
    ("CG+ICC", "cg", "icc", ""),
    ("Cholesky", "preonly", "cholesky", ""),
    ("GCRO-DR(40,20)+GAMG", "gcrodr", "gamg", ""),
]
BASELINE = "7d93bf5"


def mpirun(n: int) -> list[str]:
    if n == 1:
        return []
    return ["mpirun", "-n", str(n), "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def max_residual(root: Path) -> float:
    import h5py
    import numpy as np
    res = []
    for f in sorted(root.glob("data/*/*.hdf5")):
        with h5py.File(f, "r") as h5:
            res.append(h5["scalars/residual"][...])
    return float(np.concatenate(res).max()) if res else float("nan")


def run_child(case_path: str, out: str) -> None:
    """In-process run of the dataset kind (this revision); prints the summary as JSON on rank 0."""
    import petsc4py
    petsc4py.init(sys.argv[:1])
    from mpi4py import MPI
    from solvers import case as casemod
    from solvers.parallel import Comms
    from solvers.registry import schemas
    from solvers.run import run_case
    text = Path(case_path).read_text()
    case = casemod.validate(casemod.parse_text(text), schemas(), text=text, source=case_path)
    summary = run_case(case, Comms(), output=out, quiet=True)
    if MPI.COMM_WORLD.rank == 0:
        print("SUMMARY " + json.dumps({k: v for k, v in summary.items() if k != "path"}))


def run_new(label: str, text: str, tmp: Path, nproc: int) -> dict:
    case, out = tmp / "case.toml", tmp / f"new-{len(list(tmp.iterdir()))}"
    case.write_text(text)
    t0 = time.perf_counter()
    proc = subprocess.run(mpirun(nproc) + [sys.executable, __file__, "--child", str(case), str(out)],
                          capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"label": label, "error": proc.stderr.strip().splitlines()[-1:]}
    s = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY "))[8:])
    return {"label": label, "process_wall": wall, "wall": s["wall_time"], "samples_per_s": s["solved"] / s["wall_time"],
            "iterations": s["iterations"], "cost_ms": {k: 1e3 * v for k, v in s["cost_per_sample"].items()},
            "max_residual": max_residual(out)}


def run_old(worktree: Path, text: str, tmp: Path, nproc: int, samples_per_group: float) -> dict:
    case, out = tmp / "old.toml", tmp / f"old-{len(list(tmp.iterdir()))}"
    case.write_text(text)
    t0 = time.perf_counter()
    proc = subprocess.run(mpirun(nproc) + [sys.executable, "-m", "solvers", "run", str(case), "-o", str(out), "-q"],
                          capture_output=True, text=True, cwd=worktree,
                          env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(worktree)))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"label": "old path", "error": proc.stderr.strip().splitlines()[-1:]}
    m = re.search(r"in ([\d.]+) s \(([\d.]+) samples/s\); solve ([\d.]+) s, write ([\d.]+) s.*?(\d+) Krylov",
                  proc.stdout)
    return {"label": f"old path ({BASELINE}) CG+GAMG", "process_wall": wall, "wall": float(m[1]),
            "samples_per_s": float(m[2]), "iterations": int(m[5]),
            "cost_ms": {"solve (draw+assembly+setup+solve)": 1e3 * float(m[3]) / samples_per_group,
                        "write": 1e3 * float(m[4]) / samples_per_group},
            "max_residual": max_residual(out)}



def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="*", default=["65:512", "257:64"], help="N:samples groups (N² nodes)")
    p.add_argument("--np", type=int, default=1, help="ranks")
    p.add_argument("--rps", type=int, default=1, help="ranks_per_solve (groups solve different samples)")
    p.add_argument("--io", choices=("shards", "mpio"), default="shards", help="dataset io")
    p.add_argument("--baseline", default=BASELINE, help="git revision of the old path ('' skips it)")
    p.add_argument("--variants", default="", help="comma-separated labels to run (default all)")
    p.add_argument("--quick", action="store_true", help="65² x 32 only")
    p.add_argument("--json", default=str(ROOT / "results" / "dataset.json"))
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        run_child(*args.child)
        return 0
    sizes = ["65:32"] if args.quick else args.sizes
    chosen = [v for v in VARIANTS if not args.variants or v[0] in args.variants.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        worktree = None
        if args.baseline:
            worktree = tmp / "baseline"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.baseline],
                           check=True, capture_output=True)
        try:
            for size in sizes:
                n, samples = (int(x) for x in size.split(":"))
                print(f"Darcy (darcy_fno) {n}² x {samples} samples, np = {args.np}, ranks_per_solve = {args.rps}, "
                      f"io = {args.io}", flush=True)
                group = []
                if worktree is not None:
                    group.append(run_old(worktree, CASE.format(n=n, samples=samples, ksp="cg", pc="gamg", extra="",
                                                               rps=args.rps, io=args.io), tmp, args.np,
                                         samples / (args.np // args.rps)))
                for label, ksp, pc, extra in chosen:
                    if pc in ("icc", "cholesky") and args.rps > 1:
                        continue                                  # serial factorisations
                    group.append(run_new(label, CASE.format(n=n, samples=samples, ksp=ksp, pc=pc, extra=extra,
                                                             rps=args.rps, io=args.io), tmp, args.np))
                for r in group:
                    r.update({"n": n, "samples": samples, "np": args.np, "ranks_per_solve": args.rps, "io": args.io})
                    print("  " + line(r, group[0]), flush=True)
                rows += group
        finally:
            if worktree is not None:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                               capture_output=True)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": rows, "argv": sys.argv[1:]}, indent=1))
    print(f"wrote {path}")
    return 0


def line(r: dict, base: dict) -> str:
    if "error" in r:
        return f"{r['label']:34s} FAILED: {r['error']}"
    gain = r["samples_per_s"] / base["samples_per_s"] if "samples_per_s" in base else float("nan")
    cost = ", ".join(f"{k} {v:.2f}" for k, v in r["cost_ms"].items())
    return (f"{r['label']:34s} {r['samples_per_s']:8.2f} samples/s ({gain:4.2f}x)  its {r['iterations']:7d}  "
            f"max res {r['max_residual']:.2e}  process {r['process_wall']:6.1f} s  per sample [ms]: {cost}")


if __name__ == "__main__":
    sys.exit(main())
