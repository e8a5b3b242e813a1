"""Full (direct) cross-collision operator ``Q_ij(f_i, f_j)`` between species on different grids.

Both distributions are moved exactly onto a *common* grid (box of the wider species, spacing of
the narrower one: ``N_c = r N`` points with ``r = L_wide / L_narrow``, which must be an integer):
the wider species by Fourier interpolation (zero-padding its spectrum), the narrower one by
zero-padding in physical space (its box nests in the common box, grid points coincide). The
fast spectral operator with the reduced-mass split (``μ_i = m_i/(m_i+m_j)``) acts there and the
result is projected back (Fourier truncation, or restriction to the nested box). The common grid
grows like ``sqrt(m_H/m_L)`` per dimension: this is the cost the AP scheme avoids.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI
import scipy.fft as sfft

from .fast_spectral import FastSpectral, zero_nyquist
from .velocity import VelocityGrid


def common_ratio(gi: VelocityGrid, gj: VelocityGrid) -> int:
    """Integer ``r = L_wide / L_narrow`` (raises ``ValueError`` if the boxes do not nest)."""
    if gi.n != gj.n or gi.dim != gj.dim:
        raise ValueError("the two species' grids must have the same dimension and N")
    ratio = max(gi.L, gj.L) / min(gi.L, gj.L)
    r = int(round(ratio))
    if abs(ratio - r) > 1e-9 * ratio:
        raise ValueError(f"full cross operator needs an integer box ratio L_wide/L_narrow "
                         f"(= sqrt of the mass ratio at equal reference temperature), got {ratio:.6g}")
    return r


class CrossCollision:
    """``Q_ij`` for species ``i`` (mass ``m_i``, grid ``g_i``) colliding with ``j``. Collective. Batched."""

    def __init__(self, gi: VelocityGrid, gj: VelocityGrid, mi: float, mj: float, gamma: float = 0.0,
                 b: float | None = None, n_rho: int | None = None, n_dir: int | None = None, comm: MPI.Comm = MPI.COMM_SELF):
        self.gi, self.gj, self.r = gi, gj, common_ratio(gi, gj)
        wide = gi if gi.L >= gj.L else gj
        self.gc = VelocityGrid(gi.dim, self.r * gi.n, wide.L)
        self.op = FastSpectral(self.gc, gamma=gamma, b=b, R=wide.R, n_rho=n_rho or gi.n // 2,
                               n_dir=n_dir, mu=(mi / (mi + mj), mj / (mi + mj)), self_collision=False,
                               comm=comm)

    def to_common(self, g: VelocityGrid, f: np.ndarray) -> np.ndarray:
        """``f`` (batched: ``batch + g.shape``) on the common grid."""
        if self.r == 1:
            return f
        batch = f.shape[:f.ndim - g.dim]
        ax = tuple(range(-g.dim, 0))
        if g.L < self.gc.L:                      # narrow: nested samples, zero outside
            out = np.zeros(batch + self.gc.shape)
            off = (self.r - 1) * g.n // 2
            out[(Ellipsis,) + tuple(slice(off, off + g.n) for _ in range(g.dim))] = f
            return out
        fh = sfft.fftn(f, axes=ax, workers=1)   # wide: trigonometric interpolation
        n, nc = g.n, self.gc.n
        out = np.zeros(batch + self.gc.shape, complex)
        idx = np.r_[0:n // 2, nc - n // 2:nc]
        src = np.r_[0:n // 2, n - n // 2:n]
        fh = zero_nyquist(fh, g.dim, n)
        out[(Ellipsis,) + np.ix_(*([idx] * g.dim))] = fh[(Ellipsis,) + np.ix_(*([src] * g.dim))]
        return np.real(sfft.ifftn(out, axes=ax, workers=1)) * self.r ** g.dim

    def from_common(self, g: VelocityGrid, Q: np.ndarray) -> np.ndarray:
        """The common-grid ``Q`` (batched) back on ``g`` (restriction or Fourier truncation)."""
        if self.r == 1:
            return Q
        ax = tuple(range(-g.dim, 0))
        if g.L < self.gc.L:
            off = (self.r - 1) * g.n // 2
            return Q[(Ellipsis,) + tuple(slice(off, off + g.n) for _ in range(g.dim))].copy()
        Qh = sfft.fftn(Q, axes=ax, workers=1)
        n, nc = g.n, self.gc.n
        idx = np.r_[0:n // 2, nc - n // 2:nc]
        out = zero_nyquist(Qh[(Ellipsis,) + np.ix_(*([idx] * g.dim))], g.dim, n)
        return np.real(sfft.ifftn(out, axes=ax, workers=1)) / self.r ** g.dim

    def collision_frequency(self, fj: np.ndarray) -> np.ndarray:
        """Loss frequency ``(Φ * f_j)`` of species ``i`` on its own grid."""
        return self.from_common(self.gi, self.op.collision_frequency(self.to_common(self.gj, fj)))

    def __call__(self, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
        """``Q_ij(f_i, f_j)`` on species ``i``'s grid."""
        ci, cj = self.to_common(self.gi, fi), self.to_common(self.gj, fj)
        return self.from_common(self.gi, self.op(ci, cj))

