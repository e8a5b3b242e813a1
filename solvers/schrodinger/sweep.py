"""Parameter sweeps: one PINN training per parameter value, distributed over MPI ranks.

Every value gets the plan of a single run (``plan.py``: bound-state count, ``states = "all"``,
truncation from the decay length) on one box shared by all values (the union of their boxes: a
wider box only lowers the truncation shift), so that the samples share one x grid. Task i runs on
rank i mod size with seed ``seed + i``: the same arithmetic on any number of ranks (torch runs with a
pinned thread count). Every rank receives every task's result; a state with the wrong node count in
any task ends the run on every rank (exit 3). The result has The Well's names: input field ``V``,
output fields ``psi_0..psi_{n-1}`` on the x grid, per-sample scalars ``E_k`` (PINN), ``E_lower_k``,
``E_upper_k`` (a posteriori bounds), ``E_exact_k`` (box), ``nodes_k``, ``seed`` and the swept parameter.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from mpi4py import MPI

from ..parallel import UserError
from ..result import Result
from . import exact, pinn
from .plan import Plan, check_converged, check_nodes, energy_bounds, make_plan
from .potentials import from_params


def sweep_plans(params: dict, name: str, values: list[float], states: int | str, tolerance: float,
                margin: float | None) -> list[Plan]:
    """One plan per value, all on the same box (module docstring)."""
    plans = [make_plan(from_params(dict(params, **{name: v})), states, tolerance, margin) for v in values]
    lo, hi = min(p.box.lo for p in plans), max(p.box.hi for p in plans)
    if plans[0].line is None:
        if any((p.box.lo, p.box.hi) != (lo, hi) for p in plans):
            raise UserError(f"sweep.parameter: {name} changes the box; the samples need one x grid", collective=True)
        return plans
    return [dataclasses.replace(p, box=p.line.in_box(lo, hi)) for p in plans]


def run_tasks(plans: list[Plan], values: list[float], cfg: pinn.PINNConfig, x: np.ndarray, comm: MPI.Comm,
              bound_tolerance: float, require_convergence: bool, progress: bool = False
              ) -> tuple[list[dict], list[str]]:
    """Train every task (task i on rank i mod size); every rank returns all tasks in order and the
    warnings of unconverged states kept (``plan.check_converged``). Collective."""
    mine = []
    for i in range(comm.rank, len(values), comm.size):
        plan = plans[i]
        tcfg = dataclasses.replace(cfg, seed=cfg.seed + i)
        states = pinn.solve(plan.box, plan.n, tcfg, x, progress=progress)
        E_ex = exact.box_levels(plan.box, plan.n)
        lo, hi = energy_bounds(plan, states)
        mine.append({"index": i, "value": values[i], "seed": tcfg.seed, "V": plan.box(x), "states": states,
                     "E": np.array([s.E for s in states]), "psi": np.stack([s.psi for s in states]),
                     "E_lower": lo, "E_upper": hi, "E_exact": E_ex, "nodes": np.array([s.nodes for s in states]),
                     "seconds": float(sum(s.seconds for s in states))})
    tasks = sorted((t for part in comm.allgather(mine) for t in part), key=lambda t: t["index"])
    warnings = []
    for t in tasks:
        where = f"sweep value {values[t['index']]:g} (task {t['index']}): "
        try:
            check_nodes(t["states"], plans[t["index"]].n, t["E_exact"])
        except UserError as exc:
            raise type(exc)(f"{where}{exc}", collective=True) from None
        warnings += check_converged(t["states"], t["E_lower"], t["E_upper"], bound_tolerance, require_convergence, where)
    return tasks, warnings


def well_result(tasks: list[dict], name: str, x: np.ndarray, params: dict) -> Result:
    """The sweep in The Well's layout (``datasets.schema``: [B, nx] fields in ``t0_fields``, [B]
    ``scalars``, every group and attribute the format asks for)."""
    from ..datasets import schema

    n = len(tasks[0]["E"])
    constants = {k: float(v) for k, v in params.items() if isinstance(v, float) and k != name}
    fields = [schema.FieldSpec("V", "input")] + [schema.FieldSpec(f"psi_{k}", "output") for k in range(n)]
    scalars = {"sample_index": "int64", "seed": "int64", name: "float64", "pinn_seconds": "float64"}
    for k in range(n):
        scalars.update({f"{key}_{k}": "float64" for key in ("E", "E_lower", "E_upper", "E_exact")})
        scalars[f"nodes_{k}"] = "int64"
    layout = schema.Layout(dataset_name="schrodinger_sweep", shape=(len(x),), extent=[(float(x[0]), float(x[-1]))],
                           fields=fields, scalars=scalars, parameters=constants)
    res = Result(layout=lambda h5: schema.create(h5, layout, len(tasks)))
    res.arrays["dimensions/x"] = x
    res.arrays["t0_fields/V"] = np.stack([t["V"] for t in tasks]).astype(np.float32)
    for k in range(n):
        res.arrays[f"t0_fields/psi_{k}"] = np.stack([t["psi"][k] for t in tasks]).astype(np.float32)
        for key in ("E", "E_lower", "E_upper", "E_exact"):
            res.arrays[f"scalars/{key}_{k}"] = np.array([t[key][k] for t in tasks])
        res.arrays[f"scalars/nodes_{k}"] = np.array([t["nodes"][k] for t in tasks], dtype=np.int64)
    res.arrays["scalars/sample_index"] = np.array([t["index"] for t in tasks], dtype=np.int64)
    res.arrays["scalars/seed"] = np.array([t["seed"] for t in tasks], dtype=np.int64)
    res.arrays[f"scalars/{name}"] = np.array([t["value"] for t in tasks])
    res.arrays["scalars/pinn_seconds"] = np.array([t["seconds"] for t in tasks])
    return res
