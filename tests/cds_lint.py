"""A CDS Hooks response linter: the CDS Hooks 2.0 schema, the Inferno card predicates, Epic's published rules
for CDS Hooks responses, and this project's own card rules, each finding named by its rule.

Sources of the rules:

- **CDS Hooks 2.0** (HL7, STU2 with errata 2.0.1): the project's JSON Schemas in ``tests/data/schemas`` (the
  specification publishes none), the 3.0 logical model's invariants cds-resp-1..6 and CH-2 (no null or empty
  element).
- **Epic** (Epic's CDS Hooks documentation on fhir.epic.com; read here through a public secondary copy that
  quotes it field by field, because the primary pages need an account): ``selectionBehavior`` — only ``any``
  is supported (CDS Hooks 2.0 also allows ``at-most-one``; this service sends ``any``, which both accept, and
  its suggestions are independent Tasks); suggestions — Epic supports a single action per suggestion;
  ``source.topic.code`` — alphanumeric only (``Card123``), at most 100 characters, a static identifier per
  card topic (Epic keys logging, feedback and a user's override memory on it); ``uuid`` on cards and
  suggestions — optional in CDS Hooks, required by Epic to receive feedback. Epic's other rules (RS384 tokens
  with ``jku``, the endpoint URI exactly as registered) concern requests, not responses.
- **This project** (issue 11, ``cds-hooks.md`` CH-20, CH-26): summary < 140 characters; detail at most 2,000
  characters; indicator ``info`` or ``warning`` only; ``source.label`` "HER2 PET Review (rules x.y.z)";
  ``source.topic`` in the project's system with a known code; ``source.url`` set, absolute http(s); no DICOM
  UID (dotted digits) anywhere in text a clinician reads; suggestions only ``create`` a Task or a
  ServiceRequest.

``lint_response`` returns findings; an empty list means the response passes. ``TopicLedger`` remembers the
topic code seen for each topic title across responses, so "stable per card" is checked over a whole run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

import jsonschema
from referencing import Registry, Resource

from rules.display import TOPIC_CODES

SCHEMA_DIR: Final = Path(__file__).resolve().parent / "data" / "schemas"
TOPIC_SYSTEM: Final = "urn:her2-pet-cds:card-scenario"
SUMMARY_LIMIT: Final = 140
DETAIL_LIMIT: Final = 2000
EPIC_TOPIC_CODE: Final = re.compile(r"[A-Za-z0-9]{1,100}")
DICOM_UID: Final = re.compile(r"(?<![\d.])\d+(?:\.\d+){5,}(?![\d.])")
"""Dotted-digit runs of six or more parts: DICOM UIDs (``1.2.826.0.1.3680043…``), never dates or scores."""
LABEL: Final = re.compile(r"HER2 PET Review \(rules \d+\.\d+\.\d+\)")
UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule: its id (``schema``, ``cds-resp-6``, ``epic-topic-code`` …), where, and what."""

    rule: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.path}: {self.message}"


@dataclass
class TopicLedger:
    """Topic code seen per topic title, across every response linted with this ledger (Epic: the code is a
    static identifier of a card's topic)."""

    codes: dict[str, str] = field(default_factory=dict)

    def check(self, title: str, code: str, path: str) -> list[Finding]:
        seen = self.codes.setdefault(title, code)
        if seen != code:
            return [
                Finding("epic-topic-stable", path, f"topic {title!r} carried code {seen!r} and now {code!r}")
            ]
        return []


# ------------------------------------------------------------------------------------------------------------
# CDS Hooks 2.0


@cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(
        schema, registry=_registry(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def schema_findings(name: str, instance: Any, path: str = "$") -> list[Finding]:
    """Errors of ``instance`` against ``tests/data/schemas/<name>.schema.json``."""
    return [
        Finding("schema", path + "".join(f"[{p!r}]" for p in error.absolute_path), error.message)
        for error in _validator(name).iter_errors(instance)
    ]


def _empty(value: Any, path: str) -> list[Finding]:
    """CH-2: no null or empty strings, arrays or objects below the root."""
    if value is None or value in ("", [], {}):
        return [Finding("CH-2", path, "null or empty element")]
    found: list[Finding] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _empty(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _empty(item, f"{path}[{i}]")
    return found


def _suggestion_invariants(card: Mapping[str, Any], path: str) -> list[Finding]:
    found: list[Finding] = []
    suggestions = card.get("suggestions") or []
    behaviour = card.get("selectionBehavior")
    if suggestions and behaviour not in ("at-most-one", "any"):
        found.append(Finding("cds-resp-6", path, "suggestions without selectionBehavior"))
    if behaviour == "at-most-one" and sum(bool(s.get("isRecommended")) for s in suggestions) > 1:
        found.append(Finding("cds-resp-1", path, "at-most-one with several recommended suggestions"))
    for i, suggestion in enumerate(suggestions):
        for j, action in enumerate(suggestion.get("actions") or []):
            where = f"{path}.suggestions[{i}].actions[{j}]"
            if not action.get("description"):
                found.append(Finding("cds-resp-5", where, "action without description"))
            if action.get("type") == "delete" and ("resourceId" not in action or "resource" in action):
                found.append(Finding("cds-resp-2", where, "delete needs resourceId and no resource"))
    return found


def _link_invariants(card: Mapping[str, Any], path: str) -> list[Finding]:
    found: list[Finding] = []
    for i, link in enumerate(card.get("links") or []):
        if link.get("type") not in ("absolute", "smart"):
            found.append(Finding("link-type", f"{path}.links[{i}]", "type must be absolute or smart"))
        if link.get("type") == "absolute" and "appContext" in link:
            found.append(Finding("cds-resp-3", f"{path}.links[{i}]", "appContext on an absolute link"))
    for i, reason in enumerate(card.get("overrideReasons") or []):
        if not reason.get("display"):
            where = f"{path}.overrideReasons[{i}]"
            found.append(Finding("cds-resp-4", where, "override reason without display"))
    return found


def invariant_findings(card: Mapping[str, Any], path: str) -> list[Finding]:
    """cds-resp-1..6 (3.0 logical model) and the Inferno card predicates (``cds-hooks.md`` §14.2)."""
    found = _suggestion_invariants(card, path) + _link_invariants(card, path)
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) >= SUMMARY_LIMIT:
        found.append(Finding("summary-length", path, f"summary missing or ≥ {SUMMARY_LIMIT} characters"))
    source = card.get("source")
    if not isinstance(source, dict) or not source.get("label"):
        found.append(Finding("source-label", path, "source.label missing"))
    elif "topic" in source and not (source["topic"].get("system") and source["topic"].get("code")):
        found.append(Finding("topic-coding", path, "topic Coding lacks system or code"))
    return found


# ------------------------------------------------------------------------------------------------------------
# Epic


def epic_findings(card: Mapping[str, Any], path: str, ledger: TopicLedger | None = None) -> list[Finding]:
    """Epic's rules for a card in a CDS Hooks response (see the module docstring)."""
    found: list[Finding] = []
    behaviour = card.get("selectionBehavior")
    if behaviour is not None and behaviour != "any":
        found.append(Finding("epic-selection-behavior", path, f"selectionBehavior {behaviour!r}; Epic: any"))
    for i, suggestion in enumerate(card.get("suggestions") or []):
        where = f"{path}.suggestions[{i}]"
        if len(suggestion.get("actions") or []) != 1:
            found.append(Finding("epic-one-action", where, "Epic supports exactly one action per suggestion"))
        if not suggestion.get("uuid"):
            found.append(Finding("epic-suggestion-uuid", where, "suggestion uuid needed for Epic feedback"))
    if not card.get("uuid"):
        found.append(Finding("epic-card-uuid", path, "card uuid needed for feedback"))
    topic = (card.get("source") or {}).get("topic")
    if not isinstance(topic, dict) or not topic.get("code"):
        found.append(Finding("epic-topic-code", path, "source.topic.code missing"))
        return found
    code = str(topic["code"])
    if not EPIC_TOPIC_CODE.fullmatch(code):
        found.append(
            Finding("epic-topic-code", path, f"topic code {code!r} is not 1–100 alphanumeric characters")
        )
    if ledger is not None:
        found += ledger.check(str(topic.get("display") or code), code, path)
    return found


# ------------------------------------------------------------------------------------------------------------
# This project


def _texts(card: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    yield "summary", str(card.get("summary") or "")
    yield "detail", str(card.get("detail") or "")
    for i, link in enumerate(card.get("links") or []):
        yield f"links[{i}].label", str(link.get("label") or "")
    for i, suggestion in enumerate(card.get("suggestions") or []):
        yield f"suggestions[{i}].label", str(suggestion.get("label") or "")


def _source_findings(card: Mapping[str, Any], path: str) -> list[Finding]:
    found: list[Finding] = []
    source = card.get("source") or {}
    if not LABEL.fullmatch(str(source.get("label") or "")):
        found.append(Finding("source-label", path, "source.label must be 'HER2 PET Review (rules x.y.z)'"))
    if not re.match(r"https?://[^/\s]+", str(source.get("url") or "")):
        found.append(Finding("source-url", path, "source.url must be an absolute http(s) URL"))
    topic = source.get("topic") or {}
    if topic.get("system") != TOPIC_SYSTEM or topic.get("code") not in TOPIC_CODES.values():
        message = f"topic must be a {TOPIC_SYSTEM} code of rules.display.TOPIC_CODES"
        found.append(Finding("topic", path, message))
    return found


def project_findings(card: Mapping[str, Any], path: str) -> list[Finding]:
    """This service's own card rules (issue 11; ``cds-hooks.md`` CH-20, CH-26)."""
    found = _source_findings(card, path)
    if len(str(card.get("detail") or "")) > DETAIL_LIMIT:
        found.append(Finding("detail-length", path, f"detail longer than {DETAIL_LIMIT} characters"))
    if card.get("indicator") not in ("info", "warning"):
        found.append(Finding("indicator", path, "indicator must be info or warning (CH-26)"))
    if not UUID.fullmatch(str(card.get("uuid") or "")):
        found.append(Finding("card-uuid", path, "uuid must be a UUID"))
    found += [
        Finding("no-dicom-uid", f"{path}.{where}", "DICOM UID in card text")
        for where, text in _texts(card)
        if DICOM_UID.search(text)
    ]
    for i, suggestion in enumerate(card.get("suggestions") or []):
        for action in suggestion.get("actions") or []:
            kind = (action.get("resource") or {}).get("resourceType")
            if action.get("type") != "create" or kind not in ("Task", "ServiceRequest"):
                where = f"{path}.suggestions[{i}]"
                found.append(Finding("suggestion", where, "only create a Task or ServiceRequest"))
    return found


# ------------------------------------------------------------------------------------------------------------
# Entry points


def lint_card(
    card: Mapping[str, Any], path: str = "card", ledger: TopicLedger | None = None
) -> list[Finding]:
    """Every rule for one card (schema, CDS Hooks invariants, Epic, project)."""
    return (
        schema_findings("card", card, path)
        + _empty(card, path)
        + invariant_findings(card, path)
        + epic_findings(card, path, ledger)
        + project_findings(card, path)
    )


def lint_response(body: Any, ledger: TopicLedger | None = None) -> list[Finding]:
    """Every rule for one hook response body (200): schema, ``cards`` array, no ``systemActions``, each
    card."""
    found = schema_findings("response", body)
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return [*found, Finding("cards", "$", "cards must be an array")]
    if "systemActions" in body:
        found.append(Finding("system-actions", "$", "this service never sends systemActions (CH-19)"))
    for i, card in enumerate(body["cards"]):
        found += lint_card(card, f"cards[{i}]", ledger)
    return found
