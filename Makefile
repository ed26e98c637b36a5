# DSTC RTL generator: two commands on a fresh Debian 12 machine.
#   make demo   generate the default core and run a check on it
#   make test   run every test (golden model, Amaranth simulation, cocotb on Icarus and Verilator)
# Each installs what is missing first: .venv with the pinned requirements, and through apt
# when running as root: Icarus Verilog, ccache (faster Verilator rebuilds) and the lz4/zlib
# headers that Verilator's FST waveform writer compiles against.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: all demo test lint soak bench generate tools venv clean help

all: test

help:
	@echo "make demo | test | lint | soak | bench | generate | clean"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(STAMP)

APT_PACKAGES := iverilog ccache liblz4-dev zlib1g-dev

tools:
	@if ! command -v iverilog >/dev/null || ! command -v ccache >/dev/null \
	    || [ ! -f /usr/include/lz4.h ] || [ ! -f /usr/include/zlib.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $(APT_PACKAGES) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "error: missing system packages: sudo apt-get install $(APT_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check hw sim gen tb

test: $(STAMP) tools lint
	$(BIN)/pytest -n $(JOBS) --durations=15 tb

soak: $(STAMP) tools
	$(BIN)/pytest -n $(JOBS) -m slow tb

bench: $(STAMP) tools
	$(BIN)/dstc bench

generate: $(STAMP)
	$(BIN)/dstc generate --preset default -o build/default

demo: $(STAMP) tools
	$(BIN)/dstc demo

clean:
	rm -rf build .pytest_cache .ruff_cache
