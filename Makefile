# The two commands a newcomer needs:  make run   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint unit clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# A real report from a description, on the embedded defaults (no account, no network).
run: setup
	$(BIN)/diagpro diagnose --equipment-type automotive --make Ford --model F-150 --year 2015 \
	  --codes "P0301 P0171" --problem "Rough idle and shaking at stops, worse when cold" \
	  --email owner@example.com --output report.pdf

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

# Lint, type checks, import contracts, then every test (unit, contract, features, processes).
test: lint
	$(BIN)/pytest

# The fast part only: domain, use cases, contracts and features, no subprocesses.
unit: setup
	$(BIN)/pytest -m "not process"

clean:
	rm -rf $(VENV) var report.pdf .pytest_cache .mypy_cache .ruff_cache
