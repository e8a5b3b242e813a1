"""Boltzmann equation for single gases and disparate-mass mixtures (fast spectral method, AP scheme)."""
