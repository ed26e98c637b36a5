"""``dstc demo``: generate the default core and check one of its blocks in cocotb."""

import json
import random
import sys
import time
from pathlib import Path

from ..sim.config import preset
from .cocotb_run import SimulationError, run_cocotb
from .generate import generate

__all__ = ["run_demo"]

_ROOT = Path(__file__).resolve().parent.parent
_TB = _ROOT / "tb"


def _port_formats(component):
    sys.path.insert(0, str(_TB))
    from driver import port_formats
    return port_formats(component)


def run_demo(simulator="verilator", out_dir=Path("build/demo"), seed=None):
    """Generate the default preset into ``out_dir/verilog``, check the generated multiplier
    array (128 fp16 multipliers) against the golden model in cocotb, print a summary.
    Returns a process exit status."""
    if not (_TB / "cocotb_tests" / "comb_block.py").is_file():
        print("dstc demo: needs a source checkout (the testbenches in tb/ are not installed)",
              file=sys.stderr)
        return 2
    config = preset("default")
    seed = random.SystemRandom().randrange(1 << 32) if seed is None else seed
    out_dir = Path(out_dir)
    print(f"DSTC demo: default preset, {config.describe()}")

    started = time.monotonic()
    components = {}
    paths = generate(config, out_dir / "verilog",
                     progress=lambda name, component: components.__setitem__(name, component))
    generate_seconds = time.monotonic() - started

    report = out_dir / "check.json"
    report.unlink(missing_ok=True)
    top = "dstc_multiplier_array"
    started = time.monotonic()
    try:
        run_cocotb(verilog_path=out_dir / "verilog" / f"{top}.v", toplevel=top,
                   test_module="comb_block", test_dir=_TB / "cocotb_tests", simulator=simulator,
                   build_dir=out_dir / "sim" / simulator, log=out_dir / f"cocotb-{simulator}.log",
                   extra_env={"DSTC_BLOCK": "multiplier_array_default", "DSTC_SEED": str(seed),
                              "DSTC_REPORT": str(report.resolve()),
                              "DSTC_PORTS": json.dumps(_port_formats(components[top]))})
        vectors = json.loads(report.read_text())["vectors"]
        status = "PASS"
    except SimulationError as error:
        vectors, status = 0, f"FAIL ({error})"
    check_seconds = time.monotonic() - started

    print()
    print(f"{'file':<28} {'lines':>8} {'bytes':>10}")
    for path in paths:
        if path.suffix == ".v":
            text = path.read_text()
            print(f"{path.name:<28} {text.count(chr(10)):>8} {len(text.encode()):>10}")
    print(f"generated into {out_dir / 'verilog'} in {generate_seconds:.1f} s")
    print()
    print(f"check: {top}.v (8x16 fp16 x fp16 -> fp32 outer product) on {simulator}, "
          f"seed {seed}")
    print(f"       {vectors} random operand vectors ({vectors * config.macs} products) "
          f"against the golden model: {status}, {check_seconds:.1f} s")
    print(f"       log: {out_dir / f'cocotb-{simulator}.log'}")
    return 0 if status == "PASS" else 1
