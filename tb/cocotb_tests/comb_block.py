"""cocotb test of one combinational block (named by DSTC_BLOCK) on its generated Verilog.

Environment: DSTC_BLOCK (a name in tb/blocks.py), DSTC_SEED, DSTC_PORTS (JSON port formats)
and, optionally, DSTC_REPORT (a file that receives the number of vectors checked, as JSON).
"""

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from blocks import COMB_BLOCKS, check_comb
from ports import CocotbIO


@cocotb.test()
async def golden_vectors(dut):
    """Every vector of the block (full counts) against the golden model."""
    block = COMB_BLOCKS[os.environ["DSTC_BLOCK"]]
    seed = int(os.environ["DSTC_SEED"])
    dut._log.info(f"{block.name}: seed {seed}")
    io = CocotbIO(dut, json.loads(os.environ["DSTC_PORTS"]))
    checked = await check_comb(io, block, np.random.default_rng(seed), full=True)
    assert checked > 0, f"{block.name}: no vectors"
    dut._log.info(f"{block.name}: {checked} vectors match the golden model")
    if os.environ.get("DSTC_REPORT"):
        Path(os.environ["DSTC_REPORT"]).write_text(json.dumps({"vectors": checked}))
