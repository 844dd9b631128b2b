"""CDS Hooks routes: discovery, service calls and feedback (``cds-hooks.md`` §3, §4, §7, §8).

Order of checks on a service call: unknown id → 404; JWT → 401 (bare); body not JSON → 400/415; request
model and hook-specific context → 400 naming the field; hook not registered for the id → 400; then the hook
runs (412 when required data cannot be obtained). Every call is logged with ids and timings only (no
tokens, no PHI, no bodies) and audited in the database.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import ValidationError

from cds_service.errors import (
    BadRequestError,
    HttpError,
    MissingFieldError,
    NotFoundError,
    PreconditionFailedError,
    UnprocessableError,
    UnsupportedMediaTypeError,
)
from cds_service.hooks.models import (
    CdsRequest,
    CdsResponse,
    FeedbackRequest,
    Hook,
    describe_validation_error,
)
from cds_service.hooks.registry import (
    EXTENSION_KEY,
    Components,
    ServiceSpec,
    discovery_document,
    service_for,
    services_for,
)
from cds_service.hooks.service import CallerIdentity
from cds_service.observability import bind_request_context, clear_request_context, get_logger
from cds_service.storage.store import (
    AuditedCard,
    FeedbackOutcome,
    FeedbackRecord,
    HookAuditRecord,
    HookOutcome,
)
from rules.parameters import RULES_VERSION

log = get_logger(__name__)

bp = Blueprint("cds_hooks", __name__)


def components() -> Components:
    return cast(Components, current_app.extensions[EXTENSION_KEY])


def _authenticate(parts: Components, path: str) -> CallerIdentity | None:
    if parts.authenticate is None:
        return None
    audience = parts.settings.base_url + path
    return parts.authenticate(request.headers.get("Authorization"), audience)


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaTypeError("the body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if body is None:
        raise BadRequestError("the body is not valid JSON")
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return body


def _validate(model: type[Any], data: Any, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        missing, message = describe_validation_error(exc, prefix)
        raise (MissingFieldError if missing else BadRequestError)(message) from exc


@bp.get("/cds-services")
def discovery() -> Response:
    """Discovery (CH-4, CH-5); carries the client JWT unless ``HER2CDS_DISCOVERY_REQUIRES_JWT=false``
    (CH-7)."""
    parts = components()
    if parts.settings.discovery_requires_jwt:
        _authenticate(parts, "/cds-services")
    return jsonify(discovery_document(parts.prefetch_keys).dump())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """A hook call (CH-8..CH-19): 200 ``{"cards": [...]}`` or an OperationOutcome error."""
    parts = components()
    started = time.monotonic()
    received = dt.datetime.now(dt.UTC)
    if not services_for(service_id):
        raise NotFoundError(f"unknown service id '{service_id}'")
    caller = _authenticate(parts, f"/cds-services/{service_id}")
    cds_request: CdsRequest = _validate(CdsRequest, _json_body())
    bind_request_context(
        hook_instance=str(cds_request.hookInstance), hook=cds_request.hook, service_id=service_id
    )
    audit = _Audit(parts, service_id, cds_request, caller, received, started)
    try:
        spec = service_for(service_id, cds_request.hook)
        if spec is None:
            raise BadRequestError(f"hook '{cds_request.hook}' is not registered for service '{service_id}'")
        context = _validate_context(spec, cds_request.context)
        result = parts.hook_service.handle(spec.handler, cds_request, context, caller, started=started)
    except HttpError as exc:
        audit.finish(_OUTCOMES.get(type(exc), HookOutcome.BAD_REQUEST), ())
        raise
    body = CdsResponse(cards=result.cards).dump()
    topics = tuple((c.uuid or "", c.source.topic.code if c.source.topic else None) for c in result.cards)
    audit.finish(HookOutcome.CARDS if result.cards else HookOutcome.NO_CARDS, topics, result.prefetch_status)
    return jsonify(body)


def _validate_context(spec: ServiceSpec, context: dict[str, Any]) -> Any:
    try:
        return spec.handler.context_model.model_validate(context)
    except ValidationError as exc:
        missing, message = describe_validation_error(exc, "context")
        raise (MissingFieldError if missing else BadRequestError)(message) from exc


_OUTCOMES: dict[type[HttpError], HookOutcome] = {
    PreconditionFailedError: HookOutcome.PRECONDITION_FAILED,
    UnprocessableError: HookOutcome.UNPROCESSABLE,
}


class _Audit:
    """Logs and audits one hook call (no PHI): ids, timings, prefetch status per key, card uuids and
    topics."""

    def __init__(
        self,
        parts: Components,
        service_id: str,
        req: CdsRequest,
        caller: CallerIdentity | None,
        received: dt.datetime,
        started: float,
    ) -> None:
        self.parts, self.service_id, self.req, self.caller = parts, service_id, req, caller
        self.received, self.started = received, started

    def finish(
        self,
        outcome: HookOutcome,
        cards: tuple[tuple[str, str | None], ...],
        prefetch_status: dict[str, str] | None = None,
    ) -> None:
        duration_ms = (time.monotonic() - self.started) * 1000.0
        if self.parts.metrics is not None:
            known = self.req.hook if self.req.hook in {h.value for h in Hook} else "unknown"
            self.parts.metrics.record_hook(self.service_id, known, outcome.value)
            self.parts.metrics.observe_hook(
                self.service_id, outcome.value, duration_ms / 1000.0, budget_s=self.parts.settings.budget_s
            )
            self.parts.metrics.record_cards(t for _, t in cards if t)
        log.info(
            "hook call",
            **{
                "hook_instance": str(self.req.hookInstance),
                "hook": self.req.hook,
                "service_id": self.service_id,
                "iss": self.caller.iss if self.caller else None,
                "tenant": self.caller.tenant if self.caller else None,
                "outcome": outcome.value,
                "duration_ms": round(duration_ms, 1),
                "prefetch_keys": ",".join(f"{k}={v}" for k, v in (prefetch_status or {}).items()),
                "cards": [{"uuid": u, "topic": t} for u, t in cards],
            },
        )
        if self.parts.storage is None:
            return
        try:
            self.parts.storage.record_hook(
                HookAuditRecord(
                    hook_instance=str(self.req.hookInstance),
                    service_id=self.service_id,
                    hook=self.req.hook,
                    received_at=self.received,
                    duration_ms=duration_ms,
                    outcome=outcome,
                    rules_version=RULES_VERSION,
                    cards=tuple(AuditedCard(uuid=u, topic=t) for u, t in cards),
                    iss=self.caller.iss if self.caller else None,
                    tenant=self.caller.tenant if self.caller else None,
                )
            )
        except Exception:  # the audit must not turn guidance into an error; the failure is logged
            log.exception("hook audit could not be stored")


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Feedback (CH-27..CH-29): stored, then 200 with an empty body; 400 for malformed feedback."""
    parts = components()
    if not services_for(service_id):
        raise NotFoundError(f"unknown service id '{service_id}'")
    _authenticate(parts, f"/cds-services/{service_id}/feedback")
    body: FeedbackRequest = _validate(FeedbackRequest, _json_body())
    records = [
        FeedbackRecord(
            card_uuid=item.card,
            service_id=service_id,
            outcome=FeedbackOutcome(item.outcome),
            outcome_timestamp=item.timestamp_utc,
            accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
            override_code=item.overrideReason.reason.code
            if item.overrideReason and item.overrideReason.reason
            else None,
            override_system=(
                item.overrideReason.reason.system
                if item.overrideReason and item.overrideReason.reason
                else None
            ),
            override_display=(
                item.overrideReason.reason.display
                if item.overrideReason and item.overrideReason.reason
                else None
            ),
            user_comment=item.overrideReason.userComment if item.overrideReason else None,
        )
        for item in body.feedback
    ]
    if parts.storage is not None:
        parts.storage.record_feedback(records)
    if parts.metrics is not None:
        for rec in records:
            parts.metrics.record_feedback(service_id, str(rec.outcome))
    for rec in records:
        log.info(
            "card feedback",
            **{
                "card_uuid": rec.card_uuid,
                "service_id": service_id,
                "outcome": str(rec.outcome),
                "override_code": rec.override_code,
                "outcome_timestamp": rec.outcome_timestamp.isoformat(),
            },
        )
    return Response(status=200)


def register_request_context(app: Flask) -> None:
    """Clear the per-request log context (``hook_instance``, ``hook``, ``service_id``) after every request."""

    @app.teardown_request
    def _clear(_exc: BaseException | None) -> None:
        clear_request_context()
