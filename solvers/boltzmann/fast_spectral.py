"""Fast Fourier-spectral collision operator (Gamba, Haack, Hauck, Hu, SISC 39 (2017) B658;
Mouhot & Pareschi, Math. Comp. 2006) for one species and for a pair of species of different mass.

Kernel ``B(|q|, σ) = b |q|^γ`` (VHS with isotropic scattering; γ = 0 Maxwell molecules, γ = 1 hard
spheres), truncated to ``|q| <= R``. For species ``i`` colliding with ``j`` (reduced-mass split,
``μ_i = m_i/(m_i+m_j)``, ``μ_j = m_j/(m_i+m_j)``, ``q = v - v_*``, ``q = ρ e``)::

    v' = v - μ_j ρ e + μ_j ρ σ,   v_*' = v - μ_j ρ e - μ_i ρ σ,

so the gain term is (GHHH eq. (3.7)-(3.10), generalised to μ_i ≠ μ_j)::

    Q⁺(v) = Σ_ρ w_ρ b ρ^{γ+d-1}  [F_d(π μ_j ρ |k| / L)  ·  FFT Σ_σ w_σ f_i(v + μ_j ρ σ) f_j(v - μ_i ρ σ)]ˇ

with ``F_3(x) = 4π sin x / x`` and ``F_2(x) = 2π J_0(x)`` (the integral over ``e`` of a plane wave),
and the loss term ``Q⁻ = f_i (Φ * f_j)``, ``Φ = b |S^{d-1}| |q|^γ 1_{|q|<=R}``, one convolution.
Single species: ``μ_i = μ_j = 1/2`` and the product is even in σ, so half the sphere suffices.
Cost ``O(N_ρ M N^d log N)``. Shifts ``f(v + a)`` are exact spectral translations.

Parallel: the radial points are split over the ranks of ``comm`` (blocks); each rank computes its
radial contributions in Fourier space, they are all-gathered in radial order and summed in that
order on every rank, so the result is bitwise the same on any number of ranks. ``comm`` defaults
to ``MPI.COMM_SELF`` (not split): the space-dependent solver decomposes x instead and keeps the
velocity operators serial per rank.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft
from mpi4py import MPI
from scipy.special import j0, j1

from .velocity import VelocityGrid

SPHERE_AREA = {2: 2.0 * math.pi, 3: 4.0 * math.pi}
CACHE_BYTES = 2 ** 19   # working set of the operators' inner blocks (the gain's shifted copies of a block of
#                         directions, the Lorentz multiplier's rows): half the 1 MiB L2 cache of one core of
#                         the benchmark machine (AMD EPYC), so that they are not streamed through the shared
#                         L3 and memory by every rank (docs/boltzmann.md, benchmark)


def sphere_average_multiplier(dim: int, x: np.ndarray) -> np.ndarray:
    """``F_d(x) = ∫_{S^{d-1}} exp(i x e_1·e) de``: ``2π J0(x)`` (2D), ``4π sin(x)/x`` (3D)."""
    if dim == 2:
        return 2.0 * math.pi * j0(x)
    return 4.0 * math.pi * np.sinc(x / math.pi)


def sphere_average_derivative(dim: int, x: np.ndarray) -> np.ndarray:
    """``F_d'(x)``: ``-2π J1(x)`` (2D), ``4π (x cos x - sin x) / x²`` (3D; ``-4π x/3`` near 0)."""
    if dim == 2:
        return -2.0 * math.pi * j1(x)
    xs = np.where(np.abs(x) < 1e-3, 1.0, x)
    return np.where(np.abs(x) < 1e-3, -4.0 * math.pi * x / 3.0, 4.0 * math.pi * (xs * np.cos(xs) - np.sin(xs)) / xs ** 2)


def radial_transform(dim: int, kabs: np.ndarray, L: float, R: float, power: float,
                     profile=sphere_average_multiplier, nq: int = 64) -> np.ndarray:
    """``∫_0^R ρ^power profile(d, π ρ |k| / L) dρ`` (Gauss-Legendre, ``nq`` nodes): with ``power = γ + d - 1``
    and ``F_d`` the Fourier transform of ``|q|^γ 1_{|q|<=R}`` at ``ξ = π k / L``; with ``F_d'`` and
    ``power = γ + d`` the ``H'(|ξ|)`` of the transform ``i ξ̂ H'(|ξ|)`` of ``q |q|^γ 1_{|q|<=R}``."""
    x, w = np.polynomial.legendre.leggauss(nq)
    out = np.zeros(np.shape(kabs))
    for r, wi in zip(0.5 * R * (x + 1.0), 0.5 * R * w):
        out += wi * r ** power * profile(dim, math.pi * r * kabs / L)
    return out


def sphere_quadrature(dim: int, n_dir: int, antipodal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Directions σ and weights on ``S^{d-1}`` (weights sum to its area).

    2D: ``n_dir`` equispaced angles (trapezoidal, spectral for periodic integrands).
    3D: Gauss-Legendre in ``cos θ`` (``n_dir`` nodes) x ``2 n_dir`` equispaced ``φ``.
    ``antipodal``: keep one of each pair ``±σ`` with doubled weight (exact for even integrands).
    """
    if n_dir < 2 or n_dir % 2:
        raise ValueError(f"number of directions must be an even integer >= 2, got {n_dir}")
    if dim == 2:
        phi = 2.0 * math.pi * np.arange(n_dir) / n_dir
        sig = np.stack([np.cos(phi), np.sin(phi)], axis=1)
        w = np.full(n_dir, 2.0 * math.pi / n_dir)
        keep = np.arange(n_dir) < n_dir // 2
    else:
        z, wz = np.polynomial.legendre.leggauss(n_dir)
        nphi = 2 * n_dir
        phi = 2.0 * math.pi * np.arange(nphi) / nphi
        Z, P = np.meshgrid(z, phi, indexing="ij")
        s = np.sqrt(1.0 - Z ** 2)
        sig = np.stack([s * np.cos(P), s * np.sin(P), Z], axis=-1).reshape(-1, 3)
        w = np.repeat(wz * 2.0 * math.pi / nphi, nphi)
        keep = sig[:, 2] > 0
    if antipodal:
        return sig[keep], 2.0 * w[keep]
    return sig, w


def zero_nyquist(fh: np.ndarray, dim: int, n: int) -> np.ndarray:
    """Drop the ``k = -N/2`` modes of the trailing ``dim`` axes (their translates are not
    Hermitian-representable); works on full and on rfft (last axis ``k >= 0``) layouts."""
    for ax in range(-dim, 0):
        idx = [slice(None)] * fh.ndim
        idx[ax] = n // 2
        fh[tuple(idx)] = 0.0
    return fh


class FastSpectral:
    """``Q_ij(f_i, f_j)`` on one grid shared by both arguments. Collective when called.

    ``mu = (μ_i, μ_j)``: mass fractions; ``(1/2, 1/2)`` with ``self_collision=True`` is ``Q(f, f)``.
    Batched: ``f`` of shape ``batch + grid.shape`` (e.g. the cells a rank owns); every FFT runs over
    the trailing velocity axes of the whole batch at once.
    """

    def __init__(self, grid: VelocityGrid, gamma: float = 0.0, b: float | None = None, R: float | None = None,
                 n_rho: int | None = None, n_dir: int | None = None, mu: tuple[float, float] = (0.5, 0.5),
                 self_collision: bool = True, conservative: bool = False, comm: MPI.Comm = MPI.COMM_SELF):
        self.grid, self.gamma = grid, float(gamma)
        d, n = grid.dim, grid.n
        self.b = 1.0 / SPHERE_AREA[d] if b is None else float(b)
        self.R = grid.R if R is None else float(R)
        self.n_rho = n_rho or n // 2
        self.mu_i, self.mu_j = mu
        self.self_collision = self_collision
        self.conservative = conservative and self_collision
        n_dir = n_dir or (n if d == 2 else 8)
        self.sigma, self.w_sigma = sphere_quadrature(d, n_dir, antipodal=self_collision)
        x, w = np.polynomial.legendre.leggauss(self.n_rho)
        self.rho, self.w_rho = 0.5 * self.R * (x + 1.0), 0.5 * self.R * w
        self.comm = comm
        size, rank = comm.size, comm.rank
        self.my_rho = np.array_split(np.arange(self.n_rho), size)[rank]
        self.counts = [len(c) for c in np.array_split(np.arange(self.n_rho), size)]
        # rfft layout: last axis holds k >= 0 only
        k1 = np.fft.fftfreq(n, 1.0 / n)
        kr = np.fft.rfftfreq(n, 1.0 / n)
        self.k1d = [k1] * (d - 1) + [kr]
        kk = np.meshgrid(*self.k1d, indexing="ij")
        self.kabs = np.sqrt(sum(ki ** 2 for ki in kk))
        self.rshape = self.kabs.shape
        self.loss_hat = self._loss_multiplier()
        # the gain's radial multipliers w_ρ b ρ^{γ+d-1} F_d(π μ_j ρ |k| / L) of this rank's radial points
        self.gain_mult = [self.w_rho[r] * self.b * self.rho[r] ** (self.gamma + d - 1)
                          * sphere_average_multiplier(d, math.pi * self.mu_j * self.rho[r] * self.kabs / grid.L)
                          for r in self.my_rho]

    @property
    def n_directions(self) -> int:
        return len(self.sigma)

    def _loss_multiplier(self) -> np.ndarray:
        """``Φ̂(k) = b |S| ∫_0^R ρ^{γ+d-1} F_d(π ρ |k| / L) dρ`` (Gauss-Legendre, many nodes)."""
        return self.b * SPHERE_AREA[self.grid.dim] * self.radial_multiplier(self.gamma + self.grid.dim - 1)

    def radial_multiplier(self, power: float, profile=sphere_average_multiplier) -> np.ndarray:
        """:func:`radial_transform` at this grid's wavenumbers (rfft layout)."""
        g = self.grid
        return radial_transform(g.dim, self.kabs, g.L, self.R, power, profile, max(64, 4 * g.n))

    @property
    def axes(self) -> tuple[int, ...]:
        return tuple(range(-self.grid.dim, 0))

    def _fft(self, f: np.ndarray) -> np.ndarray:
        return zero_nyquist(sfft.rfftn(f, axes=self.axes, workers=1), self.grid.dim, self.grid.n)

    def _ifft(self, fh: np.ndarray) -> np.ndarray:
        return sfft.irfftn(fh, s=self.grid.shape, axes=self.axes, workers=1)

    def _shifts(self, fh: np.ndarray, a: np.ndarray) -> np.ndarray:
        """``f(v + a_m)`` for each row ``a_m`` of ``a`` (``(m, d)``) from the transform ``fh`` (``batch +
        rshape``): exact translations of the trigonometric polynomial, shape ``(m,) + batch + grid``."""
        ph = None
        for ax, kd in enumerate(self.k1d):
            e = np.exp(1j * math.pi * kd * a[:, ax:ax + 1] / self.grid.L)
            shape = [1] * (a.shape[1] + 1)
            shape[0], shape[ax + 1] = e.shape
            e = e.reshape(shape)
            ph = e if ph is None else ph * e
        return self._ifft(fh[None] * ph.reshape(ph.shape[:1] + (1,) * (fh.ndim - self.grid.dim) + self.rshape))

    def direction_bytes(self) -> int:
        """Bytes one cell and one direction σ add to :meth:`gain`'s working set: the phased transforms of
        ``f_i`` and ``f_j``, their copies inside the inverse FFT and the two shifted distributions."""
        points, half = int(np.prod(self.grid.shape)), int(np.prod(self.rshape))
        return 2 * (2 * 16 * half + 8 * points)

    def direction_sum(self, fhi: np.ndarray, fhj: np.ndarray, rho: float) -> np.ndarray:
        """``Σ_σ w_σ f_i(v + μ_j ρ σ) f_j(v - μ_i ρ σ)`` (in the order of the directions), the directions
        in blocks whose shifted copies fit :data:`CACHE_BYTES` with the batch."""
        batch = fhi.shape[:fhi.ndim - self.grid.dim]
        m = int(np.clip(CACHE_BYTES // (self.direction_bytes() * max(1, math.prod(batch))), 1, len(self.sigma)))
        acc = np.zeros(batch + self.grid.shape)
        tmp = np.empty_like(acc)
        for a in range(0, len(self.sigma), m):
            s = self.sigma[a:a + m]
            si, sj = self._shifts(fhi, self.mu_j * rho * s), self._shifts(fhj, -self.mu_i * rho * s)
            for k, ws in enumerate(self.w_sigma[a:a + m]):
                np.multiply(si[k], ws, out=tmp)
                tmp *= sj[k]
                acc += tmp
        return acc

    def gain(self, fi: np.ndarray, fj: np.ndarray | None = None) -> np.ndarray:
        """Gain term ``Q⁺_ij`` (collective over ``comm``): the radial terms summed in radial order on
        every rank (one rank: as they come; split radial points: after the all-gather)."""
        fhi = self._fft(fi)
        fhj = fhi if fj is None else self._fft(fj)
        batch = fi.shape[:fi.ndim - self.grid.dim]
        total = np.zeros(batch + self.rshape, complex)
        part = np.empty((len(self.my_rho),) + batch + self.rshape, complex) if self.comm.size > 1 else None
        for slot, r in enumerate(self.my_rho):
            term = self.gain_mult[slot] * sfft.rfftn(self.direction_sum(fhi, fhj, self.rho[r]), axes=self.axes,
                                                    workers=1)
            if part is None:
                total += term
            else:
                part[slot] = term
        if part is not None:
            full = np.empty((self.n_rho,) + batch + self.rshape, complex)
            per = int(np.prod(batch + self.rshape))
            self.comm.Allgatherv(part, [full, [c * per for c in self.counts], None, _complex_type()])
            for r in range(self.n_rho):          # fixed radial order on every rank
                total += full[r]
        return self._ifft(total)

    def loss(self, fi: np.ndarray, fj: np.ndarray | None = None) -> np.ndarray:
        """Loss term ``Q⁻_ij = f_i (Φ * f_j)``."""
        fj = fi if fj is None else fj
        return fi * self._ifft(self.loss_hat * self._fft(fj))

    def collision_frequency(self, fj: np.ndarray) -> np.ndarray:
        """``ν(v) = (Φ * f_j)(v)``, the loss frequency (used to size penalisations)."""
        return self.convolutions(fj, [self.loss_hat])[0]

    def convolutions(self, f: np.ndarray, multipliers: list) -> list[np.ndarray]:
        """``Ψ * f`` for each Fourier multiplier ``Ψ̂`` (this grid's rfft layout); one forward transform."""
        fh = self._fft(f)
        return [self._ifft(m * fh) for m in multipliers]

    def __call__(self, fi: np.ndarray, fj: np.ndarray | None = None) -> np.ndarray:
        """``Q = Q⁺ - Q⁻`` (with ``conservative``: projected so mass, momentum, energy are exact)."""
        Q = self.gain(fi, fj) - self.loss(fi, fj)
        return conservative_projection(self.grid, Q) if self.conservative else Q


def _complex_type():
    return MPI.C_DOUBLE_COMPLEX


def conservative_projection(grid: VelocityGrid, Q: np.ndarray) -> np.ndarray:
    """Closest (L2) ``Q_c`` with ``∫ Q_c φ = 0`` for ``φ = 1, v, |v|^2``: ``Q - C^T (C C^T)^{-1} C Q``
    (the constrained correction of Gamba & Tharkabhushanam 2009 / Pareschi & Russo 2000). Batched."""
    C = np.stack([np.ones(grid.shape).ravel(), *[vi.ravel() for vi in grid.v], grid.speed2().ravel()])
    q = Q.reshape(-1, C.shape[1])
    lam = np.linalg.solve((C @ C.T)[None], batched_rows(C, q)[..., None])[..., 0]   # one solve per cell
    return (q - batched_combination(C, lam)).reshape(Q.shape)


def batched_rows(C: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(C q_b)_b`` for each batch row ``q_b`` (shape ``(B, P)`` -> ``(B, K)``), summed elementwise
    (not by BLAS, whose blocking depends on ``B``), so a cell's result does not depend on the batch."""
    return (q[:, None, :] * C[None]).sum(axis=-1)


def batched_combination(C: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """``(C^T λ_b)_b`` for each batch row ``λ_b`` (shape ``(B, K)`` -> ``(B, P)``), batch-independent."""
    out = np.zeros((lam.shape[0], C.shape[1]))
    for k in range(C.shape[0]):
        out += lam[:, k:k + 1] * C[k]
    return out


def direct_spectral(grid: VelocityGrid, f: np.ndarray, gamma: float = 0.0, b: float | None = None,
                    R: float | None = None, n_rho: int | None = None) -> np.ndarray:
    """Gain term ``Q⁺(f, f)`` by the classical spectral sum (Pareschi & Russo 2000), O(N_ρ N^{2d}):
    ``Q̂⁺_k = Σ_{l+m≡k} G(l, m) f̂_l f̂_m``, ``G = b Σ_ρ w_ρ ρ^{γ+d-1} F_d(πρ|k|/2L) F_d(πρ|l-m|/2L)``
    (the σ-integral done exactly). Same radial rule and the same periodic (mod N) index sum as
    :class:`FastSpectral`, so the two agree up to the direction quadrature. Reference/benchmark only."""
    d, n, L = grid.dim, grid.n, grid.L
    b = 1.0 / SPHERE_AREA[d] if b is None else b
    R = grid.R if R is None else R
    x, w = np.polynomial.legendre.leggauss(n_rho or n // 2)
    rho, wr = 0.5 * R * (x + 1.0), 0.5 * R * w
    fh = np.fft.fftn(f)
    for ax in range(d):
        idx = [slice(None)] * d
        idx[ax] = n // 2
        fh[tuple(idx)] = 0.0
    fh = fh.ravel() / f.size
    ind = np.stack(np.meshgrid(*([np.arange(n)] * d), indexing="ij"), -1).reshape(-1, d)
    freq = np.where(ind >= n // 2, ind - n, ind).astype(float)
    weight = wr * b * rho ** (gamma + d - 1)
    out = np.zeros(len(fh), complex)
    strides = n ** np.arange(d - 1, -1, -1)
    for kk in range(len(fh)):
        m = ((ind[kk] - ind) % n) @ strides
        lm = np.sqrt(((freq - freq[m]) ** 2).sum(1))
        kabs = math.sqrt((freq[kk] ** 2).sum())
        Fk = sphere_average_multiplier(d, math.pi * rho * kabs / (2 * L))
        G = (weight * Fk) @ sphere_average_multiplier(d, math.pi * np.outer(rho, lm) / (2 * L))
        out[kk] = (G * fh * fh[m]).sum()
    return np.real(np.fft.ifftn(out.reshape(grid.shape))) * f.size
