"""Cycle model of the DSTC core (bitmaps only: fast enough for large sweeps).

A k-step with ``a`` nonzeros in its A column and ``b`` in its B row issues
``ceil(a / array_rows) * ceil(b / array_cols)`` OHMMA, one per cycle; a k-step with an empty
side issues none and costs nothing. A SpWMMA additionally spends
:data:`SPWMMA_FIXED_CYCLES` on its bitmap header, so in a back-to-back command stream a tile
occupies the core for ``sum(issues) + SPWMMA_FIXED_CYCLES`` cycles. Products reach the
accumulator :data:`PIPELINE_LATENCY` cycles after their issue cycle; this latency is paid once
before a drain, not per tile. The RTL tests assert these figures cycle for cycle.
"""

import numpy as np

from .golden import kstep_issues

__all__ = ["SPWMMA_FIXED_CYCLES", "PIPELINE_LATENCY", "tile_issue_cycles", "spwmma_cycles",
           "dense_tile_cycles", "gemm_issue_cycles"]

#: Cycles a SpWMMA spends besides issuing: the cycle its bitmap header is accepted.
SPWMMA_FIXED_CYCLES = 1

#: Cycles from an OHMMA's issue cycle to the accumulator update (multiply, then accumulate).
PIPELINE_LATENCY = 2


def _counts(bitmaps):
    return np.asarray(bitmaps, dtype=bool).sum(axis=-1)


def tile_issue_cycles(a_bitmaps, b_bitmaps, config):
    """OHMMA issued for one tile pair: ``sum_k ceil(nnzA_k/rows) * ceil(nnzB_k/cols)``.

    ``a_bitmaps`` and ``b_bitmaps`` are bool arrays ``[..., k_chunk, width]``; leading axes
    broadcast, so a whole batch of tiles is computed at once.
    """
    return kstep_issues(_counts(a_bitmaps), _counts(b_bitmaps), config).sum(axis=-1)


def spwmma_cycles(a_bitmaps, b_bitmaps, config):
    """Cycles one SpWMMA occupies the core: issue cycles plus :data:`SPWMMA_FIXED_CYCLES`."""
    return tile_issue_cycles(a_bitmaps, b_bitmaps, config) + SPWMMA_FIXED_CYCLES


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
