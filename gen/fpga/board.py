"""The boards and devices of ``dstc fpga``, and the tops built for them.

A core is wrapped in :class:`~dstc.hw.fpga_harness.FpgaHarness` (seven pins drive and observe
every port) and put on the pins of an amaranth-boards ULX3S platform by :class:`BoardTop`;
:class:`BlackBoxCore` stands in for a core to measure the harness alone.
"""

import copy

from amaranth import Elaboratable, Instance, Module, Value
from amaranth.build import Clock
from amaranth.lib import io, wiring
from amaranth.lib.cdc import FFSynchronizer

__all__ = ["BOARDS", "DEVICES", "PACKAGES", "BoardTop", "BlackBoxCore", "platform",
           "fit_check"]


def _ulx3s(variant):
    def platform_class():
        from amaranth_boards import ulx3s
        return getattr(ulx3s, f"ULX3S_{variant}_Platform")
    return platform_class


#: ``--board`` names: the four ULX3S variants, each a function returning its platform class.
BOARDS = {f"ulx3s-{v.lower()}": _ulx3s(v) for v in ("12F", "25F", "45F", "85F")}

#: ECP5 devices: nextpnr's device option and the capacity (Lattice ECP5 family data sheet:
#: LUT4s = flip-flops = 2 per slice; 18x18 multipliers; 18 kbit EBR blocks).
DEVICES = {
    "LFE5U-12F": {"nextpnr": "--12k", "lut": 12096, "ff": 12096, "dsp": 28, "bram": 32},
    "LFE5U-25F": {"nextpnr": "--25k", "lut": 24288, "ff": 24288, "dsp": 28, "bram": 56},
    "LFE5U-45F": {"nextpnr": "--45k", "lut": 43848, "ff": 43848, "dsp": 72, "bram": 108},
    "LFE5U-85F": {"nextpnr": "--85k", "lut": 83640, "ff": 83640, "dsp": 156, "bram": 208},
}

#: nextpnr's ``--package`` name of each amaranth-boards package code.
PACKAGES = {"BG256": "CABGA256", "BG381": "CABGA381", "BG554": "CABGA554"}

#: Board pins of the harness: inputs (through two-flop synchronisers) and outputs.
PINS_IN = {"sdi": ("button", 0), "shift": ("button", 1), "cmd_valid": ("button", 2),
           "rsp_ready": ("button", 3)}
PINS_OUT = {"sdo": ("led", 0), "cmd_ready": ("led", 1), "rsp_valid": ("led", 2)}


class BoardTop(Elaboratable):
    """The ``harness`` (an :class:`~dstc.hw.fpga_harness.FpgaHarness`) on the board pins of
    :data:`PINS_IN` and :data:`PINS_OUT`; the platform's default clock drives ``sync``."""

    def __init__(self, harness):
        self.harness = harness

    def elaborate(self, platform):
        m = Module()
        m.submodules.harness = harness = self.harness
        for port, (name, number) in PINS_IN.items():
            pin = m.submodules[f"pin_{port}"] = io.Buffer(
                "i", platform.request(name, number, dir="-"))
            m.submodules[f"sync_{port}"] = FFSynchronizer(pin.i, getattr(harness, port))
        for port, (name, number) in PINS_OUT.items():
            pin = m.submodules[f"pin_{port}"] = io.Buffer(
                "o", platform.request(name, number, dir="-"))
            m.d.comb += pin.o.eq(getattr(harness, port))
        return m


class BlackBoxCore(wiring.Component):
    """A core's ports (the signature of ``core``) around an instance of an empty (black box)
    module, to measure the harness alone. :meth:`verilog_stub` is that module's Verilog."""

    MODULE = "dstc_fpga_blackbox"

    def __init__(self, core):
        self._ports = [("__".join(map(str, path)), member.flow, len(Value.cast(value)))
                       for path, member, value in core.signature.flatten(core)]
        super().__init__(dict(core.signature.members))

    def verilog_stub(self):
        """The ``(* blackbox *)`` Verilog module declaration of :data:`MODULE`."""
        ports = ",\n  ".join(f"{'input' if flow == wiring.In else 'output'} [{width - 1}:0] "
                             f"{name}" for name, flow, width in self._ports)
        return f"(* blackbox *)\nmodule {self.MODULE}(\n  {ports}\n);\nendmodule\n"

    def elaborate(self, platform):
        m = Module()
        values = {"__".join(map(str, path)): value
                  for path, _, value in self.signature.flatten(self)}
        m.submodules.box = Instance(self.MODULE, **{
            f"{'i' if flow == wiring.In else 'o'}_{name}": values[name]
            for name, flow, _ in self._ports})
        return m


def platform(board, clock_mhz):
    """The platform of ``board`` (a :data:`BOARDS` key) with its default clock constrained to
    ``clock_mhz`` (MHz: the timing target of place-and-route; on the board, a PLL would make
    that clock) and without the debug Verilog file (which would run a second Yosys). Raises
    :class:`ValueError` for an unknown board."""
    if board not in BOARDS:
        raise ValueError(f"board {board!r}: must be one of {', '.join(BOARDS)}")
    base = BOARDS[board]()

    class Platform(base):
        @property
        def file_templates(self):
            return {name: text for name, text in super().file_templates.items()
                    if not name.endswith(".debug.v")}

    board_platform = Platform()
    key = (board_platform.default_clk, 0)
    clock = copy.copy(board_platform.resources[key])
    clock.clock = Clock(clock_mhz * 1e6)
    board_platform.resources[key] = clock
    return board_platform


def fit_check(synth, device):
    """``[(resource, needed, available)]`` of the synthesized resources (``synth``: counts of
    ``lut``, ``ff``, ``dsp`` and ``bram``) that exceed ``device`` (a :data:`DEVICES` entry);
    empty when the design may fit."""
    return [(key, synth[key], device[key]) for key in ("lut", "ff", "dsp", "bram")
            if synth[key] > device[key]]
