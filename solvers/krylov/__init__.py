"""Krylov subspace recycling for sequences of systems: GCRO-DR, SKR sorting, the sequence solver."""
