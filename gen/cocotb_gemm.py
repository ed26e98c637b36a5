"""cocotb test module that ``dstc sim`` runs in the simulator (not a pytest test).

It reads the job (the configuration and a list of command programs) from the pickle file named
by DSTC_JOB, resets the core once and runs the programs one after the other with
:func:`~dstc.gen.core_driver.run_commands` (each starts on the idle core the previous one left,
and its cycles count from its own first cycle), writes the number of commands accepted so far
over all programs to the file named by DSTC_PROGRESS (at most ten times a second) and what it
observed (one :class:`~dstc.gen.core_driver.CoreRun` per program) to the pickle file named by
DSTC_RESULT.
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
    """Run the job's programs and record, per program, responses, accept cycles, counters and
    flags."""
    with open(os.environ["DSTC_JOB"], "rb") as job_file:
        job = pickle.load(job_file)
    programs = job["programs"]
    await reset_core(dut)
    started = time.monotonic()
    progress = _Progress(os.environ["DSTC_PROGRESS"], sum(map(len, programs)))
    runs, done = [], 0
    for commands in programs:
        runs.append(await run_commands(dut, job["config"], commands, design=SPARSE_CORE,
                                       progress=lambda accepted, before=done:
                                       progress(before + accepted)))
        done += len(commands)
    result = {"runs": runs, "seconds": time.monotonic() - started}
    with open(os.environ["DSTC_RESULT"], "wb") as result_file:
        pickle.dump(result, result_file)
