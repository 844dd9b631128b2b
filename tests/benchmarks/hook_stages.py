"""One patient-view hook taken apart: each stage of the hook path called in-process on the same request.

``HookStages`` builds an app with the benchmark's deployment settings (``hook_world.World.settings``) and
prepares one request (full prefetch, the stored PET analysis). Each stage is a callable taking the call
number, run ``n`` times by ``time_stage``, which reports CPU (``time.process_time``: every thread of this
process, so the PET lookup's pool threads count) and wall time per call:

- ``token``: client JWT verification (header, key, ES384 signature, claims) with a replay store that
  accepts every ``jti``; the replay insert is in ``write``;
- ``parse``: JSON decoding of the body and the request and context models;
- ``mapping``: prefetch resolution and FHIR → domain mapping (``connectors.fhir.mapping``), once as a hook
  with a prefetch not seen before pays it (memo miss) and once as the whole hook below pays it, the same
  resources again (memo hit, ``cds_service.hooks.mapping_cache`` with the service's settings);
- ``PET lookup``: the PET facts for the hook (stored analysis; today it also searches the DICOM source);
- ``rules``: ``rules.assess.assess``;
- ``cards``: card rendering and the response JSON;
- ``write``: the one database write of a hook: ``jti`` insert, audit row and evidence snapshot in one
  transaction (``Storage.record_call``);
- ``whole hook``: the complete call through Flask's test client (routing, logging, metrics included),
  so ``whole − Σ stages`` is what the stages do not cover.

This module names each stage's entry point in one place: when the service layer moves, only this file
follows it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service import PET_EXTENSION_KEY, create_app
from cds_service.auth import JwtVerifier, load_trusted_clients
from cds_service.evidence.routes import build_payload, link_url
from cds_service.hooks.cards import render_cards
from cds_service.hooks.handlers import patient_view
from cds_service.hooks.mapping_cache import MappingCache
from cds_service.hooks.models import CdsRequest, CdsResponse
from cds_service.hooks.prefetch import PrefetchResolver, fhir_client_factory, templates
from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.hooks.service import fhir_access
from cds_service.observability import configure_logging
from cds_service.storage.store import AuditedCard, HookAuditRecord, HookOutcome, TokenUse
from connectors.fhir.mapping import pathology_from_resources
from connectors.http import Deadline
from rules.assess import assess
from rules.domain import AssessInputs
from rules.parameters import RULES_VERSION
from tests.benchmarks.hook_world import HOOK_PATH, ISS, PATIENT, World, hook_body, with_instance

MAPPING_MISS = "FHIR mapping, memo miss"
"""The stage a hook with a prefetch not seen before pays instead of the memo hit (not in the sum of stages,
which follows the whole hook's path: the same request again)."""
MAX_WARMUP = 20
"""Most warm-up calls a stage may be given (tokens are signed for them)."""
PUBLIC_URL = "http://127.0.0.1:9"
"""The in-process app's public URL (JWT ``aud``); nothing listens there, nothing is sent there."""


class _AcceptEveryJti:
    """A replay store that records nothing (the ``token`` stage measures verification alone)."""

    def check_and_store(self, iss: str, jti: str, expires_at: dt.datetime) -> bool:
        return True

    def seen(self, iss: str, jti: str) -> bool:
        return False


@dataclass(frozen=True)
class StageTiming:
    name: str
    calls: int
    cpu_ms: float
    wall_ms: float


def time_stage(name: str, stage: Callable[[int], object], n: int, warmup: int) -> StageTiming:
    """Run ``stage(i)`` ``warmup`` times untimed, then ``n`` times timed; per-call CPU and wall ms."""
    for i in range(warmup):
        stage(i)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(warmup, warmup + n):
        stage(i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return StageTiming(name=name, calls=n, cpu_ms=cpu * 1000.0 / n, wall_ms=wall * 1000.0 / n)


class HookStages:
    """The stages of one patient-view hook with full prefetch, ready to be called repeatedly."""

    def __init__(self, world: World, workdir: Path, calls: int) -> None:
        self.settings = world.settings(
            public_url=PUBLIC_URL, database_url=world.database_copy("stages"), data_dir=workdir / "data"
        )
        self.app = create_app(self.settings)
        # Log lines are formatted as in production but written to a file, not the terminal.
        self._log = (workdir / "service-stages.log").open("a", encoding="utf-8")
        configure_logging(self.settings.log_level, stream=self._log)
        parts: Components = self.app.extensions[EXTENSION_KEY]
        assert parts.storage is not None
        self.storage = parts.storage
        self.client = self.app.test_client()
        self.audience = PUBLIC_URL + HOOK_PATH
        # Every call that verifies a token gets its own: the token stage, the whole hook and its profile,
        # each with up to ``MAX_WARMUP`` warm-up calls.
        self.tokens = deque(world.tokens(self.audience, 3 * (calls + MAX_WARMUP)))
        assert self.settings.trusted_clients_path is not None
        self.verifier = JwtVerifier(
            load_trusted_clients(self.settings.trusted_clients_path), replay_store=_AcceptEveryJti()
        )
        self.body = hook_body(prefetch=world.prefetch, fhir_base=world.fhir.base_url)
        self.raw = json.dumps(with_instance(self.body)).encode()
        self.resolver = PrefetchResolver(
            fhir_client_factory(self.settings), templates(self.settings.site.prefetch_templates)
        )
        self.pet_lookup = self.app.extensions[PET_EXTENSION_KEY].lookup
        self.memo = MappingCache(
            pathology_from_resources,
            max_entries=self.settings.mapping_cache_entries,
            ttl_s=self.settings.mapping_cache_ttl_s,
        )
        # One pass through the pipeline gives each stage its input.
        self.request = CdsRequest.model_validate(json.loads(self.raw))
        self.context = patient_view.HANDLER.context_model.model_validate(self.request.context)
        self.access = fhir_access(self.request, self.settings, None)
        self.fetched = self.mapping(0)
        self.pathology = pathology_from_resources(self.fetched.all_resources())
        pet = self.lookup(0)
        self.inputs = AssessInputs(
            her2_results=tuple(self.pathology.her2),
            receptors=tuple(self.pathology.receptors),
            context=self.pathology.context,
            pet=pet.pet,
            pet_status=pet.status,
            pending_pet_date=pet.pending_date,
            pathology_cards_enabled=self.settings.site.pathology_cards,
        )
        self.pet_status = pet.status
        self.assessment = assess(self.inputs, dt.datetime.now(dt.UTC))
        self.topics = [c.value for c in self.assessment.cards]

    # -- stages (argument: the call number) --------------------------------------------------------------

    def token(self, i: int) -> object:
        return self.verifier.verify(f"Bearer {self.tokens.popleft()}", self.audience)

    def parse(self, i: int) -> object:
        request = CdsRequest.model_validate(json.loads(self.raw))
        return patient_view.HANDLER.context_model.model_validate(request.context)

    def mapping(self, i: int) -> Any:
        deadline = Deadline(self.settings.budget_s)
        fetched = self.resolver.resolve(
            self.request.prefetch, self.context.model_dump(), self.access, deadline
        )
        pathology_from_resources(fetched.all_resources())
        return fetched

    def mapping_hit(self, i: int) -> Any:
        deadline = Deadline(self.settings.budget_s)
        fetched = self.resolver.resolve(
            self.request.prefetch, self.context.model_dump(), self.access, deadline
        )
        return self.memo(fetched.all_resources())

    def lookup(self, i: int) -> Any:
        return self.pet_lookup.lookup(
            PATIENT.patient_id,
            self.fetched.resources.get("imaging", []),
            Deadline(self.settings.budget_s),
            patient=self.fetched.resources.get("patient", []),
        )

    def rules(self, i: int) -> object:
        return assess(self.inputs, dt.datetime.now(dt.UTC))

    def cards(self, i: int) -> object:
        cards = render_cards(
            self.assessment,
            self.settings.site,
            patient_id=PATIENT.patient_id,
            evidence_url=f"{PUBLIC_URL}/evidence/token",
        )
        return json.dumps(CdsResponse(cards=cards).dump())

    def write(self, i: int) -> object:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        record = HookAuditRecord(
            hook_instance=str(uuid.uuid4()),
            service_id="her2-pet-review",
            hook="patient-view",
            received_at=dt.datetime.now(dt.UTC),
            duration_ms=1.0,
            outcome=HookOutcome.CARDS,
            rules_version=RULES_VERSION,
            cards=tuple(AuditedCard(uuid=str(uuid.uuid4()), topic=t) for t in self.topics),
            iss=ISS,
        )
        payload = build_payload(PATIENT.patient_id, self.assessment)
        snapshot = self.storage.new_evidence(dict(payload), self.settings.evidence_ttl_s)
        link_url(self.settings, snapshot.id)
        token = TokenUse(iss=ISS, jti=uuid.uuid4().hex, expires_at=expires)
        return self.storage.record_call(record, token=token, evidence=[snapshot])

    def whole(self, i: int) -> object:
        token = self.tokens.popleft()
        response = self.client.post(
            HOOK_PATH,
            data=json.dumps(with_instance(self.body)),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return response

    def stages(self) -> list[tuple[str, Callable[[int], object]]]:
        """(name, stage) in hook order; ``whole hook`` last."""
        return [
            ("token verify (signature, claims)", self.token),
            ("request parse (JSON, models)", self.parse),
            (MAPPING_MISS, self.mapping),
            ("FHIR mapping, memo hit", self.mapping_hit),
            ("PET lookup", self.lookup),
            ("rules (assess)", self.rules),
            ("cards (render, response JSON)", self.cards),
            ("write (jti, audit, evidence: one txn)", self.write),
            ("whole hook (Flask test client)", self.whole),
        ]

    def close(self) -> None:
        self.storage.dispose()
        configure_logging(self.settings.log_level)  # back to standard output, as create_app left it
        self._log.close()
