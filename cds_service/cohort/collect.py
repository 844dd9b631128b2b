"""Collect the cohort: every PT series of the DICOM source, grouped by patient, HER2 PET series analysed,
each patient linked to its pathology, then paired (``cds_service.cohort.pairing``).

The PET side is the service's own: the same PET port (``connectors.dicom`` folder, DICOMweb, DIMSE), the
same tracer recognition from one header (``PetStudySource.triage``) and the same analysis
(``PetStudySource.analyse``: SUV, the reader's SR lesions, SEG segments, automated candidates). Series that
are not HER2 PET (FDG, unknown tracers) are noted, not analysed. The patient is keyed (``PatientKeyer``) as
soon as it is read; only keyed cases leave this module. A source outage (``SourceUnavailableError``) stops
the run: it says nothing about a patient and must not turn into exclusions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from cds_service.cohort.keys import PatientKeyer
from cds_service.cohort.model import CohortResult, Exclusion, LesionRow, PatientCase, PetExam
from cds_service.cohort.pairing import pair_case
from cds_service.cohort.pathology import PathologyLookup, PatientNotLinkedError
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import InvalidSourceDataError, NotFoundError
from rules.domain import Tracer


class ProgressBar(Protocol):
    """What the collection reports progress to (a tqdm bar fits): one step per PT series."""

    def update(self, n: int = 1) -> object: ...

    def close(self) -> None: ...


class _Silent:
    def update(self, n: int = 1) -> object:
        return None

    def close(self) -> None:
        return None


ProgressFactory = Callable[[int], ProgressBar]
"""Makes a progress bar for a number of PT series."""


def _silent(_total: int) -> ProgressBar:
    return _Silent()


def _group_by_patient(refs: Sequence[SeriesRef]) -> dict[str, list[SeriesRef]]:
    """PT series by DICOM PatientID; series without one stand alone, under their study."""
    groups: dict[str, list[SeriesRef]] = {}
    for ref in refs:
        key = f"id:{ref.patient_id}" if ref.patient_id else f"study:{ref.study_uid}"
        groups.setdefault(key, []).append(ref)
    return groups


def examine_series(
    source: PetStudySource, ref: SeriesRef, tracers: Collection[Tracer] | None
) -> tuple[PetExam | None, str | None]:
    """The analysed HER2 PET exam of one PT series, or None and why the series does not count."""
    try:
        recognition = source.triage(ref)
    except NotFoundError:
        return None, "PT series no longer on the DICOM source"
    except InvalidSourceDataError:
        return None, "PT series header not readable"
    tracer = recognition.tracer
    if tracer is None:
        return None, f"not a HER2 PET series ({recognition.skip_reason or 'tracer not recognised'})"
    if tracers is not None and tracer not in tracers:
        return None, f"tracer {tracer.value} not selected"
    try:
        analysis = source.analyse(ref)  # undecodable data is the analysis' error, never an exception
    except NotFoundError:
        return None, "HER2 PET series no longer on the DICOM source"
    return (
        PetExam(
            tracer=tracer,
            pet_date=_date(analysis.acquired_at, ref),
            lesions=analysis.lesions,
            error=analysis.error,
        ),
        None,
    )


def _date(acquired: dt.datetime | None, ref: SeriesRef) -> dt.date | None:
    """The acquisition date (scanner local), else the SeriesDate the source reported."""
    if acquired is not None:
        return acquired.date()
    return ref.series_date


def collect_cases(
    source: PetStudySource,
    pathology: PathologyLookup,
    *,
    keyer: PatientKeyer,
    tracers: Collection[Tracer] | None = None,
    progress: ProgressFactory = _silent,
) -> list[PatientCase]:
    """One keyed case per patient with a PT series on ``source`` (see the module docstring)."""
    refs = source.find_pet_series()
    bar = progress(len(refs))
    cases: list[PatientCase] = []
    try:
        for group_key, series in _group_by_patient(refs).items():
            exams: list[PetExam] = []
            notes: list[str] = []
            for ref in series:
                exam, note = examine_series(source, ref, tracers)
                if exam is not None:
                    exams.append(exam)
                elif note is not None:
                    notes.append(note)
                bar.update(1)
            cases.append(_case(group_key, series[0], exams, notes, pathology, keyer))
    finally:
        bar.close()
    return sorted(cases, key=lambda c: c.patient_key)


def _case(
    group_key: str,
    first: SeriesRef,
    exams: list[PetExam],
    notes: list[str],
    pathology: PathologyLookup,
    keyer: PatientKeyer,
) -> PatientCase:
    patient_id = first.patient_id
    key = keyer(patient_id if patient_id else group_key)
    if not exams:
        note = "no HER2-targeted PET series: " + "; ".join(dict.fromkeys(notes))
        return PatientCase(patient_key=key, pet_note=note)
    if not patient_id:
        return PatientCase(
            patient_key=key,
            exams=tuple(exams),
            pathology_note="PT series without a DICOM PatientID: cannot be linked to pathology",
        )
    try:
        data = pathology.pathology(patient_id)
    except PatientNotLinkedError as exc:
        return PatientCase(patient_key=key, exams=tuple(exams), pathology_note=str(exc))
    return PatientCase(patient_key=key, exams=tuple(exams), biopsies=data.her2)


def pair_cases(cases: Sequence[PatientCase], *, window_days: int) -> CohortResult:
    """Every case paired (``pairing.pair_case``), rows and exclusions in case order."""
    rows: list[LesionRow] = []
    excluded: list[Exclusion] = []
    for case in cases:
        mine, left_out = pair_case(case, window_days=window_days)
        rows.extend(mine)
        excluded.extend(left_out)
    return CohortResult(rows=tuple(rows), excluded=tuple(excluded))
