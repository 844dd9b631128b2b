"""The project's JSON Schemas (tests/data/schemas, written from cds-hooks.md §2–§7) against the published
examples in ../shared/testdata/cds-hooks/: every example validates against the schema of the object it shows,
except the two defective specification examples, which must fail (cds-hooks.md §14.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cds_service.hooks.models import (
    Card,
    CdsRequest,
    CdsResponse,
    DiscoveryResponse,
    FeedbackRequest,
    Hook,
)
from cds_service.hooks.prefetch import lint_template
from cds_service.hooks.registry import parse_context
from tests.unit.cds_service.cds_support import card_problems, schema_errors

SPEC = "spec-2.0.1"
LIB = "hooks-library-1.0.1"
INFERNO = "inferno-crd-test-kit"

# file → (schema, JSON pointer inside the schema, how to take the instance out of the file)
POSITIVES: dict[str, tuple[str, str, str | None]] = {
    f"{SPEC}/action-create.json": ("card", "/$defs/action", None),
    f"{SPEC}/action-delete.json": ("card", "/$defs/action", None),
    f"{SPEC}/action-update.json": ("card", "/$defs/action", None),
    f"{SPEC}/card-source.json": ("card", "/$defs/source", "source"),
    f"{SPEC}/context-draftOrders-token-eligible.json": ("request", "/$defs/context", "context"),
    f"{SPEC}/context-draftOrders-token-ineligible.json": ("request", "/$defs/context", "context"),
    f"{SPEC}/discovery-response.json": ("discovery", "", None),
    f"{SPEC}/discovery-with-extension.json": ("discovery", "", None),
    f"{SPEC}/feedback-accepted.json": ("feedback", "", None),
    f"{SPEC}/feedback-overridden.json": ("feedback", "", None),
    f"{SPEC}/feedback-overridden-with-reason.json": ("feedback", "", None),
    f"{SPEC}/request-fhirAuthorization.json": ("request", "/$defs/fhirAuthorization", "fhirAuthorization"),
    f"{SPEC}/request-patient-view.json": ("request", "", None),
    f"{SPEC}/request-with-extension.json": ("request", "", None),
    f"{SPEC}/response-cards.json": ("response", "", None),
    f"{SPEC}/response-no-guidance.json": ("response", "", None),
    f"{INFERNO}/discovery-cds-services.json": ("discovery", "", None),
    f"{INFERNO}/encounter_start_hook_request.json": ("request", "", None),
    f"{INFERNO}/order_select_hook_request.json": ("request", "", None),
    f"{INFERNO}/order_sign_hook_request.json": ("request", "", None),
}
for _name in (
    "encounter-start-context-example.json",
    "order-select-context-R4.json",
    "order-sign-context-R4.json",
    "patient-view-context-example-1.json",
    "patient-view-context-example-2.json",
):
    POSITIVES[f"{LIB}/{_name}"] = ("request", "/$defs/context", "context")


def load(testdata: Path, name: str) -> Any:
    return json.loads((testdata / "cds-hooks" / name).read_text())


@pytest.mark.req("I-3")
@pytest.mark.req("I-214")
@pytest.mark.parametrize("name", sorted(POSITIVES))
def test_published_examples_validate(testdata: Path, name: str) -> None:
    schema, pointer, member = POSITIVES[name]
    data = load(testdata, name)
    instance = data[member] if member else data
    assert schema_errors(schema, instance, pointer) == []


@pytest.mark.req("I-82")
@pytest.mark.req("I-128")
@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            f"{SPEC}/response-autolaunchable.json", "'indicator' is a required property", id="no indicator"
        ),
        pytest.param(
            f"{SPEC}/response-systemActions.json", "'description' is a required property", id="no description"
        ),
    ],
)
def test_defective_spec_examples_fail(testdata: Path, name: str, message: str) -> None:
    errors = schema_errors("response", load(testdata, name))
    assert message in errors
    with pytest.raises(ValidationError):
        CdsResponse.model_validate(load(testdata, name))


@pytest.mark.req("I-55")
@pytest.mark.req("I-58")
def test_prefetch_template_example_fails_the_template_lint(testdata: Path) -> None:
    templates = load(testdata, f"{SPEC}/discovery-prefetch-templates.json")["prefetch"]
    assert lint_template(templates["hemoglobin-a1c"]) != []
    assert [k for k, v in templates.items() if lint_template(v)] == ["hemoglobin-a1c"]


def test_override_reasons_example(testdata: Path) -> None:
    reasons = load(testdata, f"{SPEC}/card-overrideReasons.json")["overrideReasons"]
    for reason in reasons:
        assert schema_errors("card", reason, "/$defs/overrideReason") == []


@pytest.mark.req("I-80")
@pytest.mark.req("I-138")
def test_inferno_valid_cards_pass_schema_model_and_predicates(testdata: Path) -> None:
    cards = load(testdata, f"{INFERNO}/valid_cards.json")
    assert len(cards) == 7
    for card in cards:
        assert schema_errors("card", card) == []
        assert card_problems(card) == []
        Card.model_validate(card)


def test_request_with_placeholders_is_a_valid_shape(testdata: Path) -> None:
    prefetch = load(testdata, f"{SPEC}/request-prefetch-data.json")["prefetch"]
    assert prefetch["user"] == "123"
    assert schema_errors("request", prefetch, "/properties/prefetch") == []


@pytest.mark.parametrize("name", [n for n, v in POSITIVES.items() if v[0] == "request" and not v[1]])
def test_models_accept_published_requests(testdata: Path, name: str) -> None:
    request = CdsRequest.model_validate(load(testdata, name))
    if name.endswith("request-with-extension.json"):
        # the extension example shows only userId; patient-view requires patientId, so the service answers 400
        with pytest.raises(ValidationError, match="patientId"):
            parse_context(Hook(request.hook), request.context)
    elif request.hook in {h.value for h in Hook}:
        parse_context(Hook(request.hook), request.context)


@pytest.mark.parametrize("name", [n for n, v in POSITIVES.items() if v[0] in ("discovery", "feedback")])
def test_models_accept_published_discovery_and_feedback(testdata: Path, name: str) -> None:
    data = load(testdata, name)
    (DiscoveryResponse if "services" in data else FeedbackRequest).model_validate(data)


def test_schemas_reject_what_the_spec_forbids() -> None:
    card = {"summary": "x" * 140, "indicator": "info", "source": {"label": "s"}}
    assert schema_errors("card", card)
    assert schema_errors("card", {"summary": "s", "indicator": "urgent", "source": {"label": "s"}})
    with_suggestion = {
        "summary": "s",
        "indicator": "info",
        "source": {"label": "s"},
        "suggestions": [{"label": "l"}],
    }
    assert schema_errors("card", with_suggestion)
    link = {"label": "l", "url": "https://x", "type": "absolute", "appContext": "{}"}
    assert schema_errors("card", link, "/$defs/link")
    assert schema_errors("request", {"hook": "patient-view", "hookInstance": "x", "context": {}})
    auth_only = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {},
        "fhirAuthorization": {
            "access_token": "t",
            "token_type": "Bearer",
            "expires_in": 1,
            "scope": "s",
            "subject": "c",
        },
    }
    assert schema_errors("request", auth_only)
    accepted = {
        "feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2020-01-01T00:00:00Z"}]
    }
    assert schema_errors("feedback", accepted)
