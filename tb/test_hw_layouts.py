"""The packed layouts and block contracts: one lane placement in every pipeline format, the
float fields, the accumulators' shared signatures and the pipeline latency of the spec."""

import pytest
from amaranth.hdl import Fragment
from amaranth.lib import data

from dstc.hw.accumulator import AccumulatorTile
from dstc.hw.accumulator_signature import scatter_signature, storage_signature
from dstc.hw.core import DstcCore
from dstc.hw.dense_accumulator import DenseAccumulator
from dstc.hw.dense_core import DenseCore
from dstc.hw.dot_product_pipeline import DotProductPipeline
from dstc.hw.isa import (
    issue_layout,
    ohmma_layout,
    placement_layout,
    scatter_layout,
    work_layout,
)
from dstc.hw.multiply_stage import MultiplyStage
from dstc.hw.shapes import float_layout
from dstc.sim.config import NumberType, preset
from dstc.sim.isa import dense_pipeline_latency, pipeline_latency

PRESETS = ["small", "small-fp16", "int8", "default"]


@pytest.mark.parametrize("preset_name", PRESETS)
def test_one_placement_in_every_pipeline_format(preset_name):
    config = preset(preset_name)
    placement = placement_layout(config)
    for layout in (ohmma_layout, issue_layout, scatter_layout, work_layout):
        assert layout(config)["placement"].shape == placement
    assert list(dict(placement).keys()) == ["rows", "row_valid", "cols", "col_valid"]
    assert ohmma_layout(config) == issue_layout(config)
    assert [name for name, _ in ohmma_layout(config)] == ["a_values", "b_values", "placement"]


@pytest.mark.parametrize(("name", "fields"), [
    ("fp16", {"fraction": (0, 10), "exponent": (10, 5), "sign": (15, 1)}),
    ("fp32", {"fraction": (0, 23), "exponent": (23, 8), "sign": (31, 1)}),
])
def test_float_layout(name, fields):
    layout = float_layout(NumberType.parse(name, "operand_type"))
    assert {field: (f.offset, f.width) for field, f in layout} == fields
    assert layout.size == NumberType.parse(name, "operand_type").width
    view = layout.const({"sign": 1, "exponent": 1, "fraction": 0})
    assert isinstance(view, data.Const)


def test_float_layout_rejects_integers():
    with pytest.raises(ValueError, match=r"^number_type='int8': not a float type$"):
        float_layout(NumberType.parse("int8", "operand_type"))


@pytest.mark.parametrize("preset_name", ["small", "small-fp16"])
def test_accumulators_share_the_storage_signature(preset_name):
    config = preset(preset_name)
    storage = dict(storage_signature(config).members.items())
    sparse, dense = AccumulatorTile(config), DenseAccumulator(config)
    assert sparse.signature == scatter_signature(config)
    for accumulator in (sparse, dense):
        members = dict(accumulator.signature.members.items())
        assert {name: members[name] for name in storage} == storage
    assert set(dict(scatter_signature(config).members.items())) - set(storage) == {
        "scatter_en", "scatter"}
    for component in (sparse, dense):
        Fragment.get(component, None)


@pytest.mark.parametrize("preset_name", ["small", "small-fp16", "small8-pipe"])
def test_pipeline_latency_is_the_specs(preset_name):
    """The cores assert their stages sum to the spec's latencies (2 with the single-cycle
    accumulate, 4 with three accumulate stages); the cycle models use the same functions
    (tb/test_core_model.py, tb/test_dense_model.py)."""
    config = preset(preset_name)
    accumulator, multiply = AccumulatorTile(config), MultiplyStage(config)
    assert multiply.latency + accumulator.latency == pipeline_latency(config) == \
        {1: 2, 3: 4}[config.accumulate_stages]
    assert DotProductPipeline.RESULT_LATENCY == dense_pipeline_latency(config) == 5
    Fragment.get(accumulator, None)
    Fragment.get(multiply, None)


def test_cores_elaborate_with_their_assertions():
    config = preset("small")
    Fragment.get(DstcCore(config), None)
    Fragment.get(DenseCore(config), None)
