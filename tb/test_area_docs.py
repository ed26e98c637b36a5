"""``make area-docs``: the reports of ``dstc area`` copied into docs/area.md between markers."""

import re
from pathlib import Path

import pytest

from dstc.gen.area_docs import AreaDocsError, begin_marker, end_marker, main, section, splice

REPORT = """# Area and timing: small

Configuration: `{"tile_m": 8}` (8 multipliers).

## Totals

| design | area (mm^2) |
|---|---:|
| dstc | 1.234 |

### Note

Wall time 12.0 s.
"""

PAGE = f"""# Area

## Results per preset

### small

{begin_marker("small")}
old text
#### Totals
| dstc | 9.999 |
{end_marker("small")}

## FPGA
"""


def test_section_drops_the_title_and_moves_headings_down():
    text = section("small", REPORT)
    lines = text.splitlines()
    assert lines[0] == ("`dstc area --preset small`, copied from `build/area/small/area.md` by "
                        "`make area-docs`.")
    assert "# Area and timing: small" not in text
    assert "#### Totals" in lines and "##### Note" in lines
    assert "| dstc | 1.234 |" in lines
    assert text.endswith("Wall time 12.0 s.\n")


def test_splice_replaces_only_the_section_and_is_idempotent():
    once = splice(PAGE, "small", REPORT)
    assert "old text" not in once and "9.999" not in once
    assert "| dstc | 1.234 |" in once
    assert once.startswith("# Area\n\n## Results per preset\n\n### small\n\n")
    assert once.endswith(f"{end_marker('small')}\n\n## FPGA\n")
    assert splice(once, "small", REPORT) == once


@pytest.mark.parametrize("page, message", [
    ("# no markers\n", r"^<!-- area report: small -->: must stand on a line of its own "
                       r"exactly once in the page, found 0 times$"),
    (PAGE + begin_marker("small") + "\n", r"found 2 times$"),
    (f"{end_marker('small')}\n{begin_marker('small')}\n",
     r"^<!-- end area report: small -->: comes before <!-- area report: small -->$"),
])
def test_splice_refuses_a_page_without_its_markers(page, message):
    with pytest.raises(AreaDocsError, match=message):
        splice(page, "small", REPORT)


def test_section_refuses_what_is_not_a_report():
    with pytest.raises(AreaDocsError, match=r"^report of 'small': does not start with"):
        section("small", "# Something else\n")


def test_main_writes_the_page_or_leaves_it(tmp_path, capsys):
    doc = tmp_path / "area.md"
    doc.write_text(PAGE)
    (tmp_path / "build" / "small").mkdir(parents=True)
    (tmp_path / "build" / "small" / "area.md").write_text(REPORT)
    assert main([str(doc), str(tmp_path / "build"), "small"]) == 0
    assert "| dstc | 1.234 |" in doc.read_text()

    doc.write_text(PAGE)
    assert main([str(doc), str(tmp_path / "build"), "small", "int8"]) == 2
    error = capsys.readouterr().err
    assert "int8/area.md: cannot read the report" in error
    assert "run `dstc area --preset int8` first" in error
    assert doc.read_text() == PAGE            # nothing written when one report is missing

    assert main([str(tmp_path / "missing.md"), str(tmp_path / "build"), "small"]) == 2
    assert "missing.md: cannot read the page (No such file or directory)" in \
        capsys.readouterr().err


def test_the_page_holds_a_report_of_every_preset_make_area_docs_runs():
    """docs/area.md has the markers of every preset in the Makefile's AREA_DOC_PRESETS, and
    between them a section as :func:`splice` writes it (so a regeneration replaces it)."""
    root = Path(__file__).resolve().parent.parent
    makefile = (root / "Makefile").read_text()
    presets = re.search(r"^AREA_DOC_PRESETS := (.+)$", makefile, re.M).group(1).split()
    assert presets
    page = (root / "docs" / "area.md").read_text()
    for preset in presets:
        inside = page.split(begin_marker(preset) + "\n", 1)[1].split(end_marker(preset), 1)[0]
        assert inside.startswith(f"\n`dstc area --preset {preset}`, copied from "), preset
        assert "#### Totals" in inside and "#### Run time" in inside, preset
