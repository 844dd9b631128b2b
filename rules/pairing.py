"""Pairing a HER2 PET study with HER2 pathology: interval, site match, recent anti-HER2 antibody.

The only published paired series (Yeh et al., J Nucl Med 2025;66:873) included PET and biopsy "within 2
months"; ``parameters.PAIRING_WINDOW_DAYS`` (60) encodes it, and a larger gap adds card (h)
(spec/clinical-logic.md §14 step 7). An anti-HER2 antibody given shortly before an antibody-tracer PET changes
the tracer's kinetics (Dijkers: mass dose depends on therapy status; Mortimer 2014: a cold pre-dose lowers
liver uptake); ``parameters.RECENT_ANTI_HER2_DAYS`` sets the window for modifier (j).

Dates are calendar dates: the PET date is the acquisition date, the pathology date the specimen collection
date. A timezone-aware acquisition datetime is taken in its own timezone (the scanner's local date), never
converted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from rules import parameters
from rules.domain import (
    DrugClass,
    LesionSite,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    RecentAntiHer2,
    SiteComparison,
    SiteConcordance,
    SpecimenRef,
    SpecimenSite,
    StrEnum,
    TherapyExposure,
)


def as_date(value: dt.date | dt.datetime | None) -> dt.date | None:
    """The calendar date of ``value`` (a datetime keeps its own timezone's date); None stays None."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def pet_date(pet: PetStudyFacts | None) -> dt.date | None:
    """The PET acquisition date, or None when the study or its acquisition time is unknown."""
    if pet is None:
        return None
    return as_date(pet.acquired_at)


def pairing_gap_days(
    pet_date: dt.date | dt.datetime | None, specimen_date: dt.date | dt.datetime | None
) -> int | None:
    """Absolute number of days between PET acquisition and specimen collection; None when either date is
    unknown.

    The order does not matter (a biopsy after the PET pairs as well as one before it): spec/clinical-logic.md
    §14 step 7 compares ``|PET − specimen|``.
    """
    pet_day, specimen_day = as_date(pet_date), as_date(specimen_date)
    if pet_day is None or specimen_day is None:
        return None
    return abs((pet_day - specimen_day).days)


def within_pairing_window(
    pet_date: dt.date | dt.datetime | None,
    specimen_date: dt.date | dt.datetime | None,
    *,
    window_days: int = parameters.PAIRING_WINDOW_DAYS,
) -> bool | None:
    """Whether the gap is at most ``window_days`` (inclusive: exactly 60 days is within).

    None when either date is missing.
    """
    gap = pairing_gap_days(pet_date, specimen_date)
    if gap is None:
        return None
    return gap <= window_days


# ------------------------------------------------------------------------------------------------------------
# Recent anti-HER2 antibody (modifier j)


def _last_exposure_day(therapy: TherapyExposure, pet_day: dt.date) -> dt.date | None:
    """The last day of ``therapy`` known to fall on or before ``pet_day``; None when it started after the PET
    or has no dates.

    ``end`` None follows FHIR ``Period`` semantics: an ongoing exposure lasts up to the PET day. A course the
    source records as over (``ended``) lasts until its ``end``; when that day is not recorded, the only day
    known to carry exposure is its ``start``. A single administration carries ``end == start``.
    """
    start = therapy.start
    end = therapy.end
    if start is None and end is None:
        return None
    if start is not None and start > pet_day:
        return None
    if end is None and therapy.ended:
        return start
    if end is None or end >= pet_day:
        return pet_day
    return end


def ended_course_undated(
    pet_date: dt.date | dt.datetime | None,
    therapies: Sequence[TherapyExposure],
    *,
    window_days: int = parameters.RECENT_ANTI_HER2_DAYS,
) -> tuple[TherapyExposure, ...]:
    """Anti-HER2 courses recorded as over without an end date that started before the window and may have
    reached into it: whether they did cannot be told, so modifier (j) is not raised for them (an evidence line
    names them instead)."""
    pet_day = as_date(pet_date)
    if pet_day is None:
        return ()
    return tuple(
        t
        for t in therapies
        if t.drug_class is DrugClass.ANTI_HER2
        and t.ended
        and t.end is None
        and t.start is not None
        and (pet_day - t.start).days > window_days
    )


def recent_anti_her2(
    pet_date: dt.date | dt.datetime | None,
    therapies: Sequence[TherapyExposure],
    *,
    window_days: int = parameters.RECENT_ANTI_HER2_DAYS,
) -> RecentAntiHer2 | None:
    """The most recent anti-HER2 antibody exposure within ``window_days`` before the PET (inclusive), if any.

    An exposure counts when its last day on or before the PET lies at most ``window_days`` days before the PET
    acquisition date (exactly 21 days counts; 22 does not). Exposures that start after the PET, or have no
    dates, never count. Returns None when the PET date is unknown.
    """
    pet_day = as_date(pet_date)
    if pet_day is None:
        return None
    best: RecentAntiHer2 | None = None
    for therapy in therapies:
        if therapy.drug_class is not DrugClass.ANTI_HER2:
            continue
        last = _last_exposure_day(therapy, pet_day)
        if last is None:
            continue
        days = (pet_day - last).days
        if days <= window_days and (best is None or days < best.days_before_pet):
            best = RecentAntiHer2(therapy=therapy, days_before_pet=days)
    return best


# ------------------------------------------------------------------------------------------------------------
# Site match (best effort)


class SiteMatch(StrEnum):
    """Whether the biopsied site is the site of an avid PET lesion (shown with card (h); never decisive)."""

    MATCH = "match"
    NO_MATCH = "no_match"
    UNKNOWN = "unknown"


ORGAN_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("liver", r"liver|hepat\w*"),
    ("bone", r"bone|osseous|skelet\w*|vertebra\w*|spine|spinal|rib|sacr\w*|iliac|femur|femoral|humer\w*"),
    ("lymph node", r"lymph\w*|nodes?|nodal|axilla\w*|supraclavicular|mediastin\w*"),
    ("lung", r"lung|pulmonary"),
    ("pleura", r"pleura\w*"),
    ("brain", r"brain|cerebr\w*|cerebell\w*"),
    ("breast", r"breast|mammary"),
    ("skin or chest wall", r"skin|cutaneous|subcutaneous|chest wall"),
    ("adrenal", r"adrenal"),
    ("ovary", r"ovar\w*"),
    ("peritoneum", r"periton\w*|omentum|omental"),
)
"""Organ vocabulary for the best-effort site match: (organ, regular expression on lower-case free text).

Specimen and lesion sites are usually free text; both are mapped to these organs by whole-word matching. The
list is deliberately small: an unmapped site gives ``SiteMatch.UNKNOWN``, never a guess.
"""

_ORGAN_PATTERNS = tuple((organ, re.compile(rf"\b(?:{pattern})\b")) for organ, pattern in ORGAN_KEYWORDS)


def organs_in(text: str | None) -> frozenset[str]:
    """Organs of ``ORGAN_KEYWORDS`` named in ``text`` (case-insensitive, whole words)."""
    if not text:
        return frozenset()
    lowered = text.lower()
    return frozenset(organ for organ, pattern in _ORGAN_PATTERNS if pattern.search(lowered))


def _specimen_organs(specimen: SpecimenRef) -> frozenset[str]:
    organs = organs_in(specimen.description)
    if not organs and specimen.site is SpecimenSite.PRIMARY:
        return frozenset({"breast"})
    return organs


def _lesion_organs(lesion: PetLesion) -> frozenset[str]:
    organs = organs_in(lesion.site_text)
    if lesion.site is LesionSite.HEPATIC:
        return organs | {"liver"}
    return organs


def _known_organs(lesion: PetLesion, specimen_organs: frozenset[str]) -> frozenset[str] | None:
    """The lesion's organs, or None when its site says nothing usable for this comparison (a non-hepatic
    lesion is known not to be the liver)."""
    organs = _lesion_organs(lesion)
    if organs:
        return organs
    if lesion.site is LesionSite.NON_HEPATIC and specimen_organs == {"liver"}:
        return frozenset({"outside the liver"})
    return None


NOT_CODED = "site not coded"
"""How an avid lesion without a usable site is named in ``SiteComparison.avid_sites``."""


def compare_sites(
    lesions: Sequence[PetLesion], avid_lesions: Sequence[PetLesion], specimen: SpecimenRef
) -> SiteComparison:
    """Whether the biopsied site is an avid lesion, a lesion read not avid, or none of the lesions read.

    ``lesions`` are all lesions of the PET study, ``avid_lesions`` those the uptake call counts as avid
    (reader call, or a labelled threshold). Organ level, like :func:`site_match`: the specimen's organ comes
    from its description (or "breast" for a primary-tumour specimen without one), each lesion's from its site
    text and hepatic flag. Whenever a lesion that could be the biopsied one has no usable site, the outcome is
    ``UNKNOWN``: "concordant" is never claimed for a pairing that cannot be shown (spec/clinical-logic.md
    §15).
    """
    specimen_organs = _specimen_organs(specimen)
    avid_ids = {lesion.lesion_id for lesion in avid_lesions}
    avid_known = [_known_organs(lesion, specimen_organs) for lesion in avid_lesions]
    avid_sites = tuple(", ".join(sorted(o)) if o else NOT_CODED for o in avid_known)
    biopsied = ", ".join(sorted(specimen_organs)) if specimen_organs else None

    def result(outcome: SiteConcordance, explanation: str) -> SiteComparison:
        return SiteComparison(
            outcome=outcome, biopsied=biopsied, avid_sites=avid_sites, explanation=explanation
        )

    if not specimen_organs:
        return result(SiteConcordance.UNKNOWN, "biopsied site not coded")
    for lesion, organs in zip(avid_lesions, avid_known, strict=True):
        if organs and organs & specimen_organs:
            return result(
                SiteConcordance.BIOPSIED_AVID, f"biopsied site ({biopsied}) is avid lesion {lesion.lesion_id}"
            )
    if any(organs is None for organs in avid_known):
        return result(SiteConcordance.UNKNOWN, "avid lesion sites not all coded")
    read = [
        lesion
        for lesion in lesions
        if lesion.reader_call is ReaderCall.NON_AVID and lesion.lesion_id not in avid_ids
    ]
    read_known = [_known_organs(lesion, specimen_organs) for lesion in read]
    for lesion, organs in zip(read, read_known, strict=True):
        if organs and organs & specimen_organs:
            return result(
                SiteConcordance.BIOPSIED_NON_AVID,
                f"biopsied site ({biopsied}) is lesion {lesion.lesion_id}, read not avid",
            )
    if any(organs is None for organs in read_known):
        return result(SiteConcordance.UNKNOWN, "sites of the lesions read not all coded")
    if not avid_lesions and not read:
        return result(SiteConcordance.UNKNOWN, "no lesion read on the HER2 PET")
    return result(SiteConcordance.NOT_AMONG_READ, f"biopsied site ({biopsied}) is not among the lesions read")


def site_match(avid_lesions: Sequence[PetLesion], specimen: SpecimenRef) -> tuple[SiteMatch, str]:
    """Best-effort match of the biopsied site against the avid lesions, with a one-line explanation.

    The specimen's organ comes from its description (or "breast" for a primary-tumour specimen without one);
    each lesion's organ from its site text and its hepatic flag. MATCH when any avid lesion shares an organ
    with the specimen; NO_MATCH when every avid lesion's organ is known (a non-hepatic lesion is known not to
    be liver) and none is the specimen's; UNKNOWN otherwise, including when there is no avid lesion or the
    specimen site is not coded. Organ-level only: two lesions in the same organ are not told apart.
    """
    specimen_organs = _specimen_organs(specimen)
    if not avid_lesions:
        return SiteMatch.UNKNOWN, "no avid lesion to compare with the biopsied site"
    if not specimen_organs:
        return SiteMatch.UNKNOWN, "biopsied site not coded"
    all_known = True
    for lesion in avid_lesions:
        organs = _lesion_organs(lesion)
        if organs & specimen_organs:
            organ = sorted(organs & specimen_organs)[0]
            return SiteMatch.MATCH, f"biopsied site ({organ}) matches avid lesion {lesion.lesion_id}"
        known_not_liver = lesion.site is LesionSite.NON_HEPATIC and specimen_organs == {"liver"}
        if not organs and not known_not_liver:
            all_known = False
    specimen_text = ", ".join(sorted(specimen_organs))
    if all_known:
        return SiteMatch.NO_MATCH, f"biopsied site ({specimen_text}) is not the site of an avid lesion"
    return SiteMatch.UNKNOWN, f"biopsied site ({specimen_text}); avid lesion sites not all coded"
