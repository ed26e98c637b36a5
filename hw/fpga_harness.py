"""A few-pin wrapper that keeps a core's whole logic alive on an FPGA."""

from amaranth import Cat, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["FpgaHarness"]

# The stream handshake bits that stay on pins; every other core port goes through the chains.
_PIN_INPUTS = {("cmd", "valid"): "cmd_valid", ("rsp", "ready"): "rsp_ready"}
_PIN_OUTPUTS = {("cmd", "ready"): "cmd_ready", ("rsp", "valid"): "rsp_valid"}


def _ports(core, flow):
    """``[(path, value)]`` of the core's ports of ``flow``, in signature order."""
    return [(path, Value.cast(value)) for path, member, value in core.signature.flatten(core)
            if member.flow == flow]


class FpgaHarness(wiring.Component):
    """Wraps ``core`` (a component with a ``cmd`` stream in and an ``rsp`` stream out) so that
    every one of its ports is driven or observed through seven pins, and synthesis can remove none
    of its logic.

    * Input chain: ``in_width`` flip-flops (``sdi`` shifted in at the top, LSB first, while
      ``shift`` is high) drive every input port of the core except ``cmd.valid`` and
      ``rsp.ready``, concatenated in signature order: for the DSTC cores the chain is the
      command payload, bit 0 first. Keep ``shift`` low while ``cmd_valid`` waits for
      ``cmd_ready`` (the stream rules want a stable payload).
    * Output chain: ``out_width`` flip-flops that capture every output port of the core
      (concatenated in signature order) each cycle ``shift`` is low, and shift toward ``sdo``
      (bit 0 first) while it is high. Shifting a new command in thus reads the outputs of the
      cycle before ``shift`` rose.
    * Pins: ``cmd_valid``, ``rsp_ready`` drive the core directly; ``cmd_ready`` and
      ``rsp_valid`` show the core's.

    Cost over the core: ``in_width + out_width`` flip-flops and about one LUT per output-chain
    bit (the capture/shift multiplexer); the input chain uses the flip-flops' clock enables.
    """

    def __init__(self, core):
        self._core = core
        self._inputs = [(p, v) for p, v in _ports(core, wiring.In) if p not in _PIN_INPUTS]
        self._outputs = _ports(core, wiring.Out)
        for path in (*_PIN_INPUTS, *_PIN_OUTPUTS):
            if not any(path == p for p, _ in _ports(core, wiring.In) + self._outputs):
                raise ValueError(f"core: has no port {'.'.join(path)} (needs cmd and rsp "
                                 f"streams)")
        super().__init__({
            "sdi": In(1), "shift": In(1), "sdo": Out(1),
            "cmd_valid": In(1), "cmd_ready": Out(1),
            "rsp_ready": In(1), "rsp_valid": Out(1),
        })

    @property
    def core(self):
        return self._core

    @property
    def in_width(self):
        """Bits in the input chain (the core's inputs less ``cmd.valid`` and ``rsp.ready``)."""
        return sum(len(value) for _, value in self._inputs)

    @property
    def out_width(self):
        """Bits in the output chain (all the core's outputs)."""
        return sum(len(value) for _, value in self._outputs)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self._core

        in_chain = Signal(self.in_width)
        out_chain = Signal(self.out_width)
        m.d.comb += Cat(value for _, value in self._inputs).eq(in_chain)
        for (stream, port), pin in _PIN_INPUTS.items():
            m.d.comb += getattr(getattr(core, stream), port).eq(getattr(self, pin))
        for (stream, port), pin in _PIN_OUTPUTS.items():
            m.d.comb += getattr(self, pin).eq(getattr(getattr(core, stream), port))
        m.d.comb += self.sdo.eq(out_chain[0])

        with m.If(self.shift):
            m.d.sync += [in_chain.eq(Cat(in_chain[1:], self.sdi)),
                         out_chain.eq(out_chain[1:])]
        with m.Else():
            m.d.sync += out_chain.eq(Cat(value for _, value in self._outputs))
        return m
