"""MPI: errors abort all ranks (no hang), bad input exits 2 under mpirun."""
import textwrap

import pytest

from conftest import ROOT, run_cli, run_script

pytestmark = pytest.mark.mpi


def test_exception_on_one_rank_aborts_all(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text(textwrap.dedent("""
        import sys
        from mpi4py import MPI
        from solvers.parallel import guarded
        comm = MPI.COMM_WORLD
        def work():
            if comm.rank == 1:
                raise RuntimeError("boom on rank one")
            comm.Barrier()          # rank 0 would wait here forever without MPI_Abort
            return 0
        sys.exit(guarded(work, comm))
    """))
    proc = run_script(script, n=2, timeout=60)
    assert proc.returncode != 0
    assert "[rank 1/2] error: RuntimeError: boom on rank one" in proc.stderr


def test_bad_case_exits_2_under_mpirun(tmp_path):
    out = tmp_path / "o.h5"
    proc = run_cli(["run", "tests/cases_bad/negative_shape.toml", "-o", str(out)], n=2, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("mesh.shape[1]: must be a positive integer, got -4") == 1
    assert not out.exists()


def test_divergence_under_mpirun(tmp_path):
    case = tmp_path / "exp.toml"
    case.write_text('[case]\nkind="poisson"\n[mesh]\nshape=[129,129]\n[problem]\nsolution="exp"\n')
    proc = run_cli(["run", str(case), "-o", str(tmp_path / "o.h5"), "--", "-pc_type", "none",
                    "-ksp_max_it", "2"], n=2, timeout=60)
    assert proc.returncode == 3
    assert proc.stderr.count("did not converge: DIVERGED_MAX_IT") == 1


def test_validate_poisson_under_mpirun():
    proc = run_cli(["validate", "poisson"], n=2, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "8 passed, 0 failed" in proc.stdout
