"""Command acceptance: each opcode's ready rule, and the accepted command."""

from amaranth import Signal

__all__ = ["accept_commands"]


def accept_commands(m, cmd, rules, *, default):
    """Drive ``cmd.ready`` (a command stream of either core: ``payload.opcode``) from the
    rules of its current opcode, and name the accepted command.

    ``rules`` is a list of ``(opcodes, ready)`` pairs, ``opcodes`` a set of
    :class:`~dstc.sim.isa.Opcode` and ``ready`` a 1-bit value: a command whose opcode is in
    a pair's set is accepted when that pair's ``ready`` is 1 (the first pair that holds it
    decides); any other opcode when ``default`` is 1. Returns ``(fire, firing)``: ``fire``
    is a signal set in the cycle a command is accepted (``cmd.valid & cmd.ready``) and
    ``firing(op)`` the 1-bit value "a command of opcode ``op`` is accepted this cycle".
    """
    opcode = cmd.payload.opcode
    with m.Switch(opcode):
        for opcodes, ready in rules:
            with m.Case(*sorted(opcodes)):
                m.d.comb += cmd.ready.eq(ready)
        with m.Default():
            m.d.comb += cmd.ready.eq(default)
    fire = Signal()
    m.d.comb += fire.eq(cmd.valid & cmd.ready)

    def firing(op):
        return fire & (opcode == op)

    return fire, firing
