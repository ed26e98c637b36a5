"""``dstc conv``: a convolution layer through the generated RTL as SpGEMM, checked and measured.

The layer (:class:`~dstc.sim.conv_shape.ConvShape`) runs as ``D = A @ B`` with the weights as
A (``F x C*R*S``) and the activation bitmap-encoded and lowered in the bitmap format as B
(``C*R*S x OH*OW``, :func:`~dstc.sim.im2col.lower`), output tile by output tile:

* all the output tiles, as the layer's one program, when the estimate allows (cycles checked
  against the exact model of the whole layer, :func:`~dstc.sim.conv.conv_cycles`);
* or ``--tiles N`` sampled output tiles (seeded), each its own program run one after the other
  in one simulation (each tile's cycles checked against the exact model of that tile's GEMM,
  :func:`~dstc.sim.gemm_cycles.gemm_cycles`).

The drained values are checked bit for bit against the golden convolution
(:func:`~dstc.sim.conv.conv2d`, itself tested against scipy). :func:`tile_programs` and
:func:`check_runs` are shared with ``dstc network``'s RTL tiles.

Python use: :func:`plan_conv` and :meth:`ConvPlan.execute` (or :func:`run_conv`); command
line: ``dstc conv`` (:func:`add_arguments` and :func:`command`).
"""

import argparse
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..sim.arith import Arithmetic
from ..sim.bitmap import encode_a
from ..sim.config import DstcConfig
from ..sim.conv import check_density, conv2d, conv_cycles, random_conv_operands
from ..sim.conv_shape import ConvError, ConvShape
from ..sim.gemm_cycles import gemm_cycles
from ..sim.golden import spgemm
from ..sim.program import gemm_program
from .estimate import DEFAULT_LIMIT_SECONDS, TooExpensive, check_gemm, estimate_gemm
from .gemm_sim import simulate_programs
from .options import (
    UsageError,
    add_config_options,
    add_output_option,
    check_output_folder,
    config_folder,
    config_from,
    config_name,
    density,
    positive_int,
    seed_type,
)

__all__ = ["TileProgram", "TileCheck", "CheckedTiles", "tile_programs", "sample_tiles",
           "check_runs", "ConvRequest", "ConvPlan", "ConvRunResult", "plan_conv", "run_conv",
           "HELP", "DESCRIPTION", "add_arguments", "command"]


# -- output tiles through the RTL (shared with dstc network) ------------------------------------


@dataclass(frozen=True, eq=False)
class TileProgram:
    """One program of a layer: ``tile`` the output tile ``(tile_row, tile_column)`` (None: the
    whole layer), ``rows`` and ``columns`` the slices of ``D`` (``F x OH*OW``) it drains,
    ``program`` the :class:`~dstc.sim.program.GemmProgram`, ``expected`` the golden values of
    that part of ``D`` (accumulator values) and ``model_cycles`` the exact model's cycles."""
    tile: tuple | None
    rows: slice
    columns: slice
    program: object
    expected: np.ndarray
    model_cycles: int


@dataclass(frozen=True)
class TileCheck:
    """One program through the RTL: ``values_match`` (bit for bit against the golden model),
    the measured ``cycles`` and the exact model's ``model_cycles``, the core's ``errors``
    flags; ``ok`` when all three checks pass."""
    tile: tuple | None
    values: int               #: output values checked
    values_match: bool
    cycles: int
    model_cycles: int
    errors: int

    @property
    def ok(self):
        return self.values_match and self.cycles == self.model_cycles and self.errors == 0


def sample_tiles(grid, count, rng):
    """``count`` distinct output tiles ``(tile_row, tile_column)`` of a ``grid = (rows,
    columns)`` of tiles, drawn uniformly with ``rng`` (``Generator.choice`` without
    replacement) and sorted; all of them, in order, when ``count`` is at least their
    number."""
    total = grid[0] * grid[1]
    if count >= total:
        picks = range(total)
    else:
        picks = sorted(int(v) for v in rng.choice(total, size=count, replace=False))
    return [divmod(index, grid[1]) for index in picks]


def tile_programs(config, a_matrix, lowered, tiles, bias=None, expected=None):
    """The :class:`TileProgram` of each output tile ``(i, j)`` of ``tiles`` of a layer:
    A = rows ``i*tile_m ...`` of ``a_matrix`` (``F x K`` operand values), B = column tile
    ``j`` of ``lowered`` (:meth:`~dstc.sim.im2col.LoweredActivation.column_tile`), C = the
    ``bias`` (``F`` accumulator values, loaded with LOAD_ROW; None: CLEAR). ``expected``: the
    layer's golden ``D`` (``F x OH*OW``) to take each tile's values from; None computes each
    tile with the golden model (:func:`~dstc.sim.golden.spgemm` of the tile's operands).
    Model cycles: :func:`~dstc.sim.gemm_cycles.gemm_cycles` of the tile's bitmaps."""
    arith = Arithmetic(config)
    tm, tn = config.tile_m, config.tile_n
    b_bitmap = lowered.bitmap()
    out = []
    for i, j in tiles:
        rows, columns = slice(i * tm, (i + 1) * tm), slice(j * tn, (j + 1) * tn)
        a = arith.operands(a_matrix[rows])
        b = lowered.column_tile(j)
        c = None
        if bias is not None:
            c = np.repeat(arith.accumulators(bias[rows])[:, None], b.shape[1], axis=1)
        enc_a = encode_a(a, config)
        program = gemm_program(enc_a, b, config, c=c)
        values = (spgemm(enc_a, b, config, c=c).d if expected is None
                  else expected[rows, columns])
        model = gemm_cycles(Arithmetic.is_nonzero(a), b_bitmap[:, columns], config,
                            with_c=c is not None).cycles
        out.append(TileProgram((i, j), rows, columns, program, values, model))
    return out


def check_runs(config, programs, runs):
    """Check each :class:`~dstc.gen.core_driver.CoreRun` of ``runs`` against its
    :class:`TileProgram`: the drained values bit for bit, the cycles against the model.
    Returns one :class:`TileCheck` per program. Raises ``ValueError`` when the numbers of
    programs and runs differ."""
    if len(programs) != len(runs):
        raise ValueError(f"{len(programs)} programs but {len(runs)} runs")
    arith = Arithmetic(config)
    checks = []
    for tile, run in zip(programs, runs, strict=True):
        d = tile.program.assemble(run.responses)
        match = (d.shape == tile.expected.shape and np.array_equal(
            arith.to_bits(d, config.accum), arith.to_bits(tile.expected, config.accum)))
        checks.append(TileCheck(tile=tile.tile, values=int(tile.expected.size),
                                values_match=bool(match), cycles=run.cycles,
                                model_cycles=tile.model_cycles, errors=run.errors))
    return tuple(checks)


# -- the layer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvRequest:
    """A ``dstc conv`` run on ``config`` (titled ``preset_name``; files under
    ``out_dir/<folder or preset_name>``).

    The layer: ``shape`` (a :class:`~dstc.sim.conv_shape.ConvShape`); ``weights``
    (``F x C x R x S``) and ``activation`` (``C x H x W``) operand arrays, or None for random
    ones at ``density_weights`` and ``density_activation``
    (:func:`~dstc.sim.conv.random_conv_operands`). ``seed`` (an integer >= 0; None: drawn
    from the operating system) draws the random operands, then the sampled tiles. ``tiles``:
    the number of output tiles sampled (None: every tile). ``simulator``, ``cxx_opt``,
    ``progress``, ``force`` and ``limit_seconds`` as in :class:`~dstc.gen.gemm_sim.GemmRequest`.
    Raises :class:`~dstc.sim.conv_shape.ConvError` (a ``ValueError``) naming the field for a
    bad value or operands that do not match ``shape``.
    """
    config: DstcConfig
    preset_name: str
    shape: ConvShape
    weights: np.ndarray | None = None
    activation: np.ndarray | None = None
    density_weights: float = 0.5
    density_activation: float = 0.5
    seed: int | None = None
    tiles: int | None = None
    simulator: str = "verilator"
    out_dir: Path = Path("build/sim-cli")
    folder: str | None = None
    cxx_opt: str = "-O2"
    progress: bool = False
    force: bool = False
    limit_seconds: float = DEFAULT_LIMIT_SECONDS

    def __post_init__(self):
        if not isinstance(self.config, DstcConfig):
            raise ConvError(f"config={self.config!r}: must be a DstcConfig")
        if not isinstance(self.shape, ConvShape):
            raise ConvError(f"shape: must be a ConvShape, not {type(self.shape).__name__}")
        check_density("density_weights", self.density_weights)
        check_density("density_activation", self.density_activation)
        for name, want in (("weights", self.shape.weight_shape),
                           ("activation", self.shape.input_shape)):
            value = getattr(self, name)
            if value is not None and np.shape(value) != want:
                raise ConvError(f"{name}: shape {np.shape(value)}, the layer needs {want}")
        if self.seed is not None and (type(self.seed) is not int or self.seed < 0):
            raise ConvError(f"seed={self.seed!r}: must be a non-negative integer or None")
        if self.tiles is not None and (type(self.tiles) is not int or self.tiles < 1):
            raise ConvError(f"tiles={self.tiles!r}: must be a positive integer or None")
        if self.simulator not in ("verilator", "icarus"):
            raise ConvError(f"simulator={self.simulator!r}: must be verilator or icarus")

    @property
    def grid(self):
        """Output tiles ``(rows, columns)``: ``ceil(F / tile_m), ceil(OH*OW / tile_n)``."""
        return (-(-self.shape.filters // self.config.tile_m),
                -(-self.shape.pixels // self.config.tile_n))


def _nominal_densities(request):
    """The weights' and activation's densities as the estimate takes them: a given array's
    measured fraction of nonzeros, else the requested density."""
    return tuple(float(np.count_nonzero(array)) / array.size if array is not None else wanted
                 for array, wanted in ((request.weights, request.density_weights),
                                       (request.activation, request.density_activation)))


def estimate_conv(request):
    """The :class:`~dstc.gen.estimate.GemmEstimate` of ``request``, from the shape and the
    densities alone: the layer's GEMM (``F x OH*OW x C*R*S``), or for ``tiles`` sampled
    tiles a GEMM of that many output tiles (``min(F, tile_m) x tiles*min(P, tile_n) x K``)."""
    config, shape = request.config, request.shape
    density_a, density_b = _nominal_densities(request)
    if request.tiles is None or request.tiles >= request.grid[0] * request.grid[1]:
        gemm = shape.gemm_shape
    else:
        gemm = (min(shape.filters, config.tile_m),
                request.tiles * min(shape.pixels, config.tile_n), shape.k)
    return estimate_gemm(gemm, config, density_a, density_b, request.simulator)


@dataclass(frozen=True, eq=False)
class ConvPlan:
    """A request's operands, golden result and programs, ready to run: the ``seed`` used,
    the operand arrays, the ``golden`` :class:`~dstc.sim.conv.ConvResult`, the layer's
    ``cycles`` (:class:`~dstc.sim.conv.ConvCycles`, exact model), the ``programs``
    (:class:`TileProgram`: one for the whole layer, or one per sampled tile), the build folder
    and log, and the ``estimate``."""
    request: ConvRequest
    seed: int
    weights: np.ndarray
    activation: np.ndarray
    golden: object
    cycles: object
    programs: tuple
    build_dir: Path
    log: Path
    estimate: object

    @property
    def sampled(self):
        return self.programs[0].tile is not None

    def describe(self):
        """The lines ``dstc conv`` prints before simulating."""
        request, shape, cycles = self.request, self.request.shape, self.cycles
        rows, columns = request.grid
        commands = sum(len(tile.program.commands) for tile in self.programs)
        if self.sampled:
            which = (f"{len(self.programs)} of {rows * columns} output tiles sampled (seed "
                     f"{self.seed}): " + " ".join(f"({i},{j})" for i, j in
                                                   (tile.tile for tile in self.programs)))
        else:
            which = f"all {rows * columns} output tiles ({rows} x {columns}) as one program"
        return [
            f"DSTC conv: {_title(request.preset_name)} ({request.config.describe()}), "
            f"{request.simulator}, seed {self.seed}",
            f"layer {shape.describe()}",
            f"  GEMM {shape.filters} x {shape.pixels} x {shape.k} (F x OH*OW x C*R*S), "
            f"weights density {cycles.density_weights:.3f}, lowered activation density "
            f"{cycles.density_lowered:.3f}",
            f"  {which}, {commands} commands",
            f"  expected: {self.estimate.describe()}",
            f"  building and running on {request.simulator} (log: {self.log})",
        ]

    def execute(self):
        """Generate the core, run the programs on the simulator and check them. Returns a
        :class:`ConvRunResult`. Raises :class:`~dstc.gen.cocotb_run.SimulationError` when
        the simulator or the testbench fails."""
        request = self.request
        label = f"conv {request.shape.filters}x{request.shape.pixels}x{request.shape.k}"
        simulation = simulate_programs(
            request.config, [tile.program.commands for tile in self.programs], self.build_dir,
            self.log, simulator=request.simulator, cxx_opt=request.cxx_opt,
            progress_label=label if request.progress else None)
        checks = check_runs(request.config, self.programs, simulation.runs)
        return ConvRunResult(
            preset=request.preset_name, simulator=request.simulator, seed=self.seed,
            shape=request.shape, sampled=self.sampled, checks=checks, layer=self.cycles,
            useful_macs=simulation.runs[-1].counters["useful_macs"],
            sim_seconds=simulation.sim_seconds,
            build_and_run_seconds=simulation.build_and_run_seconds,
            generate_seconds=simulation.generate_seconds)


@dataclass(frozen=True)
class CheckedTiles:
    """Programs of a layer through the RTL: ``checks``, one :class:`TileCheck` per program,
    and their sums."""
    checks: tuple

    @property
    def tiles(self):
        """The output tiles run, ``(tile_row, tile_column)`` each (None: the whole layer)."""
        return tuple(check.tile for check in self.checks)

    @property
    def values_match(self):
        """Every value of every program equals the golden model's, bit for bit."""
        return all(check.values_match for check in self.checks)

    @property
    def cycles(self):
        """Measured cycles, summed over the programs."""
        return sum(check.cycles for check in self.checks)

    @property
    def model_cycles(self):
        """The exact model's cycles, summed over the programs."""
        return sum(check.model_cycles for check in self.checks)

    @property
    def ok(self):
        """Every program passed every check (values, cycles, no error flag)."""
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class ConvRunResult(CheckedTiles):
    """The figures of a ``dstc conv`` run: one :class:`TileCheck` per program (``checks``,
    the sums of :class:`CheckedTiles`), the layer's exact-model figures (``layer``, a
    :class:`~dstc.sim.conv.ConvCycles`), the useful MACs the core counted over every program,
    and the times in seconds. ``ok`` when every check passes."""
    preset: str
    simulator: str
    seed: int
    shape: ConvShape
    sampled: bool
    layer: object
    useful_macs: int
    sim_seconds: float
    build_and_run_seconds: float
    generate_seconds: float

    def summary(self):
        """The lines ``dstc conv`` prints after the run."""
        values = sum(check.values for check in self.checks)
        matched = sum(check.values for check in self.checks if check.values_match)
        equal = sum(check.cycles == check.model_cycles for check in self.checks)
        what = (f"{len(self.checks)} sampled tiles" if self.sampled else "the whole layer")
        layer = self.layer
        lines = [
            f"  result        {values} values of {what} "
            + ("match the golden convolution (bit-exact)" if matched == values else
               f"DO NOT match the golden convolution ({values - matched} in tiles that "
               f"differ)"),
            f"  cycles        {self.cycles} measured; exact model {self.model_cycles} "
            + (f"({'equal' if equal == len(self.checks) else 'DIFFERENT'})" if not self.sampled
               else f"({equal} of {len(self.checks)} tiles equal)"),
        ]
        if self.sampled:
            lines += [f"    tile ({check.tile[0]},{check.tile[1]})  {check.cycles} cycles, model "
                      f"{check.model_cycles}, values "
                      f"{'match' if check.values_match else 'DIFFER'}"
                      for check in self.checks]
        lines += [
            f"  layer         {layer.cycles} cycles (exact model, whole layer); dense mode "
            f"{layer.dense_mode_cycles}; speedup {_ratio(layer.speedup)}, ideal "
            f"1/(dA*dB) = {_ratio(layer.ideal_speedup)}; utilisation "
            f"{100 * layer.utilisation:.1f}%",
        ]
        errors = [check.errors for check in self.checks if check.errors]
        if errors:
            lines.append(f"  errors        {errors[0]:#x} (see docs/isa.md)")
        lines.append(f"  time          {self.sim_seconds:.2f} s simulating "
                     f"({self.cycles / max(self.sim_seconds, 1e-9):.0f} cycles/s), "
                     f"{self.build_and_run_seconds:.1f} s with the build, "
                     f"{self.generate_seconds:.1f} s generating")
        return lines


def _title(name):
    return name if name.startswith("config:") else f"{name} preset"


def _ratio(value):
    return f"{value:.2f}x" if math.isfinite(value) else "unbounded (nothing to compute)"


def plan_conv(request):
    """Estimate the cost of ``request`` (a :class:`ConvRequest`) from its shape and densities
    (refusing it, before anything is drawn, with :class:`~dstc.gen.estimate.TooExpensive`
    when it exceeds ``limit_seconds`` or the machine's memory, unless ``force``), then draw
    or take the operands, compute the golden convolution and the exact cycles, sample the
    tiles and build the programs. Returns a :class:`ConvPlan`; nothing is written or run.
    Raises :class:`~dstc.sim.bitmap.OperandError` for operand values the configuration
    cannot hold."""
    config, shape = request.config, request.shape
    estimate = check_gemm(estimate_conv(request), request.limit_seconds, request.force)
    seed = int.from_bytes(os.urandom(4), "little") if request.seed is None else request.seed
    rng = np.random.default_rng(seed)
    weights, activation = random_conv_operands(shape, config, request.density_weights,
                                               request.density_activation, rng)
    arith = Arithmetic(config)
    if request.weights is not None:
        weights = arith.operands(request.weights, "weights")
    if request.activation is not None:
        activation = arith.operands(request.activation, "activation")
    arguments = dict(stride=shape.stride, padding=shape.padding, dilation=shape.dilation)
    golden = conv2d(weights, activation, config, **arguments)
    cycles = conv_cycles(weights, golden.lowered, config)
    a_matrix = weights.reshape(shape.filters, shape.k)
    d = golden.gemm.d
    if request.tiles is None or request.tiles >= request.grid[0] * request.grid[1]:
        program = gemm_program(encode_a(a_matrix, config), golden.lowered.to_encoded(), config)
        programs = (TileProgram(None, slice(None), slice(None), program, d, cycles.cycles),)
    else:
        tiles = sample_tiles(request.grid, request.tiles, rng)
        programs = tuple(tile_programs(config, a_matrix, golden.lowered, tiles, expected=d))
    design_dir = Path(request.out_dir) / (request.folder or request.preset_name)
    build_dir = design_dir / (request.simulator
                              + (request.cxx_opt if request.simulator == "verilator" else ""))
    return ConvPlan(request, seed, weights, activation, golden, cycles, programs, build_dir,
                    build_dir.with_name(build_dir.name + "-conv.log"), estimate)


def run_conv(request):
    """Plan and execute ``request``; returns a :class:`ConvRunResult`. Raises as
    :func:`plan_conv` and :meth:`ConvPlan.execute`."""
    return plan_conv(request).execute()


# -- command line -------------------------------------------------------------------------------

HELP = "run a convolution layer through the RTL as SpGEMM (bitmap im2col), checked"
DESCRIPTION = (
    "Generate the core and run a convolution layer through it as SpGEMM: the weights as A, "
    "the activation bitmap-encoded and lowered in the bitmap format as B, every output tile "
    "(or --tiles N sampled ones). The drained values are checked bit for bit against the "
    "golden convolution and the cycles against the exact cycle model; prints the layer's "
    "speedup over dense mode and the multiplier utilisation.")


def _pair_type(text):
    """``argparse`` type: ``N`` or ``V,H`` (integers), as a pair."""
    parts = text.replace("x", ",").split(",")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer or a pair V,H of "
                                         f"integers") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r}: give one integer or a pair V,H")
    return values * 2 if len(values) == 1 else values


def add_arguments(parser):
    """Add the options of ``dstc conv`` to ``parser``."""
    add_config_options(parser)
    layer = parser.add_argument_group("layer (sizes come from --weights and --input when given)")
    layer.add_argument("--channels", type=positive_int, help="input channels C (default 8)")
    layer.add_argument("--height", type=positive_int, help="input height H (default 8)")
    layer.add_argument("--width", type=positive_int, help="input width W (default 8)")
    layer.add_argument("--filters", type=positive_int, help="output channels F (default 16)")
    layer.add_argument("--kernel", type=_pair_type, metavar="R[,S]",
                       help="kernel size (default 3)")
    layer.add_argument("--stride", type=_pair_type, default=(1, 1), metavar="V[,H]",
                       help="stride (default 1)")
    layer.add_argument("--padding", type=_pair_type, default=(1, 1), metavar="V[,H]",
                       help="zero padding (default 1)")
    layer.add_argument("--dilation", type=_pair_type, default=(1, 1), metavar="V[,H]",
                       help="dilation (default 1)")
    operands = parser.add_argument_group("operands")
    operands.add_argument("--weight-density", type=density, default=0.5, metavar="X",
                          help="fraction of nonzero weights (default 0.5)")
    operands.add_argument("--activation-density", type=density, default=0.5, metavar="Y",
                          help="fraction of nonzero activations (default 0.5)")
    operands.add_argument("--weights", metavar="FILE.npy",
                          help="the weights, F x C x R x S (instead of random ones)")
    operands.add_argument("--input", metavar="FILE.npy",
                          help="the input activation, C x H x W (instead of a random one)")
    operands.add_argument("--seed", type=seed_type,
                          help="seed of the random operands and of the sampled tiles (default: "
                               "random, printed)")
    parser.add_argument("--tiles", type=positive_int, metavar="N",
                        help="run N sampled output tiles (default: every tile)")
    parser.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                        help="simulator (default: verilator)")
    parser.add_argument("--force", action="store_true",
                        help="run even when the estimate exceeds 10 minutes of simulation or "
                             "the machine's memory")
    add_output_option(parser, "build/sim-cli", help="folder for the generated core and "
                      "simulator builds (shared with dstc sim)")


def _load(path, option, ndim):
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"{option} {path}: cannot read a .npy array ({error})") from None
    if array.ndim != ndim:
        raise UsageError(f"{option} {path}: shape {array.shape}, must be {ndim}-D "
                         + ("(F, C, R, S)" if ndim == 4 else "(C, H, W)"))
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise UsageError(f"{option} {path}: dtype {array.dtype}, must be numbers")
    return array


def _size(args, option, value, from_file, default):
    """A layer size from the option or the file; refuse a disagreement."""
    given = getattr(args, option)
    if from_file is not None:
        if given is not None and given != from_file:
            raise UsageError(f"--{option}={given}: {value} gives {from_file}")
        return from_file
    return default if given is None else given


def _shape(args, weights, activation):
    kernel = None if weights is None else tuple(weights.shape[2:])
    channels_w = None if weights is None else weights.shape[1]
    channels_x = None if activation is None else activation.shape[0]
    if channels_w is not None and channels_x is not None and channels_w != channels_x:
        raise UsageError(f"--weights has {channels_w} input channels but --input has "
                         f"{channels_x}: they must agree")
    channels = _size(args, "channels", "--weights" if channels_w else "--input",
                     channels_w or channels_x, 8)
    height = _size(args, "height", "--input", None if activation is None
                   else activation.shape[1], 8)
    width = _size(args, "width", "--input", None if activation is None
                  else activation.shape[2], 8)
    filters = _size(args, "filters", "--weights", None if weights is None
                    else weights.shape[0], 16)
    kernel = _size(args, "kernel", "--weights", kernel, (3, 3))
    try:
        return ConvShape(channels, height, width, filters, kernel, args.stride, args.padding,
                         args.dilation)
    except ConvError as error:
        raise UsageError(str(error)) from None


def command(args):
    """Run ``dstc conv`` from parsed arguments; returns the exit code (0: every check passed,
    1: a check failed). Raises :class:`~dstc.gen.options.UsageError` for a bad layer, operand
    file or output folder and for a run refused by the estimate."""
    config = config_from(args)
    out_dir = check_output_folder(args.output)
    weights = None if args.weights is None else _load(args.weights, "--weights", 4)
    activation = None if args.input is None else _load(args.input, "--input", 3)
    shape = _shape(args, weights, activation)
    request = ConvRequest(config, config_name(args), shape, weights, activation,
                          args.weight_density, args.activation_density, seed=args.seed,
                          tiles=args.tiles, simulator=args.simulator, out_dir=out_dir,
                          folder=config_folder(args, config), progress=True, force=args.force)
    try:
        plan = plan_conv(request)
    except TooExpensive as error:
        tiles = request.grid[0] * request.grid[1]
        what = (f"{request.tiles} sampled tiles" if request.tiles
                else f"the whole layer ({tiles} output tiles)")
        raise UsageError(f"{shape.describe()}: {what} {error}"
                         + ("" if request.tiles else "; sample tiles with --tiles N")) from None
    except ValueError as error:        # operand values the configuration cannot hold
        raise UsageError(str(error)) from None
    for line in plan.describe():
        print(line)
    result = plan.execute()
    print()
    for line in result.summary():
        print(line)
    return 0 if result.ok else 1
