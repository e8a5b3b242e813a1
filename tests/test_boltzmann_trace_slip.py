"""A heavy trace drifting through light gas (issue 13, found while setting up a shock in the light gas with a
heavy trace): in the asymptotic model the heavy's mean velocity relaxes to the light's at the friction rate
``ν_H`` (:func:`.asymptotic.heavy_fokker_planck`: ``d(u_H - u_L)/dt = -ν_H (u_H - u_L)`` when ``ρ_H ≪ ρ_L``), half
its temperature rate ``2 ν_H`` — the Fokker-Planck limit. The ``ap2`` step moves momentum between the
species through the light's Lorentz operator (``∝ n_H``, explicit, inside the penalised stiff part) and the implicit
stage's redistribution (``u_H^F`` from the total momentum, the light relaxing towards it at the penalisation rate
``β_L``); with a heavy trace the slip relaxes too slowly, the excess ≈ 12 ``h β_L`` for small ``h β_L``.
Measured (this test's set-up: N = 16, m_H/m_L = 100, n_H/n_L = 1e-4, slip 0.01): slip e-fold × ``ν_H`` = 122 / 12.7 /
1.94 at dt = 1/(20 ν_H), 1/(200 ν_H), 1/(2000 ν_H) (``τ_0 ≈ 1/(2 ν_H)``, ``β_L`` = 3.18 ≈ 170 ``ν_H``; the model: 1;
excess 11.7 and 0.94 at ``h β_L`` = 0.85 and 0.085: first order in dt; the excess ∝ ``h β_L ρ_L/ρ_H``: 10x smaller at
n_H/n_L = 1e-3; the implicit stage pins ``u_H`` when ``m_L n_L q ≫ m_H n_H``, ``q = hβ_L/(1 + hβ_L)``: docs/boltzmann.md);
with N = 24 and n_H/n_L = 0.05 (model slip time 0.35 ``τ_0``): 0.59 / 0.354 / 0.345 ``τ_0`` at dt = ``τ_0``/20, /200,
/2000. Not fixed: the strict xfail below states the property the step should have."""
from __future__ import annotations

import numpy as np
import pytest

from solvers.boltzmann import asymptotic as asy
from solvers.boltzmann import runs
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams, time_levels
from solvers.boltzmann.positivity import positive_maxwellian


def slip_time_times_rate(mass_ratio: float, n_H: float, scheme: str) -> float:
    """Heavy trace ``n_H`` (``n_L = 1``, N = 16, both at T = 1) drifting at 0.01 through light gas at rest, advanced
    with ``scheme`` at dt = ``1/(20 ν_H)`` over one model time ``1/(ν_H (1 + ρ_H/ρ_L))``: the slip's least-squares
    e-folding time times the model rate (1 for a step that relaxes it at the model rate)."""
    mix = Mixture(MixtureParams(dim=2, n=16, Lhat=5.0, mass_ratio=mass_ratio), T_ref=(1.2, 1.2),
                  full_cross=scheme.startswith("full"))
    fL = positive_maxwellian(mix.gL, 1.0, np.zeros(2), 1.0, mix.m_L)
    fH = positive_maxwellian(mix.gH, n_H, np.r_[0.01, 0.0], 1.0, mix.m_H)
    nu_H = float(asy.heavy_friction(mix.gL, fL, mix.mu, mix.m_L, 1.0, np.zeros(2), mix.p.gamma, mix.b))
    rate = nu_H * (1 + mass_ratio * n_H)
    r = runs.run_mixture(mix, scheme, fL, fH, time_levels(1.0 / rate, 0.05 / nu_H))
    slip = np.array([h[0] - l[0] for h, l in zip(r["u_H"], r["u_L"])])
    return -rate / np.polyfit(np.asarray(r["t"]), np.log(slip), 1)[0]


@pytest.mark.xfail(strict=True, reason="ap2 under-relaxes the slip of a heavy trace (excess ~ h beta_L rho_L/rho_H): "
                   "slip time 122/nu_H at dt = 1/(20 nu_H) against 1/nu_H (docs/boltzmann.md)")
def test_trace_heavy_slip_relaxes_at_the_friction_rate():
    """``ap2``, m_H/m_L = 100, n_H/n_L = 1e-4: the slip's e-folding time is the model's within 10 %."""
    x = slip_time_times_rate(100.0, 1e-4, "ap2")
    assert abs(x - 1) < 0.1, x


def test_full_operator_relaxes_a_trace_slip_at_the_friction_rate():
    """The reference is right: the full cross operator (``full_ap2``, m_H/m_L = 16, n_H/n_L = 1e-3) relaxes the slip
    of a heavy trace at the model rate ``ν_H (1 + ρ_H/ρ_L)`` within 15 % (measured 1.10; 1.02 at dt = ``1/(200 ν_H)``;
    ``ap2`` on the same grids: 13.4 and 2.05)."""
    x = slip_time_times_rate(16.0, 1e-3, "full_ap2")
    assert abs(x - 1) < 0.15, x
