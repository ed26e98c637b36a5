"""Command programs that exercise the core, and the check of a run against the golden model.

Every scenario is a list of :mod:`dstc.sim.isa` commands built from a seed; a run of one is
checked by :meth:`dstc.gen.design.Design.check` (``SPARSE_CORE.check``): every response bit
for bit, the error flags, the counters and, when nothing stalled, the cycle in which each
command was accepted and the total cycle count.
"""

import dataclasses
import hashlib
import itertools

import numpy as np
from vectors import FP16, special_bits

from dstc.sim import cycles as cycle_model
from dstc.sim.bitmap import encode_vectors
from dstc.sim.isa import (
    Clear,
    ClearStatus,
    Drain,
    ErrorFlag,
    Kstep,
    LoadRow,
    Ohmma,
    Opcode,
    RawCommand,
    Spwmma,
    dense_tile_commands,
    tile_commands,
)
from dstc.sim.program import gemm_program, random_operands, sparse_gemm_cycles

__all__ = ["DENSITIES", "random_values", "accumulator_values", "random_tile_program",
           "structured_program", "dense_program", "malformed_programs", "worked_example_program",
           "spwmma_starts", "tile_occupancies", "empty_side_ksteps", "SameGemm", "same_gemm"]

#: Densities of each side swept by the random tile tests.
DENSITIES = (0.0, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)

#: Nonzero fp16 specials the random values draw from (the order is part of the seeded stream).
_FP16_SPECIALS = special_bits(FP16, "inf", "-inf", "nan", "min_subnormal", "-min_subnormal",
                              "max_subnormal", "max", "-max", "min_normal"
                              ).astype(np.uint16).view(np.float16)


def random_values(rng, config, shape, specials=0.0):
    """Nonzero operand values (:func:`~dstc.sim.program.random_operands`), with a fraction
    ``specials`` of fp16 values replaced by inf, NaN, subnormals or the largest values."""
    values = random_operands(rng, config, shape, 1.0)
    if config.operand.is_float and specials:
        pick = rng.random(shape) < specials
        values = np.where(pick, rng.choice(_FP16_SPECIALS, size=shape), values)
    return values


def _sparse(rng, config, shape, density, specials=0.0):
    mask = rng.random(shape) < density
    values = random_values(rng, config, shape, specials)
    return np.where(mask, values, 0).astype(values.dtype)


def accumulator_values(rng, config, shape):
    """Random accumulator values (a C tile): standard normal fp32, or integers over the
    whole accumulator range."""
    if config.accum.is_float:
        return rng.standard_normal(shape).astype(np.float32)
    high = 1 << (config.accum.width - 1)
    return rng.integers(-high, high, size=shape)


def _start(rng, config, load_probability=0.5):
    """CLEAR, or a random C loaded row by row."""
    if rng.random() >= load_probability:
        return [Clear()]
    c = accumulator_values(rng, config, (config.tile_m, config.tile_n))
    return [LoadRow(row=r, values=c[r]) for r in range(config.tile_m)]


def _drain(rng):
    return Drain(relu=bool(rng.integers(2)), encode=bool(rng.integers(2)))


def _tile_pair(rng, config, density_a, density_b, specials=0.0):
    a = _sparse(rng, config, (config.tile_m, config.k_chunk), density_a, specials)
    b = _sparse(rng, config, (config.k_chunk, config.tile_n), density_b, specials)
    return encode_vectors(a.T), encode_vectors(b)


def random_tile_program(rng, config, tiles, group=4):
    """``tiles`` random SpWMMA tiles, every (density A, density B) pair of :data:`DENSITIES`
    in turn (shuffled); each ``group`` consecutive tiles accumulate into one output tile
    (started by CLEAR or a random C) that is then drained (random ReLU/encode)."""
    pairs = list(itertools.product(DENSITIES, DENSITIES))
    order = [pairs[i] for i in rng.permutation(len(pairs))]
    commands = []
    for start in range(0, tiles, group):
        commands += _start(rng, config)
        for index in range(start, min(start + group, tiles)):
            density_a, density_b = order[index % len(order)]
            commands += tile_commands(*_tile_pair(rng, config, density_a, density_b), config)
        commands.append(_drain(rng))
    return commands


def structured_program(rng, config):
    """Edge cases: empty tile, single nonzero, full rows and columns, all chunks full,
    fp16 specials, partial chunks, and the output path (ReLU, encode) on known rows."""
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    zeros_a = np.zeros((tm, kc), dtype=random_values(rng, config, 1).dtype)
    zeros_b = np.zeros((kc, tn), dtype=zeros_a.dtype)
    cases = []
    cases.append((zeros_a, zeros_b))                                   # empty tile
    a, b = zeros_a.copy(), zeros_b.copy()
    a[tm - 1, kc - 1] = random_values(rng, config, 1)[0]
    b[kc - 1, 0] = random_values(rng, config, 1)[0]
    cases.append((a, b))                                               # one product
    a, b = zeros_a.copy(), zeros_b.copy()
    a[3 % tm, :] = random_values(rng, config, kc)                      # a full A row
    b[:, 1 % tn] = random_values(rng, config, kc)                      # a full B column
    cases.append((a, b))
    a, b = zeros_a.copy(), zeros_b.copy()
    a[:, 0] = random_values(rng, config, tm)                           # full A column, k=0
    b[0, :] = random_values(rng, config, tn)                           # full B row, k=0
    a[:config.array_rows + 1, 1] = random_values(rng, config, config.array_rows + 1)
    b[1, -(config.array_cols + 1):] = random_values(rng, config, config.array_cols + 1)
    cases.append((a, b))                                               # partial chunks
    cases.append((random_values(rng, config, (tm, kc)),
                  random_values(rng, config, (kc, tn))))               # all chunks full
    cases.append((_sparse(rng, config, (tm, kc), 0.5, specials=0.2),
                  _sparse(rng, config, (kc, tn), 0.5, specials=0.2)))  # specials
    a, b = zeros_a.copy(), zeros_b.copy()
    a[:, ::2] = random_values(rng, config, (tm, (kc + 1) // 2))        # every other k empty
    b[1::2, :] = random_values(rng, config, (kc // 2, tn))             # on the other side
    cases.append((a, b))
    commands = []
    for a, b in cases:
        commands += _start(rng, config)
        commands += tile_commands(encode_vectors(a.T), encode_vectors(b), config)
        for relu, encode in ((False, False), (True, True)):
            commands.append(Drain(relu=relu, encode=encode))
    # Back-to-back SpWMMAs into one tile, then every drain mode on the same rows.
    commands += _start(rng, config, load_probability=1.0)
    for _ in range(3):
        commands += tile_commands(*_tile_pair(rng, config, 0.6, 0.6), config)
    commands += [Drain(relu=relu, encode=encode) for relu in (False, True)
                 for encode in (False, True)]
    return commands


def dense_program(rng, config, tiles=2):
    """Dense mode: ``tiles`` dense ``tile_m x tile_n x k_chunk`` products (zeros included)
    into one output tile, and a sparse OHMMA issued directly by software."""
    commands = _start(rng, config)
    for _ in range(tiles):
        a = _sparse(rng, config, (config.tile_m, config.k_chunk), 0.8)
        b = _sparse(rng, config, (config.k_chunk, config.tile_n), 0.8)
        commands += dense_tile_commands(a, b)
    rows = rng.permutation(config.tile_m)
    cols = rng.permutation(config.tile_n)
    if config.lane_placement == "reach":
        rows = _reachable(rows, config.array_rows, config.row_classes)
        cols = _reachable(cols, config.array_cols, config.col_classes)
    else:
        rows, cols = rows[:config.array_rows], cols[:config.array_cols]
    commands.append(Ohmma(a_values=random_values(rng, config, config.array_rows), a_rows=rows,
                          a_valid=rng.random(config.array_rows) < 0.7,
                          b_values=random_values(rng, config, config.array_cols), b_cols=cols,
                          b_valid=rng.random(config.array_cols) < 0.7))
    commands.append(Drain())
    return commands


def _reachable(permutation, lanes, classes):
    """Lane positions every lane reaches (``sim.isa.lane_reach``) from a permutation of the
    tile positions: the first ``lanes / classes`` positions of each class in it, ascending
    (the ``k``-th of class ``g`` to lane ``g * lanes / classes + k``)."""
    class_lanes = lanes // classes
    chosen = [np.sort([p for p in permutation if p % classes == g][:class_lanes])
              for g in range(classes)]
    return np.concatenate(chosen)


def malformed_programs(rng, config):
    """``{name: (commands, flags, dropped)}``: one program per kind of malformed command, the
    error flags it must leave, and the indices of the beats the core must drop without effect
    (for the aborts: none). Each starts from a known C and ends with a drain, so that the tile
    shows whether anything leaked (docs/isa.md lists what the core does with each)."""
    a_tile, b_tile = _tile_pair(rng, config, 0.7, 0.7)
    spwmma = tile_commands(a_tile, b_tile, config)
    inline = config.inline_kstep
    header, ksteps = (None, spwmma) if inline else (spwmma[0], spwmma[1:])
    first, last = ksteps[0], ksteps[-1]
    wrong_count = Kstep(k=first.k, a_count=first.a_count, b_count=first.b_count - 1,
                        a_values=first.a_values, b_values=first.b_values,
                        a_bitmap=first.a_bitmap, b_bitmap=first.b_bitmap)
    rows = np.arange(config.array_rows) % config.tile_m
    conflict = Ohmma(a_values=random_values(rng, config, config.array_rows),
                     a_rows=np.where(rows == 1, 0, rows), a_valid=np.ones(config.array_rows, bool),
                     b_values=random_values(rng, config, config.array_cols),
                     b_cols=np.arange(config.array_cols), b_valid=np.ones(config.array_cols, bool))
    begin = [ClearStatus(), *_start(rng, config, load_probability=1.0)]
    extra = {}
    if config.lane_placement == "reach":
        # Distinct rows and columns, but the last lane row names row 0, out of its reach.
        out_of_reach = Ohmma(
            a_values=random_values(rng, config, config.array_rows),
            a_rows=np.roll(np.arange(config.array_rows), 1),
            a_valid=np.ones(config.array_rows, bool),
            b_values=random_values(rng, config, config.array_cols),
            b_cols=np.arange(config.array_cols), b_valid=np.ones(config.array_cols, bool))
        extra["ohmma_reach"] = ([out_of_reach, *spwmma], ErrorFlag.OHMMA_REACH, (0,))
    if inline:
        # No header, so no KSTEP_UNEXPECTED, KSTEP_ORDER or SPWMMA_ABORTED; a SPWMMA beat is
        # an unknown opcode, and a KSTEP's counts are checked against its own bitmaps.
        programs = {
            "unknown_opcode": ([RawCommand(0x0), RawCommand(0xF), *spwmma],
                               ErrorFlag.UNKNOWN_OPCODE, (0, 1)),
            "spwmma_header": ([RawCommand(Opcode.SPWMMA), *spwmma], ErrorFlag.UNKNOWN_OPCODE,
                              (0,)),
            "count_mismatch": ([wrong_count, *ksteps], ErrorFlag.COUNT_MISMATCH, (0,)),
            "ohmma_conflict": ([conflict, *spwmma], ErrorFlag.OHMMA_CONFLICT, (0,)),
            **extra,
        }
    else:
        programs = {   # name: (commands, flags, positions of the dropped beats in commands)
            "unknown_opcode": ([RawCommand(0x0), RawCommand(0xF), *spwmma],
                               ErrorFlag.UNKNOWN_OPCODE, (0, 1)),
            "kstep_unexpected": ([first, *spwmma], ErrorFlag.KSTEP_UNEXPECTED, (0,)),
            "kstep_order": ([header, last, *ksteps], ErrorFlag.KSTEP_ORDER, (1,)),
            "count_mismatch": ([header, wrong_count, *ksteps], ErrorFlag.COUNT_MISMATCH, (1,)),
            "ohmma_conflict": ([conflict, *spwmma], ErrorFlag.OHMMA_CONFLICT, (0,)),
            "drain_mid_spwmma": ([header, *ksteps[:-1]], ErrorFlag.SPWMMA_ABORTED, ()),
            "clear_mid_spwmma": ([header, first, Clear(), *spwmma], ErrorFlag.SPWMMA_ABORTED,
                                 ()),
            **extra,
        }
    return {name: ([*begin, *commands, Drain()], flags,
                   tuple(len(begin) + i for i in dropped))
            for name, (commands, flags, dropped) in programs.items()}


def spwmma_starts(config, commands):
    """Indices of the commands that start a SpWMMA: its SPWMMA header or, with inline
    bitmaps, the first KSTEP of a run of KSTEPs in increasing ``k`` (a KSTEP that follows
    another command, or whose ``k`` is not above the previous KSTEP's). An inline SpWMMA that
    sends no KSTEP leaves no trace; two inline SpWMMAs in a row whose k-steps happen to
    increase count as one."""
    if not config.inline_kstep:
        return [i for i, command in enumerate(commands) if isinstance(command, Spwmma)]
    return [i for i, command in enumerate(commands)
            if isinstance(command, Kstep) and not (
                i and isinstance(commands[i - 1], Kstep) and commands[i - 1].k < command.k)]


def _spwmma_bitmaps(config, commands, start, end):
    """The A and B bitmaps (``k_chunk x tile_m``, ``k_chunk x tile_n``) of the SpWMMA in
    ``commands[start:end]``: its header's, or those its inline KSTEPs carry (others empty)."""
    if not config.inline_kstep:
        return commands[start].a_bitmaps, commands[start].b_bitmaps
    a_maps = np.zeros((config.k_chunk, config.tile_m), bool)
    b_maps = np.zeros((config.k_chunk, config.tile_n), bool)
    for command in commands[start:end]:
        a_maps[command.k], b_maps[command.k] = command.a_bitmap, command.b_bitmap
    return a_maps, b_maps


def tile_occupancies(config, commands, accept_cycles):
    """``(measured, predicted)`` cycles of every SpWMMA directly followed by another one
    (:func:`spwmma_starts`): the distance between their first beats, and
    :func:`sim.cycles.spwmma_cycles` (its issue cycles, plus the header's with headers)."""
    starts = spwmma_starts(config, commands)
    pairs = []
    for this, following in itertools.pairwise(starts):
        between = commands[this + 1:following]
        if all(isinstance(command, Kstep) for command in between):
            measured = accept_cycles[following] - accept_cycles[this]
            a_maps, b_maps = _spwmma_bitmaps(config, commands, this, following)
            predicted = int(cycle_model.spwmma_cycles(a_maps, b_maps, config))
            pairs.append((measured, predicted))
    return pairs


def empty_side_ksteps(rng, config):
    """Inline-bitmap KSTEPs with an empty side (right counts: accepted, issue nothing), each
    between two issuing k-steps, into a known C, then a drain: the tile and the counters
    show that nothing issued. Needs ``kstep_bitmaps="inline"``."""
    tm, tn = config.tile_m, config.tile_n
    a_values, b_values = random_values(rng, config, tm), random_values(rng, config, tn)
    full_a, full_b = np.ones(tm, bool), np.ones(tn, bool)
    none_a, none_b = np.zeros(tm, bool), np.zeros(tn, bool)
    issuing = Kstep(k=0, a_count=tm, b_count=tn, a_values=a_values, b_values=b_values,
                    a_bitmap=full_a, b_bitmap=full_b)
    kc = config.k_chunk
    empties = [Kstep(k=1 % kc, a_count=0, b_count=tn, a_values=a_values, b_values=b_values,
                     a_bitmap=none_a, b_bitmap=full_b),
               Kstep(k=2 % kc, a_count=tm, b_count=0, a_values=a_values, b_values=b_values,
                     a_bitmap=full_a, b_bitmap=none_b),
               Kstep(k=0, a_count=0, b_count=0, a_values=a_values, b_values=b_values,
                     a_bitmap=none_a, b_bitmap=none_b)]
    commands = [*_start(rng, config, load_probability=1.0), issuing]
    for empty in empties:
        commands += [empty, issuing]
    return [*commands, Drain()]


def worked_example_program(config):
    """The worked example of docs/isa.md (small preset): one SpWMMA with two empty k-steps.

    Returns ``(commands, accept_cycles, finish_cycle, expected_tile)``.
    """
    a = np.zeros((8, 4), np.int64)
    b = np.zeros((4, 8), np.int64)
    a[[0, 3, 5], 0] = [1, 2, 3]
    a[1, 2] = 4
    a[[2, 4, 6, 7], 3] = [5, 6, 7, 8]
    b[0, [1, 2]] = [1, -1]
    b[1, :] = 2
    b[3, :5] = [1, 2, 3, 4, 5]
    commands = [Clear(), *tile_commands(encode_vectors(a.T), encode_vectors(b), config), Drain()]
    return commands, [0, 1, 2, 4, 11], 21, a @ b


@dataclasses.dataclass(frozen=True, eq=False)
class SameGemm:
    """A GEMM program and what the header ISA makes of the same GEMM: ``headers`` SPWMMA
    beats and ``header_cycles`` cycles (:func:`~dstc.sim.program.sparse_gemm_cycles`)."""

    program: object           #: the :class:`~dstc.sim.program.GemmProgram` of the config
    headers: int
    header_cycles: int

    @property
    def commands(self):
        return self.program.commands

    def digest(self, responses):
        """A short hex digest of the result assembled from the drained ``responses``."""
        result = np.ascontiguousarray(self.program.assemble(responses))
        return hashlib.sha256(result.tobytes()).hexdigest()[:16]


def same_gemm(rng, config, density=0.6):
    """A ``2 tile_m x (2 tile_n - 1) x (3 k_chunk - 1)`` GEMM with operands of ``density``
    from ``rng`` (which draws the same operands for every configuration of one shape and
    operand type), as a :class:`SameGemm`. Raises ``ValueError`` if a SpWMMA of the header
    program sends no KSTEP (its header could hide in a drain's wait, so the saving of inline
    bitmaps would not be exactly one cycle per header; improbable at this density)."""
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    a = random_operands(rng, config, (2 * tm, 3 * kc - 1), density)
    b = random_operands(rng, config, (3 * kc - 1, 2 * tn - 1), density)
    header = gemm_program(a, b, config.replace(kstep_bitmaps="header"))
    starts = [i for i, command in enumerate(header.commands) if isinstance(command, Spwmma)]
    if any(not isinstance(header.commands[i + 1], Kstep) for i in starts):
        raise ValueError("same_gemm: a SpWMMA without KSTEP; draw another GEMM")
    return SameGemm(program=gemm_program(a, b, config), headers=len(starts),
                    header_cycles=sparse_gemm_cycles(header))
