"""Whole-matrix programs: a SpGEMM (or its dense-mode equivalent) as core commands.

For each output tile (i, j) the program starts the tile (CLEAR, or LOAD_ROW of C), runs one
SpWMMA per k tile whose A and B tiles are both non-empty (the coarse bitmaps skip the others
entirely) and drains the tile. An output tile with no non-empty pair never reaches the core:
its result is C (or zero) and :meth:`GemmProgram.assemble` fills it in directly.
"""

import dataclasses
import numbers

import numpy as np

from .arith import Arithmetic, OperandError
from .bitmap import encode_operand
from .cycles import CoreTiming
from .gemm_cycles import _check_shape
from .golden import bitmap_issues
from .isa import Clear, Drain, LoadRow, Opcode, tile_commands

__all__ = ["GemmProgram", "gemm_program", "dense_gemm_cycles", "sparse_gemm_cycles",
           "random_operands"]


@dataclasses.dataclass(eq=False)
class GemmProgram:
    """Commands of a GEMM and how to put the drained rows back together."""

    config: object
    shape: tuple              #: (M, N, K)
    commands: list
    drained_tiles: list       #: output tile (i, j) of each DRAIN, in order
    c: np.ndarray | None
    relu: bool
    tiles_issued: int         #: SpWMMA sent (tile pairs with both coarse bits set; with
                              #: inline bitmaps, those whose k-steps never meet send nothing)
    tiles_skipped: int        #: tile pairs skipped by the coarse bitmaps

    def assemble(self, responses):
        """The ``M x N`` result (accumulator values) from the drained rows: ``tile_m``
        :class:`~sim.isa.Response` per DRAIN, in order. Raises ``ValueError`` for another
        number of rows, a row index outside the tile or a row of another width."""
        config = self.config
        arith = Arithmetic(config)
        m, n, _ = self.shape
        tm, tn = config.tile_m, config.tile_n
        grid = (-(-m // tm), -(-n // tn))
        out = np.zeros((grid[0] * tm, grid[1] * tn), dtype=arith.accum_dtype)
        if self.c is not None:
            out[:m, :n] = arith.accumulators(self.c)
            if self.relu:
                out = arith.relu(out)
        if len(responses) != len(self.drained_tiles) * tm:
            raise ValueError(f"{len(responses)} rows drained, expected "
                             f"{len(self.drained_tiles) * tm}")
        for index, (i, j) in enumerate(self.drained_tiles):
            for row in responses[index * tm:(index + 1) * tm]:
                values = np.asarray(row.values)
                if not 0 <= row.row < tm or values.shape != (tn,):
                    raise ValueError(f"response row {row.row} with {values.shape} values: a "
                                     f"drained row has an index in [0, {tm}) and {tn} values")
                if row.encoded:
                    values = np.zeros_like(values)
                    values[row.bitmap] = row.values[:row.count]
                out[i * tm + row.row, j * tn:(j + 1) * tn] = values
        return out[:m, :n]


def _start(config, c, i, j):
    if c is None:
        return [Clear()]
    tm, tn = config.tile_m, config.tile_n
    block = np.zeros((tm, tn), dtype=c.dtype)
    part = c[i * tm:(i + 1) * tm, j * tn:(j + 1) * tn]
    block[:part.shape[0], :part.shape[1]] = part
    return [LoadRow(row=r, values=block[r]) for r in range(tm)]


def gemm_program(a, b, config, c=None, relu=False, encode=False):
    """The program of ``D = C + A @ B`` (then ReLU if ``relu``) on the core.

    ``a`` (``M x K``) and ``b`` (``K x N``) are dense operands (converted by
    :meth:`~sim.arith.Arithmetic.operands`) or :class:`~sim.bitmap.EncodedOperand` (checked
    against ``config`` by :func:`~sim.bitmap.check_operand`); ``c`` is optional ``M x N``
    accumulator values. Drains use ``encode`` to return rows bitmap-encoded. Returns a
    :class:`GemmProgram`. Raises :class:`~sim.bitmap.OperandError` for operands or C that do
    not fit the configuration and ``ValueError`` when the inner dimensions differ.
    """
    arith = Arithmetic(config)
    enc_a = encode_operand(a, "A", config, "a")
    enc_b = encode_operand(b, "B", config, "b")
    (m, k), (k_b, n) = enc_a.shape, enc_b.shape
    if k != k_b:
        raise ValueError(f"inner dimensions differ: A is {m}x{k}, B is {k_b}x{n}")
    if c is not None:
        c = arith.accumulators(c, "c")
        if c.shape != (m, n):
            raise OperandError(f"c: shape {c.shape}, C must be {m}x{n} (M x N)")
    grid_m, grid_k = enc_a.grid
    grid_n = enc_b.grid[1]
    commands, drained, issued, skipped = [], [], 0, 0
    for i in range(grid_m):
        for j in range(grid_n):
            pairs = [kt for kt in range(grid_k)
                     if enc_a.coarse[i, kt] and enc_b.coarse[kt, j]]
            skipped += grid_k - len(pairs)
            if not pairs:
                continue
            commands += _start(config, c, i, j)
            for kt in pairs:
                commands += tile_commands(enc_a.tiles[(i, kt)], enc_b.tiles[(kt, j)], config)
            issued += len(pairs)
            commands.append(Drain(relu=relu, encode=encode))
            drained.append((i, j))
    return GemmProgram(config=config, shape=(m, n, k), commands=commands,
                       drained_tiles=drained, c=c, relu=relu, tiles_issued=issued,
                       tiles_skipped=skipped)


def sparse_gemm_cycles(program):
    """Cycles of a :class:`GemmProgram` on the core, from its bitmaps only (no values).

    A program with no command (every tile pair skipped) takes 0 cycles: the core is idle from
    the first cycle, which is what the RTL measures."""
    if not program.commands:
        return 0
    config = program.config
    timing = CoreTiming(config)
    header = None
    for command in program.commands:
        issues = 0
        if command.opcode == Opcode.SPWMMA:
            header = command
        elif command.opcode == Opcode.KSTEP and command.inline:
            issues = int(bitmap_issues(command.a_bitmap, command.b_bitmap, config))
        elif command.opcode == Opcode.KSTEP:
            issues = int(bitmap_issues(header.a_bitmaps[command.k], header.b_bitmaps[command.k],
                                       config))
        timing.accept(command.opcode, issues)
    return timing.finish_cycle


def dense_gemm_cycles(shape, config, with_c=False):
    """Cycles of the same GEMM in dense mode (every tile, every k, full throughput): the
    dense baseline that speedups are measured against. ``shape`` is ``(M, N, K)``; raises
    ``ValueError`` for sizes that are not positive integers."""
    m, n, k = _check_shape(shape)
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    timing = CoreTiming(config)
    per_tile_start = [Opcode.LOAD_ROW] * tm if with_c else [Opcode.CLEAR]
    k_steps = -(-k // kc) * kc
    for _ in range(-(-m // tm) * -(-n // tn)):
        for opcode in per_tile_start:
            timing.accept(opcode)
        for _ in range(k_steps):
            timing.accept(Opcode.DENSE, config.max_ohmma_per_kstep)
        timing.accept(Opcode.DRAIN)
    return timing.finish_cycle


def random_operands(rng, config, shape, density):
    """A random operand matrix of ``shape`` with nonzeros at ``density``: fp16 values from a
    normal distribution (never 0), or integers over the operand's whole range. Raises
    ``ValueError`` for a density that is not a number in [0, 1]."""
    if isinstance(density, bool) or not isinstance(density, numbers.Real) or not (
            0 <= density <= 1):
        raise ValueError(f"density={density!r}: must be a number in [0, 1]")
    mask = rng.random(shape) < density
    if config.operand.is_float:
        values = rng.standard_normal(shape).astype(np.float16)
        values[values == 0] = np.float16(0.25)
    else:
        high = 1 << (config.operand.width - 1)
        values = rng.integers(-high, high, size=shape)
        values[values == 0] = 1
    return np.where(mask, values, 0).astype(values.dtype)
