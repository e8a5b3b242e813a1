"""Exports of a Well-layout dataset to the formats the ecosystem's loaders read unchanged.

- ``pdebench``: PDEBench's single-array HDF5 (``tensor`` float32 [N, Nt, nx, ny] holding the
  output field, ``x-coordinate``, ``y-coordinate`` (``z-coordinate``), ``t-coordinate``; the
  simulation parameters as root attributes). Input fields keep their names, except the
  coefficient of a Darcy family, which PDEBench calls ``nu`` [N, nx, ny]; a Darcy forcing
  parameter ``source`` is also stored as PDEBench's root attribute ``beta``. One file per split:
  ``{name}_{split}.hdf5``.
- ``neuraloperator``: torch ``.pt`` dicts ``{"x": [N, H, W], "y": [N, H, W]}`` named
  ``{name}_{split}_{res}.pt`` (the Darcy/Navier-Stokes loaders). ``x`` is the input field
  (several inputs are stacked as channels [N, C, H, W]); ``y`` the output field; a time-varying
  output contributes its last time level to ``y`` and its first to ``x`` (the initial state).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import schema

FORMATS = ("pdebench", "neuraloperator")
_COEFFICIENT = "nu"


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


def _read(h5) -> tuple[schema.Layout, dict[str, np.ndarray]]:
    layout = schema.layout_from_file(h5)
    return layout, {f.name: h5["t0_fields"][f.name][...] for f in layout.fields}


def _single_output(layout: schema.Layout, path: Path) -> str:
    if len(layout.outputs) != 1:
        raise ValueError(f"{path}: exports need exactly one output field, found {layout.outputs}")
    return layout.outputs[0]


def to_pdebench(src: Path, dst: Path, family: str = "") -> Path:
    """Write one split file in PDEBench's single-array layout; returns ``dst``."""
    import h5py
    with h5py.File(src, "r") as h5:
        layout, fields = _read(h5)
        out_name = _single_output(layout, src)
        idx = h5["scalars"]["sample_index"][...]
    spec = next(f for f in layout.fields if f.name == out_name)
    u = fields[out_name]
    tensor = u if spec.time_varying else u[:, None]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(dst, "w") as out:
        out.create_dataset("tensor", data=tensor.astype(np.float32))
        for d in range(layout.dim):
            out.create_dataset(f"{schema.AXES[d]}-coordinate", data=layout.coordinates(d).astype(np.float32))
        out.create_dataset("t-coordinate", data=np.asarray(layout.times, dtype=np.float32))
        out.create_dataset("sample_index", data=idx)
        darcy = family.startswith("darcy")
        for name in layout.inputs:
            key = _COEFFICIENT if darcy and name == layout.inputs[0] else name
            out.create_dataset(key, data=fields[name].astype(np.float32))
        for k, v in layout.parameters.items():
            out.attrs[k] = v
        if darcy and "source" in layout.parameters:
            out.attrs["beta"] = layout.parameters["source"]
        out.attrs["source_fields"] = np.array([out_name] + layout.inputs, dtype=h5py.string_dtype())
    return dst


def to_neuraloperator(src: Path, dst_dir: Path, name: str, split: str) -> Path:
    """Write ``{name}_{split}_{res}.pt`` with ``x`` and ``y`` (float32 torch tensors)."""
    import h5py
    import torch
    with h5py.File(src, "r") as h5:
        layout, fields = _read(h5)
    out_name = _single_output(layout, src)
    spec = next(f for f in layout.fields if f.name == out_name)
    y = fields[out_name][:, -1] if spec.time_varying else fields[out_name]
    xs = [fields[n] for n in layout.inputs]
    if spec.time_varying:
        xs.append(fields[out_name][:, 0])
    if not xs:
        raise ValueError(f"{src}: no input field to export as x")
    x = xs[0] if len(xs) == 1 else np.stack(xs, axis=1)
    shape = layout.shape
    res = str(shape[0]) if len(set(shape)) == 1 else "x".join(map(str, shape))
    dst = dst_dir / f"{name}_{split}_{res}.pt"
    dst_dir.mkdir(parents=True, exist_ok=True)
    torch.save({"x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
                "y": torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))}, dst)
    return dst


def export(root: str | Path, fmt: str, out_dir: str | Path | None = None) -> list[Path]:
    """Export every split of the dataset at ``root``; returns the files written."""
    import yaml
    root = Path(root)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    files = split_files(root)
    meta_file = next((m for m in sorted(root.glob("*.yaml")) if m.name != "stats.yaml"), None)
    meta = yaml.safe_load(meta_file.read_text()) if meta_file else {}
    name = meta.get("dataset_name", root.name)
    family = meta.get("family", "")
    out = Path(out_dir) if out_dir else root / "export" / fmt
    written = []
    for split, src in files.items():
        if fmt == "pdebench":
            written.append(to_pdebench(src, out / f"{name}_{split}.hdf5", family))
        else:
            written.append(to_neuraloperator(src, out, name, split))
    return written
