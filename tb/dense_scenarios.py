"""Command programs for the dense baseline; a run of one is checked against
:class:`~dstc.sim.dense_model.DenseCoreModel` by ``dstc.gen.design.DENSE_CORE.check``, bit
for bit and cycle for cycle."""

import numpy as np
from core_scenarios import DENSITIES, accumulator_values, random_values
from vectors import FP16, FP32, special_bits

from dstc.sim.isa import (
    DOT_LENGTH,
    Clear,
    ClearStatus,
    Drain,
    ErrorFlag,
    LoadRow,
    Opcode,
    RawCommand,
    dense_group_commands,
)

__all__ = ["dense_tile_operands", "random_dense_program", "special_dense_program",
           "unsupported_program"]


def dense_tile_operands(rng, config, density_a, density_b, specials=0.0):
    """A ``tile_m x k_chunk`` A block and a ``k_chunk x tile_n`` B block with nonzeros at
    the given densities (``specials``: fraction of fp16 inf/NaN/subnormal/largest values)."""
    def operand(shape, density):
        values = random_values(rng, config, shape, specials)
        return np.where(rng.random(shape) < density, values, 0).astype(values.dtype)
    return (operand((config.tile_m, config.k_chunk), density_a),
            operand((config.k_chunk, config.tile_n), density_b))


def _start(rng, config):
    """CLEAR, or a random C loaded row by row."""
    if rng.random() < 0.5:
        return [Clear()]
    c = accumulator_values(rng, config, (config.tile_m, config.tile_n))
    return [LoadRow(row=r, values=c[r]) for r in range(config.tile_m)]


def random_dense_program(rng, config, tiles, group=2, specials=0.0):
    """``tiles`` dense tiles at densities drawn from :data:`~core_scenarios.DENSITIES`; each
    ``group`` consecutive tiles accumulate into one output tile (CLEAR or a random C) that is
    then drained."""
    commands = []
    for start in range(0, tiles, group):
        commands += _start(rng, config)
        for _ in range(start, min(start + group, tiles)):
            density_a, density_b = rng.choice(DENSITIES, size=2)
            a, b = dense_tile_operands(rng, config, density_a, density_b, specials)
            commands += dense_group_commands(a, b, DOT_LENGTH)
        commands.append(Drain())
    return commands


def special_dense_program(rng, config):
    """Edge cases: an all-zero tile, a tile of ones, extreme values (integer wrap-around,
    fp32 overflow to inf, fp16 subnormals, inf and NaN), each drained on its own."""
    commands = []
    tile_a, tile_b = (config.tile_m, config.k_chunk), (config.k_chunk, config.tile_n)
    dtype = np.float16 if config.operand.is_float else np.int64
    cases = [(np.zeros(tile_a, dtype), np.zeros(tile_b, dtype)),
             (np.ones(tile_a, dtype), np.ones(tile_b, dtype))]
    if config.operand.is_float:
        largest = special_bits(FP16, "max").astype(np.uint16).view(np.float16)[0]
        cases.append((np.full(tile_a, largest), np.full(tile_b, -largest)))
        cases.append(dense_tile_operands(rng, config, 1.0, 1.0, specials=0.3))
        subnormal = special_bits(FP16, "min_subnormal").astype(np.uint16).view(np.float16)[0]
        cases.append((np.full(tile_a, subnormal), np.full(tile_b, subnormal)))
    else:
        low = -(1 << (config.operand.width - 1))
        cases.append((np.full(tile_a, low), np.full(tile_b, low)))            # wraps
        high = (1 << (config.operand.width - 1)) - 1
        cases.append((np.full(tile_a, high), np.full(tile_b, low)))
    for a, b in cases:
        commands.append(Clear())
        commands += dense_group_commands(a, b, DOT_LENGTH)
        commands.append(Drain())
    if config.accum.is_float:       # C of fp32 specials: inf, -inf, NaN, largest, subnormal
        specials = special_bits(FP32, "inf", "-inf", "nan", "max", "-max", "min_subnormal",
                                "-zero").astype(np.uint32).view(np.float32)
        c = rng.choice(specials, size=(config.tile_m, config.tile_n))
        commands += [LoadRow(row=r, values=c[r]) for r in range(config.tile_m)]
        commands += dense_group_commands(*dense_tile_operands(rng, config, 0.8, 0.8, 0.2),
                                          DOT_LENGTH)
        commands.append(Drain())
    return commands


def unsupported_program(rng, config):
    """Opcodes the baseline does not execute (a SpWMMA header, a sparse k-step, an unknown
    opcode) between dense groups: each is dropped and sets ``UNKNOWN_OPCODE``."""
    a, b = dense_tile_operands(rng, config, 0.7, 0.7)
    groups = dense_group_commands(a, b, DOT_LENGTH)
    unsupported = [RawCommand(Opcode.SPWMMA), RawCommand(Opcode.KSTEP), RawCommand(Opcode.OHMMA),
                   RawCommand(0xF)]
    return [ClearStatus(), Clear(), groups[0], *unsupported[:2], *groups[1:],
            *unsupported[2:], Drain()], ErrorFlag.UNKNOWN_OPCODE
