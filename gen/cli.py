"""The ``dstc`` command line."""

import argparse
import sys
import time
from pathlib import Path

from ..sim.config import PRESETS, ConfigError, DstcConfig, preset

__all__ = ["main"]


def _config_from(args):
    if getattr(args, "config", None):
        try:
            return DstcConfig.from_json(Path(args.config).read_text())
        except OSError as error:
            raise ConfigError(f"--config {args.config}: {error.strerror}") from None
    return preset(args.preset)


def _add_config_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--preset", default="default", metavar="NAME",
                       help=f"named configuration: {', '.join(PRESETS)} (default: default)")
    group.add_argument("--config", metavar="FILE",
                       help="configuration as JSON (the config.json that generate writes)")


def _cmd_presets(args):
    width = max(map(len, PRESETS))
    for name, config in PRESETS.items():
        print(f"{name:<{width}}  {config.describe()}")
    return 0


def _cmd_generate(args):
    from .generate import generate

    config = _config_from(args)
    started = time.monotonic()
    print(f"generating {config.describe()} into {args.output}")
    paths = generate(config, args.output, progress=lambda name, _: print(f"  {name}"))
    for path in paths:
        print(f"  wrote {path} ({path.stat().st_size} bytes)")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def _cmd_demo(args):
    from .demo import run_demo

    return run_demo(simulator=args.simulator, out_dir=Path(args.output))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dstc", description="RTL generator for the Dual-side Sparse Tensor Core.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets = commands.add_parser("presets", help="list the named configurations",
                                  description="List the named configurations.")
    presets.set_defaults(run=_cmd_presets)

    generate = commands.add_parser(
        "generate", help="write the Verilog of a configuration",
        description="Write the Verilog of a configuration, its config.json and a manifest. "
                    "Two runs write byte-identical files.")
    _add_config_options(generate)
    generate.add_argument("-o", "--output", required=True, metavar="DIR",
                          help="output folder (created if missing)")
    generate.set_defaults(run=_cmd_generate)

    demo = commands.add_parser(
        "demo", help="generate the default core and check a block in cocotb",
        description="Generate the default preset, run a block-level cocotb check of its "
                    "generated Verilog against the golden model and print a summary.")
    demo.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator",
                      help="simulator for the check (default: verilator)")
    demo.add_argument("-o", "--output", default="build/demo", metavar="DIR",
                      help="output folder (default: build/demo)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"dstc: invalid configuration: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
