# omnistock: `make run` starts the demo server, `make test` runs every check.
# Only Python 3.11+ is needed; everything else goes into .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Test processes (pytest-xdist), each with its own PostgreSQL cluster; a file stays in one.
JOBS ?= 2
LINT_PATHS := $(wildcard src tests bench)

.PHONY: run test test-fast lint bench clean

run: $(VENV)/.installed
	exec $(BIN)/omnistock serve --demo

test: lint
	$(BIN)/pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

# The edit loop: unit and API tests, no lint, no slow test, SQLite only, stop at the first failure.
test-fast: $(VENV)/.installed-dev
	$(BIN)/pytest -q -x -n $(JOBS) --dist loadfile -m "not slow" -k "not postgresql" \
		tests/unit tests/api $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python bench/movements.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "omnistock needs Python 3.11 or newer: set PYTHON=python3.11 (or newer)"; exit 1; }
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || \
		{ echo "$(PYTHON) cannot create a venv: apt-get install python3-venv"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changed (the install is editable: src/ changes need none).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $@

# The dev install includes the runtime one, so it satisfies `make run` too.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@ $(VENV)/.installed
