"""The HER2 rules engine: ASCO/CAP 2018 (affirmed 2023) decision tables, per-occasion classification and
synthesis.

Public API:

- :func:`classify` — one :class:`~rules.domain.Her2Result` → :class:`~rules.domain.Her2Assessment` (status,
  T-DXd category, evidence naming the table rows that fired, caveats);
- :func:`synthesize` — all results and ER/PR results of a patient → :class:`~rules.domain.PatientHer2`;
- :func:`display_category` — the display name used by the command line and the cards;
- :data:`HER2_TABLES` and :func:`decision_tables_markdown` — the tables as data and as a documentation page
  (``her2-cds rules-doc > docs/her2-decision-tables.md``).
"""

from __future__ import annotations

from rules.her2.classify import classify, display_category
from rules.her2.guideline import HER2_TABLES
from rules.her2.ish_tables import ISH_GROUP
from rules.her2.patient import synthesize
from rules.hormone import HORMONE_TABLES
from rules.parameters import GUIDELINE, RULES_VERSION
from rules.tables import decide, render_markdown

__all__ = [
    "HER2_TABLES",
    "classify",
    "decision_tables_markdown",
    "display_category",
    "dual_probe_group",
    "synthesize",
]


def dual_probe_group(ratio: float, her2_per_cell: float) -> int:
    """ASCO/CAP 2018 dual-probe ISH group (1–5) from the HER2/CEP17 ratio and mean HER2 signals per cell."""
    return decide(ISH_GROUP, {"ratio": ratio, "her2_per_cell": her2_per_cell}).outcome


def decision_tables_markdown() -> str:
    """The HER2 and ER/PR decision tables as a Markdown page (the content of docs/her2-decision-tables.md)."""
    preface = (
        f"Guideline: {GUIDELINE}. Rules version {RULES_VERSION}.\n\nGenerated from the decision tables the "
        "engine evaluates (`rules/her2/guideline.py`, `rules/hormone.py`); do not edit by hand. Regenerate "
        "with `her2-cds rules-doc > docs/her2-decision-tables.md`.\n\nHER2-low and HER2-ultralow are "
        "therapy-eligibility labels (ENHERTU prescribing information), not ASCO/CAP result categories. "
        "Rows cited as “engine rule” handle missing, implausible or contradictory data; they never make a "
        "positive or HER2-low call on their own."
    )
    return render_markdown(
        (*HER2_TABLES, *HORMONE_TABLES), title="HER2 and hormone-receptor decision tables", preface=preface
    )
