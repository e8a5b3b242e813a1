"""PINN eigen-solvers for 1D Schrödinger wells, -c ψ'' + V ψ = E ψ with ψ = 0 at the box ends.

Modules: ``potentials`` (piecewise-constant V), ``exact`` (closed-form and transfer-matrix
references), ``finite_difference`` (3-point FD reference), ``pinn`` (model and training),
``sweep`` (parameter sweeps over MPI ranks), ``plugin`` (case kinds), ``validation``.
"""
