# One entry point: `make test` and `make demo` create the environment when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: env test bench clean-env

env: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[serving,figures,test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

clean-env:
	rm -rf $(VENV)
