"""Command-line options shared by the ``dstc`` subcommands, and the CLI's logger.

Command modules (``dstc.gen.area``, ``dstc.gen.fpga.cli``, ``dstc.gen.gemm_sim``, ...) import
these helpers; ``dstc.gen.cli`` only wires the subcommands, so imports go one way.
"""

import argparse
import logging
import sys
from pathlib import Path

from ..sim.config import PRESETS, ConfigError, DstcConfig, preset

__all__ = ["LOGGER", "UsageError", "add_config_options", "config_from", "config_name", "density",
           "positive_int", "positive_float", "output_folder", "configure_logging"]

#: Name of the one logger of the flows: progress lines of ``dstc area``, ``fpga``, ``bench``
#: and ``sim`` go to ``logging.getLogger(LOGGER)``.
LOGGER = "dstc"


class UsageError(ValueError):
    """Bad input to a subcommand (an argument, a path, a file's contents) found after
    parsing; the message names the argument, the value and the rule. ``dstc`` prints it and
    exits with status 2, without a traceback."""


def add_config_options(parser):
    """Add ``--preset NAME`` and ``--config FILE`` (mutually exclusive) to ``parser``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--preset", default="default", metavar="NAME",
                       help=f"named configuration: {', '.join(PRESETS)} (default: default)")
    group.add_argument("--config", metavar="FILE",
                       help="configuration as JSON (the config.json that generate writes)")


def config_from(args):
    """The configuration that ``args`` (parsed with :func:`add_config_options`) names: the
    JSON file of ``--config``, else the preset of ``--preset``. Raises
    :class:`~dstc.sim.config.ConfigError` for an unreadable file, an invalid configuration or
    an unknown preset."""
    if getattr(args, "config", None):
        try:
            return DstcConfig.from_json(Path(args.config).read_text())
        except OSError as error:
            raise ConfigError(f"--config {args.config}: {error.strerror}") from None
    return preset(args.preset)


def config_name(args):
    """The short name of the configuration of ``args``: the ``--config`` file's stem, else the
    preset's name (used in report titles and default output folders)."""
    return Path(args.config).stem if getattr(args, "config", None) else args.preset


def density(text):
    """``argparse`` type: a fraction of nonzeros, a float from 0 to 1."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a density must be between 0 and 1")
    return value


def positive_int(text):
    """``argparse`` type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def positive_float(text):
    """``argparse`` type: a number greater than 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive number")
    return value


def output_folder(args, command):
    """``-o``/``--output`` of ``args`` as a path, else ``build/<command>/<configuration
    name>``."""
    return Path(args.output or Path("build") / command / config_name(args))


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time of each message (so that output
    captured by a caller, such as pytest's ``capsys``, gets it)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def configure_logging():
    """Send the messages of the ``dstc`` logger, from INFO up, as plain lines to standard
    output, where the command's own output goes. Idempotent: a second call changes nothing.
    The messages still propagate to the root logger (which has no handler in ``dstc``, and
    whose handlers capture them under pytest)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(handler, _StdoutHandler) for handler in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
