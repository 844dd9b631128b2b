"""Bundle entries → resources whose references can be followed, whatever form the Bundle's references take.

Transaction and batch Bundles (Synthea, many EHR exports) identify their entries by ``fullUrl`` — often
``urn:uuid:…`` — and refer to one another by that full URL; the resources themselves may carry no ``id``
(FHIR R4 §Bundle, "Resolving references in Bundles"). The mapping follows ``Type/id`` references, so each
entry gets an id (its own, else the last segment of its full URL) and every ``reference`` (and attachment
``url``) that names an entry's full URL is rewritten to that entry's ``Type/id``. Pure: JSON in, JSON out;
the input is never modified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

_ID: Final = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_REFERENCE_KEYS: Final = frozenset({"reference", "url"})


def _id_from_full_url(full_url: str) -> str | None:
    """The id a full URL names: ``urn:uuid:<uuid>``, ``urn:oid:<oid>`` or ``…/Type/<id>``."""
    tail = full_url.split("?")[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail if _ID.match(tail) else None


def _rewrite(value: Any, targets: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            key: targets[item]
            if key in _REFERENCE_KEYS and isinstance(item, str) and item in targets
            else _rewrite(item, targets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, targets) for item in value]
    return value


def bundle_resources(entries: list[Any]) -> list[Mapping[str, Any]]:
    """The resources of ``Bundle.entry`` with ids filled in and full-URL references resolved.

    Entries without a resource (or whose resource is not an object) are left out; an entry whose resource
    has no id and whose full URL gives none gets ``entry-<n>`` (it can then be indexed, though nothing refers
    to it).
    """
    targets: dict[str, str] = {}
    resources: list[Mapping[str, Any]] = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("resource"), Mapping):
            continue
        resource: Mapping[str, Any] = entry["resource"]
        full_url = entry.get("fullUrl")
        kind = resource.get("resourceType")
        resource_id = resource.get("id")
        if not isinstance(resource_id, str) or not resource_id:
            resource_id = (
                _id_from_full_url(full_url) if isinstance(full_url, str) else None
            ) or f"entry-{number}"
            resource = {**resource, "id": resource_id}
        if isinstance(full_url, str) and full_url and isinstance(kind, str):
            targets[full_url] = f"{kind}/{resource_id}"
        resources.append(resource)
    if not any(url.startswith("urn:") for url in targets):
        return resources
    return [_rewrite(resource, targets) for resource in resources]
