"""The contracts every accumulator tile implements: its storage ports and, for the sparse
core, the scatter-add of one OHMMA."""

from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..sim.isa import Opcode
from .isa import scatter_layout
from .shapes import accum_shape, index_shape

__all__ = ["storage_signature", "scatter_signature", "drive_storage"]


def storage_signature(config):
    """Ports of the ``tile_m x tile_n`` accumulator tile shared by every accumulator (as seen
    from the accumulator, flat so that port names stay ``clear``, ``load_en``, ...):

    * ``clear`` (in, 1): every cell becomes 0 at the end of the cycle (highest priority);
    * ``load_en`` (in, 1), ``load_row`` (in, a row index), ``load_data`` (in, ``tile_n``
      accumulator values): row ``load_row`` becomes ``load_data`` (next priority);
    * ``read_row`` (in, a row index), ``read_data`` (out, ``tile_n`` accumulator values):
      row ``read_row`` of the tile as it is now (combinational; used by the drain);
    * ``swap`` (in, 1): with ``tile_buffers=2``, the compute (front) and drain (back) tile
      buffers change places at the end of the cycle: ``clear``, ``load_*`` and the
      accumulation act on the front buffer, ``read_*`` reads the back buffer. With one buffer
      it has no effect and ``read_*`` reads the one tile
      (:class:`~dstc.hw.tile_buffers.TileBuffers`).

    ``config`` is a :class:`~dstc.sim.config.DstcConfig`; returns a ``wiring.Signature``.
    """
    row = data.ArrayLayout(accum_shape(config), config.tile_n)
    return wiring.Signature({
        "clear": In(1),
        "load_en": In(1),
        "load_row": In(index_shape(config.tile_m)),
        "load_data": In(row),
        "read_row": In(index_shape(config.tile_m)),
        "read_data": Out(row),
        "swap": In(1),
    })


def scatter_signature(config):
    """Ports of a sparse-core accumulator: :func:`storage_signature` plus ``scatter_en``
    (in, 1) and ``scatter`` (in, :func:`~dstc.hw.isa.scatter_layout`): add one OHMMA's
    products to the cells its placement names (lowest priority, after ``clear`` and
    ``load_en``).

    An accumulator variant is a ``wiring.Component`` with this signature and a ``latency``
    property (cycles between the cycle a scatter is presented and the cycle at whose end the
    tile holds its sums); :class:`~dstc.hw.scatter_accumulator.ScatterAccumulator` gives
    both, and the scatter into the tile. ``config`` is a :class:`~dstc.sim.config.DstcConfig`;
    returns a ``wiring.Signature``.
    """
    return wiring.Signature({
        **dict(storage_signature(config).members.items()),
        "scatter_en": In(1),
        "scatter": In(scatter_layout(config)),
    })


def drive_storage(storage, firing, *, load, read_row):
    """The statements that drive the inputs of an accumulator's storage ports
    (:func:`storage_signature`) from the accepted commands, as both cores do: an accepted
    CLEAR clears the tile, a LOAD_ROW loads its row (``load``, a
    :func:`~dstc.hw.isa.load_layout` view of its body) and a DRAIN swaps two tile buffers;
    ``read_row`` is the row the drain reads. ``firing(op)`` is the 1-bit value "a command of
    opcode ``op`` is accepted this cycle"
    (:func:`~dstc.hw.command_accept.accept_commands`). Returns a list for ``m.d.comb``."""
    return [
        storage.clear.eq(firing(Opcode.CLEAR)),
        storage.load_en.eq(firing(Opcode.LOAD_ROW)),
        storage.load_row.eq(load.row),
        storage.load_data.eq(load.values),
        storage.read_row.eq(read_row),
        storage.swap.eq(firing(Opcode.DRAIN)),
    ]
