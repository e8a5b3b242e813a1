"""Parameter sweeps: one PINN training per parameter value, distributed over MPI ranks.

Task i (the i-th value) runs on rank i mod size with seed ``seed + i``, so every task does the same
arithmetic on any number of ranks (torch runs with a pinned thread count). Rank 0 gathers the
results and writes one file in The Well layout (solvers.datasets.schema): input field ``V`` and
output fields ``psi_0..psi_{n-1}`` on the x grid, per-sample scalars ``E_k`` (PINN), ``E_exact_k``
(transfer-matrix reference), ``seed`` and the swept parameter.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
from mpi4py import MPI

from . import exact, pinn
from .potentials import from_params


def run_tasks(params: dict, name: str, values: list[float], n_states: int, cfg: pinn.PINNConfig,
              x: np.ndarray, comm: MPI.Comm, progress: bool = False) -> list[dict]:
    """Train every task; returns the list of per-task dicts on rank 0 (None elsewhere). Collective."""
    mine = []
    for i in range(comm.rank, len(values), comm.size):
        p = dict(params, **{name: values[i]})
        pot = from_params(p)
        tcfg = dataclasses.replace(cfg, seed=cfg.seed + i)
        states = pinn.solve(pot, n_states, tcfg, x, progress=progress)
        E_ex, psi_ex = exact.box_states(pot, n_states, x)
        mine.append({"index": i, "value": values[i], "seed": tcfg.seed, "V": pot(x),
                     "E": np.array([s.E for s in states]), "psi": np.stack([s.psi for s in states]),
                     "E_exact": E_ex, "psi_exact": psi_ex, "nodes": np.array([s.nodes for s in states]),
                     "seconds": np.array([s.seconds for s in states])})
    gathered = comm.gather(mine, root=0)
    if comm.rank != 0:
        return None
    return sorted((t for part in gathered for t in part), key=lambda t: t["index"])


def write_well(path: str | Path, tasks: list[dict], name: str, x: np.ndarray, constants: dict[str, float],
               attrs: dict) -> None:
    """One Well-layout file for the sweep (rank 0 only), written to ``path.partial`` then renamed."""
    import h5py

    from ..datasets import schema

    n_states = len(tasks[0]["E"])
    fields = [schema.FieldSpec("V", "input")] + [schema.FieldSpec(f"psi_{k}", "output") for k in range(n_states)]
    scalars = {"sample_index": "int64", "seed": "int64", name: "float64", "pinn_seconds": "float64"}
    for k in range(n_states):
        scalars.update({f"E_{k}": "float64", f"E_exact_{k}": "float64", f"nodes_{k}": "int64"})
    layout = schema.Layout(dataset_name="schrodinger_sweep", shape=(len(x),), extent=[(float(x[0]), float(x[-1]))],
                           fields=fields, scalars=scalars, parameters=constants)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        with h5py.File(tmp, "w") as h5:
            schema.create(h5, layout, len(tasks))
            t0, sc = h5["t0_fields"], h5["scalars"]
            t0["V"][...] = np.stack([t["V"] for t in tasks])
            for k in range(n_states):
                t0[f"psi_{k}"][...] = np.stack([t["psi"][k] for t in tasks])
                sc[f"E_{k}"][...] = [t["E"][k] for t in tasks]
                sc[f"E_exact_{k}"][...] = [t["E_exact"][k] for t in tasks]
                sc[f"nodes_{k}"][...] = [t["nodes"][k] for t in tasks]
            sc["sample_index"][...] = [t["index"] for t in tasks]
            sc["seed"][...] = [t["seed"] for t in tasks]
            sc[name][...] = [t["value"] for t in tasks]
            sc["pinn_seconds"][...] = [float(np.sum(t["seconds"])) for t in tasks]
            for k, v in attrs.items():
                h5.attrs[k] = v
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
