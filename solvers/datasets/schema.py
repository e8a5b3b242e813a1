"""The Well's HDF5 layout (PolymathicAI/the_well, docs/data_format.md) for operator-learning data.

One file per split holds ``B`` samples ("trajectories")::

    /                     @dataset_name @grid_type='cartesian' @n_spatial_dims @n_trajectories
                          @simulation_parameters (names; each also a root attribute and /scalars entry)
    /dimensions           @spatial_dims ['x', 'y'(, 'z')]; time [T], x [nx], y [ny] (float32)
    /t0_fields            @field_names; one float32 dataset per scalar field,
                          shape [B, (T,) nx, ny(, nz)] (T only for time-varying fields),
                          attributes dim_varying, sample_varying, time_varying
    /t1_fields, /t2_fields  present and empty (the Poisson family has no vector/tensor fields)
    /scalars              @field_names; per-sample scalars [B] (sample index, seed, iterations,
                          residual, ...) and the simulation parameters (shape ())
    /boundary_conditions  one group per spatial dimension (``x_wall``: WALL, or ``x_periodic``):
                          bool ``mask`` over that dimension (True at both ends), float32
                          ``values`` (the Dirichlet data, WALL only)

Inputs (coefficients, sources, initial states) and outputs (solutions) are both fields; the root
attributes ``input_fields`` / ``output_fields`` say which is which. Each sample is one HDF5 chunk.

Steady families use a two-state pseudo-time (``STEADY_TIMES`` = [0, 1]): the output ``u`` is
time-varying with ``u[:, 0] = 0`` (the zero initial iterate every solve starts from) and
``u[:, 1]`` = the solution, while the inputs are time-constant fields. The Well's ``WellDataset``
with its default window (1 input step, 1 output step) then yields one window per sample with
``constant_fields`` = the inputs, ``input_fields`` = u(0) = 0 and ``output_fields`` = the solution.
A per-sample scalar input (Helmholtz's ``k``) is a field with ``dim_varying`` all False (shape
[B]); The Well's loader tiles it over the grid into a constant channel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

SPLITS = ("train", "valid", "test")
AXES = ("x", "y", "z")
FIELD_DTYPE = np.float32
STEADY_TIMES = np.array([0.0, 1.0])             # pseudo-time of a steady sample: zero state, solution


def steady_states(u: np.ndarray) -> np.ndarray:
    """The stored [2, nx, ny] states of a steady solution ``u``: (0, u) at ``STEADY_TIMES``."""
    return np.stack([np.zeros_like(u), u])


@dataclass(frozen=True)
class FieldSpec:
    """A scalar (order-0) field: ``role`` is ``'input'`` or ``'output'``."""

    name: str
    role: str
    time_varying: bool = False
    dim_varying: bool = True                     # False: one value per sample, constant in space


@dataclass
class Layout:
    """Everything that fixes the shape of a dataset file except the number of samples."""

    dataset_name: str
    shape: tuple[int, ...]                       # nodes per spatial dimension
    extent: Sequence[Sequence[float]]
    fields: list[FieldSpec]
    scalars: dict[str, str] = field(default_factory=dict)        # per-sample: name -> numpy dtype
    parameters: dict[str, float] = field(default_factory=dict)   # simulation parameters
    times: np.ndarray = field(default_factory=lambda: np.zeros(1))
    compression: str = "none"                    # 'none', 'gzip' or 'lzf'
    bc_type: str = "WALL"
    bc_value: float = 0.0
    steady: bool = False                         # the time axis is the pseudo-time STEADY_TIMES

    @property
    def dim(self) -> int:
        return len(self.shape)

    def field_shape(self, spec: FieldSpec, n: int) -> tuple[int, ...]:
        """[n, (T,) (nx, ny(, nz))]."""
        return (n,) + ((len(self.times),) if spec.time_varying else ()) + \
            (tuple(self.shape) if spec.dim_varying else ())


    def sample_shape(self, spec: FieldSpec) -> tuple[int, ...]:
        return self.field_shape(spec, 1)[1:]

    def coordinates(self, d: int) -> np.ndarray:
        lo, hi = self.extent[d]
        return np.linspace(lo, hi, self.shape[d])

    @property
    def inputs(self) -> list[str]:
        return [f.name for f in self.fields if f.role == "input"]

    @property
    def outputs(self) -> list[str]:
        return [f.name for f in self.fields if f.role == "output"]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data description (for ``<name>.yaml`` and shard files)."""
        return {"dataset_name": self.dataset_name, "shape": list(self.shape),
                "extent": [list(map(float, e)) for e in self.extent],
                "fields": [{"name": f.name, "role": f.role, "time_varying": f.time_varying,
                            "dim_varying": f.dim_varying} for f in self.fields],
                "scalars": dict(self.scalars), "parameters": dict(self.parameters),
                "times": [float(t) for t in self.times], "compression": self.compression,
                "bc_type": self.bc_type, "bc_value": self.bc_value, "steady": self.steady}


def _str_list(names: Sequence[str]) -> np.ndarray:
    import h5py
    return np.array(list(names), dtype=h5py.string_dtype())


def dataset_creation_plist(early: bool):
    """Chunked-dataset creation properties: early allocation and no fill when ``early``.

    With every chunk allocated when the file is created, writing a sample only writes raw
    data (no metadata changes), which is what lets independent parallel writes go to one file
    and keeps a killed writer's file readable.
    """
    import h5py
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if early:
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


def create(h5, layout: Layout, n: int, early: bool = False) -> None:
    """Create the whole Well layout for ``n`` samples in the open file ``h5`` (no sample data).

    Collective when ``h5`` is opened with the ``mpio`` driver (every rank makes the same calls).
    """
    h5.attrs["dataset_name"] = layout.dataset_name
    h5.attrs["grid_type"] = "cartesian"
    h5.attrs["n_spatial_dims"] = np.int64(layout.dim)
    h5.attrs["n_trajectories"] = np.int64(n)
    h5.attrs["simulation_parameters"] = _str_list(layout.parameters)
    for k, v in layout.parameters.items():
        h5.attrs[k] = float(v)
    h5.attrs["input_fields"] = _str_list(layout.inputs)
    h5.attrs["output_fields"] = _str_list(layout.outputs)
    h5.attrs["steady"] = bool(layout.steady)

    dims = h5.create_group("dimensions")
    axes = AXES[:layout.dim]
    dims.attrs["spatial_dims"] = _str_list(axes)
    t = dims.create_dataset("time", data=np.asarray(layout.times, dtype=FIELD_DTYPE))
    t.attrs["sample_varying"] = False
    t.attrs["time_varying"] = True
    for d, ax in enumerate(axes):
        c = dims.create_dataset(ax, data=layout.coordinates(d).astype(FIELD_DTYPE))
        c.attrs["sample_varying"] = False
        c.attrs["time_varying"] = False

    comp = {} if layout.compression == "none" else {"compression": layout.compression}
    for order in range(3):
        grp = h5.create_group(f"t{order}_fields")
        names = [f.name for f in layout.fields] if order == 0 else []
        grp.attrs["field_names"] = _str_list(names)
    t0 = h5["t0_fields"]
    for spec in layout.fields:
        shape = layout.field_shape(spec, n)
        ds = t0.create_dataset(spec.name, shape=shape, dtype=FIELD_DTYPE, chunks=(1,) + shape[1:],
                               dcpl=dataset_creation_plist(early), **comp)
        ds.attrs["dim_varying"] = np.full(layout.dim, spec.dim_varying, dtype=bool)
        ds.attrs["sample_varying"] = True
        ds.attrs["time_varying"] = spec.time_varying

    sc = h5.create_group("scalars")
    sc.attrs["field_names"] = _str_list(list(layout.scalars) + list(layout.parameters))
    for name, dtype in layout.scalars.items():
        ds = sc.create_dataset(name, shape=(n,), dtype=dtype, dcpl=dataset_creation_plist(early))
        ds.attrs["sample_varying"] = True
        ds.attrs["time_varying"] = False
    for name, value in layout.parameters.items():
        ds = sc.create_dataset(name, data=np.float32(value))
        ds.attrs["sample_varying"] = False
        ds.attrs["time_varying"] = False

    bcs = h5.create_group("boundary_conditions")
    for d, ax in enumerate(axes):
        g = bcs.create_group(f"{ax}_{layout.bc_type.lower()}")      # named after its type, as The Well's checker asks
        g.attrs["bc_type"] = layout.bc_type
        g.attrs["associated_dims"] = _str_list([ax])
        g.attrs["associated_fields"] = _str_list(layout.outputs)
        g.attrs["sample_varying"] = False
        g.attrs["time_varying"] = False
        mask = np.zeros(layout.shape[d], dtype=bool)
        mask[[0, -1]] = True
        g.create_dataset("mask", data=mask)
        if layout.bc_type == "WALL":                                   # Dirichlet data; none for PERIODIC
            g.create_dataset("values", data=np.full(int(mask.sum()), layout.bc_value, dtype=FIELD_DTYPE))


def layout_from_file(h5) -> Layout:
    """Rebuild the :class:`Layout` of an existing Well file (for exports and loaders)."""
    dims = h5["dimensions"]
    axes = [a.decode() if isinstance(a, bytes) else str(a) for a in dims.attrs["spatial_dims"]]
    coords = [dims[a][...] for a in axes]
    inputs = set(_names(h5.attrs.get("input_fields", [])))
    t0 = h5["t0_fields"]
    fields = [FieldSpec(name, "input" if name in inputs else "output", bool(t0[name].attrs["time_varying"]),
                        bool(np.all(t0[name].attrs["dim_varying"])))
              for name in _names(t0.attrs["field_names"])]
    params = {p: float(h5.attrs[p]) for p in _names(h5.attrs["simulation_parameters"])}
    scalars = {n: h5["scalars"][n].dtype.str for n in _names(h5["scalars"].attrs["field_names"])
               if n not in params}
    return Layout(dataset_name=str(h5.attrs["dataset_name"]), shape=tuple(len(c) for c in coords),
                  extent=[(float(c[0]), float(c[-1])) for c in coords], fields=fields, scalars=scalars,
                  parameters=params, times=dims["time"][...].astype(float),
                  steady=bool(h5.attrs.get("steady", False)))


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
