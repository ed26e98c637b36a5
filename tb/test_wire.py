"""The command encoders (dstc.gen.wire): each command class lands in its fields, responses
decode, and what a design cannot take is refused with a message naming it."""

import numpy as np
import pytest

from dstc.gen.codec import CodecError
from dstc.gen.wire import CommandEncoder, DenseCommandEncoder, UnsupportedCommand
from dstc.sim import isa
from dstc.sim.config import preset

SMALL = preset("small")            # 2 x 4 lanes, 8 x 8 tile, k_chunk 4, int8 -> int16


def fields(encoder, command):
    """The command beat of ``command`` read back through Amaranth's ``Layout.from_bits``."""
    return encoder.command_layout.from_bits(encoder.encode(command))


def test_each_sparse_command_lands_in_its_fields(rng):
    encoder = CommandEncoder(SMALL)
    ohmma = isa.Ohmma(a_values=np.array([-3, 5]), a_rows=np.array([7, 2]),
                  a_valid=np.array([True, False]), b_values=np.array([1, -128, 127, 0]),
                  b_cols=np.array([0, 1, 6, 3]), b_valid=np.array([True, True, False, True]))
    beat = fields(encoder, ohmma)
    assert beat.opcode == isa.Opcode.OHMMA
    body = beat.body.ohmma
    assert [body.a_values[i] for i in range(2)] == [-3, 5]
    assert [body.b_values[i] for i in range(4)] == [1, -128, 127, 0]
    assert [body.placement.rows[i] for i in range(2)] == [7, 2]
    assert body.placement.row_valid == 0b01
    assert [body.placement.cols[i] for i in range(4)] == [0, 1, 6, 3]
    assert body.placement.col_valid == 0b1011
    kstep = fields(encoder, isa.Kstep(k=3, a_count=2, b_count=8, a_values=np.arange(8),
                                  b_values=-np.arange(8))).body.kstep
    assert (kstep.k, kstep.a_count, kstep.b_count) == (3, 2, 8)
    assert [kstep.b_values[i] for i in range(8)] == [-i for i in range(8)]
    a_maps = rng.random((4, 8)) < 0.5
    header = fields(encoder, isa.Spwmma(a_bitmaps=a_maps, b_bitmaps=~a_maps)).body.header
    assert [header.a_bitmaps[k] for k in range(4)] == \
        [sum(1 << i for i in range(8) if a_maps[k, i]) for k in range(4)]
    assert fields(encoder, isa.Drain(relu=True)).body.drain.relu == 1
    assert fields(encoder, isa.LoadRow(row=5, values=np.full(8, -1))).body.load.row == 5
    assert encoder.encode(isa.Clear()) == isa.Opcode.CLEAR
    assert encoder.encode(isa.RawCommand(0xF)) == 0xF
    dense = fields(encoder, isa.Dense(a_values=np.arange(8), b_values=np.arange(8)))
    assert dense.opcode == isa.Opcode.DENSE and dense.body.kstep.a_values[7] == 7


def test_dense_group_lands_in_its_fields():
    encoder = DenseCommandEncoder(SMALL)
    a, b = np.arange(32).reshape(8, 4) - 16, np.arange(32).reshape(4, 8)
    group = fields(encoder, isa.DenseGroup(a_values=a, b_values=b)).body.group
    assert [[group.a_values[i][kk] for kk in range(4)] for i in range(8)] == a.tolist()
    assert [[group.b_values[kk][j] for j in range(8)] for kk in range(4)] == b.tolist()


def test_float_operands_are_raw_bits():
    encoder = CommandEncoder(preset("small-fp16"))
    values = np.array([1.0, -2.0, np.inf, 0.0, 0.5, -0.0, 65504.0, 1e-7], np.float16)
    kstep = fields(encoder, isa.Dense(a_values=values, b_values=values)).body.kstep
    assert [kstep.a_values[i] for i in range(8)] == values.view(np.uint16).tolist()


def test_responses_decode():
    encoder = CommandEncoder(SMALL)
    bits = encoder.response_layout.const({"row": 6, "last": 1, "encoded": 1, "count": 3,
                                          "bitmap": 0b1000_0101,
                                          "values": [-5, 7, 9, 0, 0, 0, 0, 0]}).as_bits()
    response = encoder.decode_response(bits)
    assert (response.row, response.last, response.encoded, response.count) == (6, True, True, 3)
    assert response.bitmap.tolist() == [True, False, True, False, False, False, False, True]
    assert response.values.tolist() == [-5, 7, 9, 0, 0, 0, 0, 0]
    dense = DenseCommandEncoder(SMALL)
    bits = dense.response_layout.const({"row": 1, "values": [-1] * 8}).as_bits()
    assert dense.decode_response(bits).values.tolist() == [-1] * 8


ERRORS = [
    (CommandEncoder, isa.LoadRow(row=8, values=np.zeros(8, int)), CodecError,
     r"^LoadRow: body\.load\.row=8: out of range 0\.\.7$"),
    (CommandEncoder, isa.Kstep(k=0, a_count=1, b_count=1, a_values=np.zeros(7, int),
                           b_values=np.zeros(8, int)), CodecError,
     r"^Kstep: body\.kstep\.a_values: 7 values, the layout has 8$"),
    (CommandEncoder, isa.Kstep(k=4, a_count=1, b_count=1, a_values=np.zeros(8, int),
                           b_values=np.zeros(8, int)), CodecError,
     r"^Kstep: body\.kstep\.k=4: out of range 0\.\.3$"),
    (CommandEncoder, isa.RawCommand(16), CodecError,
     r"^RawCommand: opcode=16: out of range 0\.\.15$"),
    (CommandEncoder, isa.LoadRow(row=0, values=np.full(8, 1 << 15)), ValueError,
     r"int16 values must lie in"),
    (CommandEncoder, isa.DenseGroup(a_values=np.zeros((8, 4), int),
                                    b_values=np.zeros((4, 8), int)),
     UnsupportedCommand, r"^DenseGroup: the sparse core takes Dense k-steps"),
    (CommandEncoder, "CLEAR", TypeError, r"^'CLEAR': not a dstc\.sim\.isa command$"),
    (DenseCommandEncoder, isa.Dense(a_values=np.zeros(8, int), b_values=np.zeros(8, int)),
     UnsupportedCommand, r"^Dense: the dense baseline executes DenseGroup"),
    (DenseCommandEncoder, isa.Spwmma(a_bitmaps=np.zeros((4, 8), bool),
                                 b_bitmaps=np.zeros((4, 8), bool)),
     UnsupportedCommand, r"send RawCommand\(SPWMMA\)"),
    (DenseCommandEncoder, isa.Drain(encode=True), UnsupportedCommand,
     r"^the dense baseline drains rows as they are"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_refusals_name_the_command_and_the_rule(index):
    encoder_class, command, error, message = ERRORS[index]
    with pytest.raises(error, match=message):
        encoder_class(SMALL).encode(command)
