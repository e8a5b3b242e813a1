# Thin wrappers over scripts/. `make demo` and `make test` set everything up first (idempotent).
PY      := .venv/bin/python
ROOTFLAG := $(if $(filter 0,$(shell id -u)),--allow-run-as-root,)
MPIRUN  := mpirun $(ROOTFLAG) --oversubscribe
NP      ?= 2
export OMP_NUM_THREADS ?= 1

.PHONY: setup demo test test-slow test-all validate bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(MPIRUN) -n $(NP) $(PY) -m solvers run cases/poisson_2d.toml -o out/poisson_2d.h5

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

.PHONY: test-interop
test-interop: setup
	@bash scripts/setup_interop.sh
	.venv-interop/bin/python -m pytest -q tests/interop --confcutdir tests/interop

test-all: setup
	$(PY) -m pytest -q -m "slow or not slow"

validate: setup
	$(MPIRUN) -n $(NP) $(PY) -m solvers validate --plots out/plots

bench: setup
	$(PY) scripts/bench_poisson.py

clean:
	rm -rf out results .pytest_cache
