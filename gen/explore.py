"""``dstc explore``: a grid of accumulator designs, each synthesised and swept, on Dask.

The grid is every preset, crossed with every listed design (a set of configuration fields,
for example ``{lane_placement = "reach", row_classes = 8}``; default: the preset itself),
crossed with every combination of the axes, an axis being a configuration field
(:class:`~dstc.sim.config.DstcConfig`) and its values (for example ``row_classes`` x
``col_classes``). For each design the explorer runs

* ``dstc area`` of the sparse core (:func:`dstc.gen.area.run_area`), and of its dense
  baseline, synthesised once for all the designs that differ only in accumulator-variant
  fields (:data:`SPARSE_ONLY_FIELDS`) and reused;
* the exact fast cycle model (:func:`dstc.sim.gemm_cycles.gemm_cycles` with the design's
  :func:`~dstc.sim.gemm_cycles.kstep_cost`) over one density grid (:data:`DEFAULT_POINTS`), on
  uniform random operands and on bank-balanced weights (:mod:`dstc.sim.pruning`, balanced for
  ``array_rows`` classes), at one GEMM size; each point's operands are drawn once and timed
  on every design of the same tiling and on the crossbar;
* with ``simulation``, a Verilator build of the sparse core from scratch and a checked
  SpGEMM on it (:func:`~dstc.gen.explore_jobs.simulation_job`: build time, ms per tile);
* with ``fpga``, ``dstc fpga``'s synthesis of the sparse core and its dense baseline
  (:func:`~dstc.gen.explore_jobs.fpga_job`: LUTs), the baseline shared as above.

Normalised latency = cycles / dense-mode cycles of the same GEMM; cycle ratio = cycles / the
crossbar's (``ChunkCost``) cycles on the same operands; area ratio = sparse / dense area. It
writes ``explore.csv`` and ``explore.md`` (one row per design, operand kind and density point,
Pareto-optimal designs marked) and ``explore.png`` (area ratio against normalised latency, one
panel per density point). docs/explore.md describes the columns and the Dask set-up.

Jobs run on ``dask.distributed``: a ``LocalCluster`` of one worker with the machine's cores
(``resources={"synth": 1}``, held by every synthesis and simulation, so that two never run
at once on one machine: yosys runs in child processes that a worker's memory limit does not
see, and a default-preset synthesis needs about 11 GB), or an existing scheduler. Tasks are
never retried (``retries=0`` and, on the local cluster, ``allowed-failures=0``: a synthesis
killed for memory must not run again). Every finished job is cached on the client
(``<output>/cache``) under a digest of its parameters, the source it runs and the tool
versions, as soon as it finishes, so that a rerun or a crash loses nothing finished; a
failed job is reported in the table with its error while the others go on.

Python use: :func:`load_spec`, :func:`run_explore` (returns an :class:`ExploreResult`);
command line: ``dstc explore`` (:func:`add_arguments`, :func:`command`).
"""

import dataclasses
import json
import logging
import os
import time

from ..sim.config import preset
from .explore_jobs import (
    FPGA_BOARD,
    SIMULATION_WORKLOAD,
    ResultCache,
    fpga_job,
    simulation_job,
    source_digest,
    sweep_job,
    synthesis_job,
    tool_versions,
)
from .explore_report import build_rows, write_plot, write_table
from .explore_spec import (
    SPARSE_ONLY_FIELDS,
    ExploreSpec,
    check_spec,
    dense_config,
    expand,
    load_spec,
    tiling,
)
from .options import (
    UsageError,
    add_figures_option,
    add_output_option,
    check_output_folder,
    positive_float,
    positive_int,
    seed_type,
)

__all__ = ["ExploreResult", "run_explore", "spec_from", "HELP", "DESCRIPTION",
           "add_arguments", "command"]

log = logging.getLogger("dstc")


@dataclasses.dataclass(frozen=True)
class ExploreResult:
    """What :func:`run_explore` did."""

    spec: ExploreSpec
    designs: tuple           #: :class:`Design` of the grid
    rows: tuple              #: :class:`ExploreRow`
    paths: tuple             #: files written
    jobs_run: int            #: jobs computed in this run
    jobs_cached: int         #: jobs taken from the cache
    jobs_failed: int
    seconds: float


def _client(scheduler, workers, threads, processes, dashboard):
    """A Dask client: on ``scheduler`` (an address) or on a new LocalCluster, whose workers
    stop their jobs' tools when they close (:class:`~dstc.gen.explore_plugin.StopToolsOnClose`);
    returns ``(client, cluster or None)``."""
    import dask
    from distributed import Client, LocalCluster

    from .explore_plugin import StopToolsOnClose

    if scheduler:
        return Client(scheduler), None
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        # The scheduler serves HTTP (health, metrics) even without a dashboard, on port 8787
        # unless told otherwise: with the dashboard off it takes any free port, so that
        # clusters started side by side (parallel tests, two runs) never collide.
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=threads, processes=processes,
            resources={"synth": 1}, memory_limit=0 if not processes else "auto",
            dashboard_address=dashboard,
            scheduler_kwargs=None if dashboard else {"dashboard": False,
                                                     "dashboard_address": ":0"})
    client = Client(cluster)
    # Its workers stop their jobs' tools when they close (an interrupted run leaves none).
    client.register_plugin(StopToolsOnClose())
    return client, cluster


def _check_workload(workload):
    """Raise :class:`UsageError` unless ``workload`` is a valid simulation SpGEMM (the keys
    of :data:`~dstc.gen.explore_jobs.SIMULATION_WORKLOAD`, values as ``dstc sim`` takes
    them)."""
    from .gemm_sim import GemmRequest

    keys = sorted(SIMULATION_WORKLOAD)
    if not isinstance(workload, dict) or sorted(workload) != keys:
        raise UsageError(f"simulation_workload={workload!r}: must be a dict with the keys "
                         f"{', '.join(keys)}")
    try:
        GemmRequest(preset("small"), "small", **workload)
    except ValueError as error:
        raise UsageError(f"simulation_workload: {error}") from None


def run_explore(spec, out_dir, *, scheduler=None, workers=1, threads=None, processes=True,
                dashboard=None, liberty=None, sparse_only_fields=SPARSE_ONLY_FIELDS,
                figures=True, simulation_workload=SIMULATION_WORKLOAD):
    """Run the exploration ``spec`` (an :class:`ExploreSpec`) and write its table (and plot)
    into ``out_dir``; jobs already in ``out_dir/cache`` are not run again.

    ``scheduler``: address of an existing Dask scheduler (its workers must offer the
    ``synth`` resource, one per machine, and share ``out_dir``); else a LocalCluster of
    ``workers`` workers of ``threads`` threads (default: the machine's cores), separate
    processes unless ``processes`` is False, with its dashboard at ``dashboard`` (None: off).
    ``liberty``: the Liberty file of the syntheses (default: ``dstc area``'s).
    ``sparse_only_fields``: the configuration fields that do not change the dense baseline.
    ``simulation_workload``: the SpGEMM of the simulations (keys m, n, k, density_a,
    density_b, seed; default :data:`~dstc.gen.explore_jobs.SIMULATION_WORKLOAD`).
    Returns an :class:`ExploreResult`. Raises :class:`UsageError` for a bad spec, a bad
    ``simulation_workload`` or an ``out_dir`` that is not a writable folder (before any job
    runs); failed jobs do not raise: their rows carry the error."""
    started = time.monotonic()
    spec = check_spec(spec)
    if spec.simulation:
        _check_workload(simulation_workload)
    out_dir = check_output_folder(out_dir, "--output")
    designs = expand(spec)
    cache = ResultCache(out_dir / "cache")
    if spec.synthesis and liberty is None:
        from .synth import liberty_path

        liberty = str(liberty_path())
    options = {"timing": spec.timing, "cmos": spec.cmos, "clock_ns": spec.clock_ns,
               "jobs": spec.jobs, "liberty": None if liberty is None else str(liberty)}
    # -- the jobs: (kind, params, function, args, resources) by digest --
    jobs = {}
    kinds = ("sweep", "synthesis", "simulation", "fpga")
    sources = {kind: source_digest(kind) for kind in kinds}
    tools = {kind: tool_versions(kind, liberty) for kind in kinds}

    def add_job(kind, params, function, args, resources=None):
        digest = cache.digest(kind, params, sources[kind], tools[kind])
        jobs.setdefault(digest, (kind, params, function, args, resources))
        return digest

    def folder(under, kind, params):
        """A job's own output folder: ``out_dir/under/`` and the first 16 digits of its
        digest."""
        return str(out_dir / under / cache.digest(kind, params, sources[kind],
                                                   tools[kind])[:16])

    synth_keys, sweep_keys, sim_keys, fpga_keys = {}, {}, {}, {}
    valid = [design for design in designs if design.config is not None]
    # Per design with RTL (not the banked references): syntheses (standard cells, FPGA) of
    # the sparse core and of its dense baseline, shared by the designs with the same one, and
    # a Verilator build and simulation of the sparse core. Each holds the machine's "synth"
    # resource: one at a time, so that memory suffices and the times are comparable.
    for design in (design for design in valid if design.banks is None):
        roles = (("dstc", design.config),
                 ("dense", dense_config(design.config, preset(design.preset),
                                        sparse_only_fields)))
        for role, config in roles:
            if spec.synthesis:
                params = {"config": json.loads(config.to_json()), "design": role,
                          "options": {k: v for k, v in options.items() if k != "liberty"}}
                synth_keys[design.label, role] = add_job(
                    "synthesis", params, synthesis_job,
                    (config.to_json(), role, folder("area", "synthesis", params),
                     {**options, "name": design.label}),
                    {"synth": 1})
            if spec.fpga:
                params = {"config": json.loads(config.to_json()), "design": role,
                          "board": list(FPGA_BOARD)}
                fpga_keys[design.label, role] = add_job(
                    "fpga", params, fpga_job,
                    (config.to_json(), role, folder("fpga", "fpga", params)), {"synth": 1})
        if spec.simulation:
            params = {"config": json.loads(design.config.to_json()),
                      "workload": dict(simulation_workload)}
            sim_keys[design.label] = add_job(
                "simulation", params, simulation_job,
                (design.config.to_json(), folder("sim", "simulation", params),
                 dict(simulation_workload)),
                {"synth": 1})
    # Sweeps: one job per tiling, operand kind and point, timing every design of the tiling.
    tilings = {}
    for design in valid:
        tilings.setdefault(tiling(design.config).to_json(), []).append(design)
    for tiling_json, members in tilings.items():
        configs = {design.label: {"config": design.config.to_json(),
                                  "banks": None if design.banks is None else list(design.banks)}
                   for design in members}
        for kind in spec.operands:
            for point in spec.points:
                params = {"tiling": json.loads(tiling_json),
                          "designs": {label: {"config": json.loads(entry["config"]),
                                              "banks": entry["banks"]}
                                      for label, entry in configs.items()},
                          "kind": kind, "shape": list(spec.shape), "point": list(point),
                          "seed": spec.seed}
                digest = add_job("sweep", params, sweep_job,
                                 (tiling_json, configs, kind, list(spec.shape), list(point),
                                  spec.seed))
                for design in members:
                    sweep_keys[design.label, kind, point] = digest
    # -- run what is not cached --
    results, errors = {}, {}
    for digest in jobs:
        cached = cache.get(digest)
        if cached is not None:
            results[digest] = cached
    pending = [digest for digest in jobs if digest not in results]
    cached_count = len(results)
    log.info("dstc explore: %d designs (%d invalid), %d jobs: %d cached, %d to run",
             len(designs), len(designs) - len(valid), len(jobs), cached_count, len(pending))
    if pending:
        from distributed import as_completed

        client, cluster = _client(scheduler, workers, threads or os.cpu_count() or 1,
                                  processes, dashboard)
        try:
            futures = {}
            # Syntheses and simulations first: they are the long jobs.
            for digest in sorted(pending, key=lambda d: jobs[d][0] == "sweep"):
                kind, params, function, args, resources = jobs[digest]
                future = client.submit(function, *args, key=f"{kind}-{digest[:16]}",
                                       resources=resources, retries=0, pure=False)
                futures[future] = digest
            for future in as_completed(list(futures)):
                digest = futures[future]
                kind, params = jobs[digest][:2]
                if future.status == "finished":
                    results[digest] = future.result()
                    cache.put(digest, kind, params, results[digest])
                    log.info("  done %s %s", kind, digest[:12])
                else:
                    try:            # an exception, a dead worker (KilledWorker), cancelled
                        error = future.exception()
                    except Exception as cancelled:     # reported in the table, not raised
                        error = cancelled
                    errors[digest] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                    log.info("  FAILED %s %s: %s", kind, digest[:12], errors[digest])
                future.release()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    rows = build_rows(spec, designs, synth_keys, sweep_keys, results, errors,
                      sim_keys=sim_keys, fpga_keys=fpga_keys)
    paths = write_table(rows, out_dir, simulation_workload)
    if figures:
        paths += (write_plot(rows, spec, out_dir / "explore.png"),)
    return ExploreResult(spec=spec, designs=designs, rows=tuple(rows), paths=paths,
                         jobs_run=len(pending) - len(errors), jobs_cached=cached_count,
                         jobs_failed=len(errors), seconds=time.monotonic() - started)


# -- command line -------------------------------------------------------------------------------

HELP = "explore accumulator designs: area, timing and exact cycles on a grid, on Dask"
DESCRIPTION = (
    "Run a grid of configurations (presets x configuration fields, from --spec FILE or "
    "--preset/--axis) through `dstc area` (sparse core and its dense baseline) and the exact "
    "cycle model over a density grid, on uniform random operands and bank-balanced weights, "
    "as Dask jobs (a local cluster, or --scheduler); write explore.csv, explore.md and "
    "explore.png with the Pareto-optimal designs marked. Finished jobs are cached in "
    "OUTPUT/cache.")


def _axis(text):
    """``FIELD=V1,V2,...`` -> ``(field, values)``; each value JSON (numbers, true/false) or a
    plain string."""
    import argparse

    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=VALUE[,VALUE...]")
    return name.strip(), tuple(_value(part.strip()) for part in values.split(","))


def _value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _design(text):
    """``FIELD=V[,FIELD=V...]`` -> ``((field, value), ...)`` (values as in :func:`_axis`)."""
    import argparse

    fields = []
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=VALUE[,FIELD=VALUE...]")
        fields.append((name.strip(), _value(value.strip())))
    return tuple(fields)


def _banks(text):
    """``RxC`` -> ``(R, C)``, two positive integers."""
    import argparse

    parts = text.lower().split("x")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not ROW_BANKSxCOL_BANKS (e.g. 8x16)")
    return values


def add_arguments(parser):
    """Add ``dstc explore``'s options to ``parser``."""
    parser.add_argument("--spec", metavar="FILE",
                        help="exploration spec (TOML or JSON; docs/explore.md); the options "
                             "below override its settings")
    parser.add_argument("--preset", action="append", metavar="NAME",
                        help="a preset of the grid (repeat for several; default: default)")
    parser.add_argument("--design", action="append", type=_design, metavar="FIELD=V[,FIELD=V]",
                        help="a design: configuration fields and their values (repeat for "
                             "several; default: the preset itself)")
    parser.add_argument("--axis", action="append", type=_axis, metavar="FIELD=V1,V2",
                        help="a configuration field and its values (repeat for several axes)")
    parser.add_argument("--banked", action="append", type=_banks, metavar="RxC",
                        help="add, per preset, the paper-like banked buffer with R x C banks "
                             "and stall-on-conflict, as a cycle-model-only reference (e.g. "
                             "8x16; repeat for several)")
    parser.add_argument("--m", type=positive_int, help="rows of A (default: 4096)")
    parser.add_argument("--n", type=positive_int, help="columns of B (default: 4096)")
    parser.add_argument("--k", type=positive_int, help="inner dimension (default: 4096)")
    parser.add_argument("--seed", type=seed_type, help="seed of the operands (default: 2021)")
    parser.add_argument("--no-synthesis", action="store_true",
                        help="cycle model only (no `dstc area`)")
    parser.add_argument("--simulation", action="store_true",
                        help="also build each sparse core on Verilator from scratch and "
                             "simulate a 128x128x256 SpGEMM on it, checked (build time, ms "
                             "per tile)")
    parser.add_argument("--fpga", action="store_true",
                        help="also synthesize each sparse core and its dense baseline for "
                             "the ECP5-85F (LUTs; for the small presets: a 32x32-tile core "
                             "takes tens of minutes and up to 19 GB)")
    parser.add_argument("--no-timing", action="store_true", help="skip OpenSTA")
    parser.add_argument("--no-cmos", action="store_true", help="skip the transistor estimate")
    parser.add_argument("--clock-ns", type=positive_float, help="synthesis clock target")
    parser.add_argument("--liberty", metavar="FILE", help="Liberty file of the syntheses")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on this Dask scheduler instead of a local cluster")
    parser.add_argument("--threads", type=positive_int,
                        help="threads of the local worker (default: the machine's cores)")
    parser.add_argument("--dashboard", metavar="ADDRESS",
                        help="serve the local cluster's dashboard at ADDRESS (e.g. :8787)")
    add_figures_option(parser)
    add_output_option(parser, "build/explore",
                      help="output folder, with the cache (default: %(default)s)")
    return parser


def spec_from(args):
    """The :class:`ExploreSpec` of parsed ``args``: ``--spec`` (or the defaults) with the
    options given on the command line applied. Raises :class:`UsageError`."""
    spec = load_spec(args.spec) if args.spec else ExploreSpec()
    changes = {}
    if args.preset:
        changes["presets"] = tuple(args.preset)
    if args.design:
        changes["designs"] = tuple(args.design)
    if args.axis:
        changes["axes"] = tuple(args.axis)
    if args.banked:
        changes["banked"] = tuple(args.banked)
    shape = list(spec.shape)
    for index, name in enumerate("mnk"):
        if getattr(args, name) is not None:
            shape[index] = getattr(args, name)
    changes["shape"] = tuple(shape)
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.no_synthesis:
        changes["synthesis"] = False
    if args.simulation:
        changes["simulation"] = True
    if args.fpga:
        changes["fpga"] = True
    if args.no_timing:
        changes["timing"] = False
    if args.no_cmos:
        changes["cmos"] = False
    if args.clock_ns is not None:
        changes["clock_ns"] = args.clock_ns
    return check_spec(dataclasses.replace(spec, **changes))


def command(args):
    """Run ``dstc explore``; returns 0 when every job succeeded and every design was valid, 1
    otherwise (their rows carry the error). Raises :class:`UsageError` for a bad spec or
    output folder and, on the local cluster, for a missing or invalid Liberty file or a
    missing OpenSTA (before any job runs)."""
    spec = spec_from(args)
    output = check_output_folder(args.output)
    liberty = args.liberty
    if spec.synthesis and not args.scheduler:
        # On the local cluster the tools are this machine's: check them before any job.
        from .synth import LibertyError, LibertyMissing, check_liberty, liberty_path
        from .timing import StaMissing, find_sta

        try:
            liberty = str(check_liberty(liberty or liberty_path()))
            if spec.timing:
                find_sta()
        except (LibertyMissing, LibertyError, StaMissing) as error:
            raise UsageError(f"{error} (or run with --no-synthesis)") from None
    result = run_explore(spec, output, scheduler=args.scheduler, threads=args.threads,
                         dashboard=args.dashboard, liberty=liberty,
                         figures=not args.no_figures)
    for path in result.paths:
        log.info("wrote %s", path)
    log.info("%d jobs run, %d cached, %d failed, in %.1f s", result.jobs_run,
             result.jobs_cached, result.jobs_failed, result.seconds)
    invalid = sum(design.config is None for design in result.designs)
    return 1 if result.jobs_failed or invalid else 0
