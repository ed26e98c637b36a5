"""The rules of docs/isa.md that the random and malformed-program tests do not pin down, each
observed on the core (the Amaranth simulator, small presets) with an exact response-ready
schedule, and checked against the command-level model where it has an opinion: drain
hand-over under backpressure, empty OHMMA, which dropped beats close an open SpWMMA, KSTEP
error precedence, DENSE's ignored fields, zeros on valid lanes, ``encoded``, what clears
the tile, ``cycles_busy``, the worked example's response cycles and the SpWMMA cycle
formula on lane classes."""

from pathlib import Path

import numpy as np
import pytest
from amaranth import ClockDomain, Module
from amaranth.sim import Simulator
from core_scenarios import worked_example_program

from dstc.gen import cocotb_run
from dstc.gen.core_driver import AcceptMonitor, AmaranthPort, CommandSource, drive
from dstc.gen.design import SPARSE_CORE
from dstc.sim.bitmap import encode_vectors
from dstc.sim.config import preset
from dstc.sim.cycles import spwmma_cycles
from dstc.sim.golden import bitmap_issues
from dstc.sim.isa import (
    Clear,
    ClearStatus,
    Dense,
    Drain,
    ErrorFlag,
    Kstep,
    LoadRow,
    Ohmma,
    RawCommand,
    Spwmma,
    tile_commands,
)

ISA_DOC = Path(__file__).resolve().parent.parent / "docs" / "isa.md"


class _ScheduledSink:
    """Response ``ready`` low exactly in the cycles of ``stalls``; records the cycle of each
    response beat taken."""

    def __init__(self, stalls=()):
        self.stalls, self.cycle, self.taken = set(stalls), -1, []

    def ready(self):
        self.cycle += 1
        return self.cycle not in self.stalls


def _simulate(config, commands, stalls=(), reset_after=None):
    """Run ``commands`` (commands or raw beats) on ``DstcCore`` with ``ready`` low in the
    cycles ``stalls``; with ``reset_after``, pulse reset for one cycle once that many
    commands are accepted and the core is idle. Returns ``(CoreRun, response cycles)``."""
    encoder = SPARSE_CORE.encoder(config)
    beats = [c if isinstance(c, int) else encoder.encode(c) for c in commands]
    sink, monitor, dut, observed = _ScheduledSink(stalls), AcceptMonitor(), \
        SPARSE_CORE.component(config), []
    record = monitor.response

    def response(bits):
        sink.taken.append(sink.cycle)
        record(bits)

    monitor.response = response

    async def bench(ctx):
        port = AmaranthPort(ctx, dut)
        if reset_after is not None:
            first = CommandSource(beats[:reset_after])
            await drive(port, first, sink, monitor, 2000)
            ctx.set(domain.rst, 1)
            await ctx.tick()
            ctx.set(domain.rst, 0)
            source = CommandSource(beats[reset_after:])
        else:
            source = CommandSource(beats)
        cycles = await drive(port, source, sink, monitor, 2000)
        counters = {name: port.read(name) for name in SPARSE_CORE.counters}
        observed.append(monitor.run(encoder, counters, port.read("errors"), cycles))

    top = Module()
    top.domains.sync = domain = ClockDomain()
    top.submodules.core = dut
    sim = Simulator(top)
    sim.add_clock(1e-8, domain=domain)
    sim.add_testbench(bench)
    sim.run()
    return observed[0], sink.taken


def _rows(config, offset=0):
    return [LoadRow(r, np.arange(config.tile_n) + 10 * r + offset) for r in range(config.tile_m)]


def _values(run):
    return np.array([response.values for response in run.responses])


def _ohmma(config, a_values, b_values, a_valid=None, b_valid=None, dtype=np.int64):
    rows, cols = config.array_rows, config.array_cols
    return Ohmma(a_values=np.asarray(a_values, dtype), a_rows=np.arange(rows),
                 a_valid=np.ones(rows, bool) if a_valid is None else np.asarray(a_valid, bool),
                 b_values=np.asarray(b_values, dtype), b_cols=np.arange(cols),
                 b_valid=np.ones(cols, bool) if b_valid is None else np.asarray(b_valid, bool))


# -- drain hand-over ---------------------------------------------------------------------------

def test_drain_without_backpressure_next_command_in_last_row_cycle():
    config = preset("small")
    m = config.tile_m
    run, taken = _simulate(config, [*_rows(config), Drain(), Clear()])
    t = run.accept_cycles[m]
    assert taken == list(range(t + 2, t + m + 2))             # rows leave t+2 .. t+tile_m+1
    assert run.accept_cycles[m + 1] == t + m + 1 == taken[-1]  # next command: last row's cycle
    SPARSE_CORE.check(config, [*_rows(config), Drain(), Clear()], run, timing=True)


def test_drain_backpressure_on_last_row_accepts_commands_that_do_not_touch_it():
    """The last row loaded, held by backpressure: LOAD_ROW, CLEAR and a DRAIN are accepted in
    the next three cycles, and the waiting row is still the old tile's."""
    config = preset("small")
    m = config.tile_m
    drain_cycle = m                                           # after m LOAD_ROWs, one a cycle
    last_load = drain_cycle + m                                # row m-1 loaded in t + tile_m
    stalls = range(last_load + 1, last_load + 15)              # the last row waits 14 cycles
    overwrite = LoadRow(m - 1, np.full(config.tile_n, 99))
    commands = [*_rows(config), Drain(), overwrite, Clear(), Drain(encode=True)]
    run, taken = _simulate(config, commands, stalls)
    assert run.accept_cycles[m] == drain_cycle
    assert run.accept_cycles[m + 1:] == [last_load + 1, last_load + 2, last_load + 3]
    assert taken[m - 1] == last_load + 15                      # still waiting meanwhile
    expected = np.array([c.values for c in _rows(config)])
    assert np.array_equal(_values(run)[:m], expected)          # the old tile, last row included
    assert not any(r.encoded for r in run.responses[:m])       # the first DRAIN's options
    assert np.array_equal(_values(run)[m:], np.zeros_like(expected))
    assert all(r.encoded for r in run.responses[m:])
    # cycles_busy: accepted commands and the cycles a drain has rows left to load (the second
    # one waits for the register from its start), not the first drain's waiting last row
    waiting = taken[m - 1] - (last_load + 4)
    assert run.counters["cycles_busy"] == (m + 1) + m + 3 + waiting + m


def test_drain_backpressure_before_last_load_delays_next_command():
    """Backpressure on an earlier row: the last row is loaded in the cycle the row before it
    is handed over, and the next command is accepted in the cycle after that load."""
    config = preset("small")
    m = config.tile_m
    stalls = range(2 * m - 1, 2 * m + 15)
    run, taken = _simulate(config, [*_rows(config), Drain(), Clear()], stalls)
    assert taken[m - 2] + 1 == taken[m - 1] == run.accept_cycles[m + 1]
    assert taken[m - 2] == stalls[-1] + 2                    # row m-2 after the stall


# -- OHMMA -------------------------------------------------------------------------------------

@pytest.mark.parametrize("side", ["a", "b"])
def test_ohmma_with_no_valid_lane_on_one_side_issues_nothing(side):
    config = preset("small")
    rows, cols = config.array_rows, config.array_cols
    empty = _ohmma(config, np.arange(1, rows + 1), np.arange(1, cols + 1),
                   a_valid=np.zeros(rows) if side == "a" else None,
                   b_valid=np.zeros(cols) if side == "b" else None)
    commands = [Clear(), empty, Drain()]
    run, _ = _simulate(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    assert run.errors == 0
    assert run.counters["ohmma_issued"] == run.counters["mac_slots"] == 0
    assert not _values(run).any()
    # accepted when the sequencer is free, then the DRAIN waits for no pipeline
    assert run.accept_cycles == [0, 1, 2]


def test_ohmma_multiplies_zeros_on_valid_lanes_unlike_spwmma():
    config = preset("small-fp16")
    rows, cols = config.array_rows, config.array_cols
    b = np.zeros(cols, np.float16)
    b[0] = np.inf
    ohmma = _ohmma(config, np.zeros(rows), b, dtype=np.float16)
    run, _ = _simulate(config, [Clear(), ohmma, Drain()])
    assert np.isnan(_values(run)[0, 0]) and np.isnan(_values(run)[1, 0])
    assert run.counters["useful_macs"] == 0                  # zeros are not useful products
    # DENSE also multiplies every lane, zeros included
    a_col = np.zeros(config.tile_m, np.float16)
    b_row = np.zeros(config.tile_n, np.float16)
    b_row[0] = np.inf
    run, _ = _simulate(config, [Clear(), Dense(a_col, b_row), Drain()])
    assert np.isnan(_values(run)[:, 0]).all()
    # SpWMMA: a zero of A has no bitmap bit, so it meets no infinity
    a = np.zeros((config.tile_m, config.k_chunk), np.float16)
    a[1, 0] = 2
    bt = np.zeros((config.k_chunk, config.tile_n), np.float16)
    bt[0, 0] = np.inf
    commands = [Clear(), *tile_commands(encode_vectors(a.T), encode_vectors(bt), config), Drain()]
    run, _ = _simulate(config, commands)
    tile = _values(run)
    assert tile[1, 0] == np.inf and tile[0, 0] == 0 and not np.isnan(tile).any()


# -- dropped beats and the open SpWMMA ---------------------------------------------------------

def _worked_example_with(config, inserted):
    """The worked example's program with ``inserted`` right after its SPWMMA header."""
    commands, *_ = worked_example_program(config)
    index = next(i for i, c in enumerate(commands) if isinstance(c, Spwmma))
    return commands[:index + 1] + inserted + commands[index + 1:]


def _conflict_ohmma(config):
    rows, cols = config.array_rows, config.array_cols
    ohmma = _ohmma(config, np.ones(rows), np.ones(cols))
    return Ohmma(a_values=ohmma.a_values, a_rows=np.zeros(rows, np.int64), a_valid=ohmma.a_valid,
                 b_values=ohmma.b_values, b_cols=ohmma.b_cols, b_valid=ohmma.b_valid)


@pytest.mark.parametrize("case", ["unknown", "conflict", "empty", "dense", "clear"])
def test_dropped_or_other_beats_close_an_open_spwmma(case):
    """Every command but KSTEP and CLEAR_STATUS, dropped or not, closes an open SpWMMA: its
    remaining KSTEPs then arrive unexpected."""
    config = preset("small")
    rows, cols = config.array_rows, config.array_cols
    beat = {"unknown": RawCommand(9), "conflict": _conflict_ohmma(config),
            "empty": _ohmma(config, np.ones(rows), np.ones(cols), a_valid=np.zeros(rows)),
            "dense": Dense(np.zeros(config.tile_m, np.int64), np.zeros(config.tile_n, np.int64)),
            "clear": Clear()}[case]
    own = {"unknown": ErrorFlag.UNKNOWN_OPCODE, "conflict": ErrorFlag.OHMMA_CONFLICT}
    commands = _worked_example_with(config, [beat])
    run, _ = _simulate(config, commands)
    model = SPARSE_CORE.check(config, commands, run, timing=True)
    flags = own.get(case, ErrorFlag(0)) | ErrorFlag.SPWMMA_ABORTED | ErrorFlag.KSTEP_UNEXPECTED
    assert run.errors == int(flags) == model.errors
    issued = config.a_chunks * config.b_chunks if case == "dense" else 0
    assert run.counters["ohmma_issued"] == issued              # the k-steps never issue
    assert not _values(run).any()


def test_dropped_kstep_leaves_the_spwmma_open():
    config = preset("small")
    commands, *_, tile = worked_example_program(config)
    spwmma = next(c for c in commands if isinstance(c, Spwmma))
    first = next(c for c in commands if isinstance(c, Kstep))
    wrong_k = Kstep(3, first.a_count, first.b_count, first.a_values, first.b_values)
    wrong_count = Kstep(first.k, first.a_count + 1, first.b_count, first.a_values, first.b_values)
    inserted = _worked_example_with(config, [wrong_k, wrong_count, ClearStatus(), wrong_k])
    run, _ = _simulate(config, inserted)
    SPARSE_CORE.check(config, inserted, run, timing=True)
    assert run.errors == int(ErrorFlag.KSTEP_ORDER)          # cleared once, raised again
    assert np.array_equal(_values(run), tile)                # the SpWMMA completed as without them
    assert run.counters["ohmma_issued"] == spwmma_cycles(spwmma.a_bitmaps, spwmma.b_bitmaps,
                                                         config) - 1


def test_kstep_error_precedence():
    """Exactly one KSTEP flag: unexpected before order before count mismatch."""
    config = preset("small")
    commands, *_ = worked_example_program(config)
    first = next(c for c in commands if isinstance(c, Kstep))
    both_wrong = Kstep(3, first.a_count + 1, first.b_count, first.a_values, first.b_values)
    for program, flag in (([Clear(), both_wrong], ErrorFlag.KSTEP_UNEXPECTED),
                          (_worked_example_with(config, [both_wrong]), ErrorFlag.KSTEP_ORDER)):
        run, _ = _simulate(config, program)
        assert run.errors == int(flag) == SPARSE_CORE.check(config, program, run,
                                                            timing=True).errors


# -- DENSE, responses, tile state --------------------------------------------------------------

def test_dense_ignores_k_and_counts():
    config = preset("small")
    rng = np.random.default_rng(12)
    a, b = rng.integers(-3, 4, config.tile_m), rng.integers(-3, 4, config.tile_n)
    encoder = SPARSE_CORE.encoder(config)
    dense = Dense(a, b)
    odd = encoder.encode(Kstep(config.k_chunk - 1, 5, 3, a, b))
    odd = (odd & ~0xF) | int(dense.opcode)                    # a DENSE beat with k and counts
    plain, _ = _simulate(config, [Clear(), dense, Drain()])
    other, _ = _simulate(config, [Clear(), odd, Drain()])
    assert np.array_equal(_values(plain), np.outer(a, b))
    assert np.array_equal(_values(other), _values(plain))
    assert other.accept_cycles == plain.accept_cycles and other.counters == plain.counters
    assert other.errors == plain.errors == 0


def test_encoded_field_tells_the_drain_option():
    config = preset("small")
    run, _ = _simulate(config, [*_rows(config), Drain(), Drain(encode=True)])
    m = config.tile_m
    assert [r.encoded for r in run.responses] == [False] * m + [True] * m


def test_drain_keeps_the_tile_and_reset_clears_it():
    config = preset("small")
    m = config.tile_m
    run, _ = _simulate(config, [*_rows(config), Drain(), Drain()])
    assert np.array_equal(_values(run)[:m], _values(run)[m:]) and _values(run).any()
    run, _ = _simulate(config, [*_rows(config), Drain()], reset_after=m)
    assert not _values(run).any()


def test_cycles_busy_counts_accepts_issues_pipeline_and_drain_loads():
    """Dropped beats count (they are accepted); CLEAR_STATUS's own cycle does not (the counter
    clears); idle gaps and a row waiting under backpressure do not."""
    config = preset("small")
    commands = [Clear(), RawCommand(9), ClearStatus(), RawCommand(9), *worked_example_program(
        config)[0]]
    run, _ = _simulate(config, commands)
    model = SPARSE_CORE.check(config, commands, run, timing=True)
    # after CLEAR_STATUS: the unknown beat, the worked example's 20 busy cycles
    assert run.counters["cycles_busy"] == 1 + 20 == model.all_counters["cycles_busy"]
    assert run.errors == int(ErrorFlag.UNKNOWN_OPCODE)


# -- worked example, SpWMMA formula, doc text --------------------------------------------------

def test_worked_example_response_cycles_and_doc_table():
    config = preset("small")
    commands, accept, finish, tile = worked_example_program(config)
    run, taken = _simulate(config, commands)
    drain = accept[-1]
    assert run.accept_cycles == accept and run.cycles == finish
    assert taken == list(range(drain + 2, drain + config.tile_m + 2))
    text = ISA_DOC.read_text()
    assert f"| {drain} | DRAIN |" in text
    assert f"rows leave in cycles {taken[0]} to {taken[-1]}" in text
    assert f"The run ends after {finish} cycles" in text


def _rounds(bitmaps, lanes, classes):
    """docs/isa.md's ``rounds(bitmap, lanes, G)`` of each k-step, written out here."""
    positions = np.arange(bitmaps.shape[1])
    per_class = np.stack([bitmaps[:, positions % classes == g].sum(1) for g in range(classes)])
    return (-(-per_class // (lanes // classes))).max(0)


@pytest.mark.parametrize("preset_name", ["small", "small8-g4"])
def test_spwmma_cycles_use_array_shape_and_lane_classes(preset_name, rng):
    """Back-to-back SpWMMAs on the core: the header-to-header distance is the doc's formula
    in the array shape and lane classes (and the model's ``spwmma_cycles``)."""
    config = preset(preset_name)
    a = rng.random((config.tile_m, config.k_chunk)) < 0.7
    b = rng.random((config.k_chunk, config.tile_n)) < 0.7
    a[:, 1] = False                                            # one k-step with an empty side
    a_tile, b_tile = encode_vectors(a.T.astype(np.int64)), encode_vectors(b.astype(np.int64))
    program = tile_commands(a_tile, b_tile, config)
    commands = [Clear(), *program, *program, Drain()]
    run, _ = _simulate(config, commands)
    SPARSE_CORE.check(config, commands, run, timing=True)
    headers = [i for i, c in enumerate(commands) if isinstance(c, Spwmma)]
    measured = run.accept_cycles[headers[1]] - run.accept_cycles[headers[0]]
    a_maps, b_maps = a.T, b
    doc = int((_rounds(a_maps, config.array_rows, config.row_classes)
               * _rounds(b_maps, config.array_cols, config.col_classes)
               * (a_maps.any(1) & b_maps.any(1))).sum()) + 1
    assert measured == doc == spwmma_cycles(a_maps, b_maps, config)
    assert doc - 1 == int(bitmap_issues(a_maps, b_maps, config).sum())
    assert run.counters["ohmma_issued"] == 2 * (doc - 1)


def test_doc_names_the_verilator_flags_of_a_cocotb_runner():
    text = ISA_DOC.read_text()
    assert " ".join(cocotb_run.VERILATOR_ARGS) in text
    assert f'timescale=("{cocotb_run.TIMESCALE[0]}", "{cocotb_run.TIMESCALE[1]}")' in text
    assert 'public_flat_rw -module "dstc_core" -var "*"' in text
    assert "--public-flat-rw" in text


def test_ohmma_dropped_for_reach_closes_an_open_spwmma(rng):
    config = preset("small8-reach")
    rows, cols = config.array_rows, config.array_cols
    a = rng.random((config.tile_m, config.k_chunk)) < 0.5
    b = rng.random((config.k_chunk, config.tile_n)) < 0.5
    a[0, :] = b[:, 0] = True                                   # every k-step expects a KSTEP
    program = tile_commands(encode_vectors(a.T.astype(np.int64)),
                            encode_vectors(b.astype(np.int64)), config)
    far = np.arange(rows)
    far[0] = config.tile_m - 1                                 # lane 0 cannot reach the last row
    reach = Ohmma(a_values=np.ones(rows, np.int64), a_rows=far, a_valid=np.ones(rows, bool),
                  b_values=np.ones(cols, np.int64), b_cols=np.arange(cols),
                  b_valid=np.ones(cols, bool))
    commands = [Clear(), program[0], reach, *program[1:], Drain()]
    run, _ = _simulate(config, commands)
    model = SPARSE_CORE.check(config, commands, run, timing=True)
    flags = ErrorFlag.OHMMA_REACH | ErrorFlag.SPWMMA_ABORTED | ErrorFlag.KSTEP_UNEXPECTED
    assert run.errors == int(flags) == model.errors
    assert run.counters["ohmma_issued"] == 0 and not _values(run).any()
