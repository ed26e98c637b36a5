"""The dense baseline's block of pipelined dot-product units."""

from amaranth import Cat, Module, Signal
from amaranth.lib import data
from amaranth.lib.wiring import In, Out

from ..sim.isa import DOT_LENGTH, DenseGeometry
from .dense_component import DenseComponent
from .fp16_multiplier import Fp16Multiplier
from .int_adder import accumulation_adder
from .int_multiplier import IntMultiplier
from .shapes import accum_shape, index_shape, operand_shape, product_shape

__all__ = ["DotProductPipeline"]


class DotProductPipeline(DenseComponent):
    """``block_rows x block_cols`` dot-product units of ``DOT_LENGTH`` products each, fully
    pipelined: one block of cells enters per cycle.

    Cell ``(i, j)`` of a block entering in cycle ``t`` (``valid``, ``tag``, ``a[i][kk]``,
    ``b[kk][j]``) computes ``(((c + a[i][0] b[0][j]) + a[i][1] b[1][j]) + ...)``, one
    exact product and one addition (fp32 round-to-nearest-even, or wrapping integer) per
    stage, in k order:

    * cycle ``t + 1``: the operands are registered; product 0 is computed;
    * cycle ``t + ACC_READ_LATENCY`` (``t + 2``): ``acc_valid``/``acc_tag`` ask for the block's
      accumulator values ``c``, which must be on ``acc`` in the same cycle; the first addition;
    * cycle ``t + RESULT_LATENCY`` (``t + 1 + DOT_LENGTH``): ``result_valid``, ``result_tag``
      and the sums on ``result``, to be written back at the end of that cycle.

    Product ``kk`` is computed in cycle ``t + 1 + kk`` from operands delayed ``kk`` cycles and
    registered (the skew of a systolic dot product). ``busy`` is high while a block is in flight.
    Multipliers are ``mul_<i>_<j>_<kk>``, adders ``adder_<i>_<j>_<kk>``.
    Parameters: ``config``.
    """

    ACC_READ_LATENCY = 2
    RESULT_LATENCY = 1 + DOT_LENGTH

    def __init__(self, config):
        geometry = DenseGeometry.of(config)
        rows, cols = geometry.block_rows, geometry.block_cols
        operand, accum = operand_shape(config), accum_shape(config)
        block = data.ArrayLayout(data.ArrayLayout(accum, cols), rows)
        super().__init__(config, {
            "valid": In(1),
            "tag": In(index_shape(geometry.blocks)),
            "a": In(data.ArrayLayout(data.ArrayLayout(operand, DOT_LENGTH), rows)),
            "b": In(data.ArrayLayout(data.ArrayLayout(operand, cols), DOT_LENGTH)),
            "acc_valid": Out(1),
            "acc_tag": Out(index_shape(geometry.blocks)),
            "acc": In(block),
            "result_valid": Out(1),
            "result_tag": Out(index_shape(geometry.blocks)),
            "result": Out(block),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        config, geometry = self.config, self.geometry
        rows, cols = geometry.block_rows, geometry.block_cols
        operand, product = operand_shape(config), product_shape(config)
        accum = accum_shape(config)

        # valid and tag of the block in stage s (cycle t + s), s = 1 .. RESULT_LATENCY
        last = self.RESULT_LATENCY
        valid = [None] + [Signal(name=f"valid_{s}") for s in range(1, last + 1)]
        tag = [None] + [Signal.like(self.tag, name=f"tag_{s}") for s in range(1, last + 1)]
        m.d.sync += [valid[1].eq(self.valid), tag[1].eq(self.tag)]
        for s in range(2, last + 1):
            m.d.sync += [valid[s].eq(valid[s - 1]), tag[s].eq(tag[s - 1])]

        # operand kk, delayed to stage 1 + kk
        a_ops = [[None] * DOT_LENGTH for _ in range(rows)]
        b_ops = [[None] * cols for _ in range(DOT_LENGTH)]
        for kk in range(DOT_LENGTH):
            for i in range(rows):
                a_ops[i][kk] = self._delay_line(m, self.a[i][kk], operand, 1 + kk,
                                                f"a_{i}_{kk}")
            for j in range(cols):
                b_ops[kk][j] = self._delay_line(m, self.b[kk][j], operand, 1 + kk,
                                                f"b_{kk}_{j}")

        sums = []
        for i in range(rows):
            for j in range(cols):
                running = self.acc[i][j]
                for kk in range(DOT_LENGTH):
                    multiplier = (Fp16Multiplier() if config.operand.is_float
                                  else IntMultiplier(config.operand.width))
                    m.submodules[f"mul_{i}_{j}_{kk}"] = multiplier
                    product_reg = Signal(product, name=f"product_{i}_{j}_{kk}")
                    m.d.comb += [multiplier.a.eq(a_ops[i][kk]), multiplier.b.eq(b_ops[kk][j])]
                    m.d.sync += product_reg.eq(multiplier.product)
                    adder = m.submodules[f"adder_{i}_{j}_{kk}"] = accumulation_adder(config)
                    m.d.comb += [adder.a.eq(running), adder.b.eq(product_reg)]
                    if kk < DOT_LENGTH - 1:
                        partial = Signal(accum, name=f"partial_{i}_{j}_{kk}")
                        m.d.sync += partial.eq(adder.sum)
                        running = partial
                    else:
                        sums.append(adder.sum)

        m.d.comb += [
            self.acc_valid.eq(valid[self.ACC_READ_LATENCY]),
            self.acc_tag.eq(tag[self.ACC_READ_LATENCY]),
            self.result_valid.eq(valid[last]),
            self.result_tag.eq(tag[last]),
            self.result.eq(Cat(sums)),
            self.busy.eq(Cat(valid[1:]).any()),
        ]
        return m

    @staticmethod
    def _delay_line(m, value, shape, stages, name):
        """``value`` delayed by ``stages`` registers; returns the last one."""
        for s in range(1, stages + 1):
            register = Signal(shape, name=f"{name}_d{s}")
            m.d.sync += register.eq(value)
            value = register
        return value
