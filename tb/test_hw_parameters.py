"""The constructors' parameter checks (hw/parameters.py) and the component bases."""

import gc
import warnings

import pytest
from amaranth.hdl import Fragment, UnusedElaboratable

from dstc.hw.accumulator import AccumulatorTile
from dstc.hw.core import accumulator_for
from dstc.hw.dense_core import DenseCore
from dstc.hw.parameters import check_at_least, check_ordered, check_powers_of_two
from dstc.hw.reach_accumulator import ReachAccumulator
from dstc.hw.scatter_accumulator import ScatterAccumulator
from dstc.sim.config import ConfigError, preset
from dstc.sim.isa import DenseGeometry


@pytest.mark.parametrize("call, message", [
    (lambda: check_at_least(width=0), r"^width=0: must be a positive integer$"),
    (lambda: check_at_least(width=True), r"^width=True: must be a positive integer$"),
    (lambda: check_at_least(width=4, rows=2.0), r"^rows=2\.0: must be a positive integer$"),
    (lambda: check_at_least(2, width=1), r"^width=1: must be an integer of at least 2$"),
    (lambda: check_powers_of_two(lanes=6), r"^lanes=6: must be a power of two$"),
    (lambda: check_powers_of_two(lanes=0), r"^lanes=0: must be a power of two$"),
    (lambda: check_powers_of_two(lanes=4.0), r"^lanes=4\.0: must be a power of two$"),
    (lambda: check_ordered(lanes=8, width=4), r"^lanes=8: must not exceed width=4$"),
    (lambda: check_ordered(classes=2, lanes=8, width=4),
     r"^classes=2, lanes=8, width=4: must satisfy classes <= lanes <= width$"),
])
def test_checks_name_the_parameter_the_value_and_the_rule(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_checks_accept_what_the_rules_allow():
    check_at_least(width=1, lanes=7)
    check_at_least(2, width=2)
    check_powers_of_two(width=1, lanes=64)
    check_ordered(lanes=4, width=4)
    check_ordered(classes=1, lanes=4, width=16)


@pytest.mark.parametrize("preset_name, variant", [
    ("small8", AccumulatorTile), ("small8-reach", ReachAccumulator),
    ("small8-g8h2", ReachAccumulator), ("small8-pipe", AccumulatorTile),
    ("small8-g8-pipe", ReachAccumulator),
])
def test_every_sparse_accumulator_is_a_scatter_accumulator(preset_name, variant):
    config = preset(preset_name)
    accumulator = accumulator_for(config)
    assert type(accumulator) is variant and isinstance(accumulator, ScatterAccumulator)
    assert accumulator.config is config
    assert accumulator.latency == config.accumulate_stages - 1
    Fragment.get(accumulator, None)


def test_dense_components_keep_the_geometry():
    config = preset("small")
    core = DenseCore(config)
    assert core.config is config and core.geometry == DenseGeometry.of(config)
    Fragment.get(core, None)
    with warnings.catch_warnings():       # the half-built core is never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ConfigError, match="dense baseline"):
            DenseCore(preset("small").replace(k_chunk=2))
        gc.collect()
