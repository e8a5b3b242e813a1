"""HDF5 output: one file per run, written by rank 0 from gathered arrays, then renamed.

Writing to ``<path>.partial`` and renaming when complete means a failed run never leaves a
half-written file under the requested name. Arrays are stored in grid index order
``[i, j(, k)]`` (``u[i, j] = u(x_i, y_j)``).
"""
from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI


def versions(comm: MPI.Comm | None = None) -> dict[str, str]:
    """Versions of the stack (PETSc, MPI, numpy, h5py, torch, Python) and the number of ranks."""
    import h5py
    from petsc4py import PETSc

    comm = comm or MPI.COMM_WORLD
    out = {
        "solvers": __import__("solvers").__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "petsc": ".".join(map(str, PETSc.Sys.getVersion())),
        "petsc4py": __import__("petsc4py").__version__,
        "mpi4py": __import__("mpi4py").__version__,
        "mpi": MPI.Get_library_version().strip().splitlines()[0],
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "h5py_mpi": str(bool(h5py.get_config().mpi)),
        "ranks": str(comm.size),
    }
    try:
        import torch
        out["torch"] = torch.__version__
    except ImportError:
        out["torch"] = "not installed"
    return out


def _attr(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)) and not (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value)):
        return json.dumps(value)
    if value is None:
        return "none"
    return value


def write(path: str | Path, datasets: dict[str, Any], attrs: dict[str, Any] | None = None,
          comm: MPI.Comm | None = None, dataset_attrs: dict[str, dict] | None = None) -> None:
    """Write ``datasets`` (name -> array, possibly ``group/name``) and root ``attrs``. Collective.

    Only rank 0's arrays are used (gather first); the file appears atomically under ``path``.
    """
    comm = comm or MPI.COMM_WORLD
    err = None
    if comm.rank == 0:
        import h5py
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with h5py.File(tmp, "w", driver=None) as h5:
                for k, v in (attrs or {}).items():
                    h5.attrs[k] = _attr(v)
                for name, arr in datasets.items():
                    ds = h5.create_dataset(name, data=np.asarray(arr))
                    for k, v in (dataset_attrs or {}).get(name, {}).items():
                        ds.attrs[k] = _attr(v)
            os.replace(tmp, path)
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            err = f"could not write {path}: {exc}"
            tmp.unlink(missing_ok=True)
    err = comm.bcast(err, root=0)
    if err:
        raise OSError(err)
