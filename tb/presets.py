"""The presets the tests run on: one list, smallest first (test ids keep this order)."""

from dstc.sim.config import PRESETS as _ALL

__all__ = ["PRESETS", "SMALL_PRESETS", "VARIANT_PRESETS", "SMALL_VARIANT_PRESETS",
           "BUFFER_PRESETS", "SMALL_BUFFER_PRESETS", "ALL_PRESETS"]

#: The presets of the crossbar core (every test runs on these), smallest first.
PRESETS = ("small", "small-fp16", "small8", "int8", "default")

#: The presets quick enough for the Amaranth simulator and per-commit runs.
SMALL_PRESETS = ("small", "small-fp16")

#: The accumulator variants (docs/units/accumulator.md; the pipelined accumulate,
#: ``accumulate_stages``, included) and the inline k-step bitmaps (``kstep_bitmaps="inline"``,
#: docs/isa.md): the sparse core's tests (models, lint, cocotb) run on these too; the dense
#: baseline depends on none of them (the two-buffer presets excepted: BUFFER_PRESETS).
VARIANT_PRESETS = ("small8-reach", "small8-g2", "small8-g4", "small8-g8", "small8-g8h2",
                   "small8-inline", "small8-tb2", "small8-pipe", "small8-g8-pipe",
                   "default-reach", "default-g2", "default-g8", "default-g8h2", "default-inline",
                   "default-tb2", "default-pipe")

#: The variants cheap enough for `make test` (the others run in `make soak`).
SMALL_VARIANT_PRESETS = ("small8-reach", "small8-g2", "small8-g4", "small8-g8", "small8-g8h2",
                         "small8-inline", "small8-tb2", "small8-pipe", "small8-g8-pipe")

#: The presets with two tile buffers (``tile_buffers=2``): the variants that change the dense
#: baseline too, so its tests run on these as well.
BUFFER_PRESETS = ("small8-tb2", "default-tb2")

#: The two-buffer presets of `make test`.
SMALL_BUFFER_PRESETS = ("small8-tb2",)

#: Every preset of :data:`dstc.sim.config.PRESETS`.
ALL_PRESETS = PRESETS + VARIANT_PRESETS

if set(ALL_PRESETS) != set(_ALL):
    raise RuntimeError(f"tb/presets.py lists {sorted(ALL_PRESETS)}, dstc.sim.config has "
                       f"{sorted(_ALL)}: update the list")
