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

from .core_model import CommandModel
from .cycles import CommandTiming
from .isa import (
    DENSE_OPCODES,
    DOT_LENGTH,
    DenseGeometry,
    ErrorFlag,
    Opcode,
    check_command,
    dense_pipeline_latency,
)

__all__ = ["DenseResponse", "DenseTiming", "DenseCoreModel"]


@dataclasses.dataclass(frozen=True, eq=False)
class DenseResponse:
    """One drained row of the dense baseline."""

    row: int
    last: bool
    values: np.ndarray


class DenseTiming(CommandTiming):
    """When the dense baseline accepts each command if the command stream never stalls and
    the response stream is always ready.

    Rules (``issue_last``: the cycle of the last block issued so far; ``drain_end``: the
    cycle in which the last drain loaded its last row):

    * a DENSE issues its ``blocks`` blocks in consecutive cycles from the first cycle after
      the previous command's acceptance (and, with one tile buffer, after ``drain_end``); it
      is accepted in the cycle of its last block (the core reads the operands in place from
      the command beat);
    * CLEAR, LOAD_ROW, DRAIN and CLEAR_STATUS wait for the pipeline to empty: no earlier
      than ``issue_last + 1 + latency`` (``latency``: :func:`~dstc.sim.isa.dense_pipeline_latency`);
    * the drain rule of :class:`~dstc.sim.cycles.CommandTiming` (one or two tile buffers);
    * any other opcode is accepted (and dropped) at once.

    ``busy`` counts the cycles the ``cycles_busy`` counter counts.
    """

    def __init__(self, config):
        super().__init__(config, dense_pipeline_latency(config))
        self.blocks = DenseGeometry.of(config).blocks

    def accept(self, opcode):
        """Account one command; returns its accept cycle."""
        start = self._earliest(opcode)
        first_busy, last_busy = start, start
        if opcode == Opcode.DENSE:
            cycle = start + self.blocks - 1
            self.issue_last = cycle
            last_busy = cycle + self.latency
        elif opcode in DENSE_OPCODES:
            cycle = max(start, self.issue_last + 1 + self.latency)
            first_busy = last_busy = cycle
        else:
            cycle = start
        return self._record(opcode, cycle, first_busy, last_busy)


class DenseCoreModel(CommandModel):
    """The dense baseline's architectural state (tile buffers, error flags, counters) and
    timing."""

    def __init__(self, config):
        super().__init__(config, DenseTiming(config))
        self.geometry = DenseGeometry.of(config)
        self.errors = 0
        self.blocks_issued = 0

    def execute(self, command):
        """Run one command; returns ``(accept_cycle, responses)``. Raises
        :class:`~dstc.sim.isa.CommandError` for a command whose fields do not fit the
        configuration (:func:`~dstc.sim.isa.check_command`), before anything changes."""
        check_command(command, self.config)
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
            self._swap()
        elif opcode == Opcode.CLEAR_STATUS:
            self.errors = 0
            self.blocks_issued = 0
        return self.timing.accept(opcode), responses

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
