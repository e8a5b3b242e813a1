"""Same answer on 1, 2 and 3 ranks (3 = uneven partitions): random inputs drawn on each rank's
owned block only, written in parallel, are bitwise the same file contents; Poisson solutions agree
to the solver tolerance."""
from __future__ import annotations

import textwrap

import h5py
import numpy as np
import pytest

from conftest import run_cli, run_script

pytestmark = pytest.mark.mpi

NPS = (1, 2, 3)

def _script(body: str) -> str:
    """An MPI script: ``body`` (indented for ``work()``) fills ``res`` (a Result) on grids over
    COMM_WORLD; the script writes it in parallel to argv[1] (attribute ``ranks``)."""
    return textwrap.dedent("""
        import sys
        import numpy as np
        from mpi4py import MPI
        from meshes import Grid
        from solvers.io import hdf5
        from solvers.parallel import guarded
        from solvers.poisson.families import FAMILIES, make_family
        from solvers.result import Block, Result

        def work():
            comm = MPI.COMM_WORLD
            res = Result()
    """) + textwrap.indent(textwrap.dedent(body), "    ") + textwrap.dedent("""
            hdf5.write(sys.argv[1], res, {"ranks": comm.size}, comm)
            return 0

        sys.exit(guarded(work))
    """)


DRAW = _script("""
        for shape in ((33, 47), (13, 17, 11)):
            grid = Grid(shape, comm=comm)
            for name in sorted(FAMILIES):
                fam = make_family(name, shape, seed=5)
                s = fam.sample(3, grid.ranges)
                assert s.shape == grid.local_shape
                for field, block in s.fields.items():
                    res.blocks[f"{len(shape)}d/{name}/{field}"] = Block.from_grid(grid, block)
""")


def _read(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path) as h5:
        h5.visititems(lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_sampled_fields_and_parallel_file_contents_identical_on_1_2_3_ranks(tmp_path):
    script = tmp_path / "draw.py"
    script.write_text(DRAW)
    files = {}
    for n in NPS:
        files[n] = tmp_path / f"draw{n}.h5"
        proc = run_script(script, [str(files[n])], n=n, timeout=120)
        assert proc.returncode == 0, proc.stderr
    ref = _read(files[1])
    assert len(ref) == 2 * 10                           # every family's fields in 2D and 3D
    for n in NPS[1:]:
        other = _read(files[n])
        assert sorted(other) == sorted(ref)
        for k in ref:
            assert ref[k].tobytes() == other[k].tobytes(), (n, k)
        with h5py.File(files[n]) as h5:
            assert h5.attrs["ranks"] == n


@pytest.mark.parametrize("case", ["poisson_2d", "poisson_3d"])
def test_poisson_solution_same_on_1_2_3_ranks(tmp_path, case):
    outs = {}
    for n in NPS:
        outs[n] = tmp_path / f"{case}_{n}.h5"
        proc = run_cli(["run", f"cases/{case}.toml", "-o", str(outs[n]), "--", "-ksp_rtol", "1e-13"], n=n)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count("error vs exact solution") == 1      # printed on rank 0 only
    ref = _read(outs[1])
    for n in NPS[1:]:
        other = _read(outs[n])
        for k in ("x", "y", "exact"):
            if k in ref:
                assert ref[k].tobytes() == other[k].tobytes(), k
        assert np.abs(ref["u"] - other["u"]).max() <= 1e-10 * np.abs(ref["u"]).max()


@pytest.mark.parametrize("family, rps, io", [("poisson", 1, "shards"), ("heat", 3, "mpio")],
                         ids=["poisson-groups-of-1", "heat-one-group-of-3"])
def test_dataset_inputs_identical_on_1_2_3_ranks(tmp_path, family, rps, io):
    """Inputs (drawn on each rank's block) and every per-sample scalar except timings/iterations
    are the same bytes at np = 1, 2, 3; solutions within the solver tolerance."""
    from test_dataset import case_text, read_all

    shape = (9, 9, 9) if family == "heat" else (17, 13)
    outs = {}
    for n in NPS:
        r = rps if n >= rps else 1
        f = tmp_path / f"c{n}.toml"
        f.write_text(case_text(family=family, n=6, shape=shape, io=io if n > 1 else "shards", rps=r,
                               checkpoint=2, name="idt"))
        outs[n] = tmp_path / f"d{n}"
        proc = run_cli(["run", str(f), "-o", str(outs[n]), "-q"], n=n, timeout=300)
        assert proc.returncode == 0, proc.stderr
    ref = read_all(outs[1])
    inputs = [k for k in ref if k not in ("u", "iterations", "residual")]
    assert inputs
    for n in NPS[1:]:
        other = read_all(outs[n])
        for k in inputs:
            assert ref[k].tobytes() == other[k].tobytes(), (n, k)
        assert np.abs(ref["u"].astype(float) - other["u"]).max() <= 1e-6 * np.abs(ref["u"]).max()


APPLY = _script("""
        for shape in ((17, 13), (9, 8, 7)):
            grid = Grid(shape, comm=comm)
            fam = make_family("darcy_exp", shape, seed=2)
            op, b = fam.system(grid, fam.sample(0, grid.ranges))
            x = grid.create_vec()
            grid.set_local(x, np.sin(sum((d + 1) * c for d, c in enumerate(grid.local_coordinates()))))
            y = x.duplicate()
            op.A.mult(x, y)
            res.blocks[f"{len(shape)}d/Ax"] = Block.from_grid(grid, grid.local_array(y))
            res.blocks[f"{len(shape)}d/b"] = Block.from_grid(grid, grid.local_array(b))
""")


def test_assembled_operator_identical_on_1_and_4_ranks(tmp_path):
    """4 ranks split a 2D grid 2 x 2 (ghost corners, unused by the star stencil, stay unfilled):
    A x and b agree with one rank to rounding (a parallel product sums the owned and the
    off-rank columns separately, so the last bit may differ)."""
    script = tmp_path / "apply.py"
    script.write_text(APPLY)
    files = {n: tmp_path / f"a{n}.h5" for n in (1, 4)}
    for n, f in files.items():
        proc = run_script(script, [str(f)], n=n, timeout=120)
        assert proc.returncode == 0, proc.stderr
    ref, other = _read(files[1]), _read(files[4])
    assert sorted(ref) == sorted(other) and len(ref) == 4
    for k in ref:
        assert np.abs(ref[k] - other[k]).max() <= 1e-14 * np.abs(ref[k]).max(), k
