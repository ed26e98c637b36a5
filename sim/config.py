"""The one configuration of a DSTC core, shared by ``hw``, ``sim``, ``gen`` and ``tb``.

A :class:`DstcConfig` is frozen and validated on construction: an invalid value raises
:class:`ConfigError` with a message naming the parameter, the value and the rule. Derived
quantities (chunk counts, product type, dense throughput) are properties, never stored copies.
"""

import dataclasses
import json
import re

__all__ = ["ConfigError", "NumberType", "DstcConfig", "LANE_PLACEMENTS", "ROW_CLASSES",
           "COL_CLASSES", "KSTEP_BITMAPS", "TILE_BUFFERS", "ACCUMULATE_STAGES", "PRESETS",
           "preset"]


class ConfigError(ValueError):
    """An invalid configuration value; the message names the parameter, value and rule."""


@dataclasses.dataclass(frozen=True)
class NumberType:
    """A number format: two's-complement ``intN`` or an IEEE 754 binary format.

    ``width`` is the storage width in bits. Floats also have ``exp_bits`` and ``frac_bits``.
    """

    name: str
    is_float: bool
    width: int
    exp_bits: int = 0
    frac_bits: int = 0

    @property
    def bias(self):
        """Exponent bias of a float type."""
        return (1 << (self.exp_bits - 1)) - 1

    @classmethod
    def parse(cls, name, parameter, *, min_int=2, max_int=64):
        """Parse ``name`` (``"int8"``, ``"fp16"``, ...) given for ``parameter``. The result's
        ``name`` is canonical: ``"int08"`` gives ``int8``. Raises :class:`ConfigError` for a
        name that is not a string, an unknown type or an integer width out of range."""
        if not isinstance(name, str):
            raise ConfigError(
                f"{parameter}={name!r}: must be a string naming a number type ('intN' or one "
                f"of {sorted(_FLOAT_TYPES)})")
        if name in _FLOAT_TYPES:
            return _FLOAT_TYPES[name]
        match = re.fullmatch(r"int([0-9]+)", name, flags=re.ASCII)
        if match is None:
            raise ConfigError(
                f"{parameter}={name!r}: unknown number type; expected 'intN' "
                f"({min_int} <= N <= {max_int}) or one of {sorted(_FLOAT_TYPES)}")
        width = int(match.group(1))
        if not min_int <= width <= max_int:
            raise ConfigError(
                f"{parameter}={name!r}: integer width must be between {min_int} and {max_int}")
        return cls(name=f"int{width}", is_float=False, width=width)


_FLOAT_TYPES = {
    "fp16": NumberType("fp16", True, 16, exp_bits=5, frac_bits=10),
    "fp32": NumberType("fp32", True, 32, exp_bits=8, frac_bits=23),
}

# Largest accepted sizes: beyond these the generated design is impractical to simulate or
# synthesise, and the index widths of the command interface would change meaning.
MAX_TILE = 256
MAX_K_CHUNK = 256

#: Lane placements of the sparse core's accumulator (docs/units/accumulator.md): any lane to
#: any tile row and column (the reference), or reach-limited lanes with lane skipping.
LANE_PLACEMENTS = ("crossbar", "reach")
#: Accepted numbers of row lane classes and of column lane classes (docs/config.md).
ROW_CLASSES = (1, 2, 4, 8)
COL_CLASSES = (1, 2)
#: Where a SpWMMA's bitmaps travel (docs/isa.md): in a SPWMMA header beat before its KSTEPs
#: (the reference ISA), or each k-step's A column and B row inline in its own KSTEP body.
KSTEP_BITMAPS = ("header", "inline")
#: Accepted numbers of accumulator tile buffers: one (a DRAIN blocks the core while its rows
#: leave), or two (a DRAIN swaps them and drains one while commands work on the other;
#: docs/isa.md, "Two tile buffers").
TILE_BUFFERS = (1, 2)
#: Accepted pipeline depths of the sparse core's accumulate step (gather, add, scatter;
#: docs/units/accumulator.md, "Pipelined accumulate"): 1 does all three in one cycle, 2
#: registers the gathered cells (gather | add + scatter), 3 also the sums (gather | add |
#: scatter). Each stage past the first adds a cycle to :func:`~dstc.sim.isa.pipeline_latency`.
ACCUMULATE_STAGES = (1, 2, 3)


@dataclasses.dataclass(frozen=True)
class DstcConfig:
    """Parameters of one DSTC sub-core.

    ``array_rows`` x ``array_cols`` multipliers compute one outer product per cycle (OHMMA) into
    a ``tile_m`` x ``tile_n`` accumulator tile; a warp-level SpWMMA covers ``k_chunk`` k-steps.
    Operands are ``operand_type`` (``intN`` or ``fp16``); products accumulate in
    ``accum_type`` (``intN`` wrapping modulo 2^N, or ``fp32``).

    The accumulator variant: ``lane_placement`` (:data:`LANE_PLACEMENTS`) says which tile
    rows and columns a lane reaches: ``"crossbar"`` any, ``"reach"`` the ``N - L + 1``
    positions a chunk's ``k``-th nonzero can take when it goes to lane
    ``max(k, pos_k - (N - L))`` (lane skipping). ``row_classes`` G (:data:`ROW_CLASSES`) and
    ``col_classes`` H (:data:`COL_CLASSES`) split the lanes into classes: row lane ``l``
    serves only the rows ``r`` with ``r mod G == l // (array_rows / G)`` (columns likewise).

    The command set: ``kstep_bitmaps`` (:data:`KSTEP_BITMAPS`) is ``"header"`` (a SPWMMA
    header beat carries all ``k_chunk`` A-column and B-row bitmaps, then one KSTEP per
    non-empty k-step) or ``"inline"`` (no header: each KSTEP carries its own k-step's two
    bitmaps, which saves the header's command cycle and the core's header register).

    ``tile_buffers`` (:data:`TILE_BUFFERS`): the accumulator tiles of both cores. With 2, a
    DRAIN swaps the compute and drain buffers, and the commands after it work on the other
    buffer while the drained rows leave (docs/isa.md).

    ``accumulate_stages`` (:data:`ACCUMULATE_STAGES`): the pipeline depth of the sparse
    core's accumulator (gather | add | scatter, with forwarding between back-to-back OHMMAs
    into the same cell); every stage past the first adds one cycle to the pipeline latency and
    nothing else: results and throughput stay the same. The dense baseline ignores it.
    """

    array_rows: int = 8
    array_cols: int = 16
    tile_m: int = 32
    tile_n: int = 32
    k_chunk: int = 16
    operand_type: str = "fp16"
    accum_type: str = "fp32"
    lane_placement: str = "crossbar"
    row_classes: int = 1
    col_classes: int = 1
    kstep_bitmaps: str = "header"
    tile_buffers: int = 1
    accumulate_stages: int = 1

    def __post_init__(self):
        for name, upper in (("array_rows", MAX_TILE), ("array_cols", MAX_TILE),
                            ("tile_m", MAX_TILE), ("tile_n", MAX_TILE),
                            ("k_chunk", MAX_K_CHUNK)):
            value = getattr(self, name)
            if type(value) is not int:
                raise ConfigError(f"{name}={value!r}: must be an integer")
            if value < 1 or value & (value - 1):
                raise ConfigError(f"{name}={value!r}: must be a power of two (1, 2, 4, ...)")
            if value > upper:
                raise ConfigError(f"{name}={value!r}: must be at most {upper}")
        if self.array_rows > self.tile_m:
            raise ConfigError(
                f"array_rows={self.array_rows}: the multiplier array must not be taller than "
                f"the output tile (tile_m={self.tile_m})")
        if self.array_cols > self.tile_n:
            raise ConfigError(
                f"array_cols={self.array_cols}: the multiplier array must not be wider than "
                f"the output tile (tile_n={self.tile_n})")
        operand = NumberType.parse(self.operand_type, "operand_type", max_int=32)
        accum = NumberType.parse(self.accum_type, "accum_type")
        # Canonical type names (``int08`` -> ``int8``), so that equal configurations compare
        # equal and ``to_json`` writes the name every reader understands.
        object.__setattr__(self, "operand_type", operand.name)
        object.__setattr__(self, "accum_type", accum.name)
        if operand.is_float and operand.name != "fp16":
            raise ConfigError(
                f"operand_type={self.operand_type!r}: the only float operand type is 'fp16'")
        if operand.is_float and accum.name != "fp32":
            raise ConfigError(
                f"accum_type={self.accum_type!r}: fp16 operands accumulate in 'fp32' "
                f"(their products are exact in fp32)")
        if not operand.is_float and accum.is_float:
            raise ConfigError(
                f"accum_type={self.accum_type!r}: integer operands need an integer "
                f"accumulator 'intN'")
        if not operand.is_float and accum.width < 2 * operand.width:
            raise ConfigError(
                f"accum_type={self.accum_type!r}: accumulator is narrower than a product of "
                f"two {operand.name} operands ({2 * operand.width} bits)")
        self._check_variant()
        if type(self.tile_buffers) is not int or self.tile_buffers not in TILE_BUFFERS:
            raise ConfigError(f"tile_buffers={self.tile_buffers!r}: must be one of "
                              f"{list(TILE_BUFFERS)}")
        if type(self.accumulate_stages) is not int or \
                self.accumulate_stages not in ACCUMULATE_STAGES:
            raise ConfigError(f"accumulate_stages={self.accumulate_stages!r}: must be one of "
                              f"{list(ACCUMULATE_STAGES)} (1: gather, add and scatter in one "
                              f"cycle; 2: gather | add + scatter; 3: gather | add | scatter)")

    def _check_variant(self):
        """Validate the accumulator variant (``lane_placement``, ``row_classes`` and
        ``col_classes``) and the command set (``kstep_bitmaps``); see the class docstring."""
        if not isinstance(self.lane_placement, str) or \
                self.lane_placement not in LANE_PLACEMENTS:
            raise ConfigError(f"lane_placement={self.lane_placement!r}: must be one of "
                              f"{list(LANE_PLACEMENTS)}")
        for name, accepted, lanes, lanes_name, tile, tile_name in (
                ("row_classes", ROW_CLASSES, self.array_rows, "array_rows", self.tile_m,
                 "tile_m"),
                ("col_classes", COL_CLASSES, self.array_cols, "array_cols", self.tile_n,
                 "tile_n")):
            value = getattr(self, name)
            if type(value) is not int or value not in accepted:
                raise ConfigError(f"{name}={value!r}: must be one of {list(accepted)}")
            # Powers of two: a count that divides the lanes also divides the (larger) tile.
            if value > lanes:
                raise ConfigError(
                    f"{name}={value}: must divide the lanes ({lanes_name}={lanes}) and the "
                    f"tile ({tile_name}={tile}): a class needs at least one lane")
            if value > 1 and self.lane_placement != "reach":
                raise ConfigError(
                    f"{name}={value}: lane classes need lane_placement='reach' (lane skipping "
                    f"inside each class), not {self.lane_placement!r}")

        if not isinstance(self.kstep_bitmaps, str) or self.kstep_bitmaps not in KSTEP_BITMAPS:
            raise ConfigError(f"kstep_bitmaps={self.kstep_bitmaps!r}: must be one of "
                              f"{list(KSTEP_BITMAPS)}")

    # -- number types -------------------------------------------------------------------------

    @property
    def operand(self):
        """:class:`NumberType` of the A and B values."""
        return NumberType.parse(self.operand_type, "operand_type", max_int=32)

    @property
    def accum(self):
        """:class:`NumberType` of the accumulator tile (C and D)."""
        return NumberType.parse(self.accum_type, "accum_type")

    @property
    def product(self):
        """:class:`NumberType` of one exact product: ``int(2N)`` for ``intN``, fp32 for fp16."""
        if self.operand.is_float:
            return _FLOAT_TYPES["fp32"]
        return NumberType.parse(f"int{2 * self.operand.width}", "product")

    # -- derived sizes ------------------------------------------------------------------------

    @property
    def macs(self):
        """Multipliers in the array (products per OHMMA)."""
        return self.array_rows * self.array_cols

    @property
    def a_chunks(self):
        """Chunks of ``array_rows`` values in one full A column of the tile."""
        return self.tile_m // self.array_rows

    @property
    def b_chunks(self):
        """Chunks of ``array_cols`` values in one full B row of the tile."""
        return self.tile_n // self.array_cols

    @property
    def max_ohmma_per_kstep(self):
        """OHMMA issued by a k-step whose A column and B row are both full."""
        return self.a_chunks * self.b_chunks

    @property
    def dense_tile_issues(self):
        """Issue cycles of a dense ``tile_m x tile_n x k_chunk`` tile at full throughput."""
        return self.k_chunk * self.max_ohmma_per_kstep

    # -- serialisation ------------------------------------------------------------------------

    #: Version of the JSON format (``"schema"`` in ``config.json``; docs/config.md). Raise it
    #: when a parameter is renamed, removed or changes meaning. A plain class attribute, not
    #: a field.
    SCHEMA_VERSION = 1

    def to_dict(self):
        """The parameters as a dict (``{field name: value}``), without the schema version:
        ``DstcConfig(**config.to_dict()) == config``."""
        return dataclasses.asdict(self)

    def to_json(self):
        """Canonical JSON text (sorted keys, trailing newline, byte-identical across runs): the
        parameters and ``"schema"``, the format's version (:attr:`SCHEMA_VERSION`)."""
        return json.dumps({"schema": self.SCHEMA_VERSION, **self.to_dict()}, indent=2,
                          sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, values):
        """Build from a mapping of parameters, as :meth:`to_json` writes them.

        ``"schema"`` must be :attr:`SCHEMA_VERSION` when present; a mapping without it (the
        ``config.json`` files written before the version was recorded) is read as version 1.
        Raises :class:`ConfigError` for a mapping that is not a dict, another schema version,
        an unknown key (by name) or an invalid value.
        """
        if not isinstance(values, dict):
            raise ConfigError(f"configuration must be a JSON object, not {type(values).__name__}")
        values = dict(values)
        schema = values.pop("schema", 1)
        if type(schema) is not int or schema != cls.SCHEMA_VERSION:
            raise ConfigError(f"schema={schema!r}: unsupported configuration schema version; "
                              f"this version of dstc reads schema {cls.SCHEMA_VERSION}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{unknown[0]}: unknown configuration parameter; known: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text):
        """Build from JSON text (see :meth:`from_dict`); a leading UTF-8 byte-order mark is
        ignored. Raises :class:`ConfigError` for empty text, text that is not JSON (with the
        line and column), a key given twice, and everything :meth:`from_dict` refuses."""
        if not isinstance(text, str):
            raise ConfigError(f"configuration text must be a str, not {type(text).__name__}")
        text = text.removeprefix("\ufeff")
        if not text.strip():
            raise ConfigError("empty; expected a JSON object such as the config.json that "
                              "`dstc generate` writes")
        try:
            values = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as error:
            raise ConfigError(f"not valid JSON: {error.msg} (line {error.lineno}, column "
                              f"{error.colno})") from None
        except RecursionError:
            raise ConfigError("not valid JSON: nested too deeply") from None
        return cls.from_dict(values)

    @classmethod
    def load(cls, path):
        """Read the configuration file at ``path`` (JSON, UTF-8, an optional byte-order mark).
        Raises :class:`ConfigError` whose message starts with the path and names the problem:
        unreadable (the operating system's reason), not UTF-8 (the offset of the first bad
        byte), and everything :meth:`from_json` refuses."""
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as error:
            raise ConfigError(f"{path}: {error.strerror or error}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{path}: not UTF-8 text (byte {raw[error.start]:#04x} at offset "
                              f"{error.start}); save it as UTF-8 JSON") from None
        try:
            return cls.from_json(text)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None

    def replace(self, **changes):
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    @property
    def inline_kstep(self):
        """True when each KSTEP carries its own k-step's bitmaps (``kstep_bitmaps="inline"``):
        the core then has no SPWMMA command and no header register (docs/isa.md)."""
        return self.kstep_bitmaps == "inline"

    @property
    def row_class_lanes(self):
        """Row lanes per row class (``array_rows / row_classes``)."""
        return self.array_rows // self.row_classes

    @property
    def col_class_lanes(self):
        """Column lanes per column class (``array_cols / col_classes``)."""
        return self.array_cols // self.col_classes

    def describe(self):
        """One line for logs and summaries (the accumulator variant when not the crossbar)."""
        text = (f"{self.array_rows}x{self.array_cols} multipliers, {self.tile_m}x{self.tile_n} "
                f"tile, k-chunk {self.k_chunk}, {self.operand_type} -> {self.accum_type}")
        if self.lane_placement != "crossbar":
            text += f", {self.lane_placement} lanes"
        if self.row_classes > 1 or self.col_classes > 1:
            text += f", {self.row_classes}x{self.col_classes} lane classes"
        if self.kstep_bitmaps != "header":
            text += f", {self.kstep_bitmaps} k-step bitmaps"
        if self.tile_buffers > 1:
            text += f", {self.tile_buffers} tile buffers"
        if self.accumulate_stages > 1:
            text += f", {self.accumulate_stages}-stage accumulate"
        return text


def _unique_keys(pairs):
    """``object_pairs_hook`` of :meth:`DstcConfig.from_json`: a dict, refusing a repeated key
    (which ``json`` would silently resolve to its last value)."""
    values = {}
    for key, value in pairs:
        if key in values:
            raise ConfigError(f"{key}: given twice")
        values[key] = value
    return values


_SMALL8 = DstcConfig(array_rows=8, array_cols=4, tile_m=16, tile_n=16, k_chunk=4,
                     operand_type="int8", accum_type="int16")

PRESETS = {
    # The paper's sub-core: 128 multipliers as an 8x16 outer product, 32x32 SpWMMA tile,
    # k-chunk 16, fp16 operands accumulated in fp32.
    "default": DstcConfig(),
    # The same shape for quantised networks.
    "int8": DstcConfig(operand_type="int8", accum_type="int32"),
    # A small integer core for fast tests: 2x4 multipliers, 8x8 tile (still 4x2 chunks per
    # k-step, like the default), int16 accumulator so that wrap-around is easy to reach.
    "small": DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                        operand_type="int8", accum_type="int16"),
    # The small shape with the default's fp16 -> fp32 arithmetic.
    "small-fp16": DstcConfig(array_rows=2, array_cols=4, tile_m=8, tile_n=8, k_chunk=4,
                             operand_type="fp16", accum_type="fp32"),
    # A small core with the default's 8 row lanes, so that every lane-class count (up to 8)
    # can be built in the per-commit tests: 8x4 multipliers, 16x16 tile (2x4 chunks).
    "small8": _SMALL8,
    # Reach-limited lanes with lane skipping (same cycles as the crossbar).
    "small8-reach": _SMALL8.replace(lane_placement="reach"),
    # Lane classes (row lane l serves rows r = l // (array_rows / G) mod G), lane skipping
    # inside each class: G = 2, 4, 8 row classes, and G = 8 with H = 2 column classes.
    "small8-g2": _SMALL8.replace(lane_placement="reach", row_classes=2),
    "small8-g4": _SMALL8.replace(lane_placement="reach", row_classes=4),
    "small8-g8": _SMALL8.replace(lane_placement="reach", row_classes=8),
    "small8-g8h2": _SMALL8.replace(lane_placement="reach", row_classes=8, col_classes=2),
    # No SPWMMA header: every KSTEP carries its own k-step's bitmaps (docs/isa.md).
    "small8-inline": _SMALL8.replace(kstep_bitmaps="inline"),
    # The same designs on the paper's sub-core (docs/units/accumulator.md).
    "default-reach": DstcConfig(lane_placement="reach"),
    "default-g2": DstcConfig(lane_placement="reach", row_classes=2),
    "default-g8": DstcConfig(lane_placement="reach", row_classes=8),
    "default-g8h2": DstcConfig(lane_placement="reach", row_classes=8, col_classes=2),
    "default-inline": DstcConfig(kstep_bitmaps="inline"),
    # Two accumulator tile buffers: a drain overlaps the next tile's commands (both cores).
    "small8-tb2": _SMALL8.replace(tile_buffers=2),
    "default-tb2": DstcConfig(tile_buffers=2),
    # A pipelined accumulate step: gather | add | scatter in three cycles, with forwarding
    # (docs/units/accumulator.md, "Pipelined accumulate"); the same results and throughput,
    # two cycles more pipeline latency. On the crossbar and on G = 8 lane classes.
    "small8-pipe": _SMALL8.replace(accumulate_stages=3),
    "small8-g8-pipe": _SMALL8.replace(lane_placement="reach", row_classes=8,
                                      accumulate_stages=3),
    "default-pipe": DstcConfig(accumulate_stages=3),
}


def preset(name):
    """The preset called ``name``; an unknown name raises :class:`ConfigError`."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"preset={name!r}: unknown preset; known: {sorted(PRESETS)}") from None
