"""``dstc demo``: generate the default core and run a checked SpGEMM through it."""

import time
from dataclasses import dataclass
from pathlib import Path

from ..sim.config import preset
from .gemm_sim import GemmRequest, plan_gemm, print_run
from .generate import generate
from .options import add_output_option, check_output_folder, seed_type

__all__ = ["DemoGeneration", "generate_demo", "demo_request", "HELP", "DESCRIPTION",
           "add_arguments", "command"]

#: The demo's workload: a 64 x 64 x 64 SpGEMM at density 0.5 on both sides.
WORKLOAD = {"m": 64, "n": 64, "k": 64, "density_a": 0.5, "density_b": 0.5}


@dataclass(frozen=True)
class DemoGeneration:
    """The default core's files written into ``folder`` in ``seconds``; ``core`` is
    ``dstc_core.v`` among the ``paths``."""
    folder: Path
    paths: tuple
    seconds: float
    core: Path

    def describe(self):
        """The lines ``dstc demo`` prints about the generated files."""
        text = self.core.read_text()
        return [f"generated {', '.join(path.name for path in self.paths)} into {self.folder} "
                f"in {self.seconds:.1f} s",
                f"  {self.core.name}: {text.count(chr(10))} lines, "
                f"{self.core.stat().st_size} bytes"]


def generate_demo(out_dir):
    """Generate the default preset into ``out_dir/verilog``; returns a
    :class:`DemoGeneration`."""
    folder = Path(out_dir) / "verilog"
    started = time.monotonic()
    paths = generate(preset("default"), folder)
    return DemoGeneration(folder, tuple(paths), time.monotonic() - started,
                          folder / "dstc_core.v")


def demo_request(generation, simulator="verilator", seed=None, out_dir=Path("build/demo"),
                 progress=False):
    """The :class:`~dstc.gen.gemm_sim.GemmRequest` of the demo's SpGEMM (:data:`WORKLOAD`) on
    the generated core, its simulator builds in ``out_dir/sim``."""
    return GemmRequest(preset("default"), "default", **WORKLOAD, simulator=simulator,
                       seed=seed, out_dir=Path(out_dir) / "sim", verilog=generation.core,
                       progress=progress)


HELP = "generate the default core and run a checked SpGEMM through it"
DESCRIPTION = ("Generate the default preset and run a 64 x 64 x 64 SpGEMM at density 0.5 on "
               "both sides through the generated RTL, checked against the golden and cycle "
               "models, with the summary of `dstc sim`.")


def add_arguments(parser):
    """Add the options of ``dstc demo`` to ``parser``."""
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator",
                        help="simulator (default: verilator)")
    parser.add_argument("--seed", type=seed_type,
                        help="random seed, an integer >= 0 (default: random, printed)")
    add_output_option(parser, "build/demo")


def command(args):
    """Run ``dstc demo`` from parsed arguments; returns the exit code (0: checked, 1: a check
    failed). Raises :class:`~dstc.gen.options.UsageError` for an output folder that cannot
    be written (before generating anything)."""
    check_output_folder(args.output)
    generation = generate_demo(args.output)
    for line in generation.describe():
        print(line)
    print()
    request = demo_request(generation, args.simulator, args.seed, args.output, progress=True)
    return 0 if print_run(plan_gemm(request)).ok else 1
