"""Structured grids over PETSc DMDA, shared by every solver (imports nothing from ``solvers``)."""
from .grid import Grid

__all__ = ["Grid"]
