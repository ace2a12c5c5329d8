# childsafe — two commands: `make demo` runs the platform, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://childsafe:childsafe@127.0.0.1:5432/postgres

.PHONY: demo test install install-test services lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## Set up the embedded platform (SQLite, demo keys and data) and serve it on http://127.0.0.1:8000,
## with the demo chat app (Chatty, connected through the SDK) on http://127.0.0.1:8001; Ctrl-C stops both
demo: install
	$(BIN)/childsafe demo

services:
	./scripts/ensure-services.sh

lint: install-test
	$(BIN)/ruff check childsafe tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy childsafe

## Install test extras and system services, then run lint and the whole suite
test: install-test services lint
	CHILDSAFE_TEST_PG_URL=$(PG_TEST_URL) $(BIN)/python -m pytest

bench: install-test services
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
