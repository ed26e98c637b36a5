"""Plumbing shared by the cocotb tests of the core (core.py) and of the dense baseline
(dense_core.py): the preset and seed of the environment, seeded generators, the summary
report and a timed run of a command program.

Environment: DSTC_PRESET, DSTC_SEED and DSTC_REPORT (a JSON-lines file that receives one
summary per test).
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from dstc.gen.core_driver import reset_core, run_commands
from dstc.sim.config import preset

__all__ = ["CONFIG", "SEED", "seeded_rng", "report", "timed_run"]

CONFIG = preset(os.environ.get("DSTC_PRESET", "small"))
SEED = int(os.environ.get("DSTC_SEED", "1"))


def seeded_rng(*salt):
    """A generator seeded with ``[SEED, *salt]``: one stream per salt."""
    return np.random.default_rng([SEED, *salt])


def report(dut, **fields):
    """Log a test's summary ``fields`` and append them to DSTC_REPORT when it is set."""
    dut._log.info(" ".join(f"{key}={value}" for key, value in fields.items()))
    if os.environ.get("DSTC_REPORT"):
        with Path(os.environ["DSTC_REPORT"]).open("a") as summaries:
            summaries.write(json.dumps(fields) + "\n")


async def timed_run(dut, commands, **options):
    """Reset the core and run ``commands`` (``options`` go to
    :func:`~dstc.gen.core_driver.run_commands`); returns the run and its wall-clock seconds."""
    await reset_core(dut)
    started = time.monotonic()
    run = await run_commands(dut, CONFIG, commands, **options)
    return run, time.monotonic() - started
