"""Exports of a Well-layout dataset to the files the ecosystem's loaders read unchanged.

Every export carries every input. The model view shared by the exports and
:class:`~.torch_dataset.WellSplit` (:func:`model_pair`):

- steady family: ``x`` = the input fields as channels (a per-sample scalar input such as
  Helmholtz's ``k`` tiled over the grid into a constant channel), ``y`` = the solution (the
  pseudo-time level 1 of ``u``);
- time series (heat): ``x`` = the inputs and the initial state u(t_0); ``y`` = u(t_1..t_T), time
  as channels (the convention of neuraloperator's ``TheWellDataProcessor(time_as_channels=True)``
  and of the FNO-2D time-stepping setup).

Formats:

- ``pdebench``, a steady family with one input field (Darcy): PDEBench's Darcy file read by
  ``FNODatasetSingle``: ``tensor`` float32 [N, 1, nx, ny] (the solution), ``nu`` [N, nx, ny] (the
  coefficient), ``x-coordinate``, ``y-coordinate``, ``t-coordinate``, root attribute ``beta`` (the
  forcing) and the simulation parameters; ``{name}_{split}.hdf5``.
- ``pdebench``, every other family: PDEBench's per-sample layout read by ``FNODatasetMult`` (its
  time-series loader; PDEBench's own 2D time series use it): one group per sample,
  ``"{index:04d}/data"`` float32 [T, nx, ny, C] with channels (u, inputs...) over the time levels
  (for a steady family the pseudo-time [0, 1], u(0) = 0), ``"{index}/grid/{x,y,t}"``, group
  attribute ``config`` (JSON of the sample's parameters); ``{name}_{split}.h5``.
- ``neuraloperator``: ``{name}_{split}_{res}.pt``, a torch dict ``{"x", "y"}`` (float32) for
  ``PTDataset``: one input channel → x, y [N, H, W] (``channels_squeezed=True``, the default, as in
  ``DarcyDataset``); several → x [N, C, H, W], y [N, C_out, H, W] (``channels_squeezed=False``).
  ``res`` is the grid size (``HxW`` if not square).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import schema

FORMATS = ("pdebench", "neuraloperator")
_COEFFICIENT = "nu"
DARCY_RESOLUTIONS = (16, 32, 64, 128, 421)      # neuraloperator's DarcyDataset accepts only these


def split_files(root: Path) -> dict[str, Path]:
    """split -> its Well file, for the splits that hold samples."""
    out = {}
    for s in schema.SPLITS:
        files = sorted((root / "data" / s).glob("*.hdf5"))
        if len(files) > 1:
            raise ValueError(f"{root / 'data' / s}: expected one file, found {len(files)}")
        if files:
            out[s] = files[0]
    if not out:
        raise ValueError(f"{root}: no data/<split>/*.hdf5 files (is this a dataset directory?)")
    return out


def _single_output(layout: schema.Layout, path: Path | str) -> str:
    if len(layout.outputs) != 1:
        raise ValueError(f"{path}: exports need exactly one output field, found {layout.outputs}")
    return layout.outputs[0]


def _grid_channel(layout: schema.Layout, name: str, a: np.ndarray) -> np.ndarray:
    """A time-constant input as [n, nx, ny]: a per-sample scalar is tiled over the grid."""
    spec = next(f for f in layout.fields if f.name == name)
    if spec.dim_varying:
        return a
    return np.broadcast_to(a.reshape(a.shape + (1,) * layout.dim), a.shape + tuple(layout.shape))


def model_pair(layout: schema.Layout, fields: dict[str, np.ndarray], inputs: list[str] | None = None,
               path: Path | str = "") -> tuple[np.ndarray, np.ndarray]:
    """(x [n, C, nx, ny], y [n, C_out, nx, ny]) float32 from the stored fields of n samples."""
    out = _single_output(layout, path)
    u = fields[out]
    xs = [_grid_channel(layout, n, fields[n]) for n in (inputs or layout.inputs)]
    if not layout.steady:
        xs.append(u[:, 0])                          # the initial state of a time series
    y = u[:, 1:]
    if not xs:
        raise ValueError(f"{path}: no input field to export as x")
    return np.stack(xs, axis=1).astype(np.float32), np.ascontiguousarray(y, dtype=np.float32)


def _read(src: Path) -> tuple[schema.Layout, dict[str, np.ndarray], np.ndarray]:
    import h5py
    with h5py.File(src, "r") as h5:
        layout = schema.layout_from_file(h5)
        fields = {f.name: h5["t0_fields"][f.name][...] for f in layout.fields}
        idx = h5["scalars"]["sample_index"][...]
    return layout, fields, idx


def _coordinates(layout: schema.Layout) -> list[np.ndarray]:
    return [layout.coordinates(d).astype(np.float32) for d in range(layout.dim)]


def to_pdebench_darcy(src: Path, dst: Path) -> Path:
    """PDEBench's Darcy file (``FNODatasetSingle``) of a steady one-input split; returns ``dst``."""
    import h5py
    layout, fields, idx = _read(src)
    x, y = model_pair(layout, fields, path=src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(dst, "w") as out:
        out.create_dataset("tensor", data=y)
        out.create_dataset(_COEFFICIENT, data=x[:, 0])
        for d, c in enumerate(_coordinates(layout)):
            out.create_dataset(f"{schema.AXES[d]}-coordinate", data=c)
        out.create_dataset("t-coordinate", data=np.asarray(layout.times[1:], dtype=np.float32))
        out.create_dataset("sample_index", data=idx)
        for k, v in layout.parameters.items():
            out.attrs[k] = v
        if "source" in layout.parameters:
            out.attrs["beta"] = layout.parameters["source"]
    return dst


def to_pdebench_series(src: Path, dst: Path) -> Path:
    """PDEBench's per-sample layout (``FNODatasetMult``): ``{index}/data`` [T, nx, ny, C] with
    channels (u, inputs...); returns ``dst``."""
    import h5py
    layout, fields, idx = _read(src)
    out_name = _single_output(layout, src)
    u = fields[out_name]
    T = u.shape[1]
    chans = [u] + [np.broadcast_to(_grid_channel(layout, n, fields[n])[:, None], u.shape) for n in layout.inputs]
    data = np.stack(chans, axis=-1).astype(np.float32)            # [n, T, nx, ny, C]
    width = max(4, len(str(int(idx.max()) if idx.size else 0)))
    dst.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(dst, "w") as out:
        out.attrs["channels"] = np.array([out_name] + layout.inputs, dtype=h5py.string_dtype())
        for j, i in enumerate(idx):
            g = out.create_group(f"{int(i):0{width}d}")
            g.create_dataset("data", data=data[j])
            for d, c in enumerate(_coordinates(layout)):
                g.create_dataset(f"grid/{schema.AXES[d]}", data=c)
            g.create_dataset("grid/t", data=np.asarray(layout.times[:T], dtype=np.float32))
            cfg = {**layout.parameters, "sample_index": int(i),
                   **{n: float(fields[n][j]) for n in layout.inputs
                      if not next(f for f in layout.fields if f.name == n).dim_varying}}
            g.attrs["config"] = json.dumps(cfg)
    return dst


def to_neuraloperator(src: Path, dst_dir: Path, name: str, split: str) -> Path:
    """Write ``{name}_{split}_{res}.pt`` with ``x`` and ``y`` (float32 torch tensors)."""
    import torch
    layout, fields, _ = _read(src)
    x, y = model_pair(layout, fields, path=src)
    if x.shape[1] == 1 and y.shape[1] == 1:
        x, y = x[:, 0], y[:, 0]                     # PTDataset's default channels_squeezed=True
    shape = layout.shape
    res = str(shape[0]) if len(set(shape)) == 1 else "x".join(map(str, shape))
    dst = dst_dir / f"{name}_{split}_{res}.pt"
    dst_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"x": torch.from_numpy(np.ascontiguousarray(x)), "y": torch.from_numpy(np.ascontiguousarray(y))},
               dst)
    return dst


def export(root: str | Path, fmt: str, out_dir: str | Path | None = None, name: str | None = None) -> list[Path]:
    """Export every split of the dataset at ``root`` into ``out_dir`` (default
    ``root/export/fmt``) with file-name prefix ``name`` (default the dataset name); returns the
    files written."""
    import yaml
    root = Path(root)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    files = split_files(root)
    meta_file = next((m for m in sorted(root.glob("*.yaml")) if m.name != "stats.yaml"), None)
    meta = yaml.safe_load(meta_file.read_text()) if meta_file else {}
    name = name or meta.get("dataset_name", root.name)
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"--name {name!r}: expected a plain file-name prefix")
    out = Path(out_dir) if out_dir else root / "export" / fmt
    written = []
    for split, src in files.items():
        if fmt == "neuraloperator":
            written.append(to_neuraloperator(src, out, name, split))
            continue
        import h5py
        with h5py.File(src, "r") as h5:
            layout = schema.layout_from_file(h5)
        if layout.steady and len(layout.inputs) == 1:
            written.append(to_pdebench_darcy(src, out / f"{name}_{split}.hdf5"))
        else:
            written.append(to_pdebench_series(src, out / f"{name}_{split}.h5"))
    return written
