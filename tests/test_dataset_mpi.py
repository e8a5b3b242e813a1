"""Datasets under mpirun -n 2: inputs bit-identical and solutions within the stated bound for any
np / ranks_per_solve / io; SIGKILL of the whole job at a random point, then the same command
finishes the same dataset; a changed case refuses to resume."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from solvers.datasets import check as checkmod
from solvers.poisson.families import make_family

from conftest import ROOT, mpirun_cmd, run_cli
from test_dataset import case_text, read_all, solution_bound

pytestmark = pytest.mark.mpi


def _run(text: str, tmp: Path, tag: str, n: int, out: Path) -> subprocess.CompletedProcess:
    f = tmp / f"{tag}.toml"
    f.write_text(text)
    return run_cli(["run", str(f), "-o", str(out), "-q"], n=n, timeout=300)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """np = 1 runs: 16 samples at 17x17 (bounds) and 48 at 33x33 (kill tests)."""
    tmp = tmp_path_factory.mktemp("ref")
    small, large = tmp / "small", tmp / "large"
    assert _run(case_text(n=16), tmp, "s", 1, small).returncode == 0
    assert _run(case_text(n=48, shape=(33, 33), checkpoint=2), tmp, "l", 1, large).returncode == 0
    return small, large


GCRODR = 'ksp_type = "gcrodr"\npc_type = "gamg"\nrecycle = true'


@pytest.mark.parametrize("io, rps, solver", [("shards", 1, ""), ("mpio", 1, ""), ("shards", 2, ""),
                                             ("mpio", 2, ""), ("shards", 1, GCRODR), ("mpio", 2, GCRODR)],
                         ids=["shards-1", "mpio-1", "shards-2", "mpio-2", "shards-1-gcrodr", "mpio-2-gcrodr"])
def test_same_inputs_and_bounded_solutions_for_any_np(reference, tmp_path, io, rps, solver):
    out = tmp_path / "np2"
    text = case_text(n=16, io=io, rps=rps, checkpoint=3, **({"solver": solver} if solver else {}))
    proc = _run(text, tmp_path, "c", 2, out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("wrote ") == 1                            # rank 0 prints
    assert checkmod.check(out).ok
    a, b = read_all(reference[0]), read_all(out)
    for k in ("kappa", "seed", "sample_index"):
        assert np.array_equal(a[k], b[k]), k                             # same bytes
    fam = make_family("darcy_fno", (17, 17), seed=7)
    for i in range(16):
        diff = np.linalg.norm(a["u"][i].astype(float) - b["u"][i])
        bound = solution_bound(fam, i, [a["residual"][i], b["residual"][i]],
                               [np.linalg.norm(a["u"][i]), np.linalg.norm(b["u"][i])])
        assert diff <= bound, (i, diff, bound)
    if rps == 1 and not solver:                    # fresh serial solves in any order: identical bits
        assert np.array_equal(a["u"], b["u"])


def _session_pids(sid: int) -> list[int]:
    """Processes of session ``sid`` (mpirun started with a new session, and its ranks)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[3]) == sid:
                pids.append(int(d.name))
    return pids


def _records(work: Path, io: str) -> int:
    """Samples recorded as done in a partial run."""
    if io == "shards":
        return 2 * len(list((work / "shards").glob("shard-*.h5")))       # checkpoint = 2
    try:
        return int(np.load(work / "progress.npy").sum())
    except (OSError, ValueError):
        return 0


def kill_when(cmd: list[str], done: Callable[[], bool], timeout: float = 120) -> None:
    """Start ``cmd`` (mpirun) in a new session and SIGKILL it and its ranks as soon as ``done()``
    holds (or it exits, or ``timeout`` s pass)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while not done() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.002)
    finally:
        for pid in _session_pids(proc.pid):                              # mpirun and its ranks
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


@pytest.mark.parametrize("io, rps", [("shards", 1), pytest.param("mpio", 2, marks=pytest.mark.slow)])
def test_sigkill_then_same_command_finishes_same_dataset(reference, tmp_path, io, rps):
    text = case_text(n=48, shape=(33, 33), io=io, rps=rps, checkpoint=2)
    case = tmp_path / "case.toml"
    case.write_text(text)
    out = tmp_path / "ds"
    work = out.with_name("ds.work")
    cmd = [*mpirun_cmd(2), sys.executable, "-m", "solvers", "run", str(case), "-o", str(out), "-q"]
    target = 2 * random.Random().randint(1, 6)
    kill_when(cmd, lambda: _records(work, io) >= target)
    assert not out.exists(), "the run finished before it could be killed"
    assert work.exists() and _records(work, io) < 48
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("rtol = 1e-8", "rtol = 1e-6"))
    refused = run_cli(["run", str(changed), "-o", str(out)], n=2, timeout=120)
    assert refused.returncode == 2 and "solver.rtol: 1e-08 -> 1e-06" in refused.stderr
    assert not out.exists()
    done = run_cli(["run", str(case), "-o", str(out), "-q"], n=2, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed with" in done.stdout
    assert checkmod.check(out).ok and not work.exists()
    a, b = read_all(reference[1]), read_all(out)
    for k in ("kappa", "seed", "sample_index"):
        assert np.array_equal(a[k], b[k]), k
    if rps == 1:
        assert np.array_equal(a["u"], b["u"])
    rel = np.linalg.norm((a["u"] - b["u"]).reshape(48, -1), axis=1) / np.linalg.norm(a["u"].reshape(48, -1), axis=1)
    assert rel.max() <= 1e-6
