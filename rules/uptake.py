"""The HER2 PET uptake call: which lesions are avid, who called them, and how far to trust the study.

Policy (spec/clinical-logic.md §13, ``parameters.AVID_DEFINITION``):

1. **The reader's call comes first.** A lesion is avid when the reader called it avid (uptake visibly above
   local background and not explained by physiological or blood-pool activity; ZEPHIR classes 3–4), whatever
   tool first outlined it; non-avid when the reader called it non-avid.
2. **Automated candidates are never avid on their own**: without a reader call they are counted as
   unconfirmed. Segmented (SEG) lesions without a reader call are not avid either.
3. **Optional, labelled threshold.** When ``parameters.SUVMAX_THRESHOLDS`` holds an entry for the tracer
   (empty by default: off), lesions that a person outlined (reader SR or SEG) but did not call, that are
   non-hepatic (an unknown site is not assumed non-hepatic) and have an SUVmax, are called avid at SUVmax ≥
   threshold and non-avid below it. Every such call is labelled as threshold-based in the evidence. The only
   published value (89Zr-trastuzumab 3.2, non-hepatic, 5±2 d; Dehdashti 2018) is not validated for other
   tracers, and thresholds are never pooled across tracers.
4. **Hepatic lesions**: an avid lesion in the liver sets ``hepatic_avid`` (modifier (i): the liver is the
   clearance organ of antibody tracers, background is high, and lesion-level calls did not discriminate there,
   p = 0.42).
5. **Uptake window**: the injection-to-acquisition time is compared with ``parameters.UPTAKE_WINDOWS_H``
   (bounds inclusive); a tracer without an entry gives ``within_uptake_window`` None.

Reference regions (blood pool and liver SUVmean) are recorded, and the tumour-to-blood-pool ratio of
non-hepatic avid lesions is reported, never decisive (§13 ``REFERENCE_REGIONS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rules import parameters
from rules.domain import (
    Evidence,
    LesionOrigin,
    LesionSite,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    TherapyExposure,
    Tracer,
    UptakeAssessment,
)
from rules.pairing import pet_date, recent_anti_her2

SUV_UNIT = "g/ml"
"""Body-weight SUV unit (PetLesion SUVs are SUVbw unless the series says otherwise)."""

CALLED_BY: Mapping[LesionOrigin, str] = {
    LesionOrigin.READER_SR: "reader SR",
    LesionOrigin.SEG: "segmentation",
    LesionOrigin.AUTOMATED: "automated candidate",
}
"""How each lesion origin is named in evidence lines."""

RULE_READER = "reader call (AVID_DEFINITION = reader; spec/clinical-logic.md §13)"
RULE_THRESHOLD = "SUVmax threshold (SUVMAX_THRESHOLDS; labelled, not a reader call; Dehdashti 2018)"
RULE_UNCONFIRMED = "no reader call: not avid (automated and segmented lesions never avid on their own)"


def uptake_hours(pet: PetStudyFacts) -> float | None:
    """Injection-to-acquisition time in hours: ``pet.uptake_h``, else computed from the two datetimes when
    both are known and comparable (both naive or both timezone-aware); None otherwise."""
    if pet.uptake_h is not None:
        return pet.uptake_h
    if pet.injected_at is None or pet.acquired_at is None:
        return None
    if (pet.injected_at.tzinfo is None) != (pet.acquired_at.tzinfo is None):
        return None
    return (pet.acquired_at - pet.injected_at).total_seconds() / 3600.0


def within_uptake_window(tracer: Tracer, hours: float | None) -> bool | None:
    """Whether ``hours`` lies within the tracer's usual window, bounds inclusive.

    None when the tracer has no window in ``parameters.UPTAKE_WINDOWS_H`` or the time is unknown or negative.
    """
    window = parameters.UPTAKE_WINDOWS_H.get(tracer)
    if window is None or hours is None or hours < 0:
        return None
    low, high = window
    return low <= hours <= high


def _threshold_applies(lesion: PetLesion) -> bool:
    """Whether a threshold may call ``lesion``: outlined by a person, uncalled, non-hepatic, with SUVmax."""
    return (
        lesion.reader_call is ReaderCall.NOT_ASSESSED
        and lesion.origin is not LesionOrigin.AUTOMATED
        and lesion.site is LesionSite.NON_HEPATIC
        and lesion.suv_max is not None
    )


def _suv_text(lesion: PetLesion) -> str:
    parts = []
    if lesion.suv_max is not None:
        parts.append(f"SUVmax {lesion.suv_max:.1f}")
    if lesion.suv_peak is not None:
        parts.append(f"SUVpeak {lesion.suv_peak:.1f}")
    return ", ".join(parts) if parts else "no SUV"


def _lesion_evidence(lesion: PetLesion, call: str, called_by: str, rule: str) -> Evidence:
    site = lesion.site_text or str(lesion.site).replace("_", "-")
    return Evidence(
        statement=f"Lesion {lesion.lesion_id} ({site}): {call}, called by {called_by}; {_suv_text(lesion)}",
        value=lesion.suv_max,
        unit=SUV_UNIT if lesion.suv_max is not None else None,
        source=lesion.source,
        rule=rule,
    )


def _reference_evidence(pet: PetStudyFacts) -> list[Evidence]:
    refs = pet.references
    lines = []
    for name, value, method in (
        ("Blood-pool", refs.blood_pool_suvmean, refs.blood_pool_method),
        ("Liver", refs.liver_suvmean, refs.liver_method),
    ):
        if value is None:
            lines.append(Evidence(statement=f"{name} reference SUVmean not recorded", source=pet.source))
        else:
            how = f" ({method})" if method else ""
            lines.append(
                Evidence(
                    statement=f"{name} reference SUVmean {value:.1f}{how}",
                    value=value,
                    unit=SUV_UNIT,
                    source=pet.source,
                    rule="reference regions (spec/clinical-logic.md §13 REFERENCE_REGIONS)",
                )
            )
    return lines


def _tbr_evidence(lesion: PetLesion, blood_pool: float | None) -> Evidence | None:
    if lesion.site is not LesionSite.NON_HEPATIC or lesion.suv_max is None or not blood_pool:
        return None
    ratio = lesion.suv_max / blood_pool
    return Evidence(
        statement=f"Lesion {lesion.lesion_id}: tumour-to-blood-pool ratio {ratio:.1f} (not decisive)",
        value=round(ratio, 2),
        source=lesion.source,
        rule="TBR against blood pool for non-hepatic lesions (spec/clinical-logic.md §13)",
    )


def _window_lines(pet: PetStudyFacts) -> tuple[bool | None, list[Evidence], list[str]]:
    hours = uptake_hours(pet)
    window = parameters.UPTAKE_WINDOWS_H.get(pet.tracer)
    inside = within_uptake_window(pet.tracer, hours)
    evidence: list[Evidence] = []
    caveats: list[str] = []
    if hours is None:
        caveats.append("Uptake time after injection unknown: the uptake window cannot be checked")
    elif hours < 0:
        caveats.append("Acquisition precedes injection: check the PET injection and acquisition times")
    else:
        evidence.append(
            Evidence(
                statement=f"{pet.tracer} PET acquired {hours:.1f} h after injection",
                value=round(hours, 2),
                unit="h",
                source=pet.source,
            )
        )
    if window is None:
        caveats.append(f"No usual uptake window is defined for {pet.tracer}")
    elif inside is False:
        caveats.append(
            f"Uptake time outside the usual {window[0]:g}–{window[1]:g} h window for {pet.tracer}:"
            " quantitative values are not comparable with published data"
        )
    return inside, evidence, caveats


def assess_uptake(
    pet: PetStudyFacts,
    *,
    therapies: Sequence[TherapyExposure] = (),
    thresholds: Mapping[Tracer, float] | None = None,
) -> UptakeAssessment:
    """Make the uptake call for one HER2 PET series (policy in the module docstring).

    ``therapies`` adds a caveat when an anti-HER2 antibody was given within ``RECENT_ANTI_HER2_DAYS`` before
    the PET. ``thresholds`` overrides ``parameters.SUVMAX_THRESHOLDS`` (tests; a site never configures it at
    run time). ``lesions_read`` is true when at least one lesion carries a call (reader, or a labelled
    threshold call): an analysis with only uncalled candidates, or no lesions at all, is not a read study.
    """
    table = parameters.SUVMAX_THRESHOLDS if thresholds is None else thresholds
    threshold = table.get(pet.tracer)
    avid: list[PetLesion] = []
    evidence: list[Evidence] = []
    caveats: list[str] = list(pet.caveats)
    called = 0
    unconfirmed = 0
    for lesion in pet.lesions:
        if lesion.reader_call is not ReaderCall.NOT_ASSESSED:
            called += 1
            is_avid = lesion.reader_call is ReaderCall.AVID
            who = "reader"
            if lesion.origin is not LesionOrigin.READER_SR:
                who = f"reader ({CALLED_BY[lesion.origin]})"
            evidence.append(_lesion_evidence(lesion, "avid" if is_avid else "non-avid", who, RULE_READER))
        elif threshold is not None and _threshold_applies(lesion):
            called += 1
            is_avid = lesion.suv_max is not None and lesion.suv_max >= threshold
            verdict = "avid" if is_avid else "non-avid"
            call = f"{verdict} by SUVmax threshold {threshold:g} (not a reader call)"
            evidence.append(_lesion_evidence(lesion, call, CALLED_BY[lesion.origin], RULE_THRESHOLD))
        else:
            unconfirmed += 1
            is_avid = False
            origin = CALLED_BY[lesion.origin]
            evidence.append(_lesion_evidence(lesion, "unconfirmed, no reader call", origin, RULE_UNCONFIRMED))
        if is_avid:
            avid.append(lesion)
            tbr = _tbr_evidence(lesion, pet.references.blood_pool_suvmean)
            if tbr is not None:
                evidence.append(tbr)
    evidence.extend(_reference_evidence(pet))
    inside, window_evidence, window_caveats = _window_lines(pet)
    evidence.extend(window_evidence)
    caveats.extend(window_caveats)
    caveats.extend(_call_caveats(pet, threshold, unconfirmed, called))
    hepatic = any(lesion.site is LesionSite.HEPATIC for lesion in avid)
    if hepatic:
        caveats.append("Avid lesion in the liver, where background uptake is high: confirm visually")
    recent = recent_anti_her2(pet_date(pet), therapies)
    if recent is not None:
        caveats.append(
            f"Anti-HER2 antibody given {recent.days_before_pet} day(s) before the HER2 PET:"
            " tracer uptake may be altered"
        )
    return UptakeAssessment(
        lesions_read=called > 0,
        any_avid=bool(avid),
        avid_lesions=tuple(avid),
        hepatic_avid=hepatic,
        unconfirmed_candidates=unconfirmed,
        within_uptake_window=inside,
        evidence=tuple(evidence),
        caveats=tuple(caveats),
    )


def _call_caveats(pet: PetStudyFacts, threshold: float | None, unconfirmed: int, called: int) -> list[str]:
    caveats = []
    if unconfirmed:
        caveats.append(f"{unconfirmed} lesion candidate(s) without a reader call: not counted as avid")
    if called == 0:
        caveats.append("No reader call on this HER2 PET study: PET findings are not used for the card")
    if threshold is not None:
        caveats.append(
            f"SUVmax threshold {threshold:g} for {pet.tracer} applied to uncalled non-hepatic lesions"
            " (labelled; not validated across tracers)"
        )
    if not pet.suv_available:
        caveats.append("SUV not computable for this series: reader calls are shown without SUV values")
    return caveats
