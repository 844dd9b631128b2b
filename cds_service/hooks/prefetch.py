"""Prefetch templates and their resolution: prefetch first, FHIR fallback second, 412 when required data is
missing.

Templates use only CDS Hooks 2.0 tokens (``cds-hooks.md`` CH-12, CH-13). Resolution per key (CH-14):

- a resource or Bundle in ``prefetch`` wins (a searchset with ``link[next]`` is followed through
  ``fhirServer``, at most ``MAX_PAGES`` pages);
- ``null`` or an empty Bundle means "no data": no fallback, no 412;
- an absent key, an OperationOutcome or a malformed value (string, number) is fetched from ``fhirServer``
  with the ``fhirAuthorization`` bearer token, **only** when ``fhirServer`` exactly matches the allow-list
  (CH-10, CH-16). Any other host is never contacted, so neither a forged ``fhirServer`` nor a ``next`` link
  can make the service send the token elsewhere (no server-side request forgery). Redirects are not
  followed.
- a required key that cannot be obtained (no server, off-list server, no token, the server refused) → 412
  (CH-17);
- an upstream outage (timeout, connection error, 5xx, hook budget exhausted) is not an error of the hook:
  the result is marked ``unavailable`` and the service answers with a ``data-unavailable`` card
  (``cds-hooks.md`` §13).
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Protocol
from urllib.parse import quote

import requests

from cds_service.errors import PreconditionFailedError
from cds_service.observability import get_logger
from cds_service.settings import normalise_base_url

log = get_logger(__name__)

MAX_PAGES: Final = 5
"""Upper bound on searchset pages followed per key (project rule, CH-14)."""

_LOINC = "http://loinc.org|"
_V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074|"
_HER2_LOINC = (
    "85319-2",
    "18474-7",
    "72383-3",
    "85318-4",
    "31150-6",
    "96893-3",
    "49683-6",
    "74860-8",
    "74861-6",
    "48676-1",
)
_HR_LOINC = ("85337-4", "40556-3", "16112-5", "85329-1", "85339-0", "40557-1", "16113-3", "85325-9")


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
        "Observation?patient={{context.patientId}}&code="
        + ",".join(_LOINC + c for c in _HER2_LOINC)
        + "&_sort=-date&_count=50",
        True,
    ),
    PrefetchKey(
        "pathology",
        "DiagnosticReport?patient={{context.patientId}}&category="
        + ",".join([_V2_0074 + "SP", _V2_0074 + "PAT", _V2_0074 + "CP", _LOINC + "LP7839-6"])
        + "&_sort=-date&_count=10",
        True,
    ),
    PrefetchKey(
        "hormone",
        "Observation?patient={{context.patientId}}&code="
        + ",".join(_LOINC + c for c in _HR_LOINC)
        + "&_sort=-date&_count=20",
        False,
    ),
    PrefetchKey("conditions", "Condition?patient={{context.patientId}}&clinical-status=active", False),
    PrefetchKey(
        "imaging",
        "ImagingStudy?patient={{context.patientId}}&modality=http://dicom.nema.org/resources/ontology/DCM|PT"
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
        + ",".join([_V2_0074 + "SP", _V2_0074 + "PAT", _V2_0074 + "CP", _LOINC + "LP7839-6"])
        + "&_sort=-date&_count=10&_include=DiagnosticReport:specimen",
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


class FetchRefusedError(Exception):
    """The FHIR server answered, but refused or did not find the data (4xx): the data is unobtainable."""

    def __init__(self, status: int) -> None:
        super().__init__(f"FHIR server answered HTTP {status}")
        self.status = status


class UpstreamUnavailableError(Exception):
    """The FHIR server could not be reached in time (timeout, connection error, 5xx, budget exhausted)."""


class FhirFetcher(Protocol):
    """Reads one FHIR URL with a bearer token within ``timeout_s``; raises the two errors above."""

    def get(self, url: str, token: str, timeout_s: float) -> dict[str, Any]: ...


class RequestsFhirFetcher:
    """``FhirFetcher`` over an injected ``requests.Session`` (its retry policy applies to GETs).

    Every call sends ``Authorization: Bearer`` (CH-16, [I-60]); redirects are never followed, so the token
    cannot be forwarded to another host.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        on_upstream: Callable[[float, bool], None] | None = None,
    ) -> None:
        self._session = session
        self._on_upstream = on_upstream
        self._connect_s = connect_timeout_s
        self._read_s = read_timeout_s

    def _report(self, started: float, *, failed: bool) -> None:
        if self._on_upstream is not None:
            self._on_upstream(time.perf_counter() - started, failed)

    def get(self, url: str, token: str, timeout_s: float) -> dict[str, Any]:
        if timeout_s <= 0:
            raise UpstreamUnavailableError("hook budget exhausted")
        timeout = (min(self._connect_s, timeout_s), min(self._read_s, timeout_s))
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        started = time.perf_counter()
        try:
            resp = self._session.get(url, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.RequestException as exc:
            self._report(started, failed=True)
            raise UpstreamUnavailableError(type(exc).__name__) from exc
        self._report(started, failed=resp.status_code >= 500 or resp.status_code == 429)
        if resp.status_code >= 500 or resp.status_code == 429:
            raise UpstreamUnavailableError(f"HTTP {resp.status_code}")
        if resp.status_code >= 300:
            raise FetchRefusedError(resp.status_code)
        try:
            body = resp.json()
        except ValueError as exc:
            raise UpstreamUnavailableError("response is not JSON") from exc
        if not isinstance(body, dict):
            raise UpstreamUnavailableError("response is not a JSON object")
        return body


class Deadline:
    """The hook budget (``HER2CDS_HOOK_BUDGET_MS``) as a monotonic deadline shared by every upstream call."""

    def __init__(self, budget_s: float, *, started: float | None = None) -> None:
        """``started`` is the ``time.monotonic()`` reading when the request arrived (now when omitted), so
        that authentication and parsing count against the budget too."""
        self._end = (time.monotonic() if started is None else started) + budget_s

    def remaining_s(self) -> float:
        return max(0.0, self._end - time.monotonic())


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


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link", []) or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _is_usable(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("resourceType"), str)
        and (value["resourceType"] != "OperationOutcome")
    )


_FALLBACK_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fhir-fallback")
"""Shared by the hook threads of one worker process; one task per missing prefetch key."""


class PrefetchResolver:
    """Resolves the prefetch keys of one hook call (see the module docstring for the rules)."""

    def __init__(self, fetcher: FhirFetcher, keys: tuple[PrefetchKey, ...] = PREFETCH_KEYS) -> None:
        self._fetcher = fetcher
        self._keys = keys

    def resolve(
        self,
        prefetch: Mapping[str, Any] | None,
        context: Mapping[str, Any],
        access: FhirAccess,
        deadline: Deadline,
    ) -> PrefetchResult:
        result = PrefetchResult()
        provided = dict(prefetch or {})
        missing: list[PrefetchKey] = []
        for key in self._keys:
            if key.name in provided and provided[key.name] is None:
                result.resources[key.name] = []
                result.status[key.name] = "null"
                continue
            value = provided.get(key.name)
            if isinstance(value, dict) and _is_usable(value):
                self._from_prefetch(key, value, access, deadline, result)
                continue
            if key.name in provided:
                log.info("prefetch value unusable, treated as absent", **{"prefetch_key": key.name})
            missing.append(key)
        self._fallbacks(missing, context, access, deadline, result)
        return result

    def _fallbacks(
        self,
        keys: list[PrefetchKey],
        context: Mapping[str, Any],
        access: FhirAccess,
        deadline: Deadline,
        result: PrefetchResult,
    ) -> None:
        """Fetch the missing keys concurrently, so that the hook budget bounds the slowest query rather than
        the sum of all; each query keeps its own timeout from the shared deadline. The first error (a 412 for
        a required key) is raised once every query has finished."""
        if len(keys) <= 1 or not access.usable:
            for key in keys:
                self._fallback(key, context, access, deadline, result)
            return
        futures = [
            _FALLBACK_POOL.submit(
                contextvars.copy_context().run, self._fallback, key, context, access, deadline, result
            )
            for key in keys
        ]
        errors = [exc for exc in (f.exception() for f in futures) if exc is not None]
        if errors:
            raise errors[0]

    def _from_prefetch(
        self,
        key: PrefetchKey,
        value: dict[str, Any],
        access: FhirAccess,
        deadline: Deadline,
        result: PrefetchResult,
    ) -> None:
        result.status[key.name] = "prefetch"
        if value.get("resourceType") != "Bundle":
            result.resources[key.name] = [value]
            return
        resources = _bundle_resources(value)
        next_url = _next_link(value)
        if next_url and access.usable:
            try:
                resources += self._follow(next_url, access, deadline, pages_left=MAX_PAGES - 1)
            except UpstreamUnavailableError:
                result.unavailable = True
            except FetchRefusedError as exc:
                log.warning("next page refused", **{"prefetch_key": key.name, "http_status": exc.status})
        result.resources[key.name] = resources

    def _fallback(
        self,
        key: PrefetchKey,
        context: Mapping[str, Any],
        access: FhirAccess,
        deadline: Deadline,
        result: PrefetchResult,
    ) -> None:
        rendered = render_template(key.template, context)
        why: str | None = access.refusal
        if rendered is None:
            why = "its template cannot be resolved from the context"
        elif not access.usable:
            why = why or "no FHIR access was granted (fhirServer and fhirAuthorization)"
        elif result.unavailable:
            why = "the FHIR server is unavailable"
        if why is None and rendered is not None and access.base_url is not None and access.token is not None:
            try:
                result.resources[key.name] = self._fetch(access.base_url + "/" + rendered, access, deadline)
                result.status[key.name] = "fetched"
                return
            except UpstreamUnavailableError as exc:
                log.warning("FHIR fallback unavailable", **{"prefetch_key": key.name, "reason": str(exc)})
                result.unavailable = True
                why = "the FHIR server is unavailable"
            except FetchRefusedError as exc:
                why = f"the FHIR server refused the query (HTTP {exc.status})"
        if result.unavailable:
            result.status[key.name] = "unavailable"
            result.resources[key.name] = []
            return
        if key.required:
            raise PreconditionFailedError(f"prefetch '{key.name}' missing and cannot be fetched: {why}")
        result.status[key.name] = "skipped"
        result.resources[key.name] = []

    def _fetch(self, url: str, access: FhirAccess, deadline: Deadline) -> list[dict[str, Any]]:
        assert access.token is not None
        body = self._fetcher.get(url, access.token, deadline.remaining_s())
        if body.get("resourceType") == "OperationOutcome":
            raise FetchRefusedError(200)
        if body.get("resourceType") != "Bundle":
            return [body]
        resources = _bundle_resources(body)
        next_url = _next_link(body)
        if next_url:
            resources += self._follow(next_url, access, deadline, pages_left=MAX_PAGES - 1)
        return resources

    def _follow(
        self, url: str, access: FhirAccess, deadline: Deadline, *, pages_left: int
    ) -> list[dict[str, Any]]:
        """Follow ``next`` links, only while they stay under the allow-listed base (never another host)."""
        out: list[dict[str, Any]] = []
        current: str | None = url
        while current and pages_left > 0 and access.base_url and access.token:
            if not _under_base(current, access.base_url):
                log.warning("next link outside fhirServer ignored")
                break
            body = self._fetcher.get(current, access.token, deadline.remaining_s())
            out += _bundle_resources(body)
            current = _next_link(body)
            pages_left -= 1
        return out


def _under_base(url: str, base: str) -> bool:
    normalised = normalise_base_url(url.split("?", 1)[0])
    return normalised == base or normalised.startswith(base + "/")
