"""`dstc network`'s sampled tiles through the RTL: the real VGG-16 weights, a real photo crop,
one real layer (conv1_2, whose input is conv1_1's real ReLU output) on the default preset,
Verilator (the build shared with `dstc sim` and `dstc conv` under build/tb/sim-cli): every
sampled tile bit-exact against the golden model on the layer's fp16 operands (bias loaded
as C) and cycle-exact against the exact model of the tile."""

import json

import pytest
from conftest import BUILD

from dstc.gen import network
from dstc.gen.network_rtl import RtlOptions
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb


def test_real_layer_tiles_through_the_rtl(tmp_path, seed):
    config = preset("default")
    options = RtlOptions(tiles=3, seed=seed, layers=("conv1_2",), out_dir=BUILD / "sim-cli",
                         folder="default")
    result = network.run_network(config, image="china", size=(24, 40),
                                 weight_densities=(0.5,), out_dir=tmp_path, figures=False,
                                 label="default", rtl=options)
    rows = {row.name: row for row in result.runs[0].rows}
    conv1_2 = rows["conv1_2"]
    assert conv1_2.rtl_tiles == 3 and conv1_2.rtl_values_match
    assert conv1_2.rtl_cycles == conv1_2.rtl_model_cycles > 3 * 36   # 36 k tiles a tile
    assert all(row.rtl_tiles is None for name, row in rows.items() if name != "conv1_2")
    assert result.rtl.ok and result.rtl.programs == 3 and result.seed == seed
    document = json.loads((tmp_path / "network.json").read_text())
    assert document["rtl"]["programs"] == 3
    assert document["runs"][0]["layers"][1]["rtl_values_match"] is True
    # The same seed samples the same tiles: the exact model's cycles of them repeat.
    again = network.run_network(config, image="china", size=(24, 40), weight_densities=(0.5,),
                                label="default", rtl=options)
    assert again.runs[0].rows[1].rtl_model_cycles == conv1_2.rtl_model_cycles
    assert "RTL tiles: cycles (model)" in network.format_table(result)
