"""Benchmark: Krylov recycling (SKR sorting + GCRO-DR) against strong per-system baselines.

All variants of a group solve the same systems (same family, seed, grid) in one run, with the
same convergence test ||b - A x||_2 <= 1e-8 ||b||_2 (unpreconditioned norm, relative to ||b||
for cold and warm starts alike), max_it 10000 (--max-it). Every solution's true residual is recomputed;
variants that hit max_it, or whose true residual exceeds 1.1 rtol although the solver reported
convergence, are flagged as failures (their ratios are then meaningless).

Variants (letters from issue #3):
  (a) GMRES(40) cold                 (b) GMRES(40) warm-started from the previous solution (SKR order)
  (c) CG+GAMG (fresh per system), CG+GAMG (first system's setup reused), CG+ICC, and both with
      one shared Mat (GAMG then keeps system 1's prolongators, recomputes RAP)   [SPD]
      GMRES(40)+GAMG fresh / reused, GMRES(80)+GAMG (no restarts in practice), and
      GMRES(80)+GAMG in SKR order with the PC set up afresh every 4th system     [Helmholtz]
  (d) GCRO-DR(40,20) unsorted        (e) SKR-sorted GCRO-DR(40,20)
  (e') (e) with the recycled space updated after every third cycle only
  (f) sorted GCRO-DR(40,20) + the preconditioner of (c) (fresh, reused, shared matrix)
  (g) SciPy gcrotmk(m=40, k=20) with its CU space recycled (serial, discard_C), SKR order
  (h) deflated PCG with a recycled Ritz space (SPD; Saad et al. 2000), SKR order
  (-) GCRO-DR without recycling across systems (deflated restarts within each solve only)
  "guarded": GCRO-DR drops a recycled space after a solve that cost more than the last cold one
Times are KSP setup + solve summed over the systems (assembly excluded); sorted variants
include the sort. The (e)/(f) variants of the first Darcy group are rerun under mpirun -n 2
and compared with np = 1 (--no-np2 skips it).

    python scripts/bench_recycling.py --quick     # smoke run, ~15 s
    python scripts/bench_recycling.py             # issue #3 sizes: Darcy 129²x100 (all variants),
                                                  # 257²x30 (c, e, f, g, h), Helmholtz 129²x50, np=2 rerun
    python scripts/bench_recycling.py --darcy 257:3:abeg --helmholtz --no-np2 --max-it 100000
                                                  # the unpreconditioned GMRES(40) baselines at 257²

Unpreconditioned GMRES(40) ((a), (b)) needs ~11,800 iterations (~15 s) per system at 257², above
the default cap, so the default 257² group leaves (a), (b), (d) and (-) out (see docs/recycling.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spec_table():
    from solvers.krylov.sequence import SolverSpec as S
    darcy = [
        ("a", "GMRES(40) cold", "none", S("gmres", m=40)),
        ("b", "GMRES(40) warm", "skr", S("gmres", m=40, warm_start=True)),
        ("c", "CG+GAMG", "none", S("cg", pc_type="gamg")),
        ("c", "CG+GAMG reused", "none", S("cg", pc_type="gamg", pc_reuse=True)),
        ("c", "CG+ICC", "none", S("cg", pc_type="icc")),
        ("c", "CG+GAMG shared matrix", "none", S("cg", pc_type="gamg", shared_matrix=True)),
        ("c", "CG+ICC shared matrix", "none", S("cg", pc_type="icc", shared_matrix=True)),
        ("d", "GCRO-DR(40,20) unsorted", "none", S("gcrodr")),
        ("e", "GCRO-DR(40,20) SKR", "skr", S("gcrodr")),
        ("e'", "GCRO-DR(40,20) SKR, update/3", "skr", S("gcrodr", update_every=3)),
        ("-", "GCRO-DR(40,20) no recycling", "none", S("gcrodr", recycle=False)),
        ("f", "GCRO-DR(40,20)+GAMG SKR", "skr", S("gcrodr", pc_type="gamg")),
        ("f", "GCRO-DR(40,20)+GAMG reused SKR", "skr", S("gcrodr", pc_type="gamg", pc_reuse=True)),
        ("h", "deflated CG(20,40)+ICC SKR", "skr", S("dcg", k=20, l=40, pc_type="icc")),
        ("h", "deflated CG(10,20)+GAMG SKR", "skr", S("dcg", k=10, l=20, pc_type="gamg")),
        ("h", "deflated CG(10,20)+GAMG reused SKR", "skr", S("dcg", k=10, l=20, pc_type="gamg", pc_reuse=True)),
        ("h", "deflated CG(10,20)+GAMG shared m. SKR", "skr",
         S("dcg", k=10, l=20, pc_type="gamg", shared_matrix=True)),
        ("f", "GCRO-DR(40,20)+GAMG shared m. SKR", "skr", S("gcrodr", pc_type="gamg", shared_matrix=True)),
        ("g", "SciPy gcrotmk(40,20) recycled", "skr", "scipy"),
    ]
    helm = [
        ("c", "GMRES(40)+GAMG", "none", S("gmres", m=40, pc_type="gamg")),
        ("c", "GMRES(40)+GAMG reused", "none", S("gmres", m=40, pc_type="gamg", pc_reuse=True)),
        ("c", "GMRES(80)+GAMG", "none", S("gmres", m=80, pc_type="gamg")),
        ("c", "GMRES(80)+GAMG SKR, reused, refresh/4", "skr", S("gmres", m=80, pc_type="gamg", pc_reuse=True, pc_refresh=4)),
        ("c", "GMRES(80)+GAMG SKR, reused, refresh/4, CGS2", "skr",
         S("gmres", m=80, pc_type="gamg", pc_reuse=True, pc_refresh=4,
           options={"ksp_gmres_cgs_refinement_type": "refine_ifneeded"})),
        ("-", "GCRO-DR(40,20)+GAMG no recycling", "none", S("gcrodr", pc_type="gamg", recycle=False)),
        ("d", "GCRO-DR(40,20)+GAMG unsorted", "none", S("gcrodr", pc_type="gamg")),
        ("f", "GCRO-DR(40,20)+GAMG SKR", "skr", S("gcrodr", pc_type="gamg")),
        ("f", "GCRO-DR(40,20)+GAMG SKR guarded", "skr", S("gcrodr", pc_type="gamg", guard=True)),
        ("f", "GCRO-DR(80,20)+GAMG SKR", "skr", S("gcrodr", m=80, k=20, pc_type="gamg")),
        ("f", "GCRO-DR(80,20)+GAMG SKR, reused, refresh/4", "skr",
         S("gcrodr", m=80, k=20, pc_type="gamg", pc_reuse=True, pc_refresh=4)),
        ("f", "GCRO-DR(80,20)+GAMG SKR, reused", "skr", S("gcrodr", m=80, k=20, pc_type="gamg", pc_reuse=True)),
    ]
    stall = [
        ("a", "GMRES(40) cold", "none", S("gmres", m=40)),
        ("e", "GCRO-DR(40,20) SKR", "skr", S("gcrodr")),
    ]
    return darcy, helm, stall


def run_scipy(family, grid, n: int, ordering: str, rtol: float, max_it: int) -> dict:
    """SciPy gcrotmk(m=40, k=20), CU recycled across systems (discard_C: A changes). Serial."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import LinearOperator, gcrotmk
    from mpi4py import MPI

    from solvers.krylov.skr_sort import sort_systems

    samples = [family.sample(i, grid.ranges) for i in range(n)]
    srt = sort_systems(ordering, np.array([family.sort_features(s) for s in samples]), grid.comm)
    CU: list = []
    its = mv = fails = 0
    secs, worst = srt.seconds, 0.0
    for pos in srt.order:
        op, b = family.system(grid, samples[pos])
        indptr, indices, data = op.A.getValuesCSR()
        A = sp.csr_matrix((data, indices, indptr), shape=op.A.getSize())
        bb = b.getArray().copy()
        count = [0]

        def matvec(v, A=A, count=count):
            count[0] += 1
            return A @ v

        L = LinearOperator(A.shape, matvec=matvec, dtype=float)
        t0 = time.perf_counter()
        x, info = gcrotmk(L, bb, tol=rtol, atol=0.0, m=40, k=20, CU=CU, discard_C=True,
                          maxiter=max(1, max_it // 40))
        secs += time.perf_counter() - t0
        res = np.linalg.norm(bb - A @ x) / np.linalg.norm(bb)
        worst = max(worst, res)
        fails += int(info != 0 or res > 1.1 * rtol)
        mv += count[0]
        its += count[0]
        op.destroy()
        b.destroy()
    del MPI
    return {"iterations": its, "matvecs": mv, "pc_applies": 0, "seconds": secs, "sort_seconds": srt.seconds,
            "failures": fails, "max_residual": worst, "per_system": []}


def run_group(name: str, family_name: str, shape, n: int, variants, comm, quiet: bool, seed: int = 0,
              max_it: int = 10000) -> list[dict]:
    from solvers.krylov.plugin import solve_family
    from solvers.parallel import rprint
    from solvers.poisson.families import make_family
    from meshes import Grid

    family = make_family(family_name, shape, seed)
    grid = Grid(shape, comm=comm)
    rows = []
    for letter, label, ordering, spec in variants:
        if spec == "scipy":
            if comm.size > 1:
                continue
            r = run_scipy(family, grid, n, ordering, 1e-8, max_it)
        else:
            if spec.pc_type == "icc" and comm.size > 1:      # ICC is serial (bjacobi+icc in parallel)
                continue
            spec = dataclasses.replace(spec, max_it=max_it)
            srt, res = solve_family(family, grid, spec, n, ordering, _progress(comm, n * family.n_steps, quiet))
            r = {"iterations": res.iterations, "matvecs": res.matvecs,
                 "pc_applies": sum(x.pc_applies for x in res.records),
                 "seconds": res.seconds + srt.seconds, "sort_seconds": srt.seconds,
                 "failures": sum(1 for x in res.records if not x.converged or x.residual > 1.1 * spec.rtol),
                 "max_residual": res.max_residual,
                 "per_system": [x.iterations for x in res.records]}
        r.update({"group": name, "variant": letter, "label": label, "ordering": ordering, "np": comm.size,
                  "family": family_name, "shape": list(shape), "systems": n})
        rows.append(r)
        rprint(f"  {letter} {label:44s} its {r['iterations']:8d}  matvecs {r['matvecs']:8d}  "
               f"{r['seconds']:8.2f} s  failed {r['failures']}  max res {r['max_residual']:.1e}", comm=comm)
    return rows


def _progress(comm, total: int, quiet: bool):
    """A rank-0 progress line per solved system (None when quiet)."""
    if quiet:
        return None
    from solvers.parallel import rprint

    def show(rec, system) -> None:
        rprint(f"\r    system {rec.position + 1}/{total}: {rec.iterations} its", end="", comm=comm)
    return show


def _groups(rows: list[dict]):
    """Per group: (name, rows, ratios, best (c)) with ratios[i] = (its/(a), (a)/t, best(c)/t) as
    strings; the best (c) is the fastest (c) variant without failures."""
    for g in dict.fromkeys(r["group"] for r in rows):
        rs = [r for r in rows if r["group"] == g]
        a = next((r for r in rs if r["variant"] == "a"), None)
        cs = [r for r in rs if r["variant"] == "c" and not r["failures"]]
        best_c = min(cs, key=lambda r: r["seconds"]) if cs else None
        ratios = [(f"{r['iterations'] / a['iterations']:.3f}" if a else "-",
                   f"{a['seconds'] / r['seconds']:.2f}" if a else "-",
                   f"{best_c['seconds'] / r['seconds']:.2f}" if best_c else "-") for r in rs]
        yield g, rs, ratios, best_c


def table(rows: list[dict]) -> str:
    """Totals and ratios per group: vs (a) (if present) and vs the best (c) in wall time."""
    out = []
    for g, rs, ratios, best_c in _groups(rows):
        out.append(f"\n{g}  ({rs[0]['systems']} systems, {rs[0]['family']} {'x'.join(map(str, rs[0]['shape']))}, "
                   f"np = {rs[0]['np']}; best (c) = {best_c['label'] if best_c else '-'})")
        out.append(f"{'':2}{'variant':46s}{'iterations':>11}{'matvecs':>10}{'PC':>8}{'time [s]':>10}"
                   f"{'its/(a)':>9}{'(a)/t':>8}{'best(c)/t':>10}{'failed':>7}{'max res':>9}")
        for r, (ia, ta, tc) in zip(rs, ratios):
            flag = str(r["failures"]) + ("!" if r["failures"] else "")
            out.append(f"{r['variant']:2}{r['label']:46s}{r['iterations']:11d}{r['matvecs']:10d}{r['pc_applies']:8d}"
                       f"{r['seconds']:10.2f}{ia:>9}{ta:>8}{tc:>10}{flag:>7}{r['max_residual']:9.1e}")
    return "\n".join(out)


def markdown(rows: list[dict]) -> str:
    """The same totals and ratios as :func:`table`, as Markdown tables (for the docs)."""
    out = []
    for g, rs, ratios, best_c in _groups(rows):
        out.append(f"\n{g}, {rs[0]['systems']} systems, np = {rs[0]['np']}"
                   + (f"; best (c) = {best_c['label']}" if best_c else "") + "\n")
        out.append("| | variant | iterations | matvecs | PC | time [s] | its/(a) | (a)/t | best(c)/t | failed | max res |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r, (ia, ta, tc) in zip(rs, ratios):
            out.append(f"| {r['variant']} | {r['label']} | {r['iterations']:,} | {r['matvecs']:,} | {r['pc_applies']:,} | "
                       f"{r['seconds']:.2f} | {ia} | {ta} | {tc} | {r['failures']} | {r['max_residual']:.1e} |")
    return "\n".join(out)


def _group(text: str) -> tuple[int, int, str]:
    """'N:systems[:letters]' -> (N, systems, variant letters to run; default all, '-' = no recycling)."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SystemExit(f"group {text!r}: expected N:systems or N:systems:letters (e.g. 257:10:cf-)")
    return int(parts[0]), int(parts[1]), parts[2] if len(parts) == 3 else "abcde'fgh-"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--darcy", nargs="*", default=["129:100", "257:30:cefgh"],
                   help="N:systems[:letters] Darcy groups (N² nodes; letters: variants to run)")
    p.add_argument("--helmholtz", nargs="*", default=["129:50"], help="N:systems[:letters] Helmholtz groups")
    p.add_argument("--max-it", type=int, default=10000, help="iteration cap per system (all variants)")
    p.add_argument("--stall", type=int, default=0,
                   help="Helmholtz systems for the unpreconditioned stall check (0: skip)")
    p.add_argument("--no-np2", dest="np2", action="store_false",
                   help="skip the mpirun -n 2 rerun of (e), (f) on the first Darcy group")
    p.add_argument("--quick", action="store_true", help="smoke run: small grids, few systems (~15 s)")
    p.add_argument("--json", default=str(ROOT / "results" / "recycling.json"))
    p.add_argument("--markdown", metavar="JSON", help="print the tables of an earlier run as Markdown and exit")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    args = p.parse_args()
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())["rows"]))
        return 0
    if args.quick:
        args.darcy, args.helmholtz = ["65:8"], ["65:6"]

    import petsc4py
    petsc4py.init(sys.argv[:1])
    from mpi4py import MPI
    from solvers.parallel import rprint

    comm = MPI.COMM_WORLD
    quiet = args.quiet or not sys.stdout.isatty()
    darcy, helm, stall = _spec_table()
    if args.child:                                        # np = 2 rerun of (e), (f)
        n_, k_, _ = _group(args.child)
        rows = run_group(f"Darcy {n_}² np={comm.size}", "darcy_exp", (n_, n_), k_,
                         [v for v in darcy if v[0] in "ef"], comm, True, max_it=args.max_it)
        if comm.rank == 0:
            Path(args.json).write_text(json.dumps(rows))
        return 0

    rows = []
    t_start = time.perf_counter()
    for g in args.darcy:
        n_, k_, only = _group(g)
        rprint(f"Darcy K = exp(GRF(2.5, 7)), {n_}² nodes, {k_} systems", comm=comm)
        rows += run_group(f"Darcy {n_}²", "darcy_exp", (n_, n_), k_, [v for v in darcy if v[0] in only],
                          comm, quiet, max_it=args.max_it)
    for g in args.helmholtz:
        n_, k_, only = _group(g)
        rprint(f"Helmholtz k ~ U(15, 25), {n_}² nodes, {k_} systems", comm=comm)
        rows += run_group(f"Helmholtz {n_}²", "helmholtz", (n_, n_), k_, [v for v in helm if v[0] in only],
                          comm, quiet, max_it=args.max_it)
        if args.stall:
            rprint(f"Helmholtz without preconditioner, first {args.stall} systems", comm=comm)
            rows += run_group(f"Helmholtz {n_}² no PC", "helmholtz", (n_, n_), args.stall, stall, comm, quiet,
                              max_it=args.max_it)
    if args.np2 and args.darcy and comm.size == 1:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "np2.json"
            cmd = ["mpirun", "-n", "2", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
            cmd += [sys.executable, __file__, "--child", args.darcy[0], "--json", str(out), "--max-it", str(args.max_it)]
            rprint(f"np = 2 rerun of (e), (f): {' '.join(cmd)}", comm=comm)
            subprocess.run(cmd, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            rows += json.loads(out.read_text())
    total = time.perf_counter() - t_start
    if comm.rank == 0:
        print(table(rows))
        print(f"\nbenchmark wall time {total:.0f} s")
        hits = [f"{r['group']}: {r['label']} ({r['failures']})" for r in rows if r["failures"]]
        print("variants with failures (max_it or true residual > 1.1 rtol; ratios are not speed-ups): "
              + ("; ".join(hits) if hits else "none"))
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        from solvers.io.hdf5 import versions
        path.write_text(json.dumps({"rows": rows, "wall_seconds": total, "argv": sys.argv[1:],
                                    "versions": versions(comm)}, indent=1))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
