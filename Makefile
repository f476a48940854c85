# The README's commands. Everything installs itself into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt layers/dependencies/requirements.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?= -n auto
# Coverage of shared/inventory and functions (pyproject's [tool.coverage]), with its floor.
COVERAGE_ARGS ?= --cov --cov-report=term:skip-covered
export SAM_CLI_TELEMETRY := 0
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: help install check lint format typecheck test test-fast test-postgres15 run token migrate invoke bench validate build coldstart clean openapi openapi-lint openapi-clients

help:
	@echo "make run      - the whole system locally (embedded PostgreSQL, moto DynamoDB, HTTP API)"
	@echo "make token SCOPES=\"inventory/availability.read ...\" - a bearer token make run's API accepts"
	@echo "make test     - install everything and run lint, types, the template check and all tests (with coverage)"
	@echo "make test-fast - the tests without slow, perf and built ones"
	@echo "make test-postgres15 - the tests that use PostgreSQL, on PostgreSQL 15 (Debian's package)"
	@echo "make migrate  - apply migrations to \$$DATABASE_URL"
	@echo "make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json - one local invocation"
	@echo "make bench    - the benchmark (figures, not pass/fail)"
	@echo "make build    - sam build (no Docker; needs python3.13)"
	@echo "make coldstart - cold-start figures of the built functions"
	@echo "make openapi  - regenerate openapi.json from the handlers"
	@echo "make openapi-lint - openapi-spec-validator and redocly lint (recommended) on openapi.json"
	@echo "make openapi-clients - the Python and TypeScript clients generated into .local/openapi-clients/"

$(STAMP): requirements-dev.txt layers/dependencies/requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required (found %s)" % sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements into $(VENV) (first run takes a few minutes)..." >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(BIN)/python -m pip install --quiet -r requirements-dev.txt >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy shared functions devtools tests

validate: install
	$(BIN)/sam validate --lint

check: lint typecheck validate

test: check
	$(BIN)/pytest $(PYTEST_ARGS) $(COVERAGE_ARGS)

# Without the property/load tests, the performance tests and the built-artifact tests (which
# run `sam build`); no coverage floor, as a subset would not reach it.
test-fast: install
	$(BIN)/pytest $(PYTEST_ARGS) -m "not slow and not built and not perf"

# The tests that use PostgreSQL again, on the oldest supported major: Debian's postgresql-15,
# installed by apt-get when missing (as root). The tests start and stop their throwaway server
# from its binaries as they do the embedded one's. Not the unit tests (no database) nor the
# built ones (`sam build`, then the same SQL); so no coverage floor.
PG15_BIN := /usr/lib/postgresql/15/bin

test-postgres15: install
	@test -x $(PG15_BIN)/postgres || { \
	  test "$$(id -u)" -eq 0 || { echo "Install PostgreSQL 15: apt-get install postgresql-15 (as root)" >&2; exit 1; }; \
	  echo "Installing Debian's postgresql-15..."; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15; } \
	    > $(VENV)/postgresql-15.log 2>&1 || { cat $(VENV)/postgresql-15.log; exit 1; }; }
	$(PG15_BIN)/postgres --version
	env -u DATABASE_URL INVENTORY_POSTGRES_BIN=$(PG15_BIN) \
	  $(BIN)/pytest $(PYTEST_ARGS) -m "not built" tests/integration tests/performance tests/contract

run: install
	$(BIN)/python -m devtools.run

# A bearer token for `make run`'s API, signed by the local issuer (.local/jwt_signing_key.json).
SCOPES ?=
token: install
	@$(BIN)/python -m devtools.token --scopes "$(SCOPES)"

migrate: install
	$(BIN)/python -m devtools.migrate

invoke: install
	@test -n "$(FUNCTION)" || (echo "usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json"; exit 2)
	$(BIN)/python -m devtools.invoke $(FUNCTION) $(EVENT)

# Extra arguments, e.g. make bench BENCH_ARGS="--mechanisms --sizes 100000"
BENCH_ARGS ?=
bench: install
	$(BIN)/python -m devtools.bench $(BENCH_ARGS)

openapi: install
	$(BIN)/python -m devtools.openapi

# The OpenAPI toolchain (pinned in devtools/openapi_toolchain/) installs itself under
# .local/openapi-toolchain/ on first use, never into .venv. The suite runs the same checks
# (tests/contract/test_generated_clients.py, marked slow).
openapi-lint: install
	$(BIN)/python -m devtools.openapi_clients lint

openapi-clients: install
	$(BIN)/python -m devtools.openapi_clients generate

# sam build (without Docker) needs the Lambda runtime's Python, 3.13, on PATH; pyenv keeps it
# under versions/, where its shim alone does not expose it.
PY313_DIR := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin))

build: install
	PATH="$(PY313_DIR):$$PATH" $(BIN)/sam build

# Import + first-invocation time of every built function, in Lambda's layout (figures).
coldstart: install
	$(BIN)/python -m devtools.coldstart

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage .coverage.*
