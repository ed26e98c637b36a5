"""`dstc conv` end to end: convolution layers through the generated RTL (small preset,
Verilator, the build shared with `dstc sim`'s tests), bit-exact against the golden
convolution and cycle-exact against the exact model; the checks themselves catch a wrong
value or cycle count; bad input stops with status 2 before anything is generated."""

import dataclasses

import numpy as np
import pytest
from conftest import BUILD

from dstc.gen.cli import main
from dstc.gen.conv import ConvRequest, TileCheck, check_runs, plan_conv
from dstc.gen.gemm_sim import simulate_programs
from dstc.sim.config import preset
from dstc.sim.conv import conv_reference
from dstc.sim.conv_shape import ConvShape

OUT = BUILD / "sim-cli"


@pytest.mark.cocotb
def test_conv_command_whole_layer(capsys, seed):
    """A strided, dilated, asymmetric ragged layer, every output tile as one program."""
    status = main(["conv", "--preset", "small", "--channels", "3", "--height", "9", "--width",
                   "14", "--filters", "11", "--kernel", "2,4", "--stride", "1,2", "--padding",
                   "0,2", "--dilation", "2,1", "--weight-density", "0.6",
                   "--activation-density", "0.5", "--seed", str(seed), "-o", str(OUT)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "all 14 output tiles (2 x 7) as one program" in out
    assert "616 values of the whole layer match the golden convolution (bit-exact)" in out
    assert "(equal)" in out and "speedup" in out


@pytest.mark.cocotb
def test_conv_sampled_tiles_from_files(tmp_path, rng, capsys):
    """Weights and input from .npy files, 3 sampled tiles (bias-free, CLEAR starts); the
    golden convolution itself equals the dense k-ordered reference; then the run's own
    responses with one value changed, or a wrong model count, fail the check."""
    config = preset("small")
    shape = ConvShape(4, 10, 12, 12, (3, 3), 2, 1, 1)
    weights = rng.integers(-128, 128, shape.weight_shape) * (rng.random(shape.weight_shape)
                                                             < 0.5)
    x = rng.integers(-128, 128, shape.input_shape) * (rng.random(shape.input_shape) < 0.4)
    np.save(tmp_path / "w.npy", weights.astype(np.int8))
    np.save(tmp_path / "x.npy", x.astype(np.int8))
    status = main(["conv", "--preset", "small", "--weights", str(tmp_path / "w.npy"),
                   "--input", str(tmp_path / "x.npy"), "--stride", "2", "--tiles", "3",
                   "--seed", "11", "-o", str(OUT)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "3 of 8 output tiles sampled (seed 11)" in out and "(3 of 3 tiles equal)" in out

    plan = plan_conv(ConvRequest(config, "small", shape, weights, x, seed=11, tiles=3,
                                 out_dir=OUT))
    np.testing.assert_array_equal(plan.golden.output,
                                  conv_reference(weights, x, config, stride=2, padding=1))
    tiles = [tile.tile for tile in plan.programs]
    assert len(set(tiles)) == 3 and all(0 <= i < 2 and 0 <= j < 4 for i, j in tiles)
    runs = simulate_programs(config, [tile.program.commands for tile in plan.programs],
                             plan.build_dir, tmp_path / "log").runs
    checks = check_runs(config, plan.programs, runs)
    assert all(check.ok for check in checks) and sum(c.values for c in checks) > 0
    # Change one drained value of the first tile: its check fails, the others pass.
    response = runs[0].responses[0]
    values = np.array(response.values)
    values[0] += 1
    bad = dataclasses.replace(runs[0], responses=[dataclasses.replace(response, values=values),
                                                  *runs[0].responses[1:]])
    checks = check_runs(config, plan.programs, [bad, *runs[1:]])
    assert [check.values_match for check in checks] == [False, True, True]
    wrong = dataclasses.replace(plan.programs[1], model_cycles=plan.programs[1].model_cycles + 1)
    assert not check_runs(config, [wrong], [runs[1]])[0].ok
    assert not TileCheck((0, 0), 1, True, 5, 5, errors=1).ok


@pytest.mark.parametrize("argv, message", [
    (["--stride", "0"], "stride=(0, 0): must be positive"),
    (["--kernel", "9", "--padding", "0"], "must fit in the padded input"),
    (["--channels", "3", "--filters", "2", "--height", "4096", "--width", "4096", "--preset",
      "default"], "sample tiles with --tiles N"),
])
def test_conv_bad_input_exits_2(capsys, tmp_path, argv, message):
    status = main(["conv", *argv, "-o", str(tmp_path)])
    error = capsys.readouterr().err
    assert status == 2 and message in error and "Traceback" not in error
    assert not any(tmp_path.iterdir())          # refused before generating anything


def test_conv_files_must_agree(capsys, tmp_path):
    np.save(tmp_path / "w.npy", np.ones((4, 3, 3, 3), np.int8))
    np.save(tmp_path / "x.npy", np.ones((5, 8, 8), np.int8))
    np.save(tmp_path / "x2.npy", np.ones((8, 8), np.int8))
    for argv, message in (
            (["--input", str(tmp_path / "x.npy")], "--weights has 3 input channels but "
                                                   "--input has 5"),
            (["--input", str(tmp_path / "x2.npy")], "shape (8, 8), must be 3-D"),
            (["--filters", "5"], "--filters=5: --weights gives 4"),
            (["--input", str(tmp_path / "none.npy")], "cannot read a .npy array")):
        status = main(["conv", "--preset", "small", "--weights", str(tmp_path / "w.npy"),
                       *argv, "-o", str(tmp_path / "out")])
        error = capsys.readouterr().err
        assert status == 2 and message in error and "Traceback" not in error, error
