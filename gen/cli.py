"""The ``dstc`` command line: wires the subcommands.

Each subcommand lives in a module of its own that exposes ``HELP``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``command(args)`` (which returns the exit code); the shared
options are in :mod:`dstc.gen.options`. Imports go one way: this module imports the command
modules, never the reverse.
"""

import argparse
import importlib
import sys

from ..sim.config import PRESETS, ConfigError
from .options import UsageError, configure_logging

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: ``{subcommand: module}`` (relative to ``dstc.gen``), in the order of ``dstc --help``.
SUBCOMMANDS = {
    "generate": ".generate",
    "isa": ".isa_doc",
    "sim": ".gemm_sim",
    "bench": ".bench",
    "demo": ".demo",
    "area": ".area",
    "fpga": ".fpga.cli",
    "sweep": ".sweep",
    "network": ".network",
}


def _presets(args):
    """``dstc presets``: one line per named configuration."""
    width = max(map(len, PRESETS))
    for name, config in PRESETS.items():
        print(f"{name:<{width}}  {config.describe()}")
    return 0


def build_parser():
    """The ``dstc`` argument parser; each subcommand sets ``run`` (its command function)."""
    parser = argparse.ArgumentParser(
        prog="dstc", description="RTL generator for the Dual-side Sparse Tensor Core.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    presets = commands.add_parser("presets", help="list the named configurations",
                                  description="List the named configurations.")
    presets.set_defaults(run=_presets)
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name, __package__)
        subparser = commands.add_parser(name, help=module.HELP,
                                        description=module.DESCRIPTION)
        module.add_arguments(subparser)
        subparser.set_defaults(run=module.command)
    return parser


def main(argv=None):
    """Run ``dstc`` with ``argv`` (default: the process's arguments); returns the exit code
    (2 for an invalid configuration or other bad input, else the subcommand's)."""
    args = build_parser().parse_args(argv)
    configure_logging()
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"dstc: invalid configuration: {error}", file=sys.stderr)
        return 2
    except UsageError as error:
        print(f"dstc {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
