# One entry point: `make demo` and `make test` create the environment when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
DEMO_ARGS ?=

.PHONY: env test demo fashion-mnist clean-env

env: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[serving,figures,test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# Debian's Fashion-MNIST package, when this user can install it; the demo explains
# how to get the files otherwise.
fashion-mnist:
	@if [ ! -f $(FASHION_MNIST) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's dataset-fashion-mnist ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist \
			|| echo "Could not install dataset-fashion-mnist with apt-get."; \
	fi

demo: $(STAMP) fashion-mnist
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) tools/demo.py $(DEMO_ARGS)

clean-env:
	rm -rf $(VENV)
