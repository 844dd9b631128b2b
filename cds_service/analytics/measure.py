"""The feedback report as a FHIR R4 ``MeasureReport`` (type ``summary``), for quality dashboards that read
FHIR.

Two groups, each a proportion over the cards with feedback in the period (``report`` module definitions):

- ``card-acceptance``: initial population = cards shown, denominator = cards with feedback, numerator =
  accepted; ``measureScore`` the acceptance rate (absent without feedback). Stratified by card topic.
- ``card-override``: initial population and denominator = cards with feedback, numerator = overridden;
  ``measureScore`` the override rate. Stratified by card topic and by override reason; the reason strata
  partition the denominator (one stratum per reason, ``none given`` for overrides without one, and ``not
  overridden`` for accepted cards), so each stratum's count is the number of cards with that reason.

With review alerts in the period, a third group, ``alert-review`` (source: the worklist): initial population
= alerts raised, denominator = alerts done, numerator = done with outcome ``reviewed-action``; stratified by
card scenario and by outcome.

Population codes are from ``http://terminology.hl7.org/CodeSystem/measure-population``; group, stratifier and
measure identifiers are the project's own URNs. The resource names no patient, practitioner or
organisation. :func:`measure_report` checks the result against the FHIR model before returning it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from cds_service.analytics.report import NO_REASON, UNRECORDED_TOPIC, FeedbackReport, ReasonCount, TopicRates
from connectors.fhir.validation import resource_problems

__all__ = ["MEASURE_URL", "InvalidMeasureReportError", "measure_report"]

MEASURE_URL: Final = "urn:her2-pet-cds:measure:card-feedback"
"""The ``MeasureReport.measure`` canonical: names what is measured (no Measure resource is published)."""
_POPULATION: Final = "http://terminology.hl7.org/CodeSystem/measure-population"
_GROUP: Final = "urn:her2-pet-cds:measure-group"
_STRATIFIER: Final = "urn:her2-pet-cds:measure-stratifier"
_TOPIC_SYSTEM: Final = "urn:her2-pet-cds:card-scenario"
NOT_OVERRIDDEN: Final = "not overridden"


class InvalidMeasureReportError(ValueError):
    """The MeasureReport built does not validate against the FHIR model (a programming error)."""


def _concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    if text:
        concept["text"] = text
    return concept


def _population(code: str, count: int) -> dict[str, Any]:
    return {"code": _concept(_POPULATION, code), "count": count}


def _score(numerator: int, denominator: int) -> dict[str, Any]:
    return {"measureScore": {"value": round(numerator / denominator, 4)}} if denominator else {}


def _topic_value(topic: str) -> dict[str, Any]:
    if topic == UNRECORDED_TOPIC:
        return {"text": UNRECORDED_TOPIC}
    return {**_concept(_TOPIC_SYSTEM, topic), "text": topic}


def _acceptance_stratum(t: TopicRates) -> dict[str, Any]:
    return {
        "value": _topic_value(t.topic),
        "population": [
            _population("initial-population", t.shown),
            _population("denominator", t.feedback),
            _population("numerator", t.accepted),
        ],
        **_score(t.accepted, t.feedback),
    }


def _override_stratum(value: dict[str, Any], feedback: int, overridden: int) -> dict[str, Any]:
    return {
        "value": value,
        "population": [
            _population("initial-population", feedback),
            _population("denominator", feedback),
            _population("numerator", overridden),
        ],
        **_score(overridden, feedback),
    }


def _reason_value(reason: ReasonCount) -> dict[str, Any]:
    if reason.code is None:
        return {"text": NO_REASON}
    coding: dict[str, Any] = {"code": reason.code}
    if reason.system:
        coding["system"] = reason.system
    if reason.display:
        coding["display"] = reason.display
    return {"coding": [coding], "text": reason.label}


def _stratifier(code: str, text: str, strata: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"code": [_concept(_STRATIFIER, code, text)], "stratum": list(strata)}


def measure_report(report: FeedbackReport) -> dict[str, Any]:
    """The MeasureReport JSON of ``report``; raises :class:`InvalidMeasureReportError` if it would not
    validate as a FHIR MeasureReport."""
    total = report.total
    reason_strata = [_override_stratum(_reason_value(r), r.count, r.count) for r in total.reasons]
    if total.accepted:
        reason_strata.append(_override_stratum({"text": NOT_OVERRIDDEN}, total.accepted, 0))
    resource: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": MEASURE_URL,
        "date": _instant(report.generated_at),
        "period": {"start": _instant(report.period.start), "end": _instant(report.period.end)},
        "group": [
            {
                "code": _concept(_GROUP, "card-acceptance", "Cards accepted among cards with feedback"),
                "population": [
                    _population("initial-population", total.shown),
                    _population("denominator", total.feedback),
                    _population("numerator", total.accepted),
                ],
                **_score(total.accepted, total.feedback),
                "stratifier": [
                    _stratifier("card-topic", "card topic", [_acceptance_stratum(t) for t in report.topics])
                ],
            },
            {
                "code": _concept(_GROUP, "card-override", "Cards overridden among cards with feedback"),
                "population": [
                    _population("initial-population", total.feedback),
                    _population("denominator", total.feedback),
                    _population("numerator", total.overridden),
                ],
                **_score(total.overridden, total.feedback),
                "stratifier": [
                    _stratifier(
                        "card-topic",
                        "card topic",
                        [
                            _override_stratum(_topic_value(t.topic), t.feedback, t.overridden)
                            for t in report.topics
                        ],
                    ),
                    _stratifier("override-reason", "override reason", reason_strata),
                ],
            },
        ],
    }
    if report.alerts_total is not None:
        resource["group"].append(_alert_group(report))
    _drop_empty_stratifiers(resource)
    problems = resource_problems(resource)
    if problems:
        raise InvalidMeasureReportError("; ".join(problems))
    return resource


ACTION_OUTCOME: Final = "reviewed-action"
"""The worklist outcome counted as the numerator of ``alert-review``."""


def _alert_stratum(value: dict[str, Any], raised: int, done: int, acted: int) -> dict[str, Any]:
    return {
        "value": value,
        "population": [
            _population("initial-population", raised),
            _population("denominator", done),
            _population("numerator", acted),
        ],
        **_score(acted, done),
    }


def _alert_group(report: FeedbackReport) -> dict[str, Any]:
    """Review alerts (source ``worklist``): initial population = alerts raised in the period, denominator =
    alerts done in the period, numerator = those done with outcome ``reviewed-action``; stratified by card
    scenario and by outcome."""
    total = report.alerts_total
    assert total is not None
    acted = dict(total.outcomes).get(ACTION_OUTCOME, 0)
    by_scenario = [
        _alert_stratum(_topic_value(a.topic), a.raised, a.done, dict(a.outcomes).get(ACTION_OUTCOME, 0))
        for a in report.alerts
    ]
    by_outcome = [
        _alert_stratum({"text": code}, count, count, count if code == ACTION_OUTCOME else 0)
        for code, count in total.outcomes
    ]
    return {
        "code": _concept(_GROUP, "alert-review", "Review alerts closed with action taken (worklist)"),
        "population": [
            _population("initial-population", total.raised),
            _population("denominator", total.done),
            _population("numerator", acted),
        ],
        **_score(acted, total.done),
        "stratifier": [
            _stratifier("card-topic", "card scenario", by_scenario),
            _stratifier("alert-outcome", "worklist outcome", by_outcome),
        ],
    }


def _drop_empty_stratifiers(resource: dict[str, Any]) -> None:
    """FHIR forbids empty arrays: a stratifier without strata (no feedback at all) is left out."""
    for group in resource["group"]:
        kept = [s for s in group["stratifier"] if s["stratum"]]
        if kept:
            group["stratifier"] = kept
        else:
            del group["stratifier"]


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
