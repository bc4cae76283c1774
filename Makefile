# colorlib — the study's entry points. `make help` lists them.
SHELL := /bin/bash
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: help setup test
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

# Setup is a file target: it re-runs only when pyproject.toml changes (idempotent, seconds).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (colorlib)" >/dev/null
	touch $@

setup: $(STAMP)  ## create .venv and install colorlib with its dev extras

test: setup  ## the whole test suite (unit tests + notebooks under nbval)
	$(PY) -m pytest -q
