"""CDS Hooks routes: discovery, service calls and feedback (``cds-hooks.md`` §3, §4, §7, §8).

Order of checks on a service call: unknown id → 404; JWT → 401 (bare); body not JSON → 400/415; request
model and hook-specific context → 400 naming the field; hook not registered for the id → 400; then the hook
runs (412 when required data cannot be obtained). Every call is logged with ids and timings only (no
tokens, no PHI, no bodies) and audited in the database.

**One write per call.** Whatever its outcome, a service call that passed the JWT check ends with one
transaction (``Storage.record_call``): its token id, its audit record (when the request could be read) and
the evidence snapshot its cards link to; the answer leaves only after the commit. When that write finds the
token id already taken (the same token raced by another worker or replica), the call is refused with 401
instead. When it fails otherwise, the token id is recorded alone so that the answer can still go out,
without its audit row and without the evidence link; only if even that fails is the call refused (fail
closed, as for any replay check that cannot be made). Feedback is written the same way, in one durable
transaction with its token id, acknowledged after the commit.
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
    InputLimitError,
    MissingFieldError,
    NotFoundError,
    PreconditionFailedError,
    UnauthorizedError,
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
from cds_service.hooks.service import CallerIdentity, EvidenceLink, HookResult
from cds_service.observability import bind_request_context, clear_request_context, get_logger
from cds_service.storage.store import (
    AuditedCard,
    FeedbackOutcome,
    FeedbackRecord,
    HookAuditRecord,
    HookOutcome,
    ReplayedTokenError,
)
from connectors.json_limits import JsonLimitError, JsonLimits, LimitKind, loads_within
from rules.parameters import RULES_VERSION

log = get_logger(__name__)

bp = Blueprint("cds_hooks", __name__)


def components() -> Components:
    return cast(Components, current_app.extensions[EXTENSION_KEY])


def _authenticate(parts: Components, path: str, *, writes: bool) -> CallerIdentity | None:
    """The verified caller (``None`` with authentication off). ``writes``: the endpoint records the token id
    in its own write (``CallerIdentity.token_use``); otherwise it is recorded now."""
    if parts.client_auth is None:
        return None
    audience = parts.settings.base_url + path
    consume = not writes or parts.storage is None
    return parts.client_auth.authenticate(request.headers.get("Authorization"), audience, consume=consume)


def _json_body(parts: Components) -> Any:
    """The JSON object of the request, within the input limits: 415 when not JSON, 413 over
    ``HER2CDS_MAX_REQUEST_BYTES`` (Werkzeug, from ``MAX_CONTENT_LENGTH``), 400 when malformed or beyond the
    depth, Bundle-entry or string limits (checked before anything else is done with it)."""
    if not request.is_json:
        raise UnsupportedMediaTypeError("the body must be JSON (Content-Type: application/json)")
    settings = parts.settings
    limits = JsonLimits(
        max_depth=settings.max_json_depth,
        max_entries=settings.max_bundle_entries,
        max_string_chars=settings.max_narrative_chars,
    )
    try:
        body = loads_within(request.get_data(cache=False), limits)
    except JsonLimitError as exc:
        if exc.kind is LimitKind.SYNTAX:
            raise BadRequestError("the body is not valid JSON") from exc
        raise InputLimitError(f"the body is over an input limit: {exc}") from exc
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
        _authenticate(parts, "/cds-services", writes=False)
    return jsonify(discovery_document(parts.prefetch_keys).dump())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """A hook call (CH-8..CH-19): 200 ``{"cards": [...]}`` or an OperationOutcome error."""
    parts = components()
    started = time.monotonic()
    received = dt.datetime.now(dt.UTC)
    if not services_for(service_id):
        raise NotFoundError(f"unknown service id '{service_id}'")
    path = f"/cds-services/{service_id}"
    call = _Call(parts, service_id, path, _authenticate(parts, path, writes=True), received, started)
    try:
        result = _run_hook(parts, call)
    except HttpError as exc:
        call.finish(_OUTCOMES.get(type(exc), HookOutcome.BAD_REQUEST))
        raise
    except Exception:
        call.finish(HookOutcome.ERROR)
        raise
    body = CdsResponse(cards=result.cards).dump()
    topics = tuple((c.uuid or "", c.source.topic.code if c.source.topic else None) for c in result.cards)
    outcome = HookOutcome.CARDS if result.cards else HookOutcome.NO_CARDS
    if not call.finish(outcome, topics, result.prefetch_status, result.evidence) and result.evidence:
        _drop_link(body, result.evidence.url)
    return jsonify(body)


def _run_hook(parts: Components, call: _Call) -> HookResult:
    cds_request: CdsRequest = _validate(CdsRequest, _json_body(parts))
    call.request = cds_request
    bind_request_context(
        hook_instance=str(cds_request.hookInstance), hook=cds_request.hook, service_id=call.service_id
    )
    spec = service_for(call.service_id, cds_request.hook)
    if spec is None:
        raise BadRequestError(f"hook '{cds_request.hook}' is not registered for service '{call.service_id}'")
    context = _validate_context(spec, cds_request.context)
    return parts.hook_service.handle(spec.handler, cds_request, context, call.caller, started=call.started)


def _drop_link(body: dict[str, Any], url: str) -> None:
    """Remove the evidence link ``url`` from the cards of ``body`` (its snapshot could not be stored)."""
    for card in body.get("cards", []):
        links = [link for link in card.get("links", []) if link.get("url") != url]
        if links:
            card["links"] = links
        else:
            card.pop("links", None)


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


class _Call:
    """One hook call's ending: its one write (token id, audit record, evidence snapshot), then its log line
    and metrics (ids, timings, prefetch status per key, card uuids and topics; no PHI)."""

    def __init__(
        self,
        parts: Components,
        service_id: str,
        path: str,
        caller: CallerIdentity | None,
        received: dt.datetime,
        started: float,
    ) -> None:
        self.parts, self.service_id, self.path, self.caller = parts, service_id, path, caller
        self.received, self.started = received, started
        self.request: CdsRequest | None = None

    def finish(
        self,
        outcome: HookOutcome,
        cards: tuple[tuple[str, str | None], ...] = (),
        prefetch_status: dict[str, str] | None = None,
        evidence: EvidenceLink | None = None,
    ) -> bool:
        """Write, then log the call; ``True`` when the audit record and evidence snapshot were stored.

        Raises ``UnauthorizedError`` when the token id cannot be recorded (a replay, or no database).
        """
        duration_ms = (time.monotonic() - self.started) * 1000.0
        stored = self._write(self._record(outcome, cards, duration_ms), evidence)
        if self.request is None:
            return stored
        if self.parts.metrics is not None:
            known = self.request.hook if self.request.hook in {h.value for h in Hook} else "unknown"
            self.parts.metrics.record_hook(self.service_id, known, outcome.value)
            self.parts.metrics.observe_hook(
                self.service_id, outcome.value, duration_ms / 1000.0, budget_s=self.parts.settings.budget_s
            )
            self.parts.metrics.record_cards(t for _, t in cards if t)
        log.info(
            "hook call",
            **{
                "hook_instance": str(self.request.hookInstance),
                "hook": self.request.hook,
                "service_id": self.service_id,
                "iss": self.caller.iss if self.caller else None,
                "tenant": self.caller.tenant if self.caller else None,
                "outcome": outcome.value,
                "duration_ms": round(duration_ms, 1),
                "prefetch_keys": ",".join(f"{k}={v}" for k, v in (prefetch_status or {}).items()),
                "cards": [{"uuid": u, "topic": t} for u, t in cards],
            },
        )
        return stored

    def _record(
        self, outcome: HookOutcome, cards: tuple[tuple[str, str | None], ...], duration_ms: float
    ) -> HookAuditRecord | None:
        if self.request is None:
            return None
        return HookAuditRecord(
            hook_instance=str(self.request.hookInstance),
            service_id=self.service_id,
            hook=self.request.hook,
            received_at=self.received,
            duration_ms=duration_ms,
            outcome=outcome,
            rules_version=RULES_VERSION,
            cards=tuple(AuditedCard(uuid=u, topic=t) for u, t in cards),
            iss=self.caller.iss if self.caller else None,
            tenant=self.caller.tenant if self.caller else None,
        )

    def _write(self, record: HookAuditRecord | None, evidence: EvidenceLink | None) -> bool:
        """The call's one transaction; ``False`` when the audit record and snapshot could not be stored."""
        storage = self.parts.storage
        token = self.caller.token_use if self.caller is not None else None
        if storage is None:
            return False
        if record is None and token is None and evidence is None:
            return True
        try:
            storage.record_call(
                record, token=token, evidence=(evidence.snapshot,) if evidence is not None else ()
            )
        except ReplayedTokenError:
            raise _refuse(self.parts, self.caller, self.path, replayed=True) from None
        except Exception:  # the audit and the link must not turn guidance into an error: logged, answered
            log.exception("hook audit and evidence could not be stored")
            _record_token_alone(self.parts, self.caller, self.path)
            return False
        return True


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Feedback (CH-27..CH-29): stored, then 200 with an empty body; 400 for malformed feedback.

    The items and the call's token id are written in one durable transaction, before the acknowledgement.
    A call refused before that write (malformed feedback) still records its token id.
    """
    parts = components()
    if not services_for(service_id):
        raise NotFoundError(f"unknown service id '{service_id}'")
    path = f"/cds-services/{service_id}/feedback"
    caller = _authenticate(parts, path, writes=True)
    try:
        records = _feedback_records(service_id, _validate(FeedbackRequest, _json_body(parts)))
    except Exception:
        _record_token_alone(parts, caller, path)
        raise
    if parts.storage is not None:
        try:
            parts.storage.record_feedback(records, token=caller.token_use if caller else None)
        except ReplayedTokenError:
            raise _refuse(parts, caller, path, replayed=True) from None
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
    return _empty_ok()


def _empty_ok() -> Response:
    """200 with an empty body (CH-29): no ``Content-Type`` at all, since there is no content to type."""
    response = Response(status=200)
    del response.headers["Content-Type"]
    return response


def _feedback_records(service_id: str, body: FeedbackRequest) -> list[FeedbackRecord]:
    records = []
    for item in body.feedback:
        reason = item.overrideReason.reason if item.overrideReason else None
        records.append(
            FeedbackRecord(
                card_uuid=item.card,
                service_id=service_id,
                outcome=FeedbackOutcome(item.outcome),
                outcome_timestamp=item.timestamp_utc,
                accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
                override_code=reason.code if reason else None,
                override_system=reason.system if reason else None,
                override_display=reason.display if reason else None,
                user_comment=item.overrideReason.userComment if item.overrideReason else None,
            )
        )
    return records


def _record_token_alone(parts: Components, caller: CallerIdentity | None, path: str) -> None:
    """Record the caller's token id by itself (a call ending without its usual write): 401 when another call
    took it first or when it cannot be recorded (fail closed)."""
    token = caller.token_use if caller is not None else None
    if token is None or parts.storage is None:
        return
    try:
        fresh = parts.storage.check_and_store(token.iss, token.jti, token.expires_at)
    except Exception:
        log.exception("token id could not be stored; call refused")
        raise _refuse(parts, caller, path, replayed=False) from None
    if not fresh:
        raise _refuse(parts, caller, path, replayed=True)


def _refuse(
    parts: Components, caller: CallerIdentity | None, path: str, *, replayed: bool
) -> UnauthorizedError:
    """The 401 of a call whose token id could not be recorded (counted and logged as a JWT rejection)."""
    assert parts.client_auth is not None
    assert caller is not None
    return parts.client_auth.refuse(caller, parts.settings.base_url + path, replayed=replayed)


def register_request_context(app: Flask) -> None:
    """Clear the per-request log context (``hook_instance``, ``hook``, ``service_id``) after every request."""

    @app.teardown_request
    def _clear(_exc: BaseException | None) -> None:
        clear_request_context()
