"""The paper-like banked accumulation buffer with stall-on-conflict (issue 10, item 4): a
cycle model only (numpy), the reference that ACCUMULATOR.md's design R1 describes.

The tile is split into ``row_banks x col_banks`` single-ported banks, cell ``(r, c)`` in bank
``(r mod row_banks, c mod col_banks)``; each bank does one read-modify-write per cycle, any
multiplier lane reaches any bank (a full crossbar to the banks), and OHMMA go in order: the
core forms a k-step's chunks as today (the A column's nonzeros, in row order, in chunks of
``array_rows``; the B row's in chunks of ``array_cols``), and an OHMMA whose products fall
several into one bank holds the pipeline until the most loaded bank has written them all.

**Cost of one OHMMA.** Row chunk ``R`` and column chunk ``C`` write the cells ``R x C``; bank
``(a, b)`` receives ``|R_a| * |C_b|`` of them (``R_a``: the rows of ``R`` in row bank ``a``).
The OHMMA therefore takes ``max_(a,b) |R_a| |C_b| = max_a |R_a| * max_b |C_b|`` cycles (both
factors are non-negative, so the maximum of the products is the product of the maxima).

**Cost of a k-step** (chunks ``R_1..R_p`` of the A column, ``C_1..C_q`` of the B row, every
pair issued in order, none overlapping the next)::

    sum_i sum_j max_a |R_i,a| * max_b |C_j,b| = (sum_i max_a |R_i,a|) * (sum_j max_b |C_j,b|)

a product of an A factor and a B factor that depend on the positions of the nonzeros, not
only on their per-class counts: :class:`BankedStallCost` is a separable
:class:`~dstc.sim.gemm_cycles.KstepCost` on the k-step bitmaps (``operands = "bitmaps"``), so
:func:`~dstc.sim.gemm_cycles.gemm_cycles` times whole GEMMs with it as fast as with the chunk
cost. :func:`simulate_kstep` arbitrates the banks access by access (the brute-force reference
of ``tb/test_banked.py``). With one bank per row and column of the tile
(``row_banks = tile_m``, ``col_banks = tile_n``) every bank load is at most 1 and the cost is
the chunk model's.
"""

import numpy as np

from .gemm_cycles import KstepCost

__all__ = ["BankedStallCost", "chunk_bank_factor", "simulate_kstep"]


def _check_banks(name, banks, side, side_name):
    if isinstance(banks, bool) or not isinstance(banks, (int, np.integer)) or banks < 1:
        raise ValueError(f"{name}={banks!r}: must be a positive integer")
    if side % banks:
        raise ValueError(f"{name}={banks}: must divide {side_name} ({side}) so that every bank "
                         f"holds as many rows (columns) of the tile")
    return int(banks)


def chunk_bank_factor(bits, lanes, banks):
    """One side's factor of the k-step cost: ``sum`` over the chunks of ``lanes`` consecutive
    nonzeros of ``bits`` of the largest number of them in one bank (position ``p`` in bank
    ``p mod banks``).

    ``bits``: bool ``[..., T]`` (``T`` positions, a multiple of ``banks``); returns int64
    ``[...]`` (0 for an empty column). Raises ``ValueError`` when ``banks`` does not divide
    ``T`` or ``lanes`` is not a positive integer."""
    bits = np.asarray(bits, dtype=bool)
    positions = bits.shape[-1]
    banks = _check_banks("banks", banks, positions, "the positions")
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise ValueError(f"lanes={lanes!r}: must be a positive integer")
    # Chunk of each nonzero: its rank among the nonzeros (0-based) // lanes.
    rank = np.cumsum(bits, axis=-1, dtype=np.int32) - 1
    chunk = np.where(bits, rank // lanes, -1)
    lead = bits.shape[:-1]
    total = np.zeros(lead, dtype=np.int64)
    for index in range(-(-positions // lanes)):
        in_chunk = (chunk == index).reshape(*lead, positions // banks, banks)
        total += in_chunk.sum(axis=-2, dtype=np.int64).max(axis=-1)
    return total


class BankedStallCost(KstepCost):
    """k-step cost of the banked buffer with stall-on-conflict (module docstring):
    ``chunk_bank_factor(A column, array_rows, row_banks) * chunk_bank_factor(B row,
    array_cols, col_banks)`` OHMMA cycles. ACCUMULATOR.md's R1 is ``row_banks=8,
    col_banks=16`` on the default preset. Raises ``ValueError`` when a bank count is not a
    positive integer dividing the tile side."""

    separable = True
    operands = "bitmaps"

    def __init__(self, config, row_banks, col_banks):
        self.row_banks = _check_banks("row_banks", row_banks, config.tile_m, "tile_m")
        self.col_banks = _check_banks("col_banks", col_banks, config.tile_n, "tile_n")
        self.rows, self.cols = config.array_rows, config.array_cols

    def a_factor(self, a_counts):
        return chunk_bank_factor(a_counts, self.rows, self.row_banks)

    def b_factor(self, b_counts):
        return chunk_bank_factor(b_counts, self.cols, self.col_banks)

    def issues(self, a_counts, b_counts):
        return self.a_factor(a_counts) * self.b_factor(b_counts)

    def __repr__(self):
        return f"BankedStallCost(row_banks={self.row_banks}, col_banks={self.col_banks})"


def simulate_kstep(a_column, b_row, config, row_banks, col_banks):
    """Cycles of one k-step on the banked buffer, by arbitrating every access (slow, plain
    Python: the reference :class:`BankedStallCost` is tested against).

    ``a_column``: bool ``[tile_m]``, ``b_row``: bool ``[tile_n]``. The chunks are issued in
    order (A chunk outer, B chunk inner, as the core does); an OHMMA's products queue at their
    banks; each cycle, every bank with a queued product writes one; the next OHMMA enters only
    when the queues are empty (in-order, stall-on-conflict). Returns the cycles (0 when a side
    is empty)."""
    rows = [r for r, bit in enumerate(a_column) if bit]
    cols = [c for c, bit in enumerate(b_row) if bit]
    row_chunks = [rows[i:i + config.array_rows] for i in range(0, len(rows), config.array_rows)]
    col_chunks = [cols[j:j + config.array_cols] for j in range(0, len(cols), config.array_cols)]
    cycles = 0
    for row_chunk in row_chunks:
        for col_chunk in col_chunks:
            queues = {}
            for r in row_chunk:
                for c in col_chunk:
                    queues.setdefault((r % row_banks, c % col_banks), []).append((r, c))
            written = set()
            while any(queues.values()):
                for queue in queues.values():
                    if queue:
                        written.add(queue.pop(0))
                cycles += 1
            assert len(written) == len(row_chunk) * len(col_chunk)
    return cycles
