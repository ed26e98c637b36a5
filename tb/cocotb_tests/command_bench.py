"""Plumbing shared by the cocotb tests of the core (core.py) and of the dense baseline
(dense_core.py): the preset and seed of the environment, seeded generators, a checked run of
a command program and the summary report of what was measured.

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

__all__ = ["CONFIG", "SEED", "seeded_rng", "report", "checked_run"]

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


async def checked_run(dut, design, commands, timing=True, **stalls):
    """Reset the core, run ``commands`` on it (``stalls`` go to
    :func:`~dstc.gen.core_driver.run_commands`) and check the run with ``design.check``
    (raises ``AssertionError`` on any difference from the model; ``timing``: also every
    accept cycle and the finish cycle).

    Returns ``(run, model, measured)``: ``measured`` holds the commands accepted, the
    response beats compared, the cycles and the wall-clock seconds of the run.
    """
    await reset_core(dut)
    started = time.monotonic()
    run = await run_commands(dut, CONFIG, commands, design=design, **stalls)
    seconds = time.monotonic() - started
    assert len(run.accept_cycles) == len(commands), \
        f"{len(run.accept_cycles)} of {len(commands)} commands accepted"
    model = design.check(CONFIG, commands, run, timing=timing)
    measured = {"commands": len(run.accept_cycles), "responses": len(run.responses),
                "cycles": run.cycles, "seconds": round(seconds, 3)}
    return run, model, measured
