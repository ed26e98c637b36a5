"""Drivers of a core's streams: run a command program on cocotb or on the Amaranth simulator.

A run is made of three parts around the core's ``cmd`` and ``rsp`` streams:

* :class:`CommandSource` presents the command beats in order and, with a random generator,
  leaves the stream idle in a cycle with ``gap_probability`` (idle gaps);
* :class:`ResponseSink` holds response ``ready`` high and, with a random generator, low in a
  cycle with ``stall_probability`` (backpressure);
* :class:`AcceptMonitor` records the cycle in which each command was accepted and every
  response beat taken; its :class:`CoreRun` feeds the design's model and checker
  (:meth:`dstc.gen.design.Design.check`).

:func:`drive` steps them cycle by cycle against a port (:class:`CocotbPort` on generated
Verilog, :class:`AmaranthPort` in the Amaranth simulator): the same program, seed and
probabilities give the same accept cycles on both. Each cycle, in this order, the source
decides (drawing the gap while beats remain), the sink decides (drawing the stall), the
inputs settle, the handshakes are sampled, and the clock ticks. The gap and stall draws come
from one generator in that fixed order, so a seed reproduces the same stream.
"""

import dataclasses

from .design import SPARSE_CORE

__all__ = ["CoreRun", "CommandSource", "ResponseSink", "AcceptMonitor", "CocotbPort",
           "AmaranthPort", "drive", "reset_core", "run_commands", "simulate_commands"]


@dataclasses.dataclass
class CoreRun:
    """What one run observed: ``accept_cycles[i]`` is the cycle in which command ``i`` was
    accepted, ``responses`` the decoded response beats in order, ``counters`` the counter
    outputs by name and ``errors`` the error flags at the end, and ``cycles`` the cycles
    until the core was idle with every response taken."""

    accept_cycles: list
    responses: list
    counters: dict
    errors: int
    cycles: int


class CommandSource:
    """Presents ``beats`` (ints) in order. With ``rng`` (a numpy ``Generator``), each cycle in
    which beats remain draws ``rng.random()`` and leaves the stream idle when it is below
    ``gap_probability``."""

    def __init__(self, beats, rng=None, gap_probability=0.0):
        self.beats, self.rng, self.gap_probability = beats, rng, gap_probability
        self.sent = 0

    @property
    def done(self):
        """Every beat has been accepted."""
        return self.sent == len(self.beats)

    def offer(self):
        """The index of the beat to present this cycle, or ``None`` (done, or a gap)."""
        if self.done or (self.rng is not None and self.rng.random() < self.gap_probability):
            return None
        return self.sent

    def accepted(self):
        """The presented beat was accepted."""
        self.sent += 1


class ResponseSink:
    """Takes response beats. With ``rng``, each cycle draws ``rng.random()`` and holds
    ``ready`` low when it is below ``stall_probability``."""

    def __init__(self, rng=None, stall_probability=0.0):
        self.rng, self.stall_probability = rng, stall_probability

    def ready(self):
        """Whether ``ready`` is high this cycle."""
        return not (self.rng is not None and self.rng.random() < self.stall_probability)


class AcceptMonitor:
    """Records the cycle of each command handshake and each response beat taken (raw bits)."""

    def __init__(self, progress=None):
        self.accept_cycles, self.raw_responses, self.progress = [], [], progress

    def accept(self, cycle):
        """A command was accepted in ``cycle``; calls ``progress(accepted so far)``."""
        self.accept_cycles.append(cycle)
        if self.progress:
            self.progress(len(self.accept_cycles))

    def response(self, bits):
        """A response beat was taken."""
        self.raw_responses.append(bits)

    def run(self, encoder, counters, errors, cycles):
        """The :class:`CoreRun` observed, responses decoded by ``encoder``."""
        return CoreRun(accept_cycles=self.accept_cycles,
                       responses=[encoder.decode_response(bits) for bits in self.raw_responses],
                       counters=counters, errors=errors, cycles=cycles)


class CocotbPort:
    """The streams of a core's generated Verilog in cocotb (``dut``, out of reset, 1 ns after
    a rising edge): inputs are set 1 ns after an edge and sampled 1 ns later, so nothing is
    sampled at an edge."""

    def __init__(self, dut):
        self.dut, self._presented, self._handles = dut, None, {}

    def present(self, index, beat):
        """Drive ``cmd``: beat ``index`` (valid) or, when ``index`` is ``None``, idle."""
        if index is None:
            self.dut.cmd__valid.value = 0
            return
        if index != self._presented:      # write the payload only when it changes
            self.dut.cmd__payload.value = beat
            self._presented = index
        self.dut.cmd__valid.value = 1

    def set_ready(self, ready):
        self.dut.rsp__ready.value = int(ready)

    async def settle(self):
        from cocotb.triggers import Timer
        await Timer(1, unit="ns")

    async def tick(self):
        from cocotb.triggers import RisingEdge, Timer
        await RisingEdge(self.dut.clk)
        await Timer(1, unit="ns")

    def read(self, name):
        """The value of output ``name`` as an int; stream members are named as in the
        Verilog (``cmd__ready``, ``rsp__valid``, ``rsp__payload``), the other outputs by
        their names (``idle``, ``errors``, a counter)."""
        try:
            handle = self._handles[name]
        except KeyError:
            handle = self._handles[name] = getattr(self.dut, name)
        return int(handle.value)


class AmaranthPort:
    """The streams of a core ``component`` in an Amaranth testbench (``ctx``): inputs set with
    ``ctx.set`` are settled when read, and a tick is ``ctx.tick()``."""

    def __init__(self, ctx, component):
        self.ctx, self.component = ctx, component

    def present(self, index, beat):
        self.ctx.set(self.component.cmd.valid, index is not None)
        if index is not None:
            self.ctx.set(self.component.cmd.payload.as_value(), beat)

    def set_ready(self, ready):
        self.ctx.set(self.component.rsp.ready, ready)

    async def settle(self):
        pass

    async def tick(self):
        await self.ctx.tick()

    def read(self, name):
        """The value of output ``name`` (named as in :meth:`CocotbPort.read`)."""
        stream, _, member = name.partition("__")
        if member:
            value = getattr(getattr(self.component, stream), member)
            value = value.as_value() if member == "payload" else value
        else:
            value = getattr(self.component, name)
        return self.ctx.get(value)


async def drive(port, source, sink, monitor, timeout):
    """Step ``source``, ``sink`` and ``monitor`` on ``port`` from cycle 0 until every beat is
    accepted and the core is idle with every response taken (a cycle with ``ready`` high,
    no response and ``idle``). Returns that cycle; raises ``TimeoutError`` after
    ``timeout`` cycles."""
    cycle = 0
    while True:
        index = source.offer()
        port.present(index, None if index is None else source.beats[index])
        ready = sink.ready()
        port.set_ready(ready)
        await port.settle()
        if index is not None and port.read("cmd__ready"):
            monitor.accept(cycle)
            source.accepted()
        if ready and port.read("rsp__valid"):
            monitor.response(port.read("rsp__payload"))
        elif source.done and index is None and port.read("idle"):
            break
        if cycle > timeout:
            raise TimeoutError(f"core did not finish {len(source.beats)} commands in {timeout} "
                               f"cycles ({source.sent} accepted)")
        await port.tick()
        cycle += 1
    port.present(None, None)
    return cycle


def _parts(design, config, commands, rng, gap_probability, stall_probability, progress,
           timeout):
    """Encoder, source, sink, monitor and timeout of one run (the rng is drawn only when a
    probability is set)."""
    encoder = design.encoder(config)
    beats = [encoder.encode(command) for command in commands]
    random = rng if rng is not None and (gap_probability > 0 or stall_probability > 0) else None
    timeout = timeout or 1000 + 64 * len(beats) * max(config.tile_m, config.max_ohmma_per_kstep)
    return (encoder, CommandSource(beats, random, gap_probability),
            ResponseSink(random, stall_probability), AcceptMonitor(progress), timeout)


async def reset_core(dut, cycles=2):
    """cocotb: start a 10 ns clock and hold reset for ``cycles`` cycles."""
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


async def run_commands(dut, config, commands, *, design=SPARSE_CORE, rng=None,
                       gap_probability=0.0, stall_probability=0.0, progress=None,
                       timeout=None):
    """cocotb: run ``commands`` on ``dut`` (the generated Verilog of ``design``, a
    :class:`~dstc.gen.design.Design`, out of reset by :func:`reset_core`).

    With ``rng``, each cycle leaves the command stream idle with ``gap_probability`` and
    holds response ``ready`` low with ``stall_probability``. ``progress(accepted)`` is
    called after each accepted command. Returns a :class:`CoreRun`; raises
    ``TimeoutError`` when the core does not finish in ``timeout`` cycles.
    """
    encoder, source, sink, monitor, timeout = _parts(design, config, commands, rng,
                                                     gap_probability, stall_probability,
                                                     progress, timeout)
    port = CocotbPort(dut)
    cycles = await drive(port, source, sink, monitor, timeout)
    counters = {name: port.read(name) for name in design.counters}
    return monitor.run(encoder, counters, port.read("errors"), cycles)


def simulate_commands(config, commands, *, design=SPARSE_CORE, rng=None, gap_probability=0.0,
                      stall_probability=0.0, timeout=None):
    """The Amaranth-simulator twin of :func:`run_commands`: builds ``design``'s component for
    ``config``, runs ``commands`` on it with the same source, sink and monitor, and returns
    the :class:`CoreRun` (the same accept cycles as on the generated Verilog)."""
    from amaranth.sim import Simulator

    encoder, source, sink, monitor, timeout = _parts(design, config, commands, rng,
                                                     gap_probability, stall_probability, None,
                                                     timeout)
    dut = design.component(config)
    observed = []

    async def bench(ctx):
        port = AmaranthPort(ctx, dut)
        cycles = await drive(port, source, sink, monitor, timeout)
        counters = {name: port.read(name) for name in design.counters}
        observed.append(monitor.run(encoder, counters, port.read("errors"), cycles))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return observed[0]
