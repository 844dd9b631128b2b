"""Prefetch templates and their resolution: prefetch first, FHIR fallback second, 412 when required data is
missing.

Templates use only CDS Hooks 2.0 tokens (``cds-hooks.md`` CH-12, CH-13) and are derived from the code lists
the FHIR mapping recognises (:mod:`connectors.fhir.codes`), so a code the mapping reads is always asked for.
Resolution per key (CH-14):

- a resource or Bundle in ``prefetch`` wins (a searchset with ``link[next]`` is followed through
  ``fhirServer``, at most ``MAX_PAGES`` pages);
- ``null`` or an empty Bundle means "no data": no fallback, no 412;
- an absent key, an OperationOutcome or a malformed value (string, number) is fetched from ``fhirServer``
  with the ``fhirAuthorization`` bearer token, **only** when ``fhirServer`` exactly matches the allow-list
  (CH-10, CH-16), through the one FHIR client (:class:`connectors.fhir.client.FhirClient`). Every URL it
  sends is normalised and must lie under that base, so neither a forged ``fhirServer`` nor a ``next`` link
  nor a ``Binary`` URL can make the service send the token elsewhere. Redirects are not followed.
  ``presentedForm`` Binaries of the pathology reports are read the same way.
- a required key that cannot be obtained (no server, off-list server, no token, the server refused) → 412
  (CH-17);
- an upstream outage (timeout, connection error, 5xx, 429 whose ``Retry-After`` does not fit, hook budget
  exhausted, malformed answers) is not an error of the hook: the result is marked ``unavailable`` and the
  service answers with a ``data-unavailable`` card (``cds-hooks.md`` §13).

Time: every call of one hook shares the hook's :class:`~connectors.http.Deadline` (retries and waits
included), the missing keys are fetched concurrently, and the hook thread waits for them no longer than the
deadline: a query still running then counts as unavailable and is abandoned.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final
from urllib.parse import quote

from cds_service.errors import PreconditionFailedError
from cds_service.observability import get_logger
from cds_service.settings import Settings
from connectors.errors import (
    ConnectorError,
    DeadlineExceededError,
    InvalidSourceDataError,
    NotFoundError,
    RequestRefusedError,
)
from connectors.fhir.client import FhirClient, binary_references, binary_resource
from connectors.fhir.codes import (
    HER2_TISSUE_CODES,
    HORMONE_RECEPTOR_CODES,
    LOINC,
    PATHOLOGY_REPORT_CATEGORIES,
    PET_MODALITY,
    token_list,
)
from connectors.http import Deadline, RetryPolicy, Timeouts, make_session

__all__ = [
    "MAX_BINARIES",
    "MAX_PAGES",
    "PREFETCH_KEYS",
    "FhirAccess",
    "FhirClientFactory",
    "PrefetchKey",
    "PrefetchResolver",
    "PrefetchResult",
    "fhir_client_factory",
    "lint_template",
    "render_template",
    "templates",
]

log = get_logger(__name__)

MAX_PAGES: Final = 5
"""Upper bound on searchset pages followed per key (project rule, CH-14)."""

MAX_BINARIES: Final = 5
"""Upper bound on ``presentedForm`` Binaries read per hook (read after the searches, concurrently)."""


def _loinc(codes: tuple[str, ...]) -> str:
    return token_list(tuple((LOINC, code) for code in codes))


@dataclass(frozen=True, slots=True)
class PrefetchKey:
    """One prefetch template: ``name`` is the prefetch key, ``required`` keys give a 412 when unobtainable."""

    name: str
    template: str
    required: bool


PREFETCH_KEYS: Final[tuple[PrefetchKey, ...]] = (
    PrefetchKey("patient", "Patient/{{context.patientId}}", True),
    PrefetchKey(
        "her2",
        f"Observation?patient={{{{context.patientId}}}}&code={_loinc(HER2_TISSUE_CODES)}&_sort=-date&_count=50",
        True,
    ),
    PrefetchKey(
        "pathology",
        "DiagnosticReport?patient={{context.patientId}}&category="
        f"{token_list(PATHOLOGY_REPORT_CATEGORIES)}&_sort=-date&_count=10",
        True,
    ),
    PrefetchKey(
        "hormone",
        "Observation?patient={{context.patientId}}&code="
        f"{_loinc(HORMONE_RECEPTOR_CODES)}&_sort=-date&_count=20",
        False,
    ),
    PrefetchKey("conditions", "Condition?patient={{context.patientId}}&clinical-status=active", False),
    PrefetchKey(
        "imaging",
        f"ImagingStudy?patient={{{{context.patientId}}}}&modality={token_list((PET_MODALITY,))}"
        "&_sort=-started&_count=5",
        False,
    ),
    PrefetchKey(
        "therapy", "MedicationRequest?patient={{context.patientId}}&_sort=-authoredon&_count=100", False
    ),
    PrefetchKey(
        "administrations",
        "MedicationAdministration?patient={{context.patientId}}&_sort=-effective-time&_count=100",
        False,
    ),
    # The same reports with the Specimen each names (collection date, body site), which the cards show.
    # ``_include`` is outside the CDS Hooks recommended query subset (a SHOULD), so it lives in an optional
    # key: a client or server that cannot honour it costs the specimen details, never a 412.
    PrefetchKey(
        "specimens",
        "DiagnosticReport?patient={{context.patientId}}&category="
        f"{token_list(PATHOLOGY_REPORT_CATEGORIES)}&_sort=-date&_count=10&_include=DiagnosticReport:specimen",
        False,
    ),
)
"""The service's prefetch templates (``cds-hooks.md`` §13), shared by every service in discovery; each key,
what it brings and the FHIR scopes its fallback needs are listed in ``docs/prefetch.md``."""

_TOKEN = re.compile(r"\{\{\s*([A-Za-z.]+)\s*\}\}")
_CONTEXT_TOKENS: Final = frozenset({"patientId", "encounterId", "userId"})
_USER_TOKENS: Final = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}


def templates(overrides: Mapping[str, str] | None = None) -> tuple[PrefetchKey, ...]:
    """The prefetch keys with site overrides applied (site-specific pathology codes; unknown keys are
    ignored)."""
    overrides = overrides or {}
    return tuple(PrefetchKey(k.name, overrides.get(k.name, k.template), k.required) for k in PREFETCH_KEYS)


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Replace 2.0 tokens (CH-12) with values from ``context``; None when a token cannot be resolved.

    ``{{context.userId}}`` expands to the full reference (``Practitioner/abc``); ``{{userPractitionerId}}``
    and its siblings expand to the id part when ``userId`` has that resource type. Values are URL-encoded.
    """
    user = str(context.get("userId", ""))
    user_type, _, user_id = user.partition("/")
    failed = False

    def replace(match: re.Match[str]) -> str:
        nonlocal failed
        token = match.group(1)
        value: str | None = None
        if token.startswith("context.") and token[len("context.") :] in _CONTEXT_TOKENS:
            raw = context.get(token[len("context.") :])
            value = raw if isinstance(raw, str) and raw else None
        elif token in _USER_TOKENS and user_type == _USER_TOKENS[token] and user_id:
            value = user_id
        if value is None:
            failed = True
            return ""
        return quote(value, safe="/")

    rendered = _TOKEN.sub(replace, template)
    return None if failed or "{{" in rendered else rendered


_ALLOWED_MODIFIERS: Final = frozenset({"in"})
_ALLOWED_SPECIAL: Final = frozenset({"_id", "_count", "_sort"})
_DATE_PREFIXES: Final = ("eq", "lt", "gt", "ge", "le")
_PARAM_NAME = re.compile(r"^_?[a-z][a-z0-9-]*$")


def lint_template(template: str) -> list[str]:
    """Problems of a prefetch template against CH-12/CH-13 (empty list: conforms).

    Checks: only 2.0 tokens; a relative instance read or type-level search; parameter names are search
    parameter names with at most the ``:in`` modifier; special parameters limited to ``_id``, ``_count`` and
    ``_sort``; ``_count`` a positive integer. For example ``sort:desc=date`` fails (``_sort=-date`` is the
    FHIR form).
    """
    problems: list[str] = []
    for token in _TOKEN.findall(template):
        name = token[len("context.") :] if token.startswith("context.") else None
        if (name is None or name not in _CONTEXT_TOKENS) and token not in _USER_TOKENS:
            problems.append(f"token {{{{{token}}}}} is not a CDS Hooks 2.0 prefetch token")
    path, _, query = template.partition("?")
    if not re.fullmatch(r"[A-Z][A-Za-z]+(/[^/?]+)?", path):
        problems.append(f"'{path}' is not a relative FHIR read or type-level search")
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        base, _, modifier = name.partition(":")
        if not _PARAM_NAME.fullmatch(base):
            problems.append(f"'{name}' is not a search parameter name")
        elif base.startswith("_") and base not in _ALLOWED_SPECIAL:
            problems.append(f"'{base}' is outside the recommended query subset")
        if modifier and modifier not in _ALLOWED_MODIFIERS:
            problems.append(f"modifier ':{modifier}' is outside the recommended query subset")
        if base == "_count" and not value.isdigit():
            problems.append("_count must be a positive integer")
        if not value:
            problems.append(f"parameter '{name}' has no value")
    return problems


FhirClientFactory = Callable[[str, str, Deadline], FhirClient]
"""Builds the FHIR client of one hook: ``(allow-listed base URL, bearer token, the hook's deadline)``."""


def fhir_client_factory(settings: Settings) -> FhirClientFactory:
    """The FHIR client of each hook, over one shared session of this process.

    The session has no urllib3 retries: the client retries inside the hook's deadline, at most twice, and a
    wait (back-off or ``Retry-After``) longer than what the budget leaves is not made (``operations.md`` §9).
    Bounds: ``MAX_PAGES`` pages and ``HER2CDS_MAX_BUNDLE_ENTRIES`` entries per query,
    ``HER2CDS_MAX_REQUEST_BYTES`` per response.
    """
    session = make_session(pool_maxsize=16)
    timeouts = Timeouts(connect_s=settings.http_connect_timeout_s, read_s=settings.http_read_timeout_s)
    retry = RetryPolicy(total=2, connect=2, status=2, backoff_factor=0.05, max_wait_s=settings.budget_s)

    def build(base_url: str, token: str, deadline: Deadline) -> FhirClient:
        return FhirClient(
            base_url,
            session,
            timeouts,
            bearer_token=token,
            deadline=deadline,
            retry=retry,
            max_pages=MAX_PAGES,
            max_entries=settings.max_bundle_entries,
            max_bytes=settings.max_request_bytes,
        )

    return build


@dataclass(frozen=True, slots=True, kw_only=True)
class FhirAccess:
    """What the request allows for the fallback: the allow-listed base and the bearer token, or why not."""

    base_url: str | None
    token: str | None
    refusal: str | None = None

    @property
    def usable(self) -> bool:
        return self.base_url is not None and self.token is not None


@dataclass(slots=True)
class PrefetchResult:
    """Resources per key (``[]`` = no data). ``unavailable`` is set when the FHIR server was down or too
    slow; ``status`` records per key how it was resolved (``prefetch``, ``null``, ``fetched``,
    ``unavailable``, ``skipped``) for the hook log (never the bodies)."""

    resources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    unavailable: bool = False

    def all_resources(self) -> list[dict[str, Any]]:
        return [r for items in self.resources.values() for r in items]


def _bundle_resources(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in bundle.get("entry", []) or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") not in (None, "OperationOutcome"):
            out.append(resource)
    return out


def _has_next(bundle: Mapping[str, Any]) -> bool:
    return any(
        isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str)
        for link in bundle.get("link", []) or []
    )


def _is_usable(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("resourceType"), str)
        and (value["resourceType"] != "OperationOutcome")
    )


Outcome = list[dict[str, Any]] | ConnectorError
Job = Callable[[], list[dict[str, Any]]]

_FALLBACK_POOL: Final = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fhir-fallback")
"""Shared by the hook threads of one worker process; one task per FHIR query of a hook."""


def _refusal(error: ConnectorError) -> str | None:
    """Why the server refused (the data is unobtainable), or None when the error is an outage."""
    if isinstance(error, NotFoundError):
        return "the FHIR server found nothing at that address (HTTP 404)"
    if isinstance(error, RequestRefusedError):
        return f"the FHIR server refused the query (HTTP {error.status})"
    return None


class PrefetchResolver:
    """Resolves the prefetch keys of one hook call (see the module docstring for the rules)."""

    def __init__(
        self,
        client_factory: FhirClientFactory,
        keys: tuple[PrefetchKey, ...] = PREFETCH_KEYS,
        *,
        pool: Executor = _FALLBACK_POOL,
        on_query: Callable[[float, bool], None] | None = None,
    ) -> None:
        """``on_query`` receives the duration in seconds of every FHIR query that finished and whether it
        failed (metrics: ``upstream_request_seconds`` and ``upstream_errors_total`` for ``fhir``)."""
        self._client_factory = client_factory
        self._keys = keys
        self._pool = pool
        self._on_query = on_query

    def resolve(
        self,
        prefetch: Mapping[str, Any] | None,
        context: Mapping[str, Any],
        access: FhirAccess,
        deadline: Deadline,
    ) -> PrefetchResult:
        result = PrefetchResult()
        client = (
            self._client_factory(access.base_url, access.token, deadline)
            if access.base_url is not None and access.token is not None
            else None
        )
        provided = dict(prefetch or {})
        more_pages: dict[str, Job] = {}
        fetches: dict[str, Job] = {}
        refused: dict[str, str] = {}
        for key in self._keys:
            value = provided.get(key.name)
            if key.name in provided and value is None:
                result.resources[key.name], result.status[key.name] = [], "null"
            elif isinstance(value, dict) and _is_usable(value):
                result.status[key.name] = "prefetch"
                is_bundle = value.get("resourceType") == "Bundle"
                result.resources[key.name] = _bundle_resources(value) if is_bundle else [value]
                if client is not None and is_bundle and _has_next(value):
                    more_pages[key.name] = partial(client.next_pages, value)
            else:
                if key.name in provided:
                    log.info("prefetch value unusable, treated as absent", **{"prefetch_key": key.name})
                rendered = render_template(key.template, context)
                if rendered is None:
                    refused[key.name] = "its template cannot be resolved from the context"
                elif client is None:
                    refused[key.name] = (
                        access.refusal or "no FHIR access was granted (fhirServer and fhirAuthorization)"
                    )
                else:
                    fetches[key.name] = partial(client.fetch, rendered)
        outcomes = self._run({**{f"+{k}": j for k, j in more_pages.items()}, **fetches}, deadline)
        for name, outcome in outcomes.items():
            self._settle(name, outcome, result, refused)
        if client is not None:
            self._read_binaries(client, result, deadline)
        self._finish(refused, result)
        return result

    def _settle(self, name: str, outcome: Outcome, result: PrefetchResult, refused: dict[str, str]) -> None:
        key = name.removeprefix("+")
        if not isinstance(outcome, ConnectorError):
            if name.startswith("+"):
                result.resources[key] = result.resources[key] + outcome
            else:
                result.resources[key], result.status[key] = outcome, "fetched"
            return
        why = _refusal(outcome)
        if why is not None and not name.startswith("+"):
            refused[key] = why
            return
        log.warning(
            "FHIR fallback unavailable",
            **{"prefetch_key": key, "reason": type(outcome).__name__, "detail": str(outcome)},
        )
        result.unavailable = True
        if not name.startswith("+"):
            result.resources[key], result.status[key] = [], "unavailable"

    def _read_binaries(self, client: FhirClient, result: PrefetchResult, deadline: Deadline) -> None:
        """Read the ``presentedForm`` Binaries the pathology reports point to (narrative-only reports),
        within what is left of the deadline; the mapping reads them like inline attachments."""
        everything = result.all_resources()
        present = {f"Binary/{r.get('id')}" for r in everything if r.get("resourceType") == "Binary"}
        reports = [r for r in everything if r.get("resourceType") == "DiagnosticReport"]
        wanted = [ref for ref in binary_references(reports) if ref not in present][:MAX_BINARIES]
        jobs: dict[str, Job] = {ref: partial(_binary_job, client, ref) for ref in wanted}
        for ref, outcome in self._run(jobs, deadline).items():
            if not isinstance(outcome, ConnectorError):
                result.resources.setdefault("pathology", []).extend(outcome)
            elif _refusal(outcome) is None and not isinstance(outcome, InvalidSourceDataError):
                log.warning("FHIR Binary unavailable", **{"reason": type(outcome).__name__})
                result.unavailable = True
            else:
                log.info("FHIR Binary not read", **{"reason": type(outcome).__name__, "binary": ref})

    def _run(self, jobs: Mapping[str, Job], deadline: Deadline) -> dict[str, Outcome]:
        """Run ``jobs`` concurrently; wait no longer than the deadline. A job still running then (or never
        started) is abandoned and counts as :class:`DeadlineExceededError`; a job's connector error is its
        outcome; any other exception is a bug and is raised."""
        if not jobs:
            return {}
        futures: dict[str, Future[list[dict[str, Any]]]] = {
            name: self._pool.submit(contextvars.copy_context().run, self._timed, job)
            for name, job in jobs.items()
        }
        done, _ = wait(futures.values(), timeout=deadline.remaining_s())
        outcomes: dict[str, Outcome] = {}
        for name, future in futures.items():
            if future not in done:
                future.cancel()
                outcomes[name] = DeadlineExceededError("the FHIR query did not finish within the hook budget")
                continue
            error = future.exception()
            if error is None:
                outcomes[name] = future.result()
            elif isinstance(error, ConnectorError):
                outcomes[name] = error
            else:
                raise error
        return outcomes

    def _timed(self, job: Job) -> list[dict[str, Any]]:
        started = time.perf_counter()
        failed = True
        try:
            found = job()
            failed = False
            return found
        finally:
            if self._on_query is not None:
                self._on_query(time.perf_counter() - started, failed)

    def _finish(self, refused: Mapping[str, str], result: PrefetchResult) -> None:
        """Keys that could not be fetched: with an outage, unavailable; else 412 for a required key."""
        for key in self._keys:
            why = refused.get(key.name)
            if why is None:
                continue
            result.resources[key.name] = []
            if result.unavailable:
                result.status[key.name] = "unavailable"
            elif key.required:
                raise PreconditionFailedError(f"prefetch '{key.name}' missing and cannot be fetched: {why}")
            else:
                result.status[key.name] = "skipped"


def _binary_job(client: FhirClient, ref: str) -> list[dict[str, Any]]:
    return [binary_resource(ref.split("/", 1)[1], client.binary(ref))]
