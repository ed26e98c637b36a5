"""Outer-product multiplier array (the value side of one OHMMA)."""

from amaranth import Cat, Module
from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from .config_component import ConfigComponent
from .fp16_multiplier import Fp16Multiplier
from .int_multiplier import IntMultiplier
from .shapes import operand_shape, product_shape

__all__ = ["MultiplierArray"]


class MultiplierArray(ConfigComponent):
    """``products[r][c]`` = ``a[r] * b[c]`` for ``array_rows x array_cols`` lanes.

    One exact multiplier per lane: :class:`IntMultiplier` for ``intN`` operands,
    :class:`Fp16Multiplier` (fp32 products) for fp16.

    Parameters: ``config`` (:class:`dstc.sim.config.DstcConfig`).
    Ports: ``a`` in (``array_rows`` operands); ``b`` in (``array_cols`` operands); ``products``
    out (``array_rows`` x ``array_cols`` products). Latency 0.
    """

    def __init__(self, config):
        operand = operand_shape(config)
        super().__init__(config, {
            "a": In(data.ArrayLayout(operand, config.array_rows)),
            "b": In(data.ArrayLayout(operand, config.array_cols)),
            "products": Out(data.ArrayLayout(
                data.ArrayLayout(product_shape(config), config.array_cols), config.array_rows)),
        })

    def elaborate(self, platform):
        m = Module()
        config = self.config
        products = []
        for r in range(config.array_rows):
            for c in range(config.array_cols):
                if config.operand.is_float:
                    multiplier = Fp16Multiplier()
                else:
                    multiplier = IntMultiplier(config.operand.width)
                m.submodules[f"mul_{r}_{c}"] = multiplier
                m.d.comb += [multiplier.a.eq(self.a[r]), multiplier.b.eq(self.b[c])]
                products.append(multiplier.product)
        m.d.comb += self.products.eq(Cat(products))
        return m
