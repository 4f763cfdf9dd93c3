# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

# Django 6 needs Python 3.12+: take PYTHON if given, else the first 3.12+ found on PATH
# or under pyenv.
PYTHON ?= $(shell for c in python3.13 python3.12 python3 \
	$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    echo $$c; break; fi; done)

.PHONY: help venv install migrate demo run test lint format messages clean

help:
	@echo "make run   - install, migrate, demo data, start web + worker + sandbox gateway"
	@echo "make test  - install, then run the whole test suite"
	@echo "make lint  - ruff check and format check"

$(PY):
	@if [ -z "$(PYTHON)" ]; then \
	  echo "No Python 3.12 or newer found (Django 6 needs it)."; \
	  echo "Install one, e.g. 'apt-get install python3.13' or 'pyenv install 3.13', or run 'make PYTHON=/path/to/python3.12 ...'."; \
	  exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

venv install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

WEB_PORT ?= 8000
SANDBOX_PORT ?= 8001

run: demo
	@echo ""
	@echo "  Open http://127.0.0.1:$(WEB_PORT)/  (admin: http://127.0.0.1:$(WEB_PORT)/admin/)"
	@echo "  Stop everything with Ctrl-C."
	@echo ""
	PATH="$(abspath $(BIN)):$$PATH" WEB_PORT=$(WEB_PORT) SANDBOX_PORT=$(SANDBOX_PORT) \
	  DAJI_API_URL=$${DAJI_API_URL:-http://127.0.0.1:$(SANDBOX_PORT)} \
	  CURRENCY_RATES_URL=$${CURRENCY_RATES_URL-http://127.0.0.1:$(SANDBOX_PORT)/ecb/eurofxref-daily.xml} \
	  $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Re-extract and compile the Chinese catalogue (needs GNU gettext: apt-get install gettext).
# The compiled .mo is committed, so running the product needs neither.
messages: install
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=tests --ignore=bench --ignore=var --ignore=staticfiles
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) var staticfiles
