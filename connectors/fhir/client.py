"""FHIR R4 REST client: read, search with ``link[next]`` paging, Binary, and the pathology fetch.

The client is given its base URL, a ``requests.Session`` (:func:`connectors.http.make_session`),
:class:`connectors.http.Timeouts`, and optionally the :class:`connectors.http.Deadline` of the work it serves
(one hook call): every request, retry and wait of the client runs inside that deadline
(:func:`connectors.http.get`), so a slow or rate-limiting server costs at most what is left of it. It reads
no environment.

Where requests may go: only under the base URL. Every URL the client sends — its own, a ``next`` link, an
absolute ``Binary`` reference — is normalised first (:func:`connectors.urls.normalise_url`: dot segments,
encoded separators, userinfo, default ports, case) and sent only when the normalised URL lies under the
base, so a server cannot steer the bearer token elsewhere (``…/fhir/../other-app/…`` is refused, not
followed). Redirects are never followed. The token is never logged or shown in ``repr``.

Bounds: at most ``max_pages`` pages and ``max_entries`` entries per search (a ``next`` link that was
already followed is a paging loop and refused), at most ``max_bytes`` per response body.

FHIR R4 §3.1.0 (RESTful API: read, search, paging) and §2.1.0.1 (Bundle.link).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

import requests

from connectors.errors import (
    InvalidSourceDataError,
    NotFoundError,
    RequestRefusedError,
    SourceUnavailableError,
)
from connectors.fhir.codes import LOINC, TISSUE_MARKER_CODES
from connectors.fhir.mapping import pathology_from_resources
from connectors.http import (
    DEFAULT_MAX_BYTES,
    DEFAULT_RETRY,
    Deadline,
    HttpReply,
    Params,
    RetryPolicy,
    Timeouts,
    check_response,
    describe_url,
    get,
    json_body,
)
from connectors.ports import PathologyData, SkippedItem
from connectors.urls import is_under_base, normalise_url
from rules.domain import ClinicalContext

#: FHIR id syntax (R4 §2.24.0.1 ``id``): letters, digits, '-' and '.', 1–64 characters.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_FHIR_JSON = "application/fhir+json"
_NOT_DATA = (None, "OperationOutcome")
_CONTEXT_TYPES = ("Condition", "MedicationRequest", "MedicationAdministration", "MedicationStatement")
_MARKER_CODES = ",".join(f"{LOINC}|{code}" for code in TISSUE_MARKER_CODES)

DEFAULT_MAX_PAGES: Final = 20
DEFAULT_MAX_ENTRIES: Final = 10_000
MAX_BINARIES: Final = 20
"""Upper bound on ``presentedForm`` Binaries read by :meth:`FhirClient.fetch_patient_pathology`."""


@dataclass(frozen=True, slots=True)
class BinaryContent:
    """The body of a FHIR Binary: raw bytes and their MIME type."""

    data: bytes
    content_type: str


class FhirClient:
    """A FHIR R4 server, read through one ``requests.Session`` within one optional deadline.

    Errors: :class:`connectors.errors.SourceUnavailableError` (timeouts, connection errors, 5xx, 429, a
    used-up deadline, too many pages), its subclass :class:`~connectors.errors.RequestRefusedError` (401/403,
    other 4xx, redirects, an OperationOutcome where data was asked for), :class:`NotFoundError` (404/410),
    :class:`InvalidSourceDataError` (bodies that are not FHIR JSON, too large, URLs outside the base, paging
    loops).
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        timeouts: Timeouts,
        bearer_token: str | None = None,
        *,
        deadline: Deadline | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        normal = normalise_url(base_url)
        if normal is None or "?" in normal:
            raise ValueError("FHIR base URL must be an absolute http(s) URL without credentials or query")
        if max_pages < 1 or max_entries < 1 or max_bytes < 1:
            raise ValueError("max_pages, max_entries and max_bytes must be >= 1")
        self.base_url = normal.rstrip("/")
        self._session = session
        self._timeouts = timeouts
        self._token = bearer_token
        self._deadline = deadline
        self._retry = retry
        self._max_pages = max_pages
        self._max_entries = max_entries
        self._max_bytes = max_bytes

    def __repr__(self) -> str:
        auth = "bearer" if self._token else "none"
        return f"FhirClient({describe_url(self.base_url)!r}, auth={auth})"

    # --- REST

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/[type]/[id]``: one resource as JSON."""
        _check_type(resource_type)
        _check_id(resource_id)
        what = f"FHIR read {resource_type}"
        body = json_body(self._get(f"{self.base_url}/{resource_type}/{resource_id}", None, what), what=what)
        if body.get("resourceType") != resource_type:
            raise InvalidSourceDataError(f"{what}: server returned {body.get('resourceType')!r}")
        return body

    def search(self, resource_type: str, params: Params) -> list[dict[str, Any]]:
        """``GET [base]/[type]?params``, following ``next`` links: every entry resource (matches and
        includes, not OperationOutcomes), deduplicated by ``Type/id``, in server order."""
        _check_type(resource_type)
        what = f"FHIR search {resource_type}"
        reply = self._get(f"{self.base_url}/{resource_type}", params, what)
        return self._pages(json_body(reply, what=what), what, seen=_sent(reply))

    def fetch(self, relative: str) -> list[dict[str, Any]]:
        """``GET [base]/[relative]`` for a relative read (``Patient/123``) or search (``Observation?…``):
        the resource, or every entry resource of the searchset with its ``next`` pages.

        An OperationOutcome where data was asked for is :class:`RequestRefusedError` (status 200).
        """
        path = relative.lstrip("/")
        what = f"FHIR GET {path.split('?', 1)[0].split('/', 1)[0]}"
        reply = self._get(f"{self.base_url}/{path}", None, what)
        body = json_body(reply, what=what)
        kind = body.get("resourceType")
        if kind == "OperationOutcome":
            raise RequestRefusedError(f"{what}: the server answered with an OperationOutcome", status=200)
        if kind == "Bundle":
            return self._pages(body, what, seen=_sent(reply))
        if not isinstance(kind, str):
            raise InvalidSourceDataError(f"{what}: response is not a FHIR resource")
        return [body]

    def pages(self, relative: str) -> Iterator[list[dict[str, Any]]]:
        """The searchset ``GET [base]/[relative]`` (``Observation?…``) page by page: one list of entry
        resources per page, each resource once. A caller may stop early; the bounds of :meth:`fetch`
        hold for the pages it reads."""
        path = relative.lstrip("/")
        what = f"FHIR GET {path.split('?', 1)[0].split('/', 1)[0]}"
        reply = self._get(f"{self.base_url}/{path}", None, what)
        body = json_body(reply, what=what)
        if body.get("resourceType") == "OperationOutcome":
            raise RequestRefusedError(f"{what}: the server answered with an OperationOutcome", status=200)
        yield from self._iter_pages(body, what, seen=_sent(reply))

    def next_pages(self, bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The entry resources of the pages after ``bundle`` (a searchset already in hand, e.g. from
        prefetch), following its ``next`` link under the base; empty when it has none."""
        what = "FHIR search (next pages)"
        first_next = self._next_link(bundle, what)
        if first_next is None:
            return []
        reply = self._get(first_next, None, what)
        return self._pages(json_body(reply, what=what), what, pages_used=2, seen={first_next} | _sent(reply))

    def binary(self, reference: str) -> BinaryContent:
        """The content of a ``Binary`` given as ``Binary/id`` or an absolute URL under the base.

        Asks for FHIR JSON; a server that answers with the raw content (FHIR R4 §Binary) is accepted too.
        """
        url = self._resolve(reference)
        what = "FHIR read Binary"
        reply = self._get(url, None, what)
        content_type = reply.headers.get("Content-Type", "application/octet-stream").split(";")[0].strip()
        if content_type not in (_FHIR_JSON, "application/json"):
            return BinaryContent(reply.content, content_type)
        body = json_body(reply, what=what)
        try:
            data = base64.b64decode(body.get("data") or "", validate=True)
        except ValueError as exc:
            raise InvalidSourceDataError(f"{what}: data is not base64") from exc
        return BinaryContent(data, str(body.get("contentType") or "application/octet-stream"))

    # --- pathology

    def fetch_patient_pathology(self, patient_id: str, *, context: bool = True) -> PathologyData:
        """HER2, ER/PR and context of one patient (FHIR searches → :func:`pathology_from_resources`).

        Searches: DiagnosticReport with ``_include`` of results and specimens; Observation by the tissue
        marker LOINC codes; Specimen; and unless ``context`` is false (pathology alone is wanted),
        Condition, MedicationRequest, MedicationAdministration and MedicationStatement. ``presentedForm``
        URLs pointing at a Binary not yet fetched are read. A resource type the server does not know (404
        on its search) is listed in ``skipped`` rather than failing the whole fetch.
        """
        _check_id(patient_id)
        resources: dict[str, dict[str, Any]] = {}
        skipped: list[SkippedItem] = []
        searches: list[tuple[str, dict[str, str | list[str]]]] = [
            (
                "DiagnosticReport",
                {
                    "patient": patient_id,
                    "_include": ["DiagnosticReport:result", "DiagnosticReport:specimen"],
                },
            ),
            ("Observation", {"patient": patient_id, "code": _MARKER_CODES}),
            ("Specimen", {"patient": patient_id}),
        ]
        if context:
            searches += [(t, {"patient": patient_id}) for t in _CONTEXT_TYPES]
        for resource_type, params in searches:
            self._collect(resource_type, params, resources, skipped)
        self._fetch_binaries(resources, skipped)
        data = pathology_from_resources(resources.values())
        return replace(data, skipped=data.skipped + tuple(skipped))

    def fetch_clinical_context(self, patient_id: str) -> ClinicalContext:
        """Metastatic disease, therapies and draft orders (Condition and medication searches)."""
        _check_id(patient_id)
        resources: dict[str, dict[str, Any]] = {}
        for resource_type in _CONTEXT_TYPES:
            self._collect(resource_type, {"patient": patient_id}, resources, [])
        return pathology_from_resources(resources.values()).context

    # --- internals

    def _collect(
        self,
        resource_type: str,
        params: Params,
        into: dict[str, dict[str, Any]],
        skipped: list[SkippedItem],
    ) -> None:
        try:
            found = self.search(resource_type, params)
        except NotFoundError:
            skipped.append(SkippedItem(reference=resource_type, reason="search not supported by the server"))
            return
        for resource in found:
            into.setdefault(f"{resource.get('resourceType')}/{resource.get('id')}", resource)

    def _fetch_binaries(self, resources: dict[str, dict[str, Any]], skipped: list[SkippedItem]) -> None:
        wanted = [
            ref
            for ref in binary_references(r for k, r in resources.items() if k.startswith("DiagnosticReport/"))
            if ref not in resources
        ]
        for ref in wanted[:MAX_BINARIES]:
            try:
                content = self.binary(ref)
            except (NotFoundError, InvalidSourceDataError, RequestRefusedError, ValueError) as exc:
                skipped.append(SkippedItem(reference=ref, reason=str(exc)))
                continue
            resources[ref] = binary_resource(ref.split("/", 1)[1], content)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": _FHIR_JSON}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _get(self, url: str, params: Params | None, what: str) -> HttpReply:
        """One GET under the base (refused before sending otherwise), within the deadline, 2xx only."""
        target = self._under_base(url, what)
        reply = get(
            self._session,
            target,
            params=params,
            headers=self._headers(),
            deadline=self._deadline or Deadline.unbounded(),
            timeouts=self._timeouts,
            retry=self._retry,
            max_bytes=self._max_bytes,
            what=what,
        )
        return check_response(reply, what=what)

    def _pages(
        self,
        first: Mapping[str, Any],
        what: str,
        *,
        pages_used: int = 1,
        seen: set[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Entry resources of ``first`` and of the pages its ``next`` links lead to (bounded, loop-free)."""
        return [r for page in self._iter_pages(first, what, pages_used=pages_used, seen=seen) for r in page]

    def _iter_pages(
        self,
        first: Mapping[str, Any],
        what: str,
        *,
        pages_used: int = 1,
        seen: set[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The entry resources of ``first``, then of each page its ``next`` links lead to, one list per
        page, each resource once (by ``Type/id``). Refuses a next link outside the base or back to a page
        already read, more than ``max_pages`` pages and more than ``max_entries`` entries."""
        visited = set(seen or ())
        keys: set[str] = set()
        entries = 0
        page: Mapping[str, Any] = first
        while True:
            if page.get("resourceType") != "Bundle":
                raise InvalidSourceDataError(f"{what}: response is not a Bundle")
            found: list[dict[str, Any]] = []
            for entry in page.get("entry") or ():
                entries += 1
                if entries > self._max_entries:
                    raise InvalidSourceDataError(f"{what}: more than {self._max_entries} entries")
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict) and resource.get("resourceType") not in _NOT_DATA:
                    key = f"{resource.get('resourceType')}/{resource.get('id')}"
                    key = key if resource.get("id") else f"#{entries}"
                    if key not in keys:
                        keys.add(key)
                        found.append(resource)
            yield found
            url = self._next_link(page, what)
            if url is None:
                return
            if url in visited:
                raise InvalidSourceDataError(f"{what}: paging loop (a next link repeats an earlier page)")
            if pages_used >= self._max_pages:
                raise SourceUnavailableError(f"{what}: more than {self._max_pages} pages")
            visited.add(url)
            pages_used += 1
            reply = self._get(url, None, what)
            visited |= _sent(reply)
            page = json_body(reply, what=what)

    def _next_link(self, bundle: Mapping[str, Any], what: str) -> str | None:
        """The normalised ``next`` URL of ``bundle`` (None without one); one outside the base is refused."""
        for link in bundle.get("link") or ():
            if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
                return self._under_base(str(link["url"]), f"{what}: next link")
        return None

    def _under_base(self, url: str, what: str) -> str:
        """``url`` normalised, when it lies under the base; :class:`InvalidSourceDataError` otherwise."""
        normal = normalise_url(url)
        if normal is None or not is_under_base(normal, self.base_url):
            raise InvalidSourceDataError(f"{what}: URL is not under the FHIR base URL (not sent)")
        return normal

    def _resolve(self, reference: str) -> str:
        if _HAS_SCHEME.match(reference):
            return self._under_base(reference, "Binary URL")
        parts = reference.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "Binary":
            raise InvalidSourceDataError("expected a Binary/id reference")
        _check_id(parts[1])
        return f"{self.base_url}/Binary/{parts[1]}"


def binary_references(reports: Any) -> list[str]:
    """``Binary/<id>`` of every ``presentedForm`` given by URL (not inline) in ``reports`` (DiagnosticReport
    JSON objects), in order, without duplicates; ids that are not FHIR ids are left out."""
    found: list[str] = []
    for report in reports:
        for form in report.get("presentedForm") or () if isinstance(report, dict) else ():
            url = form.get("url") if isinstance(form, dict) and not form.get("data") else None
            if not isinstance(url, str):
                continue
            parts = url.split("?", 1)[0].rstrip("/").split("/")
            if len(parts) >= 2 and parts[-2] == "Binary" and _FHIR_ID.match(parts[-1]):
                ref = f"Binary/{parts[-1]}"
                if ref not in found:
                    found.append(ref)
    return found


def binary_resource(binary_id: str, content: BinaryContent) -> dict[str, Any]:
    """A Binary resource (FHIR JSON) holding ``content``, as the mapping reads it."""
    return {
        "resourceType": "Binary",
        "id": binary_id,
        "contentType": content.content_type,
        "data": base64.b64encode(content.data).decode("ascii"),
    }


def _sent(reply: HttpReply) -> set[str]:
    """The URL a reply answered, normalised (to recognise a ``next`` link back to it)."""
    normal = normalise_url(reply.url) if reply.url else None
    return {normal} if normal else set()


def _check_id(value: str) -> None:
    if not _FHIR_ID.match(value):
        raise ValueError("not a valid FHIR id")


def _check_type(value: str) -> None:
    if not _RESOURCE_TYPE.match(value):
        raise ValueError("not a valid FHIR resource type")
