"""OpenAPI 3.1 description of the service (``operations.md`` §11), generated from the pydantic wire models.

Served at ``/openapi.json``. Documents discovery, service calls and feedback with their 400/401/404/412
(and 415, 500) OperationOutcome answers, plus the operational endpoints. The JSON Schemas come from the
same models that validate requests, so the document cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic.json_schema import models_json_schema

from cds_service.hooks.models import CdsRequest, CdsResponse, DiscoveryResponse, FeedbackRequest
from cds_service.hooks.registry import SERVICES
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


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    _, schemas = models_json_schema(
        [(m, "validation") for m in (CdsRequest, CdsResponse, DiscoveryResponse, FeedbackRequest)],
        ref_template="#/components/schemas/{model}",
    )
    components: dict[str, Any] = dict(schemas.get("$defs", {}))
    components["OperationOutcome"] = _OPERATION_OUTCOME
    security: list[dict[str, list[str]]] = [{"cdsClientJwt": []}]
    service_ids = sorted({s.id for s in SERVICES})
    id_param = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": service_ids},
    }
    common = {
        "401": {"description": "Missing, invalid or untrusted JWT (no detail)", **_error("Unauthorized")},
        "500": _error("Internal error"),
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
                    "security": security,
                    "responses": {
                        "200": {"description": "Services", "content": _json("DiscoveryResponse")},
                        **common,
                    },
                }
            },
            "/cds-services/{id}": {
                "post": {
                    "summary": "Call a CDS service (patient-view, order-select, order-sign)",
                    "security": security,
                    "parameters": [id_param],
                    "requestBody": {"required": True, "content": _json("CdsRequest")},
                    "responses": {
                        "200": {"description": "Cards (possibly none)", "content": _json("CdsResponse")},
                        "400": _error("Malformed request; the diagnostics name the field"),
                        "404": _error("Unknown service id"),
                        "412": _error("Required FHIR data could not be obtained"),
                        "415": _error("Body is not JSON"),
                        **common,
                    },
                }
            },
            "/cds-services/{id}/feedback": {
                "post": {
                    "summary": "Card feedback",
                    "security": security,
                    "parameters": [id_param],
                    "requestBody": {"required": True, "content": _json("FeedbackRequest")},
                    "responses": {
                        "200": {"description": "Stored (empty body)"},
                        "400": _error("Malformed feedback"),
                        "404": _error("Unknown service id"),
                        "415": _error("Body is not JSON"),
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
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc


@bp.get("/openapi.json")
def openapi() -> Response:
    from cds_service.hooks.routes import components

    return jsonify(build_openapi(components().settings.public_url))
