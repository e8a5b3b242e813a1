"""Gaussian random fields: exact cosine expansion, covariance, seed stability, any-np identity."""
from __future__ import annotations

import numpy as np
import pytest

from solvers.fields.grf import _cosine_sum, eigenvalues, grf


def test_dct_evaluation_matches_direct_cosine_sum():
    rng = np.random.default_rng(0)
    for modes, shape in (((5, 4), (7, 9)), ((12, 4), (7, 9)), ((3, 3, 3), (4, 5, 6))):
        a = rng.standard_normal(modes)
        direct = np.zeros(shape)
        for kappa in np.ndindex(*modes):
            term = a[kappa]
            for d, (k, n) in enumerate(zip(kappa, shape)):
                c = np.cos(np.pi * k * np.arange(n) / (n - 1))
                term = np.multiply.outer(term, c) if d else term * c
            direct += term
        assert np.abs(_cosine_sum(a, shape) - direct).max() < 1e-12


def test_same_seed_same_bytes_and_different_seeds_differ():
    a, b = grf((65, 65), 2.5, 7.0, seed=11), grf((65, 65), 2.5, 7.0, seed=11)
    assert a.tobytes() == b.tobytes()
    assert np.abs(a - grf((65, 65), 2.5, 7.0, seed=12)).max() > 1e-2


def test_pointwise_variance_matches_covariance():
    """E[u(x)²] = Σ λ_κ φ_κ(x)²; at the centre node of a 33² grid, 2000 samples (~3% error)."""
    shape, alpha, tau = (33, 33), 2.0, 3.0
    lam = eigenvalues(shape, alpha, tau)
    c = (16, 16)
    phi2 = np.ones(shape)
    for d in range(2):
        k = np.arange(shape[d])
        w = np.where(k == 0, 1.0, 2.0) * np.cos(np.pi * k * c[d] / (shape[d] - 1)) ** 2
        phi2 = phi2 * w.reshape([-1 if e == d else 1 for e in range(2)])
    exact = float(np.sum(lam * phi2))
    vals = np.array([grf(shape, alpha, tau, seed=s)[c] for s in range(2000)])
    assert abs(vals.var() / exact - 1) < 0.1
    assert abs(vals.mean()) < 4 * np.sqrt(exact / 2000)


def test_fixed_modes_is_resolution_consistent():
    coarse = grf((33, 33), 2.0, 3.0, seed=5, modes=16)
    fine = grf((65, 65), 2.0, 3.0, seed=5, modes=16)
    assert np.abs(coarse - fine[::2, ::2]).max() < 1e-12


def test_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        grf((9, 9), alpha=-1.0)
    with pytest.raises(ValueError, match="shape"):
        grf((1, 9))
    with pytest.raises(ValueError, match="modes"):
        grf((9, 9), modes=1)
