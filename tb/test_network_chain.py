"""Two real VGG-16 layers chained through the RTL (small-fp16 preset, Verilator): conv1_1 on a
real photo crop runs whole through the core and drains every row through ReLU, the fp16
rounding and the bitmap encoder (DRAIN relu, fp16, encode); those encoded fp16 rows, as they
left the core, are conv1_2's input: encoded as the activation's bitmap operand, lowered in
the bitmap format, and sampled tiles of conv1_2 run through the core, bit-exact against the
golden model and cycle-exact against the exact model."""

import numpy as np
import pytest
from conftest import BUILD

from dstc.gen import weights
from dstc.gen.conv import check_runs, sample_tiles, tile_programs
from dstc.gen.gemm_sim import simulate_programs
from dstc.sim.bitmap import encode_a
from dstc.sim.config import preset
from dstc.sim.core_model import CoreModel
from dstc.sim.gemm_cycles import gemm_cycles
from dstc.sim.im2col import encode_activation
from dstc.sim.isa import Drain
from dstc.sim.network import VGG16_LAYERS, lowered_activation, to_fp16, weight_matrix
from dstc.sim.program import gemm_program

pytestmark = pytest.mark.cocotb


def test_conv1_1_drained_fp16_rows_feed_conv1_2(tmp_path, seed):
    config = preset("small-fp16")
    vgg16 = weights.load_vgg16_weights()
    x = to_fp16(weights.network_input("china", (6, 7)))
    conv1_1, conv1_2 = VGG16_LAYERS[:2]
    build = BUILD / "sim-cli" / "small-fp16" / "verilator-O2"

    # conv1_1, every output tile, drained through ReLU, fp16 rounding and the encoder.
    a1 = to_fp16(weight_matrix(vgg16[0].kernel))
    lowered1 = lowered_activation(x, conv1_1, config)
    bias1 = np.repeat(vgg16[0].bias[:, None], lowered1.shape.pixels, axis=1)
    program = gemm_program(encode_a(a1, config), lowered1.to_encoded(), config, c=bias1,
                           relu=True, encode=True)
    program.commands = [Drain(relu=True, encode=True, fp16=True)
                        if isinstance(command, Drain) else command
                        for command in program.commands]
    assert len(program.drained_tiles) == 8 * 6        # no tile skipped: every row drains
    run = simulate_programs(config, [program.commands], build, tmp_path / "log1").runs[0]
    _, expected = CoreModel(config).run(program.commands)
    assert [r.bitmap.tolist() for r in run.responses] == [r.bitmap.tolist() for r in expected]
    assert [np.asarray(r.values).view(np.uint32).tolist() for r in run.responses] == \
        [np.asarray(r.values).view(np.uint32).tolist() for r in expected]
    assert run.cycles == gemm_cycles(a1 != 0, lowered1.bitmap(), config, with_c=True).cycles
    h1 = program.assemble(run.responses)                # 64 x 42, fp16 values in fp32
    assert all(r.encoded for r in run.responses)
    assert np.array_equal(h1.astype(np.float16).astype(np.float32), h1)
    assert 0 < np.count_nonzero(h1) < h1.size           # ReLU made real zeros

    # The drained rows are the next layer's bitmap operand: row f of output tile (i, j) is
    # channel 8i + f's element bitmap over pixels 8j ... 8j + 7.
    activation = h1.astype(np.float16).reshape(64, *lowered1.shape.output_shape[1:])
    lowered2 = lowered_activation(activation, conv1_2, config)
    encoded = encode_activation(activation, config).operand
    for index, (i, j) in enumerate(program.drained_tiles):
        rows = run.responses[index * config.tile_m:(index + 1) * config.tile_m]
        for row in rows:
            channel = i * config.tile_m + row.row
            want = encoded.tiles.get((channel // config.k_chunk, j))
            bits = (np.zeros(config.tile_n, bool) if want is None
                    else want.bitmaps[channel % config.k_chunk])
            assert row.bitmap.tolist() == list(bits)

    # conv1_2 on conv1_1's RTL output: 4 sampled tiles, bias as C.
    a2 = to_fp16(weight_matrix(vgg16[1].kernel))
    grid = (64 // config.tile_m, -(-lowered2.shape.pixels // config.tile_n))
    tiles = sample_tiles(grid, 4, np.random.default_rng(seed))
    programs = tile_programs(config, a2, lowered2, tiles, bias=vgg16[1].bias)
    runs = simulate_programs(config, [tile.program.commands for tile in programs], build,
                             tmp_path / "log2").runs
    checks = check_runs(config, programs, runs)
    assert all(check.ok for check in checks), checks
    assert [check.tile for check in checks] == tiles and sum(c.values for c in checks) > 0
