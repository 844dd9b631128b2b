"""Validation of FHIR resources the project writes (JSON) against the FHIR model of fhir.resources.

fhir.resources 8 ships R5 (default), R4B and STU3 models but no R4 package; R4B is the R4 technical
correction and changed only the medication-definition, evidence and subscription resources (FHIR R4B
version history), so for the resources the project writes the R4B model is the R4 one. The model objects
stay inside this module: callers pass and get plain JSON and strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["resource_problems"]


def resource_problems(resource: Mapping[str, Any], *, limit: int = 5) -> list[str]:
    """Why ``resource`` is not a valid FHIR R4 resource of its ``resourceType`` (empty: valid).

    Each problem names the element path and the error type, never the value; at most ``limit`` problems.
    """
    from fhir.resources.R4B import get_fhir_model_class

    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        return ["resourceType is missing"]
    try:
        model = get_fhir_model_class(kind)
    except KeyError:
        return [f"{kind} is not a FHIR resource type"]
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in error.get('loc', ())) or kind}: {error.get('msg', error.get('type'))}"
            for error in exc.errors()[:limit]
        ]
    return []
