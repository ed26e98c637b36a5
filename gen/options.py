"""Command-line options shared by the ``dstc`` subcommands, and the CLI's logger.

Command modules (``dstc.gen.area``, ``dstc.gen.fpga.cli``, ``dstc.gen.gemm_sim``, ...) import
these helpers; ``dstc.gen.cli`` only wires the subcommands, so imports go one way.
"""

import argparse
import contextlib
import fcntl
import hashlib
import logging
import math
import sys
import tempfile
from pathlib import Path

from ..sim.config import PRESETS, ConfigError, DstcConfig, preset

__all__ = ["LOGGER", "UsageError", "add_config_options", "config_from", "config_name",
           "config_folder", "density", "density_list", "positive_int", "positive_float",
           "seed_type", "add_output_option", "add_figures_option",
           "check_output_folder", "output_folder", "folder_lock", "configure_logging"]

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


def add_output_option(parser, default=None, help="output folder (default: %(default)s)",
                      *, required=False):
    """Add ``-o DIR`` / ``--output DIR`` to ``parser`` (``default`` None: the command picks the
    folder, see :func:`output_folder`); check the value with :func:`check_output_folder`."""
    parser.add_argument("-o", "--output", default=default, required=required, metavar="DIR",
                        help=help)


def add_figures_option(parser):
    """Add ``--no-figures`` (write the tables only) to ``parser``."""
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")


def config_from(args):
    """The configuration that ``args`` (parsed with :func:`add_config_options`) names: the
    JSON file of ``--config``, else the preset of ``--preset``. Raises
    :class:`~dstc.sim.config.ConfigError` (message starting ``--config FILE:``) for a file
    that is missing, unreadable, empty, not UTF-8, not JSON, not an object, or holds an invalid
    configuration, and for an unknown preset."""
    if getattr(args, "config", None) is not None:
        try:
            return DstcConfig.load(args.config)
        except ConfigError as error:
            raise ConfigError(f"--config {error}") from None
    return preset(args.preset)


def config_name(args):
    """The label of the configuration of ``args`` in titles and summaries: the preset's name,
    or ``config:<stem>`` for a ``--config`` file (so that a file called ``small.json`` is not
    mistaken for the ``small`` preset)."""
    if getattr(args, "config", None) is not None:
        return f"config:{Path(args.config).stem}"
    return args.preset


def config_folder(args, config):
    """The folder name (one path component) of the configuration of ``args``: the preset's
    name, or ``config-<stem>-<digest>`` for a ``--config`` file, ``<digest>`` being the first
    8 hex digits of the SHA-256 of ``config``'s canonical JSON; so a file never shares a
    preset's build folder, nor two different files of the same name each other's."""
    if getattr(args, "config", None) is not None:
        digest = hashlib.sha256(config.to_json().encode()).hexdigest()[:8]
        return f"config-{Path(args.config).stem}-{digest}"
    return args.preset


def _number(text, kind, convert):
    try:
        return convert(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None


def density(text):
    """``argparse`` type: a fraction of nonzeros, a number from 0 to 1."""
    value = _number(text, "a number", float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a density must be between 0 and 1")
    return value


def density_list(text):
    """``argparse`` type: a comma- or space-separated list of densities, each a number from 0
    to 1; returns a tuple of floats."""
    values = []
    for part in text.replace(",", " ").split():
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not a number") from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"{part} is not a density between 0 and 1")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError("give at least one density")
    return tuple(values)


def positive_int(text):
    """``argparse`` type: an integer of at least 1."""
    value = _number(text, "an integer", int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def positive_float(text):
    """``argparse`` type: a finite number greater than 0 (``nan``, ``inf`` and ``0`` are
    refused)."""
    value = _number(text, "a number", float)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number greater than 0")
    return value


def seed_type(text):
    """``argparse`` type: a random seed, an integer of at least 0."""
    value = _number(text, "an integer", int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a seed must be a non-negative integer")
    return value


def check_output_folder(path, option="--output"):
    """Make sure that ``path`` is, or can be made, a writable folder, before any long work;
    creates it (with its parents) and returns it as a :class:`~pathlib.Path`. Raises
    :class:`UsageError` naming ``option`` and the path for an empty path (which would mean the
    current folder), a path that exists and is not a folder, a path under a file, and a folder
    that cannot be created or written."""
    if path is None or str(path).strip() == "":
        raise UsageError(f"{option} {str(path)!r}: empty; give a folder (use . for the current "
                         f"folder)")
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise UsageError(f"{option} {path}: exists and is not a folder")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise UsageError(f"{option} {path}: {parent} is a file, not a folder")
                break
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UsageError(f"{option} {path}: cannot write there "
                         f"({error.strerror or error})") from None
    return path


def output_folder(args, command, config=None):
    """``-o``/``--output`` of ``args``, else ``build/<command>/<configuration folder>``
    (:func:`config_folder`; ``config`` is read from ``args`` when not given), checked and
    created by :func:`check_output_folder`. Raises :class:`UsageError` as that function does,
    and :class:`~dstc.sim.config.ConfigError` as :func:`config_from` does."""
    if args.output is not None:
        return check_output_folder(args.output)
    config = config_from(args) if config is None else config
    return check_output_folder(Path("build") / command / config_folder(args, config))


@contextlib.contextmanager
def folder_lock(folder, command):
    """Hold an exclusive lock (``fcntl.flock`` on ``folder/.dstc.lock``) while ``command``
    (``"area"``, ``"fpga"``) works in ``folder``, so that two runs started in one output
    folder take turns instead of overwriting each other's working files; a run that has to
    wait says so on the ``dstc`` logger."""
    folder = Path(folder)
    with open(folder / ".dstc.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logging.getLogger(LOGGER).info(
                "waiting for another dstc %s working in %s to finish", command, folder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
