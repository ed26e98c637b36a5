"""Sticky error flags and performance counters, cleared together (CLEAR_STATUS)."""

from amaranth import Const, Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .parameters import check_at_least

__all__ = ["StatusRegisters"]


class StatusRegisters(wiring.Component):
    """The error flags and performance counters of a core.

    Each cycle: ``errors`` (out, ``error_width`` bits) becomes ``errors | raised`` (in), and
    every counter ``<name>`` (out, ``counter_width`` bits, wrapping) adds its
    ``<name>_increment`` (in, ``range(largest + 1)``) times its ``step``. With ``clear``
    (in, 1) the old values are dropped first: ``errors`` becomes ``raised`` and every counter
    becomes 0 (the increment of the clearing cycle is not counted). Latency: the new values
    show from the next cycle.

    Parameters (keyword): ``error_width`` (>= 1); ``flags``, the mask of the error bits that
    ``raised`` can set (default: all; the others stay 0 and need no flip-flop);
    ``counters`` (``{name: largest increment}``, each >= 1, in output order); ``steps``
    (``{name: step}``, each >= 1, default 1: what one unit of the increment counts, so that a
    counter that only ever adds a constant takes a 1-bit increment and keeps its constant low
    bits out of the flip-flops) and ``counter_width`` (>= 1). Raises :class:`ValueError`
    naming the parameter if one is out of range, or if a counter name clashes with another
    port or a step names no counter.
    """

    def __init__(self, *, error_width, counters, counter_width, flags=None, steps=None):
        check_at_least(error_width=error_width, counter_width=counter_width)
        flags = (1 << error_width) - 1 if flags is None else flags
        if not isinstance(flags, int) or not 0 <= flags < 1 << error_width:
            raise ValueError(f"flags={flags!r}: must be a mask of the {error_width} error bits")
        counters, steps = dict(counters), dict(steps or {})
        members = {"clear": In(1), "raised": In(error_width), "errors": Out(error_width)}
        for name, largest in counters.items():
            if type(largest) is not int or largest < 1:
                raise ValueError(
                    f"counters[{name!r}]={largest!r}: the largest increment must be a "
                    f"positive integer")
            if name in members or f"{name}_increment" in members:
                raise ValueError(f"counters: name {name!r} clashes with another port")
            members[f"{name}_increment"] = In(range(largest + 1))
            members[name] = Out(counter_width)
        for name, step in steps.items():
            if name not in counters:
                raise ValueError(f"steps: {name!r} is not a counter")
            if type(step) is not int or step < 1:
                raise ValueError(f"steps[{name!r}]={step!r}: must be a positive integer")
        self._error_width, self._counter_width = error_width, counter_width
        self._flags = int(flags)
        self._counters = counters
        self._steps = {name: steps.get(name, 1) for name in counters}
        super().__init__(members)

    @property
    def error_width(self):
        return self._error_width

    @property
    def counter_width(self):
        return self._counter_width

    @property
    def flags(self):
        """Mask of the error bits that can be raised."""
        return self._flags

    @property
    def counters(self):
        """``{name: largest increment}`` of the counters."""
        return dict(self._counters)

    @property
    def steps(self):
        """``{name: step}`` of the counters."""
        return dict(self._steps)

    def elaborate(self, platform):
        m = Module()
        flags = Const(self._flags, self._error_width)
        m.d.sync += self.errors.eq((Mux(self.clear, 0, self.errors) | self.raised) & flags)
        for name, step in self._steps.items():
            counter, increment = getattr(self, name), getattr(self, f"{name}_increment")
            m.d.sync += counter.eq(Mux(self.clear, 0, counter + increment * step))
        return m
