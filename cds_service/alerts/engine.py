"""Re-assess one patient off the hook path and raise a review alert when the scenario changes.

:class:`PatientAssessor` reads the patient's chart from the configured FHIR server with the service's own
backend token (``cds_service.alerts.backend_auth``; the server must be on ``HER2CDS_FHIR_ALLOWLIST``), using
the hook's prefetch templates, and the stored PET facts through the hook's ``PetLookup``; it builds the
rules' inputs with :func:`cds_service.hooks.service.patient_inputs`, the same function the hook uses, and
calls ``rules.assess.assess``. :class:`AlertEngine` checks the cohort, applies the state machine
(``cds_service.alerts.decide``) and stores the alert with one outbox row per delivery channel in one
transaction (``Storage.record_assessment``). Its alert text is the card's: title, summary and basis from
``cds_service.hooks.card_texts`` / ``cards``, with an evidence snapshot kept ``evidence_ttl_days``. The
Task owner is the treating oncologist from the patient's active CareTeams (``task_owner_roles``), else the
configured pool (``task_owner``); the alert records which.

Triggers: :meth:`AlertEngine.on_pet_stored` (a stored PET analysis: receiver, sync, scanner; DICOM PatientID)
and :meth:`AlertEngine.reassess` (a changed FHIR resource, ``cds_service.alerts.fhir_poll``). Logs carry no
patient identifiers: only outcomes and error class names.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from cds_service.alerts.backend_auth import BackendAuthError, BackendTokenSource
from cds_service.alerts.config import AlertsConfig, in_cohort, treating_oncologist
from cds_service.alerts.decide import PriorState, decide
from cds_service.errors import UnprocessableError
from cds_service.evidence.routes import build_payload
from cds_service.hooks import card_texts
from cds_service.hooks.cards import basis_lines, summary_for
from cds_service.hooks.prefetch import FhirAccess, FhirClientFactory, PrefetchResolver
from cds_service.hooks.service import MapFn, PetLookup, patient_inputs
from cds_service.storage.store import NewAlert, Storage
from connectors.errors import (
    ConnectorError,
    NotFoundError,
    RequestRefusedError,
    SourceUnavailableError,
)
from connectors.http import Deadline
from rules.domain import AssessInputs, Assessment

__all__ = ["AlertEngine", "AlertOutcome", "OwnerSource", "PatientAssessor", "Reassessment"]

log = logging.getLogger(__name__)

AssessFn = Callable[[AssessInputs, dt.datetime], Assessment]

REASSESS_BUDGET_S = 30.0
"""Time for one background re-assessment (FHIR reads and the stored PET lookup), in seconds."""


class AlertOutcome(StrEnum):
    """What one re-assessment led to (counted by the ``alerts`` command; never per patient in logs)."""

    RAISED = "raised"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    OUTSIDE_COHORT = "outside_cohort"
    UNSETTLED = "unsettled"
    UNAVAILABLE = "unavailable"
    UNKNOWN_PATIENT = "unknown_patient"


class OwnerSource(StrEnum):
    """Where a Task's owner came from (stored with the alert, stated on the Task)."""

    CARE_TEAM = "care-team"
    POOL = "pool"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reassessment:
    """A patient's fresh assessment, whether the patient is in the alert cohort, and who should own the
    review Task (the treating oncologist from the care team, else the configured pool, else nobody)."""

    assessment: Assessment
    in_cohort: bool
    owner: str | None = None
    owner_source: OwnerSource | None = None


class PatientAssessor:
    """Assesses one patient exactly as the hook does, from the configured FHIR server and stored PET."""

    def __init__(
        self,
        *,
        config: AlertsConfig,
        fhir: FhirClientFactory,
        resolver: PrefetchResolver,
        tokens: BackendTokenSource,
        map_pathology: MapFn,
        assess: AssessFn,
        pet_lookup: PetLookup,
        patient_id_system: str | None = None,
        pathology_cards: bool = True,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._config = config
        self._fhir = fhir
        self._resolver = resolver
        self._tokens = tokens
        self._map = map_pathology
        self._assess = assess
        self._pet = pet_lookup
        self._id_system = patient_id_system
        self._pathology_cards = pathology_cards
        self._clock = clock

    def _token(self) -> str:
        return self._tokens.token() or ""

    def _search(self, query: str, deadline: Deadline | None = None) -> list[dict[str, Any]]:
        """The resources of a search relative to the configured server (every page, within ``deadline``)."""
        client = self._fhir(
            self._config.fhir_base_url, self._token(), deadline or Deadline(REASSESS_BUDGET_S)
        )
        return client.fetch(query)

    def patient_for_dicom_id(self, dicom_patient_id: str) -> str | None:
        """The FHIR Patient id whose identifier (``HER2CDS_PATIENT_ID_SYSTEM``; unset: the id itself or any
        identifier value) equals the DICOM PatientID; None when there is not exactly one."""
        value = quote(dicom_patient_id, safe="")
        if self._id_system is not None:
            queries = [f"Patient?identifier={quote(self._id_system, safe='')}%7C{value}"]
        else:
            queries = [f"Patient?_id={value}", f"Patient?identifier={value}"]
        for query in queries:
            found = {str(r.get("id")) for r in self._search(query) if r.get("resourceType") == "Patient"}
            if len(found) == 1:
                return found.pop()
        return None

    def _care_teams(self, patient_id: str, deadline: Deadline) -> list[dict[str, Any]]:
        """The patient's active CareTeams when the cohort or the Task owner needs them. A search the server
        refuses (no CareTeam read access, no CareTeam type) fails the re-assessment only when the cohort rule
        needs the teams; for the owner alone, the Task goes to the pool. An outage fails it (retried later),
        so an outage never sends a Task to the pool that should go to the oncologist."""
        cohort_needs = self._config.cohort.needs_care_teams
        if not cohort_needs and "fhir-task" not in self._config.channels:
            return []
        query = f"CareTeam?patient={quote(patient_id, safe='')}&status=active"
        try:
            found = self._search(query, deadline)
        except (RequestRefusedError, NotFoundError) as exc:
            if cohort_needs:
                raise
            log.warning("care teams refused, the Task goes to the pool: %s", type(exc).__name__)
            return []
        return [r for r in found if r.get("resourceType") == "CareTeam"]

    def reassess(self, patient_id: str) -> Reassessment:
        """Assess ``patient_id`` now. Raises :class:`connectors.errors.ConnectorError` or ``BackendAuthError``
        when the FHIR server or token endpoint fails (the caller retries later), ``UnprocessableError`` for
        pathology that cannot be interpreted."""
        deadline = Deadline(REASSESS_BUDGET_S)
        access = FhirAccess(base_url=self._config.fhir_base_url, token=self._token())
        fetched = self._resolver.resolve(None, {"patientId": patient_id}, access, deadline)
        if fetched.unavailable:
            raise SourceUnavailableError("FHIR server unavailable during re-assessment")
        care_teams = self._care_teams(patient_id, deadline)
        patients = fetched.resources.get("patient", [])
        cohort = in_cohort(
            self._config.cohort,
            fetched.resources.get("conditions", []),
            care_teams,
            patients[0] if patients else None,
        )
        now = self._clock()
        owner = treating_oncologist(care_teams, self._config.task_owner_roles, today=now.date().isoformat())
        source = OwnerSource.CARE_TEAM if owner else None
        if owner is None and self._config.task_owner:
            owner, source = self._config.task_owner, OwnerSource.POOL
        inputs = patient_inputs(
            fetched,
            patient_id,
            map_pathology=self._map,
            pet_lookup=self._pet,
            deadline=deadline,
            pathology_cards=self._pathology_cards,
        )
        return Reassessment(
            assessment=self._assess(inputs, now), in_cohort=cohort, owner=owner, owner_source=source
        )


class AlertEngine:
    """Turns re-assessments into stored alerts (the outbox delivers them)."""

    def __init__(
        self,
        *,
        storage: Storage,
        config: AlertsConfig,
        assessor: PatientAssessor,
        on_outcome: Callable[[AlertOutcome], None] | None = None,
    ) -> None:
        self._storage = storage
        self._config = config
        self._assessor = assessor
        self._on_outcome = on_outcome

    def on_pet_stored(self, dicom_patient_id: str | None) -> AlertOutcome:
        """The trigger of a stored PET analysis; never raises (an analysis is stored whatever happens here),
        a FHIR outage is logged and left to the next FHIR poll."""
        if not dicom_patient_id:
            return self._done(AlertOutcome.UNKNOWN_PATIENT)
        try:
            patient_id = self._assessor.patient_for_dicom_id(dicom_patient_id)
            if patient_id is None:
                return self._done(AlertOutcome.UNKNOWN_PATIENT)
            return self.reassess(patient_id, trigger="pet")
        except (ConnectorError, BackendAuthError) as exc:
            log.warning("alert re-assessment after a PET analysis failed: %s", type(exc).__name__)
            return self._done(AlertOutcome.UNAVAILABLE)
        except Exception as exc:  # the PET analysis is stored already; an alert bug must not undo that
            log.error("alert re-assessment after a PET analysis failed: %s", type(exc).__name__)
            return self._done(AlertOutcome.UNAVAILABLE)

    def reassess(self, patient_id: str, *, trigger: str) -> AlertOutcome:
        """Re-assess one FHIR patient and raise an alert if the scenario changed to one asking for review.
        Raises the FHIR errors of :meth:`PatientAssessor.reassess` except unprocessable pathology, which is
        an unsettled outcome."""
        try:
            found = self._assessor.reassess(patient_id)
        except UnprocessableError:
            return self._done(AlertOutcome.UNSETTLED)
        if not found.in_cohort:
            return self._done(AlertOutcome.OUTSIDE_COHORT)
        assessment = found.assessment
        stored = self._storage.get_alert_state(patient_id)
        prior = PriorState(scenario=stored.scenario, cards=stored.cards) if stored is not None else None
        decision = decide(patient_id, prior, assessment)
        if not decision.record:
            return self._done(AlertOutcome.UNSETTLED)
        cards = [c.value for c in assessment.cards]
        scenario = decision.scenario.value if decision.scenario is not None else None
        if decision.key is None or decision.scenario is None or decision.reason is None:
            self._storage.record_assessment(patient_id, scenario=scenario, cards=cards)
            return self._done(AlertOutcome.UNCHANGED)
        if self._storage.get_alert(decision.key) is not None:
            self._storage.record_assessment(patient_id, scenario=scenario, cards=cards)
            return self._done(AlertOutcome.DUPLICATE)
        payload = dict(build_payload(patient_id, assessment))
        evidence_id = self._storage.save_evidence(payload, self._config.evidence_ttl_days * 86400)
        text = card_texts.TEXTS[decision.scenario]
        current = assessment.her2.current
        source = current.result.source if current is not None else None
        alert = NewAlert(
            alert_key=decision.key,
            patient_id=patient_id,
            scenario=decision.scenario.value,
            reason=decision.reason.value,
            trigger=trigger,
            title=text.title,
            summary=summary_for(decision.scenario, assessment),
            basis=tuple(basis_lines(assessment, decision.scenario)),
            evidence_id=evidence_id,
            rules_version=assessment.rules_version,
            reason_ref=source.reference if source is not None and source.system == "fhir" else None,
            owner_ref=found.owner,
            owner_source=found.owner_source.value if found.owner_source else None,
        )
        raised = self._storage.record_assessment(
            patient_id, scenario=scenario, cards=cards, alert=alert, channels=self._config.outbox_channels
        )
        return self._done(AlertOutcome.RAISED if raised else AlertOutcome.DUPLICATE)

    def _done(self, outcome: AlertOutcome) -> AlertOutcome:
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome


def task_status_counts(rows: Mapping[str, int]) -> str:
    """``"2 raised, 1 unchanged"`` for the command's summary line."""
    return ", ".join(f"{n} {k}" for k, n in sorted(rows.items())) or "nothing to do"
