"""The pipelined accumulate step (``accumulate_stages``, docs/units/accumulator.md): the
configuration rule, the latency the spec and the hardware share, and the whole core on the
Amaranth simulator, bit-exact and cycle-exact, on directed programs whose OHMMAs (and KSTEP
chunk pairs) hit the same cells back to back, at every distance the forwarding covers; with
the forwarding left out the same programs give wrong tiles exactly when an older OHMMA is
still in flight."""

import gc
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable
from core_scenarios import random_tile_program, worked_example_program

import dstc.hw.core
from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import SPARSE_CORE
from dstc.hw.accumulator import AccumulatorTile
from dstc.hw.core import accumulator_for
from dstc.hw.isa import command_layout, response_layout, scatter_layout
from dstc.hw.multiply_stage import MultiplyStage
from dstc.hw.reach_accumulator import ReachAccumulator
from dstc.sim.bitmap import encode_vectors
from dstc.sim.config import ConfigError, DstcConfig, preset
from dstc.sim.core_model import CoreModel
from dstc.sim.isa import Clear, Drain, Ohmma, lane_reach, pipeline_latency, tile_commands

#: Pipelined configurations of the directed tests: the two presets, two stages on small8,
#: the small-fp16 shape (fp32 accumulation, where the order of the additions matters) with
#: two and three stages, and two tile buffers with three stages.
CONFIGS = {
    "small8-pipe": preset("small8-pipe"),
    "small8-g8-pipe": preset("small8-g8-pipe"),
    "small8-s2": preset("small8").replace(accumulate_stages=2),
    "small-fp16-s2": preset("small-fp16").replace(accumulate_stages=2),
    "small-fp16-s3": preset("small-fp16").replace(accumulate_stages=3),
    "small8-tb2-s3": preset("small8-tb2").replace(accumulate_stages=3),
}

#: fp16 operands whose products span 2^-2 .. 2^24: fp32 sums of them round differently in
#: another order (2^24 + 1 + 1 - 2^24 is 0 in order, 2 otherwise).
_FP16_VALUES = np.array([4096, -4096, 2048, 1, -1, 0.5, 3, 0.25], np.float16)


@pytest.mark.parametrize("value", [0, 4, -1, "3", 2.0, True, None])
def test_accumulate_stages_must_be_one_two_or_three(value):
    with pytest.raises(ConfigError, match=rf"^accumulate_stages={value!r}: must be one of "
                                          r"\[1, 2, 3\] \(1: gather, add and scatter in one "
                                          r"cycle; 2: gather \| add \+ scatter; 3: gather \| "
                                          r"add \| scatter\)$"):
        DstcConfig(accumulate_stages=value)


@pytest.mark.parametrize("stages", [1, 2, 3])
@pytest.mark.parametrize("preset_name", ["small8", "small8-g8"])
def test_latency_of_the_spec_and_the_hardware(preset_name, stages):
    config = preset(preset_name).replace(accumulate_stages=stages)
    with warnings.catch_warnings():     # built to look at, never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        accumulator = accumulator_for(config)
        assert pipeline_latency(config) == 1 + stages
        assert accumulator.latency == stages - 1
        assert MultiplyStage(config).latency + accumulator.latency == pipeline_latency(config)
        del accumulator
        gc.collect()
    assert f"{stages}-stage accumulate" in config.describe() or stages == 1
    assert DstcConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("preset_name", ["small8-pipe", "small8-g8-pipe", "default-pipe"])
def test_pipelining_changes_no_beat_format(preset_name):
    """The command, response and scatter layouts of a pipelined preset are its one-stage
    preset's (so the codec and wire tests of those cover them)."""
    config = preset(preset_name)
    base = config.replace(accumulate_stages=1)
    for layout in (command_layout, response_layout, scatter_layout):
        assert layout(config) == layout(base)


def test_worked_example_with_three_stages():
    """docs/isa.md's worked example on the small preset with ``accumulate_stages=3``: the
    same tile and counters as with one stage, the DRAIN two cycles later (cycle 13, not 11),
    23 cycles and ``cycles_busy`` 22, on the model and on the Amaranth-simulated core."""
    config = preset("small").replace(accumulate_stages=3)
    commands, accept, finish, tile = worked_example_program(config)
    model = CoreModel(config)
    cycles, responses = model.run(commands)
    assert cycles == [*accept[:-1], accept[-1] + 2] == [0, 1, 2, 4, 13]
    assert model.finish_cycle == finish + 2 == 23
    assert np.array_equal(np.array([r.values for r in responses]), tile)
    assert model.all_counters == {"cycles_busy": 22, "ohmma_issued": 6, "useful_macs": 26,
                                  "mac_slots": 48}
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    assert run.counters["cycles_busy"] == 22 and run.accept_cycles[-1] == 13


def _lanes(config, side):
    """``(near, far)``: per lane of ``side``, two positions it reaches, every near position
    distinct from every other and from every far one."""
    lanes = config.array_rows if side == "rows" else config.array_cols
    if config.lane_placement == "crossbar":
        near, far = np.arange(lanes), np.arange(lanes) + lanes
    else:
        reach = lane_reach(config, side)
        near = np.array([positions[0] for positions in reach])
        far = np.array([positions[-1] for positions in reach])
    assert len(set(near.tolist()) | set(far.tolist())) == 2 * lanes, (near, far)
    return near, far


def _values(rng, config, count, exact=False):
    """``count`` nonzero operands: from :data:`_FP16_VALUES` or, when ``exact``, small
    integers (fp32 sums of their products are exact, so no product is ever absorbed)."""
    if config.operand.is_float:
        return rng.choice(_FP16_VALUES[3:5] if exact else _FP16_VALUES, count) * (
            rng.integers(1, 4, count).astype(np.float16) if exact else 1)
    values = rng.integers(-128, 128, count)
    values[values == 0] = 1
    return values


def _ohmma(rng, config, filler=None, exact=False):
    """One OHMMA with every lane valid on the near rows and columns (the cells the hits
    share; on the crossbar in a random lane order, so that a lane meets another lane's cell)
    or, for ``filler`` ``j``, on the far rows and the near (``j`` even) or far (odd) columns:
    cells no hit touches, and none the previous filler touched."""
    near_rows, far_rows = _lanes(config, "rows")
    near_cols, far_cols = _lanes(config, "cols")
    rows, cols = near_rows, near_cols
    if filler is not None:
        rows, cols = far_rows, (far_cols if filler % 2 else near_cols)
    if config.lane_placement == "crossbar":
        rows, cols = rng.permutation(rows), rng.permutation(cols)
    return Ohmma(a_values=_values(rng, config, config.array_rows, exact), a_rows=rows,
                 a_valid=np.ones(config.array_rows, bool),
                 b_values=_values(rng, config, config.array_cols, exact), b_cols=cols,
                 b_valid=np.ones(config.array_cols, bool))


def _hazard(rng, config, distance, exact=False):
    """Two OHMMAs on the same cells ``distance`` issue cycles apart, with fillers between
    that share no cell with them or with each other's neighbour."""
    return [_ohmma(rng, config, exact=exact),
            *[_ohmma(rng, config, filler=j) for j in range(distance - 1)],
            _ohmma(rng, config, exact=exact)]


def _kstep_tile(rng, config, b_chunks):
    """A SpWMMA whose every k-step has the same nonzero rows (one chunk of the near rows)
    and ``b_chunks`` chunks of columns: its chunk pairs hit the same cells 1 (one column
    chunk) or 2 (two) issue cycles apart, also across k-steps."""
    near_rows, _ = _lanes(config, "rows")
    a = np.zeros((config.tile_m, config.k_chunk), np.float16 if config.operand.is_float
                 else np.int64)
    b = np.zeros((config.k_chunk, config.tile_n), a.dtype)
    count = min(config.tile_n, b_chunks * config.array_cols)
    for k in range(config.k_chunk):
        a[near_rows, k] = _values(rng, config, near_rows.size)
        b[k, :count] = _values(rng, config, count)
    a[a == 0], b[b == 0] = 1, 1                 # all nonzero: the bitmaps are the pattern
    return tile_commands(encode_vectors(a.T), encode_vectors(b), config)


def directed_program(rng, config):
    """CLEAR; same-cell OHMMA pairs at distances 1, 2 and 3; three OHMMAs on the same cells
    in a row (both forwarding sources match, the younger must win); SpWMMAs whose KSTEP chunk
    pairs hit the same cells back to back; a DRAIN right after the last issue (with two tile
    buffers, then a CLEAR and a same-cell pair in the other buffer during the drain, and a
    second DRAIN)."""
    commands = [Clear()]
    for distance in (1, 2, 3):
        commands += _hazard(rng, config, distance)
    commands += [_ohmma(rng, config) for _ in range(3)]
    for b_chunks in (1, 2):
        if b_chunks <= config.b_chunks:
            commands += _kstep_tile(rng, config, b_chunks)
    commands.append(Drain())
    if config.tile_buffers == 2:     # the next tile computes in the other buffer meanwhile
        commands += [Clear(), *_hazard(rng, config, 1), Drain()]
    return commands


@pytest.mark.parametrize("name", list(CONFIGS))
def test_back_to_back_updates_of_a_cell(name, rng):
    """Bit-exact and cycle-exact (every accept cycle, the DRAIN waiting ``1 + latency``
    cycles after the last issue) on the directed program."""
    config = CONFIGS[name]
    commands = directed_program(rng, config)
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    first_drain = next(i for i, command in enumerate(commands) if isinstance(command, Drain))
    before = CoreModel(config)                  # the cycle of the last issue before it
    before.run(commands[:first_drain])
    assert run.accept_cycles[first_drain] == \
        before.timing.issue_last + 1 + pipeline_latency(config)
    assert len(run.responses) == config.tile_buffers * config.tile_m


def _without_forwarding(monkeypatch):
    def build(config):
        variant = ReachAccumulator if config.lane_placement == "reach" else AccumulatorTile
        return variant(config, _forwarding=False)

    monkeypatch.setattr(dstc.hw.core, "accumulator_for", build)


@pytest.mark.parametrize("distance", [1, 2, 3])
@pytest.mark.parametrize("name", ["small-fp16-s2", "small-fp16-s3", "small8-g8-pipe"])
def test_forwarding_is_needed_while_an_older_ohmma_is_in_flight(name, distance, rng,
                                                                monkeypatch):
    """Without forwarding, two OHMMAs on the same cells ``distance`` cycles apart leave a
    wrong tile exactly when ``distance < accumulate_stages`` (the older one still in flight
    when the younger gathers: one source with two stages, two with three), and the right
    tile otherwise; with forwarding, always the right one."""
    config = CONFIGS[name]
    commands = [Clear(), *_hazard(rng, config, distance, exact=True), Drain()]
    _, expected = CoreModel(config).run(commands)
    expected = np.array([response.values for response in expected])
    _without_forwarding(monkeypatch)
    run = simulate_commands(config, commands)
    got = np.array([response.values for response in run.responses])
    assert got.shape == expected.shape
    assert np.array_equal(got, expected) == (distance >= config.accumulate_stages), got
    monkeypatch.undo()
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)


@pytest.mark.parametrize("name", ["small8-pipe", "small8-g8-pipe", "small-fp16-s2",
                                  "small8-tb2-s3"])
def test_random_tiles(name, rng):
    """Random SpWMMA tiles, bit-exact and cycle-exact; with two tile buffers the DRAIN swaps
    only once the pipeline is empty (its accept cycle is checked against the model)."""
    config = CONFIGS.get(name) or preset("small8-tb2").replace(accumulate_stages=3)
    commands = random_tile_program(rng, config, tiles=4)
    run = simulate_commands(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    assert len(run.responses) == config.tile_m
