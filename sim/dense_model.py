"""Golden and cycle model of the dense baseline (``hw/dense_core.py``): an iso-MAC,
Volta-style tensor core built from ``DOT_LENGTH``-element dot-product units.

The baseline has ``macs / DOT_LENGTH`` dot-product units arranged as a block of
``block_rows x block_cols`` output cells (for the default preset 4 x 8: two Volta 4x4x4 units
side by side). A DENSE command carries ``DOT_LENGTH`` k-steps of the tile; the core issues
one block of cells per cycle, row-major over the tile's ``blocks``, so a dense
``tile_m x tile_n x k_chunk`` tile takes ``(k_chunk / DOT_LENGTH) * blocks`` cycles: the same
as the sparse core's dense mode (``config.dense_tile_issues``).

Accumulation order: every cell adds its ``DOT_LENGTH`` products one after the other, in k
order, into its accumulator value, ``(((c + p0) + p1) + p2) + p3`` with fp32
round-to-nearest-even after every addition: exactly the order of
:func:`~dstc.sim.golden.dense_reference` (and of the sparse core), so the two cores agree bit
for bit on dense operands.
"""

import dataclasses

import numpy as np

from .arith import Arithmetic
from .config import ConfigError
from .isa import ErrorFlag, Opcode

__all__ = ["DOT_LENGTH", "DENSE_PIPELINE_LATENCY", "DENSE_OPCODES", "DenseGeometry",
           "DenseResponse", "DenseTiming", "DenseCoreModel"]

#: Products summed by one dot-product unit (a Volta tensor core's 4-element dot products).
DOT_LENGTH = 4

#: Cycles from a block's issue cycle to its accumulator update: operand register, multiply
#: register, then one fp32/integer addition per pipeline stage (``DOT_LENGTH`` stages).
DENSE_PIPELINE_LATENCY = 1 + DOT_LENGTH

#: Commands the dense baseline executes; any other opcode sets ``UNKNOWN_OPCODE``.
DENSE_OPCODES = frozenset({Opcode.CLEAR, Opcode.LOAD_ROW, Opcode.DENSE, Opcode.DRAIN,
                           Opcode.CLEAR_STATUS})


@dataclasses.dataclass(frozen=True)
class DenseGeometry:
    """How the dense baseline of ``config`` covers the tile.

    ``cells = macs / DOT_LENGTH`` dot-product units form a ``block_rows x block_cols`` block
    (``block_rows`` the largest power of two not above ``sqrt(cells)``); the tile holds
    ``blocks`` such blocks, issued row-major; a DENSE command covers ``DOT_LENGTH`` k-steps.
    """

    block_rows: int
    block_cols: int
    blocks_per_row: int
    blocks: int
    groups_per_tile: int

    @classmethod
    def of(cls, config):
        if config.macs % DOT_LENGTH:
            raise ConfigError(
                f"array_rows*array_cols={config.macs}: the dense baseline needs a multiple of "
                f"the dot length {DOT_LENGTH}")
        if config.k_chunk % DOT_LENGTH:
            raise ConfigError(
                f"k_chunk={config.k_chunk}: the dense baseline needs a multiple of the dot "
                f"length {DOT_LENGTH}")
        cells = config.macs // DOT_LENGTH
        block_rows = 1 << ((cells.bit_length() - 1) // 2)
        block_cols = cells // block_rows
        if block_rows > config.tile_m or block_cols > config.tile_n:
            raise ConfigError(
                f"array_rows*array_cols={config.macs}: the dense baseline's {block_rows}x"
                f"{block_cols} block of dot-product units does not fit the "
                f"{config.tile_m}x{config.tile_n} tile")
        blocks_per_row = config.tile_n // block_cols
        blocks = (config.tile_m // block_rows) * blocks_per_row
        # Holds because macs <= tile_m * tile_n; the pipeline relies on it: a block's next
        # accumulator read comes after its previous write (see DENSE_PIPELINE_LATENCY).
        assert blocks >= DOT_LENGTH, blocks
        return cls(block_rows=block_rows, block_cols=block_cols, blocks_per_row=blocks_per_row,
                   blocks=blocks,
                   groups_per_tile=config.k_chunk // DOT_LENGTH)

    @property
    def tile_cycles(self):
        """Issue cycles of a dense ``tile_m x tile_n x k_chunk`` tile."""
        return self.groups_per_tile * self.blocks

    def block_origin(self, block):
        """Top-left (row, column) of block number ``block`` (row-major)."""
        return ((block // self.blocks_per_row) * self.block_rows,
                (block % self.blocks_per_row) * self.block_cols)


@dataclasses.dataclass(frozen=True, eq=False)
class DenseResponse:
    """One drained row of the dense baseline."""

    row: int
    last: bool
    values: np.ndarray


class DenseTiming:
    """When the dense baseline accepts each command if the command stream never stalls and
    the response stream is always ready.

    Rules (``issue_last``: the cycle of the last block issued so far; ``drain_end``: the
    cycle in which the last drain loaded its last row):

    * a DENSE issues its ``blocks`` blocks in consecutive cycles from the first cycle after
      the previous command's acceptance (and after ``drain_end``); it is accepted in the
      cycle of its last block (the core reads the operands in place from the command beat);
    * CLEAR, LOAD_ROW, DRAIN and CLEAR_STATUS wait for the pipeline to empty: no earlier
      than ``issue_last + 1 + DENSE_PIPELINE_LATENCY``;
    * nothing is accepted while a drain runs: a DRAIN accepted in cycle ``t`` loads row ``r``
      in cycle ``t + 1 + r``, so ``drain_end = t + tile_m``;
    * any other opcode is accepted (and dropped) at once.

    ``busy`` counts the cycles the ``cycles_busy`` counter counts.
    """

    def __init__(self, config):
        self.config = config
        self.blocks = DenseGeometry.of(config).blocks
        self.accepted = -1
        self.issue_last = -10
        self.drain_end = -1
        self.busy = 0
        self._busy_until = -1

    def accept(self, opcode):
        """Account one command; returns its accept cycle."""
        start = max(self.accepted + 1, self.drain_end + 1)
        first_busy, last_busy = start, start
        if opcode == Opcode.DENSE:
            cycle = start + self.blocks - 1
            self.issue_last = cycle
            last_busy = cycle + DENSE_PIPELINE_LATENCY
        elif opcode in DENSE_OPCODES:
            cycle = max(start, self.issue_last + 1 + DENSE_PIPELINE_LATENCY)
            first_busy = last_busy = cycle
        else:
            cycle = start
        self.accepted = cycle
        if opcode == Opcode.DRAIN:
            self.drain_end = cycle + self.config.tile_m
            last_busy = self.drain_end
        if opcode == Opcode.CLEAR_STATUS:
            self.busy, self._busy_until = 0, cycle
        else:
            start_count = max(first_busy, self._busy_until + 1)
            if last_busy >= start_count:
                self.busy += last_busy - start_count + 1
            self._busy_until = max(self._busy_until, last_busy)
        return cycle

    @property
    def finish_cycle(self):
        """Cycles until everything accepted so far has completed."""
        return max(self.accepted + 1, self.issue_last + 1 + DENSE_PIPELINE_LATENCY,
                   self.drain_end + 2)


class DenseCoreModel:
    """The dense baseline's architectural state (tile, error flags, counters) and timing."""

    def __init__(self, config):
        self.config = config
        self.geometry = DenseGeometry.of(config)
        self.arith = Arithmetic(config)
        self.tile = np.zeros((config.tile_m, config.tile_n), dtype=self.arith.accum_dtype)
        self.errors = 0
        self.blocks_issued = 0
        self.timing = DenseTiming(config)

    def execute(self, command):
        """Run one command; returns ``(accept_cycle, responses)``."""
        opcode = int(command.opcode)
        responses = []
        if opcode not in DENSE_OPCODES:
            self.errors |= ErrorFlag.UNKNOWN_OPCODE
        elif opcode == Opcode.CLEAR:
            self.tile[:] = 0
        elif opcode == Opcode.LOAD_ROW:
            self.tile[command.row] = self.arith.accumulators(command.values)
        elif opcode == Opcode.DENSE:
            self._group(command)
        elif opcode == Opcode.DRAIN:
            tile_m = self.config.tile_m
            responses = [DenseResponse(row=row, last=row == tile_m - 1,
                                       values=self.tile[row].copy()) for row in range(tile_m)]
        elif opcode == Opcode.CLEAR_STATUS:
            self.errors = 0
            self.blocks_issued = 0
        return self.timing.accept(opcode), responses

    def run(self, commands):
        """Run ``commands``; returns ``(accept_cycles, responses)``."""
        cycles, responses = [], []
        for command in commands:
            cycle, out = self.execute(command)
            cycles.append(cycle)
            responses.extend(out)
        return cycles, responses

    def _group(self, command):
        arith = self.arith
        a = arith.operands(np.asarray(command.a_values).reshape(self.config.tile_m, DOT_LENGTH))
        b = arith.operands(np.asarray(command.b_values).reshape(DOT_LENGTH, self.config.tile_n))
        for kk in range(DOT_LENGTH):
            self.tile = arith.add(self.tile, arith.multiply(a[:, kk:kk + 1], b[kk:kk + 1, :]))
        self.blocks_issued += self.geometry.blocks

    @property
    def counters(self):
        """The counters as the core's outputs show them."""
        return {"cycles_busy": self.timing.busy, "blocks_issued": self.blocks_issued}

    @property
    def finish_cycle(self):
        return self.timing.finish_cycle
