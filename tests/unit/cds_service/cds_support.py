"""Shared helpers for the CDS Hooks service tests: settings and app factories, request builders, and the
response checks (project JSON Schemas + Inferno-style card predicates) applied to every response tests see.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from flask import Flask
from referencing import Registry, Resource

from cds_service import create_app
from cds_service.settings import AuthMode, Settings
from cds_service.storage.store import Storage
from rules.display import scenario_for_topic
from tests.cds_lint import TopicLedger, invariant_findings, lint_response

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "data" / "schemas"
TOPIC_SYSTEM = "urn:her2-pet-cds:card-scenario"


@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def schema_validator(name: str, pointer: str = "") -> jsonschema.Draft202012Validator:
    """A validator for ``tests/data/schemas/<name>.schema.json`` (or one of its ``$defs`` via ``pointer``)."""
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    if pointer:
        schema = {"$ref": f"{schema['$id']}#{pointer}"}
    return jsonschema.Draft202012Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_errors(name: str, instance: Any, pointer: str = "") -> list[str]:
    return [e.message for e in schema_validator(name, pointer).iter_errors(instance)]


def card_problems(card: Mapping[str, Any]) -> list[str]:
    """Inferno-style card predicates (cds-hooks.md §14.2) plus cds-resp-1..6, as independent checks."""
    return [str(finding) for finding in invariant_findings(card, "card")]


TOPIC_LEDGER = TopicLedger()
"""Topic codes seen per card topic over the whole test run (Epic: a static identifier per card topic)."""


def check_service_response(body: Any) -> None:
    """Every 200 hook response the tests see: the response linter (CDS Hooks 2.0 schema and invariants, Epic's
    rules, this service's card rules; ``tests/cds_lint.py``) finds nothing."""
    findings = lint_response(body, TOPIC_LEDGER)
    assert findings == [], "\n".join(str(f) for f in findings)


def scenario_topics(body: Mapping[str, Any]) -> list[str]:
    """The scenario of each card of a response (``her2-low-no-pet``), read from its topic code."""
    names = []
    for card in body["cards"]:
        code = card["source"]["topic"]["code"]
        scenario = scenario_for_topic(code)
        names.append(scenario.value if scenario is not None else code)
    return names


def check_operation_outcome(body: Any, code: str | None = None) -> None:
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"]
    assert body["issue"][0]["severity"] == "error"
    if code is not None:
        assert body["issue"][0]["code"] == code


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth": AuthMode.OFF,
        "discovery_requires_jwt": False,
        "database_url": f"sqlite:///{tmp_path / 'cds.sqlite'}",
        "data_dir": tmp_path,
        "dicom_source": (tmp_path / "dicom").as_uri(),
        "public_url": "https://cds.test",
    }
    values.update(overrides)
    return Settings(**values)


def migrate(settings: Settings) -> None:
    """What ``her2-cds migrate`` does before the service starts (``create_app`` only checks the schema)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.database_url)
    try:
        storage.migrate()
    finally:
        storage.dispose()


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    extra = {k: overrides.pop(k) for k in ("embedded_prefetch", "pet_lookup") if k in overrides}
    settings = make_settings(tmp_path, **overrides)
    migrate(settings)
    app = create_app(settings, **extra)
    app.testing = True
    return app


def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def null_prefetch() -> dict[str, Any]:
    return {
        k: None
        for k in (
            "patient",
            "her2",
            "pathology",
            "hormone",
            "conditions",
            "imaging",
            "therapy",
            "administrations",
            "specimens",
        )
    }


def hook_request(
    hook: str = "patient-view",
    patient_id: str = "pat-1",
    *,
    prefetch: dict[str, Any] | None = None,
    draft_orders: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/prac-1", "patientId": patient_id}
    if draft_orders is not None:
        context["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": r} for r in draft_orders]}
    if selections is not None:
        context["selections"] = selections
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def medication_request(
    rid: str, *, codings: list[tuple[str, str]] = (), text: str | None = None
) -> dict[str, Any]:  # type: ignore[assignment]
    concept: dict[str, Any] = {}
    if codings:
        concept["coding"] = [{"system": s, "code": c} for s, c in codings]
    if text:
        concept["text"] = text
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/pat-1"},
        "medicationCodeableConcept": concept,
    }
