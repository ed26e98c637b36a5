"""Cost of im2col in the bitmap format against the dense im2col, over activation densities.

For one layer (default: 128 x 56 x 56 -> 128, 3x3, stride 1, padding 1, the default preset),
each density draws a random fp16 activation (seeded), encodes it (:func:`encode_activation`)
and measures, as the median of ``repeats`` runs:

* ``lower``: :func:`dstc.sim.im2col.lower` (phase planes, shifts and masks, value gather),
  with its word and value operation counts (:class:`~dstc.sim.im2col.LoweringCost`);
* ``to_encoded``: turning the packed result into the model's ``EncodedOperand`` (bool
  bitmaps and per-tile objects, a container conversion, not part of the algorithm);
* ``im2col``: the dense im2col (``K x P`` element copies) and ``encode``: ``encode_b`` of it,
  the path the bitmap lowering replaces.

``python -m dstc.gen.im2col_bench [--preset P] [--densities 0.1,0.3,...] [--seed S]
[--repeats N] [--layer C,H,W,F,R,S,stride,padding,dilation]`` prints a Markdown table
(docs/workloads.md, "Sparse convolution: im2col in the bitmap format").
"""

import argparse
import dataclasses
import statistics
import sys
import time

import numpy as np

from ..sim.bitmap import encode_b
from ..sim.config import ConfigError, preset
from ..sim.conv import check_density, random_conv_operands
from ..sim.conv_shape import ConvError, ConvShape
from ..sim.im2col import encode_activation, im2col, lower

__all__ = ["DEFAULT_LAYER", "DEFAULT_DENSITIES", "LoweringRow", "measure_lowering",
           "format_table", "main"]

#: VGG-16's conv3 block at a 224 x 224 input: 128 x 56 x 56 -> 128, 3x3, padding 1.
DEFAULT_LAYER = ConvShape(128, 56, 56, 128, (3, 3), 1, 1, 1)
DEFAULT_DENSITIES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


@dataclasses.dataclass(frozen=True)
class LoweringRow:
    """One density: operation counts and median times in seconds."""

    density: float                 #: requested activation density
    activation_nnz: int
    lowered_nnz: int               #: values gathered
    dense_elements: int            #: K * P
    plane_words: int
    pieces: int
    lowered_words: int
    word_operations: int           #: plane_words + pieces + lowered_words
    bitmap_bytes: int              #: lowered bitmap words (tile_n bits each) + values
    dense_bytes: int               #: K * P values
    lower_seconds: float
    to_encoded_seconds: float
    im2col_seconds: float
    encode_seconds: float


def _median_time(repeats, function, *args):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure_lowering(shape=DEFAULT_LAYER, config=None, densities=DEFAULT_DENSITIES, seed=0,
                     repeats=5):
    """Measure :func:`~dstc.sim.im2col.lower` against the dense im2col for each density;
    returns a tuple of :class:`LoweringRow`. Raises
    :class:`~dstc.sim.conv_shape.ConvError` for a density outside [0, 1] and ``ValueError``
    for ``repeats`` below 1."""
    config = config or preset("default")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats={repeats!r}: must be a positive integer")
    rows = []
    for index, density in enumerate(densities):
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(len(densities))[index])
        _, x = random_conv_operands(shape, config, 1.0, check_density("density", density), rng)
        activation = encode_activation(x, config)
        lower_time, lowered = _median_time(repeats, lower, activation, shape, config)
        encoded_time, _ = _median_time(repeats, lowered.to_encoded)
        im2col_time, dense = _median_time(repeats, im2col, activation.decode(), shape)
        encode_time, _ = _median_time(repeats, encode_b, dense, config)
        cost = lowered.cost
        bitmap_bits = cost.lowered_words * min(64, config.tile_n)
        rows.append(LoweringRow(
            density=float(density), activation_nnz=activation.nnz, lowered_nnz=cost.values,
            dense_elements=cost.dense_elements, plane_words=cost.plane_words,
            pieces=cost.pieces, lowered_words=cost.lowered_words,
            word_operations=cost.word_operations,
            bitmap_bytes=-(-(bitmap_bits + cost.values * config.operand.width) // 8),
            dense_bytes=-(-cost.dense_elements * config.operand.width // 8),
            lower_seconds=lower_time,
            to_encoded_seconds=encoded_time, im2col_seconds=im2col_time,
            encode_seconds=encode_time))
    return tuple(rows)


def format_table(rows):
    """A Markdown table of :func:`measure_lowering`'s rows."""
    lines = ["| density | lowered nonzeros | word ops | word ops / K*P | values / K*P "
             "| bytes written / dense | lower (ms) | to_encoded (ms) | dense im2col (ms) "
             "| encode_b (ms) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.density:g} | {row.lowered_nnz:,} | {row.word_operations:,} | "
            f"{row.word_operations / row.dense_elements:.3f} | "
            f"{row.lowered_nnz / row.dense_elements:.3f} | "
            f"{row.bitmap_bytes / row.dense_bytes:.3f} | {row.lower_seconds * 1e3:.0f} | "
            f"{row.to_encoded_seconds * 1e3:.0f} | {row.im2col_seconds * 1e3:.0f} | "
            f"{row.encode_seconds * 1e3:.0f} |")
    return "\n".join(lines)


def _layer(text):
    try:
        values = [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layer {text!r}: must be nine integers C,H,W,F,R,S,stride,padding,dilation"
        ) from None
    if len(values) != 9:
        raise argparse.ArgumentTypeError(
            f"--layer {text!r}: must be nine integers C,H,W,F,R,S,stride,padding,dilation")
    c, h, w, f, r, s, stride, padding, dilation = values
    try:
        return ConvShape(c, h, w, f, (r, s), stride, padding, dilation)
    except ConvError as error:
        raise argparse.ArgumentTypeError(f"--layer {text!r}: {error}") from None


def _densities(text):
    try:
        return tuple(check_density("--densities", float(item)) for item in text.split(","))
    except (ValueError, ConvError):
        raise argparse.ArgumentTypeError(
            f"--densities {text!r}: must be comma-separated numbers in [0, 1]") from None


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive integer")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed {text!r}: must be a non-negative integer")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m dstc.gen.im2col_bench",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--layer", type=_layer, default=DEFAULT_LAYER,
                        metavar="C,H,W,F,R,S,STRIDE,PADDING,DILATION")
    parser.add_argument("--densities", type=_densities, default=DEFAULT_DENSITIES)
    parser.add_argument("--seed", type=_seed, default=0)
    parser.add_argument("--repeats", type=_positive, default=5)
    args = parser.parse_args(argv)
    try:
        config = preset(args.preset)
    except ConfigError as error:
        parser.error(str(error))
    rows = measure_lowering(args.layer, config, args.densities, args.seed, args.repeats)
    print(f"layer {args.layer.describe()}; preset {args.preset}; K x P = "
          f"{args.layer.k} x {args.layer.pixels}; seed {args.seed}; median of {args.repeats}")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
