"""The codec (dstc.gen.codec) against Amaranth's own packing, and every error it reports."""

import numpy as np
import pytest
from amaranth import Shape, signed, unsigned
from amaranth.lib import data
from presets import PRESETS

from dstc.gen.codec import Codec, CodecError, codec, random_value
from dstc.hw.accumulator import scatter_layout
from dstc.hw.isa import (
    command_layout,
    dense_command_layout,
    dense_response_layout,
    response_layout,
)
from dstc.sim.config import preset

LAYOUTS = {"command": command_layout, "response": response_layout,
           "dense_command": dense_command_layout, "dense_response": dense_response_layout,
           "scatter": scatter_layout}


def read_const(const, shape, raw=False):
    """What field reads of ``Layout.from_bits`` give, as ints, lists and dicts."""
    if isinstance(shape, data.ArrayLayout):
        return [read_const(const[i], shape.elem_shape, raw) for i in range(shape.length)]
    if isinstance(shape, data.Layout):
        return {name: read_const(const[name], field.shape, raw) for name, field in shape}
    value = int(const)
    return value & ((1 << Shape.cast(shape).width) - 1) if raw else value


@pytest.mark.parametrize("preset_name", PRESETS + ("small8-inline",))
@pytest.mark.parametrize("layout_name", list(LAYOUTS))
@pytest.mark.parametrize("raw", [False, True], ids=["typed", "raw"])
def test_codec_equals_amaranth(preset_name, layout_name, raw, rng):
    layout = LAYOUTS[layout_name](preset(preset_name))
    coder = Codec(layout, raw=raw)
    assert coder.width == layout.size
    for _ in range(30):
        value = random_value(rng, layout, raw)
        bits = coder.pack(value)
        assert bits == layout.const(value).as_bits()
        assert coder.unpack(bits) == read_const(layout.from_bits(bits), layout, raw)
        random_bits = int(rng.integers(0, 1 << 62)) << max(0, layout.size - 62)
        random_bits &= (1 << layout.size) - 1
        assert coder.unpack(random_bits) == read_const(layout.from_bits(random_bits), layout,
                                                       raw)


def test_numpy_arrays_of_raw_bits_are_sequences():
    layout = data.ArrayLayout(data.ArrayLayout(unsigned(16), 3), 2)
    values = np.array([[1, 2, 0xFFFF], [4, 5, 6]], dtype=np.uint64)
    assert Codec(layout).pack(values) == layout.const(values.tolist()).as_bits()
    assert Codec(data.ArrayLayout(signed(8), 2), raw=True).pack(np.array([0xFF, 1])) == 0x1FF
    assert Codec(data.ArrayLayout(1, 3)).pack(np.array([True, False, True])) == 0b101


def test_plain_shapes_and_signed_reads():
    assert Codec(signed(8)).pack(-1) == 0xFF
    assert Codec(signed(8)).unpack(0xFF) == -1
    assert Codec(signed(8), raw=True).unpack(0xFF) == 0xFF
    assert Codec(5).pack(31) == 31
    assert codec(unsigned(4)) is codec(unsigned(4))


ERRORS = [
    (lambda c: c.pack({"opcode": 16}), r"^opcode=16: out of range 0\.\.15$"),
    (lambda c: c.pack({"body": {"load": {"row": 9}}}), r"^body\.load\.row=9: out of range 0\.\.7$"),
    (lambda c: c.pack({"body": {"load": {"values": [0] * 7}}}),
     r"^body\.load\.values: 7 values, the layout has 8$"),
    (lambda c: c.pack({"body": {"load": {"values": [0] * 9}}}),
     r"^body\.load\.values: 9 values, the layout has 8$"),
    (lambda c: c.pack({"body": {"load": {"values": [0] * 7 + [40000]}}}),
     r"^body\.load\.values\[7\]=40000: out of range -32768\.\.32767$"),
    (lambda c: c.pack({"body": {"kstep": {"a_values": [0] * 7 + [-129]}}}),
     r"^body\.kstep\.a_values\[7\]=-129: out of range -128\.\.127$"),
    (lambda c: c.pack({"body": {"drain": {"relu": 2}}}),
     r"^body\.drain\.relu=2: out of range 0\.\.1$"),
    (lambda c: c.pack({"body": {"load": {"rows": 1}}}),
     r"^body\.load\.rows: no such field \(fields: row, values\)$"),
    (lambda c: c.pack({"body": {"load": {}, "drain": {}}}),
     r"^body: a union takes one member, got load, drain$"),
    (lambda c: c.pack({"opcode": 1.5}), r"^opcode=1\.5: not an integer$"),
    (lambda c: c.pack({"body": {"load": {"values": np.zeros(8, np.float32)}}}),
     r"^body\.load\.values: array of float32 values, expected integers"),
    (lambda c: c.pack({"body": {"load": {"values": 3}}}),
     r"^body\.load\.values=3: expected a sequence of 8 values$"),
    (lambda c: c.pack({"body": 5}), r"^body=5: expected a mapping of fields$"),
    (lambda c: c.unpack(-1), r"^value=-1: not a \d+-bit pattern$"),
    (lambda c: c.unpack(1 << c.width), r"^value=\d+: not a \d+-bit pattern$"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_name_the_field_the_value_and_the_rule(index):
    make, message = ERRORS[index]
    with pytest.raises(CodecError, match=message) as error:
        make(Codec(command_layout(preset("small"))))
    assert isinstance(error.value, ValueError)


def test_float_fields_take_the_unsigned_range():
    coder = Codec(command_layout(preset("small-fp16")))
    assert coder.pack({"body": {"load": {"values": [0xFFFF_FFFF] * 8}}}) > 0
    with pytest.raises(CodecError, match=r"values\[0\]=-1: out of range 0\.\.4294967295"):
        coder.pack({"body": {"load": {"values": [-1] * 8}}})


def test_raw_codec_takes_unsigned_bits_of_signed_fields():
    coder = Codec(data.ArrayLayout(signed(8), 2), raw=True, name="port a")
    assert coder.pack([0xFF, 0x80]) == 0x80FF
    with pytest.raises(CodecError, match=r"^port a\[1\]=-1: out of range 0\.\.255$"):
        coder.pack([0, -1])

