"""Checks of an OHMMA command's lane placement."""

from amaranth import Cat, Module
from amaranth.lib.wiring import In, Out

from ..sim.isa import lane_reach
from .config_component import ConfigComponent
from .distinct_check import DistinctCheck
from .isa import placement_layout

__all__ = ["PlacementCheck"]


class PlacementCheck(ConfigComponent):
    """Whether a lane placement may be scattered into the tile (combinational).

    ``conflict`` (out) is high when two valid lane rows name the same tile row, or two valid
    lane columns the same tile column (the accumulator's scatter is conflict-free only
    without); ``empty`` (out) is high when no lane row or no lane column is valid (the OHMMA
    would add nothing); ``out_of_reach`` (out) is high when a valid lane names a tile row or
    column its lane does not reach (:func:`~dstc.sim.isa.lane_reach`: never on the crossbar;
    with ``lane_placement="reach"``, class lane ``j`` reaches the positions ``j .. j + P - C``
    of its class). Port ``placement`` in (:func:`~dstc.hw.isa.placement_layout`);
    submodules ``row_check`` and ``col_check``
    (:class:`~dstc.hw.distinct_check.DistinctCheck`).
    Latency 0. Parameter: ``config`` (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, {
            "placement": In(placement_layout(config)),
            "conflict": Out(1),
            "empty": Out(1),
            "out_of_reach": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config, placement = self.config, self.placement
        m.submodules.row_check = row_check = DistinctCheck(config.array_rows, config.tile_m)
        m.submodules.col_check = col_check = DistinctCheck(config.array_cols, config.tile_n)
        m.d.comb += [
            row_check.indices.eq(placement.rows), row_check.valid.eq(placement.row_valid),
            col_check.indices.eq(placement.cols), col_check.valid.eq(placement.col_valid),
            self.conflict.eq(row_check.conflict | col_check.conflict),
            self.empty.eq(~placement.row_valid.any() | ~placement.col_valid.any()),
        ]
        if config.lane_placement == "reach":
            outside = []
            for side, indices, valid in (("rows", placement.rows, placement.row_valid),
                                         ("cols", placement.cols, placement.col_valid)):
                for lane, reach in enumerate(lane_reach(config, side)):
                    inside = Cat(indices[lane] == position for position in reach).any()
                    outside.append(valid[lane] & ~inside)
            m.d.comb += self.out_of_reach.eq(Cat(outside).any())
        return m
