"""`dstc sim` end to end on the small preset: a checked GEMM, and FST waveforms."""

import pytest
from conftest import BUILD

from dstc.gen.cli import main
from dstc.gen.gemm_sim import GemmRequest, run_gemm
from dstc.sim.config import preset

pytestmark = pytest.mark.cocotb


@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_sim_gemm_with_waves(simulator, seed):
    figures = run_gemm(GemmRequest(preset("small"), "small", 20, 12, 9, 0.4, 0.7,
                                   simulator=simulator, seed=seed, waves=True,
                                   out_dir=BUILD / "sim-cli"))
    assert figures.ok and figures.values_match
    assert figures.cycles == figures.model_cycles
    assert figures.tiles_issued + figures.tiles_skipped == 3 * 2 * 3
    assert 0 < figures.utilisation <= figures.slot_utilisation <= 1
    with open(figures.waves, "rb") as waves:
        assert len(waves.read()) > 1000                      # an FST file with content


def test_sim_command_prints_the_summary(capsys, seed):
    status = main(["sim", "--preset", "small", "--m", "16", "--n", "8", "--k", "24",
                   "--density-a", "0.3", "--density-b", "0.9", "--seed", str(seed),
                   "-o", str(BUILD / "sim-cli")])
    out = capsys.readouterr().out
    assert status == 0, out
    for text in ("values match the golden model", "cycle model", "(equal)", "dense mode",
                 "speedup", "ideal 1/(dA*dB) = 3.70x", "utilisation"):
        assert text in out


def test_sim_rejects_bad_density(capsys):
    with pytest.raises(SystemExit):
        main(["sim", "--density-a", "1.5"])
    assert "a density must be between 0 and 1" in capsys.readouterr().err
