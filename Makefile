PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck contracts unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/wf serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench migrations deploy
	$(BIN)/ruff format --check src tests bench migrations deploy

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

contracts: $(DEV_STAMP)
	$(BIN)/lint-imports

# Test files run in parallel, a process per core (at most 4), each with its own PostgreSQL and broker;
# a file's tests stay in one process, as some share a distributed stack started once for them.
test: lint typecheck contracts
	$(BIN)/pytest -p no:cacheprovider -n auto --maxprocesses=4 --dist loadfile --cov --cov-report=term -q

unit: $(DEV_STAMP)
	$(BIN)/pytest -q tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage
