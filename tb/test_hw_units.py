"""Unit tests on the Amaranth simulator of the blocks the other tests reach only through a
core (DistinctCheck, Relu, IntAdder, DotProductPipeline), each against a tiny reference
model, and the error message of every hardware constructor and layout helper."""

import contextlib
import gc
import itertools
import warnings

import numpy as np
import pytest
from amaranth import Module, Signal
from amaranth.hdl import UnusedElaboratable
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from ports import AmaranthIO, compare
from presets import SMALL_PRESETS
from vectors import FP32, special_bits

from dstc.hw.bitmap_decoder import BitmapDecoder
from dstc.hw.bitmap_encoder import BitmapEncoder
from dstc.hw.class_rounds import ClassRounds
from dstc.hw.class_select import ClassSelect
from dstc.hw.distinct_check import DistinctCheck
from dstc.hw.dot_product_pipeline import DotProductPipeline
from dstc.hw.fpga_harness import FpgaHarness
from dstc.hw.int_adder import IntAdder
from dstc.hw.int_multiplier import IntMultiplier
from dstc.hw.lane_spread import LaneSpread
from dstc.hw.leading_zeros import LeadingZeros
from dstc.hw.popcount import Popcount
from dstc.hw.prefix_popcount import PrefixPopcount
from dstc.hw.reach_accumulator import ReachAccumulator
from dstc.hw.relu import Relu
from dstc.hw.shapes import struct_value
from dstc.sim.arith import Arithmetic, wrap
from dstc.sim.config import NumberType, preset
from dstc.sim.isa import DOT_LENGTH


def simulate(dut, bench, clocked=False):
    """Run ``bench(io)`` (an :class:`~ports.AmaranthIO` on ``dut``) in the Amaranth
    simulator; returns its result."""
    result = []

    async def testbench(ctx):
        result.append(await bench(AmaranthIO(ctx, dut)))

    sim = Simulator(dut)
    if clocked:
        sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return result[0]


# -- DistinctCheck ------------------------------------------------------------------------------

@pytest.mark.parametrize(("lanes", "size"), [(2, 8), (4, 8), (8, 32), (1, 4)])
def test_distinct_check(lanes, size, rng):
    dut = DistinctCheck(lanes, size)

    def reference(indices, valid):
        kept = [int(index) for index, ok in zip(indices, valid, strict=True) if ok]
        return int(len(kept) != len(set(kept)))

    async def bench(io):
        checked = 0
        for _ in range(300):
            # few distinct indices, so that conflicts are common
            indices = rng.integers(0, min(size, lanes + 1), size=lanes, dtype=np.uint64)
            indices = np.where(rng.random(lanes) < 0.3,
                               rng.integers(0, size, size=lanes, dtype=np.uint64), indices)
            valid = rng.random(lanes) < rng.random()
            bits = sum(1 << i for i, ok in enumerate(valid) if ok)
            await io.set(indices=indices, valid=bits)
            compare("conflict", await io.get("conflict"), [reference(indices, valid)],
                    {"indices": [indices], "valid": [bits]})
            checked += reference(indices, valid)
        return checked

    conflicts = simulate(dut, bench)
    assert lanes == 1 or conflicts > 0          # both outcomes were exercised


# -- Relu ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("preset_name", SMALL_PRESETS)
def test_relu(preset_name, rng):
    config = preset(preset_name)
    accum, arith, width = config.accum, Arithmetic(config), 4
    dut = Relu(width, accum)

    def random_rows(count):
        raw = rng.integers(0, 1 << accum.width, size=(count, width), dtype=np.uint64)
        if accum.is_float:
            specials = special_bits(FP32, *FP32)
            raw = np.where(rng.random(raw.shape) < 0.3, rng.choice(specials, raw.shape), raw)
        return raw

    async def bench(io):
        rows = random_rows(200)
        for row in rows:
            await io.set(values=row)
            expected = arith.to_bits(arith.relu(arith.from_bits(row, accum)), accum)
            compare("result", await io.get("result"), expected, {"values": [row]})
        return len(rows)

    assert simulate(dut, bench) == 200


# -- IntAdder -----------------------------------------------------------------------------------

@pytest.mark.parametrize("width", [2, 8, 16])
def test_int_adder(width, rng):
    dut = IntAdder(width)
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    edges = [low, low + 1, -1, 0, 1, high - 1, high]
    pairs = list(itertools.product(edges, edges)) + \
        [tuple(pair) for pair in rng.integers(low, high + 1, size=(200, 2))]
    mask = (1 << width) - 1

    async def bench(io):
        for a, b in pairs:
            await io.set(a=int(a) & mask, b=int(b) & mask)
            expected = int(wrap(np.int64(a + b), width)) & mask
            compare("sum", await io.get("sum"), [expected], {"a": [a], "b": [b]})
        return len(pairs)

    assert simulate(dut, bench) == len(pairs)


# -- DotProductPipeline -------------------------------------------------------------------------

@pytest.mark.parametrize("preset_name", SMALL_PRESETS)
def test_dot_product_pipeline(preset_name, rng):
    """Random blocks enter in random cycles with random tags; each block's accumulator
    values are supplied when it asks for them (``acc_valid``/``acc_tag``) and its result,
    ``c + a[i][0] b[0][j] + ...`` added in k order, must appear ``RESULT_LATENCY`` cycles
    after it entered, with its tag, and nothing else may come out."""
    config = preset(preset_name)
    arith, operand, accum = Arithmetic(config), config.operand, config.accum
    dut = DotProductPipeline(config)
    geometry = dut.geometry
    rows, cols = geometry.block_rows, geometry.block_cols

    def random_bits(number_type, shape):
        return rng.integers(0, 1 << number_type.width, size=shape, dtype=np.uint64)

    def reference(a, b, c):
        a, b = arith.from_bits(a, operand), arith.from_bits(b, operand)
        running = arith.from_bits(c, accum)
        for kk in range(DOT_LENGTH):
            running = arith.add(running, arith.multiply(a[:, kk:kk + 1], b[kk:kk + 1, :]))
        return arith.to_bits(running, accum)

    async def bench(io):
        entered = {}            # cycle -> (tag, a, b)
        supplied = {}           # cycle entered -> c
        results = 0
        for cycle in range(120):
            valid = cycle < 100 and rng.random() < 0.7
            tag = int(rng.integers(geometry.blocks))
            a = random_bits(operand, (rows, DOT_LENGTH))
            b = random_bits(operand, (DOT_LENGTH, cols))
            await io.set(valid=int(valid), tag=tag, a=a, b=b)
            if valid:
                entered[cycle] = (tag, a, b)
            asking = cycle - DotProductPipeline.ACC_READ_LATENCY
            assert int((await io.get("acc_valid"))[0]) == (asking in entered), cycle
            c = random_bits(accum, (rows, cols))
            if asking in entered:
                assert int((await io.get("acc_tag"))[0]) == entered[asking][0]
                supplied[asking] = c
            await io.set(acc=c)
            done = cycle - DotProductPipeline.RESULT_LATENCY
            assert int((await io.get("result_valid"))[0]) == (done in entered), cycle
            if done in entered:
                tag, a, b = entered[done]
                assert int((await io.get("result_tag"))[0]) == tag
                compare(f"result of the block entered in cycle {done}",
                        (await io.get("result")).reshape(rows, cols),
                        reference(a, b, supplied[done]))
                results += 1
            assert int((await io.get("busy"))[0]) == any(
                cycle - DotProductPipeline.RESULT_LATENCY <= t < cycle for t in entered)
            await io.tick()
        return results

    assert simulate(dut, bench, clocked=True) > 50


# -- constructor errors -------------------------------------------------------------------------

class _NoStreams(wiring.Component):
    """A component without the cmd/rsp streams the FPGA harness needs."""

    def __init__(self):
        super().__init__({"a": In(1), "b": Out(1)})

    def elaborate(self, platform):
        return Module()


@contextlib.contextmanager
def _never_elaborated():
    """Silence Amaranth's warning about the half-built objects a failed constructor leaves."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        yield
        gc.collect()


CONSTRUCTOR_ERRORS = {
    "BitmapDecoder width": (lambda: BitmapDecoder(12, 4), r"^width=12: must be a power of two$"),
    "BitmapDecoder lanes": (lambda: BitmapDecoder(8, 0), r"^lanes=0: must be a power of two$"),
    "BitmapDecoder lanes > width": (lambda: BitmapDecoder(4, 8),
                                    r"^lanes=8: must not exceed width=4$"),
    "BitmapEncoder": (lambda: BitmapEncoder(0, NumberType.parse("int16", "type")),
                      r"^width=0: must be a positive integer$"),
    "IntAdder": (lambda: IntAdder(1), r"^width=1: must be an integer of at least 2$"),
    "IntAdder type": (lambda: IntAdder(8.0), r"^width=8\.0: must be an integer of at least 2$"),
    "IntMultiplier": (lambda: IntMultiplier(1), r"^width=1: must be an integer of at least 2$"),
    "LaneSpread": (lambda: LaneSpread(8, 0, 8), r"^lanes=0: must be a positive integer$"),
    "LaneSpread lanes > width": (lambda: LaneSpread(8, 16, 8),
                                 r"^lanes=16: must not exceed width=8$"),
    "ReachAccumulator crossbar": (lambda: ReachAccumulator(preset("small8")),
                                  r"^lane_placement='crossbar': ReachAccumulator builds "
                                  r"lane_placement='reach'$"),
    "ClassSelect": (lambda: ClassSelect(16, 4, 8, 8),
                    r"^classes=8, lanes=4, width=16: must satisfy classes <= lanes <= width$"),
    "ClassSelect width": (lambda: ClassSelect(12, 4, 2, 8), r"^width=12: must be a power of two$"),
    "ClassRounds": (lambda: ClassRounds(8, 16, 2),
                    r"^classes=2, lanes=16, width=8: must satisfy classes <= lanes <= width$"),
    "ClassRounds classes": (lambda: ClassRounds(16, 8, 3), r"^classes=3: must be a power of two$"),
    "LeadingZeros": (lambda: LeadingZeros(0), r"^width=0: must be a positive integer$"),
    "Popcount": (lambda: Popcount(-1), r"^width=-1: must be a positive integer$"),
    "PrefixPopcount": (lambda: PrefixPopcount(0), r"^width=0: must be a positive integer$"),
    "Relu": (lambda: Relu(4, NumberType.parse("fp16", "type")),
             r"^number_type='fp16': the float ReLU is for fp32$"),
    "FpgaHarness": (lambda: FpgaHarness(_NoStreams()),
                    r"^core: has no port cmd\.valid \(needs cmd and rsp streams\)$"),
}


@pytest.mark.parametrize("name", list(CONSTRUCTOR_ERRORS))
def test_constructor_errors(name):
    make, message = CONSTRUCTOR_ERRORS[name]
    with _never_elaborated(), pytest.raises(ValueError, match=message):
        make()


def test_struct_value_errors():
    layout = data.StructLayout({"a": 2, "b": 3})
    with _never_elaborated():
        with pytest.raises(ValueError, match=r"^fields not in the layout: \['c'\]$"):
            struct_value(Module(), layout, "x", a=0, b=Signal(3), c=1)
        union = data.UnionLayout({"a": 2, "b": 3})
        with pytest.raises(ValueError, match=r"^layout field 'b' is not contiguous$"):
            struct_value(Module(), union, "x", a=0, b=0)
