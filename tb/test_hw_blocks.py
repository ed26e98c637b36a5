"""Fast unit tests of the combinational blocks on the Amaranth simulator (reduced vector
counts; the full counts run on the generated Verilog in test_cocotb_blocks.py)."""

import pytest
from amaranth.sim import Simulator
from blocks import COMB_BLOCKS, check_comb
from ports import AmaranthIO


def simulate(dut, bench):
    """Run ``bench(ctx)`` as an Amaranth testbench on ``dut``; returns its result."""
    result = []

    async def testbench(ctx):
        result.append(await bench(ctx))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    return result[0]


@pytest.mark.parametrize("name", list(COMB_BLOCKS))
def test_comb_block(name, rng):
    block = COMB_BLOCKS[name]
    dut = block.build()
    checked = simulate(dut, lambda ctx: check_comb(AmaranthIO(ctx, dut), block, rng, full=False))
    assert checked > 0
