"""Running a command-level cocotb module (tb/cocotb_tests/core.py or dense_core.py) on a
generated design from pytest, and reading back the summaries its tests report."""

import json

from conftest import BUILD, TB_DIR

from dstc.gen.cocotb_run import run_cocotb

__all__ = ["run_command_tests", "run_soak"]


def run_command_tests(design, test_module, preset_name, simulator, seed, tiles, stall_tiles,
                      testcase=None):
    """Run the cocotb module ``test_module`` on ``design`` (a
    :class:`~designs.GeneratedDesign` of preset ``preset_name``) with ``tiles`` random tiles
    and ``stall_tiles`` random tiles with stalls; ``testcase`` (a list of test names) limits
    the tests run. Prints the summaries and returns them by test name."""
    build = BUILD / "sim" / design.name / simulator
    report = build / "report.jsonl"
    report.unlink(missing_ok=True)
    run_cocotb(verilog_path=design.path, toplevel=design.name, test_module=test_module,
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator, build_dir=build,
               testcase=testcase,
               extra_env={"DSTC_PRESET": preset_name, "DSTC_SEED": str(seed),
                          "DSTC_TILES": str(tiles), "DSTC_STALL_TILES": str(stall_tiles),
                          "DSTC_REPORT": str(report)})
    results = [json.loads(line) for line in report.read_text().splitlines()]
    print(json.dumps(results, indent=1))
    return {entry["test"]: entry for entry in results}


def run_soak(design, test_module, preset_name, seed, tiles):
    """`make soak`: only the random tile tests, on Verilator, with ``tiles`` tiles (and a
    tenth of that with stalls); both must run every tile and compare responses (the cocotb
    tests raise on a mismatch, so a summary exists only for a test that passed)."""
    summary = run_command_tests(design, test_module, preset_name, "verilator", seed, tiles,
                                tiles // 10,
                                testcase=["random_tiles", "random_tiles_with_stalls"])
    for test, count in (("random_tiles", tiles), ("random_tiles_with_stalls", tiles // 10)):
        assert summary[test]["tiles"] == count, summary[test]
        assert summary[test]["responses"] > 0, summary[test]
