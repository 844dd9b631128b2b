"""The committed decision-table page is exactly what the tables render (so it cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

from rules.her2 import HER2_TABLES, decision_tables_markdown
from rules.hormone import HORMONE_TABLES
from rules.tables import render_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "her2-decision-tables.md"


def test_committed_page_matches_the_tables() -> None:
    rendered = decision_tables_markdown()
    committed = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    assert committed == rendered, (
        "docs/her2-decision-tables.md is out of date; regenerate it with "
        "`her2-cds rules-doc > docs/her2-decision-tables.md`"
    )


def test_page_lists_every_row_with_its_reference() -> None:
    page = decision_tables_markdown()
    for table in (*HER2_TABLES, *HORMONE_TABLES):
        section = render_table(table)
        assert section in page
        lines = section.splitlines()
        for row in table.rows:
            ref = row.ref.replace("|", "\\|")
            assert any(line.startswith(f"| `{row.id}` |") and ref in line for line in lines), row.id
