"""Benchmark of the space-dependent mixture (``boltzmann_space``): cost per Strang step against the mass
ratio (AP: must stay flat), against n_x, and strong scaling np = 1 vs np = 2. The full cross operators
(``full_ap2``) at m_H/m_L = 16 and 100 are timed on a few cells beside AP.

    OMP_NUM_THREADS=1 python scripts/bench_boltzmann_space.py            # np = 1 tables -> results/boltzmann_space.json
    OMP_NUM_THREADS=1 python scripts/bench_boltzmann_space.py --scaling  # np = 1 scaling row
    OMP_NUM_THREADS=1 mpirun -n 2 python scripts/bench_boltzmann_space.py --scaling

The scaling row (``ap2``, positivity fix off (the default), m_H/m_L = 1000, n_x = 128, N = 24, 2D velocity,
Kn = 0.01, periodic temperature wave; one warm-up step, then ``SCALING_STEPS`` steps each timed
between barriers, the slowest rank's time, median over the steps) goes to
``results/boltzmann_space_scaling_np{P}.json``; a run with P > 1 reads the np = 1 file, checks that it
measured the same problem, and prints and stores the speed-up and efficiency. Every row also stores, per
rank, its cells and its wall time per step in each phase of ``SpaceMixture.timers`` (ghost exchange,
MUSCL, collision step) and the rest of the step (``idle``: waiting for the slower rank at the barrier
and in the ghost exchange is in ``idle`` and ``ghosts``); the scaling row adds the collision step's
stages per rank (cProfile of one more step: gain and loss of each species, Lorentz operator, slow
operators, implicit stages). ``--chunk C`` sets the cells per block of the collision step (default:
the solver's, ``Mixture.cells_per_block``).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import math
import pstats
import sys
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams  # noqa: E402
from solvers.boltzmann.space import SpaceMixture  # noqa: E402

COMM = MPI.COMM_WORLD
SCALING = {"mass_ratio": 1e3, "nx": 128, "n": 24}
SCALING_STEPS = 20    # the step times of this machine scatter by up to 1.5x: a median over 20
STAGES = {"gain_loss": "__call__@fast_spectral.py", "lorentz": "__call__@asymptotic.py",   # cProfile names
          "explicit": "explicit_part@ap_scheme.py", "implicit": "implicit_stage@ap_scheme.py",
          "collision_step": "ars222@ap_scheme.py"}


def step_time(mass_ratio: float, nx: int, n: int, scheme: str = "ap2", steps: int = 3, chunk: int | None = None,
              stages: bool = False) -> dict:
    """Wall time of one Strang step (after one warm-up step) on a periodic temperature wave: each step
    timed between barriers (the slowest rank); ``step`` the mean, ``median`` the median; per rank its
    cells and phase times per step (module docstring); ``stages``: the collision stages of one more
    (profiled) step per rank. Collective."""
    full = scheme.startswith("full")
    mix = Mixture(MixtureParams(dim=2, n=n, mass_ratio=mass_ratio), full_cross=full, T_ref=(1.35, 1.05))
    sp = SpaceMixture(mix, nx, 1.0, None, None, 0.01, scheme, COMM)
    sp.chunk = chunk or sp.chunk
    w = 1 + 0.1 * np.sin(2 * math.pi * sp.x)
    fL, fH = sp.maxwellians((1.0, 1.0), (0.0, 0.0), (1.2 * w, 0.8 * w))
    fL, fH = sp.step(fL, fH, sp.dt)
    sp.timers = dict.fromkeys(sp.timers, 0.0)
    walls = []
    for _ in range(steps):
        COMM.Barrier()
        tic = time.perf_counter()
        fL, fH = sp.step(fL, fH, sp.dt)
        walls.append(COMM.allreduce(time.perf_counter() - tic, op=MPI.MAX))
    wall = float(np.mean(walls))
    mine = {"cells": sp.nloc, **{k: v / steps for k, v in sp.timers.items()}}
    mine["idle"] = wall - sum(v for k, v in mine.items() if k != "cells")
    if stages:
        mine["stages"] = collision_stages(sp, fL, fH)
    T = sp.cell_moments(fL, fH)
    dT = COMM.allreduce(float(np.abs(T["T_L"] - T["T_H"]).max()), op=MPI.MAX)
    return {"mass_ratio": mass_ratio, "nx": nx, "n": n, "scheme": scheme, "ranks": COMM.size, "steps": steps,
            "positivity": sp.positivity, "chunk": sp.chunk, "step": wall, "median": float(np.median(walls)),
            "walls": walls, "per_cell": wall / nx, "max_dT": dT, "per_rank": COMM.allgather(mine)}


def collision_stages(sp: SpaceMixture, fL: np.ndarray, fH: np.ndarray) -> dict:
    """Cumulative wall time of the collision stages (:data:`STAGES`) in one profiled Strang step of this rank."""
    prof = cProfile.Profile()
    prof.enable()
    sp.step(fL, fH, sp.dt)
    prof.disable()
    cum = {f"{name}@{Path(file).name}": st[3] for (file, _, name), st in pstats.Stats(prof).stats.items()}
    return {k: cum.get(v, 0.0) for k, v in STAGES.items()}


def say(*a) -> None:
    if COMM.rank == 0:
        print(*a, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scaling", action="store_true",
                    help="only the strong-scaling row (np = 1 first, then under mpirun -n 2)")
    ap.add_argument("--chunk", type=int, default=None,
                    help="cells per block of the collision step (default: Mixture.cells_per_block)")
    args = ap.parse_args()
    if args.chunk is not None and args.chunk < 1:
        say(f"--chunk: must be a positive number of cells, got {args.chunk}")
        sys.exit(2)
    if not args.scaling and COMM.size > 1:
        say("the tables are np = 1 figures: run without mpirun, or with --scaling")
        sys.exit(2)
    out = Path(__file__).resolve().parents[1] / "results"
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
        if COMM.rank == 0:
            out.mkdir(exist_ok=True)
            (out / "boltzmann_space.json").write_text(json.dumps(rows, indent=1))
    scaling(out, args.chunk)


def scaling(out: Path, chunk: int | None = None) -> None:
    """The strong-scaling row (module docstring). Collective."""
    say(f"strong scaling: ap2, m_H/m_L = {SCALING['mass_ratio']:g}, nx = {SCALING['nx']}, N = {SCALING['n']}, "
        f"2D velocity, {COMM.size} rank(s)")
    r = step_time(SCALING["mass_ratio"], SCALING["nx"], SCALING["n"], steps=SCALING_STEPS, chunk=chunk, stages=True)
    say(f"  {COMM.size} rank(s): median {r['median']:.3f} s/step (mean {r['step']:.3f}; steps "
        + ", ".join(f"{w:.3f}" for w in r["walls"]) + f"), {r['chunk']} cells per collision block")
    for k, p in enumerate(r["per_rank"]):
        say(f"  rank {k}: {p['cells']} cells, per step " + ", ".join(
            f"{ph} {p[ph]:.3f} s" for ph in ("ghosts", "muscl", "collide", "idle"))
            + "; profiled step: " + ", ".join(f"{st} {v:.3f}" for st, v in p["stages"].items()))
    if COMM.rank != 0:
        return
    out.mkdir(exist_ok=True)
    ref = out / "boltzmann_space_scaling_np1.json"
    if COMM.size > 1:
        if not ref.exists():
            say(f"  no np = 1 row: run 'python scripts/bench_boltzmann_space.py --scaling' first ({ref} missing)")
        else:
            one = json.loads(ref.read_text())
            same = all(one.get(k) == r[k] for k in ("mass_ratio", "nx", "n", "scheme", "steps", "positivity", "chunk"))
            if not same:
                say(f"  {ref} measured another problem: no speed-up computed")
            else:
                sp_up = one["median"] / r["median"]
                r.update(speedup=sp_up, efficiency=sp_up / COMM.size, np1_median=one["median"])
                say(f"  speed-up {sp_up:.2f}, efficiency {sp_up / COMM.size:.2f} (np = 1: median "
                    f"{one['median']:.3f} s/step); goal efficiency >= 0.85")
    (out / f"boltzmann_space_scaling_np{COMM.size}.json").write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
