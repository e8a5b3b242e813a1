"""Relaxation of ``T_H - T_L`` behind a shock in a light/heavy mixture against the homogeneous
temperature-equalisation time (issue 13 §6; :mod:`solvers.boltzmann.shock_layer`: a shock between two
inflow ends, no wall): for each mass ratio and each resolution (cells per ``ℓ_0 = u_2 τ_0``), the decay
length ``ℓ`` behind the shock, ``τ = ℓ/u_2`` and ``τ/τ_0``, the same fit at ``0.8 t_end`` (steadiness).

    OMP_NUM_THREADS=1 python scripts/shock_layer_relaxation.py --mass-ratio 100 1000 --cells 2 4
    OMP_NUM_THREADS=1 mpirun -n 2 python scripts/shock_layer_relaxation.py ...   # same figures (x split)

``--advected``: the tail without the shock instead (:func:`.shock_layer.advected_relaxation`: both species
flowing at ``--drift`` heavy thermal speeds, a two-temperature state let in on the left, an open (outflow) right
end, velocity boxes centred at the flow; ``--right inflow --centred-boxes``: the earlier set-up).
``--shock-frame``: the shock run in its own frame (velocity boxes centred at ``(u_1 + u_2)/2``, the shock
standing ``--margins[0]`` ℓ_0 from the left end); the density's 10-90 % rise width is printed.

``--trace``: a heavy trace (``--loading`` = ρ_H/ρ_L) behind a light shock in the shock's frame
(:mod:`solvers.boltzmann.trace_shock`): the slip ``u_H - u_L`` and ``T_H - T_L`` along the heavy's time
``t = ∫ dx/u_H`` against the homogeneous run from the post-shock state and the Langevin reference (the heavy's
Fokker-Planck equation in the fixed light bath, solved by ``--particles`` particles)::

    OMP_NUM_THREADS=1 python scripts/shock_layer_relaxation.py --trace --mass-ratio 100 --n 24 --cells 2 4 8 --t-lengths 10
    OMP_NUM_THREADS=1 python scripts/shock_layer_relaxation.py --trace --mass-ratio 1000 --n 48 --cells 2 4 --t-lengths 10

Writes ``results/shock_layer.json`` (``--json``; one row per run, appended to what is there) and the final
profiles to ``results/shock_layer_<mass ratio>_<cells>.npz`` (``--trace``: ``results/trace_shock_<mass
ratio>_<N>_<cells>.npz``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from solvers.boltzmann.shock_layer import advected_relaxation, shock_relaxation  # noqa: E402
from solvers.boltzmann.trace_shock import trace_shock_relaxation  # noqa: E402
from solvers.parallel import guarded  # noqa: E402

COMM = MPI.COMM_WORLD


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mass-ratio", type=float, nargs="+", default=[100.0, 1000.0])
    ap.add_argument("--cells", type=float, nargs="+", default=[2.0, 4.0], help="cells per ℓ_0")
    ap.add_argument("--n", type=int, default=16, help="velocity points per dimension")
    ap.add_argument("--n-H", type=float, default=0.05, help="upstream heavy density (n_L = 1)")
    ap.add_argument("--mach", type=float, default=1.5)
    ap.add_argument("--t-lengths", type=float, default=8.0, help="run time in τ_0")
    ap.add_argument("--margins", type=float, nargs=2, default=None, help="domain ahead of the shock's "
                    "final position and behind the step, in ℓ_0 (default 3 2; --trace: ahead of and behind the "
                    "shock, default 2 6)")
    ap.add_argument("--box", type=float, default=1.2, help="velocity boxes scaled to this times T_2")
    ap.add_argument("--tag", default="", help="suffix of the profile file")
    ap.add_argument("--advected", action="store_true", help="advected relaxation (no shock)")
    ap.add_argument("--drift", type=float, default=1.5, help="--advected: flow speed in heavy thermal speeds")
    ap.add_argument("--lengths", type=float, default=5.5, help="--advected: domain in ℓ_0")
    ap.add_argument("--ell-guess", type=float, default=2.0, help="--advected: initial profile exp(-x/(g ℓ_0))")
    ap.add_argument("--positivity", action="store_true", help="positivity fix after every collision step")
    ap.add_argument("--centred-boxes", action="store_true", help="--advected: boxes centred at 0 (default: at the flow)")
    ap.add_argument("--right", choices=("outflow", "inflow"), default=None, help="right end (default: outflow "
                    "with --advected, inflow of the downstream state for the shock)")
    ap.add_argument("--shock-frame", action="store_true", help="the shock run in its own frame (boxes centred "
                    "at (u_1 + u_2)/2; default: the frame moving at (u_1 + u_2)/2)")
    ap.add_argument("--trace", action="store_true", help="a heavy trace behind a light shock (shock frame)")
    ap.add_argument("--loading", type=float, default=0.01, help="--trace: upstream ρ_H/ρ_L")
    ap.add_argument("--particles", type=int, default=200_000, help="--trace: Langevin reference particles")
    ap.add_argument("--aligned", action="store_true", help="--trace: the heavy's transport frame-aligned")
    ap.add_argument("--json", default="shock_layer.json", help="rows appended to results/<this>")
    args = ap.parse_args()
    res = Path(__file__).resolve().parents[1] / "results"
    out = res / args.json
    rows = json.loads(out.read_text()) if out.exists() else []
    if COMM.rank == 0:
        res.mkdir(exist_ok=True)
    for mr in args.mass_ratio:
        for c in args.cells:
            if args.trace:
                f = trace_shock_relaxation(COMM, mr, c, loading=args.loading, mach=args.mach, n=args.n,
                                           t_lengths=args.t_lengths, particles=args.particles,
                                           margins=args.margins or (2.0, 6.0), aligned=args.aligned)
                if COMM.rank == 0:
                    print_trace(f, args)
                    rows.append({k: v for k, v in f.items() if not isinstance(v, np.ndarray)} | {"trace": True})
                    out.write_text(json.dumps(rows, indent=1))
                    np.savez(res / f"trace_shock_{mr:g}_{args.n}_{c:g}{args.tag}.npz",
                             **{k: v for k, v in f.items() if isinstance(v, np.ndarray)})
                continue
            if args.advected:
                f = advected_relaxation(COMM, mr, c, n_H=args.n_H, drift=args.drift, n=args.n, t_lengths=args.t_lengths,
                                        lengths=args.lengths, ell_guess=args.ell_guess,
                                        moving_boxes=not args.centred_boxes, right=args.right or "outflow")
                if COMM.rank == 0:
                    print(f"advected relaxation, m_H/m_L = {mr:g}, n_H/n_L = {args.n_H:g}, drift {args.drift:g}, N = "
                          f"{args.n}, boxes {'centred' if args.centred_boxes else 'at the flow'}, right end "
                          f"{args.right or 'outflow'}: nx = {f['nx']} ({f['cells_per_ell0']:.2f} cells per l0 = {f['ell0']:.3f}), "
                          f"{f['steps']} steps, {f['wall']:.0f} s: tau/tau0 = {f['tau'] / f['tau0']:.4f} (0.75 t_end "
                          f"{f['tau_prev'] / f['tau0']:.4f}; bracket [1, {1 + args.n_H:g}]); over [0.5, 2.5] l0 "
                          f"{f['tau_head'] / f['tau0']:.4f} (0.75 t_end {f['tau_head_prev'] / f['tau0']:.4f}); on a constant offset "
                          f"{f['ell_offset'] / f['ell0']:.4f} (offset {f['offset'] / f['delta']:.4f} of the inflow's), "
                          f"tau0 = {f['tau0']:.3f}, "
                          f"flow deviation {f['flow_dev']:.2e}", flush=True)
                    rows.append({k: v for k, v in f.items() if not isinstance(v, np.ndarray)} | {"advected": True})
                    out.write_text(json.dumps(rows, indent=1))
                continue
            margins = args.margins or (3.0, 2.0)
            f = shock_relaxation(COMM, mr, c, n_H=args.n_H, mach=args.mach, n=args.n, t_lengths=args.t_lengths,
                                 margin_up=margins[0], margin_down=margins[1], box=args.box,
                                 positivity=args.positivity, frame="shock" if args.shock_frame else "mid",
                                 right=args.right or "inflow")
            if COMM.rank == 0:
                print(f"m_H/m_L = {mr:g}, n_H/n_L = {args.n_H:g}, M = {args.mach:g}, N = {args.n}: nx = {f['nx']} "
                      f"({f['cells_per_ell0']:.2f} cells per l0 = {f['ell0']:.3f}), {f['steps']} steps, "
                      f"{f['wall']:.0f} s: window xi/l0 = [{f['window'][0] / f['ell0']:.2f}, "
                      f"{f['window'][1] / f['ell0']:.2f}], decay length {f['ell']:.4f} (at 0.8 t_end "
                      f"{f['ell_prev']:.4f}), tau = l/u2 = {f['tau']:.3f}, homogeneous tau0 = {f['tau0']:.3f}, "
                      f"tau/tau0 = {f['tau'] / f['tau0']:.4f} (0.8 t_end: {f['ell_prev'] / f['ell0']:.4f}; "
                      f"bracket [1, {1 + args.n_H:g}]); shock speed {f['s_meas']:.4f} (RH {f['w']:.4f}), "
                      f"peak |T_H - T_L| {f['peak_dT']:.4f}, floor {f['floor_dT']:.1e}, density 10-90 % rise "
                      f"{f['width'] / f['ell0']:.2f} l0 (0.8 t_end {f['width_prev'] / f['ell0']:.2f}), "
                      f"min f/max f {f['fmin']:.1e}; T_L - T_H ahead up to {f['separation']['ahead'][0]:.4f} at "
                      f"{f['separation']['ahead'][1] / f['ell0']:.2f} l0, T_H - T_L behind up to "
                      f"{f['separation']['behind'][0]:.4f} at {f['separation']['behind'][1] / f['ell0']:.2f} l0", flush=True)
                rows.append({k: v for k, v in f.items() if not isinstance(v, np.ndarray)})
                out.write_text(json.dumps(rows, indent=1))
                np.savez(res / f"shock_layer_{mr:g}_{c:g}{args.tag}.npz",
                         **{k: v for k, v in f.items() if isinstance(v, np.ndarray)}, ell0=f["ell0"])


def print_trace(f: dict, args) -> None:
    """The figures of one ``--trace`` run and its profiles against the two references."""
    tau0 = f["tau0"]
    print(f"m_H/m_L = {f['mass_ratio']:g}, rho_H/rho_L = {args.loading:g}, M = {args.mach:g}, N = {args.n}: nx = {f['nx']} "
          f"({f['cells_per_ell0']:g} cells per l0 = {f['ell0']:.3f}), {f['steps']} steps, {f['wall']:.0f} s; tau0 = "
          f"{tau0:.3f}, nu_H = {f['nu_H']:.5f} (1/(2 nu_H tau0) = {1 / (2 * f['nu_H'] * tau0):.4f}); separation at the "
          f"shock T_2 - T_1 = {f['T2'] - 1:.4f}; slip decay time / tau0: profile {f['tau_slip'] / tau0:.4f} (previous "
          f"snapshot {f['tau_slip_prev'] / tau0:.4f}), homogeneous {f['tau_slip_hom'] / tau0:.4f}, Langevin "
          f"{f['tau_slip_ref'] / tau0:.4f}; T_H - T_L homogeneous decay time / tau0 {f['tau_dT_hom'] / tau0:.4f}; "
          f"largest difference from the Langevin reference over heavy times {f['window'][0]:g}-{f['window'][1]:g} tau0: "
          f"slip {f['gap_slip']:.2e} of u_1 - u_2, T_H - T_L {f['gap_dT']:.2e} of T_2 - T_1; light T off T_2 by up to "
          f"{f['light_dev']:.1e}", flush=True)
    print("  t/tau0   slip (run, Langevin, homogeneous)   T_H - T_L (run, Langevin, homogeneous)")
    for i in range(len(f["t"])):
        print(f"  {f['t'][i] / tau0:6.3f}   {f['slip'][i]:.4f} {f['ref_slip'][i]:.4f} "
              f"{np.interp(f['t'][i], f['hom_t'], f['hom_slip']):.4f}   {f['dT'][i]:+.4f} {f['ref_dT'][i]:+.4f} "
              f"{np.interp(f['t'][i], f['hom_t'], f['hom_dT']):+.4f}", flush=True)


if __name__ == "__main__":
    sys.exit(guarded(lambda: main() or 0, COMM))
