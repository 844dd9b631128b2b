"""The values of the paired cohort analysis: categories, PET exams, patient cases, output rows.

Everything here is plain data (frozen dataclasses and enums); nothing reads a source, the clock or the
environment. A ``PatientCase`` is what the collection step (``cds_service.cohort.collect``) knows of one
patient, already keyed (``patient_key``) so that no identifier travels further; ``pairing`` turns cases into
``LesionRow`` and ``Exclusion`` values, ``statistics`` and ``outputs`` render them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rules.domain import Her2Result, LesionOrigin, PetLesion, Tracer


class CohortCategory(StrEnum):
    """HER2 expression class of a biopsied lesion for this analysis (Yeh et al., J Nucl Med 2025;66:873).

    HER2-ultralow, HER2-null and IHC 0 without a staining statement all count as ``HER2-0``.
    """

    POSITIVE = "HER2-positive"
    LOW = "HER2-low"
    ZERO = "HER2-0"


CATEGORIES: Final[tuple[CohortCategory, ...]] = tuple(CohortCategory)

LESIONS_HEADER: Final = (
    "patient_key",
    "tracer",
    "pet_date",
    "biopsy_date",
    "interval_days",
    "site",
    "category",
    "ihc_score",
    "ish_group",
    "suvmax",
    "suvpeak",
    "lesion_source",
)
"""Columns of ``lesions.csv``, in order."""

EXCLUDED_HEADER: Final = ("patient_key", "reason")
"""Columns of ``excluded.csv``, in order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PetExam:
    """One analysed HER2 PET series of a patient: tracer, acquisition date (scanner local), lesions, and the
    analysis error when SUV could not be computed (then lesions carry no SUVs of ours)."""

    tracer: Tracer
    pet_date: dt.date | None
    lesions: tuple[PetLesion, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientCase:
    """What is known of one patient with a PT series, keyed.

    ``exams`` are the HER2 PET series of the selected tracers; ``pet_note`` says why there is none (for
    example an FDG-only patient). ``biopsies`` are the patient's HER2 test occasions (one per specimen, the
    latest report version), None when no FHIR patient could be linked (``pathology_note`` says why).
    """

    patient_key: str
    exams: tuple[PetExam, ...] = ()
    pet_note: str | None = None
    biopsies: tuple[Her2Result, ...] | None = None
    pathology_note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LesionRow:
    """One biopsied lesion paired with its PET lesion: a row of ``lesions.csv``.

    ``interval_days`` is biopsy date minus PET date (negative: biopsy before the PET). ``site`` is the
    SNOMED CT concept id both sides code. ``suvmax`` is the reader's SR value when the SR states one, else
    the value measured on the series (g/ml, SUVbw); ``suvpeak`` is measured (None without a segment). Both
    are rounded to 4 decimals, as written, so the summary and the CSV agree exactly.
    """

    patient_key: str
    tracer: Tracer
    pet_date: dt.date
    biopsy_date: dt.date
    interval_days: int
    site: str
    category: CohortCategory
    ihc_score: str | None
    ish_group: int | None
    suvmax: float
    suvpeak: float | None
    lesion_source: LesionOrigin

    def csv_values(self) -> tuple[str, ...]:
        """The row's values as written, in ``LESIONS_HEADER`` order (empty string for none)."""
        return (
            self.patient_key,
            self.tracer.value,
            self.pet_date.isoformat(),
            self.biopsy_date.isoformat(),
            str(self.interval_days),
            self.site,
            self.category.value,
            self.ihc_score or "",
            "" if self.ish_group is None else str(self.ish_group),
            _number(self.suvmax),
            _number(self.suvpeak),
            self.lesion_source.value,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion:
    """A patient or a biopsied lesion left out, with the reason (a row of ``excluded.csv``). Reasons never
    carry identifiers, names or dates."""

    patient_key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortResult:
    """The paired lesions and everything left out, in patient order."""

    rows: tuple[LesionRow, ...] = ()
    excluded: tuple[Exclusion, ...] = ()


def _number(value: float | None) -> str:
    """SUVs with four decimals (the analysis rounds to 4 decimals in its JSON as well)."""
    return "" if value is None else f"{value:.4f}"
