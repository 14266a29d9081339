# One entry point: `make demo` and `make test` create the environment when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
DEMO_ARGS ?=
RECIPE_DIR ?= runs/fashion_mnist
RECIPE_ARGS ?= --validation-split none --epochs 16 --steps-per-epoch 500 --batch-size 64 \
	--learning-rate 0.01 --schedule cosine --warmup-epochs 1 --dropout 0.5 --seed 0 --checkpoint-steps 250 --dtype bfloat16

.PHONY: env test demo recipe fashion-mnist clean-env

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

# The full Fashion-MNIST recipe (under two hours on 2 CPU cores with bfloat16 units; elsewhere
# use float32 and --epochs 12): all 60,000 training images, evaluated on all 10,000 test
# images. Re-running resumes the training.
recipe: $(STAMP) fashion-mnist
	$(PY) tools/fashion_mnist.py --out $(RECIPE_DIR)/data
	$(PY) tools/dataset_stats.py --data-dir $(RECIPE_DIR)/data
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) tools/train.py --data-dir $(RECIPE_DIR)/data --model-dir $(RECIPE_DIR)/model $(RECIPE_ARGS)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) tools/evaluate.py --model-dir $(RECIPE_DIR)/model --data-dir $(RECIPE_DIR)/data \
		--crops center ten --output $(RECIPE_DIR)/evaluation.json

clean-env:
	rm -rf $(VENV)
