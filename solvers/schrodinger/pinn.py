"""Physics-informed networks for the eigenpairs of -c ψ'' + V ψ = E ψ in a box (papers.md §5).

Trial function with hard Dirichlet BCs (Sarkar 2025; Jin et al. 2022): ψ(x) = g(x) h(x),
g(x) = (x - x_a)(x_b - x). ``networks = "per_region"`` gives h one network per region of constant V,
joined C¹ exactly: each region's network gets the affine term a + b (x - x_j) that matches the value
and slope of its neighbour at the shared edge x_j, so ψ and ψ' are continuous by construction and
ψ'' may jump as (V - E) ψ / c does. ``"single"`` uses one network for the whole box. For symmetric V
the parity ansatz h(x) ± h(-x) is used (mirror regions share a network).

Training of state n (sequential, states 0..n-1 already found):
1. Ritz phase (Adam): minimise R[ψ]/S + w_norm (∫ψ² - 1)² + w_orth Σ_k (∫ψ ψ_k)²/∫ψ², R the Rayleigh
   quotient ∫(c ψ'² + V ψ²)/∫ψ² (Gauss-Legendre quadrature per region). By Courant-Fischer the
   minimum over ψ ⟂ ψ_0..ψ_{n-1} is E_n: this phase finds *which* state, from the network alone.
2. PINN phase (Adam, Jin et al.): minimise ∫r²/(L S²) + w_norm (∫ψ² - 1)² + w_orth Σ_k (∫ψ ψ_k)²/∫ψ²,
   r = -c ψ'' + (V - E) ψ, the integral estimated at stratified random collocation points resampled
   every epoch; E is a trainable scalar (its own learning rate) initialised with the Ritz phase's
   Rayleigh quotient.
3. L-BFGS rounds on the PINN loss, the integral by Gauss-Legendre rules of a different order each
   round (exact integration makes the least-squares E a second-order estimate, not a Monte Carlo one).
4. Ritz polish (``polish_rounds`` rounds): the output layers are replaced by the Rayleigh–Ritz
   solution in the span of the network's features (ψ is linear in them; orthogonality to the earlier
   states by projection; undone if it takes a ψ with n nodes to another count), then ``ritz_polish``
   L-BFGS iterations on the Ritz loss of 1.; a last Rayleigh–Ritz solve ends the training
   (``rayleigh_ritz``).
The reported E is by default the Rayleigh quotient of the final ψ with high-order Gauss-Legendre
quadrature per panel (variational: error quadratic in ψ's error); the trained E is kept as
``E_trained``. In outer regions with V > min V, h carries a factor exp(-κ|x - x_j|) (κ trainable) and
the region's network reads u = 2 exp(-κ|x - x_j|) - 1, so it only learns a slowly varying correction
to the exponential tail, resolved where ψ lives (κ starts at 0.7 √((V - min V)/c), or with
``tail_kappa = "previous"`` at 0.7 √((V - E_{n-1})/c) from the trained energy of state n-1, closer to
state n's decay rate √((V - E_n)/c), which is below it: the asymmetric well's top state); such a tail
region is cut into panels growing geometrically from its inner edge for every quadrature and
collocation rule.
S = c (π/L)² + (max V - min V) scales energies. The number of interior nodes of the result is
reported (Sturm: state n has n) as a check that the intended state was found.
A smooth V (``SmoothBox``: the harmonic oscillator) is one region whose V is a function, evaluated at
the quadrature and collocation points (a tensor where a piecewise-constant region has a constant);
with ``tails = "auto"`` h then carries the Gaussian factor exp(-a (x - x0)²), a = σ(θ) ω/(4c) with θ
trainable (σ(θ) = 0.7 initially): never narrower than the WKB tail e^{-ω(x - x0)²/(4c)} of every state
(a free a went to 2.9 ω/(4c) on state 2, which left h growing like e^{x²} and E at 3.2e-3), so the
network learns a decaying, polynomial-like rest.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from .config import PINNConfig
from .exact import first_lobe_signs
from .potentials import Potential, SmoothBox

DTYPE = torch.float64


@dataclass
class StateResult:
    """One trained state: energy, ψ on the output grid, training history and cost."""

    n: int
    E: float
    x: np.ndarray
    psi: np.ndarray
    nodes: int                                     # sign changes of ψ inside the box
    seconds: float
    history: dict = field(default_factory=dict)    # per epoch / L-BFGS evaluation: "loss", "E" (R[ψ] in the
                                                   # Ritz phases, the trained E in the PINN phases), "phase"
    E_trained: float = float("nan")                # the trained scalar E of the PINN phases
    E_rayleigh: float = float("nan")               # Rayleigh quotient of the final ψ (high-order GL)
    residual: float = float("nan")                 # ε = ‖(H - ρ)ψ‖/‖ψ‖, ρ = E_rayleigh (bounds.py)
    cpu_seconds: float = float("nan")              # process CPU time (one torch thread: the core time)


class MLP(torch.nn.Module):
    def __init__(self, width: int, depth: int, activation: str, gen: torch.Generator):
        super().__init__()
        sizes = [1] + [width] * depth + [1]
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b, dtype=DTYPE) for a, b in zip(sizes[:-1], sizes[1:]))
        with torch.no_grad():
            for lin in self.layers:              # Xavier weights, U(-1, 1) hidden biases, task's generator
                bound = math.sqrt(6.0 / (lin.in_features + lin.out_features))
                lin.weight.copy_((torch.rand(lin.weight.shape, generator=gen, dtype=DTYPE) * 2 - 1) * bound)
                lin.bias.copy_(torch.rand(lin.bias.shape, generator=gen, dtype=DTYPE) * 2 - 1)
            self.layers[-1].bias.zero_()
        self.act = torch.tanh if activation == "tanh" else torch.sin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin in self.layers[:-1]:
            x = self.act(lin(x))
        return self.layers[-1](x)


class TrialFunction(torch.nn.Module):
    """ψ(x) = g(x) h(x) for state n of ``pot`` (module docstring)."""

    def __init__(self, pot: Potential | SmoothBox, n: int, cfg: PINNConfig, gen: torch.Generator,
                 E_below: float | None = None):
        super().__init__()
        self.pot, self.n = pot, n
        self.smooth = isinstance(pot, SmoothBox)
        self.parity = pot.symmetric if cfg.parity == "auto" else cfg.parity == "on"
        self.sign = -1.0 if n % 2 else 1.0                    # parity of ψ_n for symmetric V
        self.vregions = pot.merged().regions                  # (l, r, V): where the residual is sampled
        self.regions = ([(l, r) for (l, r, _) in self.vregions] if cfg.networks == "per_region"
                        else [(pot.lo, pot.hi)])              # one network per entry
        self.net_of = [i if cfg.networks == "per_region" else 0 for i in range(len(self.vregions))]
        self.owner: list[int] = []                            # network of each region (mirrors share)
        nets = []
        for (l, r) in self.regions:
            m = self._mirror_index(l, r)
            if self.parity and m is not None and m < len(self.owner):
                self.owner.append(self.owner[m])
            else:
                self.owner.append(len(nets))
                nets.append(MLP(cfg.width, cfg.depth, cfg.activation, gen))
        self.nets = torch.nn.ModuleList(nets)
        cx = pot.center                                       # h is matched outwards from this region
        self.anchor = next(i for i, (l, r) in enumerate(self.regions) if l <= cx < r)
        # Exponential tail factor exp(-κ |x - x_j|) in the outermost regions where V > min V (decaying
        # away from the inner edge x_j); κ trainable per network, initialised from the depth of the step
        self.tail: dict[int, int] = {}                        # region -> index into log_kappa
        kappa0 = [1.0] * len(nets)
        if self.smooth:                                       # V's range over the box (energy scale)
            v = pot(np.linspace(pot.lo, pot.hi, 1001))
            self.v_range = (float(v.min()), float(v.max()))
        else:
            vmin = min(v for (_, _, v) in self.vregions)
            self.v_range = (vmin, max(v for (_, _, v) in self.vregions))
        self.gauss_logit: torch.nn.Parameter | None = None
        if self.smooth and cfg.tails == "auto":               # Gaussian factor (module docstring)
            self.gauss_logit = torch.nn.Parameter(torch.tensor(math.log(0.7 / 0.3), dtype=DTYPE))
        elif cfg.networks == "per_region" and cfg.tails == "auto":
            for i, (l, r, v) in enumerate(self.vregions):
                if i != self.anchor and v > vmin and (i == 0 or i == len(self.vregions) - 1):
                    self.tail[i] = self.owner[i]
                    previous_ok = cfg.tail_kappa == "previous" and E_below is not None and E_below < v
                    floor = E_below if previous_ok else vmin
                    kappa0[self.owner[i]] = 0.7 * math.sqrt((v - floor) / pot.c)
        self.log_kappa = torch.nn.Parameter(torch.log(torch.tensor(kappa0, dtype=DTYPE)),
                                            requires_grad=bool(self.tail))
        # Quadrature/collocation panels (l, r, V, network region, tail?): one per V-region, but a tail
        # region is cut into panels growing by 4 from its inner edge, the first 1/κ_max long
        # (κ_max = √((V - min V)/c) bounds every bound state's decay rate), so that a box many decay
        # lengths wide still has its points where ψ lives
        self.panels: list[tuple[float, float, float, int, bool]] = []
        for i, (l, r, v) in enumerate(self.vregions):
            if i not in self.tail:
                self.panels.append((l, r, v, self.net_of[i], False))
                continue
            cuts, step = [0.0], math.sqrt(pot.c / (v - vmin))
            while cuts[-1] + step < r - l:
                cuts.append(cuts[-1] + step)
                step *= 4
            cuts.append(r - l)
            edges = [l + d for d in cuts] if i > self.anchor else [r - d for d in reversed(cuts)]
            self.panels += [(a, b, v, self.net_of[i], True) for a, b in zip(edges[:-1], edges[1:])]

    def points(self, m: int, half: bool = False, gen: torch.Generator | None = None) -> list:
        """(x, w, V, network region) per V-region, its panels' points concatenated (one network call
        per region): m Gauss-Legendre nodes per panel (max(8, m // 4) in a tail panel), or with
        ``gen`` stratified uniform random points with weights (r - l)/m; ``half``: only x ≥ centre
        (the parity ansatz's residual)."""
        groups: dict[tuple[float, int], tuple[list, list]] = {}
        for (l, r, v, k, tail) in self.panels:
            if half:
                l = max(l, self.pot.center)
            if r <= l:
                continue
            mp = max(8, m // 4) if tail else m
            if gen is None:
                gx, gw = np.polynomial.legendre.leggauss(mp)
                x = torch.tensor(l + 0.5 * (r - l) * (gx + 1), dtype=DTYPE)
                w = torch.tensor(0.5 * (r - l) * gw, dtype=DTYPE)
            else:
                u = (torch.arange(mp, dtype=DTYPE) + torch.rand(mp, generator=gen, dtype=DTYPE)) / mp
                x, w = l + (r - l) * u, torch.full((mp,), (r - l) / mp, dtype=DTYPE)
            xs, ws = groups.setdefault((v, k), ([], []))
            xs.append(x)
            ws.append(w)
        out = []
        for (v, k), (xs, ws) in groups.items():
            x = torch.cat(xs)
            out.append((x, torch.cat(ws), v(x) if callable(v) else v, k))    # a smooth V at its points
        return out

    def _mirror_index(self, l: float, r: float) -> int | None:
        cx, tol = self.pot.center, 1e-12 * self.pot.length
        for i, (a, b) in enumerate(self.regions):
            if abs((2 * cx - r) - a) < tol and abs((2 * cx - l) - b) < tol:
                return i
        return None

    def _input(self, x: torch.Tensor, region: int) -> torch.Tensor:
        """The network input in [-1, 1]: affine in x, or 2 e^{-κ|x - x_j|} - 1 in a tail region (x_j its
        inner edge, κ the tail's decay rate), which spreads the few decay lengths where ψ lives over
        the whole input range instead of a sliver of a region many decay lengths wide."""
        l, r = self.regions[region]
        if region not in self.tail:
            return ((2 * x - l - r) / (r - l)).unsqueeze(-1)
        xj = r if region < self.anchor else l
        kappa = torch.exp(self.log_kappa[self.tail[region]])
        return (2 * torch.exp(-kappa * torch.abs(x - xj)) - 1).unsqueeze(-1)

    def _raw(self, x: torch.Tensor, region: int) -> torch.Tensor:
        """The region's network (with the parity ansatz h(x) ± h(-x) about the centre)."""
        l, r = self.regions[region]
        net = self.nets[self.owner[region]]
        cx = self.pot.center
        if not self.parity:
            return net(self._input(x, region)).squeeze(-1)
        if l < cx < r:                                            # the region straddles the centre
            xi = ((x - cx) / (0.5 * (r - l))).unsqueeze(-1)
            return (net(xi) + self.sign * net(-xi)).squeeze(-1)
        first = self.owner.index(self.owner[region])
        if first == region:
            return net(self._input(x, region)).squeeze(-1)
        return self.sign * net(self._input(2 * cx - x, first)).squeeze(-1)   # mirror image in the owner

    def _h(self, x: torch.Tensor, region: int) -> torch.Tensor:
        """h in ``region``: its network plus a + b (x - x_j) matching the value and slope of h in the
        neighbouring region (towards the anchor region) at their shared edge x_j."""
        out = self._raw(x, region)
        if region == self.anchor:
            return out
        nb = region + 1 if region < self.anchor else region - 1
        xj = torch.tensor([self.regions[region][1] if region < self.anchor else self.regions[region][0]],
                          dtype=DTYPE, requires_grad=True)
        with torch.enable_grad():                             # also under no_grad (evaluation)
            h_nb = self._h(xj, nb)
            gap = h_nb - self._raw(xj, region)
            slope, = torch.autograd.grad(gap.sum(), xj, create_graph=True)
        if region not in self.tail:
            return out + gap + slope * (x - xj.detach())
        # h = f q with f = exp(-κ s (x - x_j)), s = ±1 pointing outwards: q(x_j) = h_nb, q' = h_nb' + κ s h_nb
        kappa = torch.exp(self.log_kappa[self.tail[region]])
        s = 1.0 if region > self.anchor else -1.0
        dx = x - xj.detach()
        return torch.exp(-kappa * s * dx) * (out + gap + (slope + kappa * s * h_nb) * dx)

    def forward(self, x: torch.Tensor, region: int) -> torch.Tensor:
        """ψ at points ``x`` lying in network region ``region``."""
        g = (x - self.pot.lo) * (self.pot.hi - x) / (0.25 * self.pot.length ** 2)
        if self.gauss_logit is not None:                 # e^{-a (x - x0)²}, 0 < a < ω/(4c)
            a = self.pot.gauss_rate * torch.sigmoid(self.gauss_logit)
            g = g * torch.exp(-a * (x - self.pot.line.center) ** 2)
        return g * self._h(x, region)


def _derivatives(model: TrialFunction, x: torch.Tensor, region: int, order: int = 2) -> tuple[torch.Tensor, ...]:
    """ψ, ψ' (and ψ'' for order 2) at ``x`` (autograd; differentiable in the parameters)."""
    x = x.detach().requires_grad_(True)
    psi = model(x, region)
    d1, = torch.autograd.grad(psi.sum(), x, create_graph=True)
    if order == 1:
        return psi, d1
    d2, = torch.autograd.grad(d1.sum(), x, create_graph=True)
    return psi, d1, d2


class EigenLoss:
    """The Ritz and PINN losses of the n-th state (module docstring)."""

    def __init__(self, model: TrialFunction, previous: list[torch.Tensor], cfg: PINNConfig):
        self.model, self.previous, self.cfg = model, previous, cfg
        pot = model.pot
        self.S = pot.c * (math.pi / pot.length) ** 2 + (model.v_range[1] - model.v_range[0])   # energy scale
        self.quad = model.points(cfg.quadrature)         # (x, w, V, network region) per V-region
        self.points: list[tuple[torch.Tensor, torch.Tensor, float, int]] = []

    def resample(self, gen: torch.Generator) -> None:
        """Fresh stratified-uniform collocation points (weights (r - l)/m) in every panel."""
        self.points = self.model.points(self.cfg.collocation, self.model.parity, gen)

    def gauss(self, m: int) -> None:
        """Gauss-Legendre collocation with m points per panel: Σ w r² is then ∫ r² to high order."""
        self.points = self.model.points(m, self.model.parity)

    def quadrature_values(self) -> tuple[torch.Tensor, torch.Tensor]:
        """ψ and the weights at the Gauss-Legendre nodes of all panels (concatenated)."""
        psi = torch.cat([self.model(x, k) for (x, _, _, k) in self.quad])
        return psi, torch.cat([w for (_, w, _, _) in self.quad])

    def rayleigh_quotient(self) -> tuple[torch.Tensor, torch.Tensor]:
        """R[ψ] = ∫(c ψ'² + V ψ²) / ∫ψ² and ψ at the quadrature nodes (one pass, differentiable)."""
        num = den = 0.0
        values = []
        for (x, w, v, k) in self.quad:
            psi, d1 = _derivatives(self.model, x, k, order=1)
            num = num + torch.sum(w * (self.model.pot.c * d1 ** 2 + v * psi ** 2))
            den = den + torch.sum(w * psi ** 2)
            values.append(psi)
        return num / den, torch.cat(values)

    def constraints(self, psi_q: torch.Tensor) -> torch.Tensor:
        """w_norm (∫ψ² - 1)² + w_orth Σ_k (∫ψ ψ_k)² / ∫ψ², ψ given at the quadrature nodes."""
        w = torch.cat([w for (_, w, _, _) in self.quad])
        norm2 = torch.sum(w * psi_q ** 2)
        out = self.cfg.w_norm * (norm2 - 1.0) ** 2
        for prev in self.previous:
            out = out + self.cfg.w_orth * torch.sum(w * psi_q * prev) ** 2 / norm2
        return out

    def ritz(self) -> torch.Tensor:
        """R[ψ]/S + constraints; keeps R[ψ] as ``last_quotient`` (training history)."""
        rq, psi_q = self.rayleigh_quotient()
        self.last_quotient = rq.item()
        return rq / self.S + self.constraints(psi_q)

    def pinn(self, E: torch.Tensor) -> torch.Tensor:
        c = self.model.pot.c
        total = length = 0.0
        for (x, w, v, k) in self.points:
            psi, _, d2 = _derivatives(self.model, x, k)
            total = total + torch.sum(w * (-c * d2 + (v - E) * psi) ** 2)
            length += float(w.sum())
        rq, psi_q = self.rayleigh_quotient()
        return total / (length * self.S ** 2) + self.constraints(psi_q) + self.cfg.w_ritz * rq / self.S


def rayleigh_residual(model: TrialFunction, m: int) -> tuple[float, float]:
    """ρ = R[ψ] = ∫(c ψ'² + V ψ²)/∫ψ² and ε = ‖-c ψ'' + (V - ρ) ψ‖/‖ψ‖ of the trained ψ, with m
    Gauss-Legendre points per panel (``TrialFunction.points``).

    ψ is C¹ with ψ(x_a) = ψ(x_b) = 0 and smooth inside each region, so this per-region rule is exact
    to rounding for m large; R is stationary at eigenfunctions (error quadratic in ψ's error), and
    (ρ, ε) give the a posteriori bounds of ``bounds.py``.
    """
    parts = []
    for (x, w, v, k) in model.points(m):
        psi, d1, d2 = (t.detach().numpy() for t in _derivatives(model, x, k))
        parts.append((w.numpy(), v.numpy() if torch.is_tensor(v) else v, psi, d1, d2))
    den = sum(float(np.sum(w * psi ** 2)) for (w, _, psi, _, _) in parts)
    rho = sum(float(np.sum(w * (model.pot.c * d1 ** 2 + v * psi ** 2))) for (w, v, psi, d1, _) in parts) / den
    res2 = sum(float(np.sum(w * (-model.pot.c * d2 + (v - rho) * psi) ** 2)) for (w, v, psi, _, d2) in parts)
    return rho, math.sqrt(res2 / den)


def _output_layers(model: TrialFunction) -> list[torch.nn.Parameter]:
    """Weights and biases of every network's output layer (ψ is linear in them)."""
    return [p for net in model.nets for p in (net.layers[-1].weight, net.layers[-1].bias)]


def output_features(model: TrialFunction, points: list[tuple[torch.Tensor, int]]) -> tuple[np.ndarray, np.ndarray]:
    """ψ and ψ' of every output-layer parameter's feature at ``points`` ((x, network region) per
    V-region, concatenated), shape (len(x), P). ψ is linear in the output layers' weights and
    biases θ (the C¹ joins, tail factors, parity ansatz and g are all linear in the networks'
    outputs), so ψ_θ = Φ θ exactly."""
    last = _output_layers(model)
    theta = parameters_to_vector(last).detach().clone()
    phi0, phi1 = [], []
    for unit in torch.eye(theta.numel(), dtype=DTYPE):
        with torch.no_grad():
            vector_to_parameters(unit, last)
        vals = [[t.detach().numpy() for t in _derivatives(model, x, r, order=1)] for (x, r) in points]
        phi0.append(np.concatenate([v[0] for v in vals]))
        phi1.append(np.concatenate([v[1] for v in vals]))
    with torch.no_grad():
        vector_to_parameters(theta, last)
    return np.array(phi0).T, np.array(phi1).T


def rayleigh_ritz(model: TrialFunction, m: int, previous: list[torch.Tensor], quad: list,
                  rcond: float = 1e-13) -> float:
    """Replace the output layers by the Rayleigh–Ritz solution in the span of the network's features
    (the hidden layers fixed): the lowest eigenpair of K θ = λ M θ, K = ∫(c Φ'ᵀΦ' + V ΦᵀΦ),
    M = ∫ΦᵀΦ (m Gauss-Legendre points per panel), restricted to θ with ∫ψ_θ ψ_k = 0 for every
    earlier state (orthogonality by projection, ``quad`` the nodes of ``previous``). By Courant–
    Fischer the lowest λ approximates E_n from above (for exact ψ_k) and minimises the Rayleigh
    quotient over the output layers, which gradient steps approach only slowly. The Ritz vector kept
    is the one with the largest overlap with the trained ψ (the lowest one when the training found
    state n), so that the solve refines the state the training chose and never swaps it for another
    one the features happen to represent better. Directions with M-eigenvalues below ``rcond`` of the
    largest (nearly dependent features) are dropped. Returns λ."""
    nodes = model.points(m)
    w = torch.cat([wk for (_, wk, _, _) in nodes]).numpy()
    V = np.concatenate([v.numpy() if torch.is_tensor(v) else np.full(len(x), v) for (x, _, v, _) in nodes])
    phi0, phi1 = output_features(model, [(x, k) for (x, _, _, k) in nodes])
    K = phi1.T @ ((model.pot.c * w)[:, None] * phi1) + phi0.T @ ((V * w)[:, None] * phi0)
    M = phi0.T @ (w[:, None] * phi0)
    if not (np.isfinite(K).all() and np.isfinite(M).all()):
        raise np.linalg.LinAlgError("the network's features are not finite")
    mu, U = np.linalg.eigh(M)
    T = U[:, mu > rcond * mu[-1]] / np.sqrt(mu[mu > rcond * mu[-1]])  # M-orthonormal basis of the span
    if previous:
        q0, _ = output_features(model, [(x, k) for (x, _, _, k) in quad])
        wq = torch.cat([wk for (_, wk, _, _) in quad]).numpy()
        C = np.stack([(wq * prev.numpy()) @ q0 for prev in previous]) @ T   # ⟨ψ_k, basis⟩
        _, sv, vt = np.linalg.svd(C)
        T = T @ vt[np.count_nonzero(sv > 1e-8):].T                  # the orthogonal complement
    lam, Y = np.linalg.eigh(T.T @ K @ T)
    theta = parameters_to_vector(_output_layers(model)).detach().numpy()
    j = int(np.argmax(np.abs(Y.T @ (T.T @ (M @ theta)))))     # the Ritz vector closest to the trained ψ
    with torch.no_grad():
        vector_to_parameters(torch.tensor(T @ Y[:, j], dtype=DTYPE), _output_layers(model))
    return float(lam[j])


def _adam(params: list, epochs: int, cfg: PINNConfig, step, bar) -> None:
    opt = torch.optim.Adam(params)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_decay ** (1.0 / max(epochs, 1)))
    for _ in range(epochs):
        opt.zero_grad()
        step().backward()
        opt.step()
        sched.step()
        if bar:
            bar.update()


def train_state(pot: Potential, n: int, cfg: PINNConfig, previous: list[torch.Tensor], x_out: np.ndarray,
                progress: bool = False, E_below: float | None = None) -> tuple[StateResult, torch.Tensor]:
    """Train the n-th state (n = 0: ground state): Ritz phase, PINN phase, L-BFGS rounds.

    ``previous`` holds the earlier states at the quadrature nodes (orthogonality penalty), ``E_below``
    the energy of state n-1 (the tails' initial κ with ``cfg.tail_kappa = "previous"``). Returns
    the result and this state's normalised quadrature values (for the next state). Deterministic for
    a given ``cfg.seed`` and torch thread count.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + n)
    model = TrialFunction(pot, n, cfg, gen, E_below)
    loss_fn = EigenLoss(model, previous, cfg)
    hist: dict[str, list] = {"loss": [], "E": [], "phase": []}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.ritz_epochs + cfg.adam_epochs + cfg.lbfgs_rounds, desc=f"{pot.name} state {n}",
                   leave=False)

    def ritz_step():
        loss = loss_fn.ritz()
        hist["loss"].append(loss.item())
        hist["E"].append(loss_fn.last_quotient)
        hist["phase"].append(0)
        return loss

    _adam([{"params": model.parameters(), "lr": cfg.lr_ritz}], cfg.ritz_epochs, cfg, ritz_step, bar)
    e = torch.nn.Parameter(loss_fn.rayleigh_quotient()[0].detach() / loss_fn.S)    # E / S

    def pinn_step(phase: int):
        loss = loss_fn.pinn(e * loss_fn.S)
        hist["loss"].append(loss.item())
        hist["E"].append(e.item() * loss_fn.S)
        hist["phase"].append(phase)
        return loss

    def adam_step():
        loss_fn.resample(gen)
        return pinn_step(1)

    _adam([{"params": model.parameters(), "lr": cfg.lr}, {"params": [e], "lr": cfg.lr_energy}],
          cfg.adam_epochs, cfg, adam_step, bar)
    params = list(model.parameters()) + [e]
    for k in range(cfg.lbfgs_rounds):
        loss_fn.gauss(cfg.collocation + 7 * k)
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=cfg.lbfgs_iters, history_size=50,
                                tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = pinn_step(2)
            loss.backward()
            return loss

        opt.step(closure)
        if bar:
            bar.update()
    def solve_output_layers():
        """The Rayleigh–Ritz solve, undone when it turns a ψ with n nodes into one without (the
        asymmetric well's top state: a training far from the state, R 11 % off, went to 7 nodes) or
        when it fails (features not finite, LAPACK not converged): the training goes on from the
        trained layers, and a state that stays wrong ends in the node or bound check (exit 3)."""
        if not cfg.rayleigh_ritz:
            return
        trained = parameters_to_vector(_output_layers(model)).detach().clone()
        had_n = count_nodes(evaluate(model, x_out)) == n
        try:
            rayleigh_ritz(model, cfg.energy_quadrature, previous, loss_fn.quad)
            failed = False
        except np.linalg.LinAlgError:
            failed = True
        if failed or had_n and count_nodes(evaluate(model, x_out)) != n:
            with torch.no_grad():
                vector_to_parameters(trained, _output_layers(model))

    for _ in range(cfg.polish_rounds if cfg.ritz_polish > 0 else 0):
        solve_output_layers()
        opt = torch.optim.LBFGS(list(model.parameters()), lr=1.0, max_iter=cfg.ritz_polish, history_size=50,
                                tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")

        def ritz_closure():
            opt.zero_grad()
            loss = loss_fn.ritz()
            hist["loss"].append(loss.item())
            hist["E"].append(loss_fn.last_quotient)
            hist["phase"].append(3)
            loss.backward()
            return loss

        opt.step(ritz_closure)
    solve_output_layers()
    if bar:
        bar.close()
    with torch.no_grad():
        psi_q, w = loss_fn.quadrature_values()
        norm = float(torch.sqrt(torch.sum(w * psi_q ** 2)))
        psi = evaluate(model, x_out) / norm
        sign = float(first_lobe_signs(psi)[0])
    psi *= sign
    hist_np = {k: np.asarray(v, float) for k, v in hist.items()}
    E_trained = e.item() * loss_fn.S
    E_rq, eps = rayleigh_residual(model, cfg.energy_quadrature)
    result = StateResult(n, E_rq if cfg.energy == "rayleigh" else E_trained, np.asarray(x_out, float), psi,
                         count_nodes(psi), time.perf_counter() - t0, hist_np, E_trained, E_rq, eps,
                         time.process_time() - c0)
    return result, (psi_q * (sign / norm)).detach()


def count_nodes(psi: np.ndarray, rel: float = 1e-2) -> int:
    """Sign changes of ψ on the grid, ignoring values below rel·max|ψ| (the walls and the far tails,
    where an absolute error of ~1e-3 max|ψ| flipped the sign of the asymmetric well's state 3 at
    |ψ| ≈ 1.1e-3 max|ψ| while its energy was right to 2.8e-6; a genuine node is still counted unless
    a whole lobe lies below rel·max|ψ|)."""
    s = np.sign(psi[np.abs(psi) > rel * np.max(np.abs(psi))])
    return int(np.sum(s[1:] != s[:-1]))


def evaluate(model: TrialFunction, x: np.ndarray) -> np.ndarray:
    """ψ at arbitrary points of the box (each point goes to the network of its region)."""
    x = np.asarray(x, float)
    out = np.zeros_like(x)
    with torch.no_grad():
        for i, (l, r, _) in enumerate(model.vregions):
            mask = (x >= l) & (x <= r)
            if mask.any():
                out[mask] = model(torch.tensor(x[mask], dtype=DTYPE), model.net_of[i]).numpy()
    return out


def solve(pot: Potential, n_states: int, cfg: PINNConfig, x_out: np.ndarray,
          progress: bool = False) -> list[StateResult]:
    """States 0..n_states-1 in turn, each kept orthogonal to the states already found (Jin et al.).
    Stops after the first state whose node count is not its index (Sturm: that is not state n; the
    states after it would be trained against a wrong one): the caller sees fewer states than asked."""
    previous: list[torch.Tensor] = []
    out = []
    for n in range(n_states):
        res, q = train_state(pot, n, cfg, previous, x_out, progress, out[-1].E if out else None)
        previous.append(q)
        out.append(res)
        if res.nodes != n:
            break
    return out
