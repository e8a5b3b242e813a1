"""Operator-learning datasets: The Well's HDF5 layout, resumable parallel generation, checks,
exports (PDEBench, neuraloperator) and a lazy torch Dataset."""
