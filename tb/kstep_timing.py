"""The command-level timing of a GEMM program under a per-k-step issue cost: the reference
that the fast cycle models (sim/gemm_cycles.py, sim/banked.py) are checked against."""

from dstc.sim.cycles import CoreTiming
from dstc.sim.isa import Opcode

__all__ = ["command_level_cycles"]


def command_level_cycles(program, kstep_issues):
    """Finish cycle of ``program`` (a :class:`~dstc.sim.program.Program`) timed command by
    command by :class:`~dstc.sim.cycles.CoreTiming`, each KSTEP issuing
    ``kstep_issues(a_bitmap, b_bitmap)`` OHMMAs: the bitmaps of its k-step, taken from the
    SpWMMA header it belongs to (``tile_m`` and ``tile_n`` bools)."""
    timing, header = CoreTiming(program.config), None
    for command in program.commands:
        issues = 0
        if command.opcode == Opcode.SPWMMA:
            header = command
        elif command.opcode == Opcode.KSTEP:
            issues = int(kstep_issues(header.a_bitmaps[command.k], header.b_bitmaps[command.k]))
        timing.accept(command.opcode, issues)
    return timing.finish_cycle
