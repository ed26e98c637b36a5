"""SpwmmaTracker on the Amaranth simulator: random headers, KSTEPs (in and out of order,
with right and wrong counts) and aborts against a plain Python model of the pending set."""

import pytest
from amaranth.sim import Simulator

from dstc.hw.spwmma_tracker import SpwmmaTracker
from dstc.sim.config import preset


class _Model:
    """The pending k-steps of the open SpWMMA, as a set."""

    def __init__(self, config):
        self.a_bitmaps = [0] * config.k_chunk
        self.b_bitmaps = [0] * config.k_chunk
        self.pending = set()

    def checks(self, k, a_count, b_count):
        unexpected = not self.pending
        order = not unexpected and k != min(self.pending)
        counts = (self.a_bitmaps[k].bit_count(), self.b_bitmaps[k].bit_count())
        mismatch = not unexpected and not order and (a_count, b_count) != counts
        return {"expecting": int(bool(self.pending)), "unexpected": int(unexpected),
                "order": int(order), "count_mismatch": int(mismatch),
                "ok": int(not (unexpected or order or mismatch)),
                "a_bitmap": self.a_bitmaps[k], "b_bitmap": self.b_bitmaps[k],
                "a_popcount": counts[0], "b_popcount": counts[1]}

    def step(self, open_, header, retire, abort, k):
        if open_:
            self.a_bitmaps, self.b_bitmaps = list(header[0]), list(header[1])
            self.pending = {i for i in range(len(header[0])) if header[0][i] and header[1][i]}
        elif retire:
            self.pending.discard(k)
        elif abort:
            self.pending = set()


def _random_bitmaps(rng, width, count):
    density = rng.random()
    return [int(sum(1 << i for i in range(width) if rng.random() < density))
            for _ in range(count)]


@pytest.mark.parametrize("preset_name", ["small", "small-fp16"])
def test_random_sequence_against_model(preset_name, rng):
    config = preset(preset_name)
    dut = SpwmmaTracker(config)
    model = _Model(config)
    seen = {"ok": 0, "order": 0, "count_mismatch": 0, "unexpected": 0}

    async def bench(ctx):
        for _ in range(600):
            header = (_random_bitmaps(rng, config.tile_m, config.k_chunk),
                      _random_bitmaps(rng, config.tile_n, config.k_chunk))
            k = (min(model.pending) if model.pending and rng.random() < 0.7
                 else int(rng.integers(config.k_chunk)))
            right = (model.a_bitmaps[k].bit_count(), model.b_bitmaps[k].bit_count())
            a_count, b_count = (right if rng.random() < 0.8 else
                                (int(rng.integers(config.tile_m + 1)),
                                 int(rng.integers(config.tile_n + 1))))
            choice = rng.random()
            open_, retire, abort = int(choice < 0.1), int(choice < 0.6), int(choice > 0.95)
            ctx.set(dut.header, {"a_bitmaps": header[0], "b_bitmaps": header[1]})
            for name, value in (("kstep_k", k), ("kstep_a_count", a_count),
                                ("kstep_b_count", b_count),
                                ("open", open_), ("retire", retire), ("abort", abort)):
                ctx.set(getattr(dut, name), value)
            expected = model.checks(k, a_count, b_count)
            assert {name: ctx.get(getattr(dut, name)) for name in expected} == expected
            for name in seen:
                seen[name] += expected[name]
            model.step(open_, header, retire, abort, k)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert all(seen.values()), seen          # every outcome of the checks was exercised
