"""The sparse core's multiply stage: an issued OHMMA in, its products and placement out."""

from amaranth import Module, Signal
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .config_component import ConfigComponent
from .isa import issue_layout, scatter_layout
from .multiplier_array import MultiplierArray

__all__ = ["MultiplyStage"]


class MultiplyStage(ConfigComponent):
    """Registers an issued OHMMA, multiplies its lanes and registers the products with the
    lanes' placement for the accumulator: ``issue`` -> [register] -> multipliers ->
    [register] -> ``scatter``.

    Ports: ``issue`` (stream in, :func:`~dstc.hw.isa.issue_layout`, always ready: the stage
    never stalls); ``scatter_en`` and ``scatter`` (out, 1 and
    :func:`~dstc.hw.isa.scatter_layout`): an OHMMA issued in cycle ``t`` is on them in cycle
    ``t + latency``; ``busy`` (out, 1): one of the two registers holds an OHMMA. Submodule
    ``multipliers`` (:class:`~dstc.hw.multiplier_array.MultiplierArray`). Parameter:
    ``config`` (:class:`~dstc.sim.config.DstcConfig`).
    """

    def __init__(self, config):
        super().__init__(config, {
            "issue": In(stream.Signature(issue_layout(config), always_ready=True)),
            "scatter_en": Out(1),
            "scatter": Out(scatter_layout(config)),
            "busy": Out(1),
        })

    @property
    def latency(self):
        """Cycles from an OHMMA's issue to its products on ``scatter``: 2 (the operand and the
        product registers)."""
        return 2

    def elaborate(self, platform):
        m = Module()
        config = self.config
        m.submodules.multipliers = multipliers = MultiplierArray(config)
        issue = self.issue.payload
        # The operand registers are separate signals, not one issue-shaped register: a
        # multiplier whose two inputs were adjacent slices of one signal would get one merged
        # port in the Verilog, and the identical multipliers would no longer be one module.
        mul_valid = Signal()
        mul_a, mul_b = Signal.like(issue.a_values), Signal.like(issue.b_values)
        mul_placement = Signal.like(issue.placement)
        m.d.sync += [
            mul_valid.eq(self.issue.valid),
            mul_a.eq(issue.a_values),
            mul_b.eq(issue.b_values),
            mul_placement.eq(issue.placement),
            self.scatter_en.eq(mul_valid),
            self.scatter.placement.eq(mul_placement),
            self.scatter.products.eq(multipliers.products),
        ]
        m.d.comb += [
            multipliers.a.eq(mul_a),
            multipliers.b.eq(mul_b),
            self.busy.eq(mul_valid | self.scatter_en),
        ]
        return m
