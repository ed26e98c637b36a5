"""The accumulator tile on its generated Verilog, in cocotb, on Icarus and Verilator."""

import json

import pytest
from conftest import BUILD, TB_DIR
from designs import unit_verilog

from dstc.gen.cocotb_run import SIMULATORS, run_cocotb

pytestmark = pytest.mark.cocotb

# Steps per preset: the large tiles are slow on Icarus (the whole 1024-cell tile is
# re-evaluated every cycle), so they run fewer steps there. small8-pipe: the pipelined
# accumulate (three stages, forwarding) on its Verilog.
STEPS = {"small": 2000, "small-fp16": 2000, "small8-pipe": 1000, "int8": 400, "default": 300}

#: The presets of `make test`. The 32 x 32-tile accumulators (int8, default) take 3-4 min
#: each to build for Verilator; `make test` checks them inside their cores
#: (tb/test_cocotb_core.py) and on the Amaranth simulator (tb/test_hw_accumulator.py), and
#: `make soak` on their own Verilog.
QUICK = ("small", "small-fp16", "small8-pipe")


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", QUICK)
def test_accumulator_verilog(preset_name, simulator, seed):
    check_accumulator(preset_name, simulator, seed)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("preset_name", [name for name in STEPS if name not in QUICK])
def test_accumulator_verilog_soak(preset_name, simulator, seed):
    """`make soak`: the 32 x 32-tile accumulators on their own Verilog."""
    check_accumulator(preset_name, simulator, seed)


def check_accumulator(preset_name, simulator, seed):
    """The cocotb accumulator test (tb/cocotb_tests/accumulator.py) of ``preset_name``."""
    design = unit_verilog("dstc_accumulator", preset_name)
    run_cocotb(verilog_path=design.path, toplevel=design.name, test_module="accumulator",
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator,
               build_dir=BUILD / "sim" / design.name / simulator,
               extra_env={"DSTC_PRESET": preset_name, "DSTC_SEED": str(seed),
                          "DSTC_STEPS": str(STEPS[preset_name]),
                          "DSTC_PORTS": json.dumps(design.formats)})
