"""Test harness: many copies of a combinational unit side by side, with packed ports.

Testing a scalar unit one input per simulator step would spend the time in cocotb's Python;
with ``lanes`` copies each step checks ``lanes`` independent inputs.
"""

from amaranth import Cat, Module
from amaranth.lib import data, wiring

__all__ = ["Lanes"]


class Lanes(wiring.Component):
    """``lanes`` copies of the unit built by ``factory``; port ``x`` becomes an array of
    ``lanes`` values of ``x``'s shape (lane ``i`` drives copy ``i``)."""

    def __init__(self, factory, lanes):
        self._units = [factory() for _ in range(lanes)]
        members = {}
        for name, member in self._units[0].signature.members.items():
            if not member.is_port:
                raise TypeError(f"member {name!r}: Lanes supports only plain ports")
            members[name] = member.flow(data.ArrayLayout(member.shape, lanes))
        super().__init__(members)

    @property
    def lanes(self):
        return len(self._units)

    def elaborate(self, platform):
        m = Module()
        for lane, unit in enumerate(self._units):
            m.submodules[f"lane{lane}"] = unit
        for name, member in self._units[0].signature.members.items():
            if member.flow == wiring.In:
                m.d.comb += [getattr(unit, name).eq(getattr(self, name)[lane])
                             for lane, unit in enumerate(self._units)]
            else:  # one assignment per output (see hw/prefix_popcount.py)
                m.d.comb += getattr(self, name).eq(Cat(getattr(unit, name)
                                                       for unit in self._units))
        return m
