"""Copy the reports of ``dstc area`` into docs/area.md (``make area-docs``).

Each preset's section of the page stands between two markers, ``<!-- area report: NAME -->``
and ``<!-- end area report: NAME -->``; :func:`splice` replaces what is between them with
that preset's ``area.md`` (its title dropped, its headings two levels down), so the page's
per-preset figures are always a report written by a command, never typed.

Usage: ``python -m dstc.gen.area_docs DOC REPORTS PRESET...`` (``REPORTS/PRESET/area.md``
for each preset). Exit status 0, or 2 with one line naming what is wrong.
"""

import argparse
import re
import sys
from pathlib import Path

from .verilog import write_atomic

__all__ = ["AreaDocsError", "begin_marker", "end_marker", "section", "splice", "main"]


class AreaDocsError(ValueError):
    """A page without a preset's markers, a report that is not one, or a file that cannot
    be read."""


def begin_marker(preset):
    """The line that opens ``preset``'s section."""
    return f"<!-- area report: {preset} -->"


def end_marker(preset):
    """The line that closes ``preset``'s section."""
    return f"<!-- end area report: {preset} -->"


def section(preset, report):
    """The text of ``preset``'s section from its ``area.md`` ``report``: a line naming the
    command and the report, then the report without its ``# `` title, every heading two
    levels down (``## Totals`` becomes ``#### Totals``). Raises :class:`AreaDocsError` if
    ``report`` does not start with the title ``dstc area`` writes."""
    lines = report.splitlines()
    if not lines or not lines[0].startswith("# Area and timing: "):
        raise AreaDocsError(f"report of {preset!r}: does not start with '# Area and timing: ' "
                            f"(not an area.md of dstc area)")
    body = [re.sub(r"^(#+) ", r"\1## ", line) for line in lines[1:]]
    while body and not body[0].strip():
        body.pop(0)
    intro = (f"`dstc area --preset {preset}`, copied from `build/area/{preset}/area.md` by "
             f"`make area-docs`.")
    return "\n".join([intro, "", *body]).rstrip("\n") + "\n"


def splice(doc, preset, report):
    """``doc`` with ``preset``'s section replaced by :func:`section` of ``report``. Raises
    :class:`AreaDocsError` unless ``doc`` has each of the preset's two markers exactly once,
    begin before end, each on a line of its own."""
    begin, end = begin_marker(preset), end_marker(preset)
    lines = doc.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    for marker in (begin, end):
        if stripped.count(marker) != 1:
            raise AreaDocsError(f"{marker}: must stand on a line of its own exactly once in the "
                                f"page, found {stripped.count(marker)} times")
    first, last = stripped.index(begin), stripped.index(end)
    if last < first:
        raise AreaDocsError(f"{end}: comes before {begin}")
    return "".join(lines[:first + 1]) + "\n" + section(preset, report) + "\n" + \
        "".join(lines[last:])


def main(argv=None):
    """Splice each preset's report into the page; returns the exit status (0, or 2 with a
    one-line message on standard error; the page is left as it was)."""
    parser = argparse.ArgumentParser(prog="python -m dstc.gen.area_docs",
                                     description="Copy dstc area reports into a page.")
    parser.add_argument("doc", type=Path, help="the page (docs/area.md)")
    parser.add_argument("reports", type=Path, help="folder of the reports (build/area)")
    parser.add_argument("presets", nargs="+", metavar="PRESET",
                        help="presets whose reports to copy (REPORTS/PRESET/area.md)")
    args = parser.parse_args(argv)
    try:
        doc = _read(args.doc, "cannot read the page")
        for preset in args.presets:
            report = _read(args.reports / preset / "area.md", "cannot read the report",
                           f"; run `dstc area --preset {preset}` first")
            doc = splice(doc, preset, report)
    except AreaDocsError as error:
        print(f"area_docs: {error}", file=sys.stderr)
        return 2
    write_atomic(args.doc, doc)
    print(f"{args.doc}: sections of {', '.join(args.presets)} copied from {args.reports}")
    return 0


def _read(path, what, hint=""):
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise AreaDocsError(f"{path}: {what} ({error.strerror}){hint}") from None


if __name__ == "__main__":
    sys.exit(main())
