"""Random fields for parameterised PDE families (seed-stable on any number of ranks)."""
