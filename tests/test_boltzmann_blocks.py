"""Cache blocking of the space-dependent collision step (issue 13, item 8): the blocks of cells
(``SpaceMixture.chunk``), of directions (``FastSpectral.direction_sum``) and of Lorentz rows
(``Lorentz.CHUNK``) change only the order in which independent values are computed, so every
result is bitwise the same for any block size; the Lorentz sphere average is exact on a
trigonometric polynomial and ``|S| f`` where the sphere leaves the box."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI
from scipy.special import j0

from solvers.boltzmann import asymptotic as asy
from solvers.boltzmann import fast_spectral as fs
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams
from solvers.boltzmann.fast_spectral import SPHERE_AREA, FastSpectral
from solvers.boltzmann.space import SpaceMixture
from solvers.boltzmann.velocity import VelocityGrid


def wave(mix: Mixture, nx: int, positivity: bool, scheme: str = "ap2") -> tuple:
    sp = SpaceMixture(mix, nx, 1.0, None, None, 0.01, scheme, MPI.COMM_SELF, positivity=positivity)
    w = 1 + 0.1 * np.sin(2 * math.pi * sp.x)
    return sp, sp.maxwellians((1.0, 1.0 + 0.05 * w), (0.1 * w, -0.02 * w), (1.2 * w, 0.8 * w))


@pytest.mark.parametrize("scheme,positivity", [("ap2", False), ("ap", True)])
def test_collision_blocks_bitwise(scheme, positivity):
    """Two Strang steps on 7 cells in blocks of 7, 3 and 1 cells: bitwise the same state (and the same
    positivity-fix counts)."""
    mix = Mixture(MixtureParams(dim=2, n=12, mass_ratio=1e3), T_ref=(1.35, 1.05))
    out = []
    for chunk in (7, 3, 1):
        sp, (fL, fH) = wave(mix, 7, positivity, scheme)
        sp.chunk = chunk
        for _ in range(2):
            fL, fH = sp.step(fL, fH, sp.dt)
        out.append((fL, fH, sp.limited["cells"]))
    for fL, fH, cells in out[1:]:
        assert np.array_equal(fL, out[0][0]) and np.array_equal(fH, out[0][1]) and cells == out[0][2]


@pytest.mark.parametrize("dim,n", [(2, 12), (3, 8)])
def test_gain_direction_blocks_bitwise(dim, n, monkeypatch):
    """The gain of 5 cells with the directions in blocks of 1 and 3 (``CACHE_BYTES`` set small) equals each
    cell's alone with all directions in one block (set large), bitwise, for Q(f, f) and a cross pair
    with μ_i ≠ μ_j."""
    g = VelocityGrid(dim, n, 5.0)
    rng = np.random.default_rng(1)
    f = np.exp(-0.5 * g.speed2())[None] * (1 + 0.2 * rng.random((5,) + g.shape))
    cross = FastSpectral(g, gamma=1.0, mu=(0.2, 0.8), self_collision=False)
    for op, args in ((FastSpectral(g, gamma=1.0), (f,)), (cross, (f, f[::-1].copy()))):
        monkeypatch.setattr(fs, "CACHE_BYTES", 2 ** 40)
        alone = [op.gain(*(a[c] for a in args)) for c in range(5)]      # one cell: every direction at once
        for block in (1, 3):
            monkeypatch.setattr(fs, "CACHE_BYTES", block * 5 * op.direction_bytes())
            batch = op.gain(*args)
            monkeypatch.undo()
            assert all(np.array_equal(a, b) for a, b in zip(alone, batch))


def test_lorentz_chunks_bitwise_and_exact(monkeypatch):
    """The sphere average in row chunks of any size is bitwise the same; on a trigonometric polynomial
    it is the exact circle average (2π J0 of the radius times each |k|); outside the box it is |S| f."""
    g = VelocityGrid(2, 16, 4.0)
    lor = asy.Lorentz(g, 1.0, 1.0 / (2 * math.pi))
    u = np.array([[0.3, -0.1], [0.0, 0.2]])
    k = math.pi / g.L
    f = np.stack([2.0 + np.cos(k * g.v[0]) + 0.5 * np.sin(2 * k * g.v[1]),
                  1.5 + np.cos(k * (g.v[0] + g.v[1]))])
    ref = lor.sphere_average(f, u)
    for chunk in (1, 7, 10 ** 6):
        monkeypatch.setattr(asy.Lorentz, "CHUNK", chunk)
        assert np.array_equal(lor.sphere_average(f, u), ref)
    r = np.sqrt(g.speed2(u))
    inside = r < g.L * (1 - 1e-9)
    a0 = 2 * math.pi * (2.0 + np.cos(k * u[0, 0]) * j0(k * r[0]) + 0.5 * np.sin(2 * k * u[0, 1]) * j0(2 * k * r[0]))
    a1 = 2 * math.pi * (1.5 + np.cos(k * (u[1, 0] + u[1, 1])) * j0(math.sqrt(2) * k * r[1]))
    exact = np.stack([a0, a1])
    assert np.abs(ref - exact)[inside].max() < 1e-12 * np.abs(exact).max()
    assert np.array_equal(ref[~inside], (SPHERE_AREA[2] * f)[~inside])
