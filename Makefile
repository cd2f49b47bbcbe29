# corespond — every command a developer or operator needs. `make help` lists them.
# Needs only Python 3.11+, make and (for browser tests) Debian's chromium.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
DEMO   ?= var/demo-city
# Demo-city size: small enough that `make demo` is ready in about a minute.
PEOPLE ?= 2000
YEARS  ?= 1
SEED   ?= 7
# The city's history starts on 2023-01-01; pages count "recent" from its last day.
DEMO_AS_OF = $(shell echo $$((2022 + $(YEARS))))-12-31
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: help install demo demo-city demo-data demo-feed serve test test-postgres test-browser lint format typecheck bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/' | expand -t 18

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python uv.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(UV) sync --frozen --all-extras --quiet
	touch $@

install: $(VENV)/.installed  ## Create .venv with the locked dependencies (uv.lock)

demo-city: install  ## Generate the synthetic demo city into $(DEMO) (PEOPLE, YEARS, SEED)
	CORESPOND_MODE=demo $(BIN)/corespond demo city --people $(PEOPLE) --years $(YEARS) --seed $(SEED) --out $(DEMO)

demo-data: demo-city  ## Build the demo city, import it into a fresh var/demo.db and link its people
	rm -f var/demo.db var/demo.db-wal var/demo.db-shm
	CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond db upgrade
	CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond ingest $(DEMO)
	CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond link run
	CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond demo users

demo: demo-data  ## Set up everything, build and import the demo city, serve it at http://$(HOST):$(PORT)
	@echo
	@echo "  corespond demo: http://$(HOST):$(PORT)   (stop with Ctrl+C)"
	@echo "  sign in as a demo user above; the code: CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond demo code demo-data-steward"
	@echo
	CORESPOND_MODE=demo CORESPOND_AS_OF=$(DEMO_AS_OF) CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond serve --host $(HOST) --port $(PORT)

demo-feed: install  ## With `make demo` running: replay the city's last 30 days of CAD incidents (EIDO) into it, 600 times faster
	@test -f var/demo.db -a -d $(DEMO)/cad-eido || { echo "run 'make demo' first (in another terminal)"; exit 1; }
	@set -e; \
	issued=$$(CORESPOND_MODE=demo CORESPOND_DATABASE_URL=sqlite:///var/demo.db $(BIN)/corespond users token demo-dispatcher --name "make demo-feed" --scopes dispatch:intake,dispatch:read,dispatch:decide --days 1); \
	echo "  live feed into http://$(HOST):$(PORT)/dispatch (sign in as demo-dispatcher to watch; stop with Ctrl+C)"; \
	CORESPOND_API_TOKEN=$$(printf '%s\n' "$$issued" | tail -n 1) $(BIN)/corespond dispatch replay $(DEMO)/cad-eido --speed 600 --url http://$(HOST):$(PORT)

serve: install  ## Serve the app on the configured database (CORESPOND_DATABASE_URL)
	$(BIN)/corespond serve --host $(HOST) --port $(PORT)

test: install  ## Run the whole test suite (SQLite; set CORESPOND_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/python -m pytest -q

test-browser: install  ## Only the browser tests (Debian's chromium); pictures in test-artifacts/screenshots
	$(BIN)/python -m pytest -q tests/browser

test-postgres: install  ## Run the suite on a fresh PostgreSQL database on 127.0.0.1:5432
	psql -h 127.0.0.1 -U postgres -q -c 'DROP DATABASE IF EXISTS corespond_test' -c 'CREATE DATABASE corespond_test'
	CORESPOND_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/corespond_test $(MAKE) test

lint: install  ## ruff check and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install  ## Reformat the code with ruff
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: install  ## mypy on src/
	$(BIN)/mypy src

bench: install  ## Run the benchmarks (slow: builds the 100,000-person city)
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/ingest.py

clean:  ## Remove the environment and local data
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
