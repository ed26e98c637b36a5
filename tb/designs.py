"""Generated Verilog of the designs under test, cached under build/tb/verilog.

A design is regenerated only when its name, its parameters or the sources it is built from
(``hw/`` and the test harness) change; concurrent pytest workers wait for each other.
"""

import hashlib
import json
from pathlib import Path

from conftest import BUILD, TB_DIR
from ports import port_formats

from dstc.gen.design import DENSE_CORE, SPARSE_CORE
from dstc.gen.generate import block_units
from dstc.gen.verilog import cached_verilog, write_if_changed
from dstc.sim.config import preset

__all__ = ["generated_verilog", "unit_verilog", "core_design", "dense_design", "GeneratedDesign"]

_HARNESS_SOURCES = ("harness.py", "blocks.py")


def _harness_digest():
    digest = hashlib.sha256()
    for source in _HARNESS_SOURCES:
        digest.update((TB_DIR / source).read_bytes())
    return digest.hexdigest()


class GeneratedDesign:
    """A generated design: module ``name``, Verilog ``path`` and port ``formats``."""

    def __init__(self, name, path, formats):
        self.name, self.path, self.formats = name, Path(path), formats


def generated_verilog(name, build, params=""):
    """The :class:`GeneratedDesign` of ``build()`` as module ``name``; ``params`` (text) names
    what else the design depends on, such as its configuration. ``build`` is only called when
    the design must be (re)generated."""
    folder = BUILD / "verilog"
    formats_path = folder / f"{name}.ports.json"
    if not formats_path.is_file():                       # regenerate both
        (folder / f"{name}.v.key").unlink(missing_ok=True)

    def build_and_record():
        component = build()
        write_if_changed(formats_path, json.dumps(port_formats(component)))
        return component

    path, _ = cached_verilog(folder / f"{name}.v", name, build_and_record,
                             key=f"{params}\n{_harness_digest()}")
    return GeneratedDesign(name, path, json.loads(formats_path.read_text()))


def _module_name(unit, preset_name):
    return f"{unit}_{preset_name.replace('-', '_')}"


def unit_verilog(unit, preset_name):
    """The :class:`GeneratedDesign` of a standalone block (``dstc generate --blocks``)."""
    config = preset(preset_name)
    return generated_verilog(_module_name(unit, preset_name), block_units(config)[unit],
                             params=config.to_json())


def _design(design, preset_name):
    config = preset(preset_name)
    return generated_verilog(_module_name(design.name, preset_name),
                             lambda: design.component(config), params=config.to_json())


def core_design(preset_name):
    """The :class:`GeneratedDesign` of the core of a preset (:data:`SPARSE_CORE`)."""
    return _design(SPARSE_CORE, preset_name)


def dense_design(preset_name):
    """The :class:`GeneratedDesign` of the dense baseline of a preset (:data:`DENSE_CORE`)."""
    return _design(DENSE_CORE, preset_name)
