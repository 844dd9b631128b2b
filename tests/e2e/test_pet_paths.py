"""End to end, the PET paths: a first hook that answers ``pet-analysis-pending`` (the series indexed at the
service's start, its analysis queued by the hook) and a later one with the PET card (analysis finished in the
background), ``her2-cds sync --once`` computing ahead of the first hook, two replicas on one PostgreSQL
claiming an analysis once, the first hook after a start without a data-unavailable card, and a PACS stopped
between two hooks (noticed by the service's own sync, never by a hook).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cds_service.pet.index import source_key
from cds_service.storage.series_index import SeriesIndex
from cds_service.storage.store import Storage
from cds_service.storage.tables import AnalysisStatus
from tests.conftest import free_port
from tests.e2e.checks import check_hook_ok, check_pet_basis
from tests.e2e.conftest import ISS, Dataset, Deployment, EhrPrefetch, LatencyLog, base_env, load_scenario
from tests.e2e.harness import (
    PATIENT_VIEW,
    EhrClient,
    EhrKey,
    RecordingProxy,
    ServiceProcess,
    fhir_access,
    patient_view,
    run_cli,
)
from tests.e2e.scenarios import BY_KEY, SYNC_INJECTED, Scenario
from tests.integration.fhir_server import FhirServer
from tests.integration.orthanc import OrthancServer, start_orthanc

pytestmark = pytest.mark.e2e

TOKEN = "e2e-fhir-token"
PENDING = "pet-analysis-pending"
BACKGROUND_TIMEOUT_S = 90.0


@dataclass
class Ehr:
    """Hook calls as an EHR sends them: its prefetch for the patient, FHIR access for anything missing."""

    prefetch: EhrPrefetch
    fhir_base: str

    def hook(self, deployment: Deployment, scenario: Scenario, label: str, replica: int = 0) -> set[str]:
        prefetch = self.prefetch(deployment, scenario.patient_id)
        body = patient_view(scenario.patient_id, prefetch=prefetch, **fhir_access(self.fhir_base, TOKEN))
        exchange = deployment.hook(deployment.client(replica), PATIENT_VIEW, body, label)
        return check_hook_ok(exchange, deployment.limit_ms)

    def until_pet_card(self, deployment: Deployment, scenario: Scenario) -> set[str]:
        """Hooks (one per second) until neither the pending card nor a data-unavailable card shows; returns
        the last topics."""
        deadline = time.monotonic() + BACKGROUND_TIMEOUT_S
        calls = 0
        while True:
            calls += 1
            replica = calls % len(deployment.replicas)
            topics = self.hook(deployment, scenario, f"until analysed {scenario.key}", replica)
            if not topics & {PENDING, "data-unavailable"} or time.monotonic() > deadline:
                return topics
            time.sleep(1.0)


@pytest.fixture
def ehr(ehr_prefetch: EhrPrefetch, fhir_proxy: RecordingProxy) -> Ehr:
    return Ehr(ehr_prefetch, fhir_proxy.base())


def test_pending_first_then_the_pet_card(deployment: Deployment, dataset: Dataset, ehr: Ehr) -> None:
    scenario = BY_KEY["precompute-hook"]
    assert ehr.hook(deployment, scenario, "first hook, long series") == {"her2-low-no-pet", PENDING}
    assert ehr.until_pet_card(deployment, scenario) == scenario.expected
    body = patient_view(scenario.patient_id, **fhir_access(ehr.fhir_base, TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "after background analysis")
    check_hook_ok(exchange, deployment.limit_ms)
    uids = dataset.uids(scenario)
    detail = exchange.cards_by_topic()["her2-low-pet-avid"]["detail"]
    check_pet_basis(detail, scenario, uids.study, uids.series)


def test_sync_once_computes_before_the_first_hook(
    sqlite_deployment: Deployment, dataset: Dataset, ehr: Ehr
) -> None:
    deployment = sqlite_deployment
    scenario = BY_KEY["precompute-sync"]
    since = SYNC_INJECTED.date().isoformat()
    done = run_cli(["sync", "--once", "--since", since], deployment.env, deployment.workdir)
    assert done.returncode == 0, done.stderr[-2000:]
    assert dataset.uids(scenario).series in done.stdout + done.stderr
    assert ehr.hook(deployment, scenario, "first hook after sync") == scenario.expected


def test_two_replicas_claim_an_analysis_once(
    postgres_deployment: Deployment, dataset: Dataset, ehr: Ehr
) -> None:
    deployment = postgres_deployment
    scenario = BY_KEY["replica-race"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda i: ehr.hook(deployment, scenario, "race", i % 2), range(4)))
    assert all(a <= {"her2-low-pet-avid", PENDING, "her2-low-no-pet"} for a in answers), answers
    assert ehr.until_pet_card(deployment, scenario) == scenario.expected
    storage = Storage(deployment.database_url)
    try:
        record = storage.get_analysis(dataset.uids(scenario).series)
    finally:
        storage.dispose()
    assert record is not None
    assert record.status == AnalysisStatus.DONE, record
    assert record.attempts == 1, record


# ---------------------------------------------------------------------------------------------------------
# A PACS stopped between two hooks: its own Orthanc and service, so the shared ones keep running.

SYNC_INTERVAL_S = 1
"""The outage service syncs its PACS every second, so that it notices the stop at once."""


def wait_source_failed(deployment: Deployment, timeout_s: float = BACKGROUND_TIMEOUT_S) -> None:
    """Wait until the service's own sync has recorded that its PACS failed (read from its database)."""
    storage = Storage(deployment.database_url)
    try:
        index = SeriesIndex(storage)
        name = source_key(deployment.env["HER2CDS_DICOM_SOURCE"])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = index.state(name)
            if state is not None and state.failed:
                return
            time.sleep(0.2)
    finally:
        storage.dispose()
    raise AssertionError("the service never recorded the PACS outage")


@dataclass
class OutageSetup:
    deployment: Deployment
    orthanc: OrthancServer


@pytest.fixture(scope="module", params=["dicomweb", "dimse"])
def outage(
    request: pytest.FixtureRequest,
    e2e_dir: Path,
    fhir: FhirServer,
    fhir_proxy: RecordingProxy,
    ehr_key: EhrKey,
    latency_log: LatencyLog,
) -> Iterator[OutageSetup]:
    workdir = e2e_dir / f"outage-{request.param}"
    orthanc = start_orthanc(workdir / "orthanc")
    service: ServiceProcess | None = None
    try:
        for key in ("pacs-cached", "pacs-uncached"):
            load_scenario(BY_KEY[key], fhir, orthanc)
        source = (
            orthanc.dicomweb_url
            if request.param == "dicomweb"
            else f"dimse://{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}"
        )
        port = free_port()
        env = base_env(
            workdir,
            [{"iss": ISS, "jwks": ehr_key.jwks(), "algorithms": ["ES384"]}],
            [fhir_proxy.base()],
            source,
            f"sqlite:///{workdir / 'her2cds.db'}",
        )
        env.update(
            {
                "HER2CDS_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "WEB_CONCURRENCY": "1",
                "HER2CDS_PET_SYNC_INTERVAL_S": str(SYNC_INTERVAL_S),
            }
        )
        service = ServiceProcess(port=port, env=env, workdir=workdir).start()
        deployment = Deployment(
            f"pacs-outage-{request.param}",
            [service],
            service.url,
            env,
            workdir,
            ehr_key,
            latency_log,
            env["HER2CDS_DATABASE_URL"],
        )
        yield OutageSetup(deployment, orthanc)
    finally:
        if service is not None:
            service.stop()
        orthanc.stop()


def test_a_pacs_stopped_between_two_hooks(outage: OutageSetup, ehr: Ehr) -> None:
    cached, uncached = BY_KEY["pacs-cached"], BY_KEY["pacs-uncached"]
    deployment = outage.deployment
    first = ehr.hook(deployment, cached, "first hook after start")
    assert first == {"her2-low-no-pet", PENDING}  # indexed before the service answered; no false outage
    topics = ehr.until_pet_card(deployment, cached)
    assert topics == cached.expected, "the PET of the cached patient was never analysed while the PACS was up"

    outage.orthanc.stop()
    assert not outage.orthanc.is_running()
    wait_source_failed(deployment)  # the service's own sync notices; no hook ever calls the PACS

    topics = ehr.hook(deployment, cached, "PACS down, analysis stored")
    assert topics == cached.expected | {"data-unavailable"}
    topics = ehr.hook(deployment, uncached, "PACS down, not analysed")
    assert topics == uncached.expected
    client: EhrClient = deployment.client()
    body = patient_view(uncached.patient_id, **fhir_access(ehr.fhir_base, TOKEN))
    exchange = client.hook(PATIENT_VIEW, body)
    check_hook_ok(exchange, deployment.limit_ms)
    assert "PACS" in exchange.cards_by_topic()["data-unavailable"]["detail"]
