"""Verilog generation: a pure, deterministic function of a component."""

import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

from amaranth.back import verilog

__all__ = ["to_verilog", "write_atomic", "write_if_changed", "source_digest", "cached_verilog"]

# Amaranth's `YOSYS` variable would select an external yosys (for example the FPGA flow's
# YoWASP one) also for Verilog generation; generation always uses the built-in one.
os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")

_HW_DIR = Path(__file__).resolve().parent.parent / "hw"


def to_verilog(component, name):
    """Verilog text of ``component`` as module ``name`` (no source-location attributes, so the
    text does not depend on where the checkout lives)."""
    return verilog.convert(component, name=name, emit_src=False)


def write_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file in the same folder and an atomic
    rename: readers see the old file or the new one, never a part; a run killed while writing
    leaves at most a stray ``.<name>.*.tmp`` file. Creates the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as output:
            output.write(text)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def write_if_changed(path, text):
    """Write ``text`` to ``path`` atomically unless it already holds exactly that text.

    Leaving an identical file untouched keeps its timestamp, so simulator builds that depend on
    it are not redone. Returns ``True`` when the file was written.
    """
    path = Path(path)
    try:
        if path.read_bytes() == text.encode():
            return False
    except OSError:   # missing (or unreadable): write it
        pass
    write_atomic(path, text)
    return True


def source_digest():
    """Digest of the hardware sources (``hw/*.py``), used to key caches of generated files."""
    digest = hashlib.sha256()
    for source in sorted(_HW_DIR.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cached_verilog(path, name, build, key=""):
    """Write the Verilog of ``build()`` as module ``name`` to ``path`` unless the file there
    was generated from the same ``key`` (any text naming the parameters) and the same hardware
    sources. Concurrent callers (processes or threads) wait for each other (``fcntl.flock`` on
    ``<path>.lock``); both files are written atomically, the key last, so a run killed while
    generating leaves no key and the next run regenerates. Returns ``(path, component)``, the
    component being ``None`` when the cached file was used."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key_path = path.with_name(path.name + ".key")
    key = hashlib.sha256(f"{name}\n{key}\n{source_digest()}".encode()).hexdigest()
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.is_file() and key_path.read_bytes() == key.encode():
                return path, None
        except OSError:   # no key yet: generate
            pass
        component = build()
        write_if_changed(path, to_verilog(component, name))
        write_atomic(key_path, key)
        return path, component
