"""A pure, lossless JSON codec for stored PET analyses (``pet_analysis.facts``).

What the database keeps per analysed series (keyed by SeriesInstanceUID, ``Storage.save_analysis``) is one
JSON document::

    {"format": 1,
     "facts": {...} | null,          # rules.domain.PetStudyFacts; null when the series is not HER2 PET
     "analysis": {...},              # SeriesAnalysis.to_json() (the `her2-cds pet analyze` object)
     "picture": true | false}        # whether a MIP PNG was stored (Storage.save_picture)

``facts_to_json``/``facts_from_json`` round-trip every field of ``PetStudyFacts`` exactly: datetimes keep
their time zone (or its absence: DICOM times without TimezoneOffsetFromUTC are naive local times), floats are
written as JSON numbers (Python's shortest repr, read back bit for bit), enums by value. Decoding validates
(valid or raise): a malformed or foreign document raises ``PetCodecError`` naming the member, so a corrupted
row gives a clear message instead of a half-built fact.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rules.domain import (
    LesionOrigin,
    LesionSite,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    ReferenceUptake,
    SourceRef,
    Tracer,
)
from rules.errors import RulesError

FORMAT = 1
"""Version of the stored document layout; a document of another format is refused (re-analysed)."""

ANALYSIS_VERSION = "pet-analysis/1"
"""Names the analysis code that produced stored facts (``pet_analysis.analysis_version``); a stored analysis
under another version is claimed again and recomputed (``Storage.claim_analysis``)."""

_T = TypeVar("_T")


class PetCodecError(ValueError):
    """A stored PET analysis document cannot be decoded; the message names the member."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisDocument:
    """One stored analysis: PET facts (None for a series that is not HER2 PET), the analysis JSON and whether
    a picture was stored."""

    facts: PetStudyFacts | None
    analysis: Mapping[str, Any] = field(default_factory=dict)
    picture: bool = False


# -- encoding --------------------------------------------------------------------------------------------


def _dt(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        raise PetCodecError(f"cannot store a non-finite number: {value!r}")
    return float(value)


def source_to_json(source: SourceRef | None) -> dict[str, str] | None:
    """``{"system", "reference"}`` or None."""
    return None if source is None else {"system": source.system, "reference": source.reference}


def lesion_to_json(lesion: PetLesion) -> dict[str, Any]:
    """One lesion: id, site (class, as written, SNOMED CT code), reader's SUVmax, reader call, origin, SUVs
    (g/ml), volume (ml), source."""
    return {
        "id": lesion.lesion_id,
        "site": lesion.site.value,
        "siteText": lesion.site_text,
        "siteCode": lesion.site_code,
        "readerSuvMax": _number(lesion.reader_suv_max),
        "readerCall": lesion.reader_call.value,
        "origin": lesion.origin.value,
        "suvMax": _number(lesion.suv_max),
        "suvPeak": _number(lesion.suv_peak),
        "suvMean": _number(lesion.suv_mean),
        "volumeMl": _number(lesion.volume_ml),
        "source": source_to_json(lesion.source),
    }


def facts_to_json(facts: PetStudyFacts) -> dict[str, Any]:
    """Every field of ``facts`` as JSON-ready values (inverse: :func:`facts_from_json`)."""
    refs = facts.references
    return {
        "study": facts.study,
        "series": facts.series,
        "tracer": facts.tracer.value,
        "injectedAt": _dt(facts.injected_at),
        "acquiredAt": _dt(facts.acquired_at),
        "uptakeHours": _number(facts.uptake_h),
        "lesions": [lesion_to_json(lesion) for lesion in facts.lesions],
        "references": {
            "bloodPoolSuvMean": _number(refs.blood_pool_suvmean),
            "bloodPoolMethod": refs.blood_pool_method,
            "liverSuvMean": _number(refs.liver_suvmean),
            "liverMethod": refs.liver_method,
        },
        "suvAvailable": facts.suv_available,
        "suvbwMax": _number(facts.suvbw_max),
        "caveats": list(facts.caveats),
        "source": source_to_json(facts.source),
    }


def document_to_json(document: AnalysisDocument) -> dict[str, Any]:
    """The stored form of ``document`` (see the module docstring)."""
    return {
        "format": FORMAT,
        "facts": facts_to_json(document.facts) if document.facts is not None else None,
        "analysis": dict(document.analysis),
        "picture": document.picture,
    }


# -- decoding --------------------------------------------------------------------------------------------


def _get(data: Mapping[str, Any], name: str, kind: type[_T] | tuple[type, ...], *, optional: bool) -> Any:
    if not isinstance(data, Mapping):
        raise PetCodecError(f"expected a JSON object around {name!r}")
    value = data.get(name)
    if value is None:
        if optional:
            return None
        raise PetCodecError(f"member {name!r} is missing")
    if isinstance(value, bool) and kind is not bool:
        raise PetCodecError(f"member {name!r} must not be a boolean")
    if not isinstance(value, kind):
        raise PetCodecError(f"member {name!r} has the wrong type ({type(value).__name__})")
    return value


def _opt_str(data: Mapping[str, Any], name: str) -> str | None:
    value: str | None = _get(data, name, str, optional=True)
    return value


def _opt_float(data: Mapping[str, Any], name: str) -> float | None:
    value = _get(data, name, (int, float), optional=True)
    return None if value is None else float(value)


def _opt_dt(data: Mapping[str, Any], name: str) -> dt.datetime | None:
    value = _opt_str(data, name)
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise PetCodecError(f"member {name!r} is not an ISO 8601 datetime: {value!r}") from exc


def _enum(data: Mapping[str, Any], name: str, make: Callable[[str], _T]) -> _T:
    value: str = _get(data, name, str, optional=False)
    try:
        return make(value)
    except ValueError as exc:
        raise PetCodecError(f"member {name!r} has an unknown value {value!r}") from exc


def source_from_json(data: Any) -> SourceRef | None:
    """Inverse of :func:`source_to_json`."""
    if data is None:
        return None
    system = _get(data, "system", str, optional=False)
    reference = _get(data, "reference", str, optional=False)
    try:
        return SourceRef(system=system, reference=reference)
    except RulesError as exc:
        raise PetCodecError(f"invalid source: {exc}") from exc


def lesion_from_json(data: Mapping[str, Any]) -> PetLesion:
    """Inverse of :func:`lesion_to_json`."""
    return PetLesion(
        lesion_id=_get(data, "id", str, optional=False),
        site=_enum(data, "site", LesionSite),
        site_text=_opt_str(data, "siteText"),
        site_code=_opt_str(data, "siteCode"),
        reader_suv_max=_opt_float(data, "readerSuvMax"),
        reader_call=_enum(data, "readerCall", ReaderCall),
        origin=_enum(data, "origin", LesionOrigin),
        suv_max=_opt_float(data, "suvMax"),
        suv_peak=_opt_float(data, "suvPeak"),
        suv_mean=_opt_float(data, "suvMean"),
        volume_ml=_opt_float(data, "volumeMl"),
        source=source_from_json(data.get("source")),
    )


def facts_from_json(data: Mapping[str, Any]) -> PetStudyFacts:
    """Inverse of :func:`facts_to_json`; ``PetCodecError`` for anything malformed."""
    refs = _get(data, "references", Mapping, optional=True) or {}
    lesions = _get(data, "lesions", list, optional=True) or []
    caveats = _get(data, "caveats", list, optional=True) or []
    if not all(isinstance(c, str) for c in caveats):
        raise PetCodecError("member 'caveats' must be a list of strings")
    suv_available = data.get("suvAvailable", False)
    if not isinstance(suv_available, bool):
        raise PetCodecError("member 'suvAvailable' must be true or false")
    return PetStudyFacts(
        study=_get(data, "study", str, optional=False),
        series=_get(data, "series", str, optional=False),
        tracer=_enum(data, "tracer", Tracer),
        injected_at=_opt_dt(data, "injectedAt"),
        acquired_at=_opt_dt(data, "acquiredAt"),
        uptake_h=_opt_float(data, "uptakeHours"),
        lesions=tuple(lesion_from_json(item) for item in lesions),
        references=ReferenceUptake(
            blood_pool_suvmean=_opt_float(refs, "bloodPoolSuvMean"),
            blood_pool_method=_opt_str(refs, "bloodPoolMethod"),
            liver_suvmean=_opt_float(refs, "liverSuvMean"),
            liver_method=_opt_str(refs, "liverMethod"),
        ),
        suv_available=suv_available,
        suvbw_max=_opt_float(data, "suvbwMax"),
        caveats=tuple(caveats),
        source=source_from_json(data.get("source")),
    )


def document_from_json(data: Mapping[str, Any]) -> AnalysisDocument:
    """Inverse of :func:`document_to_json`; ``PetCodecError`` for another format or malformed content."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise PetCodecError(f"not a stored PET analysis of format {FORMAT}")
    facts = data.get("facts")
    analysis = _get(data, "analysis", Mapping, optional=True) or {}
    picture = data.get("picture", False)
    if not isinstance(picture, bool):
        raise PetCodecError("member 'picture' must be true or false")
    return AnalysisDocument(
        facts=facts_from_json(facts) if facts is not None else None,
        analysis=dict(analysis),
        picture=picture,
    )
