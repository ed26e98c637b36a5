"""Commands given to the command-level models are checked against the configuration: a
position outside the tile or an array of the wrong length is refused by name, never used
(numpy would silently take row -1 as the last row)."""

import numpy as np
import pytest

from dstc.sim.config import preset
from dstc.sim.core_model import CoreModel
from dstc.sim.dense_model import DenseCoreModel
from dstc.sim.isa import (
    CommandError,
    Dense,
    DenseGroup,
    Kstep,
    LoadRow,
    Ohmma,
    RawCommand,
    Spwmma,
    check_command,
)

CONFIG = preset("small")          # 2 x 4 lanes, 8 x 8 tile, k-chunk 4


def _ohmma(**changes):
    fields = dict(a_values=np.ones(2, int), a_rows=np.array([0, 1]), a_valid=np.ones(2, bool),
                  b_values=np.ones(4, int), b_cols=np.arange(4), b_valid=np.ones(4, bool))
    return Ohmma(**(fields | changes))


@pytest.mark.parametrize("command,message", [
    (LoadRow(row=-1, values=np.zeros(8)), r"LoadRow: row=-1: must be an integer from 0 to 7"),
    (LoadRow(row=8, values=np.zeros(8)), r"LoadRow: row=8: must be an integer from 0 to 7"),
    (LoadRow(row=1, values=np.zeros(9)), r"LoadRow: values has shape \(9,\), the "
                                         r"configuration needs \(8,\)"),
    (Kstep(k=4, a_count=1, b_count=1, a_values=np.zeros(8, int), b_values=np.zeros(8, int)),
     r"Kstep: k=4: must be an integer from 0 to 3"),
    (Kstep(k=0, a_count=9, b_count=1, a_values=np.zeros(8, int), b_values=np.zeros(8, int)),
     r"Kstep: a_count=9: must be an integer from 0 to 8"),
    (Kstep(k=0, a_count=1, b_count=1, a_values=np.zeros(9, int), b_values=np.zeros(8, int)),
     r"Kstep: a_values has shape \(9,\)"),
    (Spwmma(a_bitmaps=np.zeros((5, 8), bool), b_bitmaps=np.zeros((4, 8), bool)),
     r"Spwmma: a_bitmaps has shape \(5, 8\), the configuration needs \(4, 8\)"),
    (Dense(a_values=np.zeros(8, int), b_values=np.zeros(7, int)), r"Dense: b_values has shape"),
    (_ohmma(a_rows=np.array([0, -1])), r"Ohmma: a_rows\[1\]=-1: must be an integer from 0 to 7"),
    (_ohmma(b_cols=np.array([0, 1, 2, 8])), r"Ohmma: b_cols\[3\]=8"),
    (_ohmma(a_values=np.ones(3, int)), r"Ohmma: a_values has shape \(3,\)"),
    (RawCommand(opcode=16), r"RawCommand: opcode=16: must be an integer from 0 to 15"),
])
def test_the_sparse_model_refuses_commands_that_do_not_fit(command, message):
    model = CoreModel(CONFIG)
    before = model.tile.copy()
    with pytest.raises(CommandError, match=message):
        model.execute(command)
    assert np.array_equal(model.tile, before) and model.errors == 0


def test_the_dense_model_refuses_commands_that_do_not_fit():
    model = DenseCoreModel(CONFIG)
    with pytest.raises(CommandError, match=r"DenseGroup: a_values has shape \(8, 3\)"):
        model.execute(DenseGroup(a_values=np.zeros((8, 3), int), b_values=np.zeros((4, 8), int)))
    with pytest.raises(CommandError, match=r"LoadRow: row=-1"):
        model.execute(LoadRow(row=-1, values=np.zeros(8)))


def test_commands_that_fit_pass():
    for command in (LoadRow(row=7, values=np.zeros(8)), _ohmma(),
                    Kstep(k=3, a_count=8, b_count=0, a_values=np.zeros(8, int),
                          b_values=np.zeros(8, int)), RawCommand(opcode=15)):
        check_command(command, CONFIG)
