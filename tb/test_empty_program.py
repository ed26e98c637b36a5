"""A GEMM whose program sends no command (every tile pair skipped) takes 0 cycles, as the RTL
measures (issue 12, "false results"): ``dstc sim --preset small --m 16 --n 16 --k 16
--density-a 0 --seed 6`` measured 0 cycles against a cycle model of 1."""

import math

import numpy as np
import pytest

from dstc.sim.config import preset
from dstc.sim.conv import conv_cycles
from dstc.sim.conv_shape import ConvShape
from dstc.sim.gemm_cycles import gemm_cycles, speedup, utilisation
from dstc.sim.im2col import encode_activation, lower
from dstc.sim.program import dense_gemm_cycles, gemm_program, random_operands, sparse_gemm_cycles


def test_the_issue_example_takes_0_cycles():
    """The operands ``dstc sim`` draws for the example (``plan_gemm``: A then B from one
    generator seeded 6; B at the default density): no command, 0 cycles in both models."""
    config = preset("small")
    rng = np.random.default_rng(6)
    a = random_operands(rng, config, (16, 16), 0.0)
    b = random_operands(rng, config, (16, 16), 0.5)
    program = gemm_program(a, b, config)
    assert program.commands == [] and program.tiles_issued == 0
    assert program.tiles_skipped == 2 * 2 * 4
    assert sparse_gemm_cycles(program) == 0
    fast = gemm_cycles(a != 0, b != 0, config)
    assert fast.cycles == 0 and fast.commands == 0 and fast.output_tiles == 0
    assert np.array_equal(program.assemble([]), np.zeros((16, 16), np.int64))


@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "int8", "default"])
@pytest.mark.parametrize("zero_side", ["a", "b", "both"])
def test_1x1x1_gemms_with_a_zero_side_take_0_cycles(preset_name, zero_side):
    config = preset(preset_name)
    a = np.zeros((1, 1), np.int64) if zero_side in ("a", "both") else np.ones((1, 1), np.int64)
    b = np.zeros((1, 1), np.int64) if zero_side in ("b", "both") else np.ones((1, 1), np.int64)
    for c in (None, np.ones((1, 1), np.int64)):
        program = gemm_program(a, b, config, c=c)
        assert program.commands == [] and sparse_gemm_cycles(program) == 0
        assert gemm_cycles(a != 0, b != 0, config, with_c=c is not None).cycles == 0
    # One nonzero product: one tile, cycles > 0 in both models, equal.
    one = gemm_program(np.ones((1, 1), np.int64), np.ones((1, 1), np.int64), config)
    assert sparse_gemm_cycles(one) == gemm_cycles(np.ones((1, 1)), np.ones((1, 1)),
                                                  config).cycles > 0
    assert dense_gemm_cycles((1, 1, 1), config) > 0


def test_a_layer_with_a_zero_activation():
    config = preset("small")
    shape = ConvShape(2, 5, 5, 3, (3, 3), 1, 1, 1)
    lowered = lower(encode_activation(np.zeros(shape.input_shape, np.int64), config), shape,
                    config)
    result = conv_cycles(np.ones(shape.weight_shape, np.int64), lowered, config)
    assert result.cycles == 0 and result.tiles_issued == 0
    assert result.speedup == math.inf and result.speedup_vs_baseline == math.inf
    assert result.utilisation == 0.0 and result.useful_macs == 0


def test_speedup_and_utilisation_at_0_cycles():
    assert speedup(100, 25) == 4.0 and speedup(100, 0) == math.inf
    assert utilisation(64, 4, 32) == 0.5 and utilisation(0, 0, 32) == 0.0
    with pytest.raises(ValueError, match=r"^useful_macs=3 in 0 cycles: impossible$"):
        utilisation(3, 0, 32)
    with pytest.raises(ValueError, match=r"must not be negative"):
        speedup(-1, 5)
