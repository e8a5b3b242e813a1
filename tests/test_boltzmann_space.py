"""Space-dependent mixture (issue 13): collision step stable for every dt, second order in time,
uniform data = homogeneous solver, free streaming order 2, conservation, positivity, walls,
np = 1, 2, 3 bitwise identical, bad input."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from solvers.boltzmann import asymptotic as asy
from solvers.boltzmann import runs
from solvers.boltzmann.ap_scheme import Mixture, MixtureParams, initial_data, reference_temperatures, time_levels
from solvers.boltzmann import validation_space as vs

from conftest import run_cli

COMM = MPI.COMM_SELF


@pytest.mark.parametrize("scheme", ["ap", "ap2"])
@pytest.mark.parametrize("gamma,mass_ratio", [(0.0, 1e2), (1.0, 1e4)])
def test_collision_step_stable_for_any_dt(scheme, gamma, mass_ratio):
    """λ_T dt from 1.9 to 100 (dt fixed relative to the slow scale): no blow-up, T_L - T_H -> 0,
    mixture energy to rounding (the explicit slow exchange used to blow up beyond λ_T dt = 2)."""
    mix = Mixture(MixtureParams(dim=2, n=16, mass_ratio=mass_ratio, gamma=gamma),
                  T_ref=reference_temperatures(1.0, 1.0, 1.5, 0.5))
    fL, fH = initial_data(mix, "bimodal", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    lam = 4 * asy.heavy_friction(mix.gL, fL, mix.mu, 1.0, 1.5, [0, 0], gamma, mix.b)   # 2 ν_H (1 + n_H/n_L)
    for ldt in (1.9, 2.5, 5.0, 100.0):
        dt = ldt / lam
        r = runs.run_mixture(mix, scheme, fL, fH, time_levels(20 * dt, dt))
        assert not r["blew_up"], ldt
        assert abs(r["T_L"][-1] - r["T_H"][-1]) < 3e-4
        assert abs(r["energy"][-1] / r["energy"][0] - 1) < 1e-10


def test_ars_second_order_first_order_option():
    """Maxwell molecules, Maxwellian data: T_L - T_H = ΔT(0) exp(-λ t), λ = 2 ν_H (1 + n_H/n_L) = 4/1000;
    errors at t = 1/λ with 4, 8, 16 steps: order 2 (ap2), order 1 (ap)."""
    mix = Mixture(MixtureParams(dim=2, n=16, mass_ratio=1e3, gamma=0.0), T_ref=reference_temperatures(1, 1, 1.5, .5))
    fL, fH = initial_data(mix, "maxwellian", 1.0, 1.0, 1.5, 0.5, [0, 0], [0, 0])
    T = 250.0
    for scheme, order in (("ap", 1.0), ("ap2", 2.0)):
        errs = []
        for k in (4, 8, 16):
            r = runs.run_mixture(mix, scheme, fL, fH, time_levels(T, T / k))
            errs.append(abs((r["T_L"][-1] - r["T_H"][-1]) / (r["T_L"][0] - r["T_H"][0]) - math.exp(-1)))
        p = [math.log2(a / b) for a, b in zip(errs, errs[1:])]
        assert all(abs(q - order) < 0.15 for q in p), (scheme, p)


def test_uniform_data_is_homogeneous_solver():
    assert vs.uniform_vs_homogeneous(COMM, n=12, nx=4, steps=2) <= 1e-12


def test_free_streaming_second_order():
    errs = vs.free_streaming_errors(COMM, sizes=(32, 64, 128))
    assert math.log2(errs[-2] / errs[-1]) > 1.85


def test_periodic_box_conserves_to_rounding():
    c = vs.periodic_conservation(COMM, n=12, nx=8, t_end=0.2)
    assert max(c.values()) < 1e-13, c


def test_transport_positive_and_walls_conserve_mass():
    w = vs.walls_positivity(COMM, n=8, nx=16, t_end=0.5)
    assert w["fmin"] >= 0.0
    assert max(w["mass_L"], w["mass_H"]) < 1e-13


def test_cfl_step_independent_of_kn():
    rows = vs.cfl_step_any_kn(COMM, n=12, nx=4, steps=3)
    assert all(r[3] for r in rows)
    assert len({r[2] for r in rows}) == 1            # one dt for every Kn and mass ratio


@pytest.mark.slow
def test_sod_tends_to_euler_as_kn_decreases():
    """One gas in two labels (full_ap2): the pressure and velocity errors against the exact Euler
    solution fall from Kn = 0.1 to 1e-4 at the same dx and dt."""
    e = vs.sod_errors(COMM, (1e-1, 1e-4), nx=20, n=12)
    assert e[1e-4]["p"] < 0.7 * e[1e-1]["p"] and e[1e-4]["u"] < 0.7 * e[1e-1]["u"]
    assert e[1e-4]["dt"] == e[1e-1]["dt"]


SPACE_CASE = """[case]
kind = "boltzmann_space"
[velocity]
dim = 2
n = 12
[species]
mass_ratio = 100.0
[space]
nx = {nx}
Kn = 0.05
[boundary]
left = "{left}"
right = "{right}"
T_right = 1.5
[initial]
type = "{init}"
[initial.left]
T_L = 1.2
T_H = 1.2
[initial.right]
n_L = 0.5
n_H = 0.5
[time]
t_end = 0.1
snapshots = 3
f_snapshots = 2
"""


@pytest.mark.mpi
def test_np123_bitwise_identical(tmp_path):
    case = tmp_path / "s.toml"
    case.write_text(SPACE_CASE.format(nx=9, left="specular", right="diffuse", init="riemann"))
    outs = []
    for n in (1, 2, 3):
        out = tmp_path / f"s{n}.h5"
        proc = run_cli(["run", str(case), "-o", str(out)], n=n, check=True)
        assert "domain totals" in proc.stdout
        outs.append(out)
    with h5py.File(outs[0]) as a:
        names = []
        a.visit(lambda k: names.append(k) if isinstance(a[k], h5py.Dataset) else None)
        assert "snapshots/f_L" in names and a["moments/T_L"].shape == (3, 9)
        for o in outs[1:]:
            with h5py.File(o) as b:
                for k in names:
                    if k.startswith("totals/"):      # global sums: reduction order differs
                        assert np.abs(a[k][()] - b[k][()]).max() <= 1e-14 * np.abs(a[k][()]).max(), k
                    else:
                        assert np.array_equal(a[k][()], b[k][()]), k


@pytest.mark.parametrize("fmt,key", [
    (dict(nx=8, left="periodic", right="specular", init="uniform"), "boundary.right"),
    (dict(nx=8, left="periodic", right="periodic", init="riemann"), "boundary.left"),
    (dict(nx=1, left="periodic", right="periodic", init="uniform"), "space.nx"),
])
def test_bad_space_input_exit_2(tmp_path, fmt, key):
    case = tmp_path / "bad.toml"
    case.write_text(SPACE_CASE.format(**fmt))
    out = tmp_path / "bad.h5"
    proc = run_cli(["run", str(case), "-o", str(out)])
    assert proc.returncode == 2 and key in proc.stderr
    assert not out.exists()


@pytest.mark.mpi
def test_too_few_cells_for_the_ranks_exit_2(tmp_path):
    case = tmp_path / "few.toml"
    case.write_text(SPACE_CASE.format(nx=5, left="periodic", right="periodic", init="uniform"))
    out = tmp_path / "few.h5"
    proc = run_cli(["run", str(case), "-o", str(out)], n=3)
    assert proc.returncode == 2 and "space.nx" in proc.stderr
    assert not out.exists()
