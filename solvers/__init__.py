"""MPI-parallel PDE and kinetics solvers on PETSc.

``python -m solvers run CASE.toml [-o OUT] [-- PETSc options]`` runs a case file;
``python -m solvers validate`` runs the analytic checks; ``python -m solvers info`` prints versions.
"""
import glob
import os
import sys

__version__ = "0.1.0"


def _find_petsc4py() -> None:
    """Debian's petsc4py lives under $PETSC_DIR; point at it if the venv's .pth did not."""
    try:
        import petsc4py  # noqa: F401
        return
    except ImportError:
        pass
    dirs = ([os.environ["PETSC_DIR"]] if os.environ.get("PETSC_DIR") else []) + sorted(
        glob.glob("/usr/lib/petscdir/petsc*/*-real"))
    for d in dirs:
        p = os.path.join(d, "lib/python3/dist-packages")
        if os.path.isdir(os.path.join(p, "petsc4py")):
            os.environ.setdefault("PETSC_DIR", d)
            sys.path.append(p)
            return


_find_petsc4py()
