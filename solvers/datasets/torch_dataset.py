"""A lazy ``torch.utils.data.Dataset`` over one split of a Well-layout dataset.

Nothing is read at construction beyond the metadata; each worker process opens the HDF5 file
once, on its first ``__getitem__`` (the open handle is dropped when the dataset is pickled
to a ``DataLoader`` worker), and reads one sample (one chunk) per item.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import schema
from .export import split_files


class WellSplit(Dataset):
    """Items ``{"x": [C_in, (T,) nx, ny], "y": [C_out, (T,) nx, ny], "index": int}`` (float32).

    ``path``: a dataset directory (give ``split``) or one ``.hdf5`` file. ``inputs`` /
    ``outputs`` default to the file's ``input_fields`` / ``output_fields``. With
    ``normalize=True`` each field is standardised with the dataset's ``stats.yaml``.
    """

    def __init__(self, path: str | Path, split: str = "train", inputs: list[str] | None = None,
                 outputs: list[str] | None = None, normalize: bool = False):
        import h5py
        path = Path(path)
        self.file = path if path.is_file() else split_files(path)[split]
        with h5py.File(self.file, "r") as h5:
            layout = schema.layout_from_file(h5)
            self.sample_index = h5["scalars"]["sample_index"][...]
        self.inputs = inputs or layout.inputs
        self.outputs = outputs or layout.outputs
        unknown = [n for n in self.inputs + self.outputs if n not in {f.name for f in layout.fields}]
        if unknown:
            raise KeyError(f"{self.file}: no field(s) {unknown}; fields: {[f.name for f in layout.fields]}")
        self.scale: dict[str, tuple[float, float]] = {}
        if normalize:
            import yaml
            stats = yaml.safe_load((self.file.parents[2] / "stats.yaml").read_text())
            self.scale = {n: (stats["mean"][n], stats["std"][n] or 1.0) for n in self.inputs + self.outputs}
        self._h5 = None

    def __len__(self) -> int:
        return len(self.sample_index)

    def _open(self):
        if self._h5 is None:
            import h5py
            self._h5 = h5py.File(self.file, "r")
        return self._h5

    def _stack(self, names: list[str], i: int) -> torch.Tensor:
        g = self._open()["t0_fields"]
        arrs = []
        for n in names:
            a = g[n][i]
            if n in self.scale:
                m, s = self.scale[n]
                a = (a - m) / s
            arrs.append(a.astype(np.float32))
        return torch.from_numpy(np.stack(arrs))

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return {"x": self._stack(self.inputs, i), "y": self._stack(self.outputs, i),
                "index": int(self.sample_index[i])}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_h5"] = None                      # each worker opens its own handle
        return state

    def __del__(self) -> None:
        if getattr(self, "_h5", None) is not None:
            try:
                self._h5.close()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass
