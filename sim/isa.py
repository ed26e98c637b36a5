"""The specification of both cores' interfaces, as Python values (numpy only).

The bit layout of each command is defined once, in ``dstc.hw.isa``; this module holds what
the hardware, the golden and cycle models and the program builders share: the opcodes and
their groups, the error flags, the pipeline latencies, the dense baseline's geometry and the
plain-value commands. docs/isa.md documents the interface.
"""

import dataclasses
import enum

import numpy as np

from .bitmap import BitmapTile, check_tile
from .config import ConfigError

__all__ = ["Opcode", "ErrorFlag", "ISSUE_OPCODES", "TILE_OPCODES", "DENSE_OPCODES",
           "core_opcodes", "issue_opcodes",
           "pipeline_latency", "lane_reach", "lane_reaches", "reach_lanes",
           "DOT_LENGTH", "DenseGeometry", "dense_pipeline_latency", "Clear",
           "LoadRow", "Spwmma", "Kstep", "Dense", "DenseGroup", "Ohmma", "Drain", "ClearStatus",
           "RawCommand", "Response", "CommandError", "check_command", "tile_commands",
           "dense_tile_commands", "dense_group_commands"]


class Opcode(enum.IntEnum):
    """Command opcodes (4 bits). Any other value is an unknown opcode."""

    CLEAR = 0x1         #: zero the accumulator tile
    LOAD_ROW = 0x2      #: write one row of the tile (C)
    SPWMMA = 0x3        #: SpWMMA header: the tile's A column and B row bitmaps
    KSTEP = 0x4         #: condensed values of the next non-empty k-step of the open SpWMMA
    DENSE = 0x5         #: dense k-step (OWMMA): full A column and B row, no bitmaps
    OHMMA = 0x6         #: one outer product on given chunks and positions
    DRAIN = 0x7         #: read the tile out, row by row, optionally ReLU and bitmap-encoded
    CLEAR_STATUS = 0x8  #: clear the error flags and the performance counters


class ErrorFlag(enum.IntFlag):
    """Sticky bits of the core's ``errors`` output (cleared by CLEAR_STATUS or reset)."""

    UNKNOWN_OPCODE = 1 << 0    #: opcode not in :class:`Opcode`; the beat is dropped
    KSTEP_UNEXPECTED = 1 << 1  #: KSTEP while no SpWMMA expects one; dropped
    KSTEP_ORDER = 1 << 2       #: KSTEP for another k than the next non-empty one; dropped
    COUNT_MISMATCH = 1 << 3    #: KSTEP counts differ from its bitmaps' popcounts; dropped
    SPWMMA_ABORTED = 1 << 4    #: another command arrived while k-steps were still expected
    OHMMA_CONFLICT = 1 << 5    #: OHMMA lanes name a row or a column twice; dropped
    OHMMA_REACH = 1 << 6       #: OHMMA lanes name a row or column their lane cannot reach
                               #: (:func:`lane_reaches`); dropped


#: Sparse-core commands accepted once the chunk sequencer is free (in the cycle that issues
#: the last chunk pair of the current k-step at the earliest).
ISSUE_OPCODES = frozenset({Opcode.KSTEP, Opcode.DENSE, Opcode.OHMMA, Opcode.SPWMMA})
#: Sparse-core commands accepted once the pipeline is empty.
TILE_OPCODES = frozenset({Opcode.CLEAR, Opcode.LOAD_ROW, Opcode.DRAIN, Opcode.CLEAR_STATUS})
#: Commands the dense baseline executes; any other opcode sets ``UNKNOWN_OPCODE``.
DENSE_OPCODES = frozenset({Opcode.CLEAR, Opcode.LOAD_ROW, Opcode.DENSE, Opcode.DRAIN,
                           Opcode.CLEAR_STATUS})


def core_opcodes(config):
    """The opcodes the sparse core of ``config`` executes (a frozenset of :class:`Opcode`):
    all of them with ``kstep_bitmaps="header"``; without SPWMMA with ``"inline"``, where a
    SPWMMA beat is an unknown opcode (``UNKNOWN_OPCODE``, dropped)."""
    if config.inline_kstep:
        return frozenset(Opcode) - {Opcode.SPWMMA}
    return frozenset(Opcode)


def issue_opcodes(config):
    """:data:`ISSUE_OPCODES` of ``config``'s sparse core: the commands accepted once the chunk
    sequencer is free (without SPWMMA when ``kstep_bitmaps="inline"``: an unknown opcode
    waits for nothing but a drain)."""
    return ISSUE_OPCODES & core_opcodes(config)


def pipeline_latency(config):
    """Cycles from an OHMMA's issue cycle to the end of the cycle in which the sparse core's
    accumulator tile holds its products: one cycle registers the operands into the
    multiplier array, one registers the products into the accumulator, which gathers, adds
    and scatters them in ``config.accumulate_stages`` cycles (the last of which writes the
    tile). ``config`` is a :class:`~dstc.sim.config.DstcConfig`; returns an int:
    ``1 + accumulate_stages`` (2 with the single-cycle accumulate, 4 with three stages)."""
    return 1 + config.accumulate_stages


def lane_reach(config, side):
    """The tile positions each lane of one side of ``config``'s accumulator reaches.

    ``side`` is ``"rows"`` (``array_rows`` lanes over ``tile_m`` tile rows, ``row_classes``
    classes) or ``"cols"`` (``array_cols`` lanes over ``tile_n`` columns, ``col_classes``).
    Returns a tuple with one ascending tuple of positions per lane. On the crossbar every lane
    reaches every position. With ``lane_placement="reach"``, N positions, L lanes and G
    classes (P = N / G positions and C = L / G lanes per class), lane ``l`` serves class
    ``g = l // C`` as its class lane ``j = l % C`` and reaches the positions ``g + G * q`` for
    ``j <= q <= j + P - C``: the class's positions that lane skipping
    (:func:`reach_lanes`) can send to it. Raises :class:`ValueError` for another ``side``."""
    if side == "rows":
        lanes, positions, classes = config.array_rows, config.tile_m, config.row_classes
    elif side == "cols":
        lanes, positions, classes = config.array_cols, config.tile_n, config.col_classes
    else:
        raise ValueError(f"side={side!r}: must be 'rows' or 'cols'")
    if config.lane_placement != "reach":
        return tuple(tuple(range(positions)) for _ in range(lanes))
    per_class, class_lanes = positions // classes, lanes // classes
    return tuple(tuple(lane // class_lanes + classes * q
                       for q in range(lane % class_lanes,
                                      lane % class_lanes + per_class - class_lanes + 1))
                 for lane in range(lanes))


def lane_reaches(config, side, lanes, positions):
    """Whether lane ``lanes[i]`` reaches tile position ``positions[i]`` (:func:`lane_reach`)
    for every ``i`` (integer sequences of equal length; ``side`` as in :func:`lane_reach`).
    Returns a bool."""
    reach = lane_reach(config, side)
    return all(int(position) in reach[int(lane)]
               for lane, position in zip(lanes, positions, strict=True))


def reach_lanes(positions, lanes, width):
    """Lane skipping: the lanes of one chunk's nonzeros.

    ``positions`` (ascending ints, at most ``lanes`` of them, each below ``width``) are the
    tile positions of a chunk's nonzeros; the ``k``-th goes to lane
    ``max(k, positions[k] - (width - lanes))``. The result rises strictly, stays below
    ``lanes``, and ``positions[k] - lane`` lies in ``[0, width - lanes]``, so every lane only
    needs to reach ``width - lanes + 1`` positions. Returns an int64 array of the lanes.
    Raises :class:`ValueError` for more than ``lanes`` positions or positions that do not
    rise strictly inside ``[0, width)``."""
    positions = np.asarray(positions, np.int64)
    if positions.size > lanes:
        raise ValueError(f"positions: {positions.size} of them, more than lanes={lanes}")
    if positions.size and (positions[0] < 0 or positions[-1] >= width
                           or (np.diff(positions) <= 0).any()):
        raise ValueError(f"positions={positions.tolist()}: must rise strictly inside "
                         f"[0, {width})")
    return np.maximum(np.arange(positions.size), positions - (width - lanes))


#: Products summed by one dot-product unit of the dense baseline (a Volta tensor core's
#: 4-element dot products).
DOT_LENGTH = 4


def dense_pipeline_latency(config):
    """Cycles from a dense-baseline block's issue cycle to its accumulator update: the
    operand register, then one multiply-add per pipeline stage (``DOT_LENGTH`` stages).
    ``config`` is a :class:`~dstc.sim.config.DstcConfig`; returns an int."""
    del config
    return 1 + DOT_LENGTH


@dataclasses.dataclass(frozen=True)
class DenseGeometry:
    """How the dense baseline of a configuration covers the tile.

    ``macs / DOT_LENGTH`` dot-product units form a ``block_rows x block_cols`` block
    (``block_rows`` the largest power of two not above the square root of their number); the
    ``tile_m x tile_n`` tile holds ``blocks`` such blocks (``blocks_per_row`` per block row),
    issued row-major; a DENSE command covers ``DOT_LENGTH`` k-steps, ``groups_per_tile`` of
    them a ``k_chunk`` tile.
    """

    block_rows: int
    block_cols: int
    blocks_per_row: int
    blocks: int
    groups_per_tile: int

    @classmethod
    def of(cls, config):
        """The geometry of ``config``'s dense baseline.

        Raises :class:`~dstc.sim.config.ConfigError` if ``macs`` or ``k_chunk`` is not a
        multiple of ``DOT_LENGTH`` or if the block does not fit the tile.
        """
        if config.macs % DOT_LENGTH:
            raise ConfigError(
                f"array_rows*array_cols={config.macs}: the dense baseline needs a multiple of "
                f"the dot length {DOT_LENGTH}")
        if config.k_chunk % DOT_LENGTH:
            raise ConfigError(
                f"k_chunk={config.k_chunk}: the dense baseline needs a multiple of the dot "
                f"length {DOT_LENGTH}")
        cells = config.macs // DOT_LENGTH
        block_rows = 1 << ((cells.bit_length() - 1) // 2)
        block_cols = cells // block_rows
        if block_rows > config.tile_m or block_cols > config.tile_n:
            raise ConfigError(
                f"array_rows*array_cols={config.macs}: the dense baseline's {block_rows}x"
                f"{block_cols} block of dot-product units does not fit the "
                f"{config.tile_m}x{config.tile_n} tile")
        blocks_per_row = config.tile_n // block_cols
        blocks = (config.tile_m // block_rows) * blocks_per_row
        # Holds because macs <= tile_m * tile_n; the pipeline relies on it: a block's next
        # accumulator read comes after its previous write (see dense_pipeline_latency).
        assert blocks >= DOT_LENGTH, blocks
        return cls(block_rows=block_rows, block_cols=block_cols, blocks_per_row=blocks_per_row,
                   blocks=blocks, groups_per_tile=config.k_chunk // DOT_LENGTH)

    @property
    def tile_cycles(self):
        """Issue cycles of a dense ``tile_m x tile_n x k_chunk`` tile."""
        return self.groups_per_tile * self.blocks

    def block_origin(self, block):
        """Top-left ``(row, column)`` of block number ``block`` (row-major)."""
        return ((block // self.blocks_per_row) * self.block_rows,
                (block % self.blocks_per_row) * self.block_cols)


@dataclasses.dataclass(frozen=True)
class Clear:
    """Zero the accumulator tile."""

    opcode = Opcode.CLEAR


@dataclasses.dataclass(frozen=True, eq=False)
class LoadRow:
    """Write ``values`` (``tile_n`` accumulator values) into row ``row``."""

    row: int
    values: np.ndarray
    opcode = Opcode.LOAD_ROW


@dataclasses.dataclass(frozen=True, eq=False)
class Spwmma:
    """Open a SpWMMA: ``a_bitmaps[k]`` (bool, ``tile_m``) and ``b_bitmaps[k]`` (``tile_n``)."""

    a_bitmaps: np.ndarray
    b_bitmaps: np.ndarray
    opcode = Opcode.SPWMMA

    @property
    def nonempty(self):
        """k-steps whose A column and B row both hold a nonzero (they expect a KSTEP)."""
        return self.a_bitmaps.any(axis=1) & self.b_bitmaps.any(axis=1)


@dataclasses.dataclass(frozen=True, eq=False)
class Kstep:
    """Condensed values of k-step ``k``: ``a_count`` A values and ``b_count`` B values (arrays
    of ``tile_m`` and ``tile_n`` slots; slots past the counts are ignored).

    On a core with ``kstep_bitmaps="inline"`` the KSTEP also carries the k-step's bitmaps,
    ``a_bitmap`` (bool, ``tile_m``: the A column) and ``b_bitmap`` (bool, ``tile_n``: the B
    row), and ``k`` is informational (the core ignores it); with ``"header"`` both are
    ``None`` and the bitmaps come from the SPWMMA header (:func:`check_command`)."""

    k: int
    a_count: int
    b_count: int
    a_values: np.ndarray
    b_values: np.ndarray
    a_bitmap: np.ndarray | None = None
    b_bitmap: np.ndarray | None = None
    opcode = Opcode.KSTEP

    @property
    def inline(self):
        """True when the KSTEP carries its own bitmaps (an inline-bitmap core's KSTEP)."""
        return self.a_bitmap is not None or self.b_bitmap is not None


@dataclasses.dataclass(frozen=True, eq=False)
class Dense:
    """A dense k-step: the whole A column (``tile_m``) and B row (``tile_n``), zeros included."""

    a_values: np.ndarray
    b_values: np.ndarray
    opcode = Opcode.DENSE


@dataclasses.dataclass(frozen=True, eq=False)
class DenseGroup:
    """The dense baseline's DENSE: ``DOT_LENGTH`` consecutive k-steps at once, the A block
    ``a_values`` (``tile_m x DOT_LENGTH``) and the B block ``b_values`` (``DOT_LENGTH x
    tile_n``), zeros included."""

    a_values: np.ndarray
    b_values: np.ndarray
    opcode = Opcode.DENSE


@dataclasses.dataclass(frozen=True, eq=False)
class Ohmma:
    """One outer product: ``array_rows`` A lanes (value, row, valid) and ``array_cols`` B
    lanes (value, column, valid)."""

    a_values: np.ndarray
    a_rows: np.ndarray
    a_valid: np.ndarray
    b_values: np.ndarray
    b_cols: np.ndarray
    b_valid: np.ndarray
    opcode = Opcode.OHMMA


@dataclasses.dataclass(frozen=True)
class Drain:
    """Read the tile out row by row, through ReLU if ``relu``, each value rounded to fp16
    (round to nearest even, carried as the fp32 value it equals) if ``fp16`` (fp32
    accumulators only; an integer core ignores it), bitmap-encoded if ``encode``."""

    relu: bool = False
    encode: bool = False
    fp16: bool = False
    opcode = Opcode.DRAIN


@dataclasses.dataclass(frozen=True)
class ClearStatus:
    """Clear the error flags and the performance counters."""

    opcode = Opcode.CLEAR_STATUS


@dataclasses.dataclass(frozen=True)
class RawCommand:
    """A beat with an arbitrary ``opcode`` and an all-zero body (to test unknown opcodes)."""

    opcode: int


@dataclasses.dataclass(frozen=True, eq=False)
class Response:
    """One drained row: ``values`` are the row (or, when ``encoded``, its ``count`` nonzeros
    first, then zeros), in accumulator values; ``bitmap`` marks the row's nonzeros."""

    row: int
    last: bool
    encoded: bool
    count: int
    bitmap: np.ndarray
    values: np.ndarray


class CommandError(ValueError):
    """A command whose fields do not fit the configuration (a position outside the tile, an
    array of the wrong length); the message names the command, the field, the value and the
    rule. The encoder (``dstc.gen.wire``) refuses the same commands before they reach a core."""


def _check_index(command, field, value, size):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or not 0 <= value < size:
        shown = int(value) if isinstance(value, np.integer) else repr(value)
        raise CommandError(f"{type(command).__name__}: {field}={shown}: must be an integer "
                           f"from 0 to {size - 1}")


def _check_shape(command, field, shape):
    got = np.shape(getattr(command, field))
    if got != shape:
        raise CommandError(f"{type(command).__name__}: {field} has shape {got}, the "
                           f"configuration needs {shape}")


def check_command(command, config):
    """Raise :class:`CommandError` unless every field of ``command`` (a command of this
    module) fits ``config``: positions and ``k`` inside the tile and the chunk, counts within
    the tile, arrays of the configuration's lengths, a 4-bit opcode, and a KSTEP's bitmaps
    present exactly when ``config.kstep_bitmaps`` is ``"inline"``. Values are checked where
    they are converted (:meth:`~dstc.sim.arith.Arithmetic.operands`)."""
    tm, tn = config.tile_m, config.tile_n
    match command:
        case LoadRow():
            _check_index(command, "row", command.row, tm)
            _check_shape(command, "values", (tn,))
        case Spwmma():
            _check_shape(command, "a_bitmaps", (config.k_chunk, tm))
            _check_shape(command, "b_bitmaps", (config.k_chunk, tn))
        case Kstep():
            _check_index(command, "k", command.k, config.k_chunk)
            _check_index(command, "a_count", command.a_count, tm + 1)
            _check_index(command, "b_count", command.b_count, tn + 1)
            _check_shape(command, "a_values", (tm,))
            _check_shape(command, "b_values", (tn,))
            if config.inline_kstep:
                _check_shape(command, "a_bitmap", (tm,))
                _check_shape(command, "b_bitmap", (tn,))
            elif command.inline:
                raise CommandError("Kstep: a_bitmap/b_bitmap given, but kstep_bitmaps='header' "
                                   "takes the bitmaps from the SPWMMA header (they must be "
                                   "None)")
        case Dense():
            _check_shape(command, "a_values", (tm,))
            _check_shape(command, "b_values", (tn,))
        case DenseGroup():
            _check_shape(command, "a_values", (tm, DOT_LENGTH))
            _check_shape(command, "b_values", (DOT_LENGTH, tn))
        case Ohmma():
            for field, lanes, size in (("a_values", config.array_rows, None),
                                       ("a_rows", config.array_rows, tm),
                                       ("a_valid", config.array_rows, None),
                                       ("b_values", config.array_cols, None),
                                       ("b_cols", config.array_cols, tn),
                                       ("b_valid", config.array_cols, None)):
                _check_shape(command, field, (lanes,))
                for lane, value in enumerate(getattr(command, field) if size else ()):
                    _check_index(command, f"{field}[{lane}]", value, size)
        case RawCommand():
            _check_index(command, "opcode", command.opcode, 16)


def _padded(values, size, dtype):
    out = np.zeros(size, dtype=dtype)
    out[:len(values)] = values
    return out


def tile_commands(a_tile, b_tile, config):
    """The SpWMMA of one tile pair: a header, then a KSTEP for each non-empty k-step, in
    increasing k (the golden model's fp32 accumulation order). With
    ``kstep_bitmaps="inline"`` there is no header and each KSTEP carries its k-step's A
    column and B row bitmaps; a k-step with an empty side still gets no KSTEP, so a tile pair
    whose k-steps never meet sends nothing.

    ``a_tile`` / ``b_tile`` are :class:`~sim.bitmap.BitmapTile` (``None`` for an empty tile).
    Returns a list of commands.
    """
    if a_tile is not None:
        check_tile(a_tile, "A", config, "a_tile")
    if b_tile is not None:
        check_tile(b_tile, "B", config, "b_tile")
    a_tile = a_tile or BitmapTile(np.zeros((config.k_chunk, config.tile_m), bool),
                                  np.zeros(0, np.float16 if config.operand.is_float else int))
    b_tile = b_tile or BitmapTile(np.zeros((config.k_chunk, config.tile_n), bool),
                                  np.zeros(0, a_tile.values.dtype))
    header = Spwmma(a_bitmaps=a_tile.bitmaps, b_bitmaps=b_tile.bitmaps)
    inline = config.inline_kstep
    commands = [] if inline else [header]
    for k in np.flatnonzero(header.nonempty):
        _, a_vals = a_tile.vector(k)
        _, b_vals = b_tile.vector(k)
        bitmaps = ({"a_bitmap": a_tile.bitmaps[k].copy(), "b_bitmap": b_tile.bitmaps[k].copy()}
                   if inline else {})
        commands.append(Kstep(k=int(k), a_count=a_vals.size, b_count=b_vals.size,
                              a_values=_padded(a_vals, config.tile_m, a_vals.dtype),
                              b_values=_padded(b_vals, config.tile_n, b_vals.dtype), **bitmaps))
    return commands


def dense_group_commands(a, b, dot_length):
    """The dense baseline's commands for a ``tile_m x k`` A block and a ``k x tile_n`` B block:
    one :class:`DenseGroup` per ``dot_length`` k-steps (``k`` a multiple of it)."""
    if a.shape[1] % dot_length:
        raise ValueError(f"k={a.shape[1]}: must be a multiple of the dot length {dot_length}")
    return [DenseGroup(a_values=a[:, k:k + dot_length].copy(),
                       b_values=b[k:k + dot_length, :].copy())
            for k in range(0, a.shape[1], dot_length)]


def dense_tile_commands(a, b):
    """Dense mode for an ``tile_m x k`` A block and a ``k x tile_n`` B block: one DENSE per k."""
    return [Dense(a_values=a[:, k].copy(), b_values=b[k, :].copy()) for k in range(a.shape[1])]
