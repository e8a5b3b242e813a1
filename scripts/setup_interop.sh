#!/usr/bin/env bash
# Idempotent setup of .venv-interop: the third-party loaders the datasets are tested against
# (The Well 1.2.0, neuraloperator 2.0.0, PDEBench 0.1.0) with numpy 2 and torch 2.13.0 (CPU).
# They need numpy 2, which Debian's petsc4py does not allow, so this venv does not see the system
# site packages and never imports the project: the interop tests drive the project's CLI in .venv
# through subprocesses. PDEBench 0.1.0 declares Python < 3.11 and pins old JAX/hydra versions that
# its loaders do not use, hence --no-deps --ignore-requires-python. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV_INTEROP:-.venv-interop}
PIP_PKGS=("numpy>=2,<3" "torch==2.13.0" "the-well==1.2.0" "neuraloperator==2.0.0" "h5py" "pytest" "pyyaml")
PDEBENCH="pdebench==0.1.0"

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup_interop: creating $VENV (no system site packages)"
  /usr/bin/python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-$(printf '%s\n' "${PIP_PKGS[@]}" "$PDEBENCH" | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup_interop: installing ${PIP_PKGS[*]} $PDEBENCH"
  # pip's own failures surface in the import check below (the grep only drops local-index noise)
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PIP_PKGS[@]}" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --ignore-requires-python "$PDEBENCH" 2>&1 \
    | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" - <<'PY'
import numpy, torch, the_well, neuralop, pdebench, h5py
assert numpy.__version__.startswith("2."), numpy.__version__
assert torch.__version__.startswith("2.13.0"), torch.__version__
PY
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
echo "setup_interop: ok ($("$VENV/bin/python" -c 'import numpy, torch, importlib.metadata as m; print("numpy", numpy.__version__, "torch", torch.__version__, *(f"{p} {m.version(p)}" for p in ("the-well", "neuraloperator", "pdebench")))'))"
