"""Sampled output tiles of a network's layers through the generated RTL (``dstc network``).

While the forward pass runs, :class:`RtlTiles` draws ``tiles`` output tiles of each chosen
layer (seeded) and builds each tile's program from the layer's own fp16 operands: A = the
tile row of the pruned fp16 weights, B = the column tile of the activation lowered in the
bitmap format, C = the bias (LOAD_ROW). The golden model
(:func:`~dstc.sim.golden.spgemm` of the tile's operands) gives the expected values and the
exact model (:func:`~dstc.sim.gemm_cycles.gemm_cycles` of the tile's bitmaps, with C) the
expected cycles. :meth:`RtlTiles.execute` runs every program of every layer in one simulation
and returns a :class:`~dstc.gen.conv.CheckedTiles` per layer.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .conv import CheckedTiles, check_runs, sample_tiles, tile_programs
from .estimate import DEFAULT_LIMIT_SECONDS, TooExpensive, estimate_gemm
from .gemm_sim import simulate_programs

__all__ = ["RtlOptions", "RtlSummary", "RtlTiles", "check_rtl_config"]


@dataclass(frozen=True)
class RtlOptions:
    """What runs through the RTL: ``tiles`` sampled output tiles per layer (at least 1),
    of the layers named in ``layers`` (None: every layer), drawn from ``seed``, on
    ``simulator``; the simulator build goes to ``out_dir/folder/<simulator>-O2`` (shared with
    ``dstc sim`` and ``dstc conv``). ``force`` runs past the estimate's limits."""
    tiles: int
    seed: int
    layers: tuple | None = None
    simulator: str = "verilator"
    out_dir: Path = Path("build/sim-cli")
    folder: str = "default"
    force: bool = False


@dataclass(frozen=True)
class RtlSummary:
    """The RTL part of a ``dstc network`` run: ``simulator``, ``tiles`` per layer, ``seed``,
    the number of ``programs`` run, ``ok`` (every check passed), ``sim_seconds`` and
    ``build_and_run_seconds``."""
    simulator: str
    tiles: int
    seed: int
    programs: int
    ok: bool
    sim_seconds: float
    build_and_run_seconds: float


def check_rtl_config(config):
    """Raise ``ValueError`` unless ``config`` takes the network's fp16 operands."""
    if config.operand_type != "fp16":
        raise ValueError(f"--rtl-tiles: the network's operands are fp16, the configuration's "
                         f"are {config.operand_type}; use an fp16 preset or --no-rtl")


class RtlTiles:
    """Collects the sampled tiles' programs of the layers of one or more runs, then runs them.

    ``config``: an fp16 configuration; ``options``: :class:`RtlOptions`; ``runs``: how many
    forward passes (weight densities) will add layers (run ``r`` draws its tiles from child
    ``r`` of ``SeedSequence(options.seed)``, every layer in order whether it is run or not, so
    choosing layers does not change the tiles drawn)."""

    def __init__(self, config, options, runs):
        check_rtl_config(config)
        self.config, self.options = config, options
        self.rngs = [np.random.default_rng(child)
                     for child in np.random.SeedSequence(options.seed).spawn(runs)]
        self.programs = {}           # (run, layer name) -> [TileProgram]
        self.estimate_seconds = 0.0

    def add(self, run, name, a_matrix, lowered, bias):
        """Sample the tiles of layer ``name`` of run ``run`` (``a_matrix``: ``F x K`` fp16
        weights as loaded; ``lowered``: the layer's
        :class:`~dstc.sim.im2col.LoweredActivation`; ``bias``: ``F`` fp32) and build their
        programs. Raises :class:`~dstc.gen.estimate.TooExpensive` when the tiles gathered so
        far are expected to take longer than the limit, unless ``force``."""
        config = self.config
        filters, k = a_matrix.shape
        grid = (-(-filters // config.tile_m), -(-lowered.shape.pixels // config.tile_n))
        tiles = sample_tiles(grid, self.options.tiles, self.rngs[run])
        if self.options.layers is not None and name not in self.options.layers:
            return
        estimate = estimate_gemm((min(filters, config.tile_m), len(tiles) * config.tile_n, k),
                                 config, float(np.count_nonzero(a_matrix)) / a_matrix.size,
                                 lowered.density, self.options.simulator)
        self.estimate_seconds += estimate.seconds
        if self.estimate_seconds > DEFAULT_LIMIT_SECONDS and not self.options.force:
            raise TooExpensive(
                f"--rtl-tiles {self.options.tiles}: the sampled tiles up to {name} are "
                f"expected to take about {self.estimate_seconds:.0f} s through the RTL "
                f"({estimate.cycles_per_second:,.0f} cycles/s on {self.options.simulator}), "
                f"over the {DEFAULT_LIMIT_SECONDS:.0f} s limit; sample fewer tiles or layers "
                f"(--rtl-layers), or --force")
        self.programs[(run, name)] = tile_programs(config, a_matrix, lowered, tiles, bias=bias)

    def execute(self, progress=False):
        """Run every collected program in one simulation; returns ``({(run, layer name):
        CheckedTiles}, RtlSummary)``. Raises :class:`~dstc.gen.cocotb_run.SimulationError` when
        the simulator or the testbench fails."""
        keys = list(self.programs)
        flat = [tile for key in keys for tile in self.programs[key]]
        options = self.options
        build_dir = (Path(options.out_dir) / options.folder
                     / (options.simulator + ("-O2" if options.simulator == "verilator" else "")))
        simulation = simulate_programs(
            self.config, [tile.program.commands for tile in flat], build_dir,
            build_dir.with_name(build_dir.name + "-network.log"), simulator=options.simulator,
            progress_label="RTL tiles" if progress else None)
        checks = iter(check_runs(self.config, flat, simulation.runs))
        layers = {key: CheckedTiles(tuple(next(checks) for _ in self.programs[key]))
                  for key in keys}
        summary = RtlSummary(simulator=options.simulator, tiles=options.tiles, seed=options.seed,
                             programs=len(flat), ok=all(layer.ok for layer in layers.values()),
                             sim_seconds=simulation.sim_seconds,
                             build_and_run_seconds=simulation.build_and_run_seconds)
        return layers, summary
