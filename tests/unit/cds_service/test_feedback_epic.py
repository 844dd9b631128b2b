"""Feedback as Epic's CDS Hooks tutorial shows it (``overrideReasons`` with a reason or with Epic's reason
extension) is stored with its reason, so that the feedback report counts it per reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cds_service.hooks.models import EPIC_REASON_CATEGORY_SYSTEM
from cds_service.hooks.registry import EXTENSION_KEY, Components
from tests.unit.cds_service.cds_support import make_app

FEEDBACK = "/cds-services/her2-pet-review/feedback"
CARD = "5b1e8c2e-8a44-4c39-9d2b-0d6f7a3f6a11"


def _stored(tmp_path: Path, item: dict[str, Any]) -> tuple[int, Any]:
    app = make_app(tmp_path)
    resp = app.test_client().post(FEEDBACK, json={"feedback": [item]})
    storage = app.extensions[EXTENSION_KEY]
    assert isinstance(storage, Components)
    assert storage.storage is not None
    records = storage.storage.feedback_for_card(CARD)
    return resp.status_code, records


def _overridden(**reasons: Any) -> dict[str, Any]:
    return {"card": CARD, "outcome": "overridden", "outcomeTimestamp": "2026-01-05T10:00:00Z", **reasons}


def test_reason_under_override_reasons(tmp_path: Path) -> None:
    status, records = _stored(
        tmp_path,
        _overridden(
            overrideReasons={
                "reason": {"system": "urn:her2-pet-cds:override-reason", "code": "already-reviewed"},
                "userComment": "free text",
            }
        ),
    )
    assert status == 200
    assert [(r.override_system, r.override_code) for r in records] == [
        ("urn:her2-pet-cds:override-reason", "already-reviewed")
    ]


def test_reason_built_in_epic(tmp_path: Path) -> None:
    extension = {
        "com.epic.cdshooks.feedback.overrideReason.reasonCategory": "45",
        "com.epic.cdshooks.feedback.overrideReason.reasonDisplay": "Does not meet criteria",
        "com.epic.cdshooks.feedback.overrideReason.reasonTitle": "Does not meet criteria",
    }
    status, records = _stored(tmp_path, _overridden(overrideReasons={"extension": extension}))
    assert status == 200
    assert [(r.override_system, r.override_code, r.override_display) for r in records] == [
        (EPIC_REASON_CATEGORY_SYSTEM, "45", "Does not meet criteria")
    ]


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(
            _overridden(
                overrideReason={"reason": {"system": "urn:a", "code": "spec"}},
                overrideReasons={"reason": {"system": "urn:b", "code": "epic"}},
            ),
            id="overrideReason wins",
        ),
        pytest.param(_overridden(overrideReasons="not an object"), id="malformed plural ignored"),
    ],
)
def test_the_specified_member_wins_and_malformed_plural_is_ignored(
    tmp_path: Path, item: dict[str, Any]
) -> None:
    status, records = _stored(tmp_path, item)
    assert status == 200
    assert [r.override_code for r in records] == ["spec" if "overrideReason" in item else None]
