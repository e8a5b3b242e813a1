"""Poisson family on structured grids: operator assembly, manufactured solutions, runner."""
