"""Full (direct) cross-collision operator ``Q_ij(f_i, f_j)`` between species on different grids.

Both distributions are moved exactly onto a *common* grid (box of the wider species, spacing of
the narrower one: ``N_c = r N`` points with ``r = L_wide / L_narrow``, which must be an integer):
the wider species by Fourier interpolation (zero-padding its spectrum), the narrower one by
zero-padding in physical space (its box nests in the common box, grid points coincide). The
fast spectral operator with the reduced-mass split (``μ_i = m_i/(m_i+m_j)``) acts there, with
``max(N, N_c/2)`` radial points (the radial rule must resolve the narrow species' thermal width,
an O(ε) scale of the wide grid) and ``N`` directions (2D). The result is brought back by
*sampling*: the nodes of each species' grid are nodes of the common grid (every ``r``-th, or the
nested box). For hard spheres ``Q_LH`` has an O(ε)-wide cusp at ``v = u_H`` (``|q|^γ`` smoothed by
the heavy Maxwellian) that the light grid cannot represent: truncating its Fourier series (the
first version) put Gibbs errors of 0.4 % (L2) and 1 % (pointwise) on the light nodes at
``m_H/m_L = 16``, ``N = 24``; the common-grid values at those nodes are accurate.

Conservation: the sampled ``Q_ij`` is corrected (:func:`.moments.project_moments`, weighted by
``f_i``) to carry no mass and the momentum and energy of the weak form,
``P_i = -μ b|S| ∫ f_i (Ψ_1 * f_j)``, ``E_i = μ b|S| ∫ f_i [μ_j Ψ_2 * f_j - v·(Ψ_1 * f_j)]``
(``μ = m_i m_j/(m_i+m_j)``, ``Ψ_1 = q|q|^γ``, ``Ψ_2 = |q|^{γ+2}``, truncated at ``R``; spectral
convolutions on the common grid), evaluated in a form antisymmetric in ``(i, j)`` to the bit: the
mass of each species and, with the partner operator ``Q_ji``, the total momentum and energy are
conserved to rounding. The common grid grows like ``sqrt(m_H/m_L)`` per dimension: this is the
cost the AP scheme avoids.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI
import scipy.fft as sfft

from . import moments as mo
from .fast_spectral import SPHERE_AREA, FastSpectral, sphere_average_derivative, zero_nyquist
from .velocity import VelocityGrid


def common_ratio(gi: VelocityGrid, gj: VelocityGrid) -> int:
    """Integer ``r = L_wide / L_narrow`` (raises ``ValueError`` if the boxes do not nest: other ``N``,
    dimension or centre, or a ratio that is not an integer)."""
    if gi.n != gj.n or gi.dim != gj.dim:
        raise ValueError("the two species' grids must have the same dimension and N")
    if gi.center != gj.center:
        raise ValueError(f"full cross operator needs boxes with one centre (nested grids), got {gi.center} "
                         f"and {gj.center}")
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
        self.mi, self.mj = float(mi), float(mj)
        wide = gi if gi.L >= gj.L else gj
        self.gc = VelocityGrid(gi.dim, self.r * gi.n, wide.L, wide.center)
        self.op = FastSpectral(self.gc, gamma=gamma, b=b, R=wide.R, n_rho=n_rho or max(gi.n, self.gc.n // 2),
                               n_dir=n_dir or (gi.n if gi.dim == 2 else None),
                               mu=(mi / (mi + mj), mj / (mi + mj)), self_collision=False, comm=comm)
        d, scale = gi.dim, self.op.b * SPHERE_AREA[gi.dim]
        self.psi2_hat = scale * self.op.radial_multiplier(gamma + d + 1)
        dpsi = scale * self.op.radial_multiplier(gamma + d, sphere_average_derivative)
        kk = np.meshgrid(*self.op.k1d, indexing="ij")
        kabs = np.where(self.op.kabs > 0, self.op.kabs, 1.0)
        self.psi1_hat = [1j * kd / kabs * dpsi for kd in kk]

    def _index(self, g: VelocityGrid) -> tuple:
        """The common-grid nodes that are the nodes of ``g`` (every ``r``-th, or the nested box)."""
        if g.L < self.gc.L:
            off = (self.r - 1) * g.n // 2
            return (Ellipsis,) + tuple(slice(off, off + g.n) for _ in range(g.dim))
        return (Ellipsis,) + tuple(slice(None, None, self.r) for _ in range(g.dim))

    def to_common(self, g: VelocityGrid, f: np.ndarray) -> np.ndarray:
        """``f`` (batched: ``batch + g.shape``) on the common grid."""
        if self.r == 1:
            return f
        batch = f.shape[:f.ndim - g.dim]
        ax = tuple(range(-g.dim, 0))
        if g.L < self.gc.L:                      # narrow: nested samples, zero outside
            out = np.zeros(batch + self.gc.shape)
            out[self._index(g)] = f
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
        """The common-grid ``Q`` (batched) at the nodes of ``g`` (sampling; see the module docstring)."""
        return Q if self.r == 1 else Q[self._index(g)].copy()

    def collision_frequency(self, fj: np.ndarray) -> np.ndarray:
        """Loss frequency ``(Φ * f_j)`` of species ``i`` on its own grid."""
        return self.from_common(self.gi, self.op.collision_frequency(self.to_common(self.gj, fj)))

    def _weak_moments(self, fa: np.ndarray, fb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(∫ f_a Ψ_1 * f_b, ∫ f_a Ψ_2 * f_b, ∫ f_a v·(Ψ_1 * f_b))`` on the common grid (batched)."""
        gc = self.gc
        *conv1, conv2 = self.op.convolutions(fb, [*self.psi1_hat, self.psi2_hat])
        Y = np.stack([mo.integrate(gc, fa * c) for c in conv1], axis=-1)
        A = mo.integrate(gc, fa * conv2)
        B = mo.integrate(gc, fa * sum(vd * c for vd, c in zip(gc.v, conv1)))
        return Y, A, B

    def exchange(self, ci: np.ndarray, cj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Momentum and energy that species ``i`` gains (weak form, common-grid data ``ci, cj``), written
        antisymmetric in ``(i, j)`` so that ``Q_ji`` computes exactly their negatives:
        ``P_i = μ b|S| (Y_ji - Y_ij)/2``, ``E_i = μ b|S| [(μ_j - μ_i) A / 2 + (B_ji - B_ij)/2]`` with
        ``A = (A_ij + A_ji)/2`` (using ``Y_ji = -Y_ij``, ``B_ij + B_ji = A``)."""
        Yij, Aij, Bij = self._weak_moments(ci, cj)
        Yji, Aji, Bji = self._weak_moments(cj, ci)
        red = self.mi * self.mj / (self.mi + self.mj)
        mu_i, mu_j = self.op.mu_i, self.op.mu_j
        P = red * 0.5 * (Yji - Yij)
        E = red * ((mu_j - mu_i) * 0.5 * (0.5 * (Aij + Aji)) + 0.5 * (Bji - Bij))
        return P, E

    def __call__(self, fi: np.ndarray, fj: np.ndarray) -> np.ndarray:
        """``Q_ij(f_i, f_j)`` on species ``i``'s grid: no mass, the momentum and energy of :meth:`exchange`."""
        g = self.gi
        ci, cj = self.to_common(self.gi, fi), self.to_common(self.gj, fj)
        Q = self.from_common(g, self.op(ci, cj))
        P, E = self.exchange(ci, cj)
        targets = np.concatenate([np.zeros(P.shape[:-1] + (1,)), P / self.mi, (2.0 * E / self.mi)[..., None]],
                                 axis=-1) / g.vol
        return mo.project_moments(g, Q, [np.ones(g.shape), *g.v, g.speed2()], targets, weight=fi)
