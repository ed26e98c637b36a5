"""``dstc sweep`` (gen/sweep.py): its table equals the command-level model point by point, its
files and figures are written, bad input is refused with a message naming the argument."""

import csv
import json
import math

import numpy as np
import pytest

from dstc.gen import cli, sweep
from dstc.sim.config import preset
from dstc.sim.program import dense_gemm_cycles, gemm_program, sparse_gemm_cycles

SMALL_SHAPE = (37, 21, 30)


def _operands(seed, index, shape, density_a, density_b):
    """The bitmaps point ``index`` of a sweep with ``seed`` draws."""
    child = np.random.SeedSequence(seed).spawn(index + 1)[index]
    rng = np.random.default_rng(child)
    m, n, k = shape
    return sweep.random_bitmap(rng, (m, k), density_a), sweep.random_bitmap(rng, (k, n), density_b)


def test_rows_equal_the_command_level_model(tmp_path):
    config = preset("small")
    points = ((0.9, 1.0), (0.3, 0.4), (0.0, 0.5), (1.0, 1.0))
    result = sweep.run_sweep(config, shape=SMALL_SHAPE, points=points, seed=7,
                             out_dir=tmp_path, label="small")
    assert [(row.density_a, row.density_b) for row in result.rows] == list(points)
    for index, row in enumerate(result.rows):
        a_bits, b_bits = _operands(7, index, SMALL_SHAPE, *points[index])
        program = gemm_program(a_bits.astype(np.int8), b_bits.astype(np.int8), config)
        assert row.cycles == sparse_gemm_cycles(program)
        assert row.tiles_issued == program.tiles_issued
        assert row.tiles_skipped == program.tiles_skipped
        assert row.dense_mode_cycles == dense_gemm_cycles(SMALL_SHAPE, config)
        assert row.actual_density_a == a_bits.mean()
        assert row.normalised_latency == row.cycles / row.dense_mode_cycles
        assert row.speedup == (row.dense_mode_cycles / row.cycles if row.cycles else math.inf)
        assert row.useful_macs == int((a_bits.sum(0) * b_bits.sum(1)).sum())
        assert row.utilisation == (row.useful_macs / (row.cycles * config.macs) if row.cycles
                                   else 0.0)
    assert result.rows[2].cycles == 0 and result.rows[2].speedup == math.inf
    assert result.rows[1].ideal_speedup == pytest.approx(1 / 0.12)
    assert math.isinf(result.rows[2].ideal_speedup)
    assert result.rows[2].tiles_issued == 0 and result.rows[2].utilisation == 0.0


def test_a_point_does_not_depend_on_the_others():
    config = preset("small")
    alone = sweep.run_sweep(config, shape=SMALL_SHAPE, points=[(0.5, 0.5)], seed=3)
    first = sweep.run_sweep(config, shape=SMALL_SHAPE, points=[(0.5, 0.5), (0.2, 0.2)], seed=3)
    again = sweep.run_sweep(config, shape=SMALL_SHAPE, points=[(0.5, 0.5), (0.2, 0.2)], seed=3)
    assert alone.rows[0].cycles == first.rows[0].cycles
    assert [row.cycles for row in first.rows] == [row.cycles for row in again.rows]
    other = sweep.run_sweep(config, shape=SMALL_SHAPE, points=[(0.5, 0.5)], seed=4)
    assert other.rows[0].actual_density_a != alone.rows[0].actual_density_a


def test_default_grid_and_files(tmp_path):
    config = preset("small")
    result = sweep.run_sweep(config, shape=(40, 40, 40), seed=1, out_dir=tmp_path,
                             label="small")
    assert [(row.density_a, row.density_b) for row in result.rows] == [
        (a, b) for a in (0.9, 0.7, 0.5, 0.3) for b in (1.0, 0.4)]
    names = sorted(path.name for path in result.paths)
    assert names == ["sweep.csv", "sweep.json", "sweep_latency.png", "sweep_speedup.png"]
    for path in result.paths:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "sweep.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 8 and int(table[0]["cycles"]) == result.rows[0].cycles
    assert "memory_cycles" not in table[0]
    document = json.loads((tmp_path / "sweep.json").read_text())
    assert document["seed"] == 1 and document["config"] == config.to_dict()
    assert document["shape"] == {"m": 40, "n": 40, "k": 40}
    assert [row["cycles"] for row in document["rows"]] == [row.cycles for row in result.rows]
    assert "| 0.9 | 1 |" in sweep.format_table(result)


def test_roofline_columns(tmp_path):
    config = preset("default")
    result = sweep.run_sweep(config, shape=(64, 32, 48), points=[(0.5, 1.0)], seed=2,
                             out_dir=tmp_path, bandwidth=16.0, figures=False)
    row = result.rows[0]
    a_bits, b_bits = _operands(2, 0, (64, 32, 48), 0.5, 1.0)
    assert row.dense_bytes == (64 * 48 + 48 * 32) * 2
    a_bytes, _ = sweep.operand_bytes(a_bits, "A", config)
    b_bytes, _ = sweep.operand_bytes(b_bits, "B", config)
    assert row.bitmap_bytes == a_bytes + b_bytes
    assert row.memory_cycles == row.bitmap_bytes / 16.0
    assert row.memory_bound == (row.memory_cycles > row.cycles)
    assert [path.suffix for path in result.paths] == [".csv", ".json"]
    assert "Operand traffic at 16 bytes/cycle" in sweep.format_table(result)


def test_operand_bytes_by_hand():
    config = preset("small")            # A tiles 8 x 4, B tiles 4 x 8, int8 values
    a_bits = np.zeros((9, 5), bool)     # grid 2 x 2 tiles, one of them non-empty
    a_bits[0, 0] = a_bits[1, 3] = True
    # 4 coarse bits + 1 stored tile x 4 x 8 element bits + 2 values x 8 bits = 52 bits.
    assert sweep.operand_bytes(a_bits, "A", config) == (7, 45)
    b_bits = np.ones((4, 8), bool)      # one tile, full: 1 + 32 + 32 x 8 bits
    assert sweep.operand_bytes(b_bits, "B", config) == (-(-289 // 8), 32)


def test_random_bitmap_densities(seed):
    rng = np.random.default_rng(seed)
    assert not sweep.random_bitmap(rng, (300, 70), 0.0).any()
    assert sweep.random_bitmap(rng, (300, 70), 1.0).all()
    assert abs(sweep.random_bitmap(rng, (300, 700), 0.3).mean() - 0.3) < 0.01


@pytest.mark.parametrize("kwargs,message", [
    ({"shape": (0, 4, 4)}, "m=0: must be a positive integer"),
    ({"shape": (4, 4, 2.5)}, "k=2.5: must be a positive integer"),
    ({"shape": (4, 4)}, "shape=.*must be"),
    ({"points": [(1.5, 0.5)]}, "density_a=1.5: a density must be a number between 0 and 1"),
    ({"points": [(0.5, -0.1)]}, "density_b=-0.1"),
    ({"points": [(0.5, float("nan"))]}, "density_b=nan"),
    ({"points": []}, "points: at least one"),
    ({"seed": -5}, "seed=-5: must be a non-negative integer"),
    ({"bandwidth": 0}, "bandwidth=0: must be a positive number"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    arguments = {"shape": (8, 8, 8), "points": [(0.5, 0.5)]} | kwargs
    with pytest.raises(ValueError, match=message):
        sweep.run_sweep(preset("small"), **arguments)


def _dstc_sweep(argv):
    """Exit status of ``dstc sweep ARGV`` (argparse errors exit through SystemExit)."""
    try:
        return cli.main(["sweep", *argv])
    except SystemExit as exit_:
        return exit_.code


def test_command_line(tmp_path, capsys):
    out = tmp_path / "out"
    status = _dstc_sweep(["--preset", "small", "--m", "20", "--n", "12", "--k", "9",
                         "--points", "0.5:0.5,1:0.2", "--seed", "11", "-o", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "seed 11" in text and "| 1 | 0.2 |" in text
    assert (out / "sweep.csv").exists() and (out / "sweep_speedup.png").exists()


@pytest.mark.parametrize("argv,message", [
    (["--density-a", "0.5,1.5"], "argument --density-a: 1.5 is not a density between 0 and 1"),
    (["--density-b", "x"], "argument --density-b: 'x' is not a number"),
    (["--points", "0.5"], "argument --points: '0.5' is not DENSITY_A:DENSITY_B"),
    (["--m", "0"], "argument --m: 0: must be a positive integer"),
    (["--seed", "-5"], "argument --seed: -5: a seed must be a non-negative integer"),
    (["--bandwidth", "nan"], "argument --bandwidth: nan: must be a positive number"),
    (["--preset", "nope"], "preset='nope': unknown preset"),
])
def test_command_line_refuses_bad_input(capsys, argv, message):
    assert _dstc_sweep(["--m", "8", "--n", "8", "--k", "8", *argv]) == 2   # the last --m wins
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_command_line_refuses_an_output_under_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _dstc_sweep(["--m", "8", "--n", "8", "--k", "8", "-o", str(blocker / "sub")]) == 2
    assert f"--output {blocker / 'sub'}" in capsys.readouterr().err


def test_bench_sweep_measures_a_fresh_process(tmp_path):
    figures = sweep.bench_sweep(out_dir=tmp_path, shape=(64, 64, 64), preset_name="small")
    assert 0 < figures["seconds"] < 60 and 20 < figures["peak_mib"] < 2000
    assert (tmp_path / "sweep.json").exists()


def test_the_same_seed_writes_identical_files(tmp_path):
    config = preset("small")
    for name in ("one", "two"):
        sweep.run_sweep(config, shape=SMALL_SHAPE, points=[(0.5, 0.4), (0.3, 1.0)], seed=9,
                        out_dir=tmp_path / name)
    for name in ("sweep.csv", "sweep.json", "sweep_latency.png", "sweep_speedup.png"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_bench_report_shows_the_sweep():
    """`dstc bench` reports the sweep's time and memory beside its goal."""
    from dstc.gen.bench import SWEEP_GOAL, _markdown

    document = {"machine": {"system": "Linux", "python": "3.11"},
                "workload": {"m": 64, "n": 64, "k": 256, "density_a": 0.5, "density_b": 0.5,
                             "seed": 2021},
                "tile_goal_ms": 50.0, "generation": [],
                "sweep": {"seconds": 4.25, "peak_mib": 155.4, "goal": SWEEP_GOAL},
                "codec": {"beats": 300, "codec_beats_per_second": 47000.0,
                          "layout_const_beats_per_second": 3100.0},
                "simulation": []}
    text = _markdown(document)
    assert "## Exact density sweep" in text and "4096x4096x4096" in text
    assert "| 4.2 | 155 | < 10 s, < 4096 MiB |" in text
    assert "| dstc.gen.codec | 47000 | 15.2x |" in text
