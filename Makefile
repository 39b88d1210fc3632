# Two commands do all the set-up on a fresh clone:
#   make demo   creates .venv, installs seqkit, trains and evaluates a small sentiment model on CPU
#   make test   creates .venv if needed, installs seqkit, runs the test suite
#   make docs   runs the tutorials and builds the documentation site into site/ (open site/index.html)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Every install goes through constraints.txt: it pins the torch version (and the others seqkit is tested with).
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt
# Which torch *build* to install: PyTorch's CPU wheel index by default (PyPI's Linux wheel is the CUDA build with
# several GB of nvidia packages). A CUDA build: make install TORCH_INDEX=https://download.pytorch.org/whl/cu126
# Empty (TORCH_INDEX=) takes whatever pip's configured index gives.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIN := $(shell grep '^torch==' constraints.txt)
SHOW_TORCH := $(BIN)/python -c "import torch; print('torch', torch.__version__, '- CUDA available' if torch.cuda.is_available() else '- CPU only')"

# Real datasets beside the repository, unless SEQKIT_DATA_DIR already points somewhere.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(SEQKIT_DATA_DIR),)
  ifneq ($(wildcard $(SHARED_DATA)),)
    export SEQKIT_DATA_DIR := $(SHARED_DATA)
  endif
endif

.PHONY: install demo test docs-test lint docs clean

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -m venv $(VENV)
	@index="$(TORCH_INDEX)"; \
	if [ -n "$$index" ] && ! $(PYTHON) -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)" \
	    "$$index/" > /dev/null 2>&1; then \
	  echo "PyTorch's index $$index cannot be reached: installing $(TORCH_PIN) from pip's configured index instead."; \
	  index=""; \
	fi; \
	echo "Installing $(TORCH_PIN) and seqkit[dev,docs] into $(VENV) (a few minutes; pip's output goes to $(VENV)/install.log)"; \
	{ $(PIP_INSTALL) $${index:+--extra-index-url $$index} torch && $(PIP_INSTALL) -e '.[dev,docs]'; } \
	  > $(VENV)/install.log 2>&1 || { tail -n 15 $(VENV)/install.log; echo "Installation failed; pip's whole output: $(VENV)/install.log"; exit 1; }
	@$(SHOW_TORCH)
	@touch $@

install: $(VENV)/.installed

demo: install
	@echo "Demo environment: $(VENV) with seqkit and $$($(SHOW_TORCH))"
	$(BIN)/seqkit fit --config recipes/sentiment/sst2.yaml --trainer.max_epochs 1 --test_after_fit true

# Test files run in TEST_WORKERS processes (pytest-xdist, one file per process at a time), one thread each.
TEST_WORKERS ?= 2
test: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The tutorials (each run as a test, its key result checked) and the strict, offline site build: CI's second step.
docs-test: install
	$(BIN)/python -m pytest -m tutorial tests/docs

# Tutorials first (their outputs and figures go to docs/tutorials/generated/), then the strict build into site/.
docs: install
	OMP_NUM_THREADS=1 $(BIN)/python docs/tutorials/run.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: install
	$(BIN)/ruff check seqkit tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache site docs/tutorials/generated
