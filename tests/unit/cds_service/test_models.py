"""Pydantic wire models: request/context validation, response invariants (cds-resp-1..6), feedback rules."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.hooks.models import (
    Action,
    Card,
    CdsRequest,
    FeedbackItem,
    Hook,
    Link,
    Source,
    Suggestion,
    describe_validation_error,
)
from cds_service.hooks.registry import parse_context


def request(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/a", "patientId": "p1"},
    }
    body.update(extra)
    return body


def test_token_never_appears_in_repr() -> None:
    auth = {
        "access_token": "s3cret",
        "token_type": "Bearer",
        "expires_in": 60,
        "scope": "user/Patient.rs",
        "subject": "c",
    }
    parsed = CdsRequest.model_validate(request(fhirServer="https://ehr.example/fhir", fhirAuthorization=auth))
    assert "s3cret" not in repr(parsed)
    assert parsed.fhirAuthorization is not None
    assert parsed.fhirAuthorization.access_token.get_secret_value() == "s3cret"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"hookInstance": "abc"}, "hookInstance", id="uuid"),
        pytest.param({"fhirServer": "ftp://x"}, "fhirServer", id="scheme"),
        pytest.param({"context": []}, "context", id="context type"),
    ],
)
def test_request_errors_name_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        CdsRequest.model_validate(request(**extra))
    missing, message = describe_validation_error(info.value)
    assert not missing
    assert message.startswith(field)


def test_missing_fields_are_reported_as_required() -> None:
    with pytest.raises(ValidationError) as info:
        parse_context(Hook.ORDER_SIGN, {"userId": "Practitioner/a", "patientId": "p"})
    missing, message = describe_validation_error(info.value, "context")
    assert missing
    assert message == "context.draftOrders: Field required"


def test_validation_messages_never_echo_input_values() -> None:
    with pytest.raises(ValidationError) as info:
        parse_context(Hook.PATIENT_VIEW, {"userId": "Bearer-eyJhbGciOi", "patientId": "p"})
    assert "eyJhbGciOi" not in describe_validation_error(info.value)[1]


def test_contexts_per_hook() -> None:
    ctx = parse_context(
        Hook.ORDER_SELECT,
        {
            "userId": "PractitionerRole/r",
            "patientId": "p",
            "selections": ["MedicationRequest/1"],
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [{"resource": {"resourceType": "MedicationRequest", "id": "1"}}, {"fullUrl": "x"}],
            },
        },
    )
    assert [r["id"] for r in ctx.draftOrders.resources()] == ["1"]  # type: ignore[attr-defined]


SOURCE = Source(label="s")


def test_card_invariants() -> None:
    with pytest.raises(ValidationError):
        Card(summary="x" * 140, indicator="info", source=SOURCE)  # type: ignore[arg-type]
    Card(summary="x" * 139, indicator="info", source=SOURCE)  # type: ignore[arg-type]
    create = Action(type="create", description="d", resource={"resourceType": "Task"})
    with pytest.raises(ValidationError, match="selectionBehavior"):
        Card(
            summary="s",
            indicator="info",
            source=SOURCE,
            suggestions=[Suggestion(label="l", actions=[create])],
        )  # type: ignore[arg-type]
    two = [Suggestion(label="a", isRecommended=True), Suggestion(label="b", isRecommended=True)]
    with pytest.raises(ValidationError, match="at-most-one"):
        Card(summary="s", indicator="info", source=SOURCE, suggestions=two, selectionBehavior="at-most-one")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Action(type="delete", description="d", resource={"resourceType": "Task"})
    with pytest.raises(ValidationError):
        Action(type="create", description="d")
    with pytest.raises(ValidationError):
        Link(label="l", url="https://x", type="absolute", appContext="{}")
    Link(label="l", url="https://x", type="smart", appContext="{}")


def test_card_dump_omits_absent_fields() -> None:
    assert Card(summary="s", indicator="info", source=SOURCE).dump() == {  # type: ignore[arg-type]
        "summary": "s",
        "indicator": "info",
        "source": {"label": "s"},
    }


@pytest.mark.parametrize(
    ("item", "ok"),
    [
        pytest.param({"outcome": "accepted", "acceptedSuggestions": [{"id": "s"}]}, True, id="accepted"),
        pytest.param({"outcome": "accepted"}, False, id="accepted without ids"),
        pytest.param(
            {"outcome": "overridden", "acceptedSuggestions": [{"id": "s"}]}, False, id="overridden with ids"
        ),
        pytest.param(
            {
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": "s"}],
                "overrideReason": {"userComment": "x"},
            },
            False,
            id="accepted with reason",
        ),
        pytest.param(
            {"outcome": "overridden", "overrideReason": {"reason": {"system": "s", "code": "c"}}},
            True,
            id="reason without display",
        ),
    ],
)
def test_feedback_rules(item: dict[str, Any], ok: bool) -> None:
    data = {"card": "c", "outcomeTimestamp": "2021-12-11T10:05:31+01:00", **item}
    if ok:
        parsed = FeedbackItem.model_validate(data)
        assert parsed.timestamp_utc.isoformat() == "2021-12-11T09:05:31+00:00"
    else:
        with pytest.raises(ValidationError):
            FeedbackItem.model_validate(data)
