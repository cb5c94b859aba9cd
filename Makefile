# Tianbao: `make run` serves the demo, `make test` runs the test suite.
# Everything is installed into .venv by these targets; nothing needs installing by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 2
# The suite runs in parallel test processes (pytest-xdist), one per core by default; each has
# its own SQLite file or PostgreSQL schema. TEST_WORKERS=0 runs it in this process alone.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# Exact versions of every dependency (and of the test tools), refreshed by `make lock`.
# Installs use it as a constraints file, so `make run` gets the runtime packages only and
# `make test` adds the test extra, both at the locked versions.
LOCK := requirements.lock
LOCK_CONSTRAINTS := lock-constraints.txt
UV_VERSION ?= 0.13.9
LATEST_VENV := .venv-latest
# name==version lines with the names normalised as PEP 503 does (ruamel.yaml = ruamel-yaml), sorted.
NORMALISE_PINS := awk -F'==' '{ n = tolower($$1); gsub(/[-_.]+/, "-", n); print n "==" $$2 }' \
	| LC_ALL=C sort

# Stamp files: reinstall only when the lock or the project's metadata changes.
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
INSTALL_INPUTS := $(LOCK) pyproject.toml setup.py

.PHONY: run test test-fast test-sqlite test-pg test-browser test-latest lock lint translations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(TEST_STAMP): $(INSTALL_INPUTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test]'
	touch $@ $(RUN_STAMP)

## Re-resolve the lock: the newest versions pyproject.toml allows, within lock-constraints.txt,
## for every platform on Python 3.11+. The lock pins versions without hashes: packages come
## from PyPI over TLS, and hashes would tie the lock to one set of files, refusing the same
## release from a local wheel cache or a mirror that built its own wheel.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--upgrade -c $(LOCK_CONSTRAINTS) --custom-compile-command 'make lock' --quiet -o $(LOCK)

## The suite on SQLite with the newest versions pyproject.toml allows (not the lock), in its
## own venv: shows what a `make lock` would bring before anyone commits to it.
test-latest:
	@test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/pip install --quiet -U --upgrade-strategy eager -e '.[test]'
	@echo "Versions that differ from $(LOCK):"
	@$(LATEST_VENV)/bin/pip freeze --exclude-editable | $(NORMALISE_PINS) > $(LATEST_VENV)/freeze.txt
	@sed -n 's/^\([A-Za-z0-9._-]*==[^ ;]*\).*/\1/p' $(LOCK) | $(NORMALISE_PINS) \
		| LC_ALL=C comm -13 - $(LATEST_VENV)/freeze.txt | sed 's/^/  /'
	$(LATEST_VENV)/bin/pybabel -q compile -d translations
	env -u DATABASE_URL $(LATEST_VENV)/bin/pytest

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
	env -u DATABASE_URL $(PYTEST)

## The inner loop: SQLite, without the tests marked slow (make test runs those too).
test-fast: $(TEST_STAMP) translations
	env -u DATABASE_URL $(PYTEST) -m 'not slow and not browser'

## The suite on PostgreSQL; fails if it is not reachable.
test-pg: $(TEST_STAMP) translations
	@$(BIN)/python -m server.dbcheck "$(TEST_DATABASE_URL)" || \
		{ echo "PostgreSQL not reachable at $(TEST_DATABASE_URL)"; exit 1; }
	DATABASE_URL="$(TEST_DATABASE_URL)" $(PYTEST)

## axe-core for the browser tests' accessibility scan, at the version package-lock.json pins.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## End-to-end tests in headless Chromium (Debian's /usr/bin/chromium).
test-browser: $(TEST_STAMP) translations $(AXE)
	env -u DATABASE_URL $(PYTEST) -m browser

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(LATEST_VENV) node_modules instance .pytest_cache .ruff_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find translations -name '*.mo' -delete
