"""Time integration of the two-species (light L, heavy H) space-homogeneous Boltzmann system.

Nondimensionalisation (stated once, used everywhere): masses in units of ``m_L`` (``m_L = 1``,
``m_H = 1/ε²``, ``ε = sqrt(m_L/m_H)``), temperature in units of a reference ``T0``, velocity in units
of the light thermal speed ``sqrt(T0/m_L)``, density in units of ``n0`` and time in units of the
light-light collision time ``1 / (n0 b sqrt(T0/m_L)^γ)``. With one kernel ``B = b |q|^γ`` for all
pairs and hard spheres (γ = 1), L-L and L-H scattering act on O(1) times, H-H relaxation on
O(1/ε) and temperature equalisation on O(1/ε²) (papers.md §1); for Maxwell molecules (γ = 0)
only the equalisation is slow.

Schemes:

- ``explicit``: classical RK4 on ``Q_LL + Q_LH``, ``Q_HH + Q_HL`` with the full spectral cross
  operators (:mod:`.mixture`), stable only for ``dt`` of the fastest (O(1)) scale.
- ``explicit_asymptotic``: RK4 with the asymptotic cross operators (:mod:`.asymptotic`).
- ``ap``, ``ap2``: IMEX penalisation (Filbet & Jin, JCP 229 (2010) 7625) of the asymptotic system,
  split per species as ``∂_t f = [S + D^⊥ - β (M - f)] + [β (M - f) + X]``: ``S`` the stiff part
  (``Q_LL + Lor^⊥`` | ``Q_HH``, ``Lor^⊥`` without the momentum it gives the heavy), ``D^⊥`` the slow operators
  without their momentum and energy, ``X`` the exchange of momentum (the friction on the slip ``u_H - u_L``)
  and energy between the species, ``M`` each species' own Maxwellian and ``β`` a bound of the spectral
  radius of ``S + D``. The first bracket is explicit, the second implicit and solved exactly
  (:meth:`Mixture.implicit_stage`, linearly implicit in the heavy friction). ``ap`` is IMEX Euler (first
  order), ``ap2`` ARS(2,2,2) (second order, measured for ``T_L - T_H`` and the slip). Stable for every ``dt``
  at every ε (the exchange contracts the slip and ``T_L - T_H`` for every ``dt``; before issue #13 it was
  explicit and ``λ_T dt > 2`` blew up; until its seventh session the penalisation moved the light towards
  ``u_H`` and pinned a heavy trace's velocity); the mixture momentum and energy of every step are exact; as
  ``dt β → ∞`` the stages project on the limiting (epochal) dynamics.
- ``full_ap``, ``full_ap2``: the same integrators with the full cross operators, penalised towards the
  mixture equilibrium (nested boxes: integer ``sqrt(m_H/m_L)``).

All methods are batched over leading axes (e.g. the cells of a rank): see :mod:`.moments`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from . import asymptotic as asy
from . import moments as mo
from .fast_spectral import SPHERE_AREA, FastSpectral
from .mixture import CrossCollision
from .velocity import VelocityGrid

SCHEMES = ("ap", "ap2", "full_ap", "full_ap2", "explicit", "explicit_asymptotic")
ARS_GAMMA = 1.0 - 1.0 / math.sqrt(2.0)
CELL_ARRAYS = 26           # real N^d arrays per cell alive at the peak of one ap2 step (both species; tracemalloc)
BLOCK_BYTES = 2 ** 23      # working set of one block of cells of the batched collision step: a quarter of the
#                            32 MiB L3 of the benchmark machine (AMD EPYC, shared by its cores); smaller blocks
#                            cost more in per-call overhead than they save (docs/boltzmann.md, benchmark)


@dataclass
class MixtureParams:
    dim: int = 2
    n: int = 24                 # points per dimension, each species
    Lhat: float = 6.0           # box half-width in thermal units: L_i = Lhat sqrt(T_ref,i/m_i)
    mass_ratio: float = 1000.0  # m_H / m_L (m_L = 1)
    gamma: float = 1.0          # B = b |q|^γ
    b: float | None = None      # default 1/|S^{d-1}| (so b0 - b1 = 1)
    n_rho: int | None = None
    n_dir: int | None = None

    @property
    def eps(self) -> float:
        return 1.0 / math.sqrt(self.mass_ratio)


class Mixture:
    """Grids and operators of a light/heavy mixture. Collective calls (the spectral operators)."""

    def __init__(self, p: MixtureParams, comm: MPI.Comm = MPI.COMM_SELF, full_cross: bool = False,
                 T_ref: tuple[float, float] = (1.0, 1.0), centers: tuple[float, float] = (0.0, 0.0)):
        """``T_ref = (T_L, T_H)``: temperatures that scale each species' box (``L_i = Lhat sqrt(T_i/m_i)``);
        the full cross operator needs nested boxes, so with ``full_cross`` both use the larger one (and one
        centre). ``centers = (c_L, c_H)``: the ``v_1`` at which each box is centred (a flow's velocity)."""
        self.p, self.comm = p, comm
        self.m_L, self.m_H = 1.0, float(p.mass_ratio)
        self.mu = self.m_L / self.m_H
        self.b = 1.0 / SPHERE_AREA[p.dim] if p.b is None else p.b
        if full_cross:
            T_ref = (max(T_ref),) * 2
        self.gL = VelocityGrid.for_species(p.dim, p.n, self.m_L, T_ref[0], p.Lhat, centers[0])
        self.gH = VelocityGrid.for_species(p.dim, p.n, self.m_H, T_ref[1], p.Lhat, centers[1])
        kw = dict(gamma=p.gamma, b=self.b, n_rho=p.n_rho, n_dir=p.n_dir, conservative=True, comm=comm)
        self.QLL = FastSpectral(self.gL, **kw)
        self.QHH = FastSpectral(self.gH, **kw)
        self.lorentz = asy.Lorentz(self.gL, p.gamma, self.b)
        self.QLH = self.QHL = None
        if full_cross:
            kwc = dict(gamma=p.gamma, b=self.b, n_rho=p.n_rho, n_dir=p.n_dir, comm=comm)
            self.QLH = CrossCollision(self.gL, self.gH, self.m_L, self.m_H, **kwc)
            self.QHL = CrossCollision(self.gH, self.gL, self.m_H, self.m_L, **kwc)

    def cells_per_block(self) -> int:
        """Cells a block of the batched collision step holds: :data:`CELL_ARRAYS` arrays of the largest
        velocity grid (the common grid with full cross operators) per cell within :data:`BLOCK_BYTES`, at least 1."""
        ops = [self.QLL, self.QHH] + ([self.QLH.op, self.QHL.op] if self.QLH is not None else [])
        return max(1, BLOCK_BYTES // (CELL_ARRAYS * 8 * max(int(np.prod(q.grid.shape)) for q in ops)))

    # -- moments -------------------------------------------------------------------------------
    def state(self, fL: np.ndarray, fH: np.ndarray) -> dict:
        """Moments of both species and the mixture invariants."""
        sL = mo.species_moments(self.gL, fL, self.m_L)
        sH = mo.species_moments(self.gH, fH, self.m_H)
        return {
            "n_L": sL["n"], "u_L": sL["u"], "T_L": sL["T"], "H_L": sL["H"], "dist_L": sL["dist_M"],
            "n_H": sH["n"], "u_H": sH["u"], "T_H": sH["T"], "H_H": sH["H"], "dist_H": sH["dist_M"],
            "momentum": self.m_L * sL["n"] * sL["u"] + self.m_H * sH["n"] * sH["u"],
            "energy": mo.energy(self.gL, fL, self.m_L) + mo.energy(self.gH, fH, self.m_H),
        }

    # -- right-hand sides ----------------------------------------------------------------------
    def rhs_full(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(Q_LL + Q_LH, Q_HH + Q_HL)`` with the full spectral cross operators (one cell)."""
        if self.QLH is None:
            raise RuntimeError("Mixture built without full cross operators")
        return self.QLL(fL) + self.QLH(fL, fH), self.QHH(fH) + self.QHL(fH, fL)

    def asymptotic_parts(self, fL: np.ndarray, fH: np.ndarray, exchange: bool = True, equilibria=None) -> dict:
        """Stiff parts ``S``, slow parts ``D`` of the asymptotic system, penalisation rates ``β`` and the
        heavy friction ``ν_H`` (all per cell). ``exchange=False``: ``D`` and the Lorentz part of ``S_L`` projected
        to carry no mass, momentum or energy (``D^⊥``, ``Lor^⊥``; the exchange of momentum and energy is then done
        implicitly by :meth:`implicit_stage`, as a change of the equilibria ``(M_L, M_H)``). The moment correction is
        weighted by ``f`` (``exchange=True``) or by ``equilibria`` (``exchange=False``): what ``D^⊥`` removes
        is then the span of ``M (1, v, |v|²)`` — the derivative of ``M`` in its moments — exactly what the
        implicit stage adds back, so the split injects no non-equilibrium when ``f`` is not Maxwellian."""
        p, gL, gH = self.p, self.gL, self.gH
        nL, uL = mo.density(gL, fL), mo.velocity(gL, fL)
        TL = mo.temperature(gL, fL, self.m_L, uL)
        nH, uH = mo.density(gH, fH), mo.velocity(gH, fH)
        TH = mo.temperature(gH, fH, self.m_H, uH)
        lor = self.lorentz(fL, nH, uH)
        if not exchange:   # Lor^⊥: the momentum Lor moves to the heavy (and its energy) is the implicit stage's
            lor = mo.project_moments(gL, lor, [np.ones(gL.shape), *gL.v, gL.speed2()], weight=equilibria[0])
        SL = self.QLL(fL) + lor
        DL = asy.energy_exchange(gL, fL, self.mu, self.m_L, nH, TH, uH, p.gamma, self.b)
        nu_H = asy.heavy_friction(gL, fL, self.mu, self.m_L, TL, uL, p.gamma, self.b)
        SH = self.QHH(fH)
        DH = asy.heavy_fokker_planck(gH, fH, nu_H, self.m_H, TL, uL)
        if exchange:
            # exact moments of F (no derivatives): momentum -ν_H m_H n_H (u_H - u_L), energy
            # -ν_H [m_H ∫ v·(v - u_L) f_H - d T_L n_H]; what the heavy gains the light loses.
            P_H = -np.asarray(nu_H * self.m_H * nH)[..., None] * (uH - uL)
            E_H = -nu_H * (self.m_H * sum(mo.integrate(gH, vd * (vd - gH.expand(uL[..., i])) * fH)
                                          for i, vd in enumerate(gH.v)) - p.dim * TL * nH)
        else:
            P_H, E_H = np.zeros_like(uH), np.zeros_like(nH)
        tH = np.concatenate([np.zeros_like(nH)[..., None], P_H / gH.vol, (E_H / gH.vol)[..., None]], axis=-1)
        DH = asy.project_moments(gH, DH, [np.ones(gH.shape), *[self.m_H * vd for vd in gH.v],
                                          0.5 * self.m_H * gH.speed2()], tH,
                                 weight=fH if equilibria is None else equilibria[1])
        # light: energy -E_H; with exchange=False also no momentum (the implicit stage moves it)
        mom = [] if exchange else [self.m_L * vd for vd in gL.v]
        tL = np.concatenate([np.zeros_like(nL)[..., None], np.zeros(nL.shape + (len(mom),)),
                             (-E_H / gL.vol)[..., None]], axis=-1)
        DL = asy.project_moments(gL, DL, [np.ones(gL.shape), *mom, 0.5 * self.m_L * gL.speed2()], tL,
                                 weight=fL if equilibria is None else equilibria[0])
        beta_L = (self.QLL.collision_frequency(fL).max(axis=mo.vaxes(gL))
                  + self.lorentz.frequency(nH, uH).max(axis=mo.vaxes(gL))
                  + asy.energy_exchange_bound(gL, self.mu, self.m_L, nH, TH, p.gamma, self.b))
        beta_H = (self.QHH.collision_frequency(fH).max(axis=mo.vaxes(gH))
                  + asy.heavy_fokker_planck_bound(gH, nu_H, self.m_H, TL))
        return {"SL": SL, "DL": DL, "SH": SH, "DH": DH, "beta_L": beta_L, "beta_H": beta_H, "u_H": uH,
                "nu_H": nu_H}

    def rhs_asymptotic(self, fL: np.ndarray, fH: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.asymptotic_parts(fL, fH)
        return a["SL"] + a["DL"], a["SH"] + a["DH"]

    # -- AP steps --------------------------------------------------------------------------------
    def explicit_part(self, fL: np.ndarray, fH: np.ndarray, beta: tuple | None = None) -> dict:
        """``K = S + D^⊥ - β (M - f)`` per species (the explicit part of the penalised splitting),
        with ``β`` (fixed over a step: pass the first stage's) and ``ν_H`` of this stage."""
        MH = mo.maxwellian_of(self.gH, fH, self.m_H)
        ML = mo.maxwellian_of(self.gL, fL, self.m_L)
        a = self.asymptotic_parts(fL, fH, exchange=False, equilibria=(ML, MH))
        bL, bH = (a["beta_L"], a["beta_H"]) if beta is None else beta
        return {"KL": a["SL"] + a["DL"] - self.gL.expand(bL) * (ML - fL),
                "KH": a["SH"] + a["DH"] - self.gH.expand(bH) * (MH - fH),
                "beta": (bL, bH), "nu_H": a["nu_H"]}

    def invariants(self, fL: np.ndarray, fH: np.ndarray) -> tuple:
        """Densities ``n_L, n_H``, total momentum ``Σ_i m_i ∫ v f_i`` (``batch + (d,)``) and energy
        ``Σ_i (m_i/2) ∫ |v|² f_i``: what a collision step keeps."""
        nL, nH = mo.density(self.gL, fL), mo.density(self.gH, fH)
        P = self.m_L * nL[..., None] * mo.velocity(self.gL, fL) + self.m_H * nH[..., None] * mo.velocity(self.gH, fH)
        return nL, nH, P, mo.energy(self.gL, fL, self.m_L) + mo.energy(self.gH, fH, self.m_H)

    def implicit_stage(self, GL: np.ndarray, GH: np.ndarray, h: float, k: dict, nL, nH, P, E) -> tuple:
        """Solve ``F = G + h [β (M(F) - F) + X(F)]`` exactly, ``X`` the slow exchange of momentum and energy
        between the species, the heavy friction ``ν_H`` frozen (linearly implicit); ``n_L, n_H, P, E``: the
        densities and the mixture's momentum and energy at the start of the step, which the stage keeps exactly:

            F_i = M_i[m_i^F] + (G_i - M_i[m_i^G]) / (1 + h β_i),
            s^F = s^G / (1 + h ν_H (1 + ρ_H/ρ_L)),  s = u_H - u_L,  u_H^F, u_L^F from s^F and P,
            Δ^F = (Δ^G + 2 W / (d n_L)) / (1 + κ (1 + n_H/n_L)),  κ = 2 h ν_H,  Δ = T_L - T_H,  T_H^F = T_H^G + κ Δ^F,
            T_L^F from the total energy E,

        ``W = ρ_L ρ_H (|s^G|² - |s^F|²) / (2ρ)`` the kinetic energy the friction turns into heat of the light
        (the Lorentz operator keeps the light's energy about ``u_H``; the heavy's Fokker-Planck operator
        ``F`` heats it only through ``T_L - T_H``), ``M_i[m]`` the Maxwellian with moments ``m`` (each species
        about its own mean velocity). Backward Euler of ``ds/dt = -ν_H (1 + ρ_H/ρ_L) s`` (the heavy's friction
        ``-ν_H s`` and the momentum ``Lor`` gives the light, ``ρ_H ν_H s / ρ_L``) and of the temperature exchange:
        unconditionally stable, ``s`` and ``Δ`` contract for every ``h``."""
        gL, gH, d, mL, mH = self.gL, self.gH, self.p.dim, self.m_L, self.m_H
        (bL, bH), nu_H = k["beta"], k["nu_H"]
        nLG, nHG = mo.density(gL, GL), mo.density(gH, GH)      # = n_L, n_H up to rounding
        uLG, uHG = mo.velocity(gL, GL), mo.velocity(gH, GH)
        rhoL, rhoH = mL * nL, mH * nH
        sG = uHG - uLG
        sF = sG / (1 + h * nu_H * (1 + rhoH / rhoL))[..., None]
        uHF = (P + rhoL[..., None] * sF) / (rhoL + rhoH)[..., None]
        uLF = uHF - sF
        heat = 0.5 * rhoL * rhoH / (rhoL + rhoH) * ((sG ** 2).sum(-1) - (sF ** 2).sum(-1))
        THG = mo.temperature(gH, GH, mH, uHG)
        TLG = mo.temperature(gL, GL, mL, uLG)
        kap = 2 * h * nu_H
        THF = THG + kap * (TLG - THG + 2 * heat / (d * nL)) / (1 + kap * (1 + nH / nL))
        kin = lambda m, n, u: 0.5 * m * n * (u ** 2).sum(-1)              # noqa: E731
        rH = mo.energy(gH, GH, mH) - 0.5 * d * nHG * THG - kin(mH, nHG, uHG)
        rL = mo.energy(gL, GL, mL) - 0.5 * d * nLG * TLG - kin(mL, nLG, uLG)
        EH = 0.5 * d * nH * THF + kin(mH, nH, uHF) + rH / (1 + h * bH)
        TLF = (E - EH - kin(mL, nL, uLF) - rL / (1 + h * bL)) * 2 / (d * nL)
        FH = (mo.discrete_maxwellian(gH, nH, uHF, THF, mH)
              + (GH - mo.discrete_maxwellian(gH, nHG, uHG, THG, mH)) / gH.expand(1 + h * bH))
        FL = (mo.discrete_maxwellian(gL, nL, uLF, TLF, mL)
              + (GL - mo.discrete_maxwellian(gL, nLG, uLG, TLG, mL)) / gL.expand(1 + h * bL))
        return FL, FH

    # -- the full cross operators, penalised towards the mixture equilibrium (any mass ratio) ----------
    def mixture_equilibrium(self, nL, nH, P, E) -> tuple[np.ndarray, np.ndarray]:
        """Maxwellians of both species at the common velocity ``u = P/ρ`` and temperature
        ``T = 2 (E - ρ|u|²/2) / (d (n_L + n_H))`` (the null space of the full mixture operator)."""
        rho = self.m_L * nL + self.m_H * nH
        u = P / rho[..., None]
        T = 2 * (E - 0.5 * rho * (u ** 2).sum(-1)) / (self.p.dim * (nL + nH))
        return (mo.discrete_maxwellian(self.gL, nL, u, T, self.m_L),
                mo.discrete_maxwellian(self.gH, nH, u, T, self.m_H))

    def full_explicit(self, fL: np.ndarray, fH: np.ndarray, beta: tuple | None = None) -> dict:
        """``K_i = Σ_j Q_ij - β_i (M_i - f_i)`` with the full cross operators, ``M`` the mixture
        equilibrium of ``f`` and ``β`` the largest loss frequency of both species (Filbet & Jin 2010); one ``β``
        for both, so that the penalisation moves no momentum or energy between the species."""
        if self.QLH is None:
            raise RuntimeError("Mixture built without full cross operators")
        QL, QH = self.QLL(fL) + self.QLH(fL, fH), self.QHH(fH) + self.QHL(fH, fL)
        if beta is None:
            b = np.maximum((self.QLL.collision_frequency(fL) + self.QLH.collision_frequency(fH)).max(axis=mo.vaxes(self.gL)),
                           (self.QHH.collision_frequency(fH) + self.QHL.collision_frequency(fL)).max(axis=mo.vaxes(self.gH)))
            beta = (b, b)
        ML, MH = self.mixture_equilibrium(*self.invariants(fL, fH))
        return {"KL": QL - self.gL.expand(beta[0]) * (ML - fL), "KH": QH - self.gH.expand(beta[1]) * (MH - fH),
                "beta": beta}

    def full_implicit(self, GL: np.ndarray, GH: np.ndarray, h: float, k: dict, nL, nH, P, E) -> tuple:
        """``F = G + h β (M(F) - F)`` exactly: ``F_i = M_i[n_i, P, E] + (G_i - M_i[G]) / (1 + h β_i)``, with the
        step's initial densities, momentum and energy (kept exactly: the unprojected cross operators
        conserve them only spectrally) and ``M_i[G]`` the equilibrium of ``G``."""
        FL, FH = self.mixture_equilibrium(nL, nH, P, E)
        GLM, GHM = self.mixture_equilibrium(*self.invariants(GL, GH))
        bL, bH = k["beta"]
        return (FL + (GL - GLM) / self.gL.expand(1 + h * bL), FH + (GH - GHM) / self.gH.expand(1 + h * bH))

    # -- time integrators of a penalised splitting (explicit K, exactly solved implicit stage) -----------
    def imex_euler(self, explicit, implicit, fL: np.ndarray, fH: np.ndarray, dt: float) -> tuple:
        """First order: ``f^{n+1} = f + dt K(f) + dt I(f^{n+1})`` (module docstring)."""
        k = explicit(fL, fH)
        return implicit(fL + dt * k["KL"], fH + dt * k["KH"], dt, k, *self.invariants(fL, fH))

    def ars222(self, explicit, implicit, fL: np.ndarray, fH: np.ndarray, dt: float) -> tuple:
        """Second order: ARS(2,2,2) (Ascher, Ruuth, Spiteri 1997); stiffly accurate, L-stable implicit
        part, so the AP property of the first-order step is kept. ``γ = 1 - 1/√2``, ``δ = 1 - 1/(2γ)``:
        ``F2 = f + γh K(f) + γh I(F2)``, ``F3 = f + h[δ K(f) + (1-δ) K(F2)] + h[(1-γ) I(F2) + γ I(F3)]``,
        ``f^{n+1} = F3``; ``β`` of the first stage for the whole step."""
        g = ARS_GAMMA
        dl = 1 - 1 / (2 * g)
        inv = self.invariants(fL, fH)
        k1 = explicit(fL, fH)
        GL, GH = fL + g * dt * k1["KL"], fH + g * dt * k1["KH"]
        FL, FH = implicit(GL, GH, g * dt, k1, *inv)
        IL, IH = (FL - GL) / (g * dt), (FH - GH) / (g * dt)
        k2 = explicit(FL, FH, beta=k1["beta"])
        GL = fL + dt * (dl * k1["KL"] + (1 - dl) * k2["KL"] + (1 - g) * IL)
        GH = fH + dt * (dl * k1["KH"] + (1 - dl) * k2["KH"] + (1 - g) * IH)
        return implicit(GL, GH, g * dt, k2, *inv)

    def rk4_step(self, fL: np.ndarray, fH: np.ndarray, dt: float, rhs) -> tuple[np.ndarray, np.ndarray]:
        """Classical RK4 on ``rhs(fL, fH)``."""
        k1 = rhs(fL, fH)
        k2 = rhs(fL + 0.5 * dt * k1[0], fH + 0.5 * dt * k1[1])
        k3 = rhs(fL + 0.5 * dt * k2[0], fH + 0.5 * dt * k2[1])
        k4 = rhs(fL + dt * k3[0], fH + dt * k3[1])
        return (fL + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]),
                fH + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]))

    def step(self, scheme: str, fL: np.ndarray, fH: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        if scheme in ("ap", "ap2", "full_ap", "full_ap2"):
            parts = (self.explicit_part, self.implicit_stage) if scheme.startswith("ap") else \
                (self.full_explicit, self.full_implicit)
            return (self.ars222 if scheme.endswith("2") else self.imex_euler)(*parts, fL, fH, dt)
        if scheme == "explicit":
            return self.rk4_step(fL, fH, dt, self.rhs_full)
        if scheme == "explicit_asymptotic":
            return self.rk4_step(fL, fH, dt, self.rhs_asymptotic)
        raise ValueError(f"unknown scheme {scheme!r}; known: {', '.join(SCHEMES)}")


def time_levels(t_end: float, dt: float, growth: float = 1.0, dt_max: float | None = None) -> np.ndarray:
    """Times ``0 = t_0 < t_1 < ... = t_end`` with ``dt_n = min(dt_max, dt growth^n)`` (last step clipped)."""
    ts, t, h = [0.0], 0.0, dt
    dt_max = dt_max or math.inf
    while t < t_end * (1 - 1e-12):
        step = min(h, dt_max, t_end - t)
        t += step
        ts.append(t)
        h *= growth
    return np.array(ts)


def reference_temperatures(n_L: float, n_H: float, T_L: float, T_H: float) -> tuple[float, float]:
    """Box temperatures: the larger of each species' initial and the final mixture temperature."""
    T_eq = (n_L * T_L + n_H * T_H) / (n_L + n_H)
    return max(T_L, T_eq), max(T_H, T_eq)


def initial_data(mix: Mixture, shape: str, n_L: float, n_H: float, T_L: float, T_H: float,
                 u_L, u_H, split: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Initial distributions. ``maxwellian``; or ``bimodal``: each species is the sum of two
    Maxwellians at ``u ± split sqrt(T/m)`` (first axis) with the temperature lowered so that the
    species' density, velocity and temperature are exactly ``n, u, T`` (far from equilibrium)."""
    out = []
    for g, m, n, T, u in ((mix.gL, mix.m_L, n_L, T_L, u_L), (mix.gH, mix.m_H, n_H, T_H, u_H)):
        if shape == "maxwellian":
            out.append(g.maxwellian(n, u, T, m))
            continue
        c = split * math.sqrt(T / m)
        Tb = T - m * c * c / g.dim
        e = np.zeros(g.dim)
        e[0] = c
        u = np.asarray(u, float)
        out.append(0.5 * g.maxwellian(n, u + e, Tb, m) + 0.5 * g.maxwellian(n, u - e, Tb, m))
    return out[0], out[1]
