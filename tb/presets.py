"""The presets the tests run on: one list, smallest first (test ids keep this order)."""

from dstc.sim.config import PRESETS as _ALL

__all__ = ["PRESETS", "SMALL_PRESETS"]

#: Every preset of :data:`dstc.sim.config.PRESETS`, smallest first.
PRESETS = ("small", "small-fp16", "int8", "default")

#: The presets quick enough for the Amaranth simulator and per-commit runs.
SMALL_PRESETS = ("small", "small-fp16")

if set(PRESETS) != set(_ALL):
    raise RuntimeError(f"tb/presets.py lists {sorted(PRESETS)}, dstc.sim.config has "
                       f"{sorted(_ALL)}: update the list")
