"""Sticky error flags and performance counters, cleared together (CLEAR_STATUS)."""

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["StatusRegisters"]


class StatusRegisters(wiring.Component):
    """The error flags and performance counters of a core.

    Each cycle: ``errors`` (out, ``error_width`` bits) becomes ``errors | raised`` (in), and
    every counter ``<name>`` (out, ``counter_width`` bits, wrapping) adds its
    ``<name>_increment`` (in, ``range(max + 1)``). With ``clear`` (in, 1) the old values are
    dropped first: ``errors`` becomes ``raised`` and every counter becomes 0 (the increment
    of the clearing cycle is not counted). Latency: the new values show from the next cycle.

    Parameters: ``error_width`` (>= 1), ``counters`` (``{name: largest increment}``, the
    largest increment >= 1, in output order) and ``counter_width`` (>= 1). Raises
    :class:`ValueError` naming the parameter if one is out of range, or if a counter name
    clashes with another port.
    """

    def __init__(self, *, error_width, counters, counter_width):
        for name, value in (("error_width", error_width), ("counter_width", counter_width)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name}={value!r}: must be a positive integer")
        counters = dict(counters)
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
        self._error_width, self._counter_width = error_width, counter_width
        self._counters = counters
        super().__init__(members)

    @property
    def error_width(self):
        return self._error_width

    @property
    def counter_width(self):
        return self._counter_width

    @property
    def counters(self):
        """``{name: largest increment}`` of the counters."""
        return dict(self._counters)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.errors.eq(Mux(self.clear, 0, self.errors) | self.raised)
        for name in self._counters:
            counter, increment = getattr(self, name), getattr(self, f"{name}_increment")
            m.d.sync += counter.eq(Mux(self.clear, 0, counter + increment))
        return m
