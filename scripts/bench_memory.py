"""Peak memory per rank and wall time of large runs, and the CLI's start-up time.

    python scripts/bench_memory.py                       # this checkout
    python scripts/bench_memory.py --ref ../old-checkout # and another checkout, side by side

Measured with GNU time on every rank (``mpirun -n N /usr/bin/time -f %M python -m solvers run``):
the table reports the largest and the mean peak RSS over the ranks. Runs:

- ``poisson`` 2D at 2049² (4.2M unknowns, CG + GAMG) at np = 1, 2 and 4 (4 oversubscribes a
  2-core machine: memory is meaningful there, time is not);
- a Darcy dataset of 2 samples at 1025² (1.05M unknowns, CG + GAMG, io = shards) at np = 1
  and at np = 2 with ranks_per_solve = 2 (one group of two ranks: the sample is distributed);
- ``python -m solvers info --short`` start-up (best of 5).

Writes JSON (results/memory.json or --json) and prints a Markdown table.
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

ROOT = Path(__file__).resolve().parents[1]

POISSON = """[case]
kind = "poisson"
name = "mem"
[mesh]
shape = [{n}, {n}]
"""
DATASET = """[case]
kind = "dataset"
name = "mem"
[family]
name = "darcy_fno"
[mesh]
shape = [{n}, {n}]
[samples]
n = 2
split = [1.0, 0.0, 0.0]
[parallel]
ranks_per_solve = {rps}
[solver]
ksp_type = "cg"
pc_type = "gamg"
"""


def mpirun(n: int) -> list[str]:
    cmd = ["mpirun", "-n", str(n), "--oversubscribe"]
    return cmd + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def measure(tree: Path, python: str, text: str, n: int, tmp: Path) -> dict:
    """Run one case under ``mpirun -n n`` in ``tree``; peak RSS per rank (MiB) and wall time."""
    case = tmp / "case.toml"
    case.write_text(text)
    out = tmp / f"out-{time.monotonic_ns()}"
    cmd = mpirun(n) + ["/usr/bin/time", "-f", "maxrss_kb %M", python, "-m", "solvers", "run", str(case),
                       "-o", str(out if "dataset" in text else out.with_suffix(".h5")), "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(tree))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} in {tree} failed:\n{proc.stdout}\n{proc.stderr}")
    rss = [int(line.split()[1]) / 1024 for line in proc.stderr.splitlines() if line.startswith("maxrss_kb")]
    return {"np": n, "max_rss_mib": max(rss), "mean_rss_mib": sum(rss) / len(rss), "wall_s": wall,
            "stdout": proc.stdout.strip().splitlines()[-3:]}


def startup(tree: Path, python: str) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(tree))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([python, "-m", "solvers", "info", "--short"], cwd=tree, env=env, check=True,
                       capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", type=Path, help="another checkout to measure side by side (e.g. the old main)")
    ap.add_argument("--poisson", type=int, default=2049, help="Poisson grid size per dimension")
    ap.add_argument("--dataset", type=int, default=1025, help="dataset grid size per dimension")
    ap.add_argument("--json", type=Path, default=ROOT / "results" / "memory.json")
    args = ap.parse_args()
    python = sys.executable
    trees = {"this": ROOT} | ({"ref": args.ref.resolve()} if args.ref else {})
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for label, tree in trees.items():
            for n in (1, 2, 4):
                rows.append({"tree": label, "run": f"poisson {args.poisson}²",
                             **measure(tree, python, POISSON.format(n=args.poisson), n, Path(d))})
                print(rows[-1], flush=True)
            for n, rps in ((1, 1), (2, 2)):
                rows.append({"tree": label, "run": f"dataset {args.dataset}² x2, ranks_per_solve={rps}",
                             **measure(tree, python, DATASET.format(n=args.dataset, rps=rps), n, Path(d))})
                print(rows[-1], flush=True)
            rows.append({"tree": label, "run": "info --short start-up", "np": 1,
                         "wall_s": startup(tree, python)})
            print(rows[-1], flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1))
    print("\n| tree | run | np | max RSS/rank [MiB] | mean RSS/rank [MiB] | wall [s] |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tree']} | {r['run']} | {r['np']} | {r.get('max_rss_mib', float('nan')):.0f} | "
              f"{r.get('mean_rss_mib', float('nan')):.0f} | {r['wall_s']:.2f} |")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
