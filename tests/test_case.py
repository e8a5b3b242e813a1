"""Case-file validation: key paths in messages, defaults, unknown keys, exit code 2, no output."""
from pathlib import Path

import pytest

from solvers import case as C
from solvers.registry import schemas

from conftest import ROOT, run_cli

BAD = Path(__file__).parent / "cases_bad"


@pytest.fixture(scope="module")
def sch():
    return schemas()


def doc(text):
    return C.parse_text(text)


@pytest.mark.parametrize("text, path, fragment", [
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,-4]', "mesh.shape[1]", "must be a positive integer, got -4"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33]', "mesh.shape", "must have 2 to 3 entries, got 1"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[solver]\nrtol=-1.0', "solver.rtol", "must be positive"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[solver]\nrtol=inf', "solver.rtol", "must be finite"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[solver]\nmax_it=1.5', "solver.max_it", "must be an integer"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[problem]\nsolution="cosines"', "problem.solution",
     "must be one of"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\nfoo=1', "mesh.foo", "unknown key"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[33,33]\n[extra]\na=1', "extra", "unknown key"),
    ('[case]\nkind="poisson"', "mesh", "missing required key"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[9,9,9]\nextent=[[0,1],[0,1]]', "mesh.extent", "one [lo, hi] pair per dimension"),
    ('[case]\nkind="poisson"\n[mesh]\nshape=[9,9]\n[petsc]\nksp_type=["cg"]', "petsc.ksp_type", "string, number"),
    ('[case]\nname="x"', "case.kind", "missing required key"),
])
def test_errors_name_the_key_path(sch, text, path, fragment):
    with pytest.raises(C.CaseError) as err:
        C.validate(doc(text), sch)
    assert err.value.key_path == path
    assert fragment in str(err.value)
    assert str(err.value).startswith(path + ":")


def test_defaults_are_filled(sch):
    c = C.validate(doc('[case]\nkind="poisson"\n[mesh]\nshape=[9,9,9]\n[petsc]\nksp_monitor=""\npc_type="jacobi"'), sch)
    assert c["mesh"]["extent"] == [[0.0, 1.0]] * 3
    assert c["solver"]["ksp_type"] == "cg" and c["solver"]["max_it"] == 10000
    assert c["problem"]["solution"] == "sines"
    assert c.petsc_options() == ["-ksp_monitor", "-pc_type", "jacobi"]


def test_every_shipped_case_validates(sch):
    cases = sorted((ROOT / "cases").glob("*.toml"))
    assert cases
    for p in cases:
        C.load(p, sch)


@pytest.mark.parametrize("name, fragment", [
    ("negative_shape", "mesh.shape[1]: must be a positive integer, got -4"),
    ("unknown_key", "solver.ksp_typo: unknown key"),
    ("wrong_type", "solver.rtol: must be a number, got 'tight'"),
    ("nan_value", "mesh.extent[0][1]: must be finite, got nan"),
    ("missing_shape", "mesh.shape: missing required key"),
    ("unknown_kind", "case.kind: unknown kind 'poisson4d'"),
    ("bad_extent", "mesh.extent[1]: must satisfy lo < hi"),
    ("not_toml", "not valid TOML"),
])
def test_cli_rejects_bad_case_with_exit_2_and_no_file(tmp_path, name, fragment):
    out = tmp_path / "out.h5"
    proc = run_cli(["run", str(BAD / f"{name}.toml"), "-o", str(out)])
    assert proc.returncode == 2, proc.stderr
    assert fragment in proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_cases_readme_matches_schema():
    """cases/README.md is the output of `python -m solvers schema` (regenerate it if this fails)."""
    proc = run_cli(["schema"], check=True)
    assert (ROOT / "cases" / "README.md").read_text().strip() == proc.stdout.strip()
