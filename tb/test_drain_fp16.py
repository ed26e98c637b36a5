"""DRAIN's ``fp16`` option: each drained fp32 value rounded to fp16 (nearest even) and carried
as the fp32 value it equals, so that the bitmap describes fp16 zeros; an integer core ignores
the bit. The command-level model against numpy's cast, and the core (Amaranth simulator and
the generated Verilog on Verilator) against the model, response by response and cycle by
cycle."""

import numpy as np
import pytest
from conftest import BUILD

from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import SPARSE_CORE
from dstc.gen.gemm_sim import simulate_programs
from dstc.sim.config import preset
from dstc.sim.core_model import CoreModel
from dstc.sim.isa import Drain, LoadRow

# fp32 values across fp16's range: zeros, values that round to 0 (1e-9, 2^-25 exactly: a tie
# to the even 0), the smallest subnormal, a tie to even (1 + 2^-11), 65504, 65520 (overflows
# to inf), 1e6, infinities, NaN with a payload.
EDGES = np.array([0.0, -0.0, 1e-9, -1e-9, 2.0 ** -25, 2.0 ** -24, 1 + 2.0 ** -11,
                  1 + 3 * 2.0 ** -11, 0.1, -0.1, 65504.0, 65520.0, -65520.0, 1e6, np.inf,
                  -np.inf], dtype=np.float32)
NAN_PAYLOAD = np.array([0x7FC0_1234], dtype=np.uint32).view(np.float32)[0]


def _rows(config, rng):
    """``tile_m`` rows of fp32 values: the edges first (spread over the first rows), a NaN
    with a payload, then random values at scales from 2^-30 to 2^18 (many round to 0 or
    overflow)."""
    tn = config.tile_n
    rows = []
    for row in range(config.tile_m):
        scale = np.float32(2.0) ** rng.integers(-30, 19, tn)
        values = rng.standard_normal(tn).astype(np.float32) * scale
        edges = EDGES[row * tn:(row + 1) * tn]
        values[:len(edges)] = edges
        rows.append(values.astype(np.float32))
    rows[-1][-1] = NAN_PAYLOAD
    return rows


def _program(config, rows):
    commands = []
    for relu in (False, True):
        for encode in (False, True):
            commands += [LoadRow(row=r, values=values) for r, values in enumerate(rows)]
            commands.append(Drain(relu=relu, encode=encode, fp16=True))
    return commands


def test_model_rounds_to_fp16(rng):
    config = preset("small-fp16")
    rows = _rows(config, rng)
    _, responses = CoreModel(config).run(_program(config, rows))
    tm = config.tile_m
    for index, relu in enumerate((False, False, True, True)):
        for r, response in enumerate(responses[index * tm:(index + 1) * tm]):
            values = np.maximum(rows[r], 0) if relu else rows[r]
            values = np.where(np.isnan(rows[r]), np.float32(np.nan), values)
            with np.errstate(over="ignore"):
                want = values.astype(np.float16)
            bitmap = (want.view(np.uint16) & 0x7FFF) != 0
            np.testing.assert_array_equal(response.bitmap, bitmap)
            # Every value drained is an fp16 value carried exactly in fp32 (NaN canonical).
            expected = np.where(np.isnan(want), np.float32(np.nan), want.astype(np.float32))
            got = np.asarray(response.values, np.float32)
            if response.encoded:
                assert response.count == bitmap.sum()
                np.testing.assert_array_equal(got[:response.count].view(np.uint32),
                                              expected[bitmap].view(np.uint32))
            else:
                np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32))
    # 1e-9 is a nonzero fp32 value but an fp16 zero: clear in the bitmap.
    assert not responses[0].bitmap[2] and responses[0].bitmap[5]


def test_int_core_ignores_the_fp16_bit(rng):
    config = preset("small")
    rows = [rng.integers(-2000, 2000, config.tile_n) for _ in range(config.tile_m)]
    with_bit = [LoadRow(row=r, values=v) for r, v in enumerate(rows)] + [Drain(fp16=True)]
    without = with_bit[:-1] + [Drain()]
    _, a = CoreModel(config).run(with_bit)
    _, b = CoreModel(config).run(without)
    assert [list(x.values) for x in a] == [list(x.values) for x in b]
    run = simulate_commands(config, with_bit)
    SPARSE_CORE.check(config, with_bit, run)


def test_core_rounds_to_fp16_amaranth(rng):
    config = preset("small-fp16")
    commands = _program(config, _rows(config, rng))
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run)


@pytest.mark.cocotb
def test_core_rounds_to_fp16_verilator(rng, tmp_path):
    config = preset("small-fp16")
    commands = _program(config, _rows(config, rng))
    build = BUILD / "sim-cli" / "small-fp16" / "verilator-O2"
    run = simulate_programs(config, [commands], build, tmp_path / "log").runs[0]
    SPARSE_CORE.check(config, commands, run)
