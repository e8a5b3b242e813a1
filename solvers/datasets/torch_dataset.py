"""A lazy ``torch.utils.data.Dataset`` over one split of a Well-layout dataset.

Nothing is read at construction beyond the metadata; each worker process opens the HDF5 file
once, on its first ``__getitem__`` (the open handle is dropped when the dataset is pickled
to a ``DataLoader`` worker), and reads one sample (one chunk) per item. Items follow the model
view of :func:`.export.model_pair`, the same arrays the exports hold.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import schema
from .export import model_pair, split_files


class WellSplit(Dataset):
    """Items ``{"x": [C_in, nx, ny], "y": [C_out, nx, ny], "index": int}`` (float32).

    ``path``: a dataset directory (give ``split``) or one ``.hdf5`` file. ``inputs`` defaults to
    the file's ``input_fields`` (every input; a per-sample scalar such as Helmholtz's ``k`` is a
    constant channel); ``x`` of a time series also holds the initial state and ``y`` its later
    states (time as channels). With ``normalize=True`` each field is standardised with the
    dataset's ``stats.yaml`` (mean, std) before the channels are formed.
    """

    def __init__(self, path: str | Path, split: str = "train", inputs: list[str] | None = None,
                 normalize: bool = False):
        import h5py
        path = Path(path)
        self.file = path if path.is_file() else split_files(path)[split]
        with h5py.File(self.file, "r") as h5:
            self.layout = schema.layout_from_file(h5)
            self.sample_index = h5["scalars"]["sample_index"][...]
        layout = self.layout
        self.inputs = inputs or layout.inputs
        self.outputs = layout.outputs
        unknown = [n for n in self.inputs if n not in layout.inputs]
        if unknown:
            raise KeyError(f"{self.file}: no input field(s) {unknown}; inputs: {layout.inputs}")
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

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        g = self._open()["t0_fields"]
        fields = {}
        for n in self.inputs + self.outputs:
            a = g[n][i:i + 1].astype(np.float64)
            if n in self.scale:
                m, s = self.scale[n]
                a = (a - m) / s
            fields[n] = a
        x, y = model_pair(self.layout, fields, self.inputs, self.file)
        return {"x": torch.from_numpy(x[0]), "y": torch.from_numpy(y[0]), "index": int(self.sample_index[i])}

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
