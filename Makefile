# Suyuan (溯源) — the two commands: `make demo` and `make test`. Each makes its own virtualenv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench chaos up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## demo: the embedded default (SQLite, no broker) with demo data
demo: $(STAMP)
	$(BIN)/suyuan demo

## test: unit + integration tests against a real Kafka-protocol broker and a real PostgreSQL
test: $(STAMP)
	bash infra/scripts/ensure-test-tools.sh
	$(BIN)/python -m pytest

## lint: ruff, ruff format --check, mypy (strict on src/, the CLI and the demo)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## bench: benchmarks, JSON on stdout and under bench/results/
bench: $(STAMP)
	$(BIN)/python -m bench

## chaos: faults under load against the real broker and PostgreSQL; asserts nothing lost or doubled
chaos: $(STAMP)
	bash infra/scripts/ensure-test-tools.sh
	$(BIN)/python -m chaos

## up: the full stack with docker compose (needs a Docker engine)
up:
	docker compose up --build -d

down:
	docker compose down -v

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .hypothesis
