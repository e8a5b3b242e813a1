"""Benchmark of the space-dependent mixture (``boltzmann_space``): cost per Strang step against the mass
ratio (AP: must stay flat), against n_x, and strong scaling np = 1 vs np = 2 (run this script under
``mpirun -n 2`` for the np = 2 rows; it reads the np = 1 figures back from the JSON of an earlier np = 1
run). The full cross operators (``full_ap2``) at m_H/m_L = 16 and 100 are timed on a few cells beside AP.

    OMP_NUM_THREADS=1 python scripts/bench_boltzmann_space.py            # np = 1 tables
    OMP_NUM_THREADS=1 mpirun -n 2 python scripts/bench_boltzmann_space.py --scaling
Writes ``results/boltzmann_space.json`` (np = 1) or ``results/boltzmann_space_np2.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams  # noqa: E402
from solvers.boltzmann.space import SpaceMixture  # noqa: E402

COMM = MPI.COMM_WORLD


def step_time(mass_ratio: float, nx: int, n: int, scheme: str = "ap2", steps: int = 3) -> dict:
    """Mean wall time of one Strang step (after one warm-up step) on a periodic temperature wave."""
    full = scheme.startswith("full")
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio), full_cross=full, T_ref=(1.35, 1.05))
    sp = SpaceMixture(mix, nx, 1.0, None, None, 0.01, scheme, COMM)
    w = 1 + 0.1 * np.sin(2 * math.pi * sp.x)
    fL, fH = sp.maxwellians((1.0, 1.0), (0.0, 0.0), (1.2 * w, 0.8 * w))
    fL, fH = sp.step(fL, fH, sp.dt)
    COMM.Barrier()
    tic = time.perf_counter()
    for _ in range(steps):
        fL, fH = sp.step(fL, fH, sp.dt)
    COMM.Barrier()
    wall = COMM.allreduce(time.perf_counter() - tic, op=MPI.MAX) / steps
    T = sp.cell_moments(fL, fH)
    dT = COMM.allreduce(float(np.abs(T["T_L"] - T["T_H"]).max()), op=MPI.MAX)
    return {"mass_ratio": mass_ratio, "nx": nx, "n": n, "scheme": scheme, "ranks": COMM.size, "step": wall,
            "per_cell": wall / nx, "max_dT": dT}


def say(*a) -> None:
    if COMM.rank == 0:
        print(*a, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scaling", action="store_true", help="only the strong-scaling rows (run under mpirun -n 2)")
    args = ap.parse_args()
    out = Path("results")
    rows = []
    if not args.scaling:
        say("cost per step against the mass ratio (ap2, nx = 32, N = 16, 2D velocity)")
        for mr in (10.0, 1e2, 1e3, 1e4):
            r = step_time(mr, 32, 16)
            rows.append(r)
            say(f"  m_H/m_L = {mr:8g}: {r['step']:.3f} s/step, {1e3 * r['per_cell']:.2f} ms/cell")
        say("cost per step against n_x (ap2, m_H/m_L = 1000, N = 16)")
        for nx in (16, 32, 64):
            r = step_time(1e3, nx, 16)
            rows.append(r)
            say(f"  nx = {nx:4d}: {r['step']:.3f} s/step, {1e3 * r['per_cell']:.2f} ms/cell")
        say("full cross operators (full_ap2) vs AP (ap2), nx = 4, N = 16")
        for mr in (16.0, 100.0):
            for scheme in ("ap2", "full_ap2"):
                r = step_time(mr, 4, 16, scheme, steps=2)
                rows.append(r)
                say(f"  m_H/m_L = {mr:5g} {scheme:9s}: {r['step']:.3f} s/step ({1e3 * r['per_cell']:.1f} ms/cell)")
    say(f"strong scaling: ap2, m_H/m_L = 1000, nx = 128, N = 24, {COMM.size} rank(s)")
    r = step_time(1e3, 128, 24, steps=2)
    rows.append(r)
    say(f"  {COMM.size} rank(s): {r['step']:.3f} s/step")
    if COMM.rank == 0:
        out.mkdir(exist_ok=True)
        name = "boltzmann_space.json" if COMM.size == 1 else f"boltzmann_space_np{COMM.size}.json"
        (out / name).write_text(json.dumps(rows, indent=1))
        ref = out / "boltzmann_space.json"
        if COMM.size > 1 and ref.exists():
            one = [x for x in json.loads(ref.read_text()) if x["nx"] == 128 and x["ranks"] == 1]
            if one:
                s = one[0]["step"] / r["step"]
                say(f"  speed-up {s:.2f}, efficiency {s / COMM.size:.2f} (np = 1: {one[0]['step']:.3f} s/step)")


if __name__ == "__main__":
    main()
