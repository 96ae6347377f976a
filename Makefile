# The two commands a newcomer needs:  make run   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup test-setup run demo test lint unit features bench lock messages clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# What the tests need beyond the service: poppler-utils, Chromium and its driver, a Java runtime.
test-setup: setup
	bash scripts/install-system-deps.sh --tests

# The service on its embedded defaults: API, webhook, pages and worker on http://$(HOST):$(PORT)
run: setup
	$(BIN)/diagpro serve --host $(HOST) --port $(PORT)

# A real report from a description in one command, no server needed.
demo: setup
	$(BIN)/diagpro diagnose --equipment-type automotive --make Ford --model F-150 --year 2015 \
	  --codes "P0301 P0171" --problem "Rough idle and shaking at stops, worse when cold" \
	  --email owner@example.com --output report.pdf

lint: test-setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# Lint, type checks, import contracts, then every test (unit, contract, features, processes,
# emulators; among the processes, schemathesis against `diagpro serve`, checking the OpenAPI
# document). The emulator tests need gcloud, its emulators and Java: the check says how to get them.
# BASE_URL emptied: the features hit a deployed service only through `make features`.
test: lint
	bash scripts/check-test-tools.sh
	BASE_URL= $(BIN)/pytest

# The fast part only: domain, use cases, contracts and features. No emulator, server, CLI or
# render process is started (tests marked process or emulator); poppler's pdftotext still reads PDFs.
unit: test-setup
	BASE_URL= $(BIN)/pytest -m "not process and not emulator"

# The Gherkin features. Without BASE_URL: in-process and against a `diagpro serve` this run
# starts. With BASE_URL and API_KEY (WEBHOOK_SECRET optional): against that deployed service only.
# -rs prints why each skipped scenario cannot run where it was pointed.
features: test-setup
	BASE_URL="$(BASE_URL)" API_KEY="$(API_KEY)" WEBHOOK_SECRET="$(WEBHOOK_SECRET)" \
	  $(BIN)/pytest tests/features -rsx

# The order path's HTTP benchmark against a bare Litestar endpoint, driven by wrk (about 6 minutes;
# bench/README.md says how to read it and how to run a baseline beside it). Never part of make test.
bench: setup
	bash scripts/install-system-deps.sh --bench
	$(BIN)/python bench/http_bench.py

# deploy/requirements.lock: every runtime dependency pinned with its hashes, for the image
# (deploy/Dockerfile: Python 3.11 on Debian 12, x86_64). Run after changing pyproject.toml's
# dependencies; a test fails when the lock misses one.
lock: setup
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" \
	  --output-file deploy/requirements.lock

# The message catalogues: re-extract src/diagpro/locale/<domain>.pot for every message domain and
# merge each into the Spanish catalogue (new entries arrive untranslated, for a translator to
# fill in). tests/unit/test_message_catalogues.py fails until they are current and translated.
messages: setup
	PYTHONPATH=src $(BIN)/python scripts/extract_messages.py

clean:
	rm -rf $(VENV) var report.pdf .pytest_cache .mypy_cache .ruff_cache
