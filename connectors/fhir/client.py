"""FHIR R4 REST client: read, search with ``link[next]`` paging, Binary, and the pathology fetch.

The client is given its base URL, a ``requests.Session`` (retry policy mounted by
:func:`connectors.http.make_session`) and :class:`connectors.http.Timeouts`; it reads no environment. A bearer
token, when given, is sent as ``Authorization: Bearer …`` on every request to the base URL and never logged or
shown in ``repr``. Paging follows ``link[relation=next]`` only while it stays under the base URL (a server
cannot redirect the token elsewhere) and for at most ``max_pages`` pages.

FHIR R4 §3.1.0 (RESTful API: read, search, paging) and §2.1.0.1 (Bundle.link).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import requests

from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError
from connectors.fhir.codes import LOINC, TISSUE_MARKER_CODES
from connectors.fhir.mapping import pathology_from_resources
from connectors.http import Timeouts, check_response, describe_url, json_body, upstream_errors
from connectors.ports import PathologyData, SkippedItem
from rules.domain import ClinicalContext

#: FHIR id syntax (R4 §2.24.0.1 ``id``): letters, digits, '-' and '.', 1–64 characters.
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")
_FHIR_JSON = "application/fhir+json"
_CONTEXT_TYPES = ("Condition", "MedicationRequest", "MedicationAdministration", "MedicationStatement")

Params = Mapping[str, str | Sequence[str]]
_MARKER_CODES = ",".join(f"{LOINC}|{code}" for code in TISSUE_MARKER_CODES)


@dataclass(frozen=True, slots=True)
class BinaryContent:
    """The body of a FHIR Binary: raw bytes and their MIME type."""

    data: bytes
    content_type: str


class FhirClient:
    """A FHIR R4 server, read through one ``requests.Session``.

    Errors: :class:`connectors.errors.SourceUnavailableError` (timeouts, connection errors, 5xx, 429, refused
    requests), :class:`connectors.errors.NotFoundError` (404/410), :class:`InvalidSourceDataError` (bodies
    that are not FHIR JSON). ``max_pages`` bounds paging per search.
    """

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        timeouts: Timeouts,
        bearer_token: str | None = None,
        *,
        max_pages: int = 20,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("FHIR base URL must be http(s)")
        if max_pages < 1:
            raise ValueError("max_pages must be >= 1")
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._timeouts = timeouts
        self._token = bearer_token
        self._max_pages = max_pages

    def __repr__(self) -> str:
        auth = "bearer" if self._token else "none"
        return f"FhirClient({describe_url(self.base_url)!r}, auth={auth})"

    # --- REST

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any]:
        """``GET [base]/[type]/[id]``: one resource as JSON."""
        _check_type(resource_type)
        _check_id(resource_id)
        what = f"FHIR read {resource_type}"
        body = self._get_json(f"{self.base_url}/{resource_type}/{resource_id}", None, what)
        if body.get("resourceType") != resource_type:
            raise InvalidSourceDataError(f"{what}: server returned {body.get('resourceType')!r}")
        return body

    def search(self, resource_type: str, params: Params) -> list[dict[str, Any]]:
        """``GET [base]/[type]?params``, following ``next`` links: every entry resource (matches and
        includes), deduplicated by ``Type/id``, in server order."""
        _check_type(resource_type)
        what = f"FHIR search {resource_type}"
        url: str | None = f"{self.base_url}/{resource_type}"
        query: Params | None = params
        seen: dict[str, dict[str, Any]] = {}
        for _page in range(self._max_pages):
            assert url is not None
            bundle = self._get_json(url, query, what)
            if bundle.get("resourceType") != "Bundle":
                raise InvalidSourceDataError(f"{what}: response is not a Bundle")
            for entry in bundle.get("entry") or ():
                resource = entry.get("resource") if isinstance(entry, dict) else None
                if isinstance(resource, dict):
                    key = f"{resource.get('resourceType')}/{resource.get('id')}"
                    seen.setdefault(key, resource)
            url, query = self._next_link(bundle, what), None
            if url is None:
                return list(seen.values())
        raise SourceUnavailableError(f"{what}: more than {self._max_pages} pages")

    def binary(self, reference: str) -> BinaryContent:
        """The content of a ``Binary`` given as ``Binary/id`` or an absolute URL under the base.

        Asks for FHIR JSON; a server that answers with the raw content (FHIR R4 §Binary) is accepted too.
        """
        url = self._resolve(reference)
        what = "FHIR read Binary"
        with upstream_errors(what):
            response = self._session.get(url, headers=self._headers(), timeout=self._timeouts.as_tuple())
        check_response(response, what=what)
        content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
        if content_type not in (_FHIR_JSON, "application/json"):
            return BinaryContent(response.content, content_type)
        body = json_body(response, what=what)
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
        wanted: list[str] = []
        for key, resource in list(resources.items()):
            if not key.startswith("DiagnosticReport/"):
                continue
            for form in resource.get("presentedForm") or ():
                url = form.get("url") if isinstance(form, dict) and not form.get("data") else None
                if isinstance(url, str) and "Binary/" in url:
                    binary_id = url.rstrip("/").split("/")[-1]
                    if f"Binary/{binary_id}" not in resources and binary_id not in wanted:
                        wanted.append(binary_id)
        for binary_id in wanted[:20]:
            try:
                _check_id(binary_id)
                content = self.binary(f"Binary/{binary_id}")
            except (NotFoundError, InvalidSourceDataError, ValueError) as exc:
                skipped.append(SkippedItem(reference=f"Binary/{binary_id}", reason=str(exc)))
                continue
            resources[f"Binary/{binary_id}"] = {
                "resourceType": "Binary",
                "id": binary_id,
                "contentType": content.content_type,
                "data": base64.b64encode(content.data).decode("ascii"),
            }

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": _FHIR_JSON}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _get_json(self, url: str, params: Params | None, what: str) -> dict[str, Any]:
        query = {k: list(v) if not isinstance(v, str) else v for k, v in (params or {}).items()}
        with upstream_errors(what):
            response = self._session.get(
                url, params=query or None, headers=self._headers(), timeout=self._timeouts.as_tuple()
            )
        check_response(response, what=what)
        return json_body(response, what=what)

    def _next_link(self, bundle: Mapping[str, Any], what: str) -> str | None:
        for link in bundle.get("link") or ():
            if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
                url = str(link["url"])
                if not url.startswith(self.base_url + "/") and not url.startswith(self.base_url + "?"):
                    raise InvalidSourceDataError(f"{what}: next link leaves the server base URL")
                return url
        return None

    def _resolve(self, reference: str) -> str:
        if reference.startswith(("http://", "https://")):
            if not reference.startswith(self.base_url + "/"):
                raise InvalidSourceDataError("Binary URL is not under the FHIR base URL")
            return reference
        parts = reference.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "Binary":
            raise InvalidSourceDataError("expected a Binary/id reference")
        _check_id(parts[1])
        return f"{self.base_url}/Binary/{parts[1]}"


def _check_id(value: str) -> None:
    if not _FHIR_ID.match(value):
        raise ValueError("not a valid FHIR id")


def _check_type(value: str) -> None:
    if not _RESOURCE_TYPE.match(value):
        raise ValueError("not a valid FHIR resource type")
