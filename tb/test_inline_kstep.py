"""``kstep_bitmaps="inline"`` (docs/isa.md, "Inline k-step bitmaps"): KSTEPs that carry their
own bitmaps and no SPWMMA header, in the configuration, the models, the encoder, the
hardware's check unit, the core on the Amaranth simulator and the generated Verilog."""

import re

import numpy as np
import pytest
from amaranth.sim import Simulator
from core_scenarios import (
    empty_side_ksteps,
    malformed_programs,
    random_tile_program,
    same_gemm,
    tile_occupancies,
)
from designs import core_design

from dstc.gen.codec import CodecError
from dstc.gen.core_driver import simulate_commands
from dstc.gen.design import SPARSE_CORE
from dstc.gen.estimate import expected_gemm_commands
from dstc.gen.explore_spec import SPARSE_ONLY_FIELDS, dense_config, tiling
from dstc.gen.isa_doc import isa_tables
from dstc.gen.wire import CommandEncoder, UnsupportedCommand
from dstc.hw.isa import command_layout, kstep_layout
from dstc.hw.kstep_check import InlineKstepCheck
from dstc.sim.config import ConfigError, DstcConfig, preset
from dstc.sim.core_model import CoreModel
from dstc.sim.cycles import spwmma_cycles, spwmma_fixed_cycles
from dstc.sim.gemm_cycles import gemm_cycles
from dstc.sim.isa import (
    CommandError,
    ErrorFlag,
    Kstep,
    Opcode,
    RawCommand,
    Spwmma,
    check_command,
    core_opcodes,
)
from dstc.sim.program import gemm_program, random_operands, sparse_gemm_cycles

INLINE = preset("small8-inline")


# -- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    ("both", "kstep_bitmaps='both': must be one of ['header', 'inline']"),
    (None, "kstep_bitmaps=None: must be one of ['header', 'inline']"),
    (1, "kstep_bitmaps=1: must be one of ['header', 'inline']"),
    ("Inline", "kstep_bitmaps='Inline': must be one of ['header', 'inline']"),
])
def test_bad_values_are_refused_with_the_rule(value, message):
    with pytest.raises(ConfigError) as error:
        DstcConfig(kstep_bitmaps=value)
    assert str(error.value) == message
    with pytest.raises(ConfigError, match=re.escape(message)):
        DstcConfig.from_json(f'{{"kstep_bitmaps": {"null" if value is None else repr(value)}}}'
                             .replace("'", '"'))


def test_field_presets_and_json_round_trip():
    assert preset("default").kstep_bitmaps == "header"          # today's ISA is the default
    assert INLINE == preset("small8").replace(kstep_bitmaps="inline")
    assert preset("default-inline") == DstcConfig(kstep_bitmaps="inline")
    assert DstcConfig.from_json(INLINE.to_json()) == INLINE
    assert '"kstep_bitmaps": "inline"' in INLINE.to_json()
    assert DstcConfig.from_dict({"tile_m": 16}).kstep_bitmaps == "header"   # older files
    assert INLINE.describe().endswith(", inline k-step bitmaps")
    assert (spwmma_fixed_cycles(INLINE), spwmma_fixed_cycles(preset("small8"))) == (0, 1)


# -- the ISA: layouts, opcodes, checks, encoder --------------------------------------------------

def test_layouts_and_beat_width():
    header, inline = preset("small8"), INLINE
    bodies = {name for name, _ in command_layout(inline)["body"].shape}
    assert bodies == {"kstep", "ohmma", "load", "drain"}              # no SPWMMA header body
    assert kstep_layout(inline).size == kstep_layout(header).size + 16 + 16
    # Every field of today's KSTEP body keeps its offset; the bitmaps come after the values.
    for name, field in kstep_layout(header):
        assert kstep_layout(inline)[name].offset == field.offset
    # small8's widest body is the KSTEP's: the beat grows by tile_m + tile_n bits.
    assert command_layout(inline).size == command_layout(header).size + 32
    default = preset("default")
    assert command_layout(default.replace(kstep_bitmaps="inline")).size == \
        command_layout(default).size + 64
    assert "Body `header`" not in isa_tables(inline) and "`a_bitmap`" in isa_tables(inline)
    assert core_opcodes(inline) == frozenset(Opcode) - {Opcode.SPWMMA}


def _kstep(config, rng, a_density=0.5, b_density=0.5, **changes):
    a_map = rng.random(config.tile_m) < a_density
    b_map = rng.random(config.tile_n) < b_density
    fields = dict(k=0, a_count=int(a_map.sum()), b_count=int(b_map.sum()),
                  a_values=random_operands(rng, config, config.tile_m, 1.0),
                  b_values=random_operands(rng, config, config.tile_n, 1.0),
                  a_bitmap=a_map, b_bitmap=b_map)
    return Kstep(**{**fields, **changes})


def test_command_checks_and_encoder(rng):
    kstep = _kstep(INLINE, rng)
    check_command(kstep, INLINE)
    with pytest.raises(CommandError, match=r"Kstep: a_bitmap has shape \(15,\), the "
                                           r"configuration needs \(16,\)"):
        check_command(_kstep(INLINE, rng, a_bitmap=np.ones(15, bool)), INLINE)
    with pytest.raises(CommandError, match="Kstep: b_bitmap has shape \\(\\), "):
        check_command(_kstep(INLINE, rng, b_bitmap=None), INLINE)
    with pytest.raises(CommandError, match="kstep_bitmaps='header' takes the bitmaps from"):
        check_command(kstep, preset("small8"))
    encoder = CommandEncoder(INLINE)
    fields = encoder.command_codec.unpack(encoder.encode(kstep))
    assert fields["opcode"] == Opcode.KSTEP
    body = fields["body"]["kstep"]
    assert [(body["a_bitmap"] >> r) & 1 for r in range(16)] == kstep.a_bitmap.astype(int).tolist()
    assert [(body["b_bitmap"] >> c) & 1 for c in range(16)] == kstep.b_bitmap.astype(int).tolist()
    with pytest.raises(CodecError, match=r"Kstep: a_bitmap has shape \(17,\), the layout "
                                         r"needs \(16,\)"):
        encoder.encode(_kstep(INLINE, rng, a_bitmap=np.ones(17, bool)))
    with pytest.raises(CodecError, match="kstep_bitmaps='inline' needs both bitmaps"):
        encoder.encode(_kstep(INLINE, rng, a_bitmap=None, b_bitmap=None))
    with pytest.raises(CodecError, match="kstep_bitmaps='header' needs None for both"):
        CommandEncoder(preset("small8")).encode(kstep)
    with pytest.raises(UnsupportedCommand, match="no SPWMMA header"):
        encoder.encode(Spwmma(a_bitmaps=np.zeros((4, 16), bool),
                              b_bitmaps=np.zeros((4, 16), bool)))


# -- the command-level model ---------------------------------------------------------------------

def test_model_count_mismatch_is_flagged_and_dropped(rng):
    model = CoreModel(INLINE)
    good = _kstep(INLINE, rng, 0.6, 0.6)
    for wrong in (_kstep(INLINE, rng, a_count=good.a_count + 1, a_bitmap=good.a_bitmap,
                         b_bitmap=good.b_bitmap, b_count=good.b_count),
                  Kstep(good.k, good.a_count, good.b_count - 1, good.a_values, good.b_values,
                        good.a_bitmap, good.b_bitmap)):
        model.execute(wrong)
    assert model.errors == ErrorFlag.COUNT_MISMATCH
    assert not model.tile.any() and model.counters["ohmma_issued"] == 0
    model.execute(good)                                    # nothing was left expecting
    assert model.errors == ErrorFlag.COUNT_MISMATCH and model.tile.any()


def test_model_drops_spwmma_as_unknown_opcode(rng):
    model = CoreModel(INLINE)
    a_maps = rng.random((4, 16)) < 0.5
    for command in (RawCommand(Opcode.SPWMMA), Spwmma(a_bitmaps=a_maps, b_bitmaps=a_maps)):
        model.execute(command)
        assert model.errors == ErrorFlag.UNKNOWN_OPCODE and not model.pending.any()
    header = CoreModel(preset("small8"))
    header.execute(Spwmma(a_bitmaps=a_maps, b_bitmaps=a_maps))
    assert header.errors == 0


def test_model_empty_side_issues_nothing(rng):
    model = CoreModel(INLINE)
    cycles = []
    for a_density, b_density in ((0.0, 1.0), (1.0, 0.0), (0.0, 0.0)):
        cycle, _ = model.execute(_kstep(INLINE, rng, a_density, b_density))
        cycles.append(cycle)
    assert cycles == [0, 1, 2] and model.errors == 0
    assert not model.tile.any() and model.counters == dict.fromkeys(model.counters, 0)
    assert model.timing.busy == 3                          # the three accept cycles only


def test_same_gemm_same_tile_header_count_fewer_cycles_in_the_models(rng):
    header_config = preset("small8")
    for density in (0.1, 0.3, 0.6, 1.0):
        a = random_operands(rng, header_config, (40, 23), density)
        b = random_operands(rng, header_config, (23, 37), density)
        header, inline = CoreModel(header_config), CoreModel(INLINE)
        programs = gemm_program(a, b, header_config), gemm_program(a, b, INLINE)
        _, header_rows = header.run(programs[0].commands)
        _, inline_rows = inline.run(programs[1].commands)
        assert np.array_equal(programs[0].assemble(header_rows), programs[1].assemble(inline_rows))
        assert header.all_counters["ohmma_issued"] == inline.all_counters["ohmma_issued"]
        headers = sum(isinstance(command, Spwmma) for command in programs[0].commands)
        assert not any(isinstance(command, Spwmma) for command in programs[1].commands)
        assert len(programs[0].commands) - len(programs[1].commands) == headers
        # Every header costs a cycle, but a header-only SpWMMA after a tile's last issuing one
        # overlaps the drain's pipeline wait (at most 1 + pipeline_latency of them per tile).
        hidden = _hidden_headers(programs[0].commands)
        assert header.finish_cycle - inline.finish_cycle == headers - hidden, density
        fast = gemm_cycles(a != 0, b != 0, INLINE)
        assert (fast.cycles, fast.headers, fast.commands) == \
            (inline.finish_cycle, 0, len(programs[1].commands))


def _hidden_headers(commands):
    """Per output tile that issues, the header-only SPWMMAs after its last KSTEP, at most
    1 + pipeline_latency (3) each."""
    hidden, trailing, issued = 0, 0, False
    for command in commands:
        if isinstance(command, Spwmma):
            trailing += 1
        elif isinstance(command, Kstep):
            trailing, issued = 0, True
        elif command.opcode == Opcode.DRAIN:
            hidden += min(3, trailing) if issued else 0
            trailing, issued = 0, False
    return hidden


@pytest.mark.parametrize("preset_name", ["small8-inline", "default-inline"])
def test_fast_cycle_model_equals_the_command_level_model(rng, preset_name):
    config = preset(preset_name)
    largest = 40 if preset_name.startswith("small") else 100
    for trial in range(25):
        m, n, k = (int(v) for v in rng.integers(1, largest + 1, 3))
        density_a, density_b = rng.choice([0.0, 0.02, 0.1, 0.3, 0.6, 1.0], 2)
        a_bits, b_bits = rng.random((m, k)) < density_a, rng.random((k, n)) < density_b
        with_c = trial % 3 == 0
        c = np.ones((m, n), np.int64) if with_c else None
        program = gemm_program(a_bits.astype(np.int8), b_bits.astype(np.int8), config, c=c)
        fast = gemm_cycles(a_bits, b_bits, config, with_c=with_c)
        assert fast.cycles == sparse_gemm_cycles(program), (m, n, k)
        assert fast.commands == len(program.commands) and fast.headers == 0
        header = gemm_cycles(a_bits, b_bits, config.replace(kstep_bitmaps="header"),
                             with_c=with_c)
        assert header.cycles - fast.cycles <= header.headers == header.tiles_issued
        assert header.commands - fast.commands == header.headers


def test_estimate_and_explore_follow_the_field():
    shape, default = (512, 512, 512), preset("default")
    inline = preset("default-inline")
    assert expected_gemm_commands(shape, default, 0.2, 0.2) > \
        expected_gemm_commands(shape, inline, 0.2, 0.2)
    # The dense baseline has no SPWMMA/KSTEP: both share one baseline and one tiling.
    assert "kstep_bitmaps" in SPARSE_ONLY_FIELDS
    assert dense_config(inline, default) == default and tiling(inline) == default
    assert spwmma_cycles(np.ones((16, 32), bool), np.ones((16, 32), bool), inline) == \
        spwmma_cycles(np.ones((16, 32), bool), np.ones((16, 32), bool), default) - 1


# -- hardware ------------------------------------------------------------------------------------

def test_inline_kstep_check_unit(rng):
    """InlineKstepCheck against popcounts and the rule: exactly one of count_mismatch,
    empty and issue, on 300 random offers (right and wrong counts, empty sides)."""
    dut = InlineKstepCheck(INLINE)
    seen = set()

    async def bench(ctx):
        for _ in range(300):
            a_map, b_map = (int(v) & int(rng.choice([0, 0xFFFF, 0x0F0F, 0x1])) for v in
                            rng.integers(0, 1 << 16, 2))
            a_count = a_map.bit_count() + int(rng.choice([0, 0, 0, 1, -1]))
            b_count = b_map.bit_count() + int(rng.choice([0, 0, 0, 1]))
            a_count = min(max(a_count, 0), 16)
            ctx.set(dut.a_bitmap, a_map)
            ctx.set(dut.b_bitmap, b_map)
            ctx.set(dut.kstep_a_count, a_count)
            ctx.set(dut.kstep_b_count, b_count)
            mismatch = (a_count, b_count) != (a_map.bit_count(), b_map.bit_count())
            empty = not mismatch and not (a_map and b_map)
            got = (ctx.get(dut.count_mismatch), ctx.get(dut.empty), ctx.get(dut.issue))
            assert got == (int(mismatch), int(empty), int(not mismatch and not empty))
            assert (ctx.get(dut.a_popcount), ctx.get(dut.b_popcount)) == \
                (a_map.bit_count(), b_map.bit_count())
            seen.add(got)

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {(1, 0, 0), (0, 1, 0), (0, 0, 1)}


def test_core_on_the_amaranth_simulator(rng):
    """Random tiles (with occupancies), the malformed programs, empty sides and the same
    GEMM as small8 with one cycle per header fewer, bit- and cycle-exact."""
    commands = random_tile_program(rng, INLINE, tiles=8)
    run = simulate_commands(INLINE, commands)
    SPARSE_CORE.check(INLINE, commands, run)
    pairs = tile_occupancies(INLINE, commands, run.accept_cycles)
    assert pairs and all(measured == predicted for measured, predicted in pairs), pairs
    for name, (commands, flags, _) in malformed_programs(rng, INLINE).items():
        run = simulate_commands(INLINE, commands)
        assert run.errors == int(flags) == SPARSE_CORE.check(INLINE, commands, run).errors, name
    commands = empty_side_ksteps(rng, INLINE)
    run = simulate_commands(INLINE, commands)
    SPARSE_CORE.check(INLINE, commands, run)
    assert run.counters["ohmma_issued"] == 4 * INLINE.max_ohmma_per_kstep and run.errors == 0
    seed = int(rng.integers(1 << 32))
    runs = {}
    for config in (preset("small8"), INLINE):
        gemm = same_gemm(np.random.default_rng(seed), config)
        run = simulate_commands(config, gemm.commands)
        SPARSE_CORE.check(config, gemm.commands, run)
        runs[config.kstep_bitmaps] = (run.cycles, gemm.digest(run.responses), gemm.headers)
    assert runs["header"][1] == runs["inline"][1]
    assert runs["header"][0] - runs["inline"][0] == runs["header"][2] > 0


def _flip_flop_bits(verilog):
    """Flip-flop bits of a generated design: the widths of the registers that the
    ``always @(posedge clk)`` blocks assign, over every module (Amaranth writes one module
    per instance). Also returns their names."""
    total, names = 0, []
    for module in re.split(r"^module ", verilog, flags=re.M)[1:]:
        widths = {name: int(high) - int(low) + 1 if high else 1
                  for high, low, name in re.findall(
                      r"^\s*reg (?:\[(\d+):(\d+)\] )?(\\?\S+)", module, flags=re.M)}
        for name in re.findall(r"always @\(posedge clk\)\s*(?:if \([^\n]*\)\s*)?(\\?\S+) <=",
                               module):
            total += widths[name]
            names.append(name)
    return total, names


def test_generated_verilog_has_no_header_register():
    """The inline core's Verilog holds (tile_m + tile_n) * k_chunk + k_chunk flip-flops fewer
    than small8's: no header bitmaps, no pending bits."""
    header_bits, header_names = _flip_flop_bits(core_design("small8").path.read_text())
    inline_bits, inline_names = _flip_flop_bits(core_design("small8-inline").path.read_text())
    config = INLINE
    assert {"a_bitmaps", "b_bitmaps", "pending"} <= set(header_names)
    assert not {"a_bitmaps", "b_bitmaps", "pending"} & set(inline_names)
    assert header_bits - inline_bits == \
        (config.tile_m + config.tile_n) * config.k_chunk + config.k_chunk
