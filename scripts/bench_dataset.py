"""Benchmark dataset generation: samples/s for np = 1, 2 and ranks_per_solve = 1, 2, with and
without Krylov recycling (GCRO-DR along the SKR order), shards vs parallel HDF5 (mpio), and the
write overhead (time in HDF5 vs in solves).

    python scripts/bench_dataset.py                    # 512 Darcy samples at 64², 128 at 256²
    python scripts/bench_dataset.py --quick            # 64 at 32², 16 at 64² (a smoke run)

Each configuration is one ``mpirun -n NP python scripts/bench_dataset.py --worker ...`` process
that generates the dataset in-process and reports the runner's timings (process start-up is
excluded): wall = generation + merge + metadata; solve = sampling + assembly + Krylov; write =
HDF5 shard/direct writes, flushes and progress records; merge = shards -> split files, stats.
Prints a table and writes JSON (results/dataset.json or --json).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SOLVERS = {
    "cg+gamg": 'ksp_type = "cg"\npc_type = "gamg"',
    "gcrodr+gamg": 'ksp_type = "gcrodr"\npc_type = "gamg"\nrecycle = true',
    "gcrodr+gamg no-recycle": 'ksp_type = "gcrodr"\npc_type = "gamg"\nrecycle = false',
    "gcrodr": 'ksp_type = "gcrodr"\npc_type = "none"\nrecycle = true',
    "gcrodr no-recycle": 'ksp_type = "gcrodr"\npc_type = "none"\nrecycle = false',
}
ALL = [(1, 1), (2, 1), (2, 2)]
# (solver, io, [(np, ranks_per_solve)], only on the small grid)
PLAN = [("cg+gamg", "shards", ALL, False), ("cg+gamg", "mpio", ALL, False),
        ("gcrodr+gamg", "shards", ALL, False), ("gcrodr+gamg no-recycle", "shards", [(1, 1)], False),
        ("gcrodr", "shards", [(1, 1)], True), ("gcrodr no-recycle", "shards", [(1, 1)], True)]


def case_text(n: int, size: int, io: str, rps: int, solver: str) -> str:
    return f"""
[case]
kind = "dataset"
name = "bench"
[family]
name = "darcy_fno"
seed = 0
[mesh]
shape = [{size}, {size}]
[samples]
n = {n}
[parallel]
ranks_per_solve = {rps}
io = "{io}"
checkpoint = 16
[solver]
{SOLVERS[solver]}
rtol = 1e-8
"""


def worker(args) -> None:
    import solvers  # noqa: F401  (locates petsc4py)
    import petsc4py
    petsc4py.init(sys.argv[:1])
    from mpi4py import MPI

    from solvers import case as casemod
    from solvers.registry import RUNNERS, RunContext, load_plugins, schemas
    load_plugins()
    text = Path(args.case).read_text()
    case = casemod.validate(casemod.parse_text(text), schemas(), text=text, source=args.case)
    summary = RUNNERS["dataset"].run(case, RunContext(comm=MPI.COMM_WORLD, output=args.out, quiet=True))
    if MPI.COMM_WORLD.rank == 0:
        Path(args.json).write_text(json.dumps(summary))


def mpirun(n: int) -> list[str]:
    cmd = ["mpirun", "-n", str(n), "--oversubscribe"]
    return cmd + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def run_one(tmp: Path, n: int, size: int, np_: int, rps: int, io: str, solver: str) -> dict:
    tag = f"{size}_{np_}_{rps}_{io}_{solver}".replace("+", "-")
    case, out, js = tmp / f"{tag}.toml", tmp / tag, tmp / f"{tag}.json"
    case.write_text(case_text(n, size, io, rps, solver))
    cmd = mpirun(np_) + [sys.executable, __file__, "--worker", "--case", str(case), "--out", str(out),
                         "--json", str(js)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    s = json.loads(js.read_text())
    shutil.rmtree(out, ignore_errors=True)
    return {"size": size, "samples": n, "np": np_, "ranks_per_solve": rps, "io": io, "solver": solver,
            "wall_s": s["wall_time"], "solve_s": s["solve_time"], "write_s": s["write_time"],
            "merge_s": s["merge_time"], "iterations": s["iterations"],
            "samples_per_s": n / s["wall_time"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    p.add_argument("--json", default=str(ROOT / "results" / "dataset.json"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    sizes = [(16, 32), (4, 64)] if args.quick else [(512, 64), (128, 256)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_dataset_") as tmp:
        for k, (n, size) in enumerate(sizes):
            for solver, io, configs, small_only in PLAN:
                if small_only and k > 0:
                    continue
                for np_, rps in configs:
                    rows.append(run_one(Path(tmp), n, size, np_, rps, io, solver))
                    print(_fmt(rows[-1], rows), flush=True)
    ratios = derived(rows)
    print("\n" + table(rows) + "\n\n" + "\n".join(ratios))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"rows": rows, "ratios": ratios, "host_cpus": os.cpu_count(),
                                           "load_average": os.getloadavg()}, indent=1))
    print(f"\nwrote {args.json}")


def _find(rows: list[dict], **kw) -> dict | None:
    return next((r for r in rows if all(r[k] == v for k, v in kw.items())), None)


def derived(rows: list[dict]) -> list[str]:
    """mpio vs shards and recycling vs not, from rows measured in this run."""
    out = []
    for r in rows:
        if r["io"] == "mpio":
            s = _find(rows, size=r["size"], solver=r["solver"], io="shards", np=r["np"],
                      ranks_per_solve=r["ranks_per_solve"])
            out.append(f"{r['size']}² np={r['np']} ranks/solve={r['ranks_per_solve']}: mpio / shards samples/s = "
                       f"{r['samples_per_s'] / s['samples_per_s']:.2f}, write time mpio {r['write_s'] + r['merge_s']:.2f} s"
                       f" vs shards {s['write_s'] + s['merge_s']:.2f} s")
        if r["solver"].endswith("no-recycle"):
            rec = _find(rows, size=r["size"], solver=r["solver"].replace(" no-recycle", ""), io=r["io"],
                        np=r["np"], ranks_per_solve=r["ranks_per_solve"])
            out.append(f"{r['size']}² {rec['solver']}: recycling / no recycling: iterations "
                       f"{rec['iterations'] / r['iterations']:.2f}, samples/s {rec['samples_per_s'] / r['samples_per_s']:.2f}")
    return out


def _base(row: dict, rows: list[dict]) -> dict:
    """The np = 1, shards, cg+gamg row of the same size (the ratio's denominator)."""
    return next(r for r in rows if r["size"] == row["size"] and r["np"] == 1 and r["io"] == "shards"
                and r["solver"] == "cg+gamg")


def _fmt(r: dict, rows: list[dict]) -> str:
    b = _base(r, rows)
    write = r["write_s"] + r["merge_s"]
    return (f"| {r['size']}² | {r['samples']} | {r['solver']} | {r['io']} | {r['np']} | {r['ranks_per_solve']} | "
            f"{r['samples_per_s']:.2f} | {r['samples_per_s'] / b['samples_per_s']:.2f} | {r['solve_s']:.2f} | "
            f"{write:.2f} | {100 * write / r['wall_s']:.1f}% | {r['iterations'] / r['samples']:.1f} |")


def table(rows: list[dict]) -> str:
    head = ("| grid | samples | solver | io | np | ranks/solve | samples/s | vs cg+gamg np=1 | solve s | write s "
            "| write share | its/sample |\n|" + "---|" * 12)
    return head + "\n" + "\n".join(_fmt(r, rows) for r in rows)


if __name__ == "__main__":
    main()
