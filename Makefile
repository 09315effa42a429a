# The two commands: `make run` (the whole hub, locally, embedded defaults) and `make test`.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-sqlite test-postgres lint format tools bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kitchen run

# docker-compose (Debian's package) validates docker-compose.yml without a Docker engine.
tools:
	@command -v docker-compose >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; \
	  else echo "docker-compose missing: sudo apt-get install docker-compose"; fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-sqlite: install tools
	KITCHEN_TEST_DB=sqlite $(BIN)/pytest

test-postgres: install tools
	KITCHEN_TEST_DB=postgres $(BIN)/pytest

test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python bench/pipeline.py
