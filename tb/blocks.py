"""Combinational blocks under test: how to build each, its input vectors and golden outputs.

Each :class:`CombBlock` is checked by :func:`check_comb` both on the Amaranth simulator
(``test_hw_blocks.py``, ``quick`` vector counts) and on its generated Verilog in cocotb
(``test_cocotb_blocks.py``, full counts: exhaustive where the input space allows, and at least
100,000 random pairs for the fp16 multiplier and the fp32 adder).
"""

import dataclasses
from collections.abc import Callable

import numpy as np
from harness import Lanes
from ports import compare
from vectors import (
    FP16_SPECIALS,
    FP32,
    FP32_SPECIALS,
    _sparse_fraction,
    golden_fp16_mul,
    golden_fp32_add,
    random_fp16_pairs,
    random_fp32_pairs,
    special_bits,
    special_pairs,
)

from dstc.hw.bitmap_decoder import BitmapDecoder
from dstc.hw.bitmap_encoder import BitmapEncoder
from dstc.hw.fp16_multiplier import CANONICAL_NAN32, Fp16Multiplier
from dstc.hw.fp16_to_fp32 import Fp16ToFp32
from dstc.hw.fp32_adder import Fp32Adder
from dstc.hw.fp32_to_fp16 import CANONICAL_NAN16, Fp32ToFp16
from dstc.hw.int_multiplier import IntMultiplier
from dstc.hw.leading_zeros import LeadingZeros
from dstc.hw.multiplier_array import MultiplierArray
from dstc.hw.popcount import Popcount
from dstc.hw.prefix_popcount import PrefixPopcount
from dstc.sim.arith import Arithmetic, wrap
from dstc.sim.bitmap import select_chunk
from dstc.sim.config import NumberType, preset

__all__ = ["CombBlock", "COMB_BLOCKS", "check_comb"]

RANDOM_FLOAT_PAIRS = 100_000


@dataclasses.dataclass(frozen=True)
class CombBlock:
    """A combinational unit, replicated ``lanes`` times by :class:`~harness.Lanes` (or used
    as it is when ``lanes`` is ``None``), with its ``vectors(rng, full)`` (dicts of input
    arrays, one row per vector) and its golden ``model(inputs) -> outputs``."""

    name: str
    unit: Callable
    lanes: int | None
    vectors: Callable
    model: Callable

    def build(self):
        return self.unit() if self.lanes is None else Lanes(self.unit, self.lanes)

    @property
    def batch(self):
        return self.lanes or 1


async def check_comb(io, block, rng, full):
    """Drive every vector of ``block`` through ``io`` and compare with the model.

    Returns the number of vectors checked; raises :class:`ports.Mismatch` on a difference.
    """
    checked = 0
    for inputs in block.vectors(rng, full):
        expected = block.model(inputs)
        total = len(next(iter(inputs.values())))
        for start in range(0, total, block.batch):
            part = {name: np.asarray(v)[start:start + block.batch] for name, v in inputs.items()}
            count = len(next(iter(part.values())))
            await io.set(**{name: _padded(v, block.batch) for name, v in part.items()})
            for name, want in expected.items():
                want = np.asarray(want)[start:start + block.batch]
                got = (await io.get(name)).reshape((block.batch,) + want.shape[1:])[:count]
                compare(f"{block.name}.{name}", got, want, part)
            checked += count
    return checked


def _padded(values, rows):
    """``values`` with zero rows appended up to ``rows`` rows (the idle lanes of a last,
    partial batch: ports take exactly their number of values)."""
    return np.pad(values, [(0, rows - len(values))] + [(0, 0)] * (values.ndim - 1))


def _bits(values):
    """Rows of bool arrays -> unsigned ints (bit i = element i)."""
    values = np.asarray(values, dtype=bool)
    return (values * (np.uint64(1) << np.arange(values.shape[-1], dtype=np.uint64))).sum(
        axis=-1, dtype=np.uint64)


def _unbits(ints, width):
    ints = np.asarray(ints, dtype=np.uint64)[:, None]
    return ((ints >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(bool)


def _bitmaps(rng, width, count, full):
    """Bitmaps of ``width`` bits: exhaustive up to 12 bits, else edge cases plus random ones
    at densities from 0 to 1."""
    if width <= 12:
        return np.arange(1 << width, dtype=np.uint64)
    edges = [0, (1 << width) - 1] + [1 << i for i in range(width)] + \
        [((1 << width) - 1) ^ (1 << i) for i in range(width)]
    count = count if full else count // 10
    density = rng.random((count, 1))
    random_maps = _bits(rng.random((count, width)) < density)
    return np.concatenate([np.array(edges, dtype=np.uint64), random_maps])


# -- bitmap units -------------------------------------------------------------------------------

def _popcount(width):
    def vectors(rng, full):
        yield {"bitmap": _bitmaps(rng, width, 4000, full)}

    def model(inputs):
        return {"count": _unbits(inputs["bitmap"], width).sum(axis=1)}
    return CombBlock(f"popcount{width}", lambda: Popcount(width), 8, vectors, model)


def _prefix(width):
    def vectors(rng, full):
        yield {"bitmap": _bitmaps(rng, width, 4000, full)}

    def model(inputs):
        bits = _unbits(inputs["bitmap"], width).astype(np.int64)
        inclusive = np.cumsum(bits, axis=1)
        return {"prefix": inclusive - bits, "total": inclusive[:, -1]}
    return CombBlock(f"prefix_popcount{width}", lambda: PrefixPopcount(width), 4, vectors, model)


def _leading_zeros(width):
    def vectors(rng, full):
        count = 4000 if full else 400
        values = rng.integers(0, 1 << width, size=count, dtype=np.uint64)
        shifts = rng.integers(0, width + 1, size=count, dtype=np.uint64)
        yield {"value": np.concatenate([np.array([0, 1, (1 << width) - 1], dtype=np.uint64),
                                        values >> shifts])}

    def model(inputs):
        values = inputs["value"].astype(np.uint64)
        lengths = np.array([int(v).bit_length() for v in values])
        count = width - lengths
        mask = (1 << width) - 1
        normalized = [(int(v) << int(c)) & mask for v, c in zip(values, count, strict=True)]
        return {"count": count, "normalized": np.array(normalized, dtype=np.uint64)}
    return CombBlock(f"leading_zeros{width}", lambda: LeadingZeros(width), 8, vectors, model)


def _decoder(width, lanes):
    chunks = width // lanes

    def vectors(rng, full):
        maps = _bitmaps(rng, width, 2000, full)
        yield {"bitmap": np.repeat(maps, chunks),
               "chunk": np.tile(np.arange(chunks, dtype=np.uint64), len(maps))}

    def model(inputs):
        positions, valid = [], []
        for bitmap, chunk in zip(_unbits(inputs["bitmap"], width), inputs["chunk"], strict=True):
            pos, ok = select_chunk(bitmap, int(chunk), lanes)
            positions.append(pos)
            valid.append(ok)
        return {"positions": np.array(positions), "valid": _bits(valid)}
    return CombBlock(f"bitmap_decoder{width}x{lanes}", lambda: BitmapDecoder(width, lanes), 2,
                     vectors, model)


def _encoder(width, type_name):
    number_type = NumberType.parse(type_name, "type")

    def random_values(rng, count):
        if number_type.is_float:
            values = rng.standard_normal((count, width)).astype(np.float32).view(np.uint32)
            specials = special_bits(FP32, "zero", "-zero", "nan", "inf", "-inf",
                                    "min_subnormal").astype(np.uint32)
            pick = rng.random((count, width)) < 0.2
            values = np.where(pick, rng.choice(specials, size=(count, width)), values)
        else:
            high = 1 << (number_type.width - 1)
            values = rng.integers(-high, high, size=(count, width)) & ((1 << number_type.width) - 1)
        return values.astype(np.uint64)

    def vectors(rng, full):
        maps = _bitmaps(rng, width, 2000, full)
        values = random_values(rng, len(maps))
        keep = _unbits(maps, width)
        zero = np.where(rng.random(keep.shape) < 0.5, 0x8000_0000 if number_type.is_float else 0,
                        0).astype(np.uint64)
        yield {"values": np.where(keep, values, zero)}

    def model(inputs):
        values = inputs["values"]
        magnitude = values & np.uint64((1 << (number_type.width - number_type.is_float)) - 1)
        nonzero = magnitude != 0
        packed = np.zeros_like(values)
        for row in range(len(values)):
            kept = values[row][nonzero[row]]
            packed[row, :kept.size] = kept
        return {"bitmap": _bits(nonzero), "packed": packed, "count": nonzero.sum(axis=1)}
    return CombBlock(f"bitmap_encoder{width}_{type_name}",
                     lambda: BitmapEncoder(width, number_type), 2, vectors, model)


# -- arithmetic units ---------------------------------------------------------------------------

def _float_block(name, unit, specials, random_pairs, golden, output):
    def vectors(rng, full):
        a, b = special_pairs(specials)
        yield {"a": a, "b": b}
        yield dict(zip("ab", random_pairs(rng, RANDOM_FLOAT_PAIRS if full else 4000), strict=True))

    def model(inputs):
        return {output: golden(inputs["a"], inputs["b"])}
    return CombBlock(name, unit, 16, vectors, model)


#: fp32 values at fp16's edges: 65504 (max), 65519.99 and 65520 (the tie that overflows), 2^-14
#: (min normal) and the largest subnormal's neighbours, 2^-24 (min subnormal), 2^-25 (the
#: tie that rounds to 0) and its neighbours, 1.5 x 2^-24 (a tie to even: 2^-23), 1 + 2^-11
#: (a tie to even: 1) and 1 + 3 x 2^-11 (a tie up), each with both signs.
FP16_EDGES = sorted({v | s for v in (
    0x477F_E000, 0x477F_EFFF, 0x477F_F000, 0x477F_F001, 0x4780_0000, 0x3880_0000, 0x387F_C000,
    0x387F_E000, 0x387F_FFFF, 0x3380_0000, 0x3300_0000, 0x3300_0001, 0x32FF_FFFF, 0x33C0_0000,
    0x3F80_1000, 0x3F80_3000, 0x3F80_1001, 0x7F80_0001, 0x7FC0_0001)
    for s in (0, 0x8000_0000)})


def _fp32_to_fp16():
    def vectors(rng, full):
        yield {"value": np.array(sorted(set(FP32_SPECIALS) | set(FP16_EDGES)), np.uint64)}
        count = RANDOM_FLOAT_PAIRS if full else 4000
        half = count // 2
        uniform = rng.integers(0, 1 << 32, size=half, dtype=np.uint64)
        # Exponents around fp16's range (subnormal, normal, overflow), a third of the
        # fractions sparse (ties).
        exponent = rng.integers(100, 146, size=count - half).astype(np.uint64)
        fraction = np.where(rng.random(count - half) < 1 / 3,
                            _sparse_fraction(rng, count - half),
                            rng.integers(0, 1 << 23, size=count - half, dtype=np.uint64))
        sign = rng.integers(0, 2, size=count - half, dtype=np.uint64) << np.uint64(31)
        yield {"value": np.concatenate([uniform, sign | (exponent << np.uint64(23)) | fraction])}

    def model(inputs):
        with np.errstate(over="ignore"):
            half = inputs["value"].astype(np.uint32).view(np.float32).astype(np.float16)
        bits = half.view(np.uint16).astype(np.uint64)
        return {"result": np.where(np.isnan(half), np.uint64(CANONICAL_NAN16), bits)}
    return CombBlock("fp32_to_fp16", Fp32ToFp16, 16, vectors, model)


def _fp16_to_fp32():
    def vectors(rng, full):
        values = np.arange(1 << 16, dtype=np.uint64)          # exhaustive
        yield {"value": values if full else rng.choice(values, 4000)}

    def model(inputs):
        wide = inputs["value"].astype(np.uint16).view(np.float16).astype(np.float32)
        bits = wide.view(np.uint32).astype(np.uint64)
        return {"result": np.where(np.isnan(wide), np.uint64(CANONICAL_NAN32), bits)}
    return CombBlock("fp16_to_fp32", Fp16ToFp32, 16, vectors, model)


def _int_multiplier(width):
    def vectors(rng, full):
        values = np.arange(1 << width, dtype=np.uint64)
        if full and width <= 8:
            a, b = np.meshgrid(values, values, indexing="ij")
            yield {"a": a.ravel(), "b": b.ravel()}
        else:
            yield {"a": rng.choice(values, 2000), "b": rng.choice(values, 2000)}

    def model(inputs):
        a, b = wrap(inputs["a"].astype(np.int64), width), wrap(inputs["b"].astype(np.int64), width)
        return {"product": (a * b) & ((1 << (2 * width)) - 1)}
    return CombBlock(f"int{width}_multiplier", lambda: IntMultiplier(width), 64, vectors, model)


def _multiplier_array(preset_name):
    config = preset(preset_name)
    arith = Arithmetic(config)
    operand, product = config.operand, config.product

    def random_operands(rng, count, size):
        if operand.is_float:
            raw = rng.integers(0, 1 << 16, size=(count, size), dtype=np.uint64)
            pick = rng.random((count, size)) < 0.1
            return np.where(pick, rng.choice(np.array(FP16_SPECIALS, np.uint64), (count, size)),
                            raw)
        return rng.integers(0, 1 << operand.width, size=(count, size), dtype=np.uint64)

    def vectors(rng, full):
        count = 400 if full else 40
        yield {"a": random_operands(rng, count, config.array_rows),
               "b": random_operands(rng, count, config.array_cols)}

    def model(inputs):
        a = arith.from_bits(inputs["a"], operand)
        b = arith.from_bits(inputs["b"], operand)
        products = arith.multiply(a[:, :, None], b[:, None, :])
        return {"products": arith.to_bits(products, product).reshape(len(a), -1)}
    return CombBlock(f"multiplier_array_{preset_name.replace('-', '_')}",
                     lambda: MultiplierArray(config), None, vectors, model)


COMB_BLOCKS = {block.name: block for block in [
    _popcount(8), _popcount(32),
    _prefix(8), _prefix(32),
    _leading_zeros(22), _leading_zeros(27),
    _decoder(8, 2), _decoder(8, 4), _decoder(32, 8), _decoder(32, 16),
    _encoder(8, "int16"), _encoder(32, "int32"), _encoder(32, "fp32"),
    _float_block("fp16_multiplier", Fp16Multiplier, FP16_SPECIALS, random_fp16_pairs,
                 golden_fp16_mul, "product"),
    _float_block("fp32_adder", Fp32Adder, FP32_SPECIALS, random_fp32_pairs, golden_fp32_add,
                 "sum"),
    _fp32_to_fp16(), _fp16_to_fp32(),
    _int_multiplier(8),
    _multiplier_array("small"), _multiplier_array("int8"), _multiplier_array("default"),
]}
