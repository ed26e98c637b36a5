"""The checks of a KSTEP that carries its own bitmaps (``kstep_bitmaps="inline"``)."""

from amaranth import Module
from amaranth.lib.wiring import In, Out

from .config_component import ConfigComponent
from .popcount import Popcount

__all__ = ["InlineKstepCheck"]


class InlineKstepCheck(ConfigComponent):
    """Checks the KSTEP on the command port of an inline-bitmap core (docs/isa.md): the
    stateless replacement of :class:`~dstc.hw.spwmma_tracker.SpwmmaTracker`, with no header
    register and no pending bits.

    In: ``a_bitmap`` (``tile_m`` bits, the k-step's A column) and ``b_bitmap`` (``tile_n``
    bits, its B row), ``kstep_a_count`` and ``kstep_b_count`` (the producer's nonzero counts).
    Out, combinational (latency 0):

    * ``a_popcount``/``b_popcount``: the bitmaps' popcounts (submodules ``a_pop``/``b_pop``;
      no port shares their names, which would rename them in the Verilog);
    * ``count_mismatch``: the counts differ from the popcounts (the core drops the beat with
      ``COUNT_MISMATCH``);
    * ``empty``: the counts match and one side holds no nonzero (accepted, issues nothing);
    * ``issue``: neither: the k-step goes to the chunk sequencer.

    Exactly one of ``count_mismatch``, ``empty`` and ``issue`` is high. Parameter: ``config``
    (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, {
            "a_bitmap": In(config.tile_m),
            "b_bitmap": In(config.tile_n),
            "kstep_a_count": In(range(config.tile_m + 1)),
            "kstep_b_count": In(range(config.tile_n + 1)),
            "a_popcount": Out(range(config.tile_m + 1)),
            "b_popcount": Out(range(config.tile_n + 1)),
            "count_mismatch": Out(1),
            "empty": Out(1),
            "issue": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        m.submodules.a_pop = a_pop = Popcount(config.tile_m)
        m.submodules.b_pop = b_pop = Popcount(config.tile_n)
        m.d.comb += [
            a_pop.bitmap.eq(self.a_bitmap),
            b_pop.bitmap.eq(self.b_bitmap),
            self.a_popcount.eq(a_pop.count),
            self.b_popcount.eq(b_pop.count),
            self.count_mismatch.eq((self.kstep_a_count != a_pop.count) |
                                   (self.kstep_b_count != b_pop.count)),
            self.empty.eq(~self.count_mismatch & ~(self.a_bitmap.any() & self.b_bitmap.any())),
            self.issue.eq(~self.count_mismatch & ~self.empty),
        ]
        return m
