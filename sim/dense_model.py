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


class DenseTiming:
    """When the dense baseline accepts each command if the command stream never stalls and
    the response stream is always ready.

    Rules (``issue_last``: the cycle of the last block issued so far; ``drain_end``: the
    cycle in which the last drain loaded its last row):

    * a DENSE issues its ``blocks`` blocks in consecutive cycles from the first cycle after
      the previous command's acceptance (and after ``drain_end``); it is accepted in the
      cycle of its last block (the core reads the operands in place from the command beat);
    * CLEAR, LOAD_ROW, DRAIN and CLEAR_STATUS wait for the pipeline to empty: no earlier
      than ``issue_last + 1 + latency`` (``latency``: :func:`~dstc.sim.isa.dense_pipeline_latency`);
    * a DRAIN accepted in cycle ``t`` loads row ``r`` in cycle ``t + 1 + r``, so
      ``drain_end = t + tile_m``; with one tile buffer nothing is accepted (no DENSE issues)
      while a drain runs, with two (``config.tile_buffers``) only the next DRAIN waits for
      it;
    * any other opcode is accepted (and dropped) at once.

    ``busy`` counts the cycles the ``cycles_busy`` counter counts.
    """

    def __init__(self, config):
        self.config = config
        self.blocks = DenseGeometry.of(config).blocks
        self.latency = dense_pipeline_latency(config)
        self.accepted = -1
        self.issue_last = -10
        self.drain_end = -1
        self.busy = 0
        self._busy_until = -1

    def accept(self, opcode):
        """Account one command; returns its accept cycle."""
        start = self.accepted + 1
        if self.config.tile_buffers == 1 or opcode == Opcode.DRAIN:
            start = max(start, self.drain_end + 1)
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
        """Cycles until everything accepted so far has completed; 0 when no command was
        accepted (the core is idle from the first cycle)."""
        if self.accepted < 0:
            return 0
        return max(self.accepted + 1, self.issue_last + 1 + self.latency,
                   self.drain_end + 2)


class DenseCoreModel:
    """The dense baseline's architectural state (tile, error flags, counters) and timing."""

    def __init__(self, config):
        self.config = config
        self.geometry = DenseGeometry.of(config)
        self.arith = Arithmetic(config)
        #: The ``tile_buffers`` accumulator tiles; ``front`` indexes the one commands use.
        self.tiles = [np.zeros((config.tile_m, config.tile_n), dtype=self.arith.accum_dtype)
                      for _ in range(config.tile_buffers)]
        self.front = 0
        self.errors = 0
        self.blocks_issued = 0
        self.timing = DenseTiming(config)

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
            self.front = (self.front + 1) % len(self.tiles)     # two buffers: swap
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

    @property
    def tile(self):
        """The front accumulator tile (the only one with ``tile_buffers=1``), ``[tile_m,
        tile_n]`` in the accumulator dtype: the tile CLEAR, LOAD_ROW and DENSE act on and the
        next DRAIN sends."""
        return self.tiles[self.front]

    @tile.setter
    def tile(self, values):
        self.tiles[self.front] = values

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
