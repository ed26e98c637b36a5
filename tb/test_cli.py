"""The ``dstc`` command line: help, generation, determinism and configuration errors."""

import argparse
import io
import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest

from dstc.gen import options
from dstc.gen.cli import build_parser, main
from dstc.gen.gemm_sim import run_with_progress
from dstc.sim.config import DstcConfig, preset

SUBCOMMANDS = ["presets", "generate", "isa", "sim", "conv", "bench", "demo", "area", "fpga",
               "sweep", "explore", "network"]


def test_every_subcommand_has_help(capsys):
    for args in ([], *([name] for name in SUBCOMMANDS)):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--help"])
        assert exit_.value.code == 0
        assert "usage: dstc" in capsys.readouterr().out
    assert set(build_parser()._subparsers._group_actions[0].choices) == set(SUBCOMMANDS)


def test_presets_lists_all(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "8x16 multipliers, 32x32 tile, k-chunk 16, fp16 -> fp32" in out


def _generate(out_dir, hash_seed, *args):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    subprocess.run([sys.executable, "-m", "dstc.gen.cli", "generate", *args, "-o", str(out_dir)],
                   check=True, env=env, capture_output=True)
    return {path.name: path.read_bytes() for path in sorted(out_dir.iterdir())}


def test_generate_is_deterministic(tmp_path):
    """Two runs in separate processes (different hash seeds) write byte-identical files."""
    first = _generate(tmp_path / "one", 1, "--preset", "small", "--blocks", "--design", "both")
    second = _generate(tmp_path / "two", 2, "--preset", "small", "--blocks", "--design", "both")
    assert first == second
    assert b"module dstc_dense_core(" in first["dstc_dense_core.v"]
    assert {"dstc_core.v", "dstc_dense_core.v", "dstc_multiplier_array.v", "dstc_accumulator.v",
            "dstc_a_decoder.v", "dstc_b_decoder.v", "dstc_output_encoder.v", "config.json",
            "manifest.json"} == set(first)
    assert DstcConfig.from_json(first["config.json"].decode()) == preset("small")
    assert json.loads(first["config.json"])["schema"] == DstcConfig.SCHEMA_VERSION
    manifest = json.loads(first["manifest.json"])
    assert manifest["dstc_core.v"]["bytes"] == len(first["dstc_core.v"])
    assert b"module dstc_core(" in first["dstc_core.v"]
    assert b"module dstc_accumulator(" in first["dstc_accumulator.v"]


def test_generate_from_config_file(tmp_path, capsys):
    config = preset("small").replace(array_cols=8)
    path = tmp_path / "custom.json"
    path.write_text(config.to_json())
    assert main(["generate", "--config", str(path), "-o", str(tmp_path / "out")]) == 0
    written = DstcConfig.from_json((tmp_path / "out" / "config.json").read_text())
    assert written == config


@pytest.mark.parametrize("text, message", [
    ('{"array_rows": 3}', "array_rows=3: must be a power of two"),
    ('{"tile_k": 4}', "tile_k: unknown configuration parameter"),
    ('{"schema": 2, "tile_m": 16}', "schema=2: unsupported configuration schema version; "
                                    "this version of dstc reads schema 1"),
])
def test_invalid_config_fails_with_named_parameter(tmp_path, capsys, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["generate", "--config", str(path), "-o", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_preset_and_missing_file(tmp_path, capsys):
    assert main(["generate", "--preset", "huge", "-o", str(tmp_path)]) == 2
    assert "preset='huge': unknown preset" in capsys.readouterr().err
    assert main(["generate", "--config", str(tmp_path / "none.json"), "-o", str(tmp_path)]) == 2
    assert "No such file" in capsys.readouterr().err


def test_isa_tables_in_the_docs_are_current(capsys):
    """docs/isa.md holds the output of `dstc isa --preset default`, verbatim."""
    from conftest import ROOT
    assert main(["isa", "--preset", "default"]) == 0
    tables = capsys.readouterr().out
    assert "| KSTEP | 0x4 |" in tables and "Command beat: 1044 bits" in tables
    assert tables in (ROOT / "docs" / "isa.md").read_text()


def test_progress_bar_draws_each_state_once(tmp_path):
    """The simulator process writes "done total" to a file; the bar shows every new state
    once, the last one included, and ends its line; the run's value comes back."""
    progress = tmp_path / "progress"
    states = [(0, 88), (8, 88), (8, 88), (40, 88), (88, 88)]

    def run():
        for done, total in states:
            progress.write_text(f"{done} {total}")
            time.sleep(0.5)
        return 42

    stream = io.StringIO()
    assert run_with_progress(run, progress, "16x16x16", stream=stream) == 42
    text = stream.getvalue()
    assert re.search(r"\r  16x16x16 \[#{30}\] 88/88 commands, \d+ s\n$", text)
    drawn = [line.split("] ")[1].split(",")[0] for line in text.rstrip("\n").split("\r") if line]
    assert drawn == ["0/88 commands", "8/88 commands", "40/88 commands", "88/88 commands"]
    assert text.count("\n") == 1


def test_progress_bar_passes_errors_on(tmp_path):
    def run():
        raise ValueError("simulator failed")

    stream = io.StringIO()
    with pytest.raises(ValueError, match="simulator failed"):
        run_with_progress(run, tmp_path / "never-written", "x", stream=stream)
    assert stream.getvalue() == ""


def test_shared_options(tmp_path):
    assert options.density("0.25") == 0.25 and options.positive_int("3") == 3
    assert options.positive_float("0.5") == 0.5 and options.seed_type("0") == 0
    for function, text, message in (
            (options.density, "1.5", "1.5: a density must be between 0 and 1"),
            (options.density, "half", "'half' is not a number"),
            (options.positive_int, "0", "0: must be a positive integer"),
            (options.positive_int, "2.5", "'2.5' is not an integer"),
            (options.positive_float, "0", "0: must be a finite number greater than 0"),
            (options.positive_float, "-3", "-3: must be a finite number greater than 0"),
            (options.positive_float, "nan", "nan: must be a finite number greater than 0"),
            (options.positive_float, "inf", "inf: must be a finite number greater than 0"),
            (options.seed_type, "-5", "-5: a seed must be a non-negative integer"),
            (options.seed_type, "x", "'x' is not an integer")):
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(message)):
            function(text)
    args = argparse.Namespace(preset="small", config=None, output=None)
    assert options.config_name(args) == "small"
    assert options.config_folder(args, preset("small")) == "small"
    args = argparse.Namespace(preset="default", config="dir/mine.json", output=str(tmp_path))
    assert options.config_name(args) == "config:mine"
    assert options.output_folder(args, "x", preset("small")) == tmp_path


def test_the_logger_prints_plain_lines_to_the_current_stdout(capsys):
    options.configure_logging()
    options.configure_logging()                          # idempotent: one line per message
    logging.getLogger("dstc").info("  dstc   generic 1.0 s")
    logging.getLogger("dstc").debug("not shown")
    assert capsys.readouterr() == ("  dstc   generic 1.0 s\n", "")


def test_commands_import_the_shared_options_not_the_cli():
    """Imports go one way: cli -> command modules -> options."""
    from conftest import ROOT
    for path in [*(ROOT / "gen").glob("*.py"), *(ROOT / "gen" / "fpga").glob("*.py")]:
        if path.name != "cli.py" or path.parent.name == "fpga":
            text = path.read_text()
            assert "from .cli import" not in text and "from ..cli import" not in text, path


def test_the_summary_of_a_gemm_with_nothing_to_compute():
    """Every tile skipped (density 0): no cycles, so no finite speedup to print."""
    from dstc.gen.gemm_sim import GemmResult

    result = GemmResult(
        preset="small", simulator="icarus", seed=6, m=16, n=16, k=16, density_a=0.0,
        density_b=0.5, ok=True, values_match=True, cycles=0, model_cycles=0, dense_cycles=565,
        speedup=float("inf"), ideal_speedup=float("inf"), utilisation=0.0,
        slot_utilisation=0.0, tiles_issued=0, tiles_skipped=16, errors=0,
        counters={"useful_macs": 0}, sim_seconds=0.0, build_and_run_seconds=1.0,
        generate_seconds=0.0, waves=None)
    lines = result.summary(8)
    assert "  cycles        0 measured; cycle model 0 (equal)" in lines
    assert ("  speedup       unbounded (nothing to compute) over dense; ideal 1/(dA*dB) = "
            "unbounded (nothing to compute)") in lines


def test_runs_in_one_output_folder_take_turns(tmp_path, caplog):
    import threading

    order = []
    inside = threading.Event()
    release = threading.Event()

    def first():
        with options.folder_lock(tmp_path, "area"):
            order.append("first in")
            inside.set()
            release.wait(10)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(10)
    threading.Timer(0.5, release.set).start()
    with caplog.at_level(logging.INFO, logger="dstc"):
        with options.folder_lock(tmp_path, "area"):
            order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]
    assert caplog.messages == [f"waiting for another dstc area working in {tmp_path} to finish"]
