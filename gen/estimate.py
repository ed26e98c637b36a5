"""Cost of a run before it starts: expected cycles, wall time and memory of a simulated GEMM,
and the time to generate a configuration's Verilog.

``dstc sim`` (and the commands that simulate whole workloads) call :func:`estimate_gemm` with
the shape and the densities alone, before drawing an operand, and refuse a run above
:data:`DEFAULT_LIMIT_SECONDS` of simulation or above the machine's memory unless forced
(:func:`check_gemm`). The figures are expectations, not bounds:

* cycles: the closed form of :func:`expected_gemm_cycles`, the expectation of the exact cycle
  formula of ``dstc.sim.gemm_cycles`` (docs/workloads.md) over operands whose elements are
  nonzero independently with the given densities (a binomial model);
* simulation speed: simulated cycles per second from :data:`dstc.gen.sim_speed.SIM_SPEED`,
  the table ``dstc bench`` measures;
* program construction and memory: per command, measured on the presets (the constants below);
* Verilog generation: :func:`expected_generation_seconds`, a power-law fit of the generation
  times ``dstc bench`` measured against ``macs * tile_m * tile_n``.
"""

import logging
import math
import os
from dataclasses import dataclass

from ..sim.config import PRESETS, DstcConfig
from ..sim.cycles import spwmma_fixed_cycles
from ..sim.isa import pipeline_latency
from .sim_speed import GENERATION_SECONDS, SIM_SPEED

__all__ = ["DEFAULT_LIMIT_SECONDS", "GENERATION_WARN_SECONDS", "GemmEstimate",
           "expected_gemm_cycles", "expected_gemm_commands", "estimate_gemm", "check_gemm",
           "cycles_per_second", "expected_generation_seconds", "machine_memory_bytes",
           "TooExpensive", "warn_slow_generation", "sweep_memory_bytes", "check_memory"]

#: Simulation time above which :func:`check_gemm` refuses a run (without ``force``), seconds.
DEFAULT_LIMIT_SECONDS = 600.0
#: Expected Verilog generation time above which the commands warn, seconds.
GENERATION_WARN_SECONDS = 120.0

# Measured with the program builder (``dstc.sim.program.gemm_program``) on the small and default
# presets, 64x64x64 to 128x128x256 at densities 0.3 to 0.9 (tracemalloc and a timer): 400 to
# 600 bytes and 110 to 160 us per command. The simulator process holds a second copy of the
# program, hence twice the bytes.
_SECONDS_PER_COMMAND = 160e-6
_BYTES_PER_COMMAND = 2 * 600
# Bytes per operand element while drawing the random operands (``random_operands``: the
# float64 uniforms, the float64 or int64 values, the mask and the result) plus the encoded
# copy; bytes per output element (the result, the golden model's and its assembly).
_BYTES_PER_OPERAND = 40
_BYTES_PER_OUTPUT = 32


class TooExpensive(ValueError):
    """A run whose estimate exceeds a limit; the message gives the estimate and the limit."""


def _binomial_ceil_mean(count, density, chunk):
    """``E[ceil(X / chunk)]`` for ``X ~ Binomial(count, density)``."""
    if count == 0 or density == 0.0:
        return 0.0
    if density == 1.0:
        return float(-(-count // chunk))
    log_p, log_q = math.log(density), math.log1p(-density)
    total = 0.0
    for x in range(1, count + 1):
        log_pmf = (math.lgamma(count + 1) - math.lgamma(x + 1) - math.lgamma(count - x + 1)
                   + x * log_p + (count - x) * log_q)
        total += math.exp(log_pmf) * -(-x // chunk)
    return total


def _sizes(length, block):
    """``{block size: how many blocks}`` of ``length`` cut into blocks of ``block``."""
    full, rest = divmod(length, block)
    sizes = {block: full} if full else {}
    if rest:
        sizes[rest] = 1
    return sizes


def _check(shape, density_a, density_b):
    if len(shape) != 3 or any(type(v) is not int or v < 1 for v in shape):
        raise ValueError(f"shape={shape!r}: must be (M, N, K), three positive integers")
    for name, value in (("density_a", density_a), ("density_b", density_b)):
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ValueError(f"{name}={value!r}: a density must be a number from 0 to 1")


def _tile_terms(shape, config, density_a, density_b):
    """Yield ``(tiles, p_tile, pairs, headers, ksteps, issue cycles)`` per class of output
    tile (full or partial in m and n): how many such tiles, the probability that one issues
    anything, and the expected SpWMMA pairs (= header cycles), non-empty k-steps and OHMMA
    cycles of one tile."""
    m, n, k = shape
    tm, tn, kc = config.tile_m, config.tile_n, config.k_chunk
    ar, ac = config.array_rows, config.array_cols
    chunks = _sizes(k, kc)
    for rows, row_tiles in _sizes(m, tm).items():
        a_step = _binomial_ceil_mean(rows, density_a, ar)
        a_nonempty_step = 1.0 - (1.0 - density_a) ** rows
        for cols, col_tiles in _sizes(n, tn).items():
            b_step = _binomial_ceil_mean(cols, density_b, ac)
            b_nonempty_step = 1.0 - (1.0 - density_b) ** cols
            log_none, pairs, ksteps, issues = 0.0, 0.0, 0.0, 0.0
            for depth, count in chunks.items():
                p_pair = ((1.0 - (1.0 - density_a) ** (rows * depth))
                          * (1.0 - (1.0 - density_b) ** (cols * depth)))
                log_none += count * (math.log1p(-p_pair) if p_pair < 1.0 else -math.inf)
                pairs += count * p_pair
                ksteps += count * depth * a_nonempty_step * b_nonempty_step
                issues += count * depth * a_step * b_step
            yield (row_tiles * col_tiles, 1.0 - math.exp(log_none), pairs, ksteps, issues)


def expected_gemm_cycles(shape, config, density_a, density_b):
    """Expected cycles of the SpGEMM ``shape = (M, N, K)`` on ``config`` with random operands
    whose elements are nonzero independently with probabilities ``density_a`` (A, ``M x K``)
    and ``density_b`` (B, ``K x N``), in closed form: for each output tile, the probability
    that it issues anything times its fixed cycles (CLEAR, the pipeline tail, DRAIN and
    ``tile_m`` rows), plus the expected SpWMMA headers and OHMMA issue cycles
    (``E[ceil(nnz_A / array_rows)] * E[ceil(nnz_B / array_cols)]`` per k-step). Within a few
    percent of ``dstc.sim.gemm_cycles`` on drawn operands (tested); a float. Raises
    :class:`ValueError` for a bad shape or density."""
    _check(shape, density_a, density_b)
    tail = 1 + pipeline_latency(config)
    header = spwmma_fixed_cycles(config)
    total = 0.0
    for tiles, p_tile, pairs, _, issues in _tile_terms(shape, config, density_a, density_b):
        fixed = 1 + tail + 1 + config.tile_m
        total += tiles * (p_tile * fixed + pairs * header + issues)
    return total + (1.0 if total else 0.0)


def expected_gemm_commands(shape, config, density_a, density_b):
    """Expected commands of the program of that GEMM (CLEAR and DRAIN per issuing output
    tile, one SPWMMA per issued tile pair unless ``kstep_bitmaps="inline"``, one KSTEP per
    k-step with nonzeros on both sides); a float. Raises :class:`ValueError` for a bad shape
    or density."""
    _check(shape, density_a, density_b)
    header = spwmma_fixed_cycles(config)
    return sum(tiles * (2 * p_tile + pairs * header + ksteps)
               for tiles, p_tile, pairs, ksteps, _ in
               _tile_terms(shape, config, density_a, density_b))


def _size_key(config):
    return config.macs * config.tile_m * config.tile_n


def _nearest_preset(config, table):
    """The preset of ``table`` (names) closest to ``config`` in ``macs * tile_m * tile_n``
    (log distance), a preset of the same operand kind (integer or float) first among equals;
    for a configuration not in the table."""
    candidates = [name for name in table if name in PRESETS]

    def distance(name):
        other = PRESETS[name]
        return (round(abs(math.log(_size_key(other)) - math.log(_size_key(config))), 9),
                other.operand.is_float != config.operand.is_float)

    return min(candidates, key=distance)


def cycles_per_second(config, simulator):
    """Simulated cycles per second of a whole ``dstc sim`` run (cocotb included) of
    ``config`` on ``simulator``, from :data:`~dstc.gen.sim_speed.SIM_SPEED`: the preset's own
    figure when ``config`` equals a measured preset, else that of the measured preset nearest
    in size (``macs * tile_m * tile_n``; the same operand kind first among equals): the int8
    preset takes the default's figure. Raises :class:`ValueError` for a simulator that the
    table does not have."""
    if simulator not in SIM_SPEED:
        raise ValueError(f"simulator={simulator!r}: no measured speed; known: "
                         f"{sorted(SIM_SPEED)}")
    table = SIM_SPEED[simulator]
    for name, rate in table.items():
        if PRESETS.get(name) == config:
            return rate
    return table[_nearest_preset(config, table)]


def expected_generation_seconds(config):
    """Expected seconds to generate ``config``'s core (``DstcCore`` to Verilog): the power law
    ``seconds = a * (macs * tile_m * tile_n) ** b`` fitted (least squares on logarithms) to
    :data:`~dstc.gen.sim_speed.GENERATION_SECONDS`."""
    points = [(math.log(_size_key(PRESETS[name])), math.log(seconds))
              for name, seconds in GENERATION_SECONDS.items()]
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points)
             / sum((x - mean_x) ** 2 for x, _ in points))
    return math.exp(mean_y + slope * (math.log(_size_key(config)) - mean_x))


def machine_memory_bytes():
    """The machine's memory (``MemTotal`` of ``/proc/meminfo``), bytes; ``None`` where it
    cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


@dataclass(frozen=True)
class GemmEstimate:
    """What a simulated GEMM is expected to cost: ``cycles``, ``commands``, the simulator's
    ``cycles_per_second``, ``simulate_seconds`` (cycles / speed), ``program_seconds`` (building
    the command program), ``memory_bytes`` (peak, operands and program) and the machine's
    ``machine_bytes`` (``None``: unknown)."""
    cycles: float
    commands: float
    cycles_per_second: float
    simulate_seconds: float
    program_seconds: float
    memory_bytes: float
    machine_bytes: int | None

    @property
    def seconds(self):
        """Expected wall time of program construction and simulation (without the build)."""
        return self.simulate_seconds + self.program_seconds

    def describe(self):
        """One line: the estimate in human units."""
        return (f"about {_count(self.cycles)} cycles and {_count(self.commands)} commands: "
                f"{_duration(self.seconds)} ({_duration(self.simulate_seconds)} simulating at "
                f"{self.cycles_per_second:,.0f} cycles/s, {_duration(self.program_seconds)} "
                f"building the program), {_bytes(self.memory_bytes)} of memory"
                + (f" of {_bytes(self.machine_bytes)}" if self.machine_bytes else ""))


def _count(value):
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def _duration(seconds):
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _bytes(value):
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value / 2**10:.0f} KiB"


def estimate_gemm(shape, config, density_a, density_b, simulator="verilator"):
    """The :class:`GemmEstimate` of simulating the SpGEMM ``shape = (M, N, K)`` with random
    operands of densities ``density_a`` and ``density_b`` on ``config`` with ``simulator``,
    from the shape and densities alone (nothing is drawn or built). Raises
    :class:`ValueError` for a bad shape, density or simulator."""
    if not isinstance(config, DstcConfig):
        raise ValueError(f"config={config!r}: must be a DstcConfig")
    cycles = expected_gemm_cycles(shape, config, density_a, density_b)
    commands = expected_gemm_commands(shape, config, density_a, density_b)
    rate = cycles_per_second(config, simulator)
    m, n, k = shape
    memory = (_BYTES_PER_OPERAND * (m * k + k * n) + _BYTES_PER_OUTPUT * m * n
              + _BYTES_PER_COMMAND * commands)
    return GemmEstimate(cycles=cycles, commands=commands, cycles_per_second=rate,
                        simulate_seconds=cycles / rate,
                        program_seconds=commands * _SECONDS_PER_COMMAND,
                        memory_bytes=memory, machine_bytes=machine_memory_bytes())


def check_gemm(estimate, limit_seconds=DEFAULT_LIMIT_SECONDS, force=False):
    """Return ``estimate`` (a :class:`GemmEstimate`) when the run fits: at most
    ``limit_seconds`` of expected wall time and no more memory than the machine has. Else
    raise :class:`TooExpensive` with the estimate and the limit, unless ``force``."""
    if force:
        return estimate
    reasons = []
    if estimate.seconds > limit_seconds:
        reasons.append(f"over the limit of {_duration(limit_seconds)}")
    if estimate.machine_bytes and estimate.memory_bytes > estimate.machine_bytes:
        reasons.append("more memory than this machine has")
    if reasons:
        raise TooExpensive(f"would take {estimate.describe()}: {' and '.join(reasons)}; use a "
                           f"smaller shape, or --force to run it anyway")
    return estimate

def sweep_memory_bytes(shape):
    """Expected peak memory of one point of ``dstc sweep`` on ``shape = (M, N, K)``, bytes:
    the two bitmaps (1 byte per element), their padded copies and a working margin of
    temporaries (256 MiB, the bound of ``dstc.sim.gemm_cycles``' blocks and the random
    blocks). Raises :class:`ValueError` for a bad shape."""
    _check(shape, 0.5, 0.5)
    m, n, k = shape
    return 3 * (m * k + k * n) + 256 * 2**20


def check_memory(needed, what, force=False):
    """Return ``needed`` (bytes) when it fits in the machine's memory (or the memory is
    unknown, or ``force``); else raise :class:`TooExpensive` naming ``what`` and both
    sizes."""
    machine = machine_memory_bytes()
    if force or not machine or needed <= machine:
        return needed
    raise TooExpensive(f"{what} needs about {_bytes(needed)} of memory, more than this "
                       f"machine has ({_bytes(machine)}); use a smaller shape, or --force to "
                       f"try anyway")


def warn_slow_generation(config, log=None):
    """Log a warning (on ``log``, default the ``dstc`` logger) when generating ``config``'s
    Verilog is expected to take more than :data:`GENERATION_WARN_SECONDS`; returns the
    expected seconds."""
    seconds = expected_generation_seconds(config)
    if seconds > GENERATION_WARN_SECONDS:
        (log or logging.getLogger("dstc")).warning(
            "warning: generating this configuration (%s) is expected to take about %s "
            "(fit of the presets' generation times against macs x tile size)",
            config.describe(), _duration(seconds))
    return seconds
