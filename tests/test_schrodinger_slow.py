"""The issue's targets for the PINN (minutes each, many under load): run with ``pytest -m slow``.
Every check of ``validate schrodinger`` per potential: energy error, the a posteriori bound holds the
exact level, ψ error, node count, orthogonality (and the double well's tunnelling splitting)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from solvers.schrodinger import pinn
from solvers.schrodinger.plan import make_plan
from solvers.schrodinger.validation import PINN_CASES, case_config, pinn_checks


# Targets of issue 14 the PINN does not reach yet (strict xfails naming the measured errors; a fix that
# reaches them turns them into failures to be removed here). None at present (2026-11-30, see
# docs/schrodinger.md): the double well passes since the output-layer Rayleigh–Ritz solve, the tail
# input map and the graded tail panels; two_barriers since its validation case sets polish_rounds = 6
# (E0 8.0e-7); asymmetric_well since its case sets tail_kappa = "previous" (state 4 1.6e-6).
MISSED: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=MISSED[n]))
                                  if n in MISSED else n for n in PINN_CASES])
def test_pinn_reaches_the_targets(name):
    torch.set_num_threads(1)
    pot, states, targets = PINN_CASES[name][:3]
    plan = make_plan(pot, states, 1e-9)
    x = np.linspace(plan.box.lo, plan.box.hi, 801)
    checks = pinn_checks(name, plan, pinn.solve(plan.box, plan.n, case_config(name), x), x, targets)
    failed = [c for c in checks if not c.passed]
    assert not failed, failed
