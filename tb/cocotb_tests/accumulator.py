"""cocotb test of the accumulator tile (preset named by DSTC_PRESET) on its generated Verilog."""

import json
import os

import cocotb
import numpy as np
from accumulator_check import check_accumulator
from cocotb.clock import Clock
from ports import CocotbIO

from dstc.sim.config import preset


@cocotb.test()
async def random_operations(dut):
    """Random clear / load / scatter-add sequence against the golden model."""
    config = preset(os.environ["DSTC_PRESET"])
    seed, steps = int(os.environ["DSTC_SEED"]), int(os.environ["DSTC_STEPS"])
    dut._log.info(f"accumulator {config.describe()}: seed {seed}, {steps} steps")
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 0
    io = CocotbIO(dut, json.loads(os.environ["DSTC_PORTS"]))
    scatters = await check_accumulator(io, config, np.random.default_rng(seed), steps)
    assert scatters > steps // 2, f"only {scatters} scatter-adds in {steps} steps"
    dut._log.info(f"{scatters} scatter-adds match the golden model")
