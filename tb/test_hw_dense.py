"""The dense baseline on the Amaranth simulator: a random program, bit-exact and
cycle-exact against its model (the cocotb tests repeat this on the generated Verilog)."""

import pytest
from amaranth.sim import Simulator
from dense_scenarios import check_dense_run, random_dense_program

from dstc.gen.core_driver import CoreRun
from dstc.gen.wire import DenseCommandEncoder
from dstc.hw.dense_core import DENSE_COUNTERS, DenseCore
from dstc.sim.config import preset


def run_on_amaranth(config, commands, max_cycles=20_000):
    """Run ``commands`` on :class:`DenseCore` in the Amaranth simulator, the stream never
    stalling and responses always taken; returns a :class:`CoreRun`."""
    dut = DenseCore(config)
    encoder = DenseCommandEncoder(config)
    beats = [encoder.encode(command) for command in commands]
    observed = {}

    async def bench(ctx):
        accept_cycles, responses = [], []
        ctx.set(dut.rsp.ready, 1)
        sent, cycle = 0, 0
        while cycle < max_cycles:
            offering = sent < len(beats)
            ctx.set(dut.cmd.valid, offering)
            if offering:
                ctx.set(dut.cmd.payload.as_value(), beats[sent])
            if offering and ctx.get(dut.cmd.ready):
                accept_cycles.append(cycle)
                sent += 1
            if ctx.get(dut.rsp.valid):
                responses.append(encoder.decode_response(ctx.get(dut.rsp.payload.as_value())))
            elif not offering and ctx.get(dut.idle):
                break
            await ctx.tick()
            cycle += 1
        observed["run"] = CoreRun(
            accept_cycles=accept_cycles, responses=responses,
            counters={name: ctx.get(getattr(dut, name)) for name in DENSE_COUNTERS},
            errors=ctx.get(dut.errors), cycles=cycle)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return observed["run"]


@pytest.mark.parametrize("preset_name", ["small", "small-fp16"])
def test_dense_core_random_program(preset_name, rng):
    config = preset(preset_name)
    commands = random_dense_program(rng, config, tiles=6, specials=0.05)
    run = run_on_amaranth(config, commands)
    check_dense_run(config, commands, run, timing=True)
