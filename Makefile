# Tianbao: `make run` serves the demo, `make test` runs the test suite.
# Everything is installed into .venv by these targets; nothing needs installing by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2

# Stamp files: reinstall only when pyproject.toml changes.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-sqlite test-pg test-browser lint translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

## Compile the message catalogues (.po -> .mo); nothing to do before catalogues exist.
translations: $(RUN_STAMP)
	@if ls translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d translations; \
	fi

## Migrate, load the catalogue and the demo data, print the demo accounts, serve.
run: $(RUN_STAMP) translations
	$(BIN)/tianbao init --demo
	$(BIN)/tianbao serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## The whole suite on SQLite, then on PostgreSQL when one answers (TIANBAO_SKIP_PG=1: not).
test: test-sqlite
	@if [ -n "$$TIANBAO_SKIP_PG" ]; then \
		echo "TIANBAO_SKIP_PG is set: PostgreSQL run skipped"; \
	elif $(BIN)/python -m server.dbcheck "$(TEST_DATABASE_URL)"; then \
		$(MAKE) --no-print-directory test-pg; \
	else \
		echo "PostgreSQL not reachable: PostgreSQL run skipped"; \
	fi

test-sqlite: $(TEST_STAMP) translations
	env -u DATABASE_URL $(BIN)/pytest

## The suite on PostgreSQL; fails if it is not reachable.
test-pg: $(TEST_STAMP) translations
	@$(BIN)/python -m server.dbcheck "$(TEST_DATABASE_URL)" || \
		{ echo "PostgreSQL not reachable at $(TEST_DATABASE_URL)"; exit 1; }
	DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest

## End-to-end tests in headless Chromium (Debian's /usr/bin/chromium).
test-browser: $(TEST_STAMP) translations
	env -u DATABASE_URL $(BIN)/pytest -m browser

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find translations -name '*.mo' -delete
