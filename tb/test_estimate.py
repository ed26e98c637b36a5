"""The run estimator (``dstc.gen.estimate``) and ``dstc sim``'s refusal of runs that would not
end in reasonable time or memory (issue 12, item 4)."""

import logging
import re
import time

import numpy as np
import pytest

from dstc.gen import estimate
from dstc.gen.cli import main
from dstc.gen.gemm_sim import GemmRequest, plan_gemm
from dstc.gen.sim_speed import GENERATION_SECONDS, SIM_SPEED
from dstc.sim.config import PRESETS, DstcConfig, preset
from dstc.sim.gemm_cycles import gemm_cycles


@pytest.mark.parametrize("name", ["small", "default"])
@pytest.mark.parametrize("shape, density_a, density_b", [
    ((64, 64, 256), 0.5, 0.5),
    ((100, 70, 33), 0.3, 0.8),          # partial tiles in m, n and k
    ((256, 256, 256), 0.05, 0.9),
    ((512, 512, 512), 0.1, 0.1),
    ((1, 1, 1), 1.0, 1.0),
])
def test_expected_cycles_are_within_two_percent_of_the_exact_count(name, shape, density_a,
                                                                   density_b):
    """The closed form against the mean exact count over 4 draws of the operands."""
    config = preset(name)
    m, n, k = shape
    rng = np.random.default_rng(2021)
    counts = []
    for _ in range(4):
        a, b = rng.random((m, k)) < density_a, rng.random((k, n)) < density_b
        counts.append(gemm_cycles(a, b, config).cycles)
    exact = sum(counts) / len(counts)
    expected = estimate.expected_gemm_cycles(shape, config, density_a, density_b)
    assert abs(expected - exact) <= 0.02 * exact


def test_expected_cycles_of_exact_cases():
    small = preset("small")
    # One full dense tile: CLEAR, 1 header + 4 k-steps x 4 x 2 OHMMA, the pipeline tail,
    # DRAIN, 8 rows, and the hand-over of the last row.
    assert estimate.expected_gemm_cycles((8, 8, 4), small, 1.0, 1.0) == 1 + 1 + 32 + 3 + 1 + \
        8 + 1
    assert estimate.expected_gemm_cycles((16, 16, 16), small, 0.0, 0.5) == 0.0
    assert estimate.expected_gemm_commands((8, 8, 4), small, 1.0, 1.0) == 1 + 1 + 4 + 1


def test_expected_commands_match_the_program_builder():
    from dstc.sim.program import gemm_program, random_operands

    config = preset("small")
    rng = np.random.default_rng(5)
    a = random_operands(rng, config, (64, 96), 0.3)
    b = random_operands(rng, config, (96, 48), 0.6)
    commands = len(gemm_program(a, b, config).commands)
    assert abs(estimate.expected_gemm_commands((64, 48, 96), config, 0.3, 0.6) - commands) \
        <= 0.03 * commands


@pytest.mark.parametrize("shape, density, message", [
    ((0, 4, 4), 0.5, "shape=(0, 4, 4): must be (M, N, K), three positive integers"),
    ((4, 4), 0.5, "shape=(4, 4): must be (M, N, K)"),
    ((4, 4, 4), 1.5, "density_a=1.5: a density must be a number from 0 to 1"),
])
def test_bad_estimate_arguments(shape, density, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        estimate.expected_gemm_cycles(shape, preset("small"), density, 0.5)


def test_speed_table_covers_the_presets_and_simulators():
    assert set(SIM_SPEED) == {"verilator", "icarus"}
    for table in SIM_SPEED.values():
        assert set(table) <= set(PRESETS) and all(rate > 0 for rate in table.values())
    assert set(GENERATION_SECONDS) == set(PRESETS)
    # A configuration that is not a preset takes the nearest preset's speed.
    wide = preset("small").replace(array_cols=8)
    assert estimate.cycles_per_second(wide, "icarus") == SIM_SPEED["icarus"]["small"]
    assert estimate.cycles_per_second(preset("default"), "verilator") == \
        SIM_SPEED["verilator"]["default"]
    assert estimate.cycles_per_second(preset("int8"), "icarus") == SIM_SPEED["icarus"]["default"]
    assert estimate.cycles_per_second(preset("small").replace(operand_type="fp16",
                                                              accum_type="fp32"), "icarus") \
        == SIM_SPEED["icarus"]["small-fp16"]
    with pytest.raises(ValueError, match="simulator='xcelium': no measured speed"):
        estimate.cycles_per_second(preset("small"), "xcelium")


def test_generation_time_fit():
    """The fit passes near the measured presets and grows with the array."""
    for name, seconds in GENERATION_SECONDS.items():
        assert seconds / 3 < estimate.expected_generation_seconds(PRESETS[name]) < seconds * 3
    huge = DstcConfig(array_rows=256, array_cols=256, tile_m=256, tile_n=256)
    assert estimate.expected_generation_seconds(huge) > 3600


def test_huge_configurations_warn_before_generating(caplog):
    huge = DstcConfig(array_rows=256, array_cols=256, tile_m=256, tile_n=256)
    with caplog.at_level(logging.WARNING, logger="dstc"):
        assert estimate.warn_slow_generation(preset("small")) < 10
        assert caplog.records == []
        assert estimate.warn_slow_generation(huge) > 3600
    (record,) = caplog.records
    assert record.getMessage().startswith("warning: generating this configuration (256x256 "
                                          "multipliers, 256x256 tile")
    assert " h (fit of the presets' generation times" in record.getMessage()


def test_limits():
    small = preset("small")
    fine = estimate.estimate_gemm((64, 64, 64), small, 0.5, 0.5, "verilator")
    assert estimate.check_gemm(fine) is fine
    slow = estimate.estimate_gemm((1024, 1024, 1024), preset("default"), 0.5, 0.5)
    assert 600 < slow.seconds < 3600 and slow.memory_bytes < 2**31
    with pytest.raises(estimate.TooExpensive, match=r": over the limit of 10.0 min; use a "
                                                    r"smaller shape, or --force"):
        estimate.check_gemm(slow)
    assert estimate.check_gemm(slow, force=True) is slow
    assert estimate.check_gemm(slow, limit_seconds=3600) is slow
    big = estimate.estimate_gemm((100000, 100000, 100000), preset("default"), 0.5, 0.5)
    with pytest.raises(estimate.TooExpensive, match="over the limit of 10.0 min and more "
                                                    "memory than this machine has"):
        estimate.check_gemm(big)
    assert estimate.machine_memory_bytes() > 2**28


@pytest.mark.parametrize("size, message", [
    (4096, r"would take about 237.8M cycles and 71.3M commands: 18.8 h \(15.7 h simulating "
           r"at 4,219 cycles/s, 3.2 h building the program\), 81.5 GiB of memory .*: over the "
           r"limit of 10.0 min"),
    (100000, r"would take about .* h \(.*\), 1133.5 TiB of memory of .*: over the limit of "
             r"10.0 min and more memory than this machine has; use a smaller shape, or --force "
             r"to run it anyway"),
])
def test_sim_refuses_runs_that_would_not_end_at_once(tmp_path, capsys, size, message):
    started = time.monotonic()
    status = main(["sim", "--m", str(size), "--n", str(size), "--k", str(size),
                   "-o", str(tmp_path)])
    assert time.monotonic() - started < 5
    assert status == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"dstc sim: error: {size} x {size} x {size} at densities 0.5 x 0.5 ")
    assert re.search(message, err), err
    assert list(tmp_path.iterdir()) == []


def test_plan_refuses_before_drawing_operands(monkeypatch):
    import dstc.gen.gemm_sim as gemm_sim

    def never(*args):
        raise AssertionError("operands drawn")

    monkeypatch.setattr(gemm_sim, "random_operands", never)
    with pytest.raises(estimate.TooExpensive):
        plan_gemm(GemmRequest(preset("default"), "default", 4096, 4096, 4096))
    with pytest.raises(estimate.TooExpensive, match="over the limit of 0.0 s"):
        plan_gemm(GemmRequest(preset("small"), "small", 64, 64, 64, limit_seconds=0.01))


@pytest.mark.parametrize("changes, message", [
    ({"m": 0}, "m=0: must be a positive integer"),
    ({"k": 2.0}, "k=2.0: must be a positive integer"),
    ({"density_a": -0.1}, "density_a=-0.1: a density must be a number from 0 to 1"),
    ({"density_b": True}, "density_b=True: a density must be a number from 0 to 1"),
    ({"seed": -5}, "seed=-5: must be a non-negative integer or None"),
    ({"simulator": "xsim"}, "simulator='xsim': must be one of"),
    ({"limit_seconds": float("nan")}, "limit_seconds=nan: must be a finite number"),
])
def test_gemm_request_checks_its_fields(changes, message):
    fields = {"config": preset("small"), "preset_name": "small", "m": 4, "n": 4, "k": 4,
              **changes}
    with pytest.raises(ValueError, match=re.escape(message)):
        GemmRequest(**fields)


def test_sweep_refuses_bitmaps_larger_than_the_memory(tmp_path, capsys):
    assert estimate.sweep_memory_bytes((4096, 4096, 4096)) < 2**30
    started = time.monotonic()
    assert main(["sweep", "--m", "1000000", "--n", "1000000", "--k", "1000000",
                 "-o", str(tmp_path)]) == 2
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.startswith("dstc sweep: error: a 1000000 x 1000000 x 1000000 sweep needs about "
                          "5.5 TiB of memory, more than this machine has (")
    assert err.endswith("); use a smaller shape, or --force to try anyway\n")


def test_generate_warns_before_a_huge_configuration(tmp_path, monkeypatch, capsys):
    import dstc.gen.generate as generate_module

    written = []
    monkeypatch.setattr(generate_module, "generate",
                        lambda config, *args, **kwargs: written.append(config) or [])
    path = tmp_path / "huge.json"
    path.write_text(DstcConfig(array_rows=256, array_cols=256, tile_m=256, tile_n=256).to_json())
    assert main(["generate", "--config", str(path), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("warning: generating this configuration (256x256 multipliers, 256x256 "
                          "tile, k-chunk 16, fp16 -> fp32) is expected to take about ")
    assert len(written) == 1
