"""The configuration object: presets, derived values, validation messages."""

import json
import re

import pytest

from dstc.sim.config import PRESETS, ConfigError, DstcConfig, preset


def test_default_is_the_paper_sub_core():
    config = preset("default")
    assert (config.array_rows, config.array_cols) == (8, 16)
    assert (config.tile_m, config.tile_n, config.k_chunk) == (32, 32, 16)
    assert (config.operand_type, config.accum_type) == ("fp16", "fp32")
    assert config.macs == 128
    assert (config.a_chunks, config.b_chunks, config.max_ohmma_per_kstep) == (4, 2, 8)
    assert config.dense_tile_issues == 128  # 32x32x16 dense at 128 MACs per cycle
    assert config.product.name == "fp32"


def test_presets():
    assert {"default", "int8", "small", "small-fp16"} <= set(PRESETS)
    assert preset("int8").accum.width == 32 and preset("int8").product.width == 16
    small = preset("small")
    assert small.macs == 8 and small.accum_type == "int16"
    for config in PRESETS.values():
        assert DstcConfig.from_json(config.to_json()) == config


def test_frozen():
    with pytest.raises(AttributeError):
        preset("default").tile_m = 64


def test_json_is_canonical():
    text = preset("small").to_json()
    assert text == preset("small").to_json()
    assert list(json.loads(text)) == sorted(json.loads(text))


@pytest.mark.parametrize("changes, message", [
    ({"array_rows": 6}, "array_rows=6: must be a power of two"),
    ({"tile_n": 48}, "tile_n=48: must be a power of two"),
    ({"k_chunk": 0}, "k_chunk=0: must be a power of two"),
    ({"tile_m": 512}, "tile_m=512: must be at most 256"),
    ({"array_cols": 8.0}, "array_cols=8.0: must be an integer"),
    ({"array_rows": True}, "array_rows=True: must be an integer"),
    ({"array_rows": 64}, "array_rows=64: the multiplier array must not be taller than the "
                         "output tile (tile_m=32)"),
    ({"array_cols": 64}, "array_cols=64: the multiplier array must not be wider than the "
                         "output tile (tile_n=32)"),
    ({"operand_type": "bf16"}, "operand_type='bf16': unknown number type"),
    ({"operand_type": "int1"}, "operand_type='int1': integer width must be between 2 and 32"),
    ({"accum_type": "int99", "operand_type": "int8"},
     "accum_type='int99': integer width must be between 2 and 64"),
    ({"operand_type": "fp32"}, "operand_type='fp32': the only float operand type is 'fp16'"),
    ({"accum_type": "int32"}, "accum_type='int32': fp16 operands accumulate in 'fp32'"),
    ({"operand_type": "int8"}, "accum_type='fp32': integer operands need an integer "
                               "accumulator"),
    ({"operand_type": "int8", "accum_type": "int12"},
     "accum_type='int12': accumulator is narrower than a product of two int8 operands "
     "(16 bits)"),
])
def test_invalid_values_name_parameter_value_and_rule(changes, message):
    with pytest.raises(ConfigError) as error:
        DstcConfig(**changes)
    assert message in str(error.value)


@pytest.mark.parametrize("changes, message", [
    ({"lane_placement": "butterfly"},
     "lane_placement='butterfly': must be one of ['crossbar', 'reach']"),
    ({"lane_placement": None}, "lane_placement=None: must be one of ['crossbar', 'reach']"),
    ({"row_classes": 3, "lane_placement": "reach"}, "row_classes=3: must be one of [1, 2, 4, 8]"),
    ({"row_classes": 16, "lane_placement": "reach", "array_rows": 16},
     "row_classes=16: must be one of [1, 2, 4, 8]"),
    ({"col_classes": 4, "lane_placement": "reach"}, "col_classes=4: must be one of [1, 2]"),
    ({"col_classes": True, "lane_placement": "reach"},
     "col_classes=True: must be one of [1, 2]"),
    ({"row_classes": 8, "lane_placement": "reach", "array_rows": 4},
     "row_classes=8: must divide the lanes (array_rows=4) and the tile (tile_m=32): a class "
     "needs at least one lane"),
    ({"col_classes": 2, "lane_placement": "reach", "array_cols": 1},
     "col_classes=2: must divide the lanes (array_cols=1) and the tile (tile_n=32)"),
    ({"row_classes": 2}, "row_classes=2: lane classes need lane_placement='reach' (lane "
                         "skipping inside each class), not 'crossbar'"),
    ({"col_classes": 2}, "col_classes=2: lane classes need lane_placement='reach'"),
    ({"kstep_bitmaps": "both"}, "kstep_bitmaps='both': must be one of ['header', 'inline']"),
    ({"kstep_bitmaps": None}, "kstep_bitmaps=None: must be one of ['header', 'inline']"),
])
def test_invalid_accumulator_variants(changes, message):
    with pytest.raises(ConfigError) as error:
        DstcConfig(**changes)
    assert message in str(error.value)


def test_accumulator_variant_fields():
    config = preset("default")
    assert (config.lane_placement, config.row_classes, config.col_classes) == ("crossbar", 1, 1)
    variant = config.replace(lane_placement="reach", row_classes=8, col_classes=2)
    assert (variant.row_class_lanes, variant.col_class_lanes) == (1, 8)
    values = json.loads(variant.to_json())
    assert (values["lane_placement"], values["row_classes"], values["col_classes"]) == \
        ("reach", 8, 2)
    assert DstcConfig.from_json(variant.to_json()) == variant
    assert variant.describe().endswith(", reach lanes, 8x2 lane classes")
    assert preset("default").describe() == \
        "8x16 multipliers, 32x32 tile, k-chunk 16, fp16 -> fp32"
    small8 = preset("small8")
    assert (small8.array_rows, small8.array_cols, small8.tile_m, small8.tile_n) == (8, 4, 16, 16)
    assert preset("small8-reach") == small8.replace(lane_placement="reach")
    assert preset("default-reach") == config.replace(lane_placement="reach")


def test_unknown_preset_and_parameter():
    with pytest.raises(ConfigError, match=r"preset='huge': unknown preset; known: \["):
        preset("huge")
    with pytest.raises(ConfigError, match="tile_k: unknown configuration parameter"):
        DstcConfig.from_dict({"tile_k": 4})
    with pytest.raises(ConfigError, match="must be a JSON object"):
        DstcConfig.from_json("[1, 2]")


def test_replace_validates():
    assert preset("default").replace(tile_m=64).tile_m == 64
    with pytest.raises(ConfigError, match="tile_m=3"):
        preset("default").replace(tile_m=3)


def test_json_carries_the_schema_version():
    config = preset("small")
    values = json.loads(config.to_json())
    assert values["schema"] == DstcConfig.SCHEMA_VERSION == 1
    assert "schema" not in config.to_dict()            # the parameters alone
    assert DstcConfig(**config.to_dict()) == config


def test_json_without_schema_is_read_as_version_1():
    """config.json files written before the version was recorded have no "schema" key."""
    for config in PRESETS.values():
        assert DstcConfig.from_json(json.dumps(config.to_dict())) == config


@pytest.mark.parametrize("schema", [2, 0, -1, "1", 1.0, True, None])
def test_other_schema_versions_are_rejected(schema):
    text = json.dumps({**preset("small").to_dict(), "schema": schema})
    with pytest.raises(ConfigError) as error:
        DstcConfig.from_json(text)
    assert str(error.value) == (f"schema={schema!r}: unsupported configuration schema version; "
                                "this version of dstc reads schema 1")


@pytest.mark.parametrize("text, message", [
    ("", "empty; expected a JSON object"),
    ("{", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
    ("[]", "configuration must be a JSON object, not list"),
    ('{"k_chunk": 4, "k_chunk": 8}', "k_chunk: given twice"),
    ('{"accum_type": {"int": 32}}', "accum_type={'int': 32}: must be a string naming a number "
                                    "type"),
])
def test_json_errors_are_config_errors(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        DstcConfig.from_json(text)


def test_json_with_a_byte_order_mark_and_canonical_names():
    text = "\ufeff" + preset("int8").to_json().replace('"int8"', '"int0008"')
    config = DstcConfig.from_json(text)
    assert config == preset("int8") and config.to_json() == preset("int8").to_json()
    assert hash(config) == hash(preset("int8"))


def test_load_names_the_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_bytes(b"\x80")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not UTF-8 text (byte 0x80 at "
                                                    f"offset 0); save it as UTF-8 JSON")):
        DstcConfig.load(path)
    path.write_text(preset("small").to_json())
    assert DstcConfig.load(path) == preset("small")
