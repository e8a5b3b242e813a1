"""``python -m solvers dataset check PATH``: verify a dataset against The Well's rules and ours.

PATH is a dataset directory (``<name>/`` with ``data/{train,valid,test}/*.hdf5``, ``<name>.yaml``,
``stats.yaml``) or a single ``.hdf5`` file. Checked: the root attributes, ``dimensions``,
``t0/t1/t2_fields``, ``scalars`` and ``boundary_conditions`` as in The Well's
``check_thewell_formatting.py``; fields float32 with the shapes their flags imply; every sample
present exactly once (``scalars/sample_index`` covers ``0..N-1`` across the splits); no NaN/inf;
no field constant over a sample (a never-written row); ``stats.yaml`` equal to the recomputed
training statistics (:mod:`.stats`, The Well's keys including the ``_delta`` ones); every stored
true relative residual ``scalars/residual`` at most the tolerance the solves were run with
(``solver.rtol`` in ``<name>.yaml``; datasets whose layout stores no residual skip this).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import schema


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    n_samples: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _names(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def check_file(path: Path, rep: CheckReport, batch: int = 64) -> np.ndarray | None:
    """Check one Well file; returns its ``scalars/sample_index`` (or None when absent)."""
    import h5py
    p = str(path)

    def bad(msg: str) -> None:
        rep.problems.append(f"{p}: {msg}")

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        bad(f"cannot open: {exc}")
        return None
    with h5:
        for key, typ in (("dataset_name", str), ("grid_type", str), ("n_spatial_dims", (int, np.integer)),
                         ("n_trajectories", (int, np.integer)), ("simulation_parameters", np.ndarray)):
            if key not in h5.attrs:
                bad(f"root attribute {key!r} missing")
            elif not isinstance(h5.attrs[key], typ):
                bad(f"root attribute {key!r} has type {type(h5.attrs[key]).__name__}")
        for param in _names(h5.attrs.get("simulation_parameters", [])):
            if param not in h5.attrs:
                bad(f"simulation parameter {param!r} is not a root attribute")
            if "scalars" in h5 and param not in h5["scalars"]:
                bad(f"simulation parameter {param!r} missing from /scalars")
        for grp in ("dimensions", "t0_fields", "t1_fields", "t2_fields", "scalars", "boundary_conditions"):
            if grp not in h5:
                bad(f"group /{grp} missing")
        if rep.problems and any(x.startswith(p) for x in rep.problems):
            return None
        B = int(h5.attrs["n_trajectories"])
        dims = h5["dimensions"]
        axes = _names(dims.attrs.get("spatial_dims", []))
        if len(axes) != int(h5.attrs["n_spatial_dims"]):
            bad(f"dimensions@spatial_dims {axes} does not match n_spatial_dims {h5.attrs['n_spatial_dims']}")
        if "time" not in dims or not _is_bool(dims["time"].attrs.get("sample_varying")):
            bad("dimensions/time missing or without a bool sample_varying attribute")
        for ax in axes:
            if ax not in dims:
                bad(f"dimensions/{ax} missing")
                continue
            for flag in ("sample_varying", "time_varying"):
                if not _is_bool(dims[ax].attrs.get(flag)):
                    bad(f"dimensions/{ax}@{flag} missing or not bool")
        sizes = {ax: dims[ax].shape[-1] for ax in axes if ax in dims}
        nt = dims["time"].shape[-1] if "time" in dims else 0
        for order in range(3):
            g = h5[f"t{order}_fields"]
            names = _names(g.attrs.get("field_names", []))
            if "field_names" not in g.attrs:
                bad(f"t{order}_fields@field_names missing")
            for name in names:
                _check_field(g, name, order, B, nt, axes, sizes, len(axes), bad, rep, batch)
        sc = h5["scalars"]
        for name in _names(sc.attrs.get("field_names", [])):
            if name not in sc:
                bad(f"scalars/{name} listed but missing")
                continue
            ds = sc[name]
            sv, tv = ds.attrs.get("sample_varying"), ds.attrs.get("time_varying")
            if not (_is_bool(sv) and _is_bool(tv)):
                bad(f"scalars/{name}: sample_varying/time_varying missing or not bool")
                continue
            if ds.ndim != int(sv) + int(tv):
                bad(f"scalars/{name}: {ds.ndim} dimensions, flags imply {int(sv) + int(tv)}")
            if sv and ds.shape[0] != B:
                bad(f"scalars/{name}: {ds.shape[0]} entries for {B} samples")
            if ds.dtype.kind == "f" and not np.all(np.isfinite(ds[...])):
                bad(f"scalars/{name}: NaN or inf")
        for key, bc in h5["boundary_conditions"].items():
            for a in ("bc_type", "associated_fields", "associated_dims", "sample_varying", "time_varying"):
                if a not in bc.attrs:
                    bad(f"boundary_conditions/{key}@{a} missing")
            if "mask" not in bc:
                bad(f"boundary_conditions/{key}/mask missing")
                continue
            off = int(bc.attrs.get("sample_varying", False)) + int(bc.attrs.get("time_varying", False))
            for i, ax in enumerate(_names(bc.attrs.get("associated_dims", []))):
                if ax not in sizes or bc["mask"].shape[off + i] != sizes[ax]:
                    bad(f"boundary_conditions/{key}/mask does not match dimension {ax}")
        return sc["sample_index"][...] if "sample_index" in sc else None


def _check_field(g, name, order, B, nt, axes, sizes, ndim, bad, rep: CheckReport, batch: int) -> None:
    where = f"t{order}_fields/{name}"
    if name not in g:
        bad(f"{where} listed in field_names but missing")
        return
    ds = g[name]
    flags = {k: ds.attrs.get(k) for k in ("sample_varying", "time_varying", "dim_varying")}
    if not (_is_bool(flags["sample_varying"]) and _is_bool(flags["time_varying"])):
        bad(f"{where}: sample_varying/time_varying missing or not bool")
        return
    dv = flags["dim_varying"]
    if dv is None or len(dv) != ndim:
        bad(f"{where}: dim_varying missing or not of length {ndim}")
        return
    want = ([B] if flags["sample_varying"] else []) + ([nt] if flags["time_varying"] else []) + \
        [sizes.get(ax, -1) for ax, v in zip(axes, dv) if v] + [ndim] * order
    if list(ds.shape) != want:
        bad(f"{where}: shape {list(ds.shape)}, expected {want}")
        return
    if ds.dtype != np.float32:
        bad(f"{where}: dtype {ds.dtype}, expected float32")
    lo, hi, s, count = np.inf, -np.inf, 0.0, 0
    const, nonfinite = [], []
    spatial = bool(np.any(dv))                   # a field without grid axes is one value per sample
    n = ds.shape[0] if flags["sample_varying"] else 1
    for a in range(0, n, batch):
        x = ds[a:a + batch] if flags["sample_varying"] else ds[...][None]
        flat = x.reshape(x.shape[0], -1)
        fin = np.isfinite(flat).all(axis=1)
        nonfinite += (a + np.flatnonzero(~fin)).tolist()
        good = flat[fin]
        if good.size:
            if spatial:
                const += (a + np.flatnonzero(fin)[good.max(axis=1) == good.min(axis=1)]).tolist()
            lo, hi = min(lo, float(good.min())), max(hi, float(good.max()))
            s += float(good.astype(np.float64).sum())
            count += good.size
    if nonfinite:
        bad(f"{where}: NaN/inf in samples {nonfinite[:10]}{' ...' if len(nonfinite) > 10 else ''}")
    if const:
        bad(f"{where}: constant over samples {const[:10]}{' ...' if len(const) > 10 else ''} (never written?)")
    rep.summary.append(f"  {where:24s} {str(tuple(ds.shape)):22s} min {lo:+.4e}  max {hi:+.4e}  "
                       f"mean {s / max(count, 1):+.4e}")


def check(path: str | Path) -> CheckReport:
    """Check a dataset directory or one ``.hdf5`` file."""
    import yaml

    from .stats import compare, well_stats
    path = Path(path)
    rep = CheckReport()
    if path.is_file():
        rep.summary.append(f"{path}")
        idx = check_file(path, rep)
        rep.n_samples = 0 if idx is None else len(idx)
        return rep
    if path.with_name(path.name + ".work").exists() or path.name.endswith((".partial", ".work")):
        rep.problems.append(f"{path}: an unfinished run (rerun the same command to complete it)")
        return rep
    if not path.is_dir():
        rep.problems.append(f"{path}: no such file or directory")
        return rep
    metas = sorted(path.glob("*.yaml"))
    meta_file = next((m for m in metas if m.name != "stats.yaml"), None)
    if meta_file is None:
        rep.problems.append(f"{path}: <name>.yaml metadata missing")
        return rep
    meta = yaml.safe_load(meta_file.read_text())
    N = int(meta["n_samples"])
    seen = np.zeros(N, dtype=int)
    for s in schema.SPLITS:
        info = meta["splits"][s]
        files = sorted((path / "data" / s).glob("*.hdf5")) if (path / "data" / s).is_dir() else []
        if info["n"] and not files:
            rep.problems.append(f"{path}: split {s} should hold {info['n']} samples but has no file")
            continue
        n_split = 0
        for f in files:
            rep.summary.append(f"{s}: {f.relative_to(path)}")
            idx = check_file(f, rep)
            if idx is None:
                rep.problems.append(f"{f}: scalars/sample_index missing")
                continue
            lo, hi = info["sample_index"]
            if idx.size and (idx.min() < lo or idx.max() >= hi):
                rep.problems.append(f"{f}: sample_index outside the split's range [{lo}, {hi})")
                continue
            np.add.at(seen, idx, 1)
            n_split += len(idx)
        if n_split != info["n"]:
            rep.problems.append(f"{path}: split {s} holds {n_split} samples, metadata says {info['n']}")
    _check_residuals(path, meta, rep)
    missing, dup = np.flatnonzero(seen == 0), np.flatnonzero(seen > 1)
    if missing.size:
        rep.problems.append(f"{path}: {missing.size} samples missing (first {missing[:10].tolist()})")
    if dup.size:
        rep.problems.append(f"{path}: samples stored more than once: {dup[:10].tolist()}")
    rep.n_samples = int(seen.sum())
    stats_file = path / "stats.yaml"
    if not stats_file.is_file():
        rep.problems.append(f"{path}: stats.yaml missing")
    else:
        stored = yaml.safe_load(stats_file.read_text())
        train = sorted((path / "data" / meta["stats_split"]).glob("*.hdf5"))
        if train:
            rep.problems += [f"stats.yaml: {msg}" for msg in compare(stored, well_stats(train[0]))]
    return rep


def _check_residuals(path: Path, meta: dict, rep: CheckReport) -> None:
    """Every stored true relative residual <= the stored ``solver.rtol`` (issue 15, item 7); a
    dataset whose layout stores no residual (not made by Krylov solves, e.g. kinetic trajectories)
    has none to verify."""
    import h5py
    if "residual" not in (meta.get("layout") or {}).get("scalars", {}):
        rep.summary.append("  no scalars/residual in the layout (not made by Krylov solves): no tolerance to verify")
        return
    rtol = (meta.get("solver") or {}).get("rtol")
    if rtol is None:
        rep.problems.append(f"{path}: no solver.rtol in the metadata to verify the residuals against")
        return
    for s in schema.SPLITS:
        for f in sorted((path / "data" / s).glob("*.hdf5")) if (path / "data" / s).is_dir() else []:
            with h5py.File(f, "r") as h5:
                if "residual" not in h5["scalars"]:
                    rep.problems.append(f"{f}: scalars/residual missing")
                    continue
                r, idx = h5["scalars/residual"][...], h5["scalars/sample_index"][...]
            over = np.flatnonzero(~(r <= rtol))
            if over.size:
                worst = over[np.argmax(np.nan_to_num(r[over], nan=np.inf))]
                rep.problems.append(f"{f}: {over.size} stored residual(s) above solver.rtol = {rtol:g} "
                                    f"(samples {idx[over[:10]].tolist()}; worst {r[worst]:.3e} at sample "
                                    f"{int(idx[worst])})")
            rep.summary.append(f"  scalars/residual         max {float(np.max(r)) if r.size else 0.0:.3e} "
                               f"<= rtol {rtol:g}: {'yes' if not over.size else 'NO'}")
