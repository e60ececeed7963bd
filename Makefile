# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   tito module complete 19 (tests, export, import check, pytest), then the benchmark demo
#   make test   the whole test suite
# `make check` (CI runs it too): the package and notebooks are what modules/ generates, and ruff passes.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install check clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,grading]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito module complete 19
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito bench demo --out benchmark_results

test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

check: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito export --check
	$(BIN)/ruff check .

clean-venv:
	rm -rf $(VENV)
