#!/usr/bin/env bash
# Idempotent setup on Debian 12: MPI/PETSc/HDF5 from Debian's packages, a venv that sees them,
# and the project (editable) with its test and ML extras. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
APT_PKGS="openmpi-bin libopenmpi-dev python3-petsc4py python3-mpi4py python3-h5py-mpi python3-scipy python3-venv"

missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PETSC_DIR_DEB=$(ls -d /usr/lib/petscdir/petsc*/x86_64-linux-gnu-real 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$PETSC_DIR_DEB" ] || PETSC_DIR_DEB=$(ls -d /usr/lib/petscdir/petsc*/*-real 2>/dev/null | sort -V | tail -n 1)

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV (system site packages: petsc4py, mpi4py, h5py-mpi)"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# Make `import petsc4py` work without PETSC_DIR in the user's environment: Debian's petsc4py.pth
# looks under $PETSC_DIR (default /usr/lib/petsc, a link that is missing on Debian 12).
cat > "$SITE/00-petsc-dir.pth" <<PTH
import os, sys; os.environ.setdefault('PETSC_DIR', '$PETSC_DIR_DEB'); p = os.path.join(os.environ['PETSC_DIR'], 'lib/python3/dist-packages'); p in sys.path or sys.path.append(p)
PTH
grep -q PETSC_DIR "$VENV/bin/activate" || echo "export PETSC_DIR=$PETSC_DIR_DEB" >> "$VENV/bin/activate"

stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project (editable) with extras test, ml (torch==2.13.0 CPU)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "numpy<2" "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/pip" install -q --disable-pip-version-check -e ".[test,ml]" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import solvers, petsc4py, mpi4py, h5py, torch, numpy; assert numpy.__version__ < '2'"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
echo "setup: ok ($("$VENV/bin/python" -m solvers info --short 2>/dev/null || echo 'solvers installed'))"
