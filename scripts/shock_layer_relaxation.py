"""Relaxation of ``T_H - T_L`` behind a shock in a light/heavy mixture against the homogeneous
temperature-equalisation time (issue 13 §6; :mod:`solvers.boltzmann.shock_layer`): for each mass ratio
and each resolution (cells per ``ℓ_0 = s τ_0``), the decay length ``ℓ`` behind the shock, ``τ = ℓ / s``
and ``τ / τ_0``. Too long for ``validate boltzmann_space`` (minutes to an hour per row on one core).

    OMP_NUM_THREADS=1 python scripts/shock_layer_relaxation.py --mass-ratio 100 1000 --cells 2 4
    OMP_NUM_THREADS=1 mpirun -n 2 python scripts/shock_layer_relaxation.py ...   # same figures (x split)

Writes ``results/shock_layer.json`` (one row per run, appended to what is there).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solvers.boltzmann.shock_layer import shock_relaxation  # noqa: E402

COMM = MPI.COMM_WORLD


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mass-ratio", type=float, nargs="+", default=[100.0, 1000.0])
    ap.add_argument("--cells", type=float, nargs="+", default=[2.0, 4.0], help="cells per ℓ_0")
    ap.add_argument("--n", type=int, default=16, help="velocity points per dimension")
    ap.add_argument("--n-H", type=float, default=0.05, help="upstream heavy density (n_L = 1)")
    ap.add_argument("--mach", type=float, default=1.5)
    ap.add_argument("--t-lengths", type=float, default=10.0, help="run time in τ_0")
    ap.add_argument("--margin", type=float, default=4.0, help="domain beyond the shock's travel, in ℓ_0")
    args = ap.parse_args()
    out = Path(__file__).resolve().parents[1] / "results" / "shock_layer.json"
    rows = json.loads(out.read_text()) if out.exists() else []
    for mr in args.mass_ratio:
        for c in args.cells:
            nx = round(c * (args.t_lengths + args.margin))
            f = shock_relaxation(COMM, mr, nx, n_H=args.n_H, mach=args.mach, n=args.n, t_lengths=args.t_lengths,
                                 margin=args.margin)
            row = {k: v for k, v in f.items() if not hasattr(v, "shape")}
            rows.append(row)
            if COMM.rank == 0:
                print(f"m_H/m_L = {mr:g}, nx = {nx} ({f['cells_per_ell0']:.1f} cells per l0 = {f['ell0']:.3f}), "
                      f"{f['steps']} steps, {f['wall']:.0f} s: decay length {f['ell']:.4f} (at 0.8 t_end "
                      f"{f['ell_prev']:.4f}), tau = l/s = {f['tau']:.3f}, homogeneous tau0 = {f['tau0']:.3f}, "
                      f"tau/tau0 = {f['tau'] / f['tau0']:.3f}; shock speed {f['s_meas']:.4f} (RH {f['s']:.4f}), "
                      f"peak |T_H - T_L| {f['peak_dT']:.3f}, min f/max f {f['fmin']:.1e}", flush=True)
                out.parent.mkdir(exist_ok=True)
                out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
