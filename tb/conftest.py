"""Shared pytest setup: reproducible seeds and the build folder.

Every randomized test draws from a seed derived from the session seed and the test's id. The
session seed is random unless ``DSTC_SEED`` is set; it is printed in the report header, so a
failing run is repeated exactly with ``DSTC_SEED=<seed> make test`` (or pytest ``-k``).
"""

import hashlib
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

TB_DIR = Path(__file__).resolve().parent
ROOT = TB_DIR.parent
BUILD = ROOT / "build" / "tb"

sys.path.insert(0, str(TB_DIR))

SESSION_SEED = int(os.environ.get("DSTC_SEED") or random.SystemRandom().randrange(1 << 32))
os.environ["DSTC_SEED"] = str(SESSION_SEED)  # the same seed in xdist workers


def pytest_report_header(config):
    return f"DSTC_SEED={SESSION_SEED} (set DSTC_SEED to repeat this run's random inputs)"


@pytest.fixture
def seed(request):
    """A seed for this test: session seed mixed with the test id (printed on failure)."""
    digest = hashlib.sha256(f"{SESSION_SEED}:{request.node.nodeid}".encode()).digest()
    value = int.from_bytes(digest[:4], "little")
    print(f"seed={value} (DSTC_SEED={SESSION_SEED}, test {request.node.nodeid})")
    return value


@pytest.fixture
def rng(seed):
    return np.random.default_rng(seed)


# Rough cost in seconds (2 cores) of the slowest tests: they start first, so that the two
# pytest-xdist workers finish together instead of one waiting on a long test at the end.
_COSTS = {"test_real_layer_tiles_through_the_rtl": 230,
          "test_core[default-icarus]": 190, "test_core[default-verilator]": 180,
          "test_core[int8-verilator]": 120, "test_core[int8-icarus]": 120,
          "test_dense_core[default-verilator]": 150, "test_dense_core[default-icarus]": 120,
          "test_dense_core_lint[default]": 60,
          "test_accumulator_verilog[small8-pipe-verilator]": 60, "test_core_lint[default]": 60,
          "test_core_lint[int8]": 40, "test_fast_lut_mapping_stops_after_synthesis": 40,
          "test_core_lint[default-reach]": 60, "test_core_lint[default-g2]": 50,
          "test_core_lint[default-g8]": 40, "test_core_lint[default-g8h2]": 40,
          "test_core[small8-icarus]": 60, "test_core[small8-verilator]": 50,
          "test_core_variant[small8-reach]": 50, "test_core_variant[small8-g2]": 50,
          "test_core_variant[small8-g4]": 50, "test_core_variant[small8-g8]": 50,
          "test_core_variant[small8-g8h2]": 50, "test_core_variant[small8-inline]": 50,
          "test_core_variant[small8-tb2]": 45, "test_core_variant[small8-pipe]": 45,
          "test_core_variant[small8-g8-pipe]": 45,
          "test_inline_bitmaps_save_the_headers_on_the_rtl": 40,
          "test_simulation_and_fpga_columns": 120}


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: -_COSTS.get(item.name, 0))
