"""What the narrative reader and the ASCO/CAP rules make of one report text: the display category of the
current occasion, shared by the reader's test modules."""

from __future__ import annotations

import datetime as dt

from connectors.fhir.narrative import parse_report_text
from rules.domain import SpecimenRef
from rules.her2 import synthesize
from rules.her2.classify import display_category

POS, LOW, EQUIVOCAL = "HER2-positive", "HER2-low", "HER2-equivocal"
ULTRALOW, NULL, ZERO = "HER2-ultralow", "HER2-null", "HER2-0"
UNSCORED, INDETERMINATE = "HER2-negative-unscored", "indeterminate"


def category_of(text: str, specimen: SpecimenRef, reported: dt.date) -> str:
    """The display category of the current occasion read from ``text`` for ``specimen``."""
    reading = parse_report_text(text, specimen=specimen, reported=reported)
    return display_category(synthesize(reading.her2, reading.receptors).current)
