"""Generation of a configuration's Verilog: a pure, deterministic function of the config."""

import hashlib
import json
import time

from ..hw.bitmap_decoder import BitmapDecoder
from ..hw.bitmap_encoder import BitmapEncoder
from ..hw.core import DstcCore, accumulator_for
from ..hw.dense_core import DenseCore
from ..hw.multiplier_array import MultiplierArray
from .estimate import warn_slow_generation
from .options import add_config_options, add_output_option, check_output_folder, config_from
from .verilog import to_verilog, write_if_changed

__all__ = ["DESIGNS", "design_component", "design_units", "block_units", "generate", "HELP",
           "DESCRIPTION", "add_arguments", "command"]

#: ``{design: (module name, component class)}``: the sparse core and its dense baseline.
DESIGNS = {
    "dstc": ("dstc_core", DstcCore),
    "dense": ("dstc_dense_core", DenseCore),
}


def design_component(config, design="dstc"):
    """``(module name, component)`` of ``design`` (a key of :data:`DESIGNS`) for ``config``.
    Raises :class:`ValueError` for an unknown design."""
    if design not in DESIGNS:
        raise ValueError(f"design {design!r}: must be one of {', '.join(DESIGNS)}")
    name, component_class = DESIGNS[design]
    return name, component_class(config)


def design_units(config, designs=("dstc",)):
    """``{module name: factory}`` of what ``dstc generate`` writes: the core and, when
    ``designs`` names it, the dense baseline (``dstc_dense_core``).

    Module names start with ``dstc_`` so that they do not collide in a user's flow;
    submodules are named after their parent (``dstc_core.accumulator``, ...).
    """
    units = {}
    for design in designs:
        name, component_class = DESIGNS[design]
        units[name] = lambda component_class=component_class: component_class(config)
    return units


def block_units(config):
    """``{module name: factory}`` of the core's main blocks as standalone modules
    (``dstc generate --blocks``), for reuse and block-level checks."""
    return {
        "dstc_multiplier_array": lambda: MultiplierArray(config),
        "dstc_accumulator": lambda: accumulator_for(config),
        "dstc_a_decoder": lambda: BitmapDecoder(config.tile_m, config.array_rows),
        "dstc_b_decoder": lambda: BitmapDecoder(config.tile_n, config.array_cols),
        "dstc_output_encoder": lambda: BitmapEncoder(config.tile_n, config.accum),
    }


def generate(config, out_dir, progress=None, blocks=False, designs=("dstc",)):
    """Write ``dstc_core.v`` (``dstc_dense_core.v`` for the dense baseline, per ``designs``;
    with ``blocks`` the standalone blocks), ``config.json`` and ``manifest.json`` (file
    names, sizes and SHA-256) into ``out_dir``. Unchanged files are left untouched.

    Returns the list of written paths; ``progress(name, component)`` is called after each
    unit is converted. Raises :class:`ValueError` for an unknown design and
    :class:`~dstc.gen.options.UsageError` (a ``ValueError``) for an ``out_dir`` that is empty
    or cannot be made a writable folder.
    """
    out_dir = check_output_folder(out_dir, "out_dir")
    for design in designs:
        if design not in DESIGNS:
            raise ValueError(f"design {design!r}: must be one of {', '.join(DESIGNS)}")
    units = dict(design_units(config, designs))
    if blocks:
        units.update(block_units(config))
    files = {}
    for name, factory in units.items():
        component = factory()
        files[f"{name}.v"] = to_verilog(component, name)
        if progress:
            progress(name, component)
    files["config.json"] = config.to_json()
    manifest = {name: {"bytes": len(text.encode()),
                       "sha256": hashlib.sha256(text.encode()).hexdigest()}
                for name, text in sorted(files.items())}
    files["manifest.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    for name, text in files.items():
        write_if_changed(out_dir / name, text)
    return [out_dir / name for name in files]


# ---- command line ------------------------------------------------------------------------

HELP = "write the Verilog of a configuration"
DESCRIPTION = ("Write the Verilog of a configuration, its config.json and a manifest. Two runs "
               "write byte-identical files.")


def add_arguments(parser):
    """Add the options of ``dstc generate`` to ``parser``."""
    add_config_options(parser)
    add_output_option(parser, help="output folder (created if missing)", required=True)
    parser.add_argument("--blocks", action="store_true",
                        help="also write the main blocks as standalone modules")
    parser.add_argument("--design", choices=("dstc", "dense", "both"), default="dstc",
                        help="the sparse core (dstc_core.v, default), its iso-MAC dense "
                             "baseline (dstc_dense_core.v), or both")


def command(args):
    """Run ``dstc generate`` from parsed arguments, printing each unit and file; returns 0.
    Raises :class:`~dstc.gen.options.UsageError` for an output folder that cannot be written
    (before generating anything)."""
    config = config_from(args)
    check_output_folder(args.output)
    warn_slow_generation(config)
    started = time.monotonic()
    print(f"generating {config.describe()} into {args.output}")
    designs = ("dstc", "dense") if args.design == "both" else (args.design,)
    paths = generate(config, args.output, blocks=args.blocks, designs=designs,
                     progress=lambda name, _: print(f"  {name}"))
    for path in paths:
        print(f"  wrote {path} ({path.stat().st_size} bytes)")
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0
