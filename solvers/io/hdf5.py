"""The one HDF5 writer: a :class:`~solvers.result.Result` to a file, distributed fields in parallel.

Every :class:`~solvers.result.Block` is written by the rank that owns it as a hyperslab of one
dataset of its global shape: with more than one rank the file is opened with h5py's ``mpio``
driver (parallel HDF5) on the run's communicator, datasets and attributes are created
collectively and each rank writes its own block independently, so no rank ever holds a field of
global size. Replicated ``arrays`` are written by rank 0. The file is written as
``<path>.partial`` and renamed when complete, so a failed run never leaves a half-written file
under the requested name. Arrays are stored in grid index order ``[i, j(, k)]``
(``u[i, j] = u(x_i, y_j)``); the contents are the same for any number of ranks.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
from mpi4py import MPI

from . import paths
from ..result import Block, Result


def versions(comm: MPI.Comm) -> dict[str, str]:
    """Versions of the stack (PETSc, MPI, numpy, h5py, torch, Python) and the number of ranks.

    torch's version comes from its package metadata: reporting it imports nothing.
    """
    import h5py
    from petsc4py import PETSc

    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = "not installed"
    return {
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
        "torch": torch,
        "ranks": str(comm.size),
    }


def attr_value(value: Any) -> Any:
    """An HDF5 attribute value: numbers, strings and numeric lists as they are; dicts, nested
    lists and None as JSON / 'none'."""
    if isinstance(value, (dict, list, tuple)) and not (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) for v in value)):
        return json.dumps(value)
    if value is None:
        return "none"
    return value


def _meta(result: Result) -> dict[str, tuple[tuple[int, ...], str]]:
    out = {name: (tuple(b.global_shape), b.data.dtype.str) for name, b in result.blocks.items()}
    out.update({name: (np.shape(a), np.asarray(a).dtype.str) for name, a in result.arrays.items()})
    return out


def write(path: str | Path, result: Result, attrs: dict[str, Any], comm: MPI.Comm) -> None:
    """Write ``result`` with root ``attrs`` (rank 0's values) to ``path``. Collective.

    Raises ``ValueError`` (on every rank) if the ranks disagree on the names, shapes or dtypes
    of the arrays, or if the blocks of a distributed array do not tile it.
    """
    import h5py

    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    meta = _meta(result)
    root_meta = comm.bcast(meta, root=0)
    if not comm.allreduce(meta == root_meta, op=MPI.LAND):
        raise ValueError("ranks disagree on the arrays of the result (names, shapes or dtypes)")
    for name, block in result.blocks.items():
        n = comm.allreduce(block.data.size)
        if n != int(np.prod(block.global_shape)):
            raise ValueError(f"the blocks of {name!r} hold {n} values, its global shape "
                             f"{block.global_shape} has {int(np.prod(block.global_shape))}")
    attrs = comm.bcast({k: attr_value(v) for k, v in attrs.items()}, root=0)
    dattrs = comm.bcast({k: {a: attr_value(v) for a, v in d.items()} for k, d in result.dataset_attrs.items()},
                        root=0)
    if comm.rank == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
    comm.Barrier()
    paths.require_space(path.parent, sum(int(np.prod(shape)) * np.dtype(dtype).itemsize   # before HDF5 can fail
                                         for shape, dtype in root_meta.values()) + 2**16, comm)  # halfway (exit 1)
    if comm.size > 1 and not h5py.get_config().mpi:
        _write_gathered(tmp, result, attrs, dattrs, comm)
    else:
        h5 = h5py.File(tmp, "w", driver="mpio", comm=comm) if comm.size > 1 else h5py.File(tmp, "w")
        _fill(h5, result, attrs, dattrs, root_meta, comm.rank == 0)
        h5.close()                                  # collective; an error above aborts the job instead
    if comm.rank == 0:
        os.replace(tmp, path)
    comm.Barrier()


def _fill(h5: Any, result: Result, attrs: dict, dattrs: dict, meta: dict, root: bool) -> None:
    """Create every dataset and attribute (collective with ``mpio``) and write what this rank owns."""
    if result.layout is not None:
        result.layout(h5)
    for k, v in attrs.items():
        h5.attrs[k] = v
    for name in sorted(meta):
        shape, dtype = meta[name]
        if name in h5:
            ds = h5[name]
            if ds.shape != tuple(shape):
                raise ValueError(f"{name}: the layout made {ds.shape}, the result holds {tuple(shape)}")
        else:
            ds = h5.create_dataset(name, shape=shape, dtype=np.dtype(dtype))
        for k, v in dattrs.get(name, {}).items():
            ds.attrs[k] = v
        if name in result.blocks:
            b = result.blocks[name]
            if b.data.size:
                ds[b.slices] = b.data
        elif root and int(np.prod(shape)):
            ds[...] = np.asarray(result.arrays[name])


def _write_gathered(tmp: Path, result: Result, attrs: dict, dattrs: dict, comm: MPI.Comm) -> None:
    """Fallback for an h5py built without MPI: rank 0 assembles every block and writes serially."""
    import h5py

    blocks = {}
    for name, b in sorted(result.blocks.items()):
        pieces = comm.gather(b, root=0)
        if comm.rank == 0:
            whole = np.empty(b.global_shape, dtype=b.data.dtype)
            for p in pieces:
                whole[p.slices] = p.data
            blocks[name] = Block.whole(whole, True)
    if comm.rank == 0:
        gathered = Result(blocks=blocks, arrays=result.arrays, dataset_attrs=result.dataset_attrs,
                          layout=result.layout)
        with h5py.File(tmp, "w") as h5:
            _fill(h5, gathered, attrs, dattrs, _meta(gathered), True)
