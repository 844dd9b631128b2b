"""Ports: what the service asks of external systems, as Protocols, plus the values they return.

A port has one real implementation per transport and a file-backed fake (ARCHITECTURE §7.6): the
FHIR client (:class:`connectors.fhir.client.FhirClient`) and a bundle file
(:func:`connectors.fhir.mapping.load_fhir_file`) both yield :class:`PathologyData`. The PET study port,
``PetStudySource``, lives with its transports in :mod:`connectors.dicom.ports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rules.domain import ClinicalContext, Her2Result, ReceptorResult


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedItem:
    """A resource (or part of one) that was not used, and why, so the evidence trail can say what was ignored.

    ``reference`` is ``ResourceType/id`` (``"entry 3"`` when the resource has no id); ``reason`` is one line.
    """

    reference: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PathologyData:
    """What a FHIR source says about one patient's breast pathology and clinical context, as domain objects.

    ``her2`` holds one :class:`Her2Result` per test occasion (IHC and ISH of the same specimen together;
    the latest report version per specimen). ``receptors`` holds ER and PR results. ``patient_ids`` lists
    the distinct patient ids the resources refer to (more than one means a mixed bundle, which callers
    should refuse). ``skipped`` lists what was ignored, with reasons.
    """

    her2: tuple[Her2Result, ...] = ()
    receptors: tuple[ReceptorResult, ...] = ()
    context: ClinicalContext = field(default_factory=ClinicalContext)
    patient_ids: tuple[str, ...] = ()
    skipped: tuple[SkippedItem, ...] = ()


@runtime_checkable
class PathologySource(Protocol):
    """Reads a patient's HER2 and ER/PR pathology plus clinical context.

    Raises :class:`connectors.errors.SourceUnavailableError` when the source cannot be reached and
    :class:`connectors.errors.NotFoundError` when it does not know the patient; unusable resources are skipped
    (listed in :attr:`PathologyData.skipped`), never raised.
    """

    def fetch_patient_pathology(self, patient_id: str) -> PathologyData: ...
