"""The response linter (``tests/cds_lint.py``) finds each rule it claims to check, and passes a good card."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.cds_lint import TopicLedger, lint_card, lint_response

GOOD: dict[str, Any] = {
    "uuid": "0b0f6f2e-3c59-4a36-9d3c-2a8b4a8a9d10",
    "summary": "HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review T-DXd eligibility per label.",
    "detail": "Labelled HER2-low settings …",
    "indicator": "info",
    "source": {
        "label": "HER2 PET Review (rules 1.0.0)",
        "url": "https://cds.example.org/clinical-basis",
        "topic": {"system": "urn:her2-pet-cds:card-scenario", "code": "her2LowNoPet", "display": "HER2-low"},
    },
    "suggestions": [
        {
            "label": "Request tumour-board review",
            "uuid": "a8d0c3a1-5a7e-4c4b-8d57-6a0c8d0b1f11",
            "actions": [
                {
                    "type": "create",
                    "description": "Request tumour-board review",
                    "resource": {"resourceType": "Task", "status": "requested", "intent": "proposal"},
                }
            ],
        }
    ],
    "selectionBehavior": "any",
    "overrideReasons": [
        {"system": "urn:her2-pet-cds:override-reason", "code": "not-relevant", "display": "No"}
    ],
}


def changed(path: list[Any], value: Any) -> dict[str, Any]:
    card = copy.deepcopy(GOOD)
    target: Any = card
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return card


def test_a_good_card_passes() -> None:
    assert lint_card(GOOD) == []
    assert lint_response({"cards": [GOOD]}) == []


@pytest.mark.parametrize(
    ("card", "rule"),
    [
        pytest.param(
            changed(["selectionBehavior"], "at-most-one"), "epic-selection-behavior", id="at-most-one"
        ),
        pytest.param(
            changed(["suggestions", 0, "actions"], [GOOD["suggestions"][0]["actions"][0]] * 2),
            "epic-one-action",
            id="two-actions",
        ),
        pytest.param(changed(["suggestions", 0, "uuid"], None), "epic-suggestion-uuid", id="suggestion-uuid"),
        pytest.param(changed(["uuid"], None), "epic-card-uuid", id="card-uuid"),
        pytest.param(changed(["source", "topic", "code"], "her2-low-no-pet"), "epic-topic-code", id="hyphen"),
        pytest.param(changed(["source", "topic", "code"], "a" * 101), "epic-topic-code", id="101-characters"),
        pytest.param(changed(["source", "topic"], None), "epic-topic-code", id="no-topic"),
        pytest.param(changed(["source", "url"], None), "source-url", id="no-source-url"),
        pytest.param(changed(["detail"], "x" * 2001), "detail-length", id="detail-2001"),
        pytest.param(changed(["summary"], "x" * 140), "summary-length", id="summary-140"),
        pytest.param(
            changed(["detail"], "PET source: study/1.2.826.0.1.3680043.8.498.1/series/2"),
            "no-dicom-uid",
            id="uid",
        ),
        pytest.param(changed(["indicator"], "critical"), "indicator", id="critical"),
        pytest.param(
            changed(["source", "label"], "HER2 PET Review"), "source-label", id="label-without-version"
        ),
        pytest.param(changed(["selectionBehavior"], None), "cds-resp-6", id="suggestions-without-behaviour"),
        pytest.param(
            changed(["overrideReasons", 0, "display"], None), "cds-resp-4", id="reason-without-display"
        ),
        pytest.param(changed(["detail"], ""), "CH-2", id="empty-element"),
        pytest.param(
            changed(["suggestions", 0, "actions", 0, "resource"], {"resourceType": "MedicationRequest"}),
            "suggestion",
            id="medication-request",
        ),
        pytest.param(changed(["source", "topic", "code"], "notAScenario"), "topic", id="unknown-topic"),
    ],
)
def test_each_rule_is_found(card: dict[str, Any], rule: str) -> None:
    assert rule in {finding.rule for finding in lint_card(card)}


def test_the_topic_code_must_stay_the_same_for_a_card_topic() -> None:
    ledger = TopicLedger()
    assert lint_response({"cards": [GOOD]}, ledger) == []
    other = changed(["source", "topic", "code"], "her2UnscoredNegative")
    assert {f.rule for f in lint_response({"cards": [other]}, ledger)} == {"epic-topic-stable"}


def test_response_level_rules() -> None:
    assert {f.rule for f in lint_response({"cards": {}})} >= {"cards"}
    assert "system-actions" in {f.rule for f in lint_response({"cards": [], "systemActions": []})}
