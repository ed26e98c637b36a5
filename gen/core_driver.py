"""cocotb driver of the core: runs a command list on the generated Verilog.

Each clock cycle, 1 ns after the rising edge, the driver presents the next command beat (or
a gap) and the response ``ready`` (or backpressure); 1 ns later it samples the handshakes,
which take effect at the next edge. It records the cycle in which every command was accepted,
every response beat, and at the end the counters and error flags.
"""

import dataclasses

from ..hw.core import COUNTERS
from .wire import CommandEncoder

__all__ = ["CoreRun", "reset_core", "run_commands"]


@dataclasses.dataclass
class CoreRun:
    """What one :func:`run_commands` observed."""

    accept_cycles: list
    responses: list
    counters: dict
    errors: int
    cycles: int           #: cycles until the core was idle with every response taken


async def reset_core(dut, cycles=2):
    """Start a 10 ns clock and hold reset for ``cycles`` cycles."""
    import cocotb
    from cocotb.clock import Clock
    from cocotb.triggers import RisingEdge, Timer

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    dut.cmd__valid.value = 0
    dut.rsp__ready.value = 0
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    await Timer(1, unit="ns")
    dut.rst.value = 0


async def run_commands(dut, config, commands, *, rng=None, gap_probability=0.0,
                       stall_probability=0.0, progress=None, timeout=None, encoder=None,
                       counters=COUNTERS):
    """Run ``commands`` on ``dut`` (the core, out of reset, 1 ns after a rising edge).

    ``encoder`` (default :class:`~dstc.gen.wire.CommandEncoder`) turns commands into beats
    and response beats back; ``counters`` names the counter outputs read at the end (the
    dense baseline passes :class:`~dstc.gen.wire.DenseCommandEncoder` and its counters).

    With ``rng``, each cycle leaves the command stream idle with ``gap_probability`` and
    holds response ``ready`` low with ``stall_probability``. ``progress(accepted)`` is
    called after each accepted command. Returns a :class:`CoreRun`.
    """
    from cocotb.triggers import RisingEdge, Timer

    encoder = encoder or CommandEncoder(config)
    beats = [encoder.encode(command) for command in commands]
    timeout = timeout or 1000 + 64 * len(beats) * max(config.tile_m, config.max_ohmma_per_kstep)
    cmd_valid, cmd_ready, cmd_payload = dut.cmd__valid, dut.cmd__ready, dut.cmd__payload
    rsp_valid, rsp_ready, rsp_payload = dut.rsp__valid, dut.rsp__ready, dut.rsp__payload
    idle = dut.idle
    random_gaps = rng is not None and (gap_probability > 0 or stall_probability > 0)

    accept_cycles, raw_responses = [], []
    sent, cycle, presented = 0, 0, None
    while True:
        if sent < len(beats) and not (random_gaps and rng.random() < gap_probability):
            if presented != sent:
                cmd_payload.value = beats[sent]
                presented = sent
            cmd_valid.value = 1
            offering = True
        else:
            cmd_valid.value = 0
            offering = False
        ready = not (random_gaps and rng.random() < stall_probability)
        rsp_ready.value = int(ready)
        await Timer(1, unit="ns")
        if offering and cmd_ready.value:
            accept_cycles.append(cycle)
            sent += 1
            if progress:
                progress(sent)
        if ready and rsp_valid.value:
            raw_responses.append(int(rsp_payload.value))
        elif sent == len(beats) and not offering and idle.value:
            break
        if cycle > timeout:
            raise TimeoutError(f"core did not finish {len(beats)} commands in {timeout} cycles "
                               f"({sent} accepted)")
        await RisingEdge(dut.clk)
        await Timer(1, unit="ns")
        cycle += 1
    cmd_valid.value = 0
    counters = {name: int(getattr(dut, name).value) for name in counters}
    return CoreRun(accept_cycles=accept_cycles,
                   responses=[encoder.decode_response(bits) for bits in raw_responses],
                   counters=counters, errors=int(dut.errors.value), cycles=cycle)
