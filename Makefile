# Two commands do all the set-up on a fresh clone:
#   make demo   creates .venv, installs seqkit, trains and evaluates a small sentiment model on CPU
#   make test   creates .venv if needed, installs seqkit, runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Every install goes through constraints.txt: it pins torch to the CPU build seqkit is tested with.
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt

# Real datasets beside the repository, unless SEQKIT_DATA_DIR already points somewhere.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(SEQKIT_DATA_DIR),)
  ifneq ($(wildcard $(SHARED_DATA)),)
    export SEQKIT_DATA_DIR := $(SHARED_DATA)
  endif
endif

.PHONY: install demo test lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/seqkit fit --config recipes/sentiment/sst2.yaml --trainer.max_epochs 1 --test_after_fit true

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check seqkit tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
