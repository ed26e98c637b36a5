"""The combinational blocks on their generated Verilog, in cocotb, on Icarus and Verilator."""

import json

import pytest
from blocks import COMB_BLOCKS
from conftest import BUILD, TB_DIR
from designs import generated_verilog

from dstc.gen.cocotb_run import SIMULATORS, run_cocotb

pytestmark = pytest.mark.cocotb


@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name", list(COMB_BLOCKS))
def test_comb_block_verilog(name, simulator, seed):
    design = generated_verilog(name, COMB_BLOCKS[name].build)
    run_cocotb(verilog_path=design.path, toplevel=name, test_module="comb_block",
               test_dir=TB_DIR / "cocotb_tests", simulator=simulator,
               build_dir=BUILD / "sim" / name / simulator,
               extra_env={"DSTC_BLOCK": name, "DSTC_SEED": str(seed),
                          "DSTC_PORTS": json.dumps(design.formats)})
