# Zoo: `make run` serves the API, `make test` runs lint and the whole suite.
# PYTHON: any Python 3.11 to 3.13 (the first found, or say which: make run PYTHON=python3.12).
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || echo python3)
VENV ?= .venv
BIN := $(VENV)/bin
ZOO_HOST ?= 127.0.0.1
ZOO_PORT ?= 8000
export ZOO_HOST ZOO_PORT

.PHONY: install install-dev run migrate seed test test-quick test-fast-lists-off lint format schema bench fuzz load attack graphiql-assets bench-peers schemathesis clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# setuptools' notice about editable installs is advice for its own developers, not a failure.
PIP_INSTALL := PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -c constraints.txt

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/zoo migrate
	$(BIN)/zoo seed --if-empty
	$(BIN)/zoo serve

migrate: install
	$(BIN)/zoo migrate

seed: install
	$(BIN)/zoo seed

lint: install-dev
	$(BIN)/ruff check zoo tests migrations bench
	$(BIN)/ruff format --check zoo tests migrations bench
	$(BIN)/mypy zoo

format: install-dev
	$(BIN)/ruff format zoo tests migrations bench
	$(BIN)/ruff check --fix zoo tests migrations bench

# The JavaScript clients of the interop tests (tests/js, pinned by its lockfile).
# Without npm they are not installed and those tests skip; .ci/run requires them.
JS_CLIENTS := tests/js/node_modules/.installed
$(JS_CLIENTS): tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the JavaScript interop tests will skip"; fi

# The suite runs against SQLite always, and against PostgreSQL when
# ZOO_TEST_POSTGRES_URL is set (.ci/run sets it; then an unreachable server fails).
test: lint $(JS_CLIENTS)
	$(BIN)/pytest

# Under two minutes: no real server processes, faults, browser or third-party clients.
test-quick: install-dev
	$(BIN)/pytest -q -m "not slow and not browser and not interop"

# The query, list and limit tests again with the fast list executor switched off
# (ZOO_FAST_LISTS=false): the switch itself holds, the item limit with it.
FAST_PATH_TESTS := tests/graphql/fastpath tests/graphql/limits tests/graphql/test_dataloaders.py \
	tests/graphql/test_deferred.py tests/graphql/transport/test_http.py tests/core \
	tests/animals tests/exhibits tests/staff
test-fast-lists-off: install-dev
	ZOO_FAST_LISTS=false $(BIN)/pytest -q $(FAST_PATH_TESTS) -m "not slow"

# A longer fuzz run than the one in `make test`.
fuzz: install-dev
	ZOO_FUZZ_EXAMPLES=$${ZOO_FUZZ_EXAMPLES:-2000} $(BIN)/pytest -m fuzz -q

# schemathesis over /openapi.json (anonymous and as an ADMIN) and /graphql, every check.
# Not in CI at this length.
schemathesis: install-dev
	$(BIN)/python -m tests.support.schemathesis_runs --examples $${ZOO_SCHEMATHESIS_EXAMPLES:-100}

# Not in CI: a bounded load test against a server on 127.0.0.1.
load: install-dev
	$(BIN)/python -m bench.load

# Not in CI: Zoo beside PostGraphile 5 on the same PostgreSQL rows (bench/peers.py).
# Needs npm; Node 22 comes from the npm registry (bench/peers/package.json).
PEERS := bench/peers/node_modules/.installed
$(PEERS): bench/peers/package.json bench/peers/package-lock.json
	npm ci --prefix bench/peers --no-audit --no-fund --loglevel=error && touch $@

bench-peers: install-dev $(PEERS)
	$(BIN)/python -m bench.peers

# GraphiQL's vendored files, fetched again with npm at the versions
# zoo/graphql/transport/static/vendor/manifest.json pins and checked against its hashes.
# Upgrade one: make graphiql-assets UPGRADE="--upgrade graphiql@3.9.0"
graphiql-assets: install-dev
	$(BIN)/python -m zoo.graphql.transport.graphiql_assets $(UPGRADE)

# Not in CI: normal reads beside an attack mix; reports their p99 against reads alone.
attack: install-dev
	$(BIN)/python -m bench.attack

bench: install-dev
	$(BIN)/python -m bench

schema: install
	$(BIN)/zoo schema export schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data tests/js/node_modules
