# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app qa_app
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint format bench load install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Install, migrate the embedded SQLite database, load the demo data and serve on http://127.0.0.1:5000
run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host $(HOST) --port $(PORT)

## Install what the tests need and run them (SQLite; PostgreSQL when TEST_DATABASE_URL is set)
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

## Benchmarks (numbers for the notes; nothing is asserted), written to BENCHMARKS.md as one table:
## 100,000 batches; 1,000,000 result rows (the last 100,000 through the CSV import); CU evaluation;
## 1,000,000 readings in, a year's and 30 days' summary beside plain Python (five units with a
## year); certificates; release under load (bench/load.py, PostgreSQL)
bench: install-dev
	$(BIN)/python bench/report.py

## A minute of technicians, reviewers and a sensor against gunicorn on the local PostgreSQL (nothing asserted)
load: install-dev
	$(BIN)/python bench/load.py
