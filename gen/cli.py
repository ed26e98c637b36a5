"""The ``dstc`` command line: wires the subcommands.

Each subcommand lives in a module of its own that exposes ``HELP``, ``DESCRIPTION``,
``add_arguments(parser)`` and ``command(args)`` (which returns the exit code); the shared
options are in :mod:`dstc.gen.options`. Imports go one way: this module imports the command
modules, never the reverse.
"""

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

from ..sim.config import PRESETS, ConfigError
from .cocotb_run import SimulationError
from .options import UsageError, configure_logging
from .tools import ToolError, stop_children

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

#: ``{subcommand: module}`` (relative to ``dstc.gen``), in the order of ``dstc --help``.
SUBCOMMANDS = {
    "generate": ".generate",
    "isa": ".isa_doc",
    "sim": ".gemm_sim",
    "conv": ".conv",
    "bench": ".bench",
    "demo": ".demo",
    "area": ".area",
    "fpga": ".fpga.cli",
    "sweep": ".sweep",
    "network": ".network",
    "explore": ".explore",
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


class Terminated(BaseException):
    """``SIGTERM`` received (raised by ``dstc``'s handler, like ``KeyboardInterrupt`` for
    ``SIGINT``)."""


def _on_signal(signum, frame):
    """Signal handler of ``dstc``: forward the signal to the simulator and build commands
    running (so none is left behind as an orphan), then unwind the main thread, whose
    ``finally`` blocks remove the temporary folders."""
    stop_children(signum)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


@contextlib.contextmanager
def _signals_forwarded():
    """Install :func:`_on_signal` for ``SIGINT`` and ``SIGTERM`` while the command runs (in
    the main thread only, where Python runs signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {signum: signal.signal(signum, _on_signal)
             for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def main(argv=None):
    """Run ``dstc`` with ``argv`` (default: the process's arguments); returns the exit code:
    0 when all is well, 1 when a check failed (a result differs from the models), a tool
    or simulator failed, or the run failed to write or ran out of memory, 2 for bad input or
    usage (argparse exits with 2 itself), 130 after ``Ctrl-C`` and 143 after ``SIGTERM``
    (each reported in one line, without a traceback, also while the subcommands load), 141
    (silently) when the reader of standard output closes it."""
    try:
        with _signals_forwarded():
            return _run(argv)
    except KeyboardInterrupt:
        stop_children(signal.SIGINT)
        print("dstc: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("dstc: terminated", file=sys.stderr)
        return 143


def _run(argv):
    """Parse ``argv`` and run the subcommand; turns its errors into a message and a status
    (see :func:`main`)."""
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
    except (SimulationError, ToolError) as error:
        print(f"dstc {args.command}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of standard output went away (``dstc presets | head -1``): stop quietly,
        # with the status of a process ended by SIGPIPE, and keep Python's final flush from
        # failing again.
        stop_children()
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MemoryError:
        print(f"dstc {args.command}: out of memory (try a smaller shape)", file=sys.stderr)
        return 1
    except OSError as error:
        # A file system failure during the run (disk full, a folder removed under it); the
        # inputs themselves were checked before the work began.
        where = f": {error.filename}" if error.filename else ""
        print(f"dstc {args.command}: {error.strerror or error}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
