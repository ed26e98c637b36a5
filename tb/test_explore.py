"""``dstc explore`` (gen/explore.py): a small grid end to end on a Dask LocalCluster (the
table, the dense baseline shared, a failing synthesis reported while the others go on, the
cache on rerun, the Pareto marking), and the spec, the Pareto rule and the CLI's errors."""

import csv
import dataclasses
import json
import os

import pytest

from dstc.gen import explore, explore_jobs, explore_report, explore_spec
from dstc.gen.cli import main
from dstc.gen.options import UsageError
from dstc.gen.tools import ToolError
from dstc.sim.banked import BankedStallCost
from dstc.sim.config import preset
from dstc.sim.gemm_cycles import gemm_cycles

SHAPE = (48, 40, 64)
POINTS = ((1.0, 1.0), (0.5, 0.4), (0.1, 0.1))


def _spec(**changes):
    values = {"presets": ("small",), "axes": (("k_chunk", (4, 8)), ("array_rows", (2, 16))),
              "shape": SHAPE, "points": POINTS, "timing": False, "cmos": False, "jobs": 1}
    return explore_spec.ExploreSpec(**{**values, **changes})


def _run(out_dir):
    # One in-process worker (threads), no dashboard: light, and safe beside other tests.
    # k_chunk is declared accumulator-only here, so both designs share one dense baseline.
    return explore.run_explore(_spec(), out_dir, processes=False, threads=2,
                               sparse_only_fields=("k_chunk",))


def test_a_small_grid_end_to_end(tmp_path, monkeypatch):
    # The task is pickled to the worker (by value): it logs its calls to a file.
    log = tmp_path / "calls.txt"
    log.write_text("")
    real_synthesis = explore.synthesis_job

    def failing_once(config_json, design, out_dir, options):
        config = json.loads(config_json)
        with open(log, "a") as handle:
            handle.write(f"{config['k_chunk']} {design}\n")
        if config["k_chunk"] == 8 and design == "dstc" and len(log.read_text().split("\n")) <= 4:
            raise ToolError("yosys stage cells failed (killed: out of memory)")
        return real_synthesis(config_json, design, out_dir, options)

    def calls():
        return [(int(k), design) for k, design in
                (line.split() for line in log.read_text().splitlines())]

    monkeypatch.setattr(explore, "synthesis_job", failing_once)
    out = tmp_path / "explore"

    # Run 1: the k_chunk=8 synthesis fails; the invalid designs (16 row lanes on an 8-row
    # tile) are reported; everything else completes.
    first = _run(out)
    assert sorted(calls()) == [(4, "dense"), (4, "dstc"), (8, "dstc")]   # one dense baseline
    assert first.jobs_failed == 1 and first.jobs_cached == 0
    assert len(first.rows) == 4 * 2 * len(POINTS)
    by_design = {}
    for row in first.rows:
        by_design.setdefault(row.design, []).append(row)
    assert set(by_design) == {"small k_chunk=4 array_rows=2", "small k_chunk=4 array_rows=16",
                              "small k_chunk=8 array_rows=2", "small k_chunk=8 array_rows=16"}
    good, failed = by_design["small k_chunk=4 array_rows=2"], by_design[
        "small k_chunk=8 array_rows=2"]
    generated = {path.stat().st_size for path in out.glob("area/*/dstc/dstc_core.v")}
    for row in good:
        assert row.error is None and row.cycles > 0 and row.area_ratio > 1
        assert row.verilog_bytes in generated      # the generated Verilog, not the netlist
        assert row.normalised_latency == row.cycles / row.dense_mode_cycles
        assert row.cycle_ratio == 1.0                       # a crossbar: its own reference
        assert row.pareto is True                           # the only synthesised design
    for row in failed:
        assert row.error.startswith("dstc synthesis: ToolError: yosys stage cells failed")
        assert row.area_ratio is None and row.pareto is None
        assert row.cycles > 0                               # its sweeps still ran
    for row in by_design["small k_chunk=4 array_rows=16"]:
        assert row.error.startswith("invalid configuration: array_rows=16")
        assert row.cycles is None
    (full,) = [row for row in good if (row.operands, row.density_a) == ("uniform", 1.0)]
    assert full.cycles > 0 and full.dense_area_mm2 > 0 and 0 < full.network_share < 1

    # The files: CSV with every row, Markdown with the summary and the error, the plot.
    paths = {path.name: path for path in first.paths}
    assert set(paths) == {"explore.csv", "explore.md", "explore.png"}
    with open(paths["explore.csv"]) as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == len(first.rows)
    assert set(records[0]) == {field for field in explore_report.COLUMNS}
    text = paths["explore.md"].read_text()
    assert "| small k_chunk=8 array_rows=2 |" in text and "ToolError" in text
    assert paths["explore.png"].read_bytes()[:4] == b"\x89PNG"

    # Run 2: the failure was not cached and runs again (now succeeding); the rest is cached.
    second = _run(out)
    assert calls()[3:] == [(8, "dstc")]
    assert second.jobs_failed == 0 and second.jobs_run == 1
    assert second.jobs_cached == first.jobs_run
    rows = [row for row in second.rows if row.error is None]
    assert {row.design for row in rows} == {"small k_chunk=4 array_rows=2",
                                            "small k_chunk=8 array_rows=2"}
    # Pareto marking: per operand kind and point, exactly the undominated designs.
    for kind in explore_spec.OPERAND_KINDS:
        for point in POINTS:
            group = [row for row in rows
                     if row.operands == kind and (row.density_a, row.density_b) == point]
            assert len(group) == 2
            for row in group:
                other = next(o for o in group if o is not row)
                dominated = (other.area_ratio <= row.area_ratio
                             and other.normalised_latency <= row.normalised_latency
                             and (other.area_ratio, other.normalised_latency)
                             != (row.area_ratio, row.normalised_latency))
                assert row.pareto is (not dominated)
    # Same operands, same cycles as run 1 (the sweeps were cached).
    assert [row.cycles for row in second.rows] == [row.cycles for row in first.rows]

    # Run 3: everything cached, nothing runs (no cluster is even started).
    third = _run(out)
    assert len(calls()) == 4
    assert third.jobs_run == 0 and third.jobs_failed == 0
    assert third.rows == second.rows


def test_pareto_flags():
    points = [(1.0, 1.0), (2.0, 0.5), (2.0, 1.0), (0.5, 2.0), None, (1.0, None), (1.0, 1.0)]
    assert explore_report.pareto_flags(points) == [True, True, False, True, None, None, True]


def test_the_dense_baseline_ignores_only_the_variant_fields():
    small = preset("small")
    assert explore_spec.dense_config(small.replace(k_chunk=8), small) == small.replace(k_chunk=8)
    assert explore_spec.dense_config(small.replace(k_chunk=8), small, ("k_chunk",)) == small


def test_accumulate_stages_is_an_axis_that_shares_one_dense_baseline():
    """``accumulate_stages`` as an explore axis: a design per depth, all with the preset's
    dense baseline and timed against today's core (one stage) as the crossbar reference."""
    spec = explore_spec.ExploreSpec(presets=("small8", "small8-g8"),
                                    axes=(("accumulate_stages", (1, 2, 3)),), synthesis=False)
    designs = explore_spec.expand(spec)
    assert [design.label for design in designs[:3]] == [
        f"small8 accumulate_stages={stages}" for stages in (1, 2, 3)]
    for design in designs:
        base = preset(design.preset)
        assert design.config.accumulate_stages == dict(design.fields)["accumulate_stages"]
        assert explore_spec.dense_config(design.config, base) == base
        assert explore_spec.tiling(design.config).accumulate_stages == 1
    assert "accumulate_stages" in explore_spec.SPARSE_ONLY_FIELDS
    bad = explore_spec.expand(dataclasses.replace(spec, axes=(("accumulate_stages", (4,)),)))
    assert bad[0].config is None and "accumulate_stages=4: must be one of" in bad[0].error


def test_tile_buffers_is_an_axis_with_its_own_dense_baseline():
    """``tile_buffers`` applies to both cores: a two-buffer design gets a two-buffer dense
    baseline, but its cycles are compared with today's one-buffer crossbar."""
    spec = explore_spec.ExploreSpec(presets=("small8",), axes=(("tile_buffers", (1, 2)),),
                                    synthesis=False)
    one, two = explore_spec.expand(spec)
    base = preset("small8")
    assert explore_spec.dense_config(one.config, base) == base
    assert explore_spec.dense_config(two.config, base) == base.replace(tile_buffers=2)
    assert explore_spec.tiling(two.config) == explore_spec.tiling(one.config) == base
    assert "tile_buffers" in explore_spec.REFERENCE_FIELDS
    assert "tile_buffers" not in explore_spec.SPARSE_ONLY_FIELDS


def test_specs_from_toml_and_json(tmp_path):
    toml = tmp_path / "grid.toml"
    toml.write_text('presets = ["small", "small-fp16"]\nshape = [64, 64, 128]\n'
                    'points = [[0.5, 0.4]]\noperands = ["uniform"]\n'
                    'designs = [{}, {tile_m = 16, tile_n = 16}]\n'
                    '[axes]\nk_chunk = [4, 8]\n')
    spec = explore_spec.load_spec(toml)
    assert spec.presets == ("small", "small-fp16") and spec.shape == (64, 64, 128)
    assert spec.axes == (("k_chunk", (4, 8)),) and spec.points == ((0.5, 0.4),)
    assert spec.designs == ((), (("tile_m", 16), ("tile_n", 16)))
    designs = explore_spec.expand(spec)
    assert [design.label for design in designs] == [
        "small k_chunk=4", "small k_chunk=8", "small tile_m=16 tile_n=16 k_chunk=4",
        "small tile_m=16 tile_n=16 k_chunk=8", "small-fp16 k_chunk=4", "small-fp16 k_chunk=8",
        "small-fp16 tile_m=16 tile_n=16 k_chunk=4", "small-fp16 tile_m=16 tile_n=16 k_chunk=8"]
    assert designs[3].config == preset("small").replace(tile_m=16, tile_n=16, k_chunk=8)
    document = tmp_path / "grid.json"
    document.write_text(json.dumps({"axes": {"tile_n": [8, 16]}, "seed": 5,
                                    "banked": [[8, 16], [3, 16]]}))
    spec = explore_spec.load_spec(document)
    assert spec.axes == (("tile_n", (8, 16)),) and spec.seed == 5
    assert spec.banked == ((8, 16), (3, 16))
    designs = explore_spec.expand(spec)
    assert [design.label for design in designs] == [
        "default tile_n=8", "default tile_n=16", "default banked=8x16", "default banked=3x16"]
    assert designs[2].banks == (8, 16) and designs[2].config == preset("default")
    assert designs[3].config is None and "row_banks=3: must divide tile_m" in designs[3].error
    assert spec.points == explore_spec.DEFAULT_POINTS and spec.shape == explore_spec.DEFAULT_SHAPE
    assert len(explore_spec.DEFAULT_POINTS) == 12


@pytest.mark.parametrize("content,message", [
    ('{"axis": {}}', "'axis': unknown key"),
    ('{"axes": {"row_lanes": [1]}}', "'row_lanes' is not a configuration field"),
    ('{"axes": {"k_chunk": []}}', "k_chunk=\\[\\]: give a non-empty list"),
    ('{"designs": [{"row_lanes": 2}]}', "designs: 'row_lanes' is not a configuration field"),
    ('{"designs": {"k_chunk": 2}}', "designs: must be a list of tables"),
    ('{"banked": [[8, 0]]}', "banked: \\[8, 0\\] is not \\[row_banks, col_banks\\]"),
    ('{"designs": [{"k_chunk": 8}], "axes": {"k_chunk": [4]}}', "also set by a design"),
    ('{"shape": [1, 2]}', "shape=\\[1, 2\\]: must be three positive integers"),
    ('{"points": [[0.5, 1.5]]}', "is not \\[density_a, density_b\\]"),
    ('{"operands": ["gaussian"]}', "operands=\\['gaussian'\\]"),
    ('{"presets": ["huge"]}', "preset='huge': unknown preset"),
    ('[1]', "must be a table of settings"),
    ('{', "not valid JSON"),
    ('{"simulation": "yes"}', "simulation='yes': must be true or false"),
    ('{"fpga": 1}', "fpga=1: must be true or false"),
])
def test_bad_specs_are_refused(tmp_path, content, message):
    path = tmp_path / "spec.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        explore_spec.load_spec(path)


def test_cli_usage_errors(tmp_path, capsys):
    assert main(["explore", "--axis", "row_lanes=1,2", "-o", str(tmp_path)]) == 2
    assert "'row_lanes' is not a configuration field" in capsys.readouterr().err
    assert main(["explore", "--spec", str(tmp_path / "missing.toml"), "-o",
                 str(tmp_path)]) == 2
    assert "cannot be read" in capsys.readouterr().err
    empty = tmp_path / "empty.lib"
    empty.write_text("")
    assert main(["explore", "--preset", "small", "--liberty", str(empty), "-o",
                 str(tmp_path)]) == 2
    assert "or run with --no-synthesis" in capsys.readouterr().err
    for bad in (["--axis", "k_chunk"], ["--design", "k_chunk=4,tile_m"], ["--banked", "8"]):
        with pytest.raises(SystemExit) as stop:
            main(["explore", *bad, "-o", str(tmp_path)])
        assert stop.value.code == 2


def test_cli_cycle_model_only(tmp_path, capsys):
    """``--no-synthesis`` on a local cluster of worker processes: the cycle columns only."""
    assert main(["explore", "--preset", "small", "--design", "tile_m=8,tile_n=8",
                 "--design", "tile_m=16", "--banked", "2x4", "--no-synthesis", "--m", "32",
                 "--n", "32", "--k", "48", "-o", str(tmp_path)]) == 0
    with open(tmp_path / "explore.csv") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == 3 * 2 * 12
    assert {record["design"] for record in records} == {
        "small tile_m=8 tile_n=8", "small tile_m=16", "small banked=2x4"}
    assert all(record["area_ratio"] == "" and record["cycles"] for record in records)
    # The banked reference: the preset's crossbar timed with the banked cost, on the same
    # operands as the crossbar row.
    config = preset("small")
    for record in records:
        if record["design"] == "small banked=2x4" and record["density_b"] == "0.4":
            point = (float(record["density_a"]), 0.4)
            a_bits, b_bits = explore_jobs.draw_operands(record["operands"], config,
                                                        (32, 32, 48), point, 2021)
            assert int(record["cycles"]) == gemm_cycles(
                a_bits, b_bits, config, cost=BankedStallCost(config, 2, 4)).cycles
            assert int(record["crossbar_cycles"]) == gemm_cycles(a_bits, b_bits, config).cycles


def test_an_existing_scheduler(tmp_path):
    """``scheduler=``: the jobs go to a cluster the explorer did not start (and leaves up)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None, resources={"synth": 1},
                      scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"}) \
            as cluster:
        spec = _spec(synthesis=False, axes=(), points=((0.5, 0.4),), operands=("uniform",))
        result = explore.run_explore(spec, tmp_path, scheduler=cluster.scheduler_address)
        assert result.jobs_run == 1 and result.jobs_failed == 0
        (row,) = result.rows
        assert row.design == "small" and row.cycles > 0 and row.area_ratio is None
        with Client(cluster) as client:      # still running
            assert client.submit(sum, [1, 2]).result() == 3


def test_simulation_and_fpga_columns(tmp_path, monkeypatch):
    """``simulation`` and ``fpga`` on the small preset (about 2 minutes): the sparse core is
    built on Verilator from scratch without ccache and a checked SpGEMM runs on it; the
    sparse core and its dense baseline are synthesised for the ECP5 (not placed); the
    columns are filled, the summary shows them, and a rerun takes everything from the
    cache."""
    monkeypatch.setenv("OBJCACHE", "ccache")
    spec = _spec(axes=(), points=((0.5, 0.4),), operands=("uniform",), synthesis=False,
                 simulation=True, fpga=True)
    out = tmp_path / "explore"
    workload = {"m": 32, "n": 32, "k": 64, "density_a": 0.5, "density_b": 0.5, "seed": 3}

    def run():
        return explore.run_explore(spec, out, processes=False, threads=2, figures=False,
                                   simulation_workload=workload)

    first = run()
    assert first.jobs_failed == 0 and first.jobs_run == 4    # sweep, simulation, 2 FPGA
    (row,) = first.rows
    assert row.error is None and row.simulation_ok is True
    assert row.verilator_build_seconds > 1 and 0 < row.ms_per_tile < 60_000
    assert row.dense_fpga_luts > 0 and row.fpga_luts > row.dense_fpga_luts   # the crossbar
    assert row.fpga_lut_ratio == row.fpga_luts / row.dense_fpga_luts
    assert row.area_ratio is None                     # no standard-cell synthesis asked
    # A fresh build folder holds the Verilator model (-O2, as dstc sim); the FPGA jobs
    # built the harness alone and the core in it; the environment is as it was.
    (build,) = out.glob("sim/*/core/verilator-O2")
    assert any(build.iterdir())
    assert {path.name for path in out.glob("fpga/*/*")} == {"harness", "core"}
    assert os.environ["OBJCACHE"] == "ccache"
    text = (out / "explore.md").read_text()
    assert "| Verilator build (s) | ms / tile | RTL checked | FPGA LUTs |" in text
    assert f"| {row.fpga_luts:,} | {row.dense_fpga_luts:,} |" in text
    assert "32 x 32 x 64 SpGEMM at density 0.5 x 0.5" in text
    again = run()
    assert again.jobs_run == 0 and again.jobs_cached == 4 and again.rows == first.rows


def test_a_failed_simulation_is_reported(tmp_path, monkeypatch):
    """A simulation job that fails (here: raises) is reported in the design's rows, without
    its columns, while its sweep finishes."""
    def failing(config_json, out_dir, workload):
        raise RuntimeError("verilator: out of memory")

    monkeypatch.setattr(explore, "simulation_job", failing)
    spec = _spec(axes=(), points=((0.5, 0.4),), operands=("uniform",), synthesis=False,
                 simulation=True)
    result = explore.run_explore(spec, tmp_path, processes=False, threads=2, figures=False)
    (row,) = result.rows
    assert result.jobs_failed == 1 and result.jobs_run == 1 and row.cycles > 0
    assert row.error == "simulation: RuntimeError: verilator: out of memory"
    assert row.verilator_build_seconds is None and row.simulation_ok is None
    assert row.fpga_luts is None


def test_simulation_and_fpga_flags():
    import argparse

    parser = explore.add_arguments(argparse.ArgumentParser())
    spec = explore.spec_from(parser.parse_args(["--simulation", "--fpga", "--no-synthesis"]))
    assert spec.simulation and spec.fpga and not spec.synthesis
    spec = explore.spec_from(parser.parse_args([]))
    assert not spec.simulation and not spec.fpga


def _start_and_wait(pid_file):
    """A job that starts a long-running tool (``sleep``) the way the flows do and waits."""
    from dstc.gen.tools import child_process

    with child_process(["sleep", "300"]) as process:
        pid_file.write_text(str(process.pid))
        process.wait()


def test_closing_the_cluster_stops_the_tools(tmp_path):
    """A worker process of the explorer's cluster that closes mid-job (as after Ctrl-C or a
    SIGTERM of dstc explore) stops the tools its jobs started; without the plugin they would
    outlive it in their own process groups."""
    import time

    pid_file = tmp_path / "pid"
    client, cluster = explore._client(None, 1, 1, True, None)
    try:
        client.submit(_start_and_wait, pid_file, pure=False)
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        pid = int(pid_file.read_text())
        os.kill(pid, 0)                                   # running
    finally:
        client.close()
        cluster.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail(f"the tool (pid {pid}) outlived the cluster")


@pytest.mark.parametrize("workload,message", [
    ({"m": 32}, "must be a dict with the keys density_a, density_b, k, m, n, seed"),
    ({"m": 0, "n": 8, "k": 8, "density_a": 0.5, "density_b": 0.5, "seed": 1}, "m=0"),
    ({"m": 8, "n": 8, "k": 8, "density_a": 1.5, "density_b": 0.5, "seed": 1}, "density_a=1.5"),
])
def test_a_bad_simulation_workload_is_refused(tmp_path, workload, message):
    with pytest.raises(UsageError, match=message):
        explore.run_explore(_spec(simulation=True), tmp_path, simulation_workload=workload)
