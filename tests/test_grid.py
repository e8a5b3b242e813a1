"""meshes.Grid: coordinates, ranges, scatter/gather round trip, ghost exchange."""
import numpy as np
import pytest

from meshes import Grid


@pytest.mark.parametrize("shape, extent", [((9, 5), [(0, 2), (-1, 1)]), ((4, 5, 6), None)])
def test_coordinates_and_spacing(shape, extent):
    g = Grid(shape, extent)
    for d, n in enumerate(shape):
        x = g.coordinates(d)
        lo, hi = (extent or [(0, 1)] * len(shape))[d]
        assert x[0] == lo and x[-1] == hi and len(x) == n
        assert np.allclose(np.diff(x), g.h[d])
    assert g.size == np.prod(shape)


def test_scatter_gather_roundtrip_and_ghosts():
    g = Grid((7, 6, 5))
    a = np.random.default_rng(0).normal(size=g.shape)
    v = g.scatter(a)
    assert np.array_equal(g.gather(v), a)
    assert np.array_equal(g.local_array(v), a[g.local_slices()])
    gh = g.ghosted(v)
    sl = tuple(slice(s, e) for s, e in g.ghost_ranges)
    assert np.array_equal(gh, a[sl])


def test_vec_from_function_and_l2_norm():
    g = Grid((65, 65))
    v = g.vec_from_function(lambda x, y: np.sin(np.pi * x) * np.sin(np.pi * y))
    # discrete L2 norm of sin(πx)sin(πy) on [0,1]^2 is 1/2 (trapezoid rule exact for it)
    assert abs(g.l2_norm(v) - 0.5) < 1e-12


def test_bad_shapes():
    with pytest.raises(ValueError):
        Grid((5,))
    with pytest.raises(ValueError):
        Grid((5, 1))
    with pytest.raises(ValueError):
        Grid((5, 5), [(0, 1), (1, 1)])
