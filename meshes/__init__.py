"""Structured grids over PETSc DMDA, shared by every solver."""
import solvers  # noqa: F401  (locates Debian's petsc4py before the first PETSc import)

from .grid import Grid

__all__ = ["Grid"]
