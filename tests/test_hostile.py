"""Hostile input and faults: every bad input is one message and exit 2, every hang is a failure.

Two parts:

- generated: for every kind, every key of its schema (plus a probe key in free-form tables)
  gets every mutation of :data:`MUTATIONS` (wrong type, NaN, inf, negative, huge, empty,
  unicode, path tricks) and goes through the in-process validator; a mutation *holds* if the
  validator either accepts a value the schema allows or raises ``CaseError`` (never another
  exception), and the values no key may take (NaN, inf, integers beyond PetscInt, tables for
  leaves, booleans for numbers, floats for integers, path tricks in ``case.name``...) are
  always refused;
- scenarios through the CLI (``subprocess`` with a timeout: a run still alive after it fails
  the test as a hang, and any process left behind fails it as an orphan): one-rank divergence
  under ``mpirun -n 2`` (shards and mpio), an error on one rank only, concurrent runs on one
  dataset, a pickled payload as a model and as a checkpoint, a user's ``.work`` directory,
  overwriting the case file, unusable output paths, FIFOs and devices as case files, a
  rejected case's ``[petsc]`` table, the memory estimate, a NaN training loss, a full disk
  (on a small tmpfs when this machine lets the test mount one).
"""
from __future__ import annotations

import contextlib
import copy
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import pytest

from solvers import case as C
from solvers.registry import KINDS, schemas

from conftest import ROOT, mpirun_cmd, run_cli

# --------------------------------------------------------------------------------------------
# generated mutations, in process
# --------------------------------------------------------------------------------------------
MUTATIONS: dict[str, object] = {
    "nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"),
    "huge_int": 10**30, "int64_max": 2**63 - 1, "huge_float": 1e308, "negative": -1, "negative_float": -1.5,
    "zero": 0, "float_for_int": 2.0, "bool": True, "table": {"x": 1}, "empty_str": "", "empty_list": [],
    "list_of_bool": [True, True], "unicode": "\u00fc\u202e\u4e2d", "nul": "a\x00b", "path_up": "../../etc/passwd",
    "absolute": "/dev/zero", "slash": "a/b", "long": "x" * 5000,
}
NEVER = {"nan", "inf", "-inf", "huge_int", "int64_max", "table"}       # no key accepts these
STRINGS = {"empty_str", "unicode", "nul", "path_up", "absolute", "slash", "long"}
NUMBERS = {"nan", "inf", "-inf", "huge_int", "int64_max", "huge_float", "negative", "negative_float", "zero",
           "float_for_int"}
# what each kind of spec must refuse besides NEVER
REFUSED: dict[type, set[str]] = {
    C.Int: {"bool", "float_for_int", "huge_float", "negative_float", "list_of_bool", "empty_list"} | STRINGS,
    C.Float: {"bool", "list_of_bool", "empty_list"} | STRINGS,
    C.Bool: (NUMBERS | STRINGS | {"list_of_bool", "empty_list"}),
    C.Str: (NUMBERS | {"bool", "list_of_bool", "empty_list", "long"}),
    C.PetscType: (NUMBERS | {"bool", "list_of_bool", "empty_list", "long"} | STRINGS),
    C.List: (NUMBERS | {"bool"} | STRINGS),
    C.Number: {"bool", "list_of_bool", "empty_list"} | STRINGS,
}
NAME_TRICKS = {"unicode", "nul", "path_up", "absolute", "slash", "long"}


def _base(kind: str) -> dict:
    """The first shipped case of ``kind`` (parsed), or a minimal one."""
    for p in sorted((ROOT / "cases").glob("*.toml")):
        raw = C.parse_text(p.read_text())
        if raw.get("case", {}).get("kind") == kind:
            return raw
    return {"case": {"kind": kind}}


def _leaves(spec: C.Table, base, path: tuple = ()):
    """(key path, spec) for every key of the schema; lists also at [0] where the base has one;
    free-form tables through a probe key."""
    for k, sub in spec.keys.items():
        p = path + (k,)
        here = base.get(k) if isinstance(base, dict) else None
        if isinstance(sub, C.Table):
            yield from _leaves(sub, here or {}, p)
        elif isinstance(sub, C.AnyTable):
            yield p + ("probe",), sub.values or sub
        else:
            yield p, sub
            if isinstance(sub, C.List) and isinstance(here, list) and here:
                yield p + (0,), sub.item


def _set(raw: dict, path: tuple, value) -> dict:
    out = copy.deepcopy(raw)
    node = out
    for k in path[:-1]:
        if isinstance(k, int):
            node = node[k]
        else:
            node = node.setdefault(k, {}) if isinstance(node.get(k), (dict, type(None))) else node[k]
    node[path[-1]] = value
    return out


def _name(path: tuple) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if i else k) for i, k in enumerate(path))


def mutate_kind(kind: str) -> tuple[int, list[str]]:
    """Try every mutation on every key of ``kind``; returns (tried, what did not hold)."""
    sch = schemas()
    schema = C.Table({**C.COMMON, **sch[kind].keys})
    base = _base(kind)
    tried, broken = 0, []
    for path, spec in _leaves(schema, base):
        for mname, value in MUTATIONS.items():
            tried += 1
            where = f"{kind}: {_name(path)} = {mname}"
            must_refuse = mname in NEVER or mname in REFUSED.get(type(spec), set()) or (
                path == ("case", "name") and mname in NAME_TRICKS)
            if isinstance(spec, C.Choice):
                must_refuse = must_refuse or not any(type(value) is type(c) and value == c for c in spec.choices)
            if path == ("case", "kind"):
                must_refuse = True
            t0 = time.perf_counter()
            try:
                C.validate(_set(base, path, value), sch)
                refused = None
            except C.CaseError as exc:
                refused = exc
            except Exception as exc:  # noqa: BLE001 - exactly what must not happen
                broken.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            if time.perf_counter() - t0 > 5.0:
                broken.append(f"{where}: validation took {time.perf_counter() - t0:.1f} s")
            if must_refuse and refused is None:
                broken.append(f"{where}: accepted")
            elif refused is not None and not str(refused):
                broken.append(f"{where}: empty message")
            elif mname in NEVER and refused is not None and not _name(path).startswith(refused.key_path or "?"):
                broken.append(f"{where}: refused at {refused.key_path!r}, not at the key ({refused})")
    return tried, broken


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_key_every_mutation(kind):
    tried, broken = mutate_kind(kind)
    print(f"{kind}: {tried} mutations tried, {tried - len(broken)} held")
    assert tried > 50
    assert not broken, "\n".join(broken[:20])


# file-level hostility: read_case_text / parse_text
def test_case_file_is_regular_utf8_bounded_and_shallow(tmp_path):
    bad = {
        "latin1.toml": b'[case]\nkind = "poisson"\nname = "caf\xe9"\n',
        "deep.toml": b"[case]\nkind='poisson'\nx=" + b"[" * 3000 + b"]" * 3000 + b"\n",
        "deep_tables.toml": b"[" + b".".join(b"a%d" % i for i in range(40)) + b"]\nx=1\n",
        "big.toml": b"# " + b"x" * (C.MAX_CASE_BYTES + 10) + b"\n",
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    os.mkfifo(tmp_path / "fifo.toml")
    (tmp_path / "dir.toml").mkdir()
    expect = {"latin1.toml": "not UTF-8 text (byte 0xe9 at line 3)", "deep.toml": "nested too deeply",
              "deep_tables.toml": "nested too deeply", "big.toml": "at most", "fifo.toml": "named pipe",
              "dir.toml": "directory"}
    for name, fragment in expect.items():
        with pytest.raises(C.CaseError) as err:
            C.load(tmp_path / name, schemas())
        assert fragment in str(err.value), (name, str(err.value))
    with pytest.raises(C.CaseError, match="device"):
        C.read_case_text("/dev/zero")
    with pytest.raises(C.CaseError, match="not found"):
        C.read_case_text(tmp_path / "absent.toml")


def test_toml_syntax_error_names_the_file_once(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[case\nkind = 'poisson'\n")
    r = run_cli(["run", str(bad)])
    assert r.returncode == 2 and r.stderr.count(str(bad)) == 1, r.stderr
    assert "not valid TOML" in r.stderr and "line 1, column 6" in r.stderr, r.stderr
    assert not (tmp_path / "out").exists() and sorted(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize("text, path, fragment", [
    ('[mesh]\nshape=[33,33]\n[solver]\nmax_it=3000000000', "solver.max_it", "32-bit"),
    ('[mesh]\nshape=[9223372036854775807,17]', "mesh.shape[0]", "32-bit"),
    ('[mesh]\nshape=[46341,46341]', "mesh.shape", "32-bit index range"),
    ('[mesh]\nshape=[2000,2000,500]', "", "memory (estimate)"),
    ('[mesh]\nshape=[33,33]\nextent=[[0,1e-300],[0,1]]', "mesh.extent[0]", "not representable"),
    ('[mesh]\nshape=[33,33]\nextent=[[1e300,1.0000000000000002e300],[0,1]]', "mesh.extent[0]", "not representable"),
    ('[mesh]\nshape=[33,33]\n[solver]\nksp_type=""', "solver.ksp_type", "PETSc type name"),
    ('[mesh]\nshape=[33,33]\n[solver]\npc_type="gamg -log_view"', "solver.pc_type", "PETSc type name"),
    ('[mesh]\nshape=[33,33]\n[solver]\nksp_type="bogus"', "solver.ksp_type", "no KSP type 'bogus'"),
    ('[mesh]\nshape=[33,33]\n[solver]\nrtol=true', "solver.rtol", "must be a number, got true"),
    ('[mesh]\nshape=[33,33]\n[petsc]\n"a b"=1', "petsc.a b", "plain name"),
])
def test_poisson_specific_refusals(text, path, fragment):
    raw = C.parse_text('[case]\nkind="poisson"\n' + text)
    with pytest.raises(C.CaseError) as err:
        c = C.validate(raw, schemas())
        C.check_petsc_types(c, schemas()["poisson"])
    assert err.value.key_path == path and fragment in str(err.value), str(err.value)


def test_family_options_and_choices_are_strict():
    sch = schemas()
    raw = C.parse_text((ROOT / "cases" / "darcy_dataset.toml").read_text())
    for key, value, fragment in [("alpha", True, "must be a number, got true"), ("alpha", 1000, "overflows"),
                                 ("alpha", "2", "must be a number"), ("k_high", 1e308, r"beyond 1e\+150 in kappa")]:
        with pytest.raises(C.CaseError, match=fragment):
            C.validate(_set(raw, ("family", "options", key), value), sch)
    recycle = C.parse_text((ROOT / "cases" / "darcy_recycle.toml").read_text())
    with pytest.raises(C.CaseError, match="overflows"):
        C.validate(_set(recycle, ("family", "alpha"), 1000.0), sch)
    with pytest.raises(C.CaseError, match="memory"):                  # SKR's n x n Gram matrix alone
        C.validate(_set(recycle, ("family", "samples"), 10**6), sch)
    with pytest.raises(C.CaseError, match="memory"):
        C.validate(_set(raw, ("family", "options", "modes"), 10**6), sch)
    heat = C.parse_text((ROOT / "cases" / "heat_dataset.toml").read_text())
    with pytest.raises(C.CaseError, match="memory"):
        C.validate(_set(heat, ("family", "options", "n_steps"), 10**9), sch)
    with pytest.raises(C.CaseError, match="must be one of"):          # 2.0 is not the choice 2
        C.validate(_set(_base("boltzmann_bkw"), ("velocity", "dim"), 2.0), sch)


# --------------------------------------------------------------------------------------------
# scenarios through the CLI
# --------------------------------------------------------------------------------------------
def _alive(token: str) -> list[int]:
    """Pids of processes whose command line mentions ``token`` (other than this one)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if token in (d / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def _reap(token: str, grace: float = 10.0) -> list[int]:
    """Pids still naming ``token`` after ``grace`` seconds (killed, so no test leaves them)."""
    deadline = time.monotonic() + grace
    while _alive(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _alive(token)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def cli(args: list[str], token: Path, n: int = 1, timeout: float = 90, cwd: Path | None = None,
        argv: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m solvers ARGS`` (``mpirun -n n`` if n > 1, or the full ``argv``) in its
    own session; a run alive after ``timeout`` seconds is killed and fails the test (hang), and
    so does any process whose command line names ``token`` still alive 10 s after it ended."""
    cmd = argv or (([*mpirun_cmd(n)] if n > 1 else []) + [sys.executable, "-m", "solvers", *args])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd or ROOT,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in _alive(str(token)):
            os.kill(pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"hang: {' '.join(cmd)} still running after {timeout} s")
    left = _reap(str(token))
    assert not left, f"orphan processes {left} after {' '.join(cmd)}"
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error:" in line]


DIVERGING = """[case]
kind = "dataset"
name = "two"
[family]
name = "helmholtz"
[mesh]
shape = [17, 17]
[samples]
n = 4
split = [1.0, 0.0, 0.0]
[solver]
ksp_type = "gmres"
pc_type = "none"
ordering = "none"
max_it = 5000
[parallel]
io = "{io}"
checkpoint = 1
"""


@pytest.mark.parametrize("io", ["shards", "mpio"])
def test_divergence_on_one_rank_ends_the_job(tmp_path, io):
    """Samples 0, 1 converge (rank 0's chunk), sample 2 does not (rank 1's): exit 3 within the
    timeout, rank 1's message naming the sample and PETSc's reason, no process left."""
    case = tmp_path / "two.toml"
    case.write_text(DIVERGING.format(io=io))
    t0 = time.perf_counter()
    proc = cli(["run", str(case), "-o", str(tmp_path / "two"), "-q"], tmp_path, n=2, timeout=90)
    assert proc.returncode == 3, proc.stderr
    assert "sample 2: DIVERGED_MAX_IT after 5000 iterations" in proc.stderr, proc.stderr
    assert len(_error_lines(proc.stderr)) == 1, proc.stderr
    assert not (tmp_path / "two").exists()
    print(f"io = {io}: exit 3 after {time.perf_counter() - t0:.1f} s (measured under load)")


def test_error_on_one_rank_only(tmp_path):
    """A model file only rank 0 can see (MPMD launch, two working directories): exit 2 with
    rank 1's message, no hang."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    model = ROOT / "solvers" / "dcdm" / "models" / "dcdm_2d_128.pt"
    (a / "m.pt").write_bytes(model.read_bytes())
    (a / "m.json").write_bytes(model.with_suffix(".json").read_bytes())
    (a / "c.toml").write_text('[case]\nkind = "poisson_dcdm"\n[mesh]\nshape = [128, 128]\n[dcdm]\nmodel = "m.pt"\n')
    argv = [*mpirun_cmd(1), "-wdir", str(a), sys.executable, "-m", "solvers", "run", "c.toml", "-o", str(a / "o.h5"),
            ":", "-n", "1", "-wdir", str(b), sys.executable, "-m", "solvers", "run", "c.toml", "-o", str(a / "o.h5")]
    proc = cli([], tmp_path, argv=argv, timeout=90)
    assert proc.returncode == 2, proc.stderr
    assert "[rank 1/2] error:" in proc.stderr and "no model file 'm.pt'" in proc.stderr, proc.stderr
    assert not (a / "o.h5").exists()


def test_case_file_only_rank_0_can_see(tmp_path):
    """A relative case path that exists only in rank 0's working directory (MPMD launch): rank 0
    reads it and broadcasts it, the run succeeds on both ranks."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "c.toml").write_text(POISSON)
    out = a / "o.h5"
    argv = [*mpirun_cmd(1), "-wdir", str(a), sys.executable, "-m", "solvers", "run", "c.toml", "-o", str(out),
            ":", "-n", "1", "-wdir", str(b), sys.executable, "-m", "solvers", "run", "c.toml", "-o", str(out)]
    proc = cli([], tmp_path, argv=argv, timeout=90)
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out, "r") as h5:
        assert h5.attrs["kind"] == "poisson" and h5["u"].shape == (17, 17)


def _dataset_case(path: Path, n: int, name: str = "d", shape: int = 33) -> Path:
    path.write_text(f'[case]\nkind = "dataset"\nname = "{name}"\n[family]\nname = "darcy_exp"\n[mesh]\n'
                    f'shape = [{shape}, {shape}]\n[samples]\nn = {n}\n[solver]\nksp_type = "cg"\npc_type = "jacobi"\n'
                    'ordering = "none"\n[parallel]\ncheckpoint = 4\n')
    return path


def _complete(root: Path, n: int, name: str = "d") -> bool:
    """Every sample index 0..n-1 stored exactly once across the splits."""
    idx = []
    for f in sorted(root.glob(f"data/*/{name}.hdf5")):
        with h5py.File(f, "r") as h5:
            idx.extend(h5["scalars"]["sample_index"][...].tolist())
    return sorted(idx) == list(range(n))


def test_concurrent_runs_on_one_dataset(tmp_path):
    """Two runs started together on one dataset path: the first to take the lock generates it,
    the other is refused (exit 2); the dataset is complete, every sample once."""
    cases = [_dataset_case(tmp_path / f"{x}.toml", 300, shape=65) for x in "ab"]
    root = tmp_path / "d"
    results = {}
    threads = [threading.Thread(target=lambda c=c: results.update({c.stem: cli(["run", str(c), "-o", str(root), "-q"],
                                                                                c, timeout=180)}))
               for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.returncode for r in results.values())
    both = results["a"].stderr + results["b"].stderr
    assert codes == [0, 2], both
    assert "another run is generating" in both
    assert _complete(root, 300)


def test_user_work_directory_is_never_deleted(tmp_path):
    case = _dataset_case(tmp_path / "d.toml", 8)
    for suffix in (".work", ".partial"):
        mine = tmp_path / f"d{suffix}"
        mine.mkdir()
        (mine / "thesis.tex").write_text("years of work")
        proc = cli(["run", str(case), "-o", str(tmp_path / "d"), "-q"], tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert f"d{suffix} exists and was not created by this project" in proc.stderr
        assert (mine / "thesis.tex").read_text() == "years of work"
        (mine / "thesis.tex").unlink()
        mine.rmdir()


TRAIN = ('[case]\nkind = "dcdm_train"\n[mesh]\nshape = [17, 17]\n[model]\nchannels = 4\nlevels = 2\n'
         '[data]\nlanczos_steps = 20\n[training]\nbatch = 2\nthreads = 1\n')            # a tiny training


def test_pickled_payload_is_never_run(tmp_path):
    """A model file and a training checkpoint that would run code when unpickled: exit 2, the
    code never runs."""
    import torch

    flag = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {flag}",))

    torch.save({"card": Payload(), "state_dict": {}}, tmp_path / "evil.pt")
    (tmp_path / "run.toml").write_text('[case]\nkind = "poisson_dcdm"\n[mesh]\nshape = [128, 128]\n'
                                       '[dcdm]\nmodel = "evil.pt"\n')
    proc = cli(["run", str(tmp_path / "run.toml"), "-o", str(tmp_path / "o.h5")], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "not a DCDM model file (it asks to run Python code" in proc.stderr
    torch.save({"signature": Payload()}, tmp_path / "m.ckpt")
    (tmp_path / "train.toml").write_text(TRAIN + "max_steps = 2\n")
    proc = cli(["run", str(tmp_path / "train.toml"), "-o", str(tmp_path / "m.pt"), "-q"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "is not a training checkpoint (it asks to run Python code" in proc.stderr
    assert not flag.exists() and not (tmp_path / "m.pt").exists() and not (tmp_path / "o.h5").exists()


def test_nan_training_loss_is_exit_3_and_writes_nothing(tmp_path):
    (tmp_path / "t.toml").write_text(TRAIN + "lr = 1e12\nmax_steps = 30\n")
    proc = cli(["run", str(tmp_path / "t.toml"), "-o", str(tmp_path / "m.pt"), "-q"], tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "training loss became nan" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.toml"]


POISSON = '[case]\nkind = "poisson"\n[mesh]\nshape = [17, 17]\n'


def test_outputs_are_checked_before_any_work(tmp_path):
    case = tmp_path / "p.toml"
    case.write_text(POISSON)
    text = case.read_text()
    (tmp_path / "dir").mkdir()
    for out, fragment in [(case, "was not written by this project"), (tmp_path / "dir", "is a directory"),
                          (Path("."), "is not a file or directory name"), (Path("/proc/x.h5"), "cannot create files in /proc"),
                          (Path("/dev/null"), "not a regular file")]:
        proc = cli(["run", str(case), "-o", str(out)], tmp_path)
        assert proc.returncode == 2, (out, proc.stderr)
        assert fragment in proc.stderr, (out, proc.stderr)
        assert "wrote" not in proc.stdout
    assert case.read_text() == text
    out = tmp_path / "p.h5"
    assert cli(["run", str(case), "-o", str(out)], tmp_path).returncode == 0
    proc = cli(["run", str(case), "-o", str(out)], tmp_path)
    assert proc.returncode == 2 and "pass --overwrite" in proc.stderr, proc.stderr
    assert cli(["run", str(case), "-o", str(out), "--overwrite"], tmp_path).returncode == 0
    with h5py.File(tmp_path / "q.h5.partial", "w"):           # what an interrupted write leaves
        pass
    assert cli(["run", str(case), "-o", str(tmp_path / "q.h5")], tmp_path).returncode == 0
    (tmp_path / "r.h5.partial").write_text("notes")
    proc = cli(["run", str(case), "-o", str(tmp_path / "r.h5")], tmp_path)
    assert proc.returncode == 2 and "r.h5.partial exists and was not written by this project" in proc.stderr
    assert (tmp_path / "r.h5.partial").read_text() == "notes"


def test_rejected_case_never_reaches_petsc(tmp_path):
    """A case rejected for a bad key or a PETSc type PETSc does not have: exit 2, and its
    [petsc] table (-log_view writing a file) never acted."""
    log = tmp_path / "log.txt"
    for bad in ('[solver]\nmax_it = 3000000000\n', '[solver]\nksp_type = "bogus"\n'):
        (tmp_path / "c.toml").write_text(POISSON + bad + f'[petsc]\nlog_view = ":{log}"\n')
        proc = cli(["run", str(tmp_path / "c.toml"), "-o", str(tmp_path / "o.h5")], tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert not log.exists() and not (tmp_path / "o.h5").exists()


def test_special_files_as_case_files(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for path, fragment in [(fifo, "named pipe"), (Path("/dev/zero"), "device")]:
        proc = cli(["run", str(path), "-o", str(tmp_path / "o.h5")], tmp_path, timeout=30)
        assert proc.returncode == 2 and fragment in proc.stderr, proc.stderr
    (tmp_path / "huge.toml").write_text(POISSON.replace("[17, 17]", "[2000, 2000, 500]"))
    proc = cli(["run", str(tmp_path / "huge.toml")], tmp_path)
    assert proc.returncode == 2 and "memory (estimate)" in proc.stderr, proc.stderr


# --------------------------------------------------------------------------------------------
# memory estimates (Table.estimate) against measured peak RSS, and refusals before any work
# --------------------------------------------------------------------------------------------
PINN_FAST = "[pinn]\nritz_epochs = 40\nadam_epochs = 40\nlbfgs_rounds = 1\nlbfgs_iters = 10\nritz_polish = 10\nrequire_convergence = false\n"   # a memory probe, not a converged training
SPACE = '[velocity]\ndim = 3\nn = 16\n[species]\nmass_ratio = 100.0\n[space]\nnx = {nx}\nKn = 0.01\n'
# kind: (ranks, a tiny warm-up case, the measured case): sized so that their arrays, not the
# interpreter, dominate the increment (60 MiB to 300 MiB measured), and run in seconds
PROBES = {
    "poisson": (1, '[mesh]\nshape = [9, 9]\n', '[mesh]\nshape = [65, 65, 65]\n'),
    "recycle": (1, '[family]\nname = "darcy_exp"\nsamples = 2\n[mesh]\nshape = [9, 9]\n',
                '[family]\nname = "darcy_exp"\nsamples = 32\n[mesh]\nshape = [129, 129]\n'),
    "dataset": (2, '[family]\nname = "darcy_exp"\n[mesh]\nshape = [9, 9]\n[samples]\nn = 4\n',
                '[family]\nname = "darcy_exp"\n[mesh]\nshape = [257, 257]\n[samples]\nn = 8\n'),
    "boltzmann_bkw": (1, '[velocity]\ndim = 3\nn = 8\nn_rho = 2\nn_dir = 2\n[time]\nt_end = 5.6\n',
                      '[velocity]\ndim = 3\nn = 64\nn_rho = 4\nn_dir = 2\n[time]\nt_end = 5.6\n'),
    "boltzmann_mixture": (1, '[velocity]\ndim = 3\nn = 8\n[kernel]\nn_rho = 2\nn_dir = 2\n[species]\nmass_ratio = 100.0\n'
                             '[time]\nt_end = 0.1\ndt = 0.1\n',
                          '[velocity]\ndim = 3\nn = 40\n[kernel]\nn_rho = 4\nn_dir = 2\n[species]\nmass_ratio = 100.0\n'
                          '[time]\nt_end = 0.1\ndt = 0.1\n'),
    "boltzmann_space": (2, SPACE.format(nx=8).replace("n = 16", "n = 8") + '[time]\nt_end = 0.001\n',
                        SPACE.format(nx=64) + '[time]\nt_end = 0.001\nf_snapshots = 2\n'),
    "boltzmann_space_dataset": (2, SPACE.format(nx=8).replace("n = 16", "n = 8") + '[time]\nt_end = 0.001\nsnapshots = 2\n'
                                   '[samples]\nn = 2\nsplit = [1.0, 0.0, 0.0]\n',
                                SPACE.format(nx=64) + '[time]\nt_end = 0.001\nsnapshots = 2\n'
                                '[samples]\nn = 4\nsplit = [1.0, 0.0, 0.0]\n'),
    "schrodinger": (1, '[potential]\ntype = "infinite_well"\nL = 1.0\n[states]\nn = 1\n' + PINN_FAST,
                    '[potential]\ntype = "finite_well"\nV0 = 50.0\na = 0.5\nLbox = 2.0\n[states]\nn = 2\npoints = 2001\n'
                    + PINN_FAST + 'collocation = 2000\n'),
    "schrodinger_sweep": (2, '[potential]\ntype = "infinite_well"\nL = 1.0\n[states]\nn = 1\n[sweep]\nparameter = "L"\n'
                             'values = [1.0]\n' + PINN_FAST,
                          '[potential]\ntype = "finite_well"\nV0 = 50.0\na = 0.5\nLbox = 2.0\n[states]\nn = 1\n'
                          'points = 2001\n[sweep]\nparameter = "V0"\nvalues = [40.0, 50.0]\n' + PINN_FAST + 'collocation = 2000\n'),
    "poisson_dcdm": (1, '[mesh]\nshape = [16, 16]\n[dcdm]\nallow_grid_mismatch = true\n',
                     '[mesh]\nshape = [256, 256]\n[dcdm]\nallow_grid_mismatch = true\n'),
    "dcdm_train": (1, '[mesh]\nshape = [9, 9]\n[model]\nchannels = 2\nlevels = 2\n[data]\nlanczos_steps = 5\n[training]\n'
                      'max_steps = 2\nthreads = 1\nrequire_convergence = false\n',
                   '[mesh]\nshape = [65, 65]\n[model]\nchannels = 8\nlevels = 3\n[data]\nlanczos_steps = 200\n[training]\n'
                   'batch = 4\nmax_steps = 10\nthreads = 1\nrequire_convergence = false\n'),
}


def test_every_kind_has_a_probe():
    assert sorted(PROBES) == sorted(KINDS)


@pytest.mark.slow                     # 5-50 s per kind (mpirun, imports, a warm-up run)
@pytest.mark.parametrize("kind", sorted(PROBES))
def test_estimate_bounds_measured_peak(tmp_path, kind):
    """The kind's memory estimate for the probe's rank count is at least the measured peak RSS
    increment of the run (all ranks summed; tests/peak_rss.py: after a warm-up run, the kernel's
    peak counter reset) and at most 10 times it."""
    ranks, warm, body = PROBES[kind]
    paths = []
    for name, text in (("warm", warm), ("case", body)):
        paths.append(tmp_path / f"{name}.toml")
        paths[-1].write_text(f'[case]\nkind = "{kind}"\n{text}')
    sections = C.load(paths[1], schemas(), ranks=ranks).sections
    estimate = (schemas()[kind].estimate or C.grid_estimate)(sections, ranks)
    argv = ([*mpirun_cmd(ranks)] if ranks > 1 else []) + [sys.executable, str(ROOT / "tests" / "peak_rss.py"),
                                                          *map(str, paths), str(tmp_path)]
    proc = cli([], tmp_path, argv=argv, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("PEAK_RSS")]
    assert len(rows) == ranks, proc.stdout
    measured = sum(int(peak) - int(base) for _, base, peak in rows)
    print(f"{kind}: {ranks} rank(s), estimate {estimate / 2**20:.1f} MiB, measured peak RSS increment "
          f"{measured / 2**20:.1f} MiB (ratio {estimate / measured:.2f})")
    assert measured <= estimate <= 10 * measured


HUGE = {   # kind: a case that cannot fit, refused (exit 2, the estimate in the message) before any work
    "boltzmann_bkw": '[velocity]\ndim = 3\nn = 512\n',
    "boltzmann_mixture": '[velocity]\ndim = 3\nn = 512\n[species]\nmass_ratio = 100.0\n[time]\nt_end = 1.0\ndt = 0.1\n',
    "boltzmann_space": SPACE.format(nx=64).replace("n = 16", "n = 128") + '[time]\nt_end = 0.1\n',
    "schrodinger": '[potential]\ntype = "infinite_well"\nL = 1.0\n[pinn]\ncollocation = 100000000\n',
    "schrodinger_sweep": '[potential]\ntype = "infinite_well"\nL = 1.0\n[sweep]\nparameter = "L"\nvalues = [1.0, 2.0]\n'
                         '[pinn]\nadam_epochs = 2000000000\n',
    "poisson_dcdm": '[mesh]\nshape = [1024, 1024, 1024]\n',
    "dcdm_train": '[mesh]\nshape = [512, 512, 512]\n',
}


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_huge_case_is_refused_with_its_estimate(tmp_path, kind):
    case = tmp_path / "huge.toml"
    case.write_text(f'[case]\nkind = "{kind}"\n{HUGE[kind]}')
    t0 = time.perf_counter()
    proc = cli(["run", str(case), "-o", str(tmp_path / "o")], tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "of memory (estimate) for its 1 rank(s) on this machine, more than the" in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.toml"]
    print(f"{kind}: {_error_lines(proc.stderr)[0]} ({time.perf_counter() - t0:.1f} s)")


def test_estimate_counts_every_group_and_rank_on_the_node():
    """A dataset job holds np / ranks_per_solve solves: 4 ranks in groups of 1 need ~4x one rank's
    memory, in one group of 4 the same as one; a case that fits 1 rank is refused for 4 ranks on
    one machine and accepted when they are spread over 4 machines (node_ranks = 1)."""
    raw = C.parse_text('[case]\nkind = "dataset"\n[family]\nname = "darcy_exp"\n[mesh]\nshape = [1025, 1025]\n'
                       '[samples]\nn = 8\n')
    sch = schemas()
    est = sch["dataset"].estimate
    one = est(C.validate(raw, sch).sections, 1)
    four = est(C.validate(raw, sch).sections, 4)
    grouped = est(C.validate(_set(raw, ("parallel", "ranks_per_solve"), 4), sch).sections, 4)
    assert 3.5 * one < four < 4.5 * one and grouped < 1.1 * one, (one, four, grouped)
    memory = 2 * one
    C.validate(raw, sch, memory=memory, ranks=1)
    with pytest.raises(C.CaseError, match=r"memory \(estimate\) for its 4 rank\(s\) on this machine"):
        C.validate(raw, sch, memory=memory, ranks=4)
    C.validate(raw, sch, memory=memory, ranks=4, node_ranks=1)
    space = C.parse_text(f'[case]\nkind = "boltzmann_space"\n{SPACE.format(nx=256)}[time]\nt_end = 1.0\n')
    per_rank = [sch["boltzmann_space"].estimate(C.validate(space, sch).sections, r) / r for r in (1, 2, 4)]
    # x is split over the ranks: the per-rank share falls with the cells a rank owns (256 + 4, 128 + 4,
    # 64 + 4 with the ghosts), the rest (operators' tables, overhead) stays
    drop = [per_rank[0] - per_rank[1], per_rank[1] - per_rank[2]]
    assert drop[1] > 0 and abs(drop[0] / drop[1] - 2) < 1e-6, per_rank


def test_unconverged_pinn_with_the_right_node_count_is_exit_3(tmp_path):
    """No training (ritz_epochs = adam_epochs = lbfgs_rounds = ritz_polish = 0, a 2-neuron net, seed 1):
    the ground state has 0 nodes but E = 28.55 against the exact 5.942 (bounds [3.58, 28.55]): exit 3
    naming the state and its certified error, nothing written; with pinn.require_convergence = false
    the file is written with converged = false and the run says so."""
    import h5py
    text = ('[case]\nkind = "schrodinger"\n[potential]\ntype = "finite_well"\nV0 = 50.0\na = 0.5\nLbox = 2.0\n'
            '[states]\nn = 1\n[pinn]\nseed = 1\nritz_epochs = 0\nadam_epochs = 0\nlbfgs_rounds = 0\n'
            'ritz_polish = 0\nwidth = 2\ndepth = 1\nparity = "off"\nnetworks = "single"\ntails = "off"\n'
            'rayleigh_ritz = false\n')
    case = tmp_path / "p.toml"
    case.write_text(text)
    proc = cli(["run", str(case), "-o", str(tmp_path / "p.h5"), "-q"], tmp_path)
    assert " 0    28.55" in proc.stdout, proc.stdout                 # the untrained state, 0 nodes
    assert proc.returncode == 3 and not (tmp_path / "p.h5").exists(), proc.stdout
    assert "state 0" in proc.stderr and "pinn.bound_tolerance" in proc.stderr, proc.stderr
    case.write_text(text + "require_convergence = false\n")
    proc = cli(["run", str(case), "-o", str(tmp_path / "p.h5"), "-q"], tmp_path)
    assert proc.returncode == 0 and "did NOT converge" in proc.stdout, proc.stdout + proc.stderr
    with h5py.File(tmp_path / "p.h5") as h5:
        assert not h5.attrs["converged"] and abs(h5["E"][0] - 28.55) < 0.01


def test_resume_refusal_names_the_key(tmp_path):
    from solvers.datasets.writer import changed_keys
    assert changed_keys({"family": {"options": {"alpha": 2}}}, {"family": {"options": {"alpha": 2.0}}}) == \
        ["family.options.alpha: 2 -> 2.0"]
    assert changed_keys({"petsc_options": {}}, {"petsc_options": {"dataset_ksp_rtol": "1e-2"}}) == \
        ['petsc_options.dataset_ksp_rtol: (absent) -> "1e-2"']


def test_petsc_options_after_dashes_are_fingerprinted(tmp_path):
    """A partial run resumed with different PETSc options on the command line is refused,
    naming the option; resumed with the same ones it completes."""
    case = _dataset_case(tmp_path / "d.toml", 8)
    root = tmp_path / "d"
    work = tmp_path / "d.work"
    # a fresh start recorded in the work directory, then a run with an extra option
    proc = cli(["run", str(case), "-o", str(root), "-q", "--", "-dataset_ksp_rtol", "1e-2"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = cli(["run", str(case), "-o", str(root), "-q"], tmp_path)
    assert proc.returncode == 2 and "dataset_ksp_rtol" in proc.stderr, proc.stderr
    assert not work.exists()


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str):
    """A tmpfs of ``size`` mounted at ``where`` (the test is skipped, with the reason, where
    this machine does not allow it); unmounted afterwards."""
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.strip() or f'mount exited {r.returncode}'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_disk_full_is_one_message_and_resumes(tmp_path):
    with small_tmpfs(tmp_path / "small", "160k") as small:
        case = _dataset_case(tmp_path / "d.toml", 32)
        root = small / "d"
        proc = cli(["run", str(case), "-o", str(root), "-q"], tmp_path)
        assert proc.returncode == 1, proc.stderr
        assert len(_error_lines(proc.stderr)) == 1 and "disk full while writing" in proc.stderr, proc.stderr
        assert len(proc.stderr.splitlines()) <= 3, proc.stderr
        subprocess.run(["mount", "-o", "remount,size=8m", str(small)], check=True)
        proc = cli(["run", str(case), "-o", str(root), "-q"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert _complete(root, 32)


def test_killed_mpirun_leaves_no_rank(tmp_path):
    """SIGKILL to mpirun in the middle of a run: its ranks die with it (Open MPI's own doing)."""
    case = _dataset_case(tmp_path / "long.toml", 2000)
    cmd = [*mpirun_cmd(2), sys.executable, "-m", "solvers", "run", str(case), "-o", str(tmp_path / "d"), "-q"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / "d.work" / "lock").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_alive(str(case))) >= 3                               # mpirun and two ranks
    proc.kill()
    proc.wait()
    left = _reap(str(case))
    assert not left, f"ranks {left} survived their mpirun"


def test_disk_full_hdf5_output(tmp_path):
    """An HDF5 result that does not fit: one message, exit 1, no partial file left, on 1 and 2 ranks."""
    with small_tmpfs(tmp_path / "small", "64k") as small:
        case = tmp_path / "p.toml"
        case.write_text(POISSON.replace("[17, 17]", "[129, 129]"))
        for n in (1, 2):
            proc = cli(["run", str(case), "-o", str(small / "p.h5"), "-q"], tmp_path, n=n)
            assert proc.returncode == 1, proc.stderr
            assert "disk full: 0.32 MiB to write" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
            assert not list(small.iterdir())
