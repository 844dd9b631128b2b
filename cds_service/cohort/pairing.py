"""Pure: a patient's HER2 PET exams and biopsies → paired lesion rows and exclusions, each with its reason.

For every biopsy (one HER2 test occasion of one specimen) of a patient with a HER2 PET, in this order:

1. the specimen's collection date must be known, and the nearest HER2 PET (any selected tracer) must lie
   within ``window_days`` of it (``rules.pairing.within_pairing_window``: inclusive, either order);
2. the rules engine classifies the biopsy (``rules.her2.classify``); HER2-positive and HER2-low count as
   such, HER2-ultralow, HER2-null and IHC 0 as ``HER2-0``; equivocal, unscored, indeterminate and results
   needing review are left out with that reason;
3. the biopsied site must be coded (SNOMED CT on the Specimen or DiagnosticReport), and exactly one lesion
   of that PET must carry the same SNOMED CT site code (the reader's SR Finding Site, else a SEG segment's
   anatomic region; see ``PetLesion.site_code``). No lesion at the site, or several, leave the biopsy out:
   which lesion was biopsied is never guessed;
4. the PET's SUV must be computable and the lesion must have an SUVmax (the reader's SR value first).

Each failed step gives one exclusion naming the step; no reason carries an identifier or a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cds_service.cohort.model import CohortCategory, Exclusion, LesionRow, PatientCase, PetExam
from rules.domain import AscoCapStatus, Her2Assessment, Her2Result, IhcScore, PetLesion, TdxdCategory
from rules.her2 import classify
from rules.pairing import pairing_gap_days

CATEGORY_OF: dict[TdxdCategory, CohortCategory] = {
    TdxdCategory.HER2_POSITIVE: CohortCategory.POSITIVE,
    TdxdCategory.HER2_LOW: CohortCategory.LOW,
    TdxdCategory.HER2_ULTRALOW: CohortCategory.ZERO,
    TdxdCategory.HER2_NULL: CohortCategory.ZERO,
    TdxdCategory.HER2_ZERO_UNSPECIFIED: CohortCategory.ZERO,
}
"""Rules-engine categories that enter the analysis, and the class each counts as."""


def excluded_category_reason(assessment: Her2Assessment) -> str:
    """Why a classified biopsy that is not HER2-positive, HER2-low or HER2-0 is left out."""
    if assessment.category is TdxdCategory.NEGATIVE_UNSCORED:
        return "HER2 negative without an IHC score (unscored): HER2-low or HER2-0 cannot be told"
    if assessment.category is TdxdCategory.NEEDS_REVIEW:
        return "HER2 result needs review (score range, or missing, implausible or contradictory data)"
    if assessment.status is AscoCapStatus.EQUIVOCAL_PENDING:
        return "HER2 equivocal or ISH pending (no final result)"
    if assessment.status is AscoCapStatus.INDETERMINATE:
        return "HER2 indeterminate"
    return "no final HER2 category (no usable IHC or ISH result)"


def pair_case(case: PatientCase, *, window_days: int) -> tuple[list[LesionRow], list[Exclusion]]:
    """The paired rows and exclusions of one patient (see the module docstring)."""
    key = case.patient_key
    if not case.exams:
        return [], [Exclusion(patient_key=key, reason=case.pet_note or "no HER2-targeted PET series")]
    if case.biopsies is None:
        reason = case.pathology_note or "no FHIR patient linked to the DICOM PatientID"
        return [], [Exclusion(patient_key=key, reason=reason)]
    if not case.biopsies:
        return [], [Exclusion(patient_key=key, reason="no HER2 result on file")]
    rows: list[LesionRow] = []
    excluded: list[Exclusion] = []
    many = len(case.biopsies) > 1
    for number, biopsy in enumerate(_in_date_order(case.biopsies), start=1):
        label = f"biopsy {number} of {len(case.biopsies)}: " if many else "biopsy: "
        row, why = pair_biopsy(key, biopsy, case.exams, window_days=window_days)
        if row is not None:
            rows.append(row)
        else:
            excluded.append(Exclusion(patient_key=key, reason=label + (why or "not paired")))
    return rows, excluded


def _in_date_order(biopsies: Sequence[Her2Result]) -> list[Her2Result]:
    """Oldest collection first (results without a date last), for stable numbering in reasons."""
    return sorted(
        biopsies,
        key=lambda r: (r.specimen.collected is None, r.specimen.collected or r.reported or dt.date.max),
    )


def pair_biopsy(
    patient_key: str, biopsy: Her2Result, exams: Sequence[PetExam], *, window_days: int
) -> tuple[LesionRow | None, str | None]:
    """One biopsy paired with the lesion at its site on the nearest HER2 PET, or None and the reason."""
    collected = biopsy.specimen.collected
    if collected is None:
        return None, "specimen collection date unknown"
    dated = [e for e in exams if e.pet_date is not None]
    if not dated:
        return None, "HER2 PET acquisition date unknown"
    gaps = [(pairing_gap_days(e.pet_date, collected) or 0, e) for e in dated]
    nearest_gap = min(gap for gap, _ in gaps)
    if nearest_gap > window_days:
        return None, f"nearest HER2 PET {nearest_gap} days from the biopsy (window {window_days} days)"
    assessment = classify(biopsy)
    category = CATEGORY_OF.get(assessment.category)
    if category is None:
        return None, excluded_category_reason(assessment)
    site = biopsy.specimen.site_code
    if site is None:
        return None, "biopsied site not coded (no SNOMED CT body site on the Specimen or DiagnosticReport)"
    nearest = [e for gap, e in gaps if gap == nearest_gap]
    found = [(e, lesion) for e in nearest for lesion in e.lesions if lesion.site_code == site]
    if not found:
        return None, _no_lesion_reason(site, nearest)
    if len(found) > 1:
        return None, (
            f"{len(found)} PET lesions at the biopsied site (SNOMED CT {site}): which one was biopsied "
            "is not known"
        )
    exam, lesion = found[0]
    if exam.error is not None:
        return None, f"HER2 PET SUV not computable: {exam.error}"
    suvmax = lesion.reader_suv_max if lesion.reader_suv_max is not None else lesion.suv_max
    if suvmax is None:
        return None, f"PET lesion at the biopsied site (SNOMED CT {site}) has no SUVmax"
    assert exam.pet_date is not None
    return (
        LesionRow(
            patient_key=patient_key,
            tracer=exam.tracer,
            pet_date=exam.pet_date,
            biopsy_date=collected,
            interval_days=(collected - exam.pet_date).days,
            site=site,
            category=category,
            ihc_score=_ihc_score(biopsy),
            ish_group=assessment.ish_group,
            suvmax=round(suvmax, 4),
            suvpeak=None if lesion.suv_peak is None else round(lesion.suv_peak, 4),
            lesion_source=lesion.origin,
        ),
        None,
    )


def _no_lesion_reason(site: str, exams: Sequence[PetExam]) -> str:
    lesions: list[PetLesion] = [lesion for e in exams for lesion in e.lesions]
    uncoded = sum(1 for lesion in lesions if lesion.site_code is None)
    if any(e.error is not None for e in exams) and not lesions:
        return f"HER2 PET SUV not computable and no reader lesions: {next(e.error for e in exams if e.error)}"
    reason = f"no PET lesion coded at the biopsied site (SNOMED CT {site})"
    if uncoded:
        reason += f"; {uncoded} lesion(s) without a coded site not paired"
    return reason


def _ihc_score(biopsy: Her2Result) -> str | None:
    ihc = biopsy.ihc
    if ihc is None or ihc.score is None or ihc.is_range:
        return None
    return IhcScore(ihc.score).value
