# Perflink: the README's commands. Everything runs from a fresh clone with only Python 3.12+ and make.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo serve test test-fast bench lint format messages clean

install: $(STAMP)  ## .venv with the project and its locked dependencies

$(STAMP): requirements.lock pyproject.toml
	@PY=$$(scripts/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "creating $(VENV) with $$PY"; $$PY -m venv $(VENV); fi
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9 \
	  || $(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

var/.migrated: $(STAMP) $(wildcard perflink/*/migrations/*.py)
	$(BIN)/perflink keys init
	$(BIN)/perflink migrate --no-input
	@touch var/.migrated

demo: var/.migrated  ## set up, load the demo insurer (once), serve on http://127.0.0.1:8000
	@$(BIN)/perflink demo-data --tenant demo --employees 5000 --months 24 --seed 7 --if-missing
	@echo ""
	@echo "Perflink is starting at http://$(HOST):$(PORT)  (Ctrl-C stops it)"
	@$(BIN)/perflink demo-data --tenant demo --show-logins
	$(BIN)/perflink serve $(HOST):$(PORT) --noreload

serve: var/.migrated
	$(BIN)/perflink serve $(HOST):$(PORT)

test: $(STAMP)  ## the whole suite (browser tests skip, saying why, when no Chromium exists)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: var/.migrated  ## benchmarks, one JSON line each
	@for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: $(STAMP)  ## refresh and compile the translation files
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=test-artifacts
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
