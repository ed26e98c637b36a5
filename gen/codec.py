"""One codec for packed values: Python values to the bits of a ``lib.data`` layout and back.

A :class:`Codec` is compiled once per shape (a :class:`~amaranth.lib.data.Layout` or a plain
shape such as ``signed(8)``, ``unsigned(16)`` or an int width) and then packs and unpacks
many values quickly. It is bit-identical to Amaranth's ``Layout.const(value).as_bits()`` and
to field reads of ``Layout.from_bits(bits)`` for in-range values, about 7 times faster per
command beat (docs/verification.md gives the measurement), and, unlike ``Layout.const``, it
refuses what would be silently truncated.

Values (``pack``'s input, ``unpack``'s output):

* a plain shape takes an ``int`` (``bool`` and numpy integers too). Its range is that of the
  shape: ``0 .. 2**w - 1`` for ``unsigned(w)``, ``-2**(w-1) .. 2**(w-1) - 1`` for
  ``signed(w)``. Float fields are raw bits in unsigned shapes, so they take the unsigned
  range. With ``raw=True`` every plain shape takes and gives unsigned raw bits
  (``0 .. 2**w - 1``), whatever its signedness: the view of a testbench that drives ports
  with numpy arrays of raw bits.
* an :class:`~amaranth.lib.data.ArrayLayout` of length ``n`` takes a sequence (a list, a
  tuple or a numpy array) of exactly ``n`` elements; there is no padding (a short array is
  an error, so a program that forgot a lane fails instead of sending zeros).
* a :class:`~amaranth.lib.data.StructLayout` takes a mapping of some of its fields; missing
  fields are 0 (as with ``Layout.const``).
* a :class:`~amaranth.lib.data.UnionLayout` takes a mapping of at most one member.

``unpack`` gives ints, lists and dicts (a union: a dict of every member's reading of the
same bits).

Every error is a :class:`CodecError` (a ``ValueError``) whose message names the field's path,
the value and the rule, e.g. ``body.load.row=9: out of range 0..7``.
"""

import numbers

import numpy as np
from amaranth import Shape
from amaranth.lib import data

__all__ = ["CodecError", "Codec", "codec", "random_value"]


class CodecError(ValueError):
    """A value that does not fit its layout: out of range, wrong array length, unknown field,
    several union members, or not an integer. The message names the field path."""


def _join(path, name):
    return f"{path}.{name}" if path else str(name)


def _label(path):
    return path or "value"


def _plain(shape):
    """``(width, signed)`` of a plain shape (anything ``Shape.cast`` accepts)."""
    cast = Shape.cast(shape)
    return cast.width, cast.signed


def _is_integer(value):
    return isinstance(value, (numbers.Integral, np.bool_))


def _as_list(value, length, path):
    """The elements of an array value (a sequence or a numpy array) as a list."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iub":
            raise CodecError(f"{_label(path)}: array of {value.dtype} values, expected "
                             f"integers (raw bits)")
        value = value.tolist()
    elif isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise CodecError(f"{_label(path)}={value!r}: expected a sequence of {length} values")
    if len(value) != length:
        raise CodecError(f"{_label(path)}: {len(value)} values, the layout has {length}")
    return value


class _Leaf:
    """A plain shape of ``width`` bits."""

    def __init__(self, width, signed, raw):
        self.width, self.mask = width, (1 << width) - 1
        if signed and not raw:
            self.low, self.high = -(1 << (width - 1)), (1 << (width - 1)) - 1
        else:
            self.low, self.high = 0, self.mask
        self.signed = signed and not raw

    def check(self, value, path):
        if not _is_integer(value):
            raise CodecError(f"{_label(path)}={value!r}: not an integer")
        if not self.low <= value <= self.high:
            raise CodecError(f"{_label(path)}={value}: out of range {self.low}..{self.high}")

    def pack(self, value, path):
        self.check(value, path)
        return int(value) & self.mask

    def unpack(self, bits):
        if self.signed and bits >> (self.width - 1):
            return bits - (1 << self.width)
        return bits


class _Array:
    """An array of ``length`` elements of one node."""

    def __init__(self, elem, length, stride):
        self.elem, self.length, self.stride = elem, length, stride
        self.width = length * stride

    def pack(self, value, path):
        values = _as_list(value, self.length, path)
        elem, stride = self.elem, self.stride
        bits = 0
        if isinstance(elem, _Leaf):
            try:
                low, high = min(values), max(values)
                fast = elem.low <= low and high <= elem.high and all(
                    map(_is_integer, values))
            except TypeError:
                fast = False
            if fast:
                mask = elem.mask
                for element in reversed(values):
                    bits = (bits << stride) | (int(element) & mask)
                return bits
        parts = [elem.pack(element, f"{_label(path)}[{index}]")    # first error first
                 for index, element in enumerate(values)]
        for part in reversed(parts):
            bits = (bits << stride) | part
        return bits

    def unpack(self, bits):
        elem, stride = self.elem, self.stride
        mask = (1 << stride) - 1
        return [elem.unpack((bits >> (index * stride)) & mask) for index in range(self.length)]


class _Struct:
    """A struct (every field at its own offset) or a union (``union``: at most one member)."""

    def __init__(self, fields, width, union):
        self.fields, self.width, self.union = fields, width, union

    def pack(self, value, path):
        if not hasattr(value, "items"):
            raise CodecError(f"{_label(path)}={value!r}: expected a mapping of fields")
        if self.union and len(value) > 1:
            raise CodecError(f"{_label(path)}: a union takes one member, got "
                             f"{', '.join(map(str, value))}")
        bits = 0
        for name, element in value.items():
            try:
                offset, node = self.fields[name]
            except KeyError:
                raise CodecError(f"{_join(path, name)}: no such field (fields: "
                                 f"{', '.join(self.fields)})") from None
            bits |= node.pack(element, _join(path, name)) << offset
        return bits

    def unpack(self, bits):
        return {name: node.unpack((bits >> offset) & ((1 << node.width) - 1))
                for name, (offset, node) in self.fields.items()}


def _compile(shape, raw):
    if isinstance(shape, data.ArrayLayout):
        elem = _compile(shape.elem_shape, raw)
        return _Array(elem, shape.length, elem.width)
    if isinstance(shape, data.Layout):
        fields = {name: (field.offset, _compile(field.shape, raw)) for name, field in shape}
        return _Struct(fields, shape.size, isinstance(shape, data.UnionLayout))
    return _Leaf(*_plain(shape), raw)


class Codec:
    """Packs values into the bits of ``shape`` and back (module docstring: the rules).

    ``shape`` is a ``lib.data`` layout or a plain shape; ``raw`` makes every plain shape
    take and give unsigned raw bits; ``name`` is the root of the field paths in error
    messages (empty: paths start at the first field, e.g. ``body.load.row``).
    """

    def __init__(self, shape, *, raw=False, name=""):
        self.shape, self.raw, self.name = shape, raw, name
        self._root = _compile(shape, raw)

    @property
    def width(self):
        """Width of the packed value in bits."""
        return self._root.width

    def pack(self, value):
        """The bits (an ``int`` of :attr:`width` bits) of ``value``; raises
        :class:`CodecError` when a field is out of range, an array has the wrong length, a
        field is unknown or a union is given several members."""
        return self._root.pack(value, self.name)

    def unpack(self, bits):
        """The value of ``bits`` (an int of at most :attr:`width` bits): ints, lists and
        dicts; plain shapes are read signed or unsigned as the shape says (unsigned raw bits
        with ``raw``). Raises :class:`CodecError` for a negative or too wide ``bits``."""
        bits = int(bits)
        if not 0 <= bits < (1 << self.width):
            raise CodecError(f"{_label(self.name)}={bits}: not a {self.width}-bit pattern")
        return self._root.unpack(bits)


_CACHE = {}


def codec(shape, *, raw=False, name=""):
    """The :class:`Codec` of ``shape`` (cached: layouts compare by value)."""
    key = (shape, raw, name)
    try:
        return _CACHE[key]
    except (KeyError, TypeError):
        pass
    made = Codec(shape, raw=raw, name=name)
    try:
        _CACHE[key] = made
    except TypeError:                # an unhashable shape
        pass
    return made


def random_value(rng, shape, raw=False):
    """A random in-range value of ``shape`` for :meth:`Codec.pack` and ``Layout.const``
    (``rng``: a numpy ``Generator``; unions: one random member; structs: a random subset of
    the fields, so missing fields are exercised too; ``raw``: unsigned raw bits for signed
    fields, as a raw codec takes them). Used by the codec's tests and ``dstc bench``."""
    if isinstance(shape, data.ArrayLayout):
        return [random_value(rng, shape.elem_shape, raw) for _ in range(shape.length)]
    if isinstance(shape, data.UnionLayout):
        names = [name for name, _ in shape]
        name = names[rng.integers(len(names))]
        return {name: random_value(rng, shape[name].shape, raw)}
    if isinstance(shape, data.Layout):
        return {name: random_value(rng, field.shape, raw) for name, field in shape
                if rng.random() < 0.9}
    cast = Shape.cast(shape)
    if cast.signed and not raw:
        return int(rng.integers(-(1 << (cast.width - 1)), 1 << (cast.width - 1)))
    return int(rng.integers(0, 1 << cast.width, dtype=np.uint64))
