"""Bad input to every ``dstc`` subcommand: one message, exit status 2, no traceback, and
refused before any long work (issue 12, items 3 and 6).

Configuration files (malformed, empty, BOM-prefixed, not UTF-8, not an object, wrong types),
output paths (empty, a file, under a file, not writable), seeds, clocks, argparse types, the
label and folder of a configuration file, and the exit statuses (0, 1, 2, 130, 143).
"""

import argparse
import json
import os
import re
import time

import pytest

from dstc.gen import cli, options
from dstc.gen.cli import build_parser, main
from dstc.sim.config import ConfigError, DstcConfig, preset

#: ``{subcommand: arguments that make it do as little as possible}`` for every subcommand
#: that reads a configuration; ``None``: it takes no ``--config``.
CONFIG_COMMANDS = {
    "generate": ["-o", "{out}"],
    "isa": [],
    "sim": ["--m", "1", "--n", "1", "--k", "1", "-o", "{out}"],
    "area": ["-o", "{out}"],
    "fpga": ["-o", "{out}"],
    "sweep": ["--m", "8", "--n", "8", "--k", "8", "--no-figures", "-o", "{out}"],
}

#: Every subcommand with ``-o``, with the arguments that select the cheapest run.
OUTPUT_COMMANDS = {
    "generate": ["--preset", "small"],
    "sim": ["--preset", "small", "--m", "1", "--n", "1", "--k", "1"],
    "demo": [],
    "bench": ["--speed-table"],
    "area": ["--preset", "small"],
    "fpga": ["--preset", "small"],
    "sweep": ["--preset", "small", "--m", "8", "--n", "8", "--k", "8", "--no-figures"],
}


def _run(argv, capsys):
    """``dstc argv``: ``(exit status, standard error)``, whether the command returns or
    argparse exits."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err


def _args(command, extra, out):
    return [command, *(arg.format(out=out) for arg in extra)]


# ---- configuration files -----------------------------------------------------------------

BAD_CONFIG_FILES = [
    (b'{"tile_m": 16,', "not valid JSON: Expecting property name enclosed in double quotes "
                        "(line 1, column 15)"),
    (b"", "empty; expected a JSON object"),
    (b"  \n", "empty; expected a JSON object"),
    (b'{"tile_m": 16}\xff', "not UTF-8 text (byte 0xff at offset 14)"),
    ('{"operand_type": "int8", "accum_type": "int32", "tile_m": "16"}'.encode("utf-16"),
     "not UTF-8 text (byte 0xff at offset 0)"),
    (b"[1, 2]", "configuration must be a JSON object, not list"),
    (b'"small"', "configuration must be a JSON object, not str"),
    (b'{"tile_m": "16"}', "tile_m='16': must be an integer"),
    (b'{"tile_m": null}', "tile_m=None: must be an integer"),
    (b'{"tile_m": 16.0}', "tile_m=16.0: must be an integer"),
    (b'{"operand_type": ["int8"]}', "operand_type=['int8']: must be a string naming a number "
                                    "type"),
    (b'{"operand_type": 8}', "operand_type=8: must be a string naming a number type"),
    (b'{"tile_m": 16, "tile_m": 8}', "tile_m: given twice"),
    (b"[" * 100000, "not valid JSON: nested too deeply"),
]


@pytest.mark.parametrize("command", list(CONFIG_COMMANDS))
@pytest.mark.parametrize("content, message", BAD_CONFIG_FILES)
def test_a_bad_configuration_file_is_one_message_and_status_2(tmp_path, capsys, command,
                                                              content, message):
    path = tmp_path / "mine.json"
    path.write_bytes(content)
    out = tmp_path / "out"
    started = time.monotonic()
    status, err = _run(_args(command, CONFIG_COMMANDS[command], out) + ["--config", str(path)],
                       capsys)
    assert status == 2
    assert err.startswith(f"dstc: invalid configuration: --config {path}: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert time.monotonic() - started < 5     # refused before any work
    assert not out.exists()


def test_a_missing_or_unreadable_configuration_file(tmp_path, capsys):
    status, err = _run(["isa", "--config", str(tmp_path / "none.json")], capsys)
    assert (status, err) == (2, f"dstc: invalid configuration: --config {tmp_path}/none.json: "
                                f"No such file or directory\n")
    status, err = _run(["isa", "--config", str(tmp_path)], capsys)
    assert (status, err) == (2, f"dstc: invalid configuration: --config {tmp_path}: Is a "
                                f"directory\n")


def test_a_byte_order_mark_is_accepted(tmp_path, capsys):
    """A UTF-8 byte-order mark (as some Windows editors write) is read as UTF-8 JSON."""
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + preset("small").to_json().encode())
    assert DstcConfig.load(path) == preset("small")
    assert main(["generate", "--config", str(path), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "config.json").read_text() == preset("small").to_json()


def test_number_type_names_are_normalised(tmp_path):
    """``int08`` is ``int8``: the configuration equals the preset and config.json writes the
    canonical name."""
    config = DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                        operand_type="int08", accum_type="int016")
    assert config == preset("small")
    assert (config.operand_type, config.accum_type) == ("int8", "int16")
    assert json.loads(config.to_json())["operand_type"] == "int8"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**preset("small").to_dict(), "operand_type": "int008"}))
    assert main(["generate", "--config", str(path), "-o", str(tmp_path / "out")]) == 0
    assert json.loads((tmp_path / "out" / "config.json").read_text())["operand_type"] == "int8"
    with pytest.raises(ConfigError, match="operand_type='int\u0668': unknown number type"):
        DstcConfig(operand_type="int\u0668", accum_type="int32")   # an Arabic-Indic 8


def test_a_configuration_file_named_like_a_preset_is_not_that_preset(tmp_path):
    """Its label is ``config:<stem>`` and its folder carries a digest of its contents, so it
    never shares a preset's build folder, nor another file of the same name."""
    path = tmp_path / "small.json"
    path.write_text(preset("small").to_json())
    args = build_parser().parse_args(["area", "--config", str(path)])
    config = options.config_from(args)
    assert options.config_name(args) == "config:small"
    folder = options.config_folder(args, config)
    assert re.fullmatch(r"config-small-[0-9a-f]{8}", folder)
    other = options.config_folder(args, config.replace(k_chunk=8))
    assert other != folder and other.startswith("config-small-")
    preset_args = build_parser().parse_args(["area", "--preset", "small"])
    assert options.config_folder(preset_args, preset("small")) == "small"


# ---- output paths ------------------------------------------------------------------------

def _unwritable(tmp_path):
    """A folder path that cannot be created or written (as root, permissions do not stop
    writes, so a path in /sys, where nobody can create folders)."""
    if os.geteuid() == 0:
        return "/sys/dstc-test-output"
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return str(locked / "out")


@pytest.mark.parametrize("command", list(OUTPUT_COMMANDS))
@pytest.mark.parametrize("case", ["empty", "file", "under a file", "not writable"])
def test_a_bad_output_path_is_refused_before_any_work(tmp_path, capsys, monkeypatch, command,
                                                      case):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    output, message = {
        "empty": ("", "--output '': empty; give a folder (use . for the current folder)"),
        "file": (str(blocker), f"--output {blocker}: exists and is not a folder"),
        "under a file": (str(blocker / "sub"), f"--output {blocker}/sub: {blocker} is a file, "
                                               f"not a folder"),
        "not writable": (_unwritable(tmp_path), "cannot write there"),
    }[case]
    started = time.monotonic()
    status, err = _run([command, *OUTPUT_COMMANDS[command], "-o", output], capsys)
    assert status == 2, err
    assert message in err and err.startswith(f"dstc {command}: error: ") and \
        err.count("\n") == 1
    assert time.monotonic() - started < 5
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file"] + \
        (["locked"] if (tmp_path / "locked").exists() else [])
    assert blocker.read_text() == "keep me"


# ---- numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["demo", "--seed", "-5"], "argument --seed: -5: a seed must be a non-negative integer"),
    (["sim", "--seed", "-1"], "argument --seed: -1: a seed must be a non-negative integer"),
    (["sim", "--seed", "1.5"], "argument --seed: '1.5' is not an integer"),
    (["sweep", "--seed", "-5"], "argument --seed: -5: a seed must be a non-negative integer"),
    (["fpga", "--clock-mhz", "nan"], "argument --clock-mhz: nan: must be a finite number "
                                     "greater than 0"),
    (["fpga", "--clock-mhz", "inf"], "argument --clock-mhz: inf: must be a finite number "
                                     "greater than 0"),
    (["fpga", "--clock-mhz", "0"], "argument --clock-mhz: 0: must be a finite number greater "
                                   "than 0"),
    (["fpga", "--clock-mhz", "-50"], "argument --clock-mhz: -50: must be a finite number "
                                     "greater than 0"),
    (["area", "--clock-ns", "nan"], "argument --clock-ns: nan: must be a finite number "
                                    "greater than 0"),
    (["area", "--jobs", "two"], "argument --jobs: 'two' is not an integer"),
    (["sim", "--m", "0"], "argument --m: 0: must be a positive integer"),
    (["sim", "--density-a", "x"], "argument --density-a: 'x' is not a number"),
])
def test_bad_numbers_are_refused_when_parsing(capsys, argv, message):
    started = time.monotonic()
    status, err = _run(argv, capsys)
    assert status == 2 and message in err and "Traceback" not in err
    assert time.monotonic() - started < 2


def _typed_options():
    """``(subcommand, option, type function)`` of every option of every subcommand that
    converts its value."""
    parser = build_parser()
    for name, subparser in parser._subparsers._group_actions[0].choices.items():
        for action in subparser._actions:
            if action.type is not None and action.option_strings:
                yield name, action.option_strings[-1], action.type


@pytest.mark.parametrize("command, option, function",
                         [pytest.param(*entry, id=f"{entry[0]} {entry[1]}")
                          for entry in _typed_options()])
def test_argparse_errors_name_no_internal_function(capsys, command, option, function):
    """argparse prints ``invalid <function name> value`` when a type function raises
    ValueError; every type function raises ArgumentTypeError with a message instead."""
    for text in ("@@", "", "-1", "nan", "1e999"):
        try:
            function(text)
        except argparse.ArgumentTypeError as error:
            assert str(error) and "invalid" not in str(error)
            status, err = _run([command, f"{option}={text}"], capsys)
            assert status == 2 and f"argument {option}: {error}" in err
        except Exception as error:
            pytest.fail(f"{command} {option} {text!r}: {type(error).__name__}: {error}")
    assert not re.search(r"invalid \w+ value", capsys.readouterr().err)


def test_there_are_typed_options_to_check():
    assert {("sim", "--seed"), ("fpga", "--clock-mhz"), ("sweep", "--bandwidth"),
            ("area", "--clock-ns")} <= {entry[:2] for entry in _typed_options()}


# ---- exit statuses -----------------------------------------------------------------------

def _replace_command(monkeypatch, name, function):
    """Make ``dstc <name>`` run ``function(args)``."""
    original = cli.build_parser

    def build():
        parser = original()
        parser._subparsers._group_actions[0].choices[name].set_defaults(run=function)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


@pytest.mark.parametrize("error, status, message", [
    (KeyboardInterrupt(), 130, "dstc: interrupted\n"),
    (cli.Terminated(), 143, "dstc: terminated\n"),
    (options.UsageError("--x 3: must be 4"), 2, "dstc isa: error: --x 3: must be 4\n"),
    (ConfigError("tile_m=3: bad"), 2, "dstc: invalid configuration: tile_m=3: bad\n"),
    (OSError(28, "No space left on device", "build/x/dstc_core.v"), 1,
     "dstc isa: No space left on device: build/x/dstc_core.v\n"),
    (MemoryError(), 1, "dstc isa: out of memory (try a smaller shape)\n"),
])
def test_exit_statuses(monkeypatch, capsys, error, status, message):
    def fail(args):
        raise error

    _replace_command(monkeypatch, "isa", fail)
    assert main(["isa"]) == status
    assert capsys.readouterr() == ("", message)


def test_ctrl_c_while_the_subcommands_load(monkeypatch, capsys):
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["isa"]) == 130
    assert capsys.readouterr() == ("", "dstc: interrupted\n")


def test_a_failed_simulation_or_tool_is_status_1(monkeypatch, capsys):
    from dstc.gen.cocotb_run import SimulationError
    from dstc.gen.tools import ToolError

    for error in (SimulationError("dstc.gen.cocotb_gemm on icarus: 1 of 1 tests failed"),
                  ToolError("yosys failed (exit code 1) after 3 s; log x.log, last lines:\n")):
        def fail(args, error=error):
            raise error
        _replace_command(monkeypatch, "sim", fail)
        assert main(["sim"]) == 1
        assert capsys.readouterr().err == f"dstc sim: {error}\n"


@pytest.mark.parametrize("command", [["presets"], ["isa", "--preset", "small"]])
def test_a_closed_standard_output_ends_quietly(command):
    """``dstc presets | head -0``: the reader is gone before ``dstc`` writes; no traceback,
    the status of a process ended by SIGPIPE."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "dstc.gen.cli", *command],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()                      # before the interpreter has even started
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert stderr == ""
