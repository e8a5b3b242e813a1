"""The issue's targets for the PINN (minutes each, many under load): run with ``pytest -m slow``.
Every check of ``validate schrodinger`` per potential: energy error, the a posteriori bound holds the
exact level, ψ error, node count, orthogonality (and the double well's tunnelling splitting)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from solvers.schrodinger import pinn
from solvers.schrodinger.plan import make_plan
from solvers.schrodinger.validation import PINN_CASES, pinn_checks


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PINN_CASES))
def test_pinn_reaches_the_targets(name):
    torch.set_num_threads(1)
    pot, states, targets = PINN_CASES[name]
    plan = make_plan(pot, states, 1e-9)
    x = np.linspace(plan.box.lo, plan.box.hi, 801)
    checks = pinn_checks(name, plan, pinn.solve(plan.box, plan.n, pinn.PINNConfig(), x), x, targets)
    failed = [c for c in checks if not c.passed]
    assert not failed, failed
