"""The open SpWMMA: its bitmaps, the k-steps still expected, and the checks of a KSTEP."""

from amaranth import Cat, Const, Module, Signal
from amaranth.lib.wiring import In, Out

from .config_component import ConfigComponent
from .isa import header_layout
from .popcount import Popcount
from .shapes import index_shape

__all__ = ["SpwmmaTracker"]


class SpwmmaTracker(ConfigComponent):
    """Tracks one SpWMMA between its header and its KSTEPs (docs/isa.md).

    State: the header's bitmaps and ``pending``, one bit per k-step (of ``k_chunk``) whose A
    column and B row both hold a nonzero and that has not had its KSTEP yet. At the end of a
    cycle, the first that applies of:

    * ``open`` (in, 1): hold ``header`` (in, :func:`~dstc.hw.isa.header_layout`) and mark its
      non-empty k-steps pending;
    * ``retire`` (in, 1): k-step ``kstep_k`` had its KSTEP (clear its pending bit);
    * ``abort`` (in, 1): another command ended the SpWMMA (nothing stays pending).

    Combinational checks of the KSTEP offered as ``kstep_k`` (in, k-step index),
    ``kstep_a_count`` and ``kstep_b_count`` (in, the producer's nonzero counts), exactly one
    of which is high:

    * ``unexpected`` (out): no k-step is pending;
    * ``order`` (out): ``kstep_k`` is not the lowest pending k-step;
    * ``count_mismatch`` (out): the counts differ from the popcounts of k-step ``kstep_k``'s
      bitmaps;
    * ``ok`` (out): none of these.

    Also out: ``expecting`` (some k-step is pending), ``a_bitmap``/``b_bitmap`` (k-step
    ``kstep_k``'s A column and B row bitmaps, ``tile_m``/``tile_n`` bits) and
    ``a_popcount``/``b_popcount`` (their popcounts, submodules ``a_count``/``b_count``; no
    port shares their names: a clash would rename them in the Verilog). Latency 0 for the
    outputs, 1 for the state. Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, {
            "open": In(1),
            "header": In(header_layout(config)),
            "retire": In(1),
            "abort": In(1),
            "kstep_k": In(index_shape(config.k_chunk)),
            "kstep_a_count": In(range(config.tile_m + 1)),
            "kstep_b_count": In(range(config.tile_n + 1)),
            "expecting": Out(1),
            "a_bitmap": Out(config.tile_m),
            "b_bitmap": Out(config.tile_n),
            "a_popcount": Out(range(config.tile_m + 1)),
            "b_popcount": Out(range(config.tile_n + 1)),
            "unexpected": Out(1),
            "order": Out(1),
            "count_mismatch": Out(1),
            "ok": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        header = self.header

        m.submodules.a_count = a_count = Popcount(config.tile_m)
        m.submodules.b_count = b_count = Popcount(config.tile_n)

        a_bitmaps = Signal.like(header.a_bitmaps, name="a_bitmaps")
        b_bitmaps = Signal.like(header.b_bitmaps, name="b_bitmaps")
        pending = Signal(config.k_chunk)
        expected_k = Signal(index_shape(config.k_chunk))

        for k in reversed(range(config.k_chunk)):       # lowest pending k wins
            with m.If(pending[k]):
                m.d.comb += expected_k.eq(k)
        m.d.comb += [
            self.a_bitmap.eq(a_bitmaps[self.kstep_k]),
            self.b_bitmap.eq(b_bitmaps[self.kstep_k]),
            a_count.bitmap.eq(self.a_bitmap),
            b_count.bitmap.eq(self.b_bitmap),
            self.a_popcount.eq(a_count.count),
            self.b_popcount.eq(b_count.count),
            self.expecting.eq(pending.any()),
            self.unexpected.eq(~self.expecting),
            self.order.eq(~self.unexpected & (self.kstep_k != expected_k)),
            self.count_mismatch.eq(~self.unexpected & ~self.order &
                                   ((self.kstep_a_count != a_count.count) |
                                    (self.kstep_b_count != b_count.count))),
            self.ok.eq(~self.unexpected & ~self.order & ~self.count_mismatch),
        ]

        nonempty = Cat(header.a_bitmaps[k].any() & header.b_bitmaps[k].any()
                       for k in range(config.k_chunk))
        with m.If(self.open):
            m.d.sync += [a_bitmaps.eq(header.a_bitmaps),
                         b_bitmaps.eq(header.b_bitmaps),
                         pending.eq(nonempty)]
        with m.Elif(self.retire):
            m.d.sync += pending.eq(pending & ~(Const(1, config.k_chunk) << self.kstep_k))
        with m.Elif(self.abort):
            m.d.sync += pending.eq(0)
        return m
