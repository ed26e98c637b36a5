"""The ``dstc`` command line: help, generation, determinism and configuration errors."""

import json
import os
import subprocess
import sys

import pytest

from dstc.gen.cli import build_parser, main
from dstc.sim.config import DstcConfig, preset

SUBCOMMANDS = ["presets", "generate", "isa", "sim", "bench", "demo", "area", "fpga"]


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
