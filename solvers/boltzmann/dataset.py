"""The ``boltzmann_space_dataset`` kind: trajectories of the 1D-in-x light/heavy mixture
(:mod:`.space`) from random smooth periodic initial data, in The Well's layout (issue #13, item 7).

Sample ``i`` (seed ``SeedSequence([seed, i])``, :func:`solvers.poisson.families.sample_seed`) is a
local equilibrium (discrete Maxwellians) with the base state of ``[initial.state]`` perturbed by

    n_s(x) = n_s (1 + δ_{n_s}(x)),   T_s(x) = T_s (1 + δ_{T_s}(x)),   s ∈ {L, H},
    δ(x) = A Σ_{k=1..K} c_k sin(2π k x / L_x + φ_k) / Σ_k |c_k|,   c_k ~ N(0, k^(-2 decay)),  φ_k ~ U(0, 2π),

so ``|δ| <= A < 1`` (positive densities and temperatures; the velocity boxes are scaled to
``(1 + A) T_s`` for every sample, so all samples share one grid and one time step). The
coefficients are drawn (four independent sets, in the order n_L, T_L, n_H, T_H), then evaluated
on the cells a rank owns, one mode at a time: the values do not depend on the decomposition.
The trajectory is evolved with :class:`.space.SpaceMixture` (periodic ends) and the moments
``n, u, T`` of each species are stored at the output times ``t_k = k t_end / (snapshots - 1)``
as time-varying t0 fields ``n_L, u_L, T_L, n_H, u_H, T_H`` of shape ``[B, snapshots, n_x]``.

Storage, resumption and the two-level parallelism are :func:`solvers.datasets.writer.generate`'s:
groups of ``ranks_per_solve`` ranks each compute whole trajectories, x split over the group's
ranks by the solver's DMDA; every rank returns its cells as a :class:`~solvers.result.Block`.
A new kind rather than a section of ``boltzmann_space``: a runner's output is either a file or a
directory (``Runner.output``), and a dataset is a resumable directory written by the dataset writer.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from mpi4py import MPI

from ..case import CaseError, Choice, Float, Int, Table
from ..datasets import schema, writer
from ..datasets.plugin import SCHEMA as DATASET_SCHEMA
from ..datasets.plugin import check_storage, split_sizes
from ..estimates import space_dataset_estimate
from ..io.hdf5 import versions
from ..parallel import UserError, rprint
from ..poisson.families import sample_seed
from ..registry import RunContext, runner
from ..result import Block, Result
from . import space_runs as sr
from .plugin import SPACE_SCHEMA, _state
from .space import SpaceMixture
from .transport import NG

PERTURBED = ("n_L", "T_L", "n_H", "T_H")          # the order the coefficient sets are drawn in
DRIFTS = ("mass_L", "mass_H", "momentum", "energy")


def _check(s: dict, path: str) -> None:
    """Cross-key checks (CaseError with the key path, before any work)."""
    amp = s["initial"]["amplitude"]
    if not 0 < amp < 1:
        raise CaseError("initial.amplitude", f"must be in (0, 1) (positive densities and temperatures), got {amp}")
    rps = s["parallel"]["ranks_per_solve"]
    if s["space"]["nx"] < NG * rps:
        raise CaseError("space.nx", f"{s['space']['nx']} cells cannot be split over parallel.ranks_per_solve = "
                                    f"{rps} ranks (at least {NG} cells per rank)")
    check_storage(s["samples"], s["parallel"], s["output"])


SCHEMA = Table({
    "velocity": SPACE_SCHEMA.keys["velocity"],
    "kernel": SPACE_SCHEMA.keys["kernel"],
    "species": SPACE_SCHEMA.keys["species"],
    "space": SPACE_SCHEMA.keys["space"],
    "initial": Table({
        "state": _state("base state, perturbed"),
        "amplitude": Float(default=0.2, positive=True, doc="A: largest relative perturbation |δ| (< 1)"),
        "modes": Int(default=4, min=1, max=1024, doc="K: Fourier modes k = 1..K of each perturbation"),
        "decay": Float(default=1.0, min=0.0, max=16.0, doc="c_k ~ N(0, 1) k^-decay (smoother for larger decay)"),
        "perturb": Choice(("nT", "n", "T"), default="nT", doc="perturbed fields: densities and/or temperatures "
                                                              "of both species (independent draws)"),
    }).optional(),
    "time": Table({
        "scheme": Choice(("ap", "ap2"), default="ap2", doc="collision step (the full_* schemes cost 30-300x more)"),
        "t_end": Float(positive=True, doc="final time"),
        "snapshots": Int(default=11, min=2, max=100000, doc="output times t_k = k t_end/(snapshots-1): the time axis"),
    }),
    "samples": Table({
        **DATASET_SCHEMA.keys["samples"].keys,
        "seed": Int(default=0, min=0, doc="base seed: trajectory i uses SeedSequence([seed, i])"),
    }, doc="how many trajectories, how they are split, the seed"),
    "parallel": DATASET_SCHEMA.keys["parallel"],
    "output": DATASET_SCHEMA.keys["output"],
}, validate=_check, estimate=space_dataset_estimate)


def space_case(case) -> dict:
    """The ``boltzmann_space`` case whose solver (:func:`.space_runs.build`) serves every trajectory:
    periodic ends and a ``wave`` of amplitude A, so the velocity boxes are scaled to ``(1 + A) T_s``,
    the hottest cell any sample can start with."""
    ini = case["initial"]
    return {**{k: case[k] for k in ("velocity", "kernel", "species", "space")},
            "time": {"scheme": case["time"]["scheme"]}, "boundary": {"left": "periodic", "right": "periodic"},
            "initial": {"type": "wave", "state": ini["state"], "amplitude": ini["amplitude"]}}


def output_times(case) -> np.ndarray:
    tm = case["time"]
    return np.linspace(0.0, tm["t_end"], tm["snapshots"])


def draw(case, index: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Sample ``index``'s seed, coefficients ``c [4, K]`` (mode k scaled by ``k^-decay``) and phases
    ``φ [4, K]``, rows in the order of :data:`PERTURBED`. Independent of the ranks."""
    ini = case["initial"]
    seed = sample_seed(case["samples"]["seed"], index)
    rng = np.random.default_rng(seed)
    k = np.arange(1, ini["modes"] + 1, dtype=float)
    c = rng.standard_normal((len(PERTURBED), ini["modes"])) * k ** -ini["decay"]
    phi = rng.uniform(0.0, 2 * math.pi, (len(PERTURBED), ini["modes"]))
    return seed, c, phi


def perturbation(amplitude: float, c: np.ndarray, phi: np.ndarray, x: np.ndarray, Lx: float) -> np.ndarray:
    """``δ(x) = A Σ_k c_k sin(2π k x/L_x + φ_k) / Σ_k |c_k|`` at the cell centres ``x``, one mode at a
    time (elementwise: a cell's value does not depend on which other cells are evaluated)."""
    out = np.zeros_like(x)
    for k, (ck, pk) in enumerate(zip(c, phi), start=1):
        out += ck * np.sin(2 * math.pi * k * x / Lx + pk)
    return amplitude * out / np.abs(c).sum()


def initial_state(case, index: int, x: np.ndarray) -> tuple[int, dict[str, np.ndarray]]:
    """Sample ``index``'s seed and its ``n_s, u_s, T_s`` (s = L, H) at the cell centres ``x``."""
    ini, Lx = case["initial"], case["space"]["Lx"]
    seed, c, phi = draw(case, index)
    val = {k: np.full(x.shape, float(ini["state"][k])) for k in sr.STATE_KEYS}
    for row, key in enumerate(PERTURBED):
        if key[0] in ini["perturb"]:
            val[key] = val[key] * (1 + perturbation(ini["amplitude"], c[row], phi[row], x, Lx))
    return seed, val


class Trajectories:
    """The producer of one group (:class:`solvers.datasets.writer.Producer`): its solver on the group's
    communicator, x split over the group's ranks. Collective on ``comm``."""

    def __init__(self, case, comm: MPI.Comm):
        self.case = case
        self.solver: SpaceMixture = sr.build(space_case(case), comm)
        self.times = output_times(case)
        self.seconds = 0.0                     # this rank's time in the time loops

    def __call__(self, index: int) -> writer.SampleResult:
        """Trajectory ``index``: this rank's cells of the six moment fields at the output times,
        the conservation drifts over the trajectory and the smallest ``f`` met. Collective."""
        sp, tic = self.solver, time.perf_counter()
        seed, val = initial_state(self.case, index, sp.x)
        fL, fH = sp.maxwellians((val["n_L"], val["n_H"]), (val["u_L"], val["u_H"]), (val["T_L"], val["T_H"]))
        moments = {k: [] for k in sr.MOMENT_KEYS}
        totals, steps, fmin = [], 0, np.inf
        for a, b in zip(self.times[:-1], self.times[1:]):
            r = sr.evolve(sp, fL, fH, b - a, n_snap=2)        # moments at a and b
            fL, fH, steps, fmin = r["fL"], r["fH"], steps + r["steps"], min(fmin, r["fmin"])
            for k in sr.MOMENT_KEYS:
                moments[k] += [r[k][0], r[k][-1]] if not moments[k] else [r[k][-1]]
            totals += r["totals"] if not totals else r["totals"][-1:]
        self.seconds += time.perf_counter() - tic
        nt, nx = len(self.times), sp.nx
        fields = {k: Block((nt, nx), (0, sp.xs), np.stack(moments[k])) for k in sr.MOMENT_KEYS}
        drift = sr.drifts([totals[0], totals[-1]], sp.mix.m_L, sp.mix.m_H)
        scalars = {"sample_index": index, "seed": seed, "steps": steps, "min_f_rel": fmin,
                   **{f"drift_{k}": drift[k] for k in DRIFTS}}
        return writer.SampleResult(index, fields, scalars)

    def close(self) -> None:
        """Release the solver's DMDA and vectors. Collective."""
        for obj in (self.solver.gvec, self.solver.lvec, self.solver.da):
            obj.destroy()


def layout_for(case) -> schema.Layout:
    """The Well layout: 1D, x = the cell centres, time = the output times, the six moment fields
    time-varying (``dim_varying = [True]``), periodic boundaries."""
    sp, ini = case["space"], case["initial"]
    dx = sp["Lx"] / sp["nx"]
    fields = [schema.FieldSpec(k, "output", time_varying=True) for k in sr.MOMENT_KEYS]
    scalars = {"sample_index": "int64", "seed": "int64", "steps": "int64", "min_f_rel": "float64",
               **{f"drift_{k}": "float64" for k in DRIFTS}}
    params = {"mass_ratio": case["species"]["mass_ratio"], "Kn": sp["Kn"], "Lx": sp["Lx"],
              "amplitude": ini["amplitude"]}
    return schema.Layout(dataset_name=case.name, shape=(sp["nx"],), extent=[(0.5 * dx, sp["Lx"] - 0.5 * dx)],
                         fields=fields, scalars=scalars, parameters=params, times=output_times(case),
                         compression=case["output"]["compression"], bc_type="PERIODIC")


def build_plan(case, root: Path) -> writer.Plan:
    """The writer's plan; the fingerprinted content is every section that shapes the data."""
    smp, par = case["samples"], case["parallel"]
    data = {k: case[k] for k in ("velocity", "kernel", "species", "space", "initial", "time", "samples")}
    data.update(output={"compression": case["output"]["compression"]}, parallel={"io": par["io"]},
                case={"name": case.name})
    return writer.Plan(root=root, layout=layout_for(case), split_sizes=split_sizes(smp["n"], smp["split"]),
                       order=list(range(smp["n"])), case_data=data, case_text=case.text, io=par["io"],
                       checkpoint=par["checkpoint"], ranks_per_solve=par["ranks_per_solve"],
                       metadata={"seed": smp["seed"], "perturbation": dict(case["initial"])})


@runner("boltzmann_space_dataset", SCHEMA, output="dir",
        doc="trajectories of the 1D-in-x mixture from random smooth data, The Well's layout (resumable, groups)")
def run_space_dataset(case, ctx: RunContext) -> Result:
    """Generate (or resume, or recognise as complete) the trajectory dataset of a case. Collective."""
    comm, sp, par = ctx.comm, case["space"], case["parallel"]
    if comm.size % par["ranks_per_solve"]:                    # the same test on every rank
        raise UserError(f"parallel.ranks_per_solve: {par['ranks_per_solve']} must divide the number of ranks "
                        f"({comm.size})", collective=True)
    plan = build_plan(case, ctx.output)
    rprint(f"boltzmann_space_dataset {case.name}: {plan.n} trajectories (train/valid/test "
           f"{'/'.join(map(str, plan.split_sizes))}), nx = {sp['nx']}, {case['velocity']['dim']}D velocity "
           f"N = {case['velocity']['n']}, m_H/m_L = {case['species']['mass_ratio']:g}, Kn = {sp['Kn']:g}, "
           f"{case['time']['snapshots']} output times to t = {case['time']['t_end']:g}; {comm.size} rank(s) in "
           f"groups of {par['ranks_per_solve']}, io = {par['io']}", comm=comm)
    producers: list[Trajectories] = []

    def produce(group: MPI.Comm) -> Trajectories:
        producers.append(Trajectories(case, group))
        return producers[-1]
    rep = writer.generate(plan, produce, ctx.comms, quiet=ctx.quiet, versions=versions(comm))
    summary = {"path": str(ctx.output), "status": rep.status, "samples": plan.n, "resumed_from": rep.resumed_from,
               "solved": rep.solved, "wall_time": rep.wall_time, "solve_time": rep.solve_time,
               "write_time": rep.write_time, "merge_time": rep.merge_time}
    res = Result(attrs=summary)
    if rep.status == "already complete":
        res.say(f"{ctx.output} is already complete (same case); nothing to do")
        res.wrote = False
        return res
    n_groups = comm.size // par["ranks_per_solve"]
    per = comm.allreduce(producers[0].seconds if producers else 0.0, op=MPI.MAX) * n_groups / max(rep.solved, 1)
    resumed = f" (resumed with {rep.resumed_from} done)" if rep.resumed_from else ""
    res.say(f"{rep.solved} trajectories computed now{resumed} in {rep.wall_time:.2f} s ({per:.2f} s per trajectory "
            f"in a group of {par['ranks_per_solve']}); time loops {rep.solve_time:.2f} s (max over ranks), write "
            f"{rep.write_time:.2f} s, merge+finalize {rep.merge_time:.2f} s")
    return res
