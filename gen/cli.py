"""The ``dstc`` command line."""

import argparse
import sys
import time
from pathlib import Path

from ..sim.config import PRESETS, ConfigError, DstcConfig, preset

__all__ = ["main"]


def _config_from(args):
    if getattr(args, "config", None):
        try:
            return DstcConfig.from_json(Path(args.config).read_text())
        except OSError as error:
            raise ConfigError(f"--config {args.config}: {error.strerror}") from None
    return preset(args.preset)


def _add_config_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--preset", default="default", metavar="NAME",
                       help=f"named configuration: {', '.join(PRESETS)} (default: default)")
    group.add_argument("--config", metavar="FILE",
                       help="configuration as JSON (the config.json that generate writes)")


def _cmd_presets(args):
    width = max(map(len, PRESETS))
    for name, config in PRESETS.items():
        print(f"{name:<{width}}  {config.describe()}")
    return 0


def _cmd_generate(args):
    from .generate import generate

    config = _config_from(args)
    started = time.monotonic()
    print(f"generating {config.describe()} into {args.output}")
    designs = ("dstc", "dense") if args.design == "both" else (args.design,)
    paths = generate(config, args.output, blocks=args.blocks, designs=designs,
                     progress=lambda name, _: print(f"  {name}"))
    for path in paths:
        print(f"  wrote {path} ({path.stat().st_size} bytes)")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


def _cmd_isa(args):
    from .isa_doc import isa_tables

    print(isa_tables(_config_from(args)), end="")
    return 0


def _density(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a density must be between 0 and 1")
    return value


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be a positive integer")
    return value


def _cmd_sim(args):
    from .gemm_sim import run_gemm

    config = _config_from(args)
    name = args.preset if not args.config else Path(args.config).stem
    figures = run_gemm(config, name, args.m, args.n, args.k, args.density_a, args.density_b,
                       simulator=args.simulator, seed=args.seed, waves=args.waves,
                       out_dir=Path(args.output))
    return 0 if figures["ok"] else 1


def _cmd_bench(args):
    from .bench import run_bench

    results = run_bench(out_dir=Path(args.output), simulators=args.simulators)
    return 0 if all(row["ok"] for row in results["simulation"]) else 1


def _cmd_demo(args):
    from .demo import run_demo

    return run_demo(simulator=args.simulator, out_dir=Path(args.output), seed=args.seed)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dstc", description="RTL generator for the Dual-side Sparse Tensor Core.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets = commands.add_parser("presets", help="list the named configurations",
                                  description="List the named configurations.")
    presets.set_defaults(run=_cmd_presets)

    generate = commands.add_parser(
        "generate", help="write the Verilog of a configuration",
        description="Write the Verilog of a configuration, its config.json and a manifest. "
                    "Two runs write byte-identical files.")
    _add_config_options(generate)
    generate.add_argument("-o", "--output", required=True, metavar="DIR",
                          help="output folder (created if missing)")
    generate.add_argument("--blocks", action="store_true",
                          help="also write the main blocks as standalone modules")
    generate.add_argument("--design", choices=("dstc", "dense", "both"), default="dstc",
                          help="the sparse core (dstc_core.v, default), its iso-MAC dense "
                               "baseline (dstc_dense_core.v), or both")
    generate.set_defaults(run=_cmd_generate)

    isa = commands.add_parser(
        "isa", help="print the command and response bitfields",
        description="Print the opcodes and the bitfield tables of the command and response "
                    "beats of a configuration, as Markdown (docs/isa.md shows the default).")
    _add_config_options(isa)
    isa.set_defaults(run=_cmd_isa)

    sim = commands.add_parser(
        "sim", help="run a random SpGEMM through the RTL, checked and measured",
        description="Generate the core, run D = A @ B with random operands of the given "
                    "densities through it (cocotb), check the result against the golden model "
                    "and the cycles against the cycle model, and print the measured cycles, "
                    "the dense-mode cycles, the speedup and the multiplier utilisation.")
    _add_config_options(sim)
    sim.add_argument("--m", type=_positive, default=64, help="rows of A and D (default 64)")
    sim.add_argument("--n", type=_positive, default=64, help="columns of B and D (default 64)")
    sim.add_argument("--k", type=_positive, default=64, help="inner dimension (default 64)")
    sim.add_argument("--density-a", type=_density, default=0.5, metavar="X",
                     help="fraction of nonzeros in A (default 0.5)")
    sim.add_argument("--density-b", type=_density, default=0.5, metavar="Y",
                     help="fraction of nonzeros in B (default 0.5)")
    sim.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                     help="simulator (default: verilator)")
    sim.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    sim.add_argument("--waves", action="store_true", help="write an FST waveform")
    sim.add_argument("-o", "--output", default="build/sim-cli", metavar="DIR",
                     help="folder for the generated core and simulator builds")
    sim.set_defaults(run=_cmd_sim)

    bench = commands.add_parser(
        "bench", help="measure generation time and simulation speed",
        description="Measure the Verilog generation time of every preset and the simulation "
                    "speed of the default preset (cycles/s, tiles/s, ms per tile) on each "
                    "simulator, in one run; write bench.json and bench.md.")
    bench.add_argument("--simulators", nargs="+", choices=("verilator", "icarus"),
                       default=["verilator", "icarus"], help="simulators to measure")
    bench.add_argument("-o", "--output", default="build/bench", metavar="DIR",
                       help="output folder (default: build/bench)")
    bench.set_defaults(run=_cmd_bench)

    demo = commands.add_parser(
        "demo", help="generate the default core and run a checked SpGEMM through it",
        description="Generate the default preset and run a 64 x 64 x 64 SpGEMM at density "
                    "0.5 on both sides through the generated RTL, checked against the golden "
                    "and cycle models, with the summary of `dstc sim`.")
    demo.add_argument("--simulator", choices=("icarus", "verilator"), default="verilator",
                      help="simulator (default: verilator)")
    demo.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    demo.add_argument("-o", "--output", default="build/demo", metavar="DIR",
                      help="output folder (default: build/demo)")
    demo.set_defaults(run=_cmd_demo)

    from .area import add_area_command
    from .fpga import add_fpga_command

    add_area_command(commands)
    add_fpga_command(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"dstc: invalid configuration: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
