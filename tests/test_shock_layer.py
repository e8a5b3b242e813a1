"""Measurement tools of the shock-layer / advected-relaxation study (issue 13 §6,
:mod:`solvers.boltzmann.shock_layer`): the tail fit recovers an exact exponential, the reference
time of the homogeneous solver is Galilean invariant on the drifting grids used."""
from __future__ import annotations

import math

import numpy as np
import pytest
from mpi4py import MPI

from solvers.boltzmann import shock_layer
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams


def test_tail_fit_recovers_an_exact_exponential():
    """A rise to a peak then ``A exp(-ξ/ℓ)``: the window starts past the peak below half of it, ends at
    3 % of it or at ``ξ_max``, and the least-squares length is ``ℓ`` to rounding."""
    xi = np.linspace(-3.0, 12.0, 151)
    ell = 1.7
    d = np.where(xi < 1.0, 0.4 * np.exp(-(xi - 1.0) ** 2), 0.4 * np.exp(-(xi - 1.0) / ell))
    a, b = shock_layer.tail_window(xi, -d, xi_max=20.0)
    assert 1.0 + ell * math.log(2) <= a <= 1.0 + ell * math.log(2) + 0.1 + 1e-12
    assert 1.0 + ell * math.log(1 / 0.03) - 0.1 - 1e-12 <= b <= 1.0 + ell * math.log(1 / 0.03)
    assert abs(shock_layer.decay_length(xi, -d, (a, b)) / ell - 1) < 1e-12
    a2, b2 = shock_layer.tail_window(xi, d, xi_max=4.0)
    assert b2 <= 4.0 and abs(shock_layer.decay_length(xi, d, (a2, b2)) / ell - 1) < 1e-12


def test_offset_fit_recovers_length_and_offset():
    """``A exp(-x/ℓ) + c`` sampled at cell centres: the three-parameter fit returns ``ℓ`` and ``c``."""
    x = (np.arange(18) + 0.5) * 0.5
    d = 0.7 * np.exp(-x / 1.07) + 0.017
    ell, c = shock_layer.decay_length_offset(x, d, (0.5, 7.5))
    assert abs(ell / 1.07 - 1) < 1e-7 and abs(c / 0.017 - 1) < 1e-6, (ell, c)


def test_homogeneous_time_is_galilean_invariant():
    """The equalisation time at rest and drifting at 1.5 heavy thermal speeds (the drift of the
    advected-relaxation runs) on the same grids: within 1e-3 (measured 3.6e-4 at m_H/m_L = 100, N = 16)."""
    mix = Mixture(MixtureParams(dim=2, n=16, Lhat=5.0, mass_ratio=100.0), T_ref=(1.2, 1.69))
    rest = shock_layer.homogeneous_time(mix, 1.0, 0.05, 1.0)
    drifting = shock_layer.homogeneous_time(mix, 1.0, 0.05, 1.0, u=1.5 / math.sqrt(100.0))
    assert abs(drifting / rest - 1) < 1e-3, drifting / rest


def test_rise_width_of_a_tanh_profile():
    """``ρ = ρ_1 + (ρ_2 - ρ_1)(1 + tanh(x/δ))/2``: the 10-90 % rise is ``2 δ atanh(0.8)`` (to the linear
    interpolation between points, 1e-3 here)."""
    x = np.linspace(-10.0, 10.0, 2001)
    rho = 1.0 + 0.5 * (1 + np.tanh(x / 1.3))
    w = shock_layer.rise_width(x, rho, 1.0, 2.0)
    assert abs(w / (2 * 1.3 * math.atanh(0.8)) - 1) < 1e-3, w
    assert math.isnan(shock_layer.rise_width(x, rho, 1.0, 3.0))      # never reaches 90 % of a larger rise


def test_separation_peaks_of_two_bumps():
    """``T_H - T_L = -0.3 exp(-(ξ+2)²) + 0.1 exp(-(ξ-1.5)²)``: the light hotter ahead by 0.3 at ξ = -2, the heavy
    behind by 0.1 at ξ = 1.5 (grid points; the other bump adds < 1e-5)."""
    xi = np.linspace(-5.0, 5.0, 101)
    d = -0.3 * np.exp(-(xi + 2) ** 2) + 0.1 * np.exp(-(xi - 1.5) ** 2)
    s = shock_layer.separation_peaks(xi, d)
    assert abs(s["ahead"][0] - 0.3) < 1e-5 and abs(s["ahead"][1] + 2.0) < 1e-12, s
    assert abs(s["behind"][0] - 0.1) < 1e-5 and abs(s["behind"][1] - 1.5) < 1e-12, s


def test_shock_setup_refuses_an_unknown_right_end():
    """A right end other than inflow/outflow is a ValueError naming it (checked first, before the homogeneous
    reference run)."""
    with pytest.raises(ValueError, match="'wall'"):
        shock_layer.shock_setup(MPI.COMM_SELF, 100.0, 2.0, right="wall")
