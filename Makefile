# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   tito module complete 19 (tests, export, import check, pytest), then the benchmark demo
#   make test   the whole test suite
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install check clean-venv test-services

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,grading,olympics]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito module complete 19
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito bench demo --out benchmark_results

test: $(STAMP) test-services
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest

# System programs the tests drive for real (the Olympics leaderboard on a PostgreSQL server, its results
# page in a headless Chromium): Debian packages, installed when missing. Needs root on Debian.
TEST_PACKAGES := postgresql chromium chromium-driver

test-services:
	@missing=""; for pkg in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "make test needs the Debian packages:$$missing (a PostgreSQL server and a headless Chromium for the" >&2; \
	  echo "Olympics tests). Install them as root: apt-get update && apt-get install -y$$missing" >&2; \
	  exit 1; \
	fi; \
	echo "installing$$missing (for the Olympics tests)"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$$missing >/dev/null

check: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/tito export --check

clean-venv:
	rm -rf $(VENV)
