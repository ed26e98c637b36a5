"""Check of the accumulator tile (clocked), shared by the Amaranth and cocotb tests.

A random sequence of clear, row loads and OHMMA scatter-adds (lane positions from random
bitmaps through the golden select, products of random values and, for fp32, specials) runs
against the golden model; after every cycle one random row is read back and compared, and
the whole tile is compared at the end. With a pipelined accumulate (``accumulate_stages`` 2
or 3, ``latency`` 1 or 2) a scatter becomes visible ``latency`` cycles after the cycle it is
presented in, back-to-back scatters hit the same cells (forwarding), and a clear or load
waits, as in the core, until no scatter is in flight (the cycles it waits are idle or carry
disabled scatters).
"""

import numpy as np
from ports import compare
from vectors import FP32, special_bits

from dstc.gen.codec import Codec
from dstc.hw.accumulator import scatter_layout
from dstc.sim.arith import Arithmetic
from dstc.sim.bitmap import select_chunk
from dstc.sim.isa import reach_lanes

__all__ = ["check_accumulator"]

#: fp32 specials the random values draw from (the order is part of the seeded stream).
_FP32_SPECIALS = special_bits(FP32, "zero", "-zero", "inf", "-inf", "nan", "min_subnormal",
                              "max", "-max", "min_normal")


def _bitmap(flags):
    """Bool flags as an int, flag ``i`` in bit ``i``."""
    return sum(1 << i for i, flag in enumerate(flags) if flag)


class _Tile:
    """Golden accumulator tile in raw bits."""

    def __init__(self, config):
        self.config = config
        self.arith = Arithmetic(config)
        self.cells = np.zeros((config.tile_m, config.tile_n), dtype=np.uint64)

    def scatter(self, rows, cols, products):
        arith, accum = self.arith, self.config.accum
        cells = np.ix_(rows, cols)
        current = arith.from_bits(self.cells[cells], accum)
        added = arith.add(current, arith.from_bits(products, self.config.product))
        self.cells[cells] = arith.to_bits(added, accum)


def _random_values(rng, number_type, shape):
    if number_type.is_float:
        values = rng.standard_normal(shape).astype(np.float32).view(np.uint32).astype(np.uint64)
        return np.where(rng.random(shape) < 0.05, rng.choice(_FP32_SPECIALS, shape), values)
    return rng.integers(0, 1 << number_type.width, size=shape, dtype=np.uint64)


def _class_round(bitmap, round_, lanes, classes):
    """Round ``round_`` of ``bitmap`` as the chunk sequencer issues it with
    ``lane_placement="reach"``: class ``g`` (positions ``r mod classes == g``) gives its
    class nonzeros ``round_ * C ..`` (C = ``lanes / classes``) to its lanes, lane-skipped
    (``sim.isa.reach_lanes``). Returns ``(positions, valid)`` in lane order."""
    width, class_lanes = bitmap.size, lanes // classes
    positions, valid = np.zeros(lanes, np.int64), np.zeros(lanes, bool)
    for g in range(classes):
        members = np.flatnonzero(bitmap[g::classes])          # positions inside the class
        within = members[round_ * class_lanes:(round_ + 1) * class_lanes]
        placed = g * class_lanes + reach_lanes(within, class_lanes, width // classes)
        positions[placed], valid[placed] = g + classes * within, True
    return positions, valid


async def check_accumulator(io, config, rng, steps):
    """Run ``steps`` random operations through ``io`` (the accumulator's ports); returns the
    number of scatter-adds checked."""
    scatter_codec = Codec(scatter_layout(config), raw=True, name="scatter")
    tile = _Tile(config)
    latency = config.accumulate_stages - 1
    # Scatters presented but not yet visible: [cycles left, rows, cols, products]; applied
    # to the golden tile in order when they complete (forwarding gives sequential sums).
    in_flight = []
    rows, cols = config.array_rows, config.array_cols
    idle = dict(clear=0, load_en=0, scatter_en=0)
    scatters = 0

    async def tick():
        await io.tick()
        while in_flight and in_flight[0][0] == 0:
            tile.scatter(*in_flight.pop(0)[1:])
        for pending in in_flight:
            pending[0] -= 1

    async def read_row(row):
        await io.set(read_row=row)
        compare(f"accumulator row {row}", await io.get("read_data"), tile.cells[row])

    await io.set(clear=1, load_en=0, scatter_en=0)
    await io.tick()
    for _ in range(steps):
        choice = rng.random()
        if choice < 0.12 and in_flight:          # clear/load wait for the pipeline to empty
            await io.set(**idle)
        elif choice < 0.02:
            await io.set(**{**idle, "clear": 1})
            tile.cells[:] = 0
        elif choice < 0.12:
            row = int(rng.integers(config.tile_m))
            data = _random_values(rng, config.accum, config.tile_n)
            await io.set(**{**idle, "load_en": 1}, load_row=row, load_data=data)
            tile.cells[row] = data
        else:
            a_map = rng.random(config.tile_m) < rng.random()
            b_map = rng.random(config.tile_n) < rng.random()
            a_round = int(rng.integers(config.a_chunks))
            a_pos, a_ok = select_chunk(a_map, a_round, rows)
            b_round = int(rng.integers(config.b_chunks))
            b_pos, b_ok = select_chunk(b_map, b_round, cols)
            if config.lane_placement == "reach":     # the placement the sequencer issues
                a_pos, a_ok = _class_round(a_map, a_round, rows, config.row_classes)
                b_pos, b_ok = _class_round(b_map, b_round, cols, config.col_classes)
            products = _random_values(rng, config.product, (rows, cols))
            if rng.random() < 0.1:       # invalid lanes carry garbage positions and values
                a_pos = np.where(a_ok, a_pos, rng.integers(config.tile_m, size=rows))
                b_pos = np.where(b_ok, b_pos, rng.integers(config.tile_n, size=cols))
            scatter = scatter_codec.pack({
                "placement": {"rows": a_pos, "row_valid": _bitmap(a_ok), "cols": b_pos,
                              "col_valid": _bitmap(b_ok)},
                "products": products})
            enable = int(rng.random() < 0.95)
            await io.set(**{**idle, "scatter_en": enable}, scatter=scatter)
            if enable:
                in_flight.append([latency, a_pos[a_ok], b_pos[b_ok],
                                  products[np.ix_(a_ok, b_ok)]])
                scatters += 1
        await tick()
        await read_row(int(rng.integers(config.tile_m)))
    await io.set(**idle)
    for _ in range(latency):
        await tick()
    assert not in_flight, in_flight
    for row in range(config.tile_m):
        await read_row(row)
    return scatters
