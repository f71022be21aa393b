# Two commands (README): `make run` sets up and runs the main job; `make test` sets up and tests.
VENV ?= .venv
# Extras installed with the project; CI adds `ray` to exercise the Ray sweep backend.
EXTRAS ?= test
PY := $(VENV)/bin/python
# Offline datasets beside the checkout (../shared/datasets); override with LPGNAS_DATA=...
LPGNAS_DATA ?= $(abspath ../shared/datasets)
export LPGNAS_DATA

.PHONY: setup run test test-slow lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an open torch requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

run: setup
	$(VENV)/bin/lpgnas-hw search --target zcu102 --dataset cora

# The fast tier (the default run excludes tests marked slow); CI runs both tiers.
test: setup
	$(PY) -m ruff check lpgnas hwsim costmodels tests benchmarks examples
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

bench: setup
	$(PY) benchmarks/bench_train.py
