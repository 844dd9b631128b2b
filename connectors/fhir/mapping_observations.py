"""Pure mapping of coded pathology Observations to HER2 and ER/PR domain objects.

Each Observation is first read into an :class:`ObsReading` (what it measures, its normalised answer,
number and text), checking the value type and unit against the code: public examples misuse codes
(an IHC code carrying a CEP17 count, ISH values as strings), so a value that does not fit its code is
skipped with a reason (spec/clinical-logic.md §10). The readings of one test occasion are then combined
into one :class:`Her2Result` and at most one :class:`ReceptorResult` per receptor.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.fhir.codes import LOINC, LOINC_KINDS, MCODE_TUMOR_MARKER_PROFILE, Answer, ObsKind
from connectors.fhir.mapping_values import (
    assay_from_text,
    coded_answer,
    codings,
    concept_text,
    ihc_range_from_text,
    ihc_score_from_text,
    interpretation_answer,
    ish_group_from_text,
    notes_text,
    number_from_text,
    percent_from_text,
    recount_from_text,
    reference_id,
    text_answer,
    zero_subtype_from_text,
)
from rules.domain import (
    Her2Result,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    IshResult,
    Receptor,
    ReceptorResult,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
)

_IHC_ANSWERS = {
    Answer.IHC_0: IhcScore.ZERO,
    Answer.IHC_1: IhcScore.ONE_PLUS,
    Answer.IHC_2: IhcScore.TWO_PLUS,
    Answer.IHC_3: IhcScore.THREE_PLUS,
}
_STATUS = {
    Answer.POSITIVE: ReportedStatus.POSITIVE,
    Answer.NEGATIVE: ReportedStatus.NEGATIVE,
    Answer.EQUIVOCAL: ReportedStatus.EQUIVOCAL,
    Answer.INDETERMINATE: ReportedStatus.INDETERMINATE,
}
_RATIO_UNITS = frozenset({"", "1", "{ratio}", "ratio", "{Ratio}"})
_HER2_KINDS = frozenset(
    {
        ObsKind.HER2_IHC,
        ObsKind.HER2_ISH,
        ObsKind.HER2_ISH_RATIO,
        ObsKind.HER2_PER_CELL,
        ObsKind.CEP17_PER_CELL,
        ObsKind.HER2_INTERPRETATION,
    }
)
_ISH_KINDS = frozenset(
    {ObsKind.HER2_ISH, ObsKind.HER2_ISH_RATIO, ObsKind.HER2_PER_CELL, ObsKind.CEP17_PER_CELL}
)


class ObservationMismatchError(ValueError):
    """An Observation whose value does not fit its code; the message is the one-line reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObsReading:
    """One pathology Observation, normalised. ``number`` is in the unit the code implies (ratio, signals
    per nucleus, or percent of nuclei); ``text`` joins the value text, interpretation and notes."""

    kind: ObsKind
    reference: str
    specimen_id: str | None
    effective: Any
    issued: Any
    answer: Answer | None
    number: float | None
    text: str
    method: str
    members: tuple[str, ...] = ()
    #: The IHC 0 detail a component states ("membrane staining (faint incomplete, >0-10 %)": Absent).
    zero_detail: IhcZeroSubtype | None = None

    @property
    def is_her2(self) -> bool:
        return self.kind in _HER2_KINDS


def observation_kind(observation: Any) -> ObsKind | None:
    """The kind of a pathology Observation from its LOINC code (mCODE TumorMarkerTest profiles included)."""
    for system, code, _display in codings(getattr(observation, "code", None)):
        if system == LOINC and code in LOINC_KINDS:
            return LOINC_KINDS[code]
    return None


def is_tumor_marker_profile(observation: Any) -> bool:
    """True when the Observation claims the mCODE TumorMarkerTest profile."""
    profiles = getattr(getattr(observation, "meta", None), "profile", None) or ()
    return any(str(p).split("|")[0] == MCODE_TUMOR_MARKER_PROFILE for p in profiles)


def read_observation(observation: Any, kind: ObsKind) -> ObsReading:
    """Normalise one Observation of a known kind; raises :class:`ObservationMismatchError` with the reason."""
    if kind is ObsKind.HER2_SERUM:
        raise ObservationMismatchError("serum HER2 is not a tissue result (ignored)")
    if (getattr(observation, "status", None) or "") in ("entered-in-error", "cancelled"):
        raise ObservationMismatchError(f"status {observation.status}")
    concept = getattr(observation, "valueCodeableConcept", None)
    quantity = getattr(observation, "valueQuantity", None)
    value_string = getattr(observation, "valueString", None) or ""
    value_text = " ".join(t for t in (concept_text(concept), value_string) if t)
    interpretation = getattr(observation, "interpretation", None)
    text = " ".join(
        t
        for t in (value_text, *(concept_text(i) for i in interpretation or ()), notes_text(observation.note))
        if t
    )
    if kind is ObsKind.HER2_IHC:
        text = " ".join(t for t in (_local_score_code(concept), text) if t)
    number = _number(kind, quantity, value_string, getattr(observation, "valueInteger", None))
    answer = coded_answer(concept) or interpretation_answer(interpretation)
    if answer is None and kind not in (ObsKind.HER2_IHC, ObsKind.ER_PERCENT, ObsKind.PR_PERCENT):
        answer = text_answer(value_text or text)
    _check_fits(kind, answer, number, text)
    members = tuple(
        ref
        for ref in (reference_id(m, "Observation") for m in observation.hasMember or ())
        if ref is not None
    )
    return ObsReading(
        kind=kind,
        reference=f"Observation/{observation.id}",
        specimen_id=reference_id(getattr(observation, "specimen", None), "Specimen"),
        effective=getattr(observation, "effectiveDateTime", None)
        or getattr(getattr(observation, "effectivePeriod", None), "start", None),
        issued=getattr(observation, "issued", None),
        answer=answer,
        number=number,
        text=text,
        method=concept_text(getattr(observation, "method", None)),
        members=members,
        zero_detail=_zero_detail(observation) if kind is ObsKind.HER2_IHC else None,
    )


#: A local code that is itself an IHC score (an HL7 v2 CWE "0^Negative" or "3+^Positive" converted to FHIR).
_SCORE_CODE_RE = re.compile(r"0|[0-3]\+")
_SCORE_POLARITY = {"0": Answer.NEGATIVE, "1+": Answer.NEGATIVE, "2+": Answer.EQUIVOCAL, "3+": Answer.POSITIVE}


def _local_score_code(concept: Any) -> str:
    """The IHC score a non-LOINC coding carries as its code ("0", "1+"…), when the concept's text does not
    say otherwise ("3+" displayed "Negative" is not a score); "" when there is none."""
    found = {
        code for system, code, _ in codings(concept) if system != LOINC and _SCORE_CODE_RE.fullmatch(code)
    }
    if len(found) != 1:
        return ""
    code = found.pop()
    stated = text_answer(concept_text(concept))
    return code if stated in (None, _SCORE_POLARITY[code]) else ""


#: What an Observation component carries (``Observation.component`` has these elements).
_COMPONENT_VALUES = (
    "valueCodeableConcept",
    "valueQuantity",
    "valueString",
    "valueBoolean",
    "valueInteger",
    "valueRange",
    "valueRatio",
    "valueSampledData",
    "valueTime",
    "valueDateTime",
    "valuePeriod",
    "interpretation",
)


def component_readings(observation: Any, kind: ObsKind | None) -> tuple[list[ObsReading], list[str]]:
    """Pathology results coded as components of an Observation ("Breast biomarker panel" with a HER2 IHC
    component coded 1+): each component with a known LOINC code other than the Observation's own is read as
    an Observation of its own (same specimen, dates and method, the parent's reference). Returns the
    readings and the reasons for components that do not fit their code."""
    readings: list[ObsReading] = []
    reasons: list[str] = []
    if (getattr(observation, "status", None) or "") in ("entered-in-error", "cancelled"):
        return readings, reasons
    for number, component in enumerate(getattr(observation, "component", None) or ()):
        component_kind = observation_kind(component)
        if component_kind is None or component_kind is kind:
            continue
        update: dict[str, Any] = {name: getattr(component, name, None) for name in _COMPONENT_VALUES}
        update.update(code=component.code, component=None, hasMember=None, note=None)
        view = observation.model_copy(update=update)
        try:
            readings.append(read_observation(view, component_kind))
        except (ObservationMismatchError, ValueError, TypeError, AttributeError) as exc:
            reasons.append(f"component {number + 1}: {exc or type(exc).__name__}")
    return readings, reasons


#: A component about weak or any membrane staining (or ultralow itself), not about complete staining:
#: its name, or the membrane staining's pattern or intensity ("Membrane staining pattern": none).
_STAINING_COMPONENT = re.compile(
    r"ultra-?low|faint|weak|barely|incomplete|partial|\bany\b[^.;]*stain"
    r"|^\W*(?:HER-?2\s+)?(?:membrane\s+)?staining(?:\s+(?:pattern|intensity))?\W*$",
    re.IGNORECASE,
)
#: A staining component's text value saying no staining at all ("none", "no staining").
_NO_STAINING = re.compile(r"^\W*(?:none|nil|no(?:\s+membrane)?(?:\s+staining)?)\W*$", re.IGNORECASE)


def _staining_share(component: Any) -> Answer | None:
    """A staining component's percentage of cells (valueQuantity in %, or valueInteger): 0 → absent,
    above 0 and at most 10 → present (faint staining in ≤10 %, spec §3); above 10 is no IHC 0 detail."""
    quantity = getattr(component, "valueQuantity", None)
    if quantity is not None and quantity.value is not None:
        if (quantity.code or quantity.unit or "%").strip() != "%":
            return None
        share = float(quantity.value)
    elif getattr(component, "valueInteger", None) is not None:
        share = float(component.valueInteger)
    else:
        return None
    if share == 0:
        return Answer.NEGATIVE
    return Answer.POSITIVE if 0 < share <= 10 else None


def _zero_detail(observation: Any) -> IhcZeroSubtype | None:
    """Ultralow or null as a component states it: weak/any membrane staining present → ultralow, absent →
    null; None when no component says, or when components disagree."""
    found: set[IhcZeroSubtype] = set()
    for component in getattr(observation, "component", None) or ():
        name = concept_text(getattr(component, "code", None))
        if not _STAINING_COMPONENT.search(name):
            continue
        concept = getattr(component, "valueCodeableConcept", None)
        flag = getattr(component, "valueBoolean", None)
        answer = coded_answer(concept)
        if answer is None and flag is not None:
            answer = Answer.POSITIVE if flag else Answer.NEGATIVE
        if answer is None:
            answer = _staining_share(component)
        if answer is None:
            stated = concept_text(concept) or (getattr(component, "valueString", None) or "")
            answer = Answer.NEGATIVE if _NO_STAINING.match(stated) else text_answer(stated)
        if answer is Answer.POSITIVE:
            found.add(IhcZeroSubtype.ULTRALOW)
        elif answer is Answer.NEGATIVE:
            found.add(IhcZeroSubtype.NULL)
    return found.pop() if len(found) == 1 else None


def _number(kind: ObsKind, quantity: Any, value_string: str, value_integer: Any) -> float | None:
    """The numeric value, with the unit checked against the code (ratio, per-cell count, percent)."""
    if quantity is not None and quantity.value is not None:
        unit = (quantity.code or quantity.unit or "").strip()
        _check_unit(kind, unit)
        return float(quantity.value)
    if value_integer is not None:
        return float(value_integer)
    if value_string and kind in (ObsKind.HER2_ISH_RATIO, ObsKind.HER2_PER_CELL, ObsKind.CEP17_PER_CELL):
        return number_from_text(value_string)
    if value_string and kind in (ObsKind.ER_PERCENT, ObsKind.PR_PERCENT):
        return percent_from_text(value_string) or number_from_text(value_string)
    return None


def _check_unit(kind: ObsKind, unit: str) -> None:
    lowered = unit.lower()
    if kind is ObsKind.HER2_ISH_RATIO and unit not in _RATIO_UNITS:
        raise ObservationMismatchError(f"HER2/CEP17 ratio code with unit {unit!r} (expected a ratio)")
    if kind in (ObsKind.HER2_PER_CELL, ObsKind.CEP17_PER_CELL) and (
        "%" in unit or "ratio" in lowered or (unit and "cell" not in lowered and "nucle" not in lowered)
    ):
        raise ObservationMismatchError(
            f"copies-per-nucleus code with unit {unit!r} (expected signals per cell)"
        )
    if kind in (ObsKind.ER_PERCENT, ObsKind.PR_PERCENT) and unit not in ("%", ""):
        raise ObservationMismatchError(f"receptor percentage code with unit {unit!r} (expected %)")
    if (
        kind in (ObsKind.HER2_IHC, ObsKind.HER2_ISH, ObsKind.HER2_INTERPRETATION, ObsKind.ER, ObsKind.PR)
        and unit
    ):
        raise ObservationMismatchError(f"qualitative code carries a quantity in {unit!r}")


def _check_count(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if number is None or not 0.0 < number <= 100.0:
        raise ObservationMismatchError(f"{kind.value} needs a positive number, got {number!r}")


def _check_percent(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if number is None or not 0.0 <= number <= 100.0:
        raise ObservationMismatchError(f"{kind.value} needs a percentage 0–100, got {number!r}")


def _check_ihc(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if number is not None and number not in (0.0, 1.0, 2.0, 3.0):
        raise ObservationMismatchError(f"IHC code with numeric value {number} (not a 0–3 score)")
    if number is None and answer is None and not ihc_score_from_text(text) and not ihc_range_from_text(text):
        raise ObservationMismatchError("IHC code without a score")


def _check_interpretation(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if answer in _IHC_ANSWERS:
        raise ObservationMismatchError("HER2 interpretation code carries an IHC score answer")
    if answer is None:
        raise ObservationMismatchError("HER2 interpretation without a recognised answer")


def _check_ish(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if answer in _IHC_ANSWERS:
        raise ObservationMismatchError("ISH code carries an IHC score answer")
    if answer is None and ish_group_from_text(text) is None:
        raise ObservationMismatchError("ISH code without a recognised answer or group")


def _check_presence(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    if answer is None and percent_from_text(text) is None:
        raise ObservationMismatchError(f"{kind.value} without a recognised answer or percentage")


_Check = Callable[[ObsKind, "Answer | None", "float | None", str], None]

#: Value checks per kind (spec §10: check value type and unit against the code).
_CHECKS: dict[ObsKind, _Check] = {
    ObsKind.HER2_ISH_RATIO: _check_count,
    ObsKind.HER2_PER_CELL: _check_count,
    ObsKind.CEP17_PER_CELL: _check_count,
    ObsKind.ER_PERCENT: _check_percent,
    ObsKind.PR_PERCENT: _check_percent,
    ObsKind.HER2_IHC: _check_ihc,
    ObsKind.HER2_INTERPRETATION: _check_interpretation,
    ObsKind.HER2_ISH: _check_ish,
}


def _check_fits(kind: ObsKind, answer: Answer | None, number: float | None, text: str) -> None:
    """Refuse values that do not fit the code, raising :class:`ObservationMismatchError`."""
    _CHECKS.get(kind, _check_presence)(kind, answer, number, text)


def her2_from_readings(
    readings: Sequence[ObsReading], *, specimen: SpecimenRef, source: SourceRef, reported: dt.date | None
) -> Her2Result | None:
    """One :class:`Her2Result` from the HER2 readings of one test occasion (None when there are none)."""
    notes: list[str] = []
    ihc_readings = [r for r in readings if r.kind is ObsKind.HER2_IHC]
    ihc = _ihc(ihc_readings[0]) if ihc_readings else None
    if len({_ihc(r) for r in ihc_readings}) > 1:
        notes.append("several IHC Observations with different scores; the first was used")
    technical_failure = any(r.answer is Answer.INDETERMINATE for r in ihc_readings)
    ish = _ish([r for r in readings if r.kind in _ISH_KINDS])
    statuses = [r.answer for r in readings if r.kind is ObsKind.HER2_INTERPRETATION and r.answer in _STATUS]
    if not statuses and ihc is None:
        statuses = [r.answer for r in ihc_readings if r.answer in (Answer.POSITIVE, Answer.NEGATIVE)]
    reported_status = _STATUS[statuses[0]] if statuses else None
    if ihc is None and ish is None and reported_status is None and not technical_failure:
        return None
    return Her2Result(
        specimen=specimen,
        ihc=ihc,
        ish=ish,
        reported_status=reported_status,
        technical_failure=technical_failure and ihc is None,
        source=source,
        reported=reported,
        notes=tuple(notes),
    )


def _ihc(reading: ObsReading) -> IhcResult | None:
    score = _IHC_ANSWERS.get(reading.answer) if reading.answer else None
    if score is None and reading.number is not None:
        score = [IhcScore.ZERO, IhcScore.ONE_PLUS, IhcScore.TWO_PLUS, IhcScore.THREE_PLUS][
            int(reading.number)
        ]
    score_range = ihc_range_from_text(reading.text)
    if score is None and score_range is None:
        score = ihc_score_from_text(reading.text)
    assay = assay_from_text(reading.method) or assay_from_text(reading.text)
    if score_range is not None and score is None:
        return IhcResult(score=score_range[0], is_range=True, range_to=score_range[1], assay=assay)
    if score is None:
        return None
    subtype = IhcZeroSubtype.UNSPECIFIED
    if score is IhcScore.ZERO:
        stated = zero_subtype_from_text(reading.text)
        detail = reading.zero_detail
        # A component and the value text that disagree on ultralow and null leave the detail unstated.
        if detail is None or stated in (detail, IhcZeroSubtype.UNSPECIFIED):
            subtype = detail or stated
    return IhcResult(score=score, zero_subtype=subtype, assay=assay)


def _ish(readings: Sequence[ObsReading]) -> IshResult | None:
    if not readings:
        return None

    def number(kind: ObsKind) -> float | None:
        return next((r.number for r in readings if r.kind is kind and r.number is not None), None)

    presence = [r for r in readings if r.kind is ObsKind.HER2_ISH]
    text = " ".join(r.text + " " + r.method for r in presence)
    ratio, cep17 = number(ObsKind.HER2_ISH_RATIO), number(ObsKind.CEP17_PER_CELL)
    single = "single" in text.lower() and ratio is None and cep17 is None
    final = next((_STATUS[r.answer] for r in presence if r.answer in _STATUS), None)
    return IshResult(
        probe=IshProbe.SINGLE if single else IshProbe.DUAL,
        ratio=ratio,
        her2_per_cell=number(ObsKind.HER2_PER_CELL),
        cep17_per_cell=cep17,
        reported_group=None if single else ish_group_from_text(text),
        recount_confirmed=recount_from_text(text),
        reported_final=final,
    )


def receptors_from_readings(
    readings: Sequence[ObsReading], *, specimen: SpecimenRef, reported: dt.date | None
) -> list[ReceptorResult]:
    """ER and PR results (at most one each) from one occasion's readings: presence answer plus percentage."""
    results: list[ReceptorResult] = []
    for receptor, presence_kind, percent_kind in (
        (Receptor.ER, ObsKind.ER, ObsKind.ER_PERCENT),
        (Receptor.PR, ObsKind.PR, ObsKind.PR_PERCENT),
    ):
        presence = next((r for r in readings if r.kind is presence_kind), None)
        percent = next((r for r in readings if r.kind is percent_kind), None)
        if presence is None and percent is None:
            continue
        value = (
            percent.number if percent is not None else percent_from_text(presence.text if presence else "")
        )
        positive = None
        if presence is not None and presence.answer in (Answer.POSITIVE, Answer.NEGATIVE):
            positive = presence.answer is Answer.POSITIVE
        main = presence or percent
        assert main is not None
        results.append(
            ReceptorResult(
                receptor=receptor,
                percent=value,
                reported_positive=positive,
                specimen=specimen,
                source=SourceRef(system="fhir", reference=main.reference),
                reported=reported,
            )
        )
    return results
