"""The dense baseline's model (sim/dense_model.py): geometry, results against the dense
reference and against the sparse core's dense mode, and the timing rules."""

import numpy as np
import pytest
from dense_scenarios import dense_tile_operands, random_dense_program, special_dense_program
from presets import BUFFER_PRESETS, PRESETS, SMALL_BUFFER_PRESETS, SMALL_PRESETS

from dstc.gen.wire import DenseCommandEncoder
from dstc.sim.arith import Arithmetic
from dstc.sim.config import ConfigError, DstcConfig, preset
from dstc.sim.core_model import CoreModel
from dstc.sim.dense_model import DenseCoreModel
from dstc.sim.golden import dense_reference
from dstc.sim.isa import (
    DOT_LENGTH,
    Clear,
    DenseGeometry,
    Drain,
    LoadRow,
    Opcode,
    RawCommand,
    dense_group_commands,
    dense_pipeline_latency,
    dense_tile_commands,
)


@pytest.mark.parametrize("preset_name", PRESETS)
def test_geometry_is_iso_mac_and_iso_throughput(preset_name):
    config = preset(preset_name)
    geometry = DenseGeometry.of(config)
    assert geometry.block_rows * geometry.block_cols * DOT_LENGTH == config.macs
    assert geometry.tile_cycles == config.dense_tile_issues
    cells = {(r + i, c + j) for b in range(geometry.blocks)
             for r, c in [geometry.block_origin(b)]
             for i in range(geometry.block_rows) for j in range(geometry.block_cols)}
    assert cells == {(i, j) for i in range(config.tile_m) for j in range(config.tile_n)}


def test_default_geometry_is_two_volta_units():
    geometry = DenseGeometry.of(preset("default"))
    assert (geometry.block_rows, geometry.block_cols, geometry.blocks) == (4, 8, 32)


@pytest.mark.parametrize("changes, message", [
    ({"k_chunk": 2}, "k_chunk=2: the dense baseline needs a multiple of the dot length 4"),
    ({"array_rows": 1, "array_cols": 2},
     "array_rows*array_cols=2: the dense baseline needs a multiple of the dot length 4"),
])
def test_invalid_geometry_names_the_parameter(changes, message):
    config = DstcConfig(**{**preset("small").to_dict(), **changes})
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        DenseGeometry.of(config)


@pytest.mark.parametrize("preset_name", PRESETS + BUFFER_PRESETS)
def test_results_equal_dense_reference_and_sparse_dense_mode(rng, preset_name):
    """C + A @ B over several k-chunks: the baseline's model, the k-ordered dense reference
    and the sparse core's dense mode agree bit for bit (fp16 specials included)."""
    config = preset(preset_name)
    arith = Arithmetic(config)
    chunks = 3
    a = np.concatenate([dense_tile_operands(rng, config, 0.7, 0.7, specials=0.05)[0]
                        for _ in range(chunks)], axis=1)
    b = np.concatenate([dense_tile_operands(rng, config, 0.7, 0.7, specials=0.05)[1]
                        for _ in range(chunks)], axis=0)
    c = (rng.standard_normal((config.tile_m, config.tile_n)).astype(np.float32)
         if config.accum.is_float else rng.integers(-1000, 1000, (config.tile_m, config.tile_n)))
    loads = [LoadRow(row=r, values=c[r]) for r in range(config.tile_m)]

    dense = DenseCoreModel(config)
    _, rows = dense.run([*loads, *dense_group_commands(a, b, DOT_LENGTH), Drain()])
    sparse = CoreModel(config)
    _, sparse_rows = sparse.run([*loads, *dense_tile_commands(a, b), Drain()])
    reference = arith.to_bits(dense_reference(a, b, config, c=c), config.accum)
    got = arith.to_bits(np.array([r.values for r in rows]), config.accum)
    assert np.array_equal(got, reference)
    assert np.array_equal(got, arith.to_bits(np.array([r.values for r in sparse_rows]),
                                             config.accum))
    if not config.operand.is_float:     # and the plain integer product, wrapped
        width = config.accum.width
        plain = c.astype(np.int64) + a.astype(np.int64) @ b.astype(np.int64)
        wrapped = (plain + (1 << (width - 1))) % (1 << width) - (1 << (width - 1))
        assert np.array_equal(arith.to_bits(arith.accumulators(wrapped), config.accum), got)


def test_timing_rules():
    config = preset("small")
    blocks = DenseGeometry.of(config).blocks
    a, b = dense_tile_operands(np.random.default_rng(0), config, 1.0, 1.0)
    groups = dense_group_commands(a, b, DOT_LENGTH)
    model = DenseCoreModel(config)
    cycles, _ = model.run([Clear(), *groups, *groups, Clear(), Drain(), RawCommand(0xF),
                           *groups])
    clear, g1, g2, clear2, drain, raw, g3 = cycles
    assert clear == 0
    assert g1 == blocks and g2 == g1 + blocks               # one block per cycle, in place
    assert clear2 == g2 + 1 + dense_pipeline_latency(config)        # waits for the pipeline
    assert drain == clear2 + 1
    assert raw == drain + config.tile_m + 1                 # nothing during a drain
    assert g3 == raw + blocks
    assert model.finish_cycle == g3 + 1 + dense_pipeline_latency(config)
    assert model.errors == 1                                 # the unknown opcode
    assert model.counters["blocks_issued"] == 3 * blocks


@pytest.mark.parametrize("preset_name", SMALL_PRESETS + SMALL_BUFFER_PRESETS)
def test_programs_run_and_encode(rng, preset_name):
    config = preset(preset_name)
    encoder = DenseCommandEncoder(config)
    for commands in (random_dense_program(rng, config, 6), special_dense_program(rng, config)):
        DenseCoreModel(config).run(commands)
        assert all(encoder.encode(command) >= 0 for command in commands)


def test_encoder_refuses_relu_or_encoded_drain():
    encoder = DenseCommandEncoder(preset("small"))
    with pytest.raises(ValueError, match="drains rows as they are"):
        encoder.encode(Drain(relu=True))
    assert encoder.encode(Drain()) == Opcode.DRAIN
