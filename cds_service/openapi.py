"""OpenAPI 3.1 description of the service (``operations.md`` §11), generated from the pydantic wire models.

Served at ``/openapi.json``. Documents discovery, each service's calls and feedback with their
400/401/404/412/413/415 OperationOutcome answers, plus the operational endpoints. Each service has its own
path: its request body names the service's one hook, the context model of that hook's handler and the
prefetch keys the service asks for, so a fuzzer (``make fuzz``) reaches past request validation into the
hook. The JSON Schemas come from the same models that validate requests, so the document cannot drift
from the code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cds_service.hooks.models import CdsRequest, CdsResponse, DiscoveryResponse, FeedbackRequest
from cds_service.hooks.prefetch import PrefetchKey
from cds_service.hooks.registry import SERVICES, ServiceSpec
from cds_service.settings import AuthMode
from rules.parameters import RULES_VERSION

bp = Blueprint("openapi", __name__)

_OPERATION_OUTCOME: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                },
            },
        },
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}},
    }


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


_FHIR_RESOURCE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string", "minLength": 1}, "id": {"type": "string"}},
    "additionalProperties": True,
}
_FHIR_BUNDLE: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {"const": "Bundle"},
        "type": {"type": "string"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"resource": {"$ref": "#/components/schemas/FhirResource"}},
            },
        },
    },
}


def _service_request(spec: ServiceSpec, keys: tuple[PrefetchKey, ...]) -> dict[str, Any]:
    """The request body of one service: its hook, its handler's context model, its prefetch keys."""
    context = spec.handler.context_model.__name__
    prefetch = {
        key.name: {
            "description": f"Prefetch template: {key.template}",
            "anyOf": [
                {"$ref": "#/components/schemas/FhirBundle"},
                {"$ref": "#/components/schemas/FhirResource"},
                {"type": "null"},
            ],
        }
        for key in keys
    }
    return {
        "allOf": [{"$ref": "#/components/schemas/CdsRequest"}],
        "type": "object",
        "required": ["hook", "hookInstance", "context"],
        "properties": {
            "hook": {"const": spec.handler.hook.value},
            "context": {"$ref": f"#/components/schemas/{context}"},
            "prefetch": {
                "anyOf": [
                    {"type": "object", "properties": prefetch, "additionalProperties": True},
                    {"type": "null"},
                ]
            },
        },
    }


def build_openapi(
    server_url: str | None = None,
    keys: tuple[PrefetchKey, ...] = (),
    *,
    jwt_required: bool = True,
    discovery_jwt_required: bool = True,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this deployment (``keys``: its prefetch keys; ``jwt_required`` false with
    ``HER2CDS_AUTH=off``, where no operation asks for a token)."""
    models: list[type[BaseModel]] = [CdsRequest, CdsResponse, DiscoveryResponse, FeedbackRequest]
    models += sorted({s.handler.context_model for s in SERVICES}, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [(m, "validation") for m in models],
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = dict(schemas.get("$defs", {}))
    components["OperationOutcome"] = _OPERATION_OUTCOME
    components["FhirResource"] = _FHIR_RESOURCE
    components["FhirBundle"] = _FHIR_BUNDLE
    security: list[dict[str, list[str]]] = [{"cdsClientJwt": []}] if jwt_required else []
    discovery_security = security if discovery_jwt_required else []
    common = {
        "401": {"description": "Missing, invalid or untrusted JWT (no detail)", **_error("Unauthorized")},
        "413": _error("Request body larger than the configured limit"),
        "415": _error("Body is not JSON"),
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "HER2 PET CDS Hooks service",
            "version": RULES_VERSION,
            "description": (
                "CDS Hooks 2.0 service prompting a review of T-DXd eligibility from HER2 pathology and HER2 "
                "PET. Every non-2xx answer is a FHIR OperationOutcome."
            ),
        },
        "paths": {
            "/cds-services": {
                "get": {
                    "summary": "Discovery",
                    "security": discovery_security,
                    "responses": {
                        "200": {"description": "Services", "content": _json("DiscoveryResponse")},
                        **common,
                    },
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "Process alive"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness (settings loaded, database reachable; cached)",
                    "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}},
                }
            },
            "/metrics": {
                "get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Metrics"}}}
            },
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cdsClientJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "CDS Hooks client JWT (ES384/RS384); aud is the URL called",
                }
            },
        },
    }
    for spec in SERVICES:
        components[f"Request-{spec.id}"] = _service_request(spec, keys)
        doc["paths"][f"/cds-services/{spec.id}"] = {
            "post": {
                "summary": f"{spec.title}: the {spec.handler.hook.value} hook",
                "description": spec.description,
                "operationId": f"call-{spec.id}",
                "security": security,
                "requestBody": {"required": True, "content": _json(f"Request-{spec.id}")},
                "responses": {
                    "200": {"description": "Cards (possibly none)", "content": _json("CdsResponse")},
                    "400": _error("Malformed request; the diagnostics name the field"),
                    "412": _error("Required FHIR data could not be obtained"),
                    **common,
                },
            }
        }
        doc["paths"][f"/cds-services/{spec.id}/feedback"] = {
            "post": {
                "summary": f"Card feedback for {spec.id}",
                "operationId": f"feedback-{spec.id}",
                "security": security,
                "requestBody": {"required": True, "content": _json("FeedbackRequest")},
                "responses": {
                    "200": {"description": "Stored (empty body)"},
                    "400": _error("Malformed feedback"),
                    **common,
                },
            }
        }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


def _type_name(prop: dict[str, Any]) -> str:
    """A JSON Schema member's type in a few words (``string``, ``Card``, ``string or null``)."""
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_type_name(option) for option in prop["anyOf"])
    kind = prop.get("type", "object")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"array of {_type_name(prop['items'])}"
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _schema_lines(name: str, schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = [f"### `{name}`", ""]
    if schema.get("description"):
        lines += [" ".join(str(schema["description"]).split()), ""]
    properties: dict[str, Any] = schema.get("properties", {})
    if properties:
        lines += ["| member | required | type |", "|---|---|---|"]
        for member, prop in properties.items():
            lines.append(f"| `{member}` | {'yes' if member in required else 'no'} | {_type_name(prop)} |")
        lines.append("")
    return lines


def markdown_reference(doc: dict[str, Any]) -> str:
    """The OpenAPI document as a Markdown API reference (``docs/api.md``, ``her2-cds openapi --markdown``)."""
    info = doc["info"]
    lines = [
        "# API reference",
        "",
        "<!-- Generated by `her2-cds openapi --markdown > docs/api.md`; a test fails when it is stale. -->",
        "",
        " ".join(info["description"].split()),
        f"The machine-readable document is served at `/openapi.json` (OpenAPI {doc['openapi']}).",
        "",
        "## Endpoints",
        "",
    ]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            lines += [f"### `{method.upper()} {path}`", "", op["summary"] + ".", ""]
            if op.get("security"):
                lines += [
                    "Authentication: `Authorization: Bearer <CDS client JWT>` (aud = the URL called).",
                    "",
                ]
            for param in op.get("parameters", []):
                values = ", ".join(f"`{v}`" for v in param["schema"].get("enum", []))
                lines += [f"Path parameter `{param['name']}`: one of {values}.", ""]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                model = _type_name(body)
                lines += [f"Request body: [`{model}`](#{model.lower()}).", ""]
            lines += ["| status | meaning |", "|---|---|"]
            for status, answer in sorted(op["responses"].items()):
                lines.append(f"| {status} | {answer['description']} |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in sorted(doc["components"]["schemas"].items()):
        lines += _schema_lines(name, schema)
    return "\n".join(lines).rstrip() + "\n"


@bp.get("/openapi.json")
def openapi() -> Response:
    from cds_service.hooks.routes import components

    parts = components()
    settings = parts.settings
    doc = build_openapi(
        settings.public_url,
        parts.prefetch_keys,
        jwt_required=settings.auth is AuthMode.JWT,
        discovery_jwt_required=settings.auth is AuthMode.JWT and settings.discovery_requires_jwt,
    )
    return jsonify(doc)
