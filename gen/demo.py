"""``dstc demo``: generate the default core and run a checked SpGEMM through it."""

import time
from pathlib import Path

from ..sim.config import preset
from .gemm_sim import run_gemm
from .generate import generate

__all__ = ["run_demo"]


def run_demo(simulator="verilator", out_dir=Path("build/demo"), seed=None):
    """Generate the default preset into ``out_dir/verilog`` and simulate a 64 x 64 x 64
    SpGEMM at density 0.5 x 0.5 on it. Returns a process exit status."""
    config = preset("default")
    out_dir = Path(out_dir)
    started = time.monotonic()
    paths = generate(config, out_dir / "verilog")
    print(f"generated {', '.join(p.name for p in paths)} into {out_dir / 'verilog'} "
          f"in {time.monotonic() - started:.1f} s")
    core = out_dir / "verilog" / "dstc_core.v"
    print(f"  dstc_core.v: {core.read_text().count(chr(10))} lines, "
          f"{core.stat().st_size} bytes")
    print()
    figures = run_gemm(config, "default", 64, 64, 64, 0.5, 0.5, simulator=simulator,
                       seed=seed, out_dir=out_dir / "sim", verilog=core)
    return 0 if figures["ok"] else 1
