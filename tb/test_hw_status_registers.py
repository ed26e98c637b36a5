"""StatusRegisters on the Amaranth simulator: sticky flags and wrapping counters against a
plain Python model, cleared together."""

import pytest
from amaranth import Shape
from amaranth.sim import Simulator
from test_hw_drain_sequencer import raises_on_construction

from dstc.hw.status_registers import StatusRegisters

COUNTERS = {"busy": 1, "work": 12, "slots": 1}
STEPS = {"slots": 8}
FLAGS = 0b101


@pytest.mark.parametrize("counter_width", [4, 48])
def test_random_sequence_against_model(counter_width, rng):
    dut = StatusRegisters(error_width=3, counters=COUNTERS, counter_width=counter_width,
                          flags=FLAGS, steps=STEPS)
    errors, counts = 0, dict.fromkeys(COUNTERS, 0)
    checked = []

    async def bench(ctx):
        nonlocal errors
        for _ in range(300):
            assert ctx.get(dut.errors) == errors
            for name in COUNTERS:
                assert ctx.get(getattr(dut, name)) == counts[name]
            clear = int(rng.random() < 0.1)
            raised = int(rng.integers(8)) if rng.random() < 0.2 else 0
            increments = {name: int(rng.integers(largest + 1))
                          for name, largest in COUNTERS.items()}
            ctx.set(dut.clear, clear)
            ctx.set(dut.raised, raised)
            for name, value in increments.items():
                ctx.set(getattr(dut, f"{name}_increment"), value)
            await ctx.tick()
            errors = ((0 if clear else errors) | raised) & FLAGS
            for name, value in increments.items():
                added = counts[name] + value * STEPS.get(name, 1)
                counts[name] = 0 if clear else added % (1 << counter_width)
            checked.append(clear)
        assert ctx.get(dut.errors) == errors

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == 300 and any(checked)


def test_ports_and_properties():
    dut = StatusRegisters(error_width=6, counters={"a": 1, "b": 128}, counter_width=48)
    widths = {name: Shape.cast(member.shape).width
              for name, member in dut.signature.members.items()}
    assert widths == {"clear": 1, "raised": 6, "errors": 6, "a_increment": 1, "a": 48,
                      "b_increment": 8, "b": 48}
    assert dut.counters == {"a": 1, "b": 128} and dut.error_width == 6
    assert dut.flags == 0b111111 and dut.steps == {"a": 1, "b": 1}
    Simulator(dut)        # elaborates


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(error_width=0, counters={}, counter_width=8), r"^error_width=0: must be a positive"),
    (dict(error_width=1, counters={}, counter_width=None), r"^counter_width=None: must be a"),
    (dict(error_width=1, counters={"a": 0}, counter_width=8),
     r"^counters\['a'\]=0: the largest increment must be a positive integer$"),
    (dict(error_width=1, counters={"errors": 1}, counter_width=8),
     r"^counters: name 'errors' clashes with another port$"),
    (dict(error_width=2, counters={}, counter_width=8, flags=4),
     r"^flags=4: must be a mask of the 2 error bits$"),
    (dict(error_width=1, counters={"a": 1}, counter_width=8, steps={"b": 2}),
     r"^steps: 'b' is not a counter$"),
    (dict(error_width=1, counters={"a": 1}, counter_width=8, steps={"a": 0}),
     r"^steps\['a'\]=0: must be a positive integer$"),
])
def test_parameters_are_checked(kwargs, message):
    raises_on_construction(ValueError, message, lambda: StatusRegisters(**kwargs))
