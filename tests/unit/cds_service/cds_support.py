"""Shared helpers for the CDS Hooks service tests: settings and app factories, request builders, and the
response checks (project JSON Schemas + Inferno-style card predicates) applied to every response tests see.
"""

from __future__ import annotations

import json
import re
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


def _suggestion_problems(card: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    suggestions = card.get("suggestions") or []
    if suggestions and card.get("selectionBehavior") not in ("at-most-one", "any"):
        problems.append("cds-resp-6: suggestions without selectionBehavior")
    if (
        card.get("selectionBehavior") == "at-most-one"
        and sum(bool(s.get("isRecommended")) for s in suggestions) > 1
    ):
        problems.append("cds-resp-1")
    actions = [a for s in suggestions for a in s.get("actions") or []]
    problems += ["cds-resp-5: action without description" for a in actions if not a.get("description")]
    problems += [
        "cds-resp-2"
        for a in actions
        if a.get("type") == "delete" and ("resourceId" not in a or "resource" in a)
    ]
    return problems


def _link_problems(card: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for link in card.get("links") or []:
        if link.get("type") not in ("absolute", "smart"):
            problems.append("link type not absolute|smart")
        if link.get("type") == "absolute" and "appContext" in link:
            problems.append("cds-resp-3: appContext on absolute link")
    problems += [
        "cds-resp-4: override reason without display"
        for r in card.get("overrideReasons") or []
        if not r.get("display")
    ]
    return problems


def card_problems(card: Mapping[str, Any]) -> list[str]:
    """Inferno-style card predicates (cds-hooks.md §14.2) plus cds-resp-1..6, as independent checks."""
    problems: list[str] = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) >= 140:
        problems.append("summary missing or >= 140 characters")
    if card.get("indicator") not in ("info", "warning", "critical"):
        problems.append("indicator not in info|warning|critical")
    source = card.get("source")
    if not isinstance(source, dict) or not source.get("label"):
        problems.append("source.label missing")
    elif "topic" in source and not (source["topic"].get("system") and source["topic"].get("code")):
        problems.append("topic Coding lacks system or code")
    return problems + _suggestion_problems(card) + _link_problems(card)


def _no_empty(value: Any, path: str = "$") -> list[str]:
    """CH-2: no null or empty elements (strings, arrays, objects) anywhere below the response root."""
    found: list[str] = []
    if value is None or value in ("", [], {}):
        return [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _no_empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _no_empty(item, f"{path}[{i}]")
    return found


def check_service_response(body: Any) -> None:
    """Every 200 hook response: response schema, card predicates, and this service's own rules (CH-26)."""
    assert schema_errors("response", body) == []
    assert isinstance(body["cards"], list)
    assert "systemActions" not in body
    for i, card in enumerate(body["cards"]):
        assert card_problems(card) == [], card
        assert _no_empty(card, f"cards[{i}]") == []
        assert card["indicator"] in ("info", "warning")
        assert re.fullmatch(r"[0-9a-f-]{36}", card["uuid"])
        assert card["source"]["topic"]["system"] == TOPIC_SYSTEM
        assert re.fullmatch(r"HER2 PET Review \(rules \d+\.\d+\.\d+\)", card["source"]["label"])
        for suggestion in card.get("suggestions", []):
            for action in suggestion["actions"]:
                assert action["type"] == "create"
                assert action["resource"]["resourceType"] in ("Task", "ServiceRequest")


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
