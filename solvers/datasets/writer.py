"""Resumable, crash-safe generation of a dataset in The Well's layout with two-level parallelism.

The world communicator is split into groups of ``ranks_per_solve`` ranks
(:func:`solvers.parallel.split`); the solve order (sorted for recycling) is cut into contiguous
chunks, one per group; each group solves its chunk with its grid distributed over its ranks and
its leader (group rank 0) stores the results. Two ways of storing, chosen by ``io``:

- ``"shards"``: each leader writes batches of ``checkpoint`` samples to its own small HDF5 shard
  (``<root>.work/shards/``, written to a temporary name and renamed, so a shard exists only when
  complete); rank 0 merges the shards into the split files at the end.
- ``"mpio"``: the split files are created up front with every chunk allocated; all groups write
  their samples straight into them (parallel HDF5, independent raw-data writes), in rounds of
  ``checkpoint`` samples closed by a collective flush, after which rank 0 records the completion
  mask (``progress.npy``, written then renamed).

Either way progress is recorded per sample, a run killed at any point (SIGKILL included) resumes
with the same command, losing at most the unrecorded round/batch of work and never a recorded
sample. The dataset is assembled in ``<root>.partial`` and renamed to ``<root>`` only when complete.
A fingerprint of the case (``case_hash``) is stored with the partial run: a changed case refuses
to resume and names the keys that differ. The fingerprint includes PETSc's options database
(the case's ``[petsc]`` table and the command line after ``--``) except options that only
report (monitors, viewers, logging), since those settings shape the stored solutions.

Safety: rank 0 holds an exclusive ``flock`` on ``<root>.work/lock`` for the whole run, so a
second run on the same dataset path is refused (exit 2) instead of interleaving with it. The
project deletes only directories it created (they hold :data:`solvers.io.paths.MARKER`); a
``.work`` / ``.partial`` directory without it is refused, never removed. A full disk (or quota)
while writing is :class:`~solvers.io.paths.DiskFull` (one message, exit 1); the same command resumes once space is
freed.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
from mpi4py import MPI

from ..io import paths
from ..io.progress import Progress
from ..parallel import Comms, UserError
from ..result import Block
from . import schema
from .schema import Layout

STATE = "state.json"
PROGRESS = "progress.npy"
CREATED = "files_created"
_TAG = 7301


@dataclass
class SampleResult:
    """One solved sample as one rank of its group holds it: grid fields as this rank's
    :class:`~solvers.result.Block` of the ``Layout.sample_shape`` array, fields constant in space
    as plain arrays (the same on every rank), and the per-sample scalars (the same on every rank).
    """

    index: int
    fields: dict[str, Block | np.ndarray]
    scalars: dict[str, float]

    def arrays(self) -> dict[str, np.ndarray]:
        """Every field's local values (a block's data) and every scalar, for checks."""
        return {**{k: v.data if isinstance(v, Block) else np.asarray(v) for k, v in self.fields.items()},
                **{k: np.asarray(v) for k, v in self.scalars.items()}}

    def whole(self, group: MPI.Comm) -> "SampleResult | None":
        """The sample with every block gathered to group rank 0 (None elsewhere): the shard
        strategy stores whole samples. Collective on ``group``."""
        out = {}
        for name, f in self.fields.items():
            if not isinstance(f, Block):
                out[name] = f
                continue
            pieces = group.gather(f, root=0)
            if group.rank == 0:
                out[name] = np.empty(f.global_shape, dtype=f.data.dtype)
                for p in pieces:
                    out[name][p.slices] = p.data
        return SampleResult(self.index, out, self.scalars) if group.rank == 0 else None


class Producer(Protocol):
    """Built once per group (``factory(group_comm)``); called collectively on the group's ranks
    with a sample index, in the group's solve order; returns this rank's
    :class:`SampleResult`. ``close()`` releases its solver (collective)."""

    def __call__(self, index: int) -> SampleResult: ...

    def close(self) -> None: ...


@dataclass
class Plan:
    """What to generate: ``n`` samples, ``split_sizes`` (train, valid, test) in index order."""

    root: Path
    layout: Layout
    split_sizes: tuple[int, int, int]
    order: list[int]                         # solve order (a permutation of range(n))
    case_data: dict[str, Any]                # what defines the data (fingerprinted)
    case_text: str = ""
    io: str = "shards"
    checkpoint: int = 8
    ranks_per_solve: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return sum(self.split_sizes)

    def locate(self, index: int) -> tuple[str, int]:
        """(split, row) of sample ``index``: splits are consecutive index ranges."""
        start = 0
        for name, size in zip(schema.SPLITS, self.split_sizes):
            if index < start + size:
                return name, index - start
            start += size
        raise IndexError(f"sample {index} outside 0..{self.n - 1}")

    def split_file(self, base: Path, split_name: str) -> Path:
        return base / "data" / split_name / f"{self.layout.dataset_name}.hdf5"

    @property
    def partial(self) -> Path:
        return self.root.with_name(self.root.name + ".partial")

    @property
    def work(self) -> Path:
        return self.root.with_name(self.root.name + ".work")


def _full(where: Path) -> paths.DiskFull:
    return paths.DiskFull(f"disk full while writing {where}: free some space and run the same command again "
                    "to resume (recorded samples are kept)")


def _stored(func: Callable[[], Any], where: Path) -> Any:
    """``func()``, a full disk turned into :class:`DiskFull` naming ``where`` (h5py reports it
    as OSError or RuntimeError)."""
    try:
        return func()
    except (OSError, RuntimeError) as exc:
        if paths.is_disk_full(exc):
            raise _full(where) from None
        raise


def _ensure_space(plan: Plan, where: Path) -> None:
    """Rank 0: refuse (:class:`~solvers.io.paths.DiskFull`) before writing the split files if
    the file system of ``where`` has less free space than their raw data (HDF5 would fail
    halfway through a file)."""
    need = sum(int(np.prod(plan.layout.field_shape(f, plan.n))) for f in plan.layout.fields)
    err = paths.space_problem(where, need * np.dtype(schema.FIELD_DTYPE).itemsize)
    if err:
        raise paths.DiskFull(f"{err} to resume (recorded samples are kept)")


# Options that only report; they do not change a stored number.
_REPORTING = re.compile(r"(^|_)(monitor|view|log|converged_reason|info|help|options_left|malloc|history)")


def petsc_options() -> dict[str, str]:
    """PETSc's options database (case ``[petsc]`` table + command line) minus reporting options."""
    from petsc4py import PETSc

    return {k: v for k, v in sorted(PETSc.Options().getAll().items()) if not _REPORTING.search(k)}


def fingerprint(case_data: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the data-defining case content."""
    return hashlib.sha256(json.dumps(case_data, sort_keys=True, default=str).encode()).hexdigest()


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Key paths whose values differ between two case contents (e.g. ``samples.n: 32 -> 64``),
    compared as the fingerprint sees them (JSON), so ``2 -> 2.0`` is a change."""
    a, b = _flatten(json.loads(json.dumps(old, default=str))), _flatten(json.loads(json.dumps(new, default=str)))

    def shown(d: dict, k: str) -> str:
        return json.dumps(d[k]) if k in d else "(absent)"

    return [f"{k}: {shown(a, k)} -> {shown(b, k)}" for k in sorted(set(a) | set(b)) if shown(a, k) != shown(b, k)]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_mask(path: Path, mask: np.ndarray) -> None:
    import io
    buf = io.BytesIO()
    np.save(buf, mask)
    _atomic_write(path, buf.getvalue())


@dataclass
class Report:
    """What a call to :func:`generate` did (times are maxima over ranks, in seconds)."""

    status: str                      # 'complete' (generated now) or 'already complete'
    resumed_from: int = 0            # samples found done when the run started
    solved: int = 0                  # samples solved by this run
    solve_time: float = 0.0          # inputs + assembly + Krylov solves
    write_time: float = 0.0          # shard / direct HDF5 writes, flushes, progress records
    merge_time: float = 0.0          # shards -> split files (rank 0), stats, metadata
    wall_time: float = 0.0
    iterations: int = 0              # Krylov iterations summed over the samples solved now


def _collective(comm: MPI.Comm, func: Callable[[], Any]) -> Any:
    """Run ``func`` on rank 0; re-raise its ``UserError`` (of the same class) or ``OSError`` on
    every rank. Collective."""
    value, err = None, None
    if comm.rank == 0:
        try:
            value = func()
        except (UserError, OSError) as exc:
            err = (type(exc) if isinstance(exc, UserError) else OSError, str(exc))
    value, err = comm.bcast((value, err), root=0)
    if err:
        if issubclass(err[0], UserError):
            raise err[0](err[1], collective=comm.size == MPI.COMM_WORLD.size)
        raise OSError(err[1])
    return value


def _refuse_foreign(path: Path) -> None:
    """``UserError`` if ``path`` exists and is not a directory this project created (marker)."""
    err = paths.foreign(path)
    if err:
        raise UserError(err)


def _lock(plan: Plan) -> int:
    """Rank 0: take the exclusive lock of ``plan.work`` (created with the marker if absent);
    returns the lock's file descriptor (held until :func:`generate` ends or the process dies)."""
    work = plan.work
    _refuse_foreign(work)
    _refuse_foreign(plan.partial)
    if not work.exists():
        work.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{work.name}.", dir=work.parent))
        paths.mark(tmp, "dataset")
        try:
            os.rename(tmp, work)                 # atomic: the work dir appears with its marker
        except OSError:
            shutil.rmtree(tmp)                   # another run created it first; ours, unused
    fd = os.open(work / "lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(f"another run is generating {plan.root} right now (it holds the lock on {work}); "
                        "wait for it to finish, or choose another output path") from None
    return fd


def _remove_ours(path: Path) -> None:
    """Delete ``path`` if it is a directory this project created (holds the marker); refuse otherwise."""
    _refuse_foreign(path)
    if os.path.lexists(path):
        shutil.rmtree(path)


def _prepare(plan: Plan) -> str:
    """Rank 0: 'complete', 'resume' or 'fresh'; refuses a changed case. Creates the work dir."""
    h = fingerprint(plan.case_data)
    meta = plan.root / f"{plan.layout.dataset_name}.yaml"
    if plan.root.exists():
        import yaml
        old = yaml.safe_load(meta.read_text()) if meta.is_file() else {}
        _remove_ours(plan.work)                   # a leftover of the rename, or made by _lock now
        if old.get("case_hash") == h:
            return "complete"
        diff = changed_keys(old.get("case", {}), plan.case_data) if old else ["(no metadata found)"]
        raise UserError(f"{plan.root} already holds a dataset made from a different case "
                        f"({'; '.join(diff)}); delete it or choose another [output] path")
    state_file = plan.work / STATE
    if state_file.is_file():
        state = json.loads(state_file.read_text())
        if state["case_hash"] != h:
            diff = changed_keys(state["case"], plan.case_data)
            raise UserError(f"refusing to resume the partial run in {plan.work}: the case changed since it "
                            f"started ({'; '.join(diff)}); restore the case, or delete {plan.work} and "
                            f"{plan.partial} to start over")
        return "resume"
    _remove_ours(plan.partial)
    for leftover in plan.work.iterdir():          # an unrecorded start: keep the marker and the lock
        if leftover.name not in (paths.MARKER, "lock"):
            shutil.rmtree(leftover) if leftover.is_dir() and not leftover.is_symlink() else leftover.unlink()
    (plan.work / "shards").mkdir()
    state = {"case_hash": h, "case": json.loads(json.dumps(plan.case_data, default=str)),
             "case_text": plan.case_text, "io": plan.io, "n": plan.n}
    _atomic_write(state_file, json.dumps(state, indent=1).encode())
    return "fresh"


def _scan_shards(plan: Plan) -> np.ndarray:
    """Rank 0: completion mask from the complete (renamed) shards; removes leftover temporaries."""
    import h5py
    done = np.zeros(plan.n, dtype=bool)
    for p in sorted((plan.work / "shards").iterdir()):
        if p.name.startswith("."):
            p.unlink()                       # a batch that was being written when the run died
            continue
        with h5py.File(p, "r") as h5:
            idx = h5["index"][...]
        if done[idx].any():
            raise OSError(f"shard {p} repeats samples {idx[done[idx]].tolist()}")
        done[idx] = True
    return done


def _done_mask(plan: Plan) -> np.ndarray:
    if plan.io == "shards":
        return _scan_shards(plan)
    p = plan.work / PROGRESS
    if (plan.work / CREATED).is_file() and p.is_file():
        return np.load(p)
    return np.zeros(plan.n, dtype=bool)


def _chunks(seq: list[int], n_groups: int) -> list[list[int]]:
    """Contiguous, balanced pieces of ``seq`` (group g gets piece g)."""
    bounds = np.linspace(0, len(seq), n_groups + 1).round().astype(int)
    return [seq[bounds[g]:bounds[g + 1]] for g in range(n_groups)]


def _open(path: Path, mode: str, comm: MPI.Comm):
    import h5py
    if comm.size > 1:
        if not h5py.get_config().mpi:
            raise UserError("io = 'mpio' needs parallel h5py (run under mpirun so the MPI build of "
                            "h5py is picked) or io = 'shards'")
        return h5py.File(path, mode, driver="mpio", comm=comm)
    return h5py.File(path, mode)


class SampleNotFinite(UserError):
    """A solved sample holds NaN or inf: it is not stored; exit code 3."""

    exit_code = 3


def _solve(produce: Producer, index: int) -> SampleResult:
    """``produce(index)``, checked finite on this rank's part; a ``UserError`` (e.g. a diverged
    solve) names the sample."""
    try:
        res = produce(index)
    except UserError as exc:
        raise type(exc)(f"sample {index}: {exc}") from None
    bad = sorted(k for k, v in res.arrays().items() if not np.isfinite(v).all())
    if bad:
        raise SampleNotFinite(f"sample {index}: NaN or inf in {', '.join(bad)}; nothing stored for it")
    return res


def _write_rows(files: dict, plan: Plan, results: list[SampleResult], leader: bool) -> None:
    """Each rank writes its blocks (hyperslabs of the sample's row); the leader writes what is
    not distributed (fields constant in space, scalars)."""
    for r in results:
        split_name, row = plan.locate(r.index)
        h5 = files[split_name]
        for name, f in r.fields.items():
            if isinstance(f, Block):
                if f.data.size:
                    h5["t0_fields"][name][(row,) + f.slices] = f.data.astype(schema.FIELD_DTYPE)
            elif leader:
                h5["t0_fields"][name][row] = np.asarray(f).astype(schema.FIELD_DTYPE)
        if leader:
            for name, value in r.scalars.items():
                h5["scalars"][name][row] = value


def _run_mpio(plan: Plan, comm: MPI.Comm, chunk: list[int], produce: Producer, leader: bool,
              progress: Progress, rep: Report) -> None:
    """Direct writes into the split files (parallel HDF5 when comm.size > 1). Collective."""
    sizes = dict(zip(schema.SPLITS, plan.split_sizes))
    present = [s for s in schema.SPLITS if sizes[s]]
    if not _collective(comm, lambda: (plan.work / CREATED).is_file()):
        _collective(comm, lambda: _ensure_space(plan, plan.partial))
        t0 = time.perf_counter()
        _collective(comm, lambda: [plan.split_file(plan.partial, s).parent.mkdir(parents=True, exist_ok=True)
                                   for s in present])
        for s in present:
            with _open(plan.split_file(plan.partial, s), "w", comm) as h5:
                schema.create(h5, plan.layout, sizes[s], early=True)
        _collective(comm, lambda: (_save_mask(plan.work / PROGRESS, np.zeros(plan.n, dtype=bool)),
                                   (plan.work / CREATED).touch()))
        rep.write_time += time.perf_counter() - t0
    files = {s: _open(plan.split_file(plan.partial, s), "r+", comm) for s in present}
    mask = np.load(plan.work / PROGRESS) if comm.rank == 0 else None
    # No try/finally: closing a parallel HDF5 file is collective, and a rank that failed must not
    # wait in it for ranks still solving; guarded() ends the job instead.
    n_rounds = comm.allreduce(-(-len(chunk) // plan.checkpoint), op=MPI.MAX)
    for r in range(n_rounds):
        t0 = time.perf_counter()
        results = [_solve(produce, i) for i in chunk[r * plan.checkpoint:(r + 1) * plan.checkpoint]]
        t1 = time.perf_counter()
        rep.solve_time += t1 - t0
        _stored(lambda: _write_rows(files, plan, results, leader), plan.partial)
        for h5 in files.values():
            _stored(h5.flush, plan.partial)                  # collective: the round is on disk
        results = results if leader else []
        done = comm.gather([x.index for x in results], root=0)
        if comm.rank == 0:
            idx = [i for part in done for i in part]
            mask[idx] = True
            _stored(lambda: _save_mask(plan.work / PROGRESS, mask), plan.work)
            progress.update(len(idx))
        comm.Barrier()
        rep.write_time += time.perf_counter() - t1
        rep.solved += len(results)
        rep.iterations += sum(int(x.scalars.get("iterations", 0)) for x in results)
    for h5 in files.values():
        h5.close()


def _write_shard(plan: Plan, results: list[SampleResult]) -> None:
    """One batch as a small HDF5 file, built in memory and written as bytes (temporary name,
    fsync, rename): a full disk fails a plain write, never HDF5 halfway through a file."""
    import io

    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.create_dataset("index", data=np.array([r.index for r in results], dtype=np.int64))
        for name in results[0].fields:
            h5.create_dataset(f"fields/{name}", data=np.stack([r.fields[name] for r in results])
                              .astype(schema.FIELD_DTYPE))
        for name in results[0].scalars:
            h5.create_dataset(f"scalars/{name}", data=np.array([r.scalars[name] for r in results]))
    _atomic_write(plan.work / "shards" / f"shard-{results[0].index:07d}.h5", buf.getvalue())


def _run_shards(plan: Plan, comm: MPI.Comm, chunk: list[int], produce: Producer, group: MPI.Comm,
                progress: Progress, rep: Report, remaining: int) -> None:
    """Per-group shards (the group leader stores whole samples: each sample's blocks are gathered
    to it, one sample at a time); leaders report each sample to rank 0 for the progress bar.
    Collective."""
    buf: list[SampleResult] = []
    reqs = []
    received = 0
    leader = group.rank == 0
    for k, i in enumerate(chunk):
        t0 = time.perf_counter()
        res = _solve(produce, i)
        t1 = time.perf_counter()
        rep.solve_time += t1 - t0
        res = res.whole(group)
        if leader:
            buf.append(res)
            rep.solved += 1
            rep.iterations += int(res.scalars.get("iterations", 0))
            if len(buf) >= plan.checkpoint or k == len(chunk) - 1:
                _stored(lambda: _write_shard(plan, buf), plan.work)
                buf = []
            if comm.rank == 0:
                progress.update(1)
                received += 1
            else:
                reqs.append(comm.isend(1, dest=0, tag=_TAG))
        if comm.rank == 0:
            while comm.iprobe(source=MPI.ANY_SOURCE, tag=_TAG):
                received += comm.recv(source=MPI.ANY_SOURCE, tag=_TAG)
                progress.update(1)
        rep.write_time += time.perf_counter() - t1
    if comm.rank == 0:
        while received < remaining:
            received += comm.recv(source=MPI.ANY_SOURCE, tag=_TAG)
            progress.update(1)
    MPI.Request.Waitall(reqs)
    comm.Barrier()


def _write_shard_rows(files: dict, plan: Plan, idx: np.ndarray, fields: dict, scalars: dict) -> None:
    """One shard's samples into the split files: one write per split and array (the rows in
    increasing order), not one per sample."""
    start = 0
    for split_name, size in zip(schema.SPLITS, plan.split_sizes):
        sel = np.flatnonzero((idx >= start) & (idx < start + size))
        if sel.size:
            sel = sel[np.argsort(idx[sel])]
            rows = (idx[sel] - start).tolist()
            h5 = files[split_name]
            for name, v in fields.items():
                h5["t0_fields"][name][rows] = v[sel].astype(schema.FIELD_DTYPE)
            for name, v in scalars.items():
                h5["scalars"][name][rows] = v[sel]
        start += size


def _merge_shards(plan: Plan) -> None:
    """Rank 0: shards -> split files in ``<root>.partial`` (each written then renamed)."""
    import h5py
    sizes = dict(zip(schema.SPLITS, plan.split_sizes))
    files, tmps, seen = {}, {}, np.zeros(plan.n, dtype=bool)
    try:
        for s in schema.SPLITS:
            if sizes[s]:
                path = plan.split_file(plan.partial, s)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmps[s] = path.with_name("." + path.name + ".tmp")
                files[s] = h5py.File(tmps[s], "w")
                schema.create(files[s], plan.layout, sizes[s])
        for p in sorted((plan.work / "shards").glob("shard-*.h5")):
            with h5py.File(p, "r") as sh:
                idx = sh["index"][...]
                fields = {k: sh["fields"][k][...] for k in sh["fields"]}
                scal = {k: sh["scalars"][k][...] for k in sh["scalars"]}
            seen[idx] = True
            _write_shard_rows(files, plan, idx, fields, scal)
    finally:
        for h5 in files.values():
            h5.close()
    if not seen.all():
        raise OSError(f"merge found {int((~seen).sum())} samples missing from the shards "
                      f"(first {np.flatnonzero(~seen)[:5].tolist()})")
    for s, tmp in tmps.items():
        os.replace(tmp, plan.split_file(plan.partial, s))


def _finalize(plan: Plan, rep: Report, versions: dict) -> None:
    """Rank 0: stats.yaml and <name>.yaml into the partial dir, rename it, drop the work dir."""
    import yaml
    if plan.io == "shards":
        _ensure_space(plan, plan.partial)
        _merge_shards(plan)
    sizes = dict(zip(schema.SPLITS, plan.split_sizes))
    stats_split = next(s for s in schema.SPLITS if sizes[s])
    from .stats import well_stats
    stats = well_stats(plan.split_file(plan.partial, stats_split))
    (plan.partial / "stats.yaml").write_text(yaml.safe_dump(stats, sort_keys=False))
    start = 0
    index_ranges = {}
    for s in schema.SPLITS:
        index_ranges[s] = [start, start + sizes[s]]
        start += sizes[s]
    meta = {"dataset_name": plan.layout.dataset_name, "n_samples": plan.n,
            "splits": {s: {"n": sizes[s], "sample_index": index_ranges[s],
                           "file": str(plan.split_file(Path("."), s)) if sizes[s] else None}
                       for s in schema.SPLITS},
            "stats_split": stats_split, "layout": plan.layout.to_dict(), **plan.metadata,
            "io": plan.io, "case_hash": fingerprint(plan.case_data),
            "case": json.loads(json.dumps(plan.case_data, default=str)), "case_text": plan.case_text,
            "versions": versions}
    meta = json.loads(json.dumps(meta, default=str))         # plain types only (e.g. torch's version str)
    (plan.partial / f"{plan.layout.dataset_name}.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    os.replace(plan.partial, plan.root)
    _remove_ours(plan.work)


def generate(plan: Plan, factory: Callable[[MPI.Comm], Producer], comms: Comms,
             quiet: bool = True, versions: dict | None = None) -> Report:
    """Generate (or finish, or recognise as complete) the dataset described by ``plan``. Collective
    on ``comms.world``, which :meth:`Comms.split` cuts into groups of ``plan.ranks_per_solve``.

    ``factory(group_comm)`` builds the group's producer. Raises ``UserError`` collectively when
    the case changed since a partial run or the output already holds a different dataset.
    """
    t_start = time.perf_counter()
    comm = comms.world
    group = comms.split(plan.ranks_per_solve)                  # before anything is written
    g, n_groups = comms.group_index, comms.n_groups
    plan.case_data = {**plan.case_data, "petsc_options": petsc_options()}
    lock = _collective(comm, lambda: _stored(lambda: _lock(plan), plan.work))
    try:                                  # local: the lock is released even if this process goes on
        status = _collective(comm, lambda: _stored(lambda: _prepare(plan), plan.work))
        if status == "complete":
            comms.free()
            return Report(status="already complete")
        done = _collective(comm, lambda: _done_mask(plan))
        _collective(comm, lambda: _stored(lambda: paths.mark(plan.partial, "dataset"), plan.partial))
        remaining = [i for i in plan.order if not done[i]]
        chunk = _chunks(remaining, n_groups)[g]
        rep = Report(status="complete", resumed_from=int(done.sum()))
        progress = Progress(plan.n, plan.layout.dataset_name, comm=comm, quiet=quiet, initial=int(done.sum()),
                            unit="sample")
        produce = factory(group)
        try:
            if plan.io == "mpio":
                _run_mpio(plan, comm, chunk, produce, group.rank == 0, progress, rep)
            else:
                _run_shards(plan, comm, chunk, produce, group, progress, rep, len(remaining))
        finally:
            progress.close()
        produce.close()
        t0 = time.perf_counter()
        _collective(comm, lambda: _stored(lambda: _finalize(plan, rep, versions or {}), plan.partial))
    finally:
        if comm.rank == 0:
            os.close(lock)
    rep.merge_time = time.perf_counter() - t0
    rep.solve_time = comm.allreduce(rep.solve_time, op=MPI.MAX)
    rep.write_time = comm.allreduce(rep.write_time, op=MPI.MAX)
    rep.solved = comm.allreduce(rep.solved)
    rep.iterations = comm.allreduce(rep.iterations)
    rep.wall_time = time.perf_counter() - t_start
    comms.free()
    return rep
