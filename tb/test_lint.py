"""Lint of the shipped Verilog: ``verilator --lint-only -Wall`` finds no error, and only the
warning kinds accepted (with the reason) in docs/lint.md."""

import re
import subprocess

import pytest
from conftest import ROOT
from designs import core_design, dense_design, unit_verilog
from presets import ALL_PRESETS, PRESETS, SMALL_VARIANT_PRESETS

from dstc.gen.cocotb_run import prepare_environment
from dstc.gen.generate import block_units
from dstc.sim.config import preset

BLOCKS = list(block_units(preset("small")))


def accepted_warnings():
    """Warning codes listed in the table of docs/lint.md (rows ``| CODE | ... |``)."""
    text = (ROOT / "docs" / "lint.md").read_text()
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", text, flags=re.MULTILINE))


def lint(path, top):
    prepare_environment()
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "-Wno-fatal", "--top-module", top, str(path)],
        capture_output=True, text=True)
    return result.returncode, result.stderr


def test_lint_doc_lists_warnings():
    assert {"WIDTHEXPAND", "UNUSEDSIGNAL"} <= accepted_warnings()


def check_lint(design):
    status, output = lint(design.path, design.name)
    errors = [line for line in output.splitlines() if line.startswith("%Error")]
    assert status == 0 and not errors, "\n".join(errors[:20])
    found = set(re.findall(r"^%Warning-([A-Z0-9_]+):", output, flags=re.MULTILINE))
    unexpected = found - accepted_warnings()
    assert not unexpected, f"warnings not accepted in docs/lint.md: {sorted(unexpected)}"


@pytest.mark.parametrize("preset_name", PRESETS + SMALL_VARIANT_PRESETS)
def test_core_lint(preset_name):
    """The core, as `dstc generate` writes it (all its blocks inside)."""
    check_lint(core_design(preset_name))


@pytest.mark.slow
@pytest.mark.parametrize("preset_name", sorted(set(ALL_PRESETS) - set(PRESETS)
                                               - set(SMALL_VARIANT_PRESETS)))
def test_core_lint_soak(preset_name):
    """`make soak`: the default-shape accumulator variants (a minute and a half each)."""
    check_lint(core_design(preset_name))


@pytest.mark.parametrize("preset_name", PRESETS)
def test_dense_core_lint(preset_name):
    """The dense baseline (`dstc generate --design dense`)."""
    check_lint(dense_design(preset_name))


@pytest.mark.parametrize("unit", BLOCKS)
def test_block_lint(unit):
    """The standalone blocks of `dstc generate --blocks` (small preset)."""
    check_lint(unit_verilog(unit, "small"))


@pytest.mark.parametrize("design", [core_design, dense_design])
def test_outputs_are_driven_whole(design):
    """No vector is assembled from many part-select drivers (Icarus becomes thousands of times
    slower on those; see docs/toolchain.md)."""
    drivers = re.findall(r"^\s*assign (\S+)\[\d+(?::\d+)?\] =",
                         design("small").path.read_text(), flags=re.MULTILINE)
    counts = {name: drivers.count(name) for name in set(drivers)}
    assert max(counts.values(), default=0) <= 2, counts
