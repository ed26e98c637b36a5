"""The accumulator tile on the Amaranth simulator: random clear/load/scatter-add sequences."""

import pytest
from accumulator_check import check_accumulator
from amaranth.sim import Simulator
from ports import AmaranthIO
from presets import SMALL_PRESETS

from dstc.hw.core import accumulator_for
from dstc.sim.config import preset

#: Accumulator variants checked here: reach without classes, the most restricted lanes, and
#: the pipelined accumulate (three stages on the crossbar and on G = 8 classes).
ACCUMULATOR_VARIANTS = ("small8-reach", "small8-g4", "small8-g8h2", "small8-pipe",
                        "small8-g8-pipe")


@pytest.mark.parametrize("preset_name", SMALL_PRESETS + ACCUMULATOR_VARIANTS)
def test_accumulator(preset_name, rng):
    """The preset's accumulator variant (``accumulator_for``): the crossbar, or the
    reach-limited tile fed lane-skipped placements."""
    config = preset(preset_name)
    assert _checked_steps(accumulator_for(config), config, rng) > 200


@pytest.mark.parametrize("stages", [2, 3])
@pytest.mark.parametrize("preset_name", ["small-fp16", "small8-reach"])
def test_pipelined_accumulator(preset_name, stages, rng):
    """Two and three accumulate stages on an fp32 crossbar tile and on reach-limited lanes:
    the same random sequences, each scatter visible ``stages - 1`` cycles later."""
    config = preset(preset_name).replace(accumulate_stages=stages)
    dut = accumulator_for(config)
    assert dut.latency == stages - 1
    assert _checked_steps(dut, config, rng) > 150


def _checked_steps(dut, config, rng):
    """300 random steps of :func:`check_accumulator` on the accumulator ``dut`` of ``config``
    on the Amaranth simulator; returns the steps it checked."""
    result = []

    async def bench(ctx):
        result.append(await check_accumulator(AmaranthIO(ctx, dut), config, rng, steps=300))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return result[0]
