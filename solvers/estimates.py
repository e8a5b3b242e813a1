"""Memory estimates (``Table.estimate``) of the kinds without a Krylov grid solve: the bytes a job of
``ranks`` ranks holds, all ranks together, from the type-checked sections, before any work.

Each counts the arrays its run allocates (float64 8 B, complex128 16 B, torch float32 4 B), with a
factor for the temporaries of one step, plus :data:`RUN_OVERHEAD` per rank (FFT plans, torch's
kernels and autograd buffers, allocator slack, the result being written). They are meant to refuse
runs that cannot fit, not to predict RSS; ``tests/test_hostile.py::test_estimate_bounds_measured_peak``
measures the peak RSS increment of a run of every kind and checks it lies between estimate / 10
and the estimate. Overflowing inputs give ``inf``, which the check refuses.
"""
from __future__ import annotations

import math

import numpy as np

from .case import grid_estimate
from .dcdm import VALIDATION_RHS

RUN_OVERHEAD = 48 * 2**20            # bytes per rank besides the counted arrays (measured: 5-30 MiB)
F64, C128, F32 = 8, 16, 4


def _pow(base: float, exp: int) -> float:
    """``base ** exp`` as a float, ``inf`` instead of OverflowError."""
    try:
        return float(base) ** exp
    except OverflowError:
        return math.inf


# -------------------------------------------------------------------------------------------------
# Boltzmann (fast spectral operator, solvers/boltzmann/fast_spectral.py)
# -------------------------------------------------------------------------------------------------
SPECTRAL_WORK = 16      # real N^d arrays per distribution in one collision evaluation: transforms, two
#                         shifted copies, the accumulator, the loss convolution, and the conservative
#                         projection's (d + 2) x N^d products (batched_rows)
STEP_COPIES = 12        # real N^d arrays per distribution held by a time step (RK4 stages, ARS(2,2,2)
#                         stages, equilibria, MUSCL faces and fluxes)


def spectral_bytes(dim: int, n: float, n_rho: float, cells: float, ranks_rho: int = 1) -> float:
    """One ``FastSpectral`` evaluation on ``cells`` distributions of N^d points, on one rank: its radial
    block of Fourier-space gain terms (``part``: ceil(n_rho / ranks_rho) x cells x N^(d-1)(N/2+1)
    complex), the all-gathered ``full`` (n_rho x that, when the radial points are split over
    ``ranks_rho`` > 1 ranks) and :data:`SPECTRAL_WORK` real arrays per cell."""
    points, half = _pow(n, dim), _pow(n, dim - 1) * (n // 2 + 1)
    local = math.ceil(n_rho / ranks_rho)
    gathered = n_rho if ranks_rho > 1 else 0
    return C128 * (local + gathered) * cells * half + F64 * SPECTRAL_WORK * cells * points


LORENTZ_CHUNK = 2 ** 15     # asymptotic.Lorentz.CHUNK (= fast_spectral.CACHE_BYTES // 32): entries of its multiplier evaluated at once
LORENTZ_TEMPS = 3           # float64 arrays of that size alive at once (the multiplier, sinc's temporaries, product)


def distinct_k2(dim: int, n: int) -> float:
    """How many distinct |k|^2 the wave numbers -N/2..N/2-1 give (``Lorentz``'s |k| groups): counted
    in 2D (N <= 4096), else the bound d (N/2)^2 + 1 (within ~20 % in 3D)."""
    if dim == 2 and n <= 4096:
        sq = np.arange(n // 2 + 1, dtype=np.int64) ** 2
        return float(len(np.unique(np.add.outer(sq, sq))))
    return dim * _pow(n // 2, 2) + 1


def lorentz_bytes(dim: int, n: int, cells: float) -> float:
    """The light species' Lorentz operator (``asymptotic.Lorentz.sphere_average``): a multiplier of
    (cells x N^d points, |k| groups) entries, evaluated in chunks of ``LORENTZ_CHUNK`` entries but
    at least one row (|k| groups entries) at a time."""
    per_cell = _pow(n, dim) * distinct_k2(dim, n)
    entries = min(cells * per_cell, max(LORENTZ_CHUNK, distinct_k2(dim, n)))
    return LORENTZ_TEMPS * F64 * entries


def time_steps(t_end: float, dt: float, growth: float = 1.0, dt_max: float | None = None) -> float:
    """The number of steps of ``ap_scheme.time_levels`` (dt_n = min(dt_max, dt growth^n)), in closed
    form (never iterates; ``inf`` when it overflows)."""
    cap = math.inf if dt_max is None else dt_max
    with np.errstate(all="ignore"):
        if growth <= 1.0 or dt >= cap:
            return float(np.ceil(np.float64(t_end) / min(dt, cap)))
        lg = np.log(np.float64(growth))
        k_cap = np.log(cap / dt) / lg                             # steps until dt reaches dt_max
        k_end = np.log1p(t_end * (growth - 1) / dt) / lg
        if k_end <= k_cap:
            return float(np.ceil(k_end))
        k = np.ceil(k_cap)
        covered = dt * np.expm1(k * lg) / (growth - 1)
        return float(k + np.ceil(max(t_end - covered, 0.0) / cap))


def bkw_estimate(sections: dict, ranks: int = 1) -> float:
    """``boltzmann_bkw``: one species on N^d; the radial points are split over the ranks and the
    gain terms all-gathered on every rank; RK4 copies; four diagnostics per step."""
    v, t = sections["velocity"], sections["time"]
    dim, n = v["dim"], v["n"]
    n_rho = v["n_rho"] or n // 2
    t0 = t["t0"] if t["t0"] is not None else (5.5 if dim == 3 else 1.0)
    t_end = t["t_end"] if t["t_end"] is not None else t0 + 3.0
    steps = max(t_end - t0, 0.0) / t["dt"] + 1
    per_rank = (spectral_bytes(dim, n, n_rho, 1, min(ranks, n_rho)) + F64 * STEP_COPIES * _pow(n, dim)
                + 4 * 32 * steps + RUN_OVERHEAD)
    return ranks * per_rank


def _mixture_operators(dim: int, n: int, n_rho: int, mass_ratio: float, full_cross: bool, cells: float,
                       ranks_rho: int) -> float:
    """Both species' self operators (one evaluated at a time) and, with ``full_cross``, the cross
    operators on the common grid of r N points per axis, r = sqrt(mass_ratio) (nested boxes), or
    the light species' Lorentz operator of the asymptotic ones (counted in both cases)."""
    out = (spectral_bytes(dim, n, n_rho or n // 2, cells, ranks_rho) + 2 * F64 * STEP_COPIES * cells * _pow(n, dim)
           + lorentz_bytes(dim, n, cells))
    if full_cross:                       # radial points: CrossCollision's default max(N, r N / 2)
        nc = round(math.sqrt(mass_ratio)) * n
        out += (spectral_bytes(dim, nc, n_rho or max(n, nc // 2), cells, ranks_rho) + 4 * F64 * cells * _pow(nc, dim)
                + C128 * (dim + 2) * _pow(nc, dim - 1) * (nc // 2 + 1))          # its psi multipliers
    return out


def mixture_estimate(sections: dict, ranks: int = 1) -> float:
    """``boltzmann_mixture``: two species on N^d (radial points split over the ranks, gathered on
    every rank), snapshots of both, ~40 moments per time level of ``time_levels``."""
    v, k, sp, tm = sections["velocity"], sections["kernel"], sections["species"], sections["time"]
    dim, n = v["dim"], v["n"]
    n_rho = k["n_rho"] or n // 2
    steps = time_steps(tm["t_end"], tm["dt"], tm["dt_growth"], tm["dt_max"]) + 1
    per_rank = (_mixture_operators(dim, n, k["n_rho"], sp["mass_ratio"], tm["scheme"] == "explicit", 1,
                                   min(ranks, n_rho))
                + 2 * 2 * F64 * (tm["snapshots"] + 1) * _pow(n, dim) + (48 + 8 * dim) * 32 * steps + RUN_OVERHEAD)
    return ranks * per_rank


def _space_rank(sections: dict, cells: float, f_snapshots: int) -> float:
    """One rank of the 1D-in-x solver on ``cells`` cells (plus 2 x 2 ghost cells): both species'
    distributions, the collision step batched over the cells (the self operators' radial gain terms
    for every cell, not split: the velocity operators are serial per rank), the DMDA vectors,
    ``f_snapshots`` copies of f and the moment snapshots."""
    v, k, sp, tm = (sections[s] for s in ("velocity", "kernel", "species", "time"))
    dim, n = v["dim"], v["n"]
    cells += 4
    return (_mixture_operators(dim, n, k["n_rho"], sp["mass_ratio"], tm["scheme"].startswith("full"), cells, 1)
            + 2 * F64 * _pow(n, dim) * cells * (2 + 2 * f_snapshots) + 64 * F64 * cells * tm["snapshots"]
            + RUN_OVERHEAD)


def space_estimate(sections: dict, ranks: int = 1) -> float:
    """``boltzmann_space``: x is split over the ranks, ceil(nx / ranks) cells each."""
    return ranks * _space_rank(sections, math.ceil(sections["space"]["nx"] / ranks), sections["time"]["f_snapshots"])


def space_dataset_estimate(sections: dict, ranks: int = 1) -> float:
    """``boltzmann_space_dataset``: ``ranks // ranks_per_solve`` groups, x split over a group's ranks;
    every trajectory's six moment fields at the output times (float64), held for the merge."""
    rps = sections["parallel"]["ranks_per_solve"]
    per_rank = _space_rank(sections, math.ceil(sections["space"]["nx"] / rps), 0)
    moments = 6 * F64 * sections["time"]["snapshots"] * sections["space"]["nx"]
    return ranks * per_rank + 2 * moments * sections["samples"]["n"]


# -------------------------------------------------------------------------------------------------
# Schrödinger PINN (solvers/schrodinger: 1D networks trained on rank 0, or one task per rank)
# -------------------------------------------------------------------------------------------------
PINN_BYTES_PER_POINT_NEURON = 40 * F64   # forward, two x-derivatives with create_graph, backward


def _pinn_states(sections: dict) -> tuple[int, int]:
    """(states, regions of constant V) of the case; ``states.n = "all"`` counted as the validator
    will (1 if it cannot: the validator then refuses the case)."""
    from .schrodinger.plan import count_states
    from .schrodinger.potentials import PotentialError, from_params

    try:
        pot = from_params(sections["potential"])
        n = count_states(pot, sections["states"]["n"])[0]
        regions = len(pot.values) + 2 if hasattr(pot, "values") else 1   # pieces + a line's outer regions
    except (PotentialError, ValueError):
        return 1, 3
    return n, regions


def pinn_bytes(sections: dict) -> tuple[float, float]:
    """(training, held) of one PINN run of every state. Training: the autograd graph over the points
    of one evaluation (collocation, Gauss-Legendre or final-quadrature points per region, whichever
    is most) and the earlier states at the quadrature points. Held: the states (ψ on the output grid,
    the exact and FD references) and the training history (three Python lists, ~80 B per loss
    evaluation; L-BFGS makes up to 1.25 evaluations per iteration)."""
    p, st = sections["pinn"], sections["states"]
    n, regions = _pinn_states(sections)
    pts = regions * max(p["collocation"] + 7 * p["lbfgs_rounds"], p["quadrature"], p["energy_quadrature"])
    training = PINN_BYTES_PER_POINT_NEURON * pts * p["width"] * (p["depth"] + 1) + F64 * n * regions * p["quadrature"]
    evals = p["ritz_epochs"] + p["adam_epochs"] + 1.25 * (p["lbfgs_rounds"] * p["lbfgs_iters"]
                                                          + p["polish_rounds"] * p["ritz_polish"])
    return training, F64 * 8 * n * st["points"] + 80 * n * evals


def schrodinger_estimate(sections: dict, ranks: int = 1) -> float:
    """``schrodinger``: the training on rank 0; every rank holds the broadcast states and computes
    the FD reference (tridiagonal eigenvectors on fd_nodes, up to 4000 more to put jumps midway)."""
    training, held = pinn_bytes(sections)
    n, _ = _pinn_states(sections)
    fd = F64 * (sections["reference"]["fd_nodes"] + 4000) * (3 * n + 8)
    return training + ranks * (held + fd + RUN_OVERHEAD)


def sweep_estimate(sections: dict, ranks: int = 1) -> float:
    """``schrodinger_sweep``: one training at a time per rank; the finished tasks (ψ and histories)
    are all-gathered, so every rank holds all of them twice (gathered, and the result's stacks)."""
    training, held = pinn_bytes(sections)
    return ranks * (training + 2 * len(sections["sweep"]["values"]) * held + RUN_OVERHEAD)


# -------------------------------------------------------------------------------------------------
# DCDM (solvers/dcdm: the net runs on rank 0)
# -------------------------------------------------------------------------------------------------
NET_ACTIVATIONS = 12     # float32 arrays of channels x nodes a U-Net application keeps (skips, one
#                          level's convolutions; levels below add a geometric 1/2^d series)
TRAIN_ACTIVATIONS = 100  # the same, kept for backward through the Chebyshev sandwich, and the gradients


def dcdm_estimate(sections: dict, ranks: int = 1) -> float:
    """``poisson_dcdm``: the grid solve (``grid_estimate``) and, on rank 0, the gathered residual,
    direction and smoother vectors (float64) and the net's activations for a 16-channel model (the
    shipped ones; the model file is read later)."""
    nodes = float(math.prod(sections["mesh"]["shape"]))
    return grid_estimate(sections, ranks) + 16 * F64 * nodes + F32 * 16 * NET_ACTIVATIONS * nodes \
        + ranks * RUN_OVERHEAD


def dcdm_train_estimate(sections: dict, ranks: int = 1) -> float:
    """``dcdm_train`` (rank 0): Lanczos with full reorthogonalisation (Q, interior nodes x (m + 1),
    the Ritz vectors and their weighted copy, float64, and its float32 tensor), the training
    batch's activations kept for backward, the held-out right-hand sides with the float64 CG
    vectors of their exact energies, and the sparse interior matrix."""
    nodes = float(math.prod(sections["mesh"]["shape"]))
    m = min(float(sections["data"]["lanczos_steps"]), nodes)
    c, t = sections["model"]["channels"], sections["training"]
    lanczos = (3 * F64 + F32) * nodes * (m + 1) + F64 * m * m + 64 * nodes
    train = F32 * t["batch"] * c * TRAIN_ACTIVATIONS * nodes
    return lanczos + train + 8 * F64 * VALIDATION_RHS * nodes + ranks * RUN_OVERHEAD
