"""A heavy trace behind a shock in the light gas (issue 13 §6; :mod:`solvers.boltzmann.trace_shock`): the slip
``u_H - u_L`` and ``T_H - T_L`` behind the shock along the heavy's time ``t = ∫ dx/u_H``, against the homogeneous
run from the post-shock state and the Langevin reference (the heavy's Fokker-Planck equation in the fixed light
bath, solved by particles), for each mass ratio and resolution.

    OMP_NUM_THREADS=1 python scripts/trace_shock_relaxation.py --mass-ratio 100 --n 24 --cells 4 8
    OMP_NUM_THREADS=1 python scripts/trace_shock_relaxation.py --mass-ratio 1000 --n 48 --cells 4
    OMP_NUM_THREADS=1 mpirun -n 2 python scripts/trace_shock_relaxation.py ...   # same figures (x split)

Writes ``results/trace_shock.json`` (``--json``; one row per run, appended) and the profiles to
``results/trace_shock_<mass ratio>_<N>_<cells>.npz``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solvers.boltzmann.trace_shock import trace_shock_relaxation  # noqa: E402
from solvers.parallel import guarded  # noqa: E402

COMM = MPI.COMM_WORLD


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mass-ratio", type=float, nargs="+", default=[100.0])
    ap.add_argument("--cells", type=float, nargs="+", default=[4.0], help="cells per ℓ_0")
    ap.add_argument("--n", type=int, default=24, help="velocity points per dimension")
    ap.add_argument("--loading", type=float, default=0.01, help="ρ_H/ρ_L upstream")
    ap.add_argument("--mach", type=float, default=1.5)
    ap.add_argument("--t-lengths", type=float, default=10.0, help="run time in τ_0")
    ap.add_argument("--particles", type=int, default=200_000, help="Langevin reference particles")
    ap.add_argument("--json", default="trace_shock.json", help="rows appended to results/<this>")
    args = ap.parse_args()
    res = Path(__file__).resolve().parents[1] / "results"
    out = res / args.json
    rows = json.loads(out.read_text()) if out.exists() else []
    if COMM.rank == 0:
        res.mkdir(exist_ok=True)
    for mr in args.mass_ratio:
        for c in args.cells:
            f = trace_shock_relaxation(COMM, mr, c, loading=args.loading, mach=args.mach, n=args.n,
                                       t_lengths=args.t_lengths, particles=args.particles)
            if COMM.rank == 0:
                tau0 = f["tau0"]
                print(f"m_H/m_L = {mr:g}, rho_H/rho_L = {args.loading:g}, M = {args.mach:g}, N = {args.n}: nx = {f['nx']} "
                      f"({c:g} cells per l0 = {f['ell0']:.3f}), {f['steps']} steps, {f['wall']:.0f} s; tau0 = {tau0:.3f}, "
                      f"nu_H = {f['nu_H']:.5f} (1/(2 nu_H tau0) = {1 / (2 * f['nu_H'] * tau0):.4f}); separation at the shock "
                      f"T_2 - T_1 = {f['T2'] - 1:.4f}; slip decay time / tau0: profile {f['tau_slip'] / tau0:.4f} "
                      f"(previous snapshot {f['tau_slip_prev'] / tau0:.4f}), homogeneous {f['tau_slip_hom'] / tau0:.4f}, "
                      f"Langevin {f['tau_slip_ref'] / tau0:.4f}; T_H - T_L homogeneous decay time / tau0 "
                      f"{f['tau_dT_hom'] / tau0:.4f}; largest difference from the Langevin reference over heavy times "
                      f"{f['window'][0]:g}-{f['window'][1]:g} tau0: slip {f['gap_slip']:.2e} of u_1 - u_2, T_H - T_L "
                      f"{f['gap_dT']:.2e} of T_2 - T_1; light T off T_2 by up to {f['light_dev']:.1e}", flush=True)
                print("  t/tau0   slip (run, Langevin, homogeneous)   T_H - T_L (run, Langevin, homogeneous)")
                for i in range(len(f["t"])):
                    print(f"  {f['t'][i] / tau0:6.3f}   {f['slip'][i]:.4f} {f['ref_slip'][i]:.4f} "
                          f"{np.interp(f['t'][i], f['hom_t'], f['hom_slip']):.4f}   {f['dT'][i]:+.4f} {f['ref_dT'][i]:+.4f} "
                          f"{np.interp(f['t'][i], f['hom_t'], f['hom_dT']):+.4f}")
                rows.append({k: v for k, v in f.items() if not isinstance(v, np.ndarray)})
                out.write_text(json.dumps(rows, indent=1))
                np.savez(res / f"trace_shock_{mr:g}_{args.n}_{c:g}.npz",
                         **{k: v for k, v in f.items() if isinstance(v, np.ndarray)})


if __name__ == "__main__":
    sys.exit(guarded(lambda: main() or 0, COMM))
