"""cocotb test module that ``dstc sim`` runs in the simulator (not a pytest test).

It reads the job (configuration and commands) from the pickle file named by DSTC_JOB, runs it
on the core with :func:`~dstc.gen.core_driver.run_commands`, writes the number of commands
accepted so far to the file named by DSTC_PROGRESS (at most ten times a second) and what it
observed to the pickle file named by DSTC_RESULT.
"""

import os
import pickle
import time
from pathlib import Path

import cocotb

from dstc.gen.core_driver import reset_core, run_commands
from dstc.gen.design import SPARSE_CORE


class _Progress:
    """Writes ``accepted total`` to a file, at most ten times a second."""

    def __init__(self, path, total):
        self.path, self.total, self.written = Path(path), total, 0.0

    def __call__(self, done):
        now = time.monotonic()
        if now - self.written >= 0.1 or done == self.total:
            self.written = now
            self.path.write_text(f"{done} {self.total}")


@cocotb.test()
async def gemm(dut):
    """Run the job's commands and record responses, accept cycles, counters and flags."""
    with open(os.environ["DSTC_JOB"], "rb") as job_file:
        job = pickle.load(job_file)
    commands = job["commands"]
    await reset_core(dut)
    started = time.monotonic()
    progress = _Progress(os.environ["DSTC_PROGRESS"], len(commands))
    run = await run_commands(dut, job["config"], commands, design=SPARSE_CORE,
                             progress=progress)
    result = {"run": run, "seconds": time.monotonic() - started}
    with open(os.environ["DSTC_RESULT"], "wb") as result_file:
        pickle.dump(result, result_file)
