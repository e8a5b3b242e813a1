"""Schrödinger wells: exact references (stable states on deep wells), bound-state counts, truncation,
a posteriori bounds, FD reference, short PINN runs, orthogonality, bad input, a wrong state exits 3,
and the sweep's np=1 vs np=2 equality."""
from __future__ import annotations

import dataclasses
import math

import h5py
import numpy as np
import pytest
import torch

from solvers.schrodinger import bounds, exact, finite_difference, pinn, truncation
from solvers.schrodinger.plan import StateNotFound, check_nodes, energy_bounds, make_plan
from solvers.schrodinger.potentials import (PotentialError, barrier, finite_well, finite_well_line, harmonic,
                                            infinite_well, pieces, table)

from conftest import run_cli

JIN = (0.357144, 1.426322, 3.200236, 5.664576)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def test_finite_well_roots_match_jin_et_al():
    E = exact.finite_well_levels(20.0, 1.7, 0.5, 4)
    assert np.max(np.abs(E - JIN)) <= 5e-7                      # the published 6 digits
    z, z0 = 1.7 * np.sqrt(E / 0.5), 1.7 * np.sqrt(20.0 / 0.5)
    w = np.sqrt(z0 ** 2 - z ** 2)
    even = z[0::2] * np.sin(z[0::2]) - w[0::2] * np.cos(z[0::2])
    odd = z[1::2] * np.cos(z[1::2]) + w[1::2] * np.sin(z[1::2])
    assert np.max(np.abs(np.r_[even, odd])) <= 1e-12            # the transcendental equations


def test_transfer_matrix_matches_line_formulas_and_infinite_well():
    line = exact.finite_well_levels(20.0, 1.7, 0.5, 4)
    box = exact.box_levels(finite_well(20.0, 1.7, 9.0, 0.5), 4)   # truncation ~ exp(-2κ 7.3) < 1e-40
    assert np.max(np.abs(box / line - 1)) <= 1e-12
    assert np.max(np.abs(exact.box_levels(infinite_well(), 5) / (np.arange(1, 6) * np.pi) ** 2 - 1)) <= 1e-12
    x = np.linspace(0, 1, 101)
    _, psi = exact.box_states(infinite_well(), 3, x)
    assert np.max(np.abs(psi - exact.infinite_well_states(x, 3))) <= 1e-12


def test_exact_states_orthonormal_and_solve_the_equation():
    pot = barrier(100.0, 0.2)
    tm = exact.TransferMatrix(pot)
    E = tm.levels(4)
    gx, gw = np.polynomial.legendre.leggauss(80)
    cols, w = [], []
    for (l, r, _) in pot.regions:
        xs = l + 0.5 * (r - l) * (gx + 1)
        cols.append(np.stack([tm.state(e, xs) for e in E]))
        w.append(0.5 * (r - l) * gw)
    psi, w = np.concatenate(cols, axis=1), np.concatenate(w)
    assert np.max(np.abs((psi * w) @ psi.T - np.eye(4))) <= 1e-12
    assert all(tm.count_below(e + 1e-9) == k + 1 for k, e in enumerate(E))   # Sturm count


@pytest.mark.parametrize("V0, a, L", [(500.0, 2.5, 12.0), (2000.0, 4.0, 30.0), (20.0, 1.7, 14.0)])
def test_stable_states_match_closed_form_on_deep_wide_wells(V0, a, L):
    """Shooting from one wall grew like e^{κ(L - a)} (e^{210} here); the matched null vector does not."""
    x = np.linspace(-L, L, 20001)
    psi_line = exact.finite_well_states(x, V0, a)
    E, psi = exact.box_states(finite_well(V0, a, L), len(psi_line), x)
    assert np.max(np.abs(E / exact.finite_well_levels(V0, a) - 1)) <= 1e-13
    assert np.max(np.sqrt(np.trapz((psi - psi_line) ** 2, x, axis=1))) <= 1e-10
    assert np.max(np.abs(psi).max(axis=1) / np.abs(psi_line).max(axis=1)) <= 1 + 1e-10
    xq, wq = exact.TransferMatrix(finite_well(V0, a, L)).quadrature(E[-1])
    assert abs(np.sum(wq * exact.finite_well_states(xq, V0, a)[-1] ** 2) - 1) <= 1e-10   # closed-form norm


def test_bound_state_count_equals_the_number_of_roots():
    rng = np.random.default_rng(7)
    for _ in range(40):
        V0, a, c = rng.uniform(0.5, 400), rng.uniform(0.1, 3), rng.uniform(0.2, 2)
        assert truncation.bound_state_count(finite_well_line(V0, a, c)) == len(exact.finite_well_levels(V0, a, c))
    # z0 = a √(V0/c) just above / below π: 3 / 2 states
    assert truncation.bound_state_count(finite_well_line(math.pi ** 2 * 1.0001, 1.0)) == 3
    assert truncation.bound_state_count(finite_well_line(math.pi ** 2 * 0.9999, 1.0)) == 2


def test_pieces_double_and_asymmetric_wells():
    dw = pieces([[0.5, 2.0, 0.0], [-2.0, -0.5, 0.0]], outside=50.0)
    assert dw.edges == (-2.0, -0.5, 0.5, 2.0) and dw.values == (50.0, 0.0, 50.0, 0.0, 50.0)
    n = truncation.bound_state_count(dw)
    E = truncation.line_levels(dw, n)
    assert n == 8 and np.all(np.diff(E) > 0)
    assert 1e-4 < (E[1] - E[0]) / E[0] < 1e-3                          # tunnelling pair
    box = make_plan(dw, 2, 1e-12).box                                   # FD: an independent reference
    fd = finite_difference.solve(box, 2, finite_difference.midway_size(box, 4000)).E
    assert abs((fd[1] - fd[0]) / (E[1] - E[0]) - 1) <= 1e-3
    asym = pieces([[-1.0, 0.0, 0.0], [0.0, 1.5, 12.0]], outside=40.0)
    assert not asym.margin_box(1.0).symmetric
    assert truncation.bound_state_count(asym) == len(truncation.line_levels(asym, truncation.bound_state_count(asym)))
    with pytest.raises(PotentialError):
        pieces([[0.0, 1.0, -1.0], [0.5, 2.0, -1.0]])


@pytest.mark.parametrize("tol", [1e-6, 1e-9, 1e-12])
def test_truncation_from_the_decay_length_meets_its_tolerance(tol):
    line = finite_well_line(20.0, 1.7, 0.5)
    tr = truncation.truncate(line, 7, tol)                              # all 7 states, the top one shallow
    E_line = exact.finite_well_levels(20.0, 1.7, 0.5)
    shift = np.max(np.abs(exact.box_levels(tr.box, 7) - E_line) / E_line)
    assert shift <= tol and tr.shift <= tol
    assert tr.margin <= math.log(1 / tol) / 2 * tr.decay_length * 1.25 ** 4      # not much wider than needed


def _perturbed_infinite_well(delta: float, k: int):
    """ψ = sin((k+1)πx) + δ sin((k+3)πx) on [0, 1]: ρ and ε in closed form."""
    lam = (np.arange(1, 8) * np.pi) ** 2
    c = np.zeros(7)
    c[k], c[k + 2] = 1.0, delta
    rho = np.sum(c ** 2 * lam) / np.sum(c ** 2)
    eps = math.sqrt(np.sum(c ** 2 * (lam - rho) ** 2) / np.sum(c ** 2))
    return rho, eps, lam


@pytest.mark.parametrize("delta", [1e-1, 1e-3, 1e-6])
def test_kato_temple_and_weinstein_contain_the_eigenvalue(delta):
    rhos, epss = [], []
    for k in range(3):
        rho, eps, lam = _perturbed_infinite_well(delta, k)
        rhos.append(rho)
        epss.append(eps)
    lo, hi = bounds.state_bounds(np.array(rhos), np.array(epss))
    assert np.all(lo <= lam[:3]) and np.all(lam[:3] <= hi)
    assert np.all(hi - lo <= 2 * np.array(epss))                         # never wider than Weinstein
    if delta <= 1e-3:                                                    # quadratic: ε²/gap << ε
        assert hi[1] - lo[1] <= 1e-2 * epss[1]


SHORT = pinn.PINNConfig(ritz_epochs=300, adam_epochs=100, lbfgs_rounds=1, lbfgs_iters=60, width=16, seed=3,
                        ritz_polish=30)


def test_short_pinn_bounds_hold_on_a_line_well():
    """Ground state of a finite well on the line, box from the decay length, bound from the residual."""
    plan = make_plan(finite_well_line(30.0, 0.5), 1, 1e-6)
    x = np.linspace(plan.box.lo, plan.box.hi, 201)
    states = pinn.solve(plan.box, 1, SHORT, x)
    lo, hi = energy_bounds(plan, states)
    E = exact.box_levels(plan.box, 1)[0]
    assert lo[0] <= E <= hi[0] and states[0].nodes == 0
    assert abs(states[0].E / exact.finite_well_levels(30.0, 0.5)[0] - 1) <= 1e-3


@pytest.mark.parametrize("omega, center, c", [(2.0, 0.0, 1.0), (3.0, 0.25, 0.5)])
def test_harmonic_box_reference_and_truncation(omega, center, c):
    """Legendre–Galerkin in a wide box = (n + ½)ω and the Hermite functions; the box chosen from the
    Gaussian tail meets τ (WKB exponent ≥ ln(1/τ)/2) and the FD reference is second order on smooth V."""
    line = harmonic(omega, center, c)
    box = line.margin_box(12 * math.sqrt(2 * c / omega))
    x = np.linspace(box.lo, box.hi, 3001)
    E, psi = exact.box_states(box, 6, x)
    assert np.max(np.abs(E / exact.harmonic_levels(6, omega) - 1)) <= 1e-10
    assert np.max(np.sqrt(np.trapz((psi - exact.harmonic_states(x - center, 6, omega, c)) ** 2, x, axis=1))) <= 1e-9
    for tol in (1e-6, 1e-9, 1e-11):
        plan = make_plan(line, 4, tol)
        assert plan.trunc.shift <= tol and plan.trunc.wkb >= 0.5 * math.log(1 / tol) * (1 - 1e-12)
        assert plan.box.symmetric and plan.n == 4 and plan.beta_top == 4.5 * omega
    errs = [abs(finite_difference.solve(plan.box, 4, N).E / plan.line_levels() - 1).max() for N in (400, 800)]
    assert 3.8 <= errs[0] / errs[1] <= 4.2


def test_short_pinn_harmonic_oscillator():
    """Smooth V evaluated at the points: states 0-1 of V = x² (E = 1, 3), bounds hold the box level."""
    plan = make_plan(harmonic(2.0), 2, 1e-9)
    x = np.linspace(plan.box.lo, plan.box.hi, 401)
    states = pinn.solve(plan.box, 2, SHORT, x)
    lo, hi = energy_bounds(plan, states)
    E_box = exact.box_levels(plan.box, 2)
    ref = plan.line_states(x)
    assert [s.nodes for s in states] == [0, 1]
    assert np.all(lo <= E_box) and np.all(E_box <= hi)
    for s in states:
        assert abs(s.E / (2 * s.n + 1) - 1) <= 1e-5
        assert min(np.sqrt(np.trapz((g * s.psi - ref[s.n]) ** 2, x)) for g in (1, -1)) <= 1e-3


def test_tail_kappa_from_the_previous_level():
    """tail_kappa = "previous": the tails start at 0.7 √((V - E_{n-1})/c) (decay rate of a state just above
    E_{n-1}); "depth" (default) and E_{n-1} ≥ V keep 0.7 √((V - min V)/c)."""
    pot = pieces([[-1.0, 0.0, 0.0], [0.0, 1.5, 12.0]], outside=40.0).margin_box(5.0)
    gen = lambda: torch.Generator().manual_seed(0)                                    # noqa: E731
    kappa = lambda cfg, E: torch.exp(pinn.TrialFunction(pot, 4, cfg, gen(), E).log_kappa).detach()  # noqa: E731
    prev = pinn.PINNConfig(tail_kappa="previous")
    k_prev, k_depth = kappa(prev, 26.0), kappa(pinn.PINNConfig(), 26.0)
    model = pinn.TrialFunction(pot, 4, prev, gen(), 26.0)
    for i, own in model.tail.items():
        assert abs(float(k_prev[own]) - 0.7 * math.sqrt(14.0)) <= 1e-12
        assert abs(float(k_depth[own]) - 0.7 * math.sqrt(40.0)) <= 1e-12
    assert model.tail and torch.equal(kappa(prev, 45.0), k_depth) and torch.equal(kappa(prev, None), k_depth)


def test_wrong_node_count_is_an_exit_3_error():
    s = pinn.StateResult(1, 10.0, np.zeros(3), np.zeros(3), 0, 0.0)
    with pytest.raises(StateNotFound) as exc:
        check_nodes([pinn.StateResult(0, 1.0, np.zeros(3), np.zeros(3), 0, 0.0), s], 3, np.array([1.0, 4.0, 9.0]))
    assert exc.value.exit_code == 3 and "state 1" in str(exc.value) and "0 node" in str(exc.value)


def test_fd_reference_puts_the_jumps_midway_and_solves_the_infinite_well():
    """(Its order 2 is tests/test_rates.py::TestFiniteDifferenceWell.)"""
    pot = finite_well(50.0, 0.5, 2.0)
    for n in (100, 200, 400):
        h = pot.length / (finite_difference.midway_size(pot, n) + 1)
        assert abs(((0.5 + 2.0) / h) % 1.0 - 0.5) < 1e-9
    assert abs(finite_difference.solve(infinite_well(), 1, 1000).E[0] / np.pi ** 2 - 1) <= 1e-6


def test_short_pinn_infinite_well_ground_state():
    pot = infinite_well()
    x = np.linspace(0, 1, 201)
    (s,) = pinn.solve(pot, 1, SHORT, x)
    assert abs(s.E / math.pi ** 2 - 1) <= 1e-3
    assert s.nodes == 0
    assert np.sqrt(np.trapz((s.psi - exact.infinite_well_states(x, 1)[0]) ** 2, x)) <= 1e-2


def test_pinn_excited_state_orthogonal_with_one_node():
    pot = infinite_well()
    x = np.linspace(0, 1, 401)
    states = pinn.solve(pot, 2, pinn.PINNConfig(ritz_epochs=300, adam_epochs=100, lbfgs_rounds=1,
                                                 lbfgs_iters=60, width=16, parity="off", seed=1), x)
    assert [s.nodes for s in states] == [0, 1]
    assert abs(np.trapz(states[0].psi * states[1].psi, x)) <= 1e-3
    assert abs(states[1].E / (4 * math.pi ** 2) - 1) <= 1e-3


def test_output_layer_rayleigh_ritz_minimises_and_projects():
    """ψ is linear in the output layers: the solve's λ is R[ψ] of the new network, the Ritz vector kept
    (the closest to the untrained ψ, here the lowest) lowers R towards E_0, and ψ is orthogonal to the
    earlier states it is given, with λ ≥ E_1 (Courant-Fischer) when that is the exact ψ_0."""
    pot = finite_well(50.0, 0.5, 2.0)
    cfg = pinn.PINNConfig(width=16, parity="off")
    E = exact.box_levels(pot, 2)
    model = pinn.TrialFunction(pot, 0, cfg, torch.Generator().manual_seed(5))
    quad = pinn.EigenLoss(model, [], cfg).quad
    before = pinn.rayleigh_residual(model, 200)[0]
    lam = pinn.rayleigh_ritz(model, 200, [], quad)
    after = pinn.rayleigh_residual(model, 200)[0]
    assert abs(after / lam - 1) <= 1e-10 and E[0] <= after <= before
    xq = torch.cat([x for (x, _, _, _) in quad]).numpy()
    wq = torch.cat([w for (_, w, _, _) in quad]).numpy()
    psi0 = exact.TransferMatrix(pot).state(E[0], xq)
    excited = pinn.TrialFunction(pot, 1, cfg, torch.Generator().manual_seed(6))
    lam1 = pinn.rayleigh_ritz(excited, 200, [torch.tensor(psi0)], quad)
    psi1 = pinn.evaluate(excited, xq)
    assert abs(np.sum(wq * psi1 * psi0)) <= 1e-10 * np.sqrt(np.sum(wq * psi1 ** 2))
    assert lam1 >= E[1] * (1 - 1e-12)                      # Courant-Fischer with the exact ψ_0


def test_pinn_is_deterministic_per_seed():
    pot = finite_well(50.0, 0.5, 2.0)
    cfg = pinn.PINNConfig(ritz_epochs=20, adam_epochs=10, lbfgs_rounds=1, lbfgs_iters=5, width=8, seed=7,
                          ritz_polish=5)
    x = np.linspace(-2, 2, 41)
    a, b = pinn.solve(pot, 1, cfg, x)[0], pinn.solve(pot, 1, cfg, x)[0]
    assert a.E == b.E and np.array_equal(a.psi, b.psi)


def test_failed_rayleigh_ritz_solve_leaves_the_training_as_without_it(monkeypatch):
    """A Rayleigh–Ritz solve that raises (non-finite features, LAPACK failure) is undone: the state
    is bit for bit the one trained with the solve switched off."""
    pot = finite_well(50.0, 0.5, 2.0)
    cfg = pinn.PINNConfig(ritz_epochs=20, adam_epochs=10, lbfgs_rounds=1, lbfgs_iters=5, width=8, seed=7,
                          ritz_polish=5)
    x = np.linspace(-2, 2, 41)
    off = pinn.solve(pot, 1, dataclasses.replace(cfg, rayleigh_ritz=False), x)[0]

    def fails(*args, **kwargs):
        raise np.linalg.LinAlgError("eigh did not converge")

    monkeypatch.setattr(pinn, "rayleigh_ritz", fails)
    failed = pinn.solve(pot, 1, cfg, x)[0]
    assert failed.E == off.E and np.array_equal(failed.psi, off.psi)


@pytest.mark.parametrize("make, key", [
    (lambda: finite_well(-5.0, 0.5, 2.0), "V0"),
    (lambda: finite_well(50.0, 2.5, 2.0), "a"),
    (lambda: table([0.0, 0.5, 1.0], [0.0, math.inf]), "values"),
    (lambda: table([0.0, 0.5, 0.4], [0.0, 1.0]), "edges"),
    (lambda: barrier(10.0, 0.5, L=1.0, center=0.1), "width"),
])
def test_bad_potentials_raise_with_the_key(make, key):
    with pytest.raises(PotentialError) as exc:
        make()
    assert exc.value.key == key


@pytest.mark.parametrize("body, path", [
    ('type = "finite_well"\nV0 = -1.0\na = 0.5\nLbox = 2.0', "potential.V0"),
    ('type = "finite_well"\nV0 = 50.0\na = 3.0\nLbox = 2.0', "potential.a"),
    ('type = "table"\nedges = [0.0, 0.5, 1.0]\nvalues = [0.0, nan]', "potential.values[1]"),
    ('type = "infinite_well"\nL = inf', "potential.L"),
    ('type = "finite_well"\nV0 = 50.0\nLbox = 2.0', "potential.a"),
    ('type = "infinite_well"\nL = 1.0\nV0 = 3.0', "potential.V0"),
    ('type = "infinite_well"\nL = 1.0\n[states]\nn = "all"', "states.n"),
    ('type = "finite_well"\nV0 = 20.0\na = 0.5\n[states]\nn = 4', "states.n"),
    ('type = "pieces"\nintervals = [[0.0, 1.0, 5.0], [0.5, 2.0, 5.0]]', "potential.intervals"),
    ('type = "pieces"\nintervals = [[0.0, 1.0]]', "potential.intervals[0]"),
    ('type = "harmonic"\nomega = 2.0\n[states]\nn = "all"', "states.n"),
    ('type = "harmonic"\nomega = 2.0\n[states]\nn = 1000000', "states.n"),
    ('type = "harmonic"\nomega = 0.0', "potential.omega"),
    ('type = "harmonic"\ncenter = 1.0', "potential.omega"),
    ('type = "harmonic"\nomega = 2.0\na = 1.0', "potential.a"),
    ('type = "harmonic"\nomega = 2.0\n[box]\ntolerance = 1e-13', "box.tolerance"),
])
def test_bad_case_files_exit_2_naming_the_key(tmp_path, body, path):
    case = tmp_path / "bad.toml"
    case.write_text(f'[case]\nkind = "schrodinger"\n[potential]\n{body}\n[output]\npath = "{tmp_path}/o.h5"\n')
    proc = run_cli(["run", str(case)])
    assert proc.returncode == 2, proc.stderr
    assert path in proc.stderr
    assert not (tmp_path / "o.h5").exists()


def test_wrong_state_exits_3_and_writes_nothing(tmp_path):
    """Without orthogonality (w_orth ~ 0, no projection) state 1 falls back onto the ground state: 0 nodes."""
    case = tmp_path / "wrong.toml"
    case.write_text('[case]\nkind = "schrodinger"\n[potential]\ntype = "infinite_well"\nL = 1.0\n'
                    '[states]\nn = 2\npoints = 101\n[pinn]\nritz_epochs = 200\nadam_epochs = 0\nlbfgs_rounds = 0\n'
                    'ritz_polish = 0\nwidth = 8\nparity = "off"\nw_orth = 1e-12\nrayleigh_ritz = false\n')
    proc = run_cli(["run", str(case), "-o", str(tmp_path / "o.h5")])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "state 1 not found" in proc.stderr and "0 node(s)" in proc.stderr
    assert not (tmp_path / "o.h5").exists()


def test_bad_sweep_value_exits_2(tmp_path):
    case = tmp_path / "bad.toml"
    case.write_text('[case]\nkind = "schrodinger_sweep"\n[potential]\ntype = "finite_well"\nV0 = 50.0\n'
                    'a = 0.5\nLbox = 2.0\n[sweep]\nparameter = "a"\nvalues = [0.5, 2.5]\n')
    proc = run_cli(["run", str(case)])
    assert proc.returncode == 2 and "sweep.values[1]" in proc.stderr


SWEEP = """[case]
kind = "schrodinger_sweep"
[potential]
type = "finite_well"
V0 = 50.0
a = 0.5
Lbox = 2.0
[sweep]
parameter = "V0"
values = [30.0, 50.0, 70.0]
[states]
n = 2
points = 65
[pinn]
ritz_epochs = 40
adam_epochs = 10
lbfgs_rounds = 1
lbfgs_iters = 10
width = 8
require_convergence = false   # a deliberately short training (rank independence is what is tested)
"""


@pytest.mark.mpi
def test_sweep_same_results_on_1_and_2_ranks(tmp_path):
    case = tmp_path / "sweep.toml"
    case.write_text(SWEEP)
    out = {}
    for n in (1, 2):
        path = tmp_path / f"np{n}.h5"
        run_cli(["run", str(case), "-o", str(path)], n=n, check=True)
        with h5py.File(path) as h5:
            out[n] = {k: h5[f"scalars/{k}"][...] for k in ("E_0", "E_1", "V0", "seed", "E_exact_0")}
            out[n]["psi_1"] = h5["t0_fields/psi_1"][...]
            out[n]["V"] = h5["t0_fields/V"][...]
            assert h5.attrs["n_trajectories"] == 3 and h5["t0_fields/psi_0"].shape == (3, 65)
    for k in out[1]:
        assert np.array_equal(out[1][k], out[2][k]), k
    assert list(out[1]["seed"]) == [0, 1, 2]


@pytest.mark.mpi
def test_run_case_under_mpirun_writes_energies(tmp_path):
    case = tmp_path / "inf.toml"
    case.write_text('[case]\nkind = "schrodinger"\n[potential]\ntype = "infinite_well"\nL = 1.0\n'
                    '[states]\nn = 1\npoints = 101\n[pinn]\nritz_epochs = 300\nadam_epochs = 100\n'
                    'lbfgs_rounds = 1\nlbfgs_iters = 60\nwidth = 16\nseed = 3\n')
    path = tmp_path / "inf.h5"
    proc = run_cli(["run", str(case), "-o", str(path)], n=2, check=True)
    assert proc.stdout.count("wrote") == 1                       # rank 0 prints
    with h5py.File(path) as h5:
        assert abs(h5["E"][0] / math.pi ** 2 - 1) <= 1e-3
        assert abs(h5["E_exact"][0] / math.pi ** 2 - 1) <= 1e-14
        assert abs(h5["E_fd"][0] / math.pi ** 2 - 1) <= 1e-6
        assert h5["psi"].shape == (1, 101) and h5["nodes"][0] == 0
