"""Command-level golden model of the core: results, error flags, counters and cycles.

:class:`CoreModel` executes the commands of :mod:`sim.isa` one by one, exactly as the RTL
does (docs/isa.md): the same dropped beats and error flags, the same performance counters,
and, through :class:`~sim.cycles.CoreTiming`, the cycle in which each command is accepted when
the command stream never stalls and the response stream is always ready. The tests compare
the RTL with it bit for bit and cycle for cycle.
"""

import numpy as np

from .arith import Arithmetic
from .cycles import CoreTiming
from .golden import bitmap_issues
from .isa import ErrorFlag, Opcode, Response, check_command, core_opcodes, lane_reaches

__all__ = ["CommandModel", "CoreModel"]


class CommandModel:
    """What the command-level models of both cores share: the ``config.tile_buffers``
    accumulator tiles (``tiles``; :attr:`tile` is the front one, which CLEAR, LOAD_ROW and
    the products act on and the next DRAIN sends, :meth:`_swap` after it), :meth:`run`, and
    :attr:`finish_cycle` from ``timing`` (a :class:`~dstc.sim.cycles.CommandTiming`)."""

    def __init__(self, config, timing):
        self.config = config
        self.arith = Arithmetic(config)
        self.tiles = [np.zeros((config.tile_m, config.tile_n), dtype=self.arith.accum_dtype)
                      for _ in range(config.tile_buffers)]
        self.front = 0
        self.timing = timing

    @property
    def tile(self):
        """The front accumulator tile (the only one with ``tile_buffers=1``), ``[tile_m,
        tile_n]`` in the accumulator dtype."""
        return self.tiles[self.front]

    @tile.setter
    def tile(self, values):
        self.tiles[self.front] = values

    def _swap(self):
        """After a DRAIN: with two tile buffers the other one comes to the front."""
        self.front = (self.front + 1) % len(self.tiles)

    def run(self, commands):
        """Run ``commands`` (``execute`` each); returns ``(accept_cycles, responses)``."""
        cycles, responses = [], []
        for command in commands:
            cycle, out = self.execute(command)
            cycles.append(cycle)
            responses.extend(out)
        return cycles, responses

    @property
    def finish_cycle(self):
        """Cycles until everything accepted so far has completed (``timing.finish_cycle``)."""
        return self.timing.finish_cycle


class CoreModel(CommandModel):
    """The core's architectural state, and its timing when nothing stalls."""

    def __init__(self, config):
        super().__init__(config, CoreTiming(config))
        self.header = None
        self.pending = np.zeros(config.k_chunk, dtype=bool)
        self.errors = 0
        self.counters = dict.fromkeys(("ohmma_issued", "useful_macs", "mac_slots"), 0)
        self._opcodes = core_opcodes(config)

    # -- execution ----------------------------------------------------------------------------

    def execute(self, command):
        """Run one command; returns ``(accept_cycle, responses)``. Raises
        :class:`~dstc.sim.isa.CommandError` for a command whose fields do not fit the
        configuration (:func:`~dstc.sim.isa.check_command`), before anything changes."""
        check_command(command, self.config)
        opcode = int(command.opcode)
        if opcode not in self._opcodes:
            # Dropped (a SPWMMA of an inline-bitmap core included); closes an open SpWMMA.
            self.errors |= ErrorFlag.UNKNOWN_OPCODE
            opcode = None
        if self.pending.any() and opcode not in (Opcode.KSTEP, Opcode.CLEAR_STATUS):
            self.errors |= ErrorFlag.SPWMMA_ABORTED
            self.pending[:] = False
        issues = 0
        responses = []
        if opcode == Opcode.CLEAR:
            self.tile[:] = 0
        elif opcode == Opcode.LOAD_ROW:
            self.tile[command.row] = self.arith.accumulators(command.values)
        elif opcode == Opcode.SPWMMA:
            self.header = command
            self.pending = command.nonempty.copy()
        elif opcode == Opcode.KSTEP:
            issues = self._kstep(command)
        elif opcode == Opcode.DENSE:
            config = self.config
            issues = self._issue(np.arange(config.tile_m), command.a_values,
                                 np.arange(config.tile_n), command.b_values,
                                 config.max_ohmma_per_kstep)
        elif opcode == Opcode.OHMMA:
            issues = self._ohmma(command)
        elif opcode == Opcode.DRAIN:
            responses = self._drain(command)
            self._swap()
        elif opcode == Opcode.CLEAR_STATUS:
            self.errors = 0
            self.counters = dict.fromkeys(self.counters, 0)
        return self.timing.accept(int(command.opcode), issues), responses

    @property
    def all_counters(self):
        """The four performance counters, as the core's outputs show them."""
        return {"cycles_busy": self.timing.busy, **self.counters}

    # -- commands -----------------------------------------------------------------------------

    def _kstep(self, command):
        if self.config.inline_kstep:
            return self._inline_kstep(command)
        if not self.pending.any():
            self.errors |= ErrorFlag.KSTEP_UNEXPECTED
            return 0
        if command.k != int(np.flatnonzero(self.pending)[0]):
            self.errors |= ErrorFlag.KSTEP_ORDER
            return 0
        a_map, b_map = self.header.a_bitmaps[command.k], self.header.b_bitmaps[command.k]
        if command.a_count != a_map.sum() or command.b_count != b_map.sum():
            self.errors |= ErrorFlag.COUNT_MISMATCH
            return 0
        self.pending[command.k] = False
        issues = int(bitmap_issues(a_map, b_map, self.config))
        return self._issue(np.flatnonzero(a_map), command.a_values[:command.a_count],
                           np.flatnonzero(b_map), command.b_values[:command.b_count], issues)

    def _inline_kstep(self, command):
        """A KSTEP that carries its own bitmaps: only the counts are checked (no header, no
        order); a k-step with an empty side issues nothing."""
        a_map = np.asarray(command.a_bitmap, bool)
        b_map = np.asarray(command.b_bitmap, bool)
        if command.a_count != a_map.sum() or command.b_count != b_map.sum():
            self.errors |= ErrorFlag.COUNT_MISMATCH
            return 0
        if not (a_map.any() and b_map.any()):
            return 0
        issues = int(bitmap_issues(a_map, b_map, self.config))
        return self._issue(np.flatnonzero(a_map), command.a_values[:command.a_count],
                           np.flatnonzero(b_map), command.b_values[:command.b_count], issues)

    def _ohmma(self, command):
        a_valid, b_valid = np.asarray(command.a_valid, bool), np.asarray(command.b_valid, bool)
        rows, cols = np.asarray(command.a_rows)[a_valid], np.asarray(command.b_cols)[b_valid]
        if len(set(rows.tolist())) != rows.size or len(set(cols.tolist())) != cols.size:
            self.errors |= ErrorFlag.OHMMA_CONFLICT
            return 0
        config = self.config
        if not (lane_reaches(config, "rows", np.flatnonzero(a_valid), rows)
                and lane_reaches(config, "cols", np.flatnonzero(b_valid), cols)):
            self.errors |= ErrorFlag.OHMMA_REACH
            return 0
        if rows.size == 0 or cols.size == 0:
            return 0
        return self._issue(rows, np.asarray(command.a_values)[a_valid],
                           cols, np.asarray(command.b_values)[b_valid], 1)

    def _issue(self, rows, a_values, cols, b_values, issues):
        """Accumulate the products of every valid lane pair (zero values included: a lane is
        valid because the bitmap or the command says so); account and return ``issues``."""
        arith = self.arith
        a_values = arith.operands(a_values)
        b_values = arith.operands(b_values)
        cells = np.ix_(rows, cols)
        self.tile[cells] = arith.add(self.tile[cells],
                                     arith.multiply(a_values[:, None], b_values[None, :]))
        counters = self.counters
        counters["ohmma_issued"] += issues
        counters["mac_slots"] += issues * self.config.macs
        counters["useful_macs"] += (int(arith.is_nonzero(a_values).sum())
                                    * int(arith.is_nonzero(b_values).sum()))
        return issues

    def _drain(self, command):
        arith = self.arith
        responses = []
        for row in range(self.config.tile_m):
            values = self.tile[row]
            if command.relu:
                values = arith.relu(values)
            if command.fp16 and arith.is_float:
                # Round to fp16 (nearest even; overflow to infinity) and carry the fp16 value
                # as the fp32 value it equals; NaN becomes the canonical NaN.
                with np.errstate(over="ignore"):
                    rounded = values.astype(np.float16).astype(np.float32)
                values = np.where(np.isnan(rounded), np.float32(np.nan), rounded)
            bitmap = arith.is_nonzero(values)
            count = int(bitmap.sum())
            if command.encode:
                packed = np.zeros_like(values)
                packed[:count] = values[bitmap]
                values = packed
            responses.append(Response(row=row, last=row == self.config.tile_m - 1,
                                      encoded=bool(command.encode), count=count,
                                      bitmap=bitmap, values=values.copy()))
        return responses
