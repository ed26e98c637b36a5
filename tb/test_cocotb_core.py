"""The whole core on its generated Verilog, in cocotb, on Icarus and Verilator: bit-exact
and cycle-exact against the golden model (tb/cocotb_tests/core.py)."""

import numpy as np
import pytest
from command_runs import run_command_tests, run_soak
from core_scenarios import random_tile_program
from designs import core_design
from presets import ALL_PRESETS, PRESETS, SMALL_PRESETS, SMALL_VARIANT_PRESETS, VARIANT_PRESETS

from dstc.gen.cocotb_run import SIMULATORS
from dstc.gen.core_driver import simulate_commands
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb

# (random tiles, random tiles with stalls) per preset and simulator in `make test`. Icarus
# simulates the 32x32 fp16 core at about 40 cycles/s, so it runs fewer of those tiles;
# Verilator runs 100 random tiles of every preset.
TILES = {
    ("small", "verilator"): (200, 50), ("small", "icarus"): (200, 50),
    ("small-fp16", "verilator"): (200, 50), ("small-fp16", "icarus"): (200, 50),
    ("small8", "verilator"): (100, 25), ("small8", "icarus"): (50, 12),
    # the five small8 accumulator variants (Verilator in `make test`, both in `make soak`)
    ("small8-variant", "verilator"): (48, 12), ("small8-variant", "icarus"): (50, 12),
    ("int8", "verilator"): (100, 16), ("int8", "icarus"): (100, 16),
    ("default", "verilator"): (100, 16), ("default", "icarus"): (16, 4),
}
SOAK_TILES = 2000


def tiles_of(preset_name, simulator):
    """:data:`TILES` of a preset; an accumulator variant (``small8-g2``, ``default-reach``)
    runs as many as its shape's crossbar preset."""
    if (preset_name, simulator) in TILES:
        return TILES[(preset_name, simulator)]
    if preset_name in SMALL_VARIANT_PRESETS:
        return TILES[("small8-variant", simulator)]
    return TILES[(preset_name.split("-")[0], simulator)]


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", PRESETS)
def test_core(preset_name, simulator, seed):
    check_core(preset_name, simulator, seed)


@pytest.mark.parametrize("preset_name", SMALL_VARIANT_PRESETS)
def test_core_variant(preset_name, seed):
    """An accumulator variant in `make test`: one simulator (Verilator; `make soak` runs
    both). The model it matches cycle for cycle is the crossbar's timing: a variant with
    lane skipping (``reach``) accepts every command in the same cycle as the crossbar."""
    check_core(preset_name, "verilator", seed)


def test_inline_bitmaps_save_the_headers_on_the_rtl(seed):
    """The same GEMM on the small8 and small8-inline RTL (Verilator): the same drained tiles
    (digest), and the inline core takes exactly one cycle per SPWMMA header fewer (each run
    is also checked against its own model inside cocotb)."""
    runs = {name: run_command_tests(core_design(name), "core", name, "verilator", seed, 0, 0,
                                    testcase=["header_saving"])["header_saving"]
            for name in ("small8", "small8-inline")}
    header, inline = runs["small8"], runs["small8-inline"]
    assert header["digest"] == inline["digest"], runs
    assert header["headers"] == inline["headers"] > 0, runs
    assert header["cycles"] - inline["cycles"] == header["headers"], runs


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", VARIANT_PRESETS)
def test_core_variant_soak(preset_name, simulator, seed):
    """`make soak`: every accumulator variant on both simulators."""
    check_core(preset_name, simulator, seed)


def check_core(preset_name, simulator, seed):
    """The cocotb core tests of ``preset_name`` on ``simulator``, with the measured counts
    asserted."""
    config = preset(preset_name)
    tiles, stall_tiles = tiles_of(preset_name, simulator)
    summary = run_command_tests(core_design(preset_name), "core", preset_name, simulator,
                                seed, tiles, stall_tiles)
    if config.inline_kstep:
        # No header beat to count: the SpWMMAs that sent a KSTEP (core_scenarios.spwmma_starts:
        # the tiles with an empty k-step overlap send nothing; consecutive ones may merge).
        assert 0 < summary["random_tiles"]["tiles"] <= tiles, summary["random_tiles"]
        assert 0 < summary["random_tiles_with_stalls"]["tiles"] <= stall_tiles
        assert summary["inline_empty_sides"]["responses"] == config.tile_m
    else:
        assert summary["random_tiles"]["tiles"] == tiles
        assert summary["random_tiles_with_stalls"]["tiles"] == stall_tiles
    assert summary["dense_mode"]["dense_tile_cycles"] == config.dense_tile_issues
    # Seven kinds of malformed command (four with inline bitmaps, which have no header to
    # expect, order or abort KSTEPs, but drop a SPWMMA), and an OHMMA out of reach for the
    # reach placement.
    assert summary["malformed_commands"]["programs"] == \
        (4 if config.inline_kstep else 7) + (config.lane_placement == "reach")
    if config.tile_m * config.tile_n <= 256:      # SAVING_TILE_CELLS in cocotb_tests/core.py
        assert summary["header_saving"]["headers"] > 0
    for test in ("drain_after_reset", "random_tiles", "random_tiles_with_stalls",
                 "structured_tiles", "dense_mode"):
        assert summary[test]["responses"] > 0, summary[test]
        assert summary[test]["commands"] > 0 and summary[test]["cycles"] > 0, summary[test]
    assert summary["random_tiles"]["occupancy_checked"] > 0
    if preset_name in SMALL_PRESETS and simulator == "verilator":
        check_twin(config, stall_tiles, summary["random_tiles_with_stalls"])


def check_twin(config, stall_tiles, stalled):
    """The Amaranth-simulator twin of the driver runs cocotb's ``random_tiles_with_stalls``
    (the same program, gaps and stalls: the seed it reports, salted as in
    tb/cocotb_tests/core.py) in as many cycles, accepting as many commands and taking as
    many responses."""
    seed = stalled["seed"]
    commands = random_tile_program(np.random.default_rng([seed, 2]), config, stall_tiles)
    run = simulate_commands(config, commands, rng=np.random.default_rng([seed, 3]),
                            gap_probability=0.3, stall_probability=0.4)
    assert (run.cycles, len(run.accept_cycles), len(run.responses)) == \
        (stalled["cycles"], stalled["commands"], stalled["responses"]), stalled


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", ALL_PRESETS)
def test_core_soak(preset_name, seed):
    """`make soak`: 2,000 random tiles per preset (and 200 with stalls), zero mismatches."""
    run_soak(core_design(preset_name), "core", preset_name, seed, SOAK_TILES)
