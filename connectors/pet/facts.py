"""Assemble ``rules.domain.PetStudyFacts``, the PET object the rules consume, from series facts and lesions.

The rules see no pixels: only tracer, injection and acquisition datetimes, uptake hours, lesions (with reader
calls, origins and sites), reference SUVs, whether SUV could be computed, and caveats (spec/pet-dicom.md §1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from connectors.pet.references import reference_uptake
from connectors.pet.types import ReferenceMeasurement
from rules.domain import PetLesion, PetStudyFacts, SourceRef, Tracer


def series_source(study_uid: str, series_uid: str) -> SourceRef:
    """The DICOM source reference of a series: ``study/<uid>/series/<uid>``."""
    return SourceRef(system="dicom", reference=f"study/{study_uid}/series/{series_uid}")


def build_facts(
    *,
    study_uid: str,
    series_uid: str,
    tracer: Tracer,
    injected_at: dt.datetime | None,
    acquired_at: dt.datetime | None,
    uptake_h: float | None,
    lesions: Sequence[PetLesion],
    references: Iterable[ReferenceMeasurement] = (),
    suvbw_max: float | None = None,
    caveats: Sequence[str] = (),
) -> PetStudyFacts:
    """PET facts of one series. ``suv_available`` is true exactly when an SUVbw maximum could be computed."""
    return PetStudyFacts(
        study=study_uid,
        series=series_uid,
        tracer=tracer,
        injected_at=injected_at,
        acquired_at=acquired_at,
        uptake_h=uptake_h,
        lesions=tuple(lesions),
        references=reference_uptake(references),
        suv_available=suvbw_max is not None,
        suvbw_max=suvbw_max,
        caveats=tuple(caveats),
        source=series_source(study_uid, series_uid),
    )
