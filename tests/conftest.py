"""Shared test helpers: run the CLI or a script under ``mpirun -n N``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mpirun_cmd(n: int) -> list[str]:
    """``mpirun -n n`` with the flags this machine needs (root, oversubscribe)."""
    cmd = ["mpirun", "-n", str(n), "--oversubscribe"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def run_cli(args: list[str], n: int = 1, timeout: float = 600, cwd: Path | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m solvers ARGS`` (under mpirun when n > 1); returns the completed process."""
    cmd = ([*mpirun_cmd(n)] if n > 1 else []) + [sys.executable, "-m", "solvers", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def run_script(path: str | Path, args: list[str] = (), n: int = 1, timeout: float = 600,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run a Python script (under mpirun when n > 1)."""
    cmd = ([*mpirun_cmd(n)] if n > 1 else []) + [sys.executable, str(path), *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT, env=env)


@pytest.fixture
def cli():
    return run_cli
