"""The check of a run of a core (what :mod:`dstc.gen.core_driver` observed) against its model:
every response beat bit for bit, the error flags, the counters and, when nothing stalled, the
cycle in which each command was accepted and the total cycle count."""

import numpy as np

from ..sim.arith import Arithmetic

__all__ = ["check_responses", "check_status"]


def check_responses(config, responses, expected, fields=()):
    """Each response beat equals the model's: ``row``, ``last``, the attributes named in
    ``fields`` and the accumulator values, bit for bit. Raises ``AssertionError`` naming the
    first beat that differs."""
    arith = Arithmetic(config)
    assert len(responses) == len(expected), \
        f"{len(responses)} response beats, expected {len(expected)}"
    for index, (got, want) in enumerate(zip(responses, expected, strict=True)):
        got_bits = arith.to_bits(got.values, config.accum)
        want_bits = arith.to_bits(want.values, config.accum)
        differ = [f"{name} {getattr(got, name)} vs {getattr(want, name)}"
                  for name in ("row", "last", *fields)
                  if not np.array_equal(getattr(got, name), getattr(want, name))]
        if differ or not np.array_equal(got_bits, want_bits):
            bad = np.flatnonzero(got_bits != want_bits)[:8]
            values = (f"values at {bad.tolist()}: {[hex(int(v)) for v in got_bits[bad]]} vs "
                      f"{[hex(int(v)) for v in want_bits[bad]]}")
            raise AssertionError(
                f"response {index} (row {want.row}) differs: {'; '.join([*differ, values])}")


def check_status(commands, run, model, counters, expected_cycles, timing=True):
    """The run's error flags and counters equal those of ``model`` (which has run
    ``commands``; ``counters`` are its counters as the outputs show them). With ``timing``
    (nothing stalled) so do ``cycles_busy``, the accept cycle of every command
    (``expected_cycles``) and the finish cycle. Raises ``AssertionError``."""
    assert run.errors == model.errors, f"errors {run.errors:#x}, expected {model.errors:#x}"
    for name, value in counters.items():
        if name == "cycles_busy" and not timing:
            continue
        assert run.counters[name] == value, f"{name} {run.counters[name]}, expected {value}"
    if timing:
        if run.accept_cycles != expected_cycles:
            index = next(i for i, (g, w) in enumerate(zip(run.accept_cycles, expected_cycles,
                                                          strict=True)) if g != w)
            raise AssertionError(
                f"command {index} ({type(commands[index]).__name__}) accepted in cycle "
                f"{run.accept_cycles[index]}, the model says {expected_cycles[index]}")
        assert run.cycles == model.finish_cycle, \
            f"run took {run.cycles} cycles, the model says {model.finish_cycle}"
