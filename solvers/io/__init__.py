"""Input/output: the HDF5 writer, output-path policy."""
