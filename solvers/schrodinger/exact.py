"""Exact references: infinite-well levels, the finite-well transcendental equations, the harmonic
oscillator, and a stable closed-form solution for any piecewise-constant V in a box (validation.md).

Inside a region of constant V the solution of -c ψ'' + (V - E) ψ = 0 is a combination of
cos/sin (E > V), cosh/sinh or e^{∓κx} (E < V), or 1/x (E = V), so ψ(x; E) is known in closed form.
Levels: the eigenvalues are the roots of ψ(x_b; E) = 0 for the solution shot from x_a (brentq,
~1e-15), bracketed by the Sturm count (zeros of ψ(·; E) in (x_a, x_b) = eigenvalues below E).
States: shooting from one wall through a forbidden region multiplies any error by e^{κ w}
(e^54 on deep, wide wells), so ψ is instead taken as the null vector of the global matching system:
in each region ψ = a u₁ + b u₂ with two basis solutions bounded by ~1 on that region (decaying
exponentials from either edge when κ w is large), and the rows ψ(x_a) = 0, ψ(x_b) = 0 and
continuity of ψ, ψ' at every interface. The null vector (smallest right singular vector, SVD) has
no exponentially large entries, so |ψ| and its error stay at rounding level at any depth and width.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import eval_hermite, gammaln

from .potentials import Potential, SmoothBox


def infinite_well_levels(n: int, L: float = 1.0, c: float = 1.0) -> np.ndarray:
    """E_k = c (k π / L)², k = 1..n."""
    k = np.arange(1, n + 1)
    return c * (k * np.pi / L) ** 2


def infinite_well_states(x: np.ndarray, n: int, L: float = 1.0, x0: float = 0.0) -> np.ndarray:
    """ψ_k = √(2/L) sin(k π (x - x0) / L), k = 1..n; shape (n, len(x))."""
    k = np.arange(1, n + 1)[:, None]
    return np.sqrt(2.0 / L) * np.sin(k * np.pi * (np.asarray(x)[None, :] - x0) / L)


def harmonic_levels(n: int, omega: float) -> np.ndarray:
    """E_k = (k + 1/2) ω for -c ψ'' + ω² x²/(4c) ψ (ħ = 1, m = 1/(2c)), k = 0..n-1."""
    return (np.arange(n) + 0.5) * omega


def harmonic_states(x: np.ndarray, n: int, omega: float, c: float = 1.0) -> np.ndarray:
    """Hermite functions ψ_k = (ξ₀² / π)^{1/4} H_k(ξ₀ x) e^{-ξ₀² x²/2} / √(2^k k!), ξ₀ = √(ω / 2c)."""
    xi0 = math.sqrt(omega / (2 * c))
    xi = xi0 * np.asarray(x, float)
    out = []
    for k in range(n):
        log_norm = 0.5 * math.log(xi0) - 0.25 * math.log(math.pi) - 0.5 * (k * math.log(2) + gammaln(k + 1))
        out.append(eval_hermite(k, xi) * np.exp(log_norm - 0.5 * xi * xi))
    return np.stack(out) * first_lobe_signs(np.stack(out))[:, None]


def finite_well_levels(V0: float, a: float, c: float = 1.0, n: int | None = None) -> np.ndarray:
    """Bound states of the finite well on the whole line (V = 0 for |x| < a, V0 outside).

    z = k a, z0 = a √(V0/c): even states z tan z = √(z0² - z²), odd states -z cot z = √(z0² - z²),
    one root in each [mπ/2, (m+1)π/2) below z0; E = c z²/a². Solved in the pole-free forms
    z sin z - w cos z = 0 and z cos z + w sin z = 0 with brentq.
    """
    z0 = a * math.sqrt(V0 / c)
    roots = []
    m = 0
    while m * math.pi / 2 < z0 and (n is None or len(roots) < n):
        lo, hi = m * math.pi / 2, min((m + 1) * math.pi / 2, z0)
        if m % 2 == 0:
            f = lambda z: z * math.sin(z) - math.sqrt(max(z0 * z0 - z * z, 0.0)) * math.cos(z)  # noqa: E731
        else:
            f = lambda z: z * math.cos(z) + math.sqrt(max(z0 * z0 - z * z, 0.0)) * math.sin(z)  # noqa: E731
        if f(lo) * f(hi) < 0:
            roots.append(brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200))
        m += 1
    return c * (np.asarray(roots) / a) ** 2


def finite_well_states(x: np.ndarray, V0: float, a: float, c: float = 1.0, n: int | None = None) -> np.ndarray:
    """The finite well's bound states on the whole line in closed form (first lobe positive).

    Even: cos(kx) inside, cos(ka) e^{-κ(|x| - a)} outside; odd: sin(kx), sgn(x) sin(ka) e^{-κ(|x| - a)};
    ∫ψ² = a ± sin(2ka)/(2k) + (cos² or sin²)(ka)/κ, k = √(E/c), κ = √((V0 - E)/c).
    """
    x = np.asarray(x, float)
    out = []
    for m, E in enumerate(finite_well_levels(V0, a, c, n)):
        k, kappa = math.sqrt(E / c), math.sqrt((V0 - E) / c)
        inner, edge = (np.cos(k * x), math.cos(k * a)) if m % 2 == 0 else (np.sin(k * x), math.sin(k * a))
        outer = edge * np.exp(-kappa * (np.abs(x) - a)) * (np.sign(x) if m % 2 else 1.0)
        norm2 = a + (1 if m % 2 == 0 else -1) * math.sin(2 * k * a) / (2 * k) + edge * edge / kappa
        out.append(np.where(np.abs(x) <= a, inner, outer) / math.sqrt(norm2))
    psi = np.stack(out)
    return psi * first_lobe_signs(psi)[:, None]


def first_lobe_signs(psi: np.ndarray, rel: float = 1e-3) -> np.ndarray:
    """±1 per row so that ψ is positive at the first point where |ψ| exceeds rel·max|ψ|."""
    psi = np.atleast_2d(psi)
    out = []
    for p in psi:
        big = np.flatnonzero(np.abs(p) > rel * np.max(np.abs(p)))
        out.append(1.0 if p[big[0]] > 0 else -1.0)
    return np.array(out)


def _propagate(k2: float, w: float, psi: float, dpsi: float) -> tuple[float, float]:
    """(ψ, ψ') after a distance w of ψ'' = -k2 ψ, divided by e^{κw} when k2 = -κ² < 0 (no overflow)."""
    if k2 > 0:
        k = math.sqrt(k2)
        cs, sn = math.cos(k * w), math.sin(k * w)
        return psi * cs + dpsi * sn / k, -psi * k * sn + dpsi * cs
    if k2 < 0:
        q = math.sqrt(-k2)
        damp = math.exp(-2 * q * w)
        ch, sh = 0.5 * (1 + damp), 0.5 * (1 - damp)
        return psi * ch + dpsi * sh / q, psi * q * sh + dpsi * ch
    return psi + dpsi * w, dpsi


def _zeros_in(k2: float, w: float, psi: float, dpsi: float) -> int:
    """Zeros of ψ in (0, w] for a region starting with (ψ, ψ') (the start point is excluded)."""
    if k2 > 0:
        k = math.sqrt(k2)
        phase = math.atan2(psi * k, dpsi) % math.pi      # ψ ∝ sin(k s + phase), phase in [0, π)
        return int(math.floor((phase + k * w) / math.pi))
    end, _ = _propagate(k2, w, psi, dpsi)                 # at most one zero: a sign change
    start_negative = psi < 0 if psi != 0.0 else dpsi < 0
    return int(end == 0.0 or (end < 0) != start_negative)


def basis(k2: float, l: float, r: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two solutions of ψ'' = -k2 ψ on [l, r], bounded by cosh 1 there: values and slopes, (2, len(x)).

    s = x - (l + r)/2, h = (r - l)/2. k2 = k² ≥ 0: cos(ks) and sin(ks) (kh ≥ 1) or (s/h) sinc(ks/π);
    k2 = -κ² < 0: cosh(κs), sinh(κs)/(κh) (κh ≤ 1) or e^{-κ(x - l)}, e^{-κ(r - x)} (κh > 1).
    """
    x = np.asarray(x, float)
    h, s = 0.5 * (r - l), x - 0.5 * (l + r)
    if k2 >= 0:
        k = math.sqrt(k2)
        u1, d1 = np.cos(k * s), -k * np.sin(k * s)
        if k * h >= 1:
            u2, d2 = np.sin(k * s), k * np.cos(k * s)
        else:
            u2, d2 = (s / h) * np.sinc(k * s / math.pi), np.cos(k * s) / h
    else:
        q = math.sqrt(-k2)
        if q * h <= 1:
            u1, d1 = np.cosh(q * s), q * np.sinh(q * s)
            u2, d2 = np.sinh(q * s) / (q * h), np.cosh(q * s) / h
        else:
            u1, u2 = np.exp(-q * (x - l)), np.exp(-q * (r - x))
            d1, d2 = -q * u1, q * u2
    return np.stack([u1, u2]), np.stack([d1, d2])


class TransferMatrix:
    """Closed-form ψ(x; E) for a piecewise-constant ``Potential`` in a box (module docstring)."""

    def __init__(self, pot: Potential):
        self.pot = pot.merged()

    def shoot(self, E: float) -> tuple[float, int]:
        """ψ(x_b; E) (scaled by a positive factor) of the solution with ψ(x_a) = 0, ψ'(x_a) = 1, and the
        number of its zeros in (x_a, x_b)."""
        psi, dpsi, zeros = 0.0, 1.0, 0
        for (l, rr, v) in self.pot.regions:
            k2 = (E - v) / self.pot.c
            zeros += _zeros_in(k2, rr - l, psi, dpsi)
            psi, dpsi = _propagate(k2, rr - l, psi, dpsi)
            s = math.hypot(psi, dpsi)
            psi, dpsi = psi / s, dpsi / s
        if psi == 0.0:
            zeros -= 1                                     # the zero at the wall is not interior
        return psi, zeros

    def count_below(self, E: float) -> int:
        """Number of eigenvalues < E (Sturm oscillation theorem)."""
        return self.shoot(E)[1]

    def level(self, n: int) -> float:
        """E_n (n = 0 for the ground state): bisect on the Sturm count, then brentq on ψ(x_b; E)."""
        c, L = self.pot.c, self.pot.length
        lo = min(self.pot.values)
        hi = max(max(self.pot.values), lo) + c * ((n + 1) * math.pi / L) ** 2 + 1.0
        while self.count_below(hi) <= n:
            hi = lo + 2 * (hi - lo)
        while True:                                         # shrink until [lo, hi] holds E_n only
            cl, ch = self.count_below(lo), self.count_below(hi)
            if cl == n and ch == n + 1:
                break
            mid = 0.5 * (lo + hi)
            if self.count_below(mid) <= n:
                lo = mid
            else:
                hi = mid
        f = lambda E: self.shoot(E)[0]  # noqa: E731
        return brentq(f, lo, hi, xtol=1e-14 * max(1.0, abs(hi)), rtol=4 * np.finfo(float).eps, maxiter=500)

    def levels(self, n: int) -> np.ndarray:
        return np.array([self.level(k) for k in range(n)])

    def coefficients(self, E: float) -> np.ndarray:
        """(a_r, b_r) of ψ = a_r u₁ + b_r u₂ in every region r (``basis``): the null vector of the
        matching system (walls, continuity of ψ and ψ'), each row scaled to unit max; shape (R, 2)."""
        regions = self.pot.regions
        R = len(regions)
        M = np.zeros((2 * R, 2 * R))
        k2 = [(E - v) / self.pot.c for (_, _, v) in regions]
        M[0, 0:2] = basis(k2[0], regions[0][0], regions[0][1], np.array([regions[0][0]]))[0][:, 0]
        for j in range(R - 1):
            xj = np.array([regions[j][1]])
            uL, dL = basis(k2[j], regions[j][0], regions[j][1], xj)
            uR, dR = basis(k2[j + 1], regions[j + 1][0], regions[j + 1][1], xj)
            M[1 + 2 * j, 2 * j:2 * j + 4] = np.r_[uL[:, 0], -uR[:, 0]]
            M[2 + 2 * j, 2 * j:2 * j + 4] = np.r_[dL[:, 0], -dR[:, 0]]
        M[-1, -2:] = basis(k2[-1], regions[-1][0], regions[-1][1], np.array([regions[-1][1]]))[0][:, 0]
        M /= np.max(np.abs(M), axis=1, keepdims=True)
        return np.linalg.svd(M)[2][-1].reshape(R, 2)

    def _values(self, E: float, coef: np.ndarray, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        out = np.zeros_like(x)
        for (l, r, v), ab in zip(self.pot.regions, coef):
            mask = (x >= l) & (x <= r)
            if mask.any():
                out[mask] = ab @ basis((E - v) / self.pot.c, l, r, x[mask])[0]
        return out

    def quadrature(self, E: float) -> tuple[np.ndarray, np.ndarray]:
        """Composite 20-point Gauss-Legendre nodes and weights for ψ² at energy E, ordered in x: per
        region, panels no wider than 1/√|k2| (one oscillation or e-fold of ψ)."""
        gx, gw = np.polynomial.legendre.leggauss(20)
        xs, ws = [], []
        for (l, r, v) in self.pot.regions:
            panels = 1 + int(math.ceil(math.sqrt(abs(E - v) / self.pot.c) * (r - l)))
            edges = np.linspace(l, r, panels + 1)
            half = 0.5 * np.diff(edges)[:, None]
            xs.append((edges[:-1, None] + half * (gx + 1)).ravel())
            ws.append((half * gw).ravel())
        return np.concatenate(xs), np.concatenate(ws)

    def state(self, E: float, x: np.ndarray) -> np.ndarray:
        """ψ(x; E) with ∫ψ² = 1 (Gauss-Legendre per region), first lobe positive (``first_lobe_signs``)."""
        coef = self.coefficients(E)
        xq, wq = self.quadrature(E)
        psi_q = self._values(E, coef, xq)
        scale = first_lobe_signs(psi_q)[0] / math.sqrt(float(np.sum(wq * psi_q ** 2)))
        return scale * self._values(E, coef, x)


def legendre_galerkin(pot: SmoothBox, n: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """(E_k, y_k), k < n, of -c ψ'' + V ψ = E ψ in the box by Legendre–Galerkin (Shen 1994): ψ = Σ y_j φ_j,
    φ_j(t) = (P_j(t) - P_{j+2}(t))/√(4j + 6) (zero at t = ±1), x = x_m + h t; K = ∫(c φ'ᵢφ'ⱼ + V φᵢφⱼ),
    M = ∫φᵢφⱼ by Gauss-Legendre with N + 64 nodes (exact for polynomial V of degree ≤ 126); y M-orthonormal
    (∫ψ² = 1)."""
    from numpy.polynomial import legendre
    from scipy.linalg import eigh

    h = 0.5 * pot.length
    t, w = legendre.leggauss(N + 64)
    P = legendre.legvander(t, N + 1)
    dP = legendre.legvander(t, N) @ legendre.legder(np.eye(N + 2))      # column j: P_j'(t)
    scale = 1.0 / np.sqrt(4.0 * np.arange(N) + 6.0)                     # ∫φ'ᵢφ'ⱼ dt = δᵢⱼ
    phi, dphi = (P[:, :N] - P[:, 2:]) * scale, (dP[:, :N] - dP[:, 2:]) * (scale / h)
    wx = h * w
    V = pot(pot.center + h * t)
    K = dphi.T @ ((pot.c * wx)[:, None] * dphi) + phi.T @ ((V * wx)[:, None] * phi)
    M = phi.T @ (wx[:, None] * phi)
    return eigh(K, M, subset_by_index=[0, n - 1])


def smooth_box_states(pot: SmoothBox, n: int, x: np.ndarray | None = None, tol: float = 1e-11
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """(E_k, ψ_k(x)) for k < n in the box: ``legendre_galerkin`` with N = max(48, 2n + 16) × 1.5^k until the
    levels change by ≤ ``tol`` (relative), or stop changing less (the rounding floor, which grows
    with N: ~1e-10 at N = 300), ψ normalised with its first lobe positive."""
    from numpy.polynomial import legendre

    N, E_old, change_old = max(48, 2 * n + 16), None, np.inf
    while True:
        E, Y = legendre_galerkin(pot, n, N)
        change = np.max(np.abs(E / E_old - 1)) if E_old is not None else np.inf
        if change <= tol:
            break
        if change > change_old and change_old <= 1e-8:          # at the rounding floor: the previous N
            E, Y = legendre_galerkin(pot, n, N := N * 2 // 3)
            break
        if N > 2000:
            raise RuntimeError(f"Legendre-Galerkin levels not converged at N = {N}")
        E_old, change_old, N = E, change, N * 3 // 2
    if x is None:
        return E, None
    t = (np.asarray(x, float) - pot.center) / (0.5 * pot.length)
    P = legendre.legvander(t, N + 1)
    psi = (((P[:, :N] - P[:, 2:]) / np.sqrt(4.0 * np.arange(N) + 6.0)) @ Y).T
    return E, psi * first_lobe_signs(psi)[:, None]


def box_levels(pot: Potential | SmoothBox, n: int) -> np.ndarray:
    """The first n eigenvalues of -c ψ'' + V ψ = E ψ in the box, ψ = 0 at both walls."""
    if isinstance(pot, SmoothBox):
        return smooth_box_states(pot, n)[0]
    return TransferMatrix(pot).levels(n)


def box_states(pot: Potential | SmoothBox, n: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E_k, ψ_k(x)) for k < n, each ψ normalised with its first lobe positive."""
    if isinstance(pot, SmoothBox):
        return smooth_box_states(pot, n, x)
    tm = TransferMatrix(pot)
    E = tm.levels(n)
    return E, np.stack([tm.state(e, x) for e in E])
