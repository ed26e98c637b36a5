"""Cycle model of the DSTC core (bitmaps only: fast enough for large sweeps).

A k-step with ``a`` nonzeros in its A column and ``b`` in its B row issues
``ceil(a / array_rows) * ceil(b / array_cols)`` OHMMA, one per cycle; a k-step with an empty
side issues none and costs nothing. A SpWMMA additionally spends
:func:`spwmma_fixed_cycles` on its bitmap header (:data:`SPWMMA_FIXED_CYCLES`, 1, with
``kstep_bitmaps="header"``; 0 with ``"inline"``, whose KSTEPs carry their own bitmaps), so in
a back-to-back command stream a tile occupies the core for ``sum(issues) +
spwmma_fixed_cycles(config)`` cycles. Products reach the
accumulator :func:`~dstc.sim.isa.pipeline_latency` cycles after their issue cycle; this
latency is paid once before a drain, not per tile.

:class:`CoreTiming` applies the core's acceptance rules to a whole command sequence; the RTL
tests assert, command by command, that the core accepts every command in the cycle it
predicts.
"""

from .golden import bitmap_issues
from .isa import TILE_OPCODES, Opcode, issue_opcodes, pipeline_latency

__all__ = ["SPWMMA_FIXED_CYCLES", "CommandTiming", "spwmma_fixed_cycles", "CoreTiming",
           "tile_issue_cycles", "spwmma_cycles", "dense_tile_cycles", "gemm_issue_cycles"]

#: Cycles a SpWMMA spends besides issuing: the cycle its bitmap header is accepted.
SPWMMA_FIXED_CYCLES = 1


def spwmma_fixed_cycles(config):
    """Cycles a SpWMMA of ``config``'s core spends besides issuing: :data:`SPWMMA_FIXED_CYCLES`
    (its header beat) with ``kstep_bitmaps="header"``, 0 with ``"inline"`` (no header)."""
    return 0 if config.inline_kstep else SPWMMA_FIXED_CYCLES


class CommandTiming:
    """What the timings of both cores share (:class:`CoreTiming`,
    :class:`~dstc.sim.dense_model.DenseTiming`): the cycle of the last accepted command
    (``accepted``), of the last issue (``issue_last``) and of the last drained row's load
    (``drain_end``); the drain rule; the ``cycles_busy`` count (``busy``); and
    :attr:`finish_cycle`. ``latency`` is the cycles from an issue to the tile update it makes.

    The drain rule: a DRAIN accepted in cycle ``t`` loads row ``r`` into the response
    register in cycle ``t + 1 + r``, so ``drain_end = t + tile_m``; with one tile buffer
    nothing is accepted while a drain runs, with two (``config.tile_buffers``) only the next
    DRAIN waits for it (no earlier than ``drain_end + 1``).
    """

    def __init__(self, config, latency):
        self.config = config
        self.latency = latency
        self.accepted = -1
        self.issue_last = -10
        self.drain_end = -1
        self.busy = 0
        self._busy_until = -1

    def _earliest(self, opcode):
        """The first cycle ``opcode`` may be accepted in, by command order and the drain
        rule alone."""
        if self.config.tile_buffers == 1 or opcode == Opcode.DRAIN:
            return max(self.accepted + 1, self.drain_end + 1)
        return self.accepted + 1

    def _record(self, opcode, cycle, first_busy, last_busy):
        """Account ``opcode`` accepted in ``cycle``, busy from ``first_busy`` through
        ``last_busy`` (a DRAIN: through its last row's load); returns ``cycle``."""
        self.accepted = cycle
        if opcode == Opcode.DRAIN:
            self.drain_end = cycle + self.config.tile_m
            last_busy = self.drain_end
        if opcode == Opcode.CLEAR_STATUS:
            self.busy, self._busy_until = 0, cycle
        else:
            start = max(first_busy, self._busy_until + 1)     # accept cycles never decrease
            if last_busy >= start:
                self.busy += last_busy - start + 1
            self._busy_until = max(self._busy_until, last_busy)
        return cycle

    @property
    def finish_cycle(self):
        """Cycles until everything accepted so far has completed: the last accumulator update
        and the hand-over of the last drained row (taken the cycle after it is loaded); 0 when
        no command was accepted (the core is idle from the first cycle)."""
        if self.accepted < 0:
            return 0
        return max(self.accepted + 1, self.issue_last + 1 + self.latency,
                   self.drain_end + 2)


class CoreTiming(CommandTiming):
    """When the core accepts each command if the command stream never stalls and the
    response stream is always ready (docs/cycle-model.md).

    Rules (one command per cycle at most; ``issue_last`` is the cycle of the last OHMMA issued
    so far, ``drain_end`` the cycle in which the last drain loaded its last row):

    * :func:`~dstc.sim.isa.issue_opcodes` wait for the sequencer: no earlier than
      ``issue_last``; one accepted in cycle ``t`` issues its ``n`` OHMMA in cycles ``t + 1``
      to ``t + n``;
    * :data:`~dstc.sim.isa.TILE_OPCODES` wait for the pipeline to empty: no earlier than
      ``issue_last + 1 + latency`` (``latency``: :func:`~dstc.sim.isa.pipeline_latency`);
    * the drain rule of :class:`CommandTiming` (one or two tile buffers).

    It also counts the busy cycles exactly as the ``cycles_busy`` counter does.
    """

    def __init__(self, config):
        super().__init__(config, pipeline_latency(config))
        self._issue_opcodes = issue_opcodes(config)

    def accept(self, opcode, issues=0):
        """Account one command that issues ``issues`` OHMMA; returns its accept cycle."""
        cycle = self._earliest(opcode)
        if opcode in self._issue_opcodes:
            cycle = max(cycle, self.issue_last)
        elif opcode in TILE_OPCODES:
            cycle = max(cycle, self.issue_last + 1 + self.latency)
        last_busy = cycle
        if issues:
            self.issue_last = cycle + issues
            last_busy = self.issue_last + self.latency
        return self._record(opcode, cycle, cycle, last_busy)


def tile_issue_cycles(a_bitmaps, b_bitmaps, config):
    """OHMMA issued for one tile pair: ``sum_k ceil(nnzA_k/rows) * ceil(nnzB_k/cols)``
    without lane classes, the sum of :func:`~sim.golden.bitmap_issues` in general.

    ``a_bitmaps`` and ``b_bitmaps`` are bool arrays ``[..., k_chunk, width]``; leading axes
    broadcast, so a whole batch of tiles is computed at once.
    """
    return bitmap_issues(a_bitmaps, b_bitmaps, config).sum(axis=-1)


def spwmma_cycles(a_bitmaps, b_bitmaps, config):
    """Cycles one SpWMMA occupies the core: issue cycles plus :func:`spwmma_fixed_cycles`."""
    return tile_issue_cycles(a_bitmaps, b_bitmaps, config) + spwmma_fixed_cycles(config)


def dense_tile_cycles(config):
    """Cycles of a dense ``tile_m x tile_n x k_chunk`` tile in dense mode (no header)."""
    return config.dense_tile_issues


def gemm_issue_cycles(enc_a, enc_b, config):
    """Cycles all SpWMMA of a SpGEMM occupy the core (skipped tile pairs cost nothing).

    ``enc_a`` and ``enc_b`` are :class:`~sim.bitmap.EncodedOperand`; returns
    ``(cycles, tile_pairs_issued)``.
    """
    cycles, issued = 0, 0
    grid_m, grid_k = enc_a.grid
    for i in range(grid_m):
        for j in range(enc_b.grid[1]):
            for kt in range(grid_k):
                if enc_a.coarse[i, kt] and enc_b.coarse[kt, j]:
                    cycles += int(spwmma_cycles(enc_a.tiles[(i, kt)].bitmaps,
                                                enc_b.tiles[(kt, j)].bitmaps, config))
                    issued += 1
    return cycles, issued
