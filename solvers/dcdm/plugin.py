"""Registers the ``poisson_dcdm`` and ``dcdm_train`` case kinds and the ``train-dcdm`` command."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from meshes import Grid

from ..case import Bool, CaseError, Choice, Float, Int, Str, Table, load, mesh_section
from ..estimates import dcdm_estimate, dcdm_train_estimate
from ..ksp import SolverDiverged, destroy as destroy_ksp, reason_name
from ..parallel import Comms, UserError, rprint, stdout_is_terminal
from ..poisson.mms import problem_data, problem_section
from ..registry import RunContext, command, runner, schemas
from ..result import Block, Result
from ..run import run_case
from . import validation  # noqa: F401  (registers the check)

MODELS = Path(__file__).parent / "models"

RUN_SCHEMA = Table({
    "mesh": mesh_section(),
    "problem": problem_section(),
    "dcdm": Table({
        "model": Str(default="dcdm_2d_128", doc="model file (.pt): a path (relative to the case file "
                                                "or absolute) or the name of a shipped model in solvers/dcdm/models"),
        "method": Choice(("dcdm", "fcg"), default="dcdm",
                         doc="'dcdm': the DCDM loop; 'fcg': PETSc KSPFCG with the net as a python PC (same iterates)"),
        "k": Int(default=2, min=1, doc="directions kept for A-orthogonalisation"),
        "rtol": Float(default=1e-6, positive=True, max=1.0, doc="stop at ||r|| <= rtol ||b||"),
        "atol": Float(default=1e-50, positive=True, doc="absolute tolerance"),
        "max_it": Int(default=1000, min=1, doc="maximum iterations"),
        "allow_grid_mismatch": Bool(default=False, doc="use a model trained on another grid size (transfer)"),
        "threads": Int(default=1, min=1, doc="torch threads for the net (rank 0)"),
    }, doc="DCDM solver").optional(),
}, estimate=dcdm_estimate)

TRAIN_SCHEMA = Table({
    "mesh": mesh_section(min_nodes=5),
    "model": Table({
        "channels": Int(default=16, min=1, doc="channels of every convolution"),
        "levels": Int(default=5, min=1, max=8, doc="resolution levels of the U-Net"),
        "activation": Choice(("relu", "prelu", "identity"), default="relu", doc="activation"),
    }, doc="network architecture (model.py)").optional(),
    "smoother": Table({
        "degree": Int(default=4, min=0, max=32, doc="Chebyshev degree around the net (0: the net alone)"),
    }, doc="Chebyshev smoother paired with the net (chebyshev.py)").optional(),
    "data": Table({
        "lanczos_steps": Int(default=400, min=2, doc="Lanczos steps = Ritz vectors"),
        "spectrum_decay": Float(default=0.0, min=-1.0, max=2.0,
                                doc="p in the weight (theta_1/theta_j)^p of Ritz vector j (> 0: toward the low end)"),
        "seed": Int(default=0, min=0, doc="seed of the Lanczos start vector and the coefficients"),
    }, doc="training right-hand sides (ritz_data.py)").optional(),
    "training": Table({
        "loss": Choice(("energy", "residual"), default="energy",
                       doc="'energy': remaining A-norm error fraction; 'residual': the paper's ||b - A q a||^2"),
        "batch": Int(default=8, min=1, doc="right-hand sides per step"),
        "lr": Float(default=1e-3, positive=True, doc="Adam learning rate (cosine decay to lr/20)"),
        "max_steps": Int(default=4000, min=1, doc="optimizer steps"),
        "max_minutes": Float(default=15.0, positive=True, doc="wall-clock budget"),
        "threads": Int(default=2, min=1, doc="torch threads"),
        "checkpoint_every": Int(default=100, min=1, doc="steps between checkpoints (<output>.ckpt)"),
        "target": Float(default=0.1, positive=True, max=1.0,
                        doc="converged: the held-out A-norm error fraction after the line search along M(b) is at "
                            "most this and at most half the untrained net's (docs/dcdm.md)"),
        "require_convergence": Bool(default=True, doc="false: write the model of a training that did not converge "
                                                      "(the card says so) instead of exit 3"),
    }, doc="optimisation").optional(),
}, estimate=dcdm_train_estimate)


def resolve_model(name: str, case_source: str) -> Path:
    """A model path: absolute, relative to the case file, relative to the cwd, or a shipped name."""
    p = Path(name)
    candidates = [p] if p.is_absolute() else [Path(case_source).parent / p, p]
    candidates += [MODELS / p, MODELS / p.with_suffix(".pt")]
    for c in candidates:
        if c.is_file():
            return c
    raise UserError(f"{case_source}: dcdm.model: no model file {name!r} (looked in the case's folder, "
                    f"the current folder and {MODELS})")


@runner("poisson_dcdm", RUN_SCHEMA, doc="-Δu = f by DCDM (learned conjugate directions) with a trained model")
def run_dcdm(case, ctx: RunContext) -> Result:
    """Solve one Poisson problem with DCDM (or KSPFCG + net); report iterations, times, error."""
    import torch  # noqa: F401  (fail early if the ml extra is missing)

    from ..poisson.operator import assemble
    from ..poisson.solver import errors
    from .solver import Direction, boundary_guess, dcdm_solve, fcg_ksp
    from .stencil import weights
    from .train import grid_mismatch, load_model

    comm = ctx.comm
    mesh, prob, cfg = case["mesh"], case["problem"], case["dcdm"]
    path = resolve_model(cfg["model"], case.source)
    try:
        net, card = load_model(path)
    except ValueError as exc:
        raise UserError(f"{case.source}: dcdm.model: {exc}") from None
    grid = Grid(mesh["shape"], mesh["extent"], comm=comm)
    if card["architecture"]["dim"] != grid.dim:
        raise UserError(f"{case.source}: dcdm.model: {path} is a {card['architecture']['dim']}D model, "
                        f"the case grid is {grid.dim}D")
    mismatch = grid_mismatch(card, grid.shape)
    if mismatch and not cfg["allow_grid_mismatch"]:
        raise UserError(f"{case.source}: dcdm.model: {mismatch} (set dcdm.allow_grid_mismatch = true "
                        "to use it on another grid)")
    if not np.allclose(weights(grid.h), weights(card["grid"]["h"]), rtol=1e-9):
        raise UserError(f"{case.source}: mesh.extent: cell aspect ratios {list(weights(grid.h))} differ from "
                        f"the model's {list(weights(card['grid']['h']))}")
    t0 = time.perf_counter()
    op = assemble(grid)
    exact, f, g = problem_data(prob)
    b = op.rhs(*(grid.vec_from_function(v) if callable(v) else v for v in (f, g)))
    assembly = time.perf_counter() - t0
    direction = Direction(grid, op.A, op.bc_scale, op.mask, net, card["smoother"]["degree"], cfg["threads"])
    u = grid.create_vec()
    if cfg["method"] == "dcdm":
        res = dcdm_solve(op.A, b, u, direction, cfg["rtol"], cfg["atol"], cfg["max_it"], cfg["k"])
        its, reason, history, solve_time = res.iterations, res.reason, res.history, res.solve_time
    else:
        ksp = fcg_ksp(op.A, direction, cfg["rtol"], cfg["atol"], cfg["max_it"], cfg["k"])
        boundary_guess(b, u, op.bc_scale, op.mask)
        t1 = time.perf_counter()
        ksp.solve(b, u)
        solve_time = time.perf_counter() - t1
        its, reason = ksp.getIterationNumber(), reason_name(ksp.getConvergedReason())
        history = np.array(ksp.getConvergenceHistory()) / b.norm()
        destroy_ksp(ksp)                                # before the python PC context goes away
    out = Result()
    out.attrs.update({"unknowns": grid.size, "method": cfg["method"], "model": str(path), "iterations": its,
                      "reason": reason, "relative_residual": float(history[-1]), "assembly_time": assembly,
                      "solve_time": solve_time, "net_time": direction.net_time,
                      "smoother_degree": card["smoother"]["degree"],
                      "model_card": {k: v for k, v in card.items() if k != "loss_curve"}})
    out.say(f"poisson_dcdm {grid.dim}D {'x'.join(map(str, grid.shape))} ({grid.size} unknowns) on {comm.size} "
            f"rank(s), model {path.name} ({card['parameters']} parameters, smoother degree "
            f"{card['smoother']['degree']}): {cfg['method']} {reason} in {its} iterations "
            f"(relative residual {history[-1]:.2e}), solve {solve_time:.3f} s of which net "
            f"{direction.net_time:.3f} s")
    if card.get("validation", {}).get("converged") is False:
        out.say(f"note: {path.name} was kept from a training that did not converge (held-out A-norm error fraction "
                f"{card['validation']['error_fraction']:.4g}, required <= {card['validation']['required']:.4g})")
    if exact is not None:
        out.attrs["error_l2"], out.attrs["error_max"] = errors(grid, u, exact)
        out.say(f"error vs exact solution ({prob['solution']}): L2 = {out.attrs['error_l2']:.3e}, "
                f"max = {out.attrs['error_max']:.3e}")
        out.blocks["exact"] = Block.from_grid(grid, np.broadcast_to(exact(*grid.local_coordinates()),
                                                                    grid.local_shape))
    if not reason.startswith("CONVERGED"):
        for line in out.lines:
            rprint(line, comm=comm)
        raise SolverDiverged(f"DCDM did not converge: {reason} after {its} iterations "
                             f"(relative residual {history[-1]:.2e}); raise dcdm.max_it or check the model")
    out.blocks["u"] = Block.from_grid(grid, grid.local_array(u))
    out.arrays["residual_history"] = history
    for d, name in enumerate("xyz"[:grid.dim]):
        out.arrays[name] = grid.coordinates(d)
    return out


def _train_config(case):
    from .model import Architecture
    from .train import TrainConfig

    mesh, m = case["mesh"], case["model"]
    return TrainConfig(shape=tuple(mesh["shape"]), extent=mesh["extent"],
                       arch=Architecture(len(mesh["shape"]), m["channels"], m["levels"], m["activation"]),
                       smoother_degree=case["smoother"]["degree"], lanczos_steps=case["data"]["lanczos_steps"],
                       spectrum_decay=case["data"]["spectrum_decay"], seed=case["data"]["seed"],
                       **case["training"])


@runner("dcdm_train", TRAIN_SCHEMA, doc="train a DCDM model (rank 0) and write <path>.pt + <path>.json",
        output=".pt")
def run_train(case, ctx: RunContext) -> Result:
    """Train on rank 0 (the other ranks wait); the model goes to [output] path or -o (.pt). A NaN loss
    or a training that misses its convergence target is exit 3 with nothing written (``train``)."""
    from .train import LossNotFinite, NotConverged, train

    comm = ctx.comm
    out = str(ctx.output)
    card, err = None, None
    if comm.rank == 0:
        try:
            card = train(_train_config(case), out, quiet=ctx.quiet, resume=not ctx.restart,
                         log=lambda *a: print(*a, flush=True))
        except (LossNotFinite, NotConverged) as exc:
            err = (type(exc), str(exc))
        except OSError as exc:
            err = (UserError, f"could not write {out}: {exc}")
        except ValueError as exc:
            err = (UserError, str(exc))
    err = comm.bcast(err, root=0)
    if err:
        raise err[0](err[1], collective=True)           # every rank of the world raises it
    res = Result()
    res.attrs.update(comm.bcast(card, root=0))
    v = res.attrs["validation"]
    res.say(f"{'converged' if v['converged'] else 'did NOT converge (kept: training.require_convergence = false)'}: "
            f"held-out A-norm error fraction {v['error_fraction']:.4g}, required <= {v['required']:.4g}")
    res.say(f"model card: {Path(out).with_suffix('.json')}")
    return res


def _train_args(p) -> None:
    p.add_argument("case", help="training case file (kind = 'dcdm_train')")
    p.add_argument("-o", "--output", default="", help="model path (.pt; the card goes next to it as .json)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace a model this project wrote before")


@command("train-dcdm", _train_args, help="train a DCDM model from a 'dcdm_train' case file")
def train_dcdm(args, comm) -> int:
    """Collective on ``comm``."""
    try:
        case = load(args.case, schemas(), ranks=comm.size)
    except CaseError as exc:
        raise UserError(f"{args.case}: {exc}") from None
    if case.kind != "dcdm_train":
        raise UserError(f"{args.case}: case.kind: must be 'dcdm_train' for train-dcdm, got {case.kind!r}")
    run_case(case, Comms(comm), output=args.output, quiet=args.quiet or not stdout_is_terminal(),
             restart=args.restart, overwrite=args.overwrite)
    return 0
