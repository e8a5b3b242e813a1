"""Model and checkpoint files (torch): written atomically, read without running code.

Every ``.pt`` file of the suite goes through here: :func:`save` writes ``<path>.tmp`` then renames
(a killed run never leaves half a model under the real name); :func:`load` uses
``torch.load(weights_only=True)`` (tensors, containers, numbers, strings: a pickled payload is
refused, nothing runs) and :func:`why_not_loaded` turns torch's refusal into one line.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def save(path: str | Path, obj: Any) -> None:
    """``torch.save`` to ``path`` atomically (temporary name, then rename)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_json(path: str | Path, obj: Any) -> None:
    """A JSON card next to a model, atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def load(path: str | Path) -> dict:
    """A dict saved by :func:`save`, loaded weights-only (plus torch's version string, a ``str``
    subclass older cards hold). Raises whatever torch raises for a foreign file."""
    import torch
    from torch.torch_version import TorchVersion

    with torch.serialization.safe_globals([TorchVersion]):
        state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise TypeError(f"holds a {type(state).__name__}, not a dict")
    return state


def why_not_loaded(exc: Exception) -> str:
    """Why a file did not load, in one line (torch's weights-only refusal without its advice)."""
    if "Weights only load failed" in str(exc):
        if "GLOBAL" in str(exc):
            return "it asks to run Python code or build Python objects; refused, nothing was run"
        return "not a torch weights file"
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
