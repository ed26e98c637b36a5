"""The accumulator tile on the Amaranth simulator: random clear/load/scatter-add sequences."""

import pytest
from accumulator_check import check_accumulator
from amaranth.sim import Simulator
from ports import AmaranthIO
from presets import SMALL_PRESETS

from dstc.hw.accumulator import AccumulatorTile
from dstc.sim.config import preset


@pytest.mark.parametrize("preset_name", SMALL_PRESETS)
def test_accumulator(preset_name, rng):
    config = preset(preset_name)
    dut = AccumulatorTile(config)
    result = []

    async def bench(ctx):
        result.append(await check_accumulator(AmaranthIO(ctx, dut), config, rng, steps=300))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert result[0] > 200
