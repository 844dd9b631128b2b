"""Review alerts end to end: `storescu` into `her2-cds receive`, the FHIR test server, `her2-cds alerts`.

One patient of the synthetic cohort (so the log guard knows her name, MRN and birth date) is charted in a
FHIR server of this module's own: an active breast-cancer Condition and a HER2-0 (null) pathology report.
A HER2 PET series with a reader SR calling two lesions avid is stored into the receiver with
``HER2CDS_ALERTS_CONFIG`` set; then, in order:

1. exactly one Task (``Task?identifier=``) in the FHIR server, with a link to its evidence page, and one
   open worklist alert for that patient;
2. the same series stored again: no new alert, no new Task;
3. a new HER2-low pathology report, then ``her2-cds alerts sync --once``: one more alert and Task;
4. a HER2-ultralow report re-assessed (the alert stored, not yet delivered), then the FHIR server stopped:
   ``her2-cds alerts deliver --once`` leaves the alert waiting in the outbox; with the server back, it
   writes its Task, and a second pass writes none.

The receiver and the ``alerts`` commands run in this process, so the log guard reads every line they log.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import io
import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.alerts.delivery import ALERT_SYSTEM
from cds_service.alerts.wiring import build_alerts
from cds_service.cli import main
from cds_service.cli import receive as receive_command
from cds_service.cohort.synthetic import Her2Spec, SyntheticBiopsy, SyntheticPatient, synthetic_cohort
from cds_service.cohort.synthetic_fhir import patient_bundle
from cds_service.observability import configure_logging
from cds_service.pet.jobs import worker_settings
from cds_service.storage.store import AlertRecord, AlertState, Storage
from connectors.dicom.phantom import PhantomSpec, write_phantom
from tests.conftest import free_port, require_binary
from tests.integration.fhir_server import FhirServer, start_fhir_server

pytestmark = pytest.mark.integration

SNOMED = "http://snomed.info/sct"
WAIT_S = 60.0
HER2_ZERO = SyntheticBiopsy(collected=dt.date(2024, 2, 20), site=None, her2=Her2Spec.IHC0_NULL)
HER2_LOW = SyntheticBiopsy(collected=dt.date(2024, 3, 5), site=None, her2=Her2Spec.IHC1)
HER2_ULTRALOW = SyntheticBiopsy(collected=dt.date(2024, 3, 7), site=None, her2=Her2Spec.IHC0_ULTRALOW)


@dataclasses.dataclass
class World:
    """The running parts of this module and what the test reads back."""

    fhir: FhirServer
    port: int
    workdir: Path
    patient: SyntheticPatient
    pet_files: list[Path]

    @property
    def storage(self) -> Storage:
        return Storage(f"sqlite:///{self.workdir / 'state' / 'her2cds.db'}")

    def chart(self, *biopsies: SyntheticBiopsy) -> None:
        """(Re)load the patient's chart with these biopsies and an active breast-cancer Condition."""
        patient = dataclasses.replace(self.patient, biopsies=biopsies)
        bundle = patient_bundle(patient)
        bundle["entry"].append({"resource": breast_cancer(patient.fhir_id)})
        self.fhir.load_bundle(bundle)

    def tasks(self, alert_key: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.fhir.base_url}/Task",
            params={"identifier": f"{ALERT_SYSTEM}|{alert_key}"},
            timeout=10,
        )
        response.raise_for_status()
        return [e["resource"] for e in response.json().get("entry", [])]

    def restart_fhir(self) -> None:
        self.fhir = start_fhir_server(self.workdir / "fhir", self.port)

    def alerts_command(self, *args: str) -> str:
        """Run ``her2-cds alerts …`` in this process (its signal handlers restored after); its output."""
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = main(["alerts", *args])
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        assert code == 0, out.getvalue()
        return out.getvalue()


def breast_cancer(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{patient_id}-breast-cancer",
        "clinicalStatus": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": "254837009"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_binary("storescu")
    configure_logging("INFO")  # as the service and create_app do: foreign log lines redacted too
    workdir = tmp_path_factory.mktemp("alerts-e2e")
    port = free_port()
    fhir = start_fhir_server(workdir / "fhir", port)
    member = synthetic_cohort().patients[0]
    spec = PhantomSpec(
        with_sr=True,
        patient_id=member.mrn,
        patient_name=f"{member.family}^{member.given}",
        birth_date=member.birth_date.strftime("%Y%m%d"),
        seed="alerts-e2e",
    )
    config = workdir / "alerts.json"
    config.write_text(
        json.dumps(
            {
                "fhir_base_url": fhir.base_url,
                "channels": ["fhir-task", "worklist"],
                "task_owner": "Group/oncology-t-dxd-review",
                "retry_base_s": 0.2,
                "retry_max_s": 0.4,
            }
        ),
        encoding="utf-8",
    )
    env = {
        "HER2CDS_DATA_DIR": str(workdir / "state"),
        "HER2CDS_DICOM_SOURCE": (workdir / "dicom").as_uri(),
        "HER2CDS_FHIR_ALLOWLIST": fhir.base_url,
        "HER2CDS_ALERTS_CONFIG": str(config),
        "HER2CDS_LINK_SECRET": "alerts-e2e-link-secret-of-32-characters",
        "HER2CDS_PUBLIC_URL": "https://cds.example.org",
    }
    state = World(
        fhir=fhir,
        port=port,
        workdir=workdir,
        patient=dataclasses.replace(member, pet=None),
        pet_files=write_phantom(workdir / "phantom", spec),
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in [k for k in os.environ if k.startswith("HER2CDS_") and k != "HER2CDS_TESTDATA"]:
                patch.delenv(name)
            for name, value in env.items():
                patch.setenv(name, value)
            yield state
    finally:
        state.fhir.stop()


@pytest.fixture(scope="module")
def receiver(world: World) -> Iterator[int]:
    """``her2-cds receive`` (in this process) on a free port; yields the port."""
    parser = argparse.ArgumentParser()
    receive_command.register(parser.add_subparsers())
    port = free_port()
    args = parser.parse_args(
        [
            "receive",
            "--ae-title",
            "HER2CDS",
            "--port",
            str(port),
            "--dicom-dir",
            str(world.workdir / "dicom"),
            "--idle-timeout",
            "0.3",
        ]
    )
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(receive_command.serve(args, stop)))
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=15)
    assert codes == [0]


def storescu(port: int, files: list[Path]) -> None:
    command = [require_binary("storescu"), "-R", "-aet", "MODALITY", "-aec", "HER2CDS", "127.0.0.1"]
    deadline = time.monotonic() + 10
    while True:  # the listener may still be starting
        result = subprocess.run(
            [*command, str(port), *map(str, files)], capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert result.returncode == 0, result.stderr


def alerts_of(world: World) -> list[AlertRecord]:
    storage = world.storage
    try:
        return sorted(storage.list_alerts(), key=lambda a: a.created_at)
    finally:
        storage.dispose()


def test_pet_then_pathology_then_outage_each_make_exactly_one_task(
    world: World, receiver: int, caplog: pytest.LogCaptureFixture
) -> None:
    world.chart(HER2_ZERO)
    patient_id = world.patient.fhir_id

    # 1. a HER2 PET series with avid lesions for a HER2-0 patient: one alert, one Task with its evidence link
    storescu(receiver, world.pet_files)
    wait_for(lambda: len(alerts_of(world)) == 1, "the first alert")
    (first,) = alerts_of(world)
    assert (first.patient_id, first.scenario, first.trigger) == (patient_id, "her2-zero-pet-avid", "pet")
    assert first.state is AlertState.NEW
    (task,) = world.tasks(first.alert_key)
    assert task["for"]["reference"] == f"Patient/{patient_id}"
    assert task["owner"]["reference"] == "Group/oncology-t-dxd-review"
    links = [i.get("valueUrl") or i.get("valueString") for i in task.get("input", [])]
    assert any(str(link).startswith("https://cds.example.org/alerts/evidence/") for link in links)

    # 2. the same series again: nothing new
    caplog.set_level(logging.INFO, logger="cds_service.cli.receive")
    caplog.clear()
    storescu(receiver, world.pet_files)
    wait_for(lambda: "already analysed" in caplog.text, "the second store to be handled")
    assert [a.alert_key for a in alerts_of(world)] == [first.alert_key]
    assert len(world.tasks(first.alert_key)) == 1

    # 3. a new HER2-low report, then one FHIR poll: one more alert and Task
    world.chart(HER2_ZERO, HER2_LOW)
    out = world.alerts_command("sync", "--once")
    assert "1 raised" in out
    second = alerts_of(world)[-1]
    assert len(alerts_of(world)) == 2
    assert (second.patient_id, second.scenario, second.trigger) == (patient_id, "her2-low-pet-avid", "fhir")
    assert len(world.tasks(second.alert_key)) == 1
    # a second poll sees the same change again (overlap) but raises nothing
    assert "raised" not in world.alerts_command("sync", "--once")

    # 4. raised while the FHIR server is down for delivery: waits in the outbox, delivered once on return
    world.chart(HER2_ZERO, HER2_LOW, HER2_ULTRALOW)
    settings = worker_settings(os.environ)
    storage = world.storage
    try:
        alerts = build_alerts(settings, storage)
        assert alerts is not None
        assert alerts.engine.reassess(patient_id, trigger="fhir").value == "raised"
        world.fhir.stop()
        assert "1 retry" in world.alerts_command("deliver", "--once")
        third = alerts_of(world)[-1]
        (row,) = storage.outbox_rows(third.alert_key)
        assert row["status"] == "pending"
        assert row["last_error"]
        assert row["attempts"] == 1
    finally:
        storage.dispose()
    world.restart_fhir()
    time.sleep(0.5)  # past the configured back-off (retry_max_s 0.4)
    assert "1 delivered" in world.alerts_command("deliver", "--once")
    assert len(world.tasks(third.alert_key)) == 1
    assert "delivered" not in world.alerts_command("deliver", "--once")
    assert len(world.tasks(third.alert_key)) == 1
    assert [a.scenario for a in alerts_of(world)] == [
        "her2-zero-pet-avid",
        "her2-low-pet-avid",
        "her2-ultralow",
    ]
