"""Pure helpers that read values out of parsed FHIR R4B resources.

Every function here takes ``fhir.resources.R4B`` model objects (or None) and returns plain Python
values; nothing raises on missing elements. Element names are FHIR R4 (``valueCodeableConcept``,
``effectiveDateTime``, ``collection.collectedDateTime``; FHIR R4 §Observation, §Specimen).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from connectors.fhir.codes import ANSWER_CODES, INTERPRETATION_CODES, SNOMED, Answer
from connectors.fhir.narrative_text import normalise
from rules.domain import IhcScore, IhcZeroSubtype, SpecimenRef, SpecimenSite

_NUMBER = re.compile(r"(?<![^\W\d_]|[\d.])[-+]?\d+(?:\.\d+)?")
_IHC_TEXT = re.compile(r"(?<![\w.])([0-3])\s*(\+)?(?![\d.%])")
_IHC_RANGE = re.compile(r"(?<![\d.])([0-3])\+?\s*(?:-|–|to)\s*([1-3])\+")
_ULTRALOW = re.compile(
    r"ultra-?low|\b0\+|>\s*0\s*(?:%\s*)?(?:and\s*)?<\s*1\+|with membrane staining|faint[^.;]*incomplete",
    re.IGNORECASE,
)
_NULL = re.compile(r"\bno (?:membrane )?staining|\bnull\b|\babsent\b|without (?:membrane )?staining", re.I)
_GROUP = re.compile(r"\bgroup\s*([1-5])\b", re.IGNORECASE)
_RECOUNT = re.compile(r"recount[^.;]*?\b(confirm\w*|chang\w*|differ\w*)", re.IGNORECASE)
_ASSAYS = re.compile(r"\b(4B5|CB11|HercepTest|A0485|SP3|PATHWAY)\b", re.IGNORECASE)
_POSITIVE = re.compile(r"\b(positive|amplified|present|detected)\b", re.IGNORECASE)
_NEGATIVE = re.compile(
    r"\b(negative|not amplified|non[-\s]?amplified|unamplified|no amplification|absent|not detected"
    r"|not present)\b",
    re.IGNORECASE,
)
_EQUIVOCAL = re.compile(r"\bequivocal\b", re.IGNORECASE)
_INDETERMINATE = re.compile(r"\b(indeterminate|inconclusive|technical failure|failed)\b", re.I)
_METASTASIS_SITE = re.compile(
    r"metasta|\bliver|hepat|\bbone|osseous|\blung|pulmon|\bbrain|pleura|peritone|ascites|adrenal|ovar",
    re.IGNORECASE,
)
_BREAST_SITE = re.compile(r"breast|mammary", re.IGNORECASE)
#: SNOMED CT body structures for the breast: breast, left breast, right breast.
_BREAST_SNOMED = frozenset({"76752008", "80248007", "73056007"})


def reference_id(reference: Any, resource_type: str | None = None) -> str | None:
    """The ``id`` of a literal reference (``"Specimen/abc"``, an absolute URL, ``…/_history/2``).

    Returns None for contained (``#x``) or logical-only references, or when the type does not match.
    """
    parts = _reference_parts(reference)
    if parts is None or len(parts) < 2:
        return None
    if resource_type is not None and parts[-2] != resource_type:
        return None
    return parts[-1] or None


def typed_reference(reference: Any) -> str | None:
    """``Type/id`` of a literal reference, or None."""
    parts = _reference_parts(reference)
    return f"{parts[-2]}/{parts[-1]}" if parts is not None and len(parts) >= 2 and parts[-1] else None


def _reference_parts(reference: Any) -> list[str] | None:
    """The path segments of a literal reference up to any ``_history``; None for contained or absent ones."""
    ref = getattr(reference, "reference", None)
    if not isinstance(ref, str) or ref.startswith("#"):
        return None
    parts = ref.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts


def codings(concept: Any) -> Iterator[tuple[str, str, str]]:
    """``(system, code, display)`` of each coding of a CodeableConcept (empty strings where absent)."""
    for coding in getattr(concept, "coding", None) or ():
        yield (coding.system or "", coding.code or "", coding.display or "")


def concept_text(concept: Any) -> str:
    """All human-readable text of a CodeableConcept: ``text`` plus each coding's ``display``."""
    if concept is None:
        return ""
    parts = [getattr(concept, "text", None) or ""]
    parts.extend(display for _s, _c, display in codings(concept))
    return " ".join(p for p in parts if p)


def notes_text(notes: Iterable[Any] | None) -> str:
    """The text of a list of Annotations (``note``)."""
    return " ".join(n.text for n in notes or () if getattr(n, "text", None))


def to_date(value: Any) -> dt.date | None:
    """A date from a FHIR date/dateTime/instant (model value or string; partial dates → first day)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value)
        if match:
            try:
                return dt.date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
            except ValueError:
                return None
    return None


def to_sort_key(value: Any) -> str:
    """A sortable ISO string for a date/dateTime/instant ('' when absent)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return str(value.strftime("%Y-%m-%dT%H:%M:%S"))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else ""


def flat_text(text: str) -> str:
    """A short value text in the one spelling the readers match: the narrative's normalisation (signs,
    decimal commas, spoken numbers, report languages) on one line with single spaces, so that
    ``"Not\tamplified"`` or ``"ratio 2,3"`` read as ``"Not amplified"`` and ``2.3``."""
    return " ".join(normalise(text).split())


def coded_answer(concept: Any) -> Answer | None:
    """The first recognised answer code of a CodeableConcept (LOINC LA…, SNOMED CT qualifiers)."""
    for system, code, _display in codings(concept):
        answer = ANSWER_CODES.get((system, code))
        if answer is not None:
            return answer
    return None


def interpretation_answer(interpretations: Iterable[Any] | None) -> Answer | None:
    """A presence answer from ``Observation.interpretation`` (v3 POS/NEG/IND)."""
    for concept in interpretations or ():
        for _system, code, _display in codings(concept):
            if code in INTERPRETATION_CODES:
                return INTERPRETATION_CODES[code]
    return None


def text_answer(text: str) -> Answer | None:
    """A presence answer read from free text; negative wins over positive ('not amplified')."""
    text = flat_text(text)
    if _INDETERMINATE.search(text):
        return Answer.INDETERMINATE
    if _EQUIVOCAL.search(text):
        return Answer.EQUIVOCAL
    if _NEGATIVE.search(text):
        return Answer.NEGATIVE
    if _POSITIVE.search(text):
        return Answer.POSITIVE
    return None


def ihc_score_from_text(text: str) -> IhcScore | None:
    """An IHC score stated in short text (``"2+ (Equivocal)"``, ``"Score 1+"``, ``"0"``); None if absent."""
    text = flat_text(text)
    match = _IHC_TEXT.search(text)
    if match is None:
        return None
    digit, plus = match.group(1), match.group(2)
    if digit != "0" and not plus:
        return None
    return {"0": IhcScore.ZERO, "1": IhcScore.ONE_PLUS, "2": IhcScore.TWO_PLUS, "3": IhcScore.THREE_PLUS}[
        digit
    ]


def ihc_range_from_text(text: str) -> tuple[IhcScore, IhcScore] | None:
    """A score range such as ``"0-1+"`` or ``"1–2+"`` (ASCO/CAP: needs review)."""
    text = flat_text(text)
    match = _IHC_RANGE.search(text)
    if match is None:
        return None
    scores = {"0": IhcScore.ZERO, "1": IhcScore.ONE_PLUS, "2": IhcScore.TWO_PLUS, "3": IhcScore.THREE_PLUS}
    low, high = scores[match.group(1)], scores[match.group(2)]
    return (low, high) if low != high else None


def zero_subtype_from_text(text: str) -> IhcZeroSubtype:
    """For IHC 0: ultralow when membrane staining is stated, null when its absence is stated (spec §8)."""
    text = flat_text(text)
    if _ULTRALOW.search(text):
        return IhcZeroSubtype.ULTRALOW
    if _NULL.search(text):
        return IhcZeroSubtype.NULL
    return IhcZeroSubtype.UNSPECIFIED


def assay_from_text(text: str) -> str | None:
    """The antibody clone or kit named in a method text (``4B5``, ``HercepTest``, ``CB11``…)."""
    text = flat_text(text)
    match = _ASSAYS.search(text)
    if match is None:
        return None
    found = match.group(1)
    return "4B5" if found.upper() == "PATHWAY" else found


def ish_group_from_text(text: str) -> int | None:
    """An ASCO/CAP dual-probe ISH group 1–5 stated in text (``"ISH group 3"``)."""
    text = flat_text(text)
    match = _GROUP.search(text)
    return int(match.group(1)) if match else None


def recount_from_text(text: str) -> bool | None:
    """True when a recount confirmed the group, False when it changed it, None when not stated."""
    text = flat_text(text)
    match = _RECOUNT.search(text)
    if match is None:
        return None
    return match.group(1).lower().startswith("confirm")


def number_from_text(text: str) -> float | None:
    """The first decimal number in a string (``"6.8"``, ``"ratio 1.30"``, ``"HER2/CEP17 1,85"``); digits
    that end a word (``HER2``, ``CEP17``) are part of a name, not a number."""
    text = flat_text(text)
    match = _NUMBER.search(text)
    return float(match.group(0)) if match else None


def percent_from_text(text: str) -> float | None:
    """A percentage written as ``"80%"`` / ``"80 % of tumor nuclei"``; ``"<1%"`` reads as 0."""
    text = flat_text(text)
    if re.search(r"<\s*1\s*%", text):
        return 0.0
    match = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0.0 <= value <= 100.0 else None


def specimen_site(texts: Iterable[str], body_site: Any) -> SpecimenSite:
    """Primary (breast) or metastasis, from Specimen type, body site and notes; unknown otherwise."""
    joined = " ".join(texts)
    if _METASTASIS_SITE.search(joined):
        return SpecimenSite.METASTASIS
    if any(s == SNOMED and c in _BREAST_SNOMED for s, c, _d in codings(body_site)):
        return SpecimenSite.PRIMARY
    if _BREAST_SITE.search(joined):
        return SpecimenSite.PRIMARY
    return SpecimenSite.UNKNOWN


def snomed_site_code(concept: Any) -> str | None:
    """The SNOMED CT concept id of a coded body site (first coding with system ``http://snomed.info/sct``)."""
    return next((code for system, code, _d in codings(concept) if system == SNOMED and code), None)


#: A specimen type text opening with its part label: "A: Left breast", "Part B - sentinel node", "2) Node".
_PART_RE: Final = re.compile(r"\s*(?:part\s+|specimen\s+)?([A-Za-z]|\d{1,2})\s*[:.)\-–]\s+\S", re.IGNORECASE)


def specimen_ref(specimen: Any, fallback_id: str | None, fallback_date: dt.date | None) -> SpecimenRef:
    """A :class:`SpecimenRef` from a FHIR Specimen (collection date, site, description, SNOMED CT body site).

    Without the Specimen resource, only its id (from the reference) and the Observation's effective date
    (FHIR: for specimen-based tests, the collection time) are known.
    """
    if specimen is None:
        return SpecimenRef(id=fallback_id, collected=fallback_date)
    collection = getattr(specimen, "collection", None)
    body_site = getattr(collection, "bodySite", None)
    collected = to_date(getattr(collection, "collectedDateTime", None))
    period = getattr(collection, "collectedPeriod", None)
    if collected is None and period is not None:
        collected = to_date(period.start)
    texts = [concept_text(getattr(specimen, "type", None)), concept_text(body_site)]
    texts.append(notes_text(getattr(specimen, "note", None)))
    accession = getattr(getattr(specimen, "accessionIdentifier", None), "value", None)
    description = concept_text(body_site) or concept_text(getattr(specimen, "type", None)) or None
    # The parts of one accession ("A: Left breast, lumpectomy", "B: Left axillary sentinel node") are
    # separate specimens of one date; they are named as the report text names its parts.
    part = _PART_RE.match(concept_text(getattr(specimen, "type", None)) or "")
    if accession and part:
        accession = f"{accession} part {part.group(1).upper()}"
    return SpecimenRef(
        id=accession or specimen.id or fallback_id,
        collected=collected or fallback_date,
        site=specimen_site(texts, body_site),
        description=description,
        site_code=snomed_site_code(body_site),
    )
