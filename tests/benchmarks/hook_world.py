"""The world the hook benchmarks run in: data, settings, the service and its floor, client JWTs.

As a hospital would run it (issue 8 item 5): PET in the embedded DICOM folder (``file://``), SQLite, the
EHR's key inline in the trust file (ES384, as the end-to-end tests configure it), and every PET series
analysed ahead of the hook by ``her2-cds sync --once``. The patient is the end-to-end scenario
``her2-low-pet-avid`` (HER2-low pathology, an avid 89Zr-trastuzumab PET); the folder also holds the PET
series of every other end-to-end scenario, so the source is not a one-series toy.

- ``build_world`` writes the series, loads every chart into the Node FHIR test server, runs the sync into a
  seed database and resolves the full prefetch from the service's discovery templates, as an EHR would.
- ``World.service_env`` gives the ``HER2CDS_*`` environment of ``her2-cds serve`` on a copy of the seed
  database; ``FloorProcess`` serves a trivial JSON endpoint under the same gunicorn settings.
- ``World.tokens`` signs client JWTs (a unique ``jti`` each, ``aud`` = the exact URL called).

Everything binds 127.0.0.1; processes are stopped by the PID that started them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cds_service import create_app
from cds_service.settings import AuthMode, Settings
from cds_service.storage.store import Storage
from connectors.dicom.phantom import write_phantom
from tests.benchmarks.floor_app import SIGNED_FLOOR_PATH
from tests.e2e.harness import PATIENT_VIEW, EhrKey, run_cli
from tests.e2e.scenarios import BY_KEY, MRN_SYSTEM, SCENARIOS, Scenario, fhir_resources
from tests.integration.fhir_server import FhirServer

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / ".var" / "bench"
"""Where the benchmark tables are written (``make clean`` removes ``.var``)."""

ISS = "https://ehr.bench.test/fhir"
PATIENT: Scenario = BY_KEY["her2-low-pet-avid"]
EXPECTED_TOPIC = "her2-low-pet-avid"
"""The card the patient's chart and stored analysis call for (``tests/e2e/scenarios.py``)."""
HOOK_PATH = f"/cds-services/{PATIENT_VIEW}"
FLOOR_PATH = "/floor"
WORKERS = os.environ.get("BENCH_WORKERS", "2")
THREADS = os.environ.get("BENCH_THREADS", "8")
"""gunicorn workers and threads of the service and its floors (the deployment defaults unless set)."""
TOKEN_LIFETIME_S = 1800
"""Client JWT lifetime: long enough for a whole benchmark run, within the service's 1 h limit."""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def hook_body(*, prefetch: Mapping[str, Any] | None, fhir_base: str | None) -> dict[str, Any]:
    """A patient-view request; ``hookInstance`` is ``@HOOK_INSTANCE@`` (the load generator fills it).

    With ``fhir_base`` the request grants FHIR access (``fhirServer`` + ``fhirAuthorization``) for the
    fallback; without ``prefetch`` every key must come from there.
    """
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "@HOOK_INSTANCE@",
        "context": {"userId": "Practitioner/bench-oncologist", "patientId": PATIENT.patient_id},
    }
    if fhir_base is not None:
        body["fhirServer"] = fhir_base
        body["fhirAuthorization"] = {
            "access_token": "bench-fhir-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "user/Patient.read user/Observation.read user/DiagnosticReport.read "
            "user/Condition.read user/ImagingStudy.read user/MedicationRequest.read "
            "user/MedicationAdministration.read",
            "subject": "her2-pet-cds",
        }
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    return body


def distinct_prefetch(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` whose prefetched Patient differs on every request (its ``meta.versionId`` is the request's
    ``@HOOK_INSTANCE@``): no two hooks send the same resources, so the service's memo of the pathology
    mapping (``cds_service.hooks.mapping_cache``) never hits, as with a stream of distinct patients. Nothing
    the cards rest on changes."""
    prefetch = dict(body["prefetch"])
    prefetch["patient"] = {**prefetch["patient"], "meta": {"versionId": "@HOOK_INSTANCE@"}}
    return {**body, "prefetch": prefetch}


def with_instance(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with a fresh ``hookInstance`` (for calls made from Python)."""
    return {**body, "hookInstance": str(uuid.uuid4())}


@dataclass
class World:
    """What ``build_world`` prepared (see the module docstring)."""

    workdir: Path
    dicom_dir: Path
    seed_db: Path
    fhir: FhirServer
    key: EhrKey
    prefetch: dict[str, Any]
    series_count: int
    file_count: int
    _databases: int = field(default=0)

    def trusted_clients(self) -> list[dict[str, Any]]:
        return [{"iss": ISS, "jwks": self.key.jwks(), "algorithms": ["ES384"]}]

    def database_copy(self, name: str) -> str:
        """A SQLAlchemy URL of a fresh copy of the seed database (stored analyses, nothing else)."""
        self._databases += 1
        target = self.workdir / f"{name}-{self._databases}" / "her2cds.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.seed_db, target)
        return f"sqlite:///{target}"

    def service_env(self, *, public_url: str, database_url: str, data_dir: Path) -> dict[str, str]:
        """``HER2CDS_*`` (and worker) settings of one ``her2-cds serve``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        trusted = data_dir / "trusted-clients.json"
        trusted.write_text(json.dumps(self.trusted_clients()))
        return {
            "HER2CDS_AUTH": "jwt",
            "HER2CDS_PUBLIC_URL": public_url,
            "HER2CDS_TRUSTED_CLIENTS": str(trusted),
            "HER2CDS_FHIR_ALLOWLIST": self.fhir.base_url,
            "HER2CDS_DICOM_SOURCE": self.dicom_dir.as_uri(),
            "HER2CDS_DATABASE_URL": database_url,
            "HER2CDS_DATA_DIR": str(data_dir),
            "HER2CDS_PATIENT_ID_SYSTEM": MRN_SYSTEM,
            "HER2CDS_LINK_SECRET": "bench-link-secret-" + uuid.uuid4().hex,
            "HER2CDS_LOG_LEVEL": "INFO",
            **worker_env(),
        }

    def settings(self, *, public_url: str, database_url: str, data_dir: Path) -> Settings:
        """The same deployment settings as ``service_env``, for an in-process app."""
        return Settings.from_env(
            self.service_env(public_url=public_url, database_url=database_url, data_dir=data_dir)
        )

    def tokens(self, audience: str, count: int) -> list[str]:
        """``count`` client JWTs for the endpoint at ``audience``, each with its own ``jti``."""
        now = int(time.time())
        private = self.key.private
        headers = {"kid": self.key.kid, "typ": "JWT"}
        claims = {"iss": ISS, "sub": "bench-ehr", "aud": audience, "iat": now, "exp": now + TOKEN_LIFETIME_S}
        return [
            jwt.encode({**claims, "jti": uuid.uuid4().hex}, private, algorithm="ES384", headers=headers)
            for _ in range(count)
        ]


def worker_env() -> dict[str, str]:
    """gunicorn worker settings shared by the service and its floor (``cds_service/gunicorn_conf.py``)."""
    return {"WEB_CONCURRENCY": WORKERS, "GUNICORN_THREADS": THREADS}


def _write_series(dicom_dir: Path) -> tuple[int, int]:
    """Every end-to-end PET scenario's series (PET, SEG, SR) below ``dicom_dir``; (series, files)."""
    series = files = 0
    for scenario in SCENARIOS:
        if scenario.pet is None:
            continue
        files += len(write_phantom(dicom_dir / scenario.key, scenario.phantom_spec()))
        series += 1
    return series, files


def _load_charts(fhir: FhirServer, dicom_dir: Path) -> None:
    """Every scenario's chart, with the ImagingStudy pointing at the UIDs of the series written."""
    from pydicom import dcmread

    for scenario in SCENARIOS:
        uids = None
        if scenario.pet is not None:
            first = dcmread(dicom_dir / scenario.key / "pt_001.dcm", stop_before_pixels=True)
            uids = (str(first.StudyInstanceUID), str(first.SeriesInstanceUID))
        resources = fhir_resources(scenario, uids)
        fhir.load_bundle({"entry": [{"resource": r} for r in resources]})


def _discovery_templates(workdir: Path) -> dict[str, str]:
    """The patient-view prefetch templates, read from the discovery document of an in-process app."""
    settings = Settings(
        auth=AuthMode.OFF,
        discovery_requires_jwt=False,
        database_url=f"sqlite:///{workdir / 'discovery.db'}",
        data_dir=workdir,
        dicom_source=(workdir / "no-dicom").as_uri(),
    )
    storage = Storage(settings.database_url)
    storage.migrate()  # as `her2-cds migrate` does before a service starts
    storage.dispose()
    app = create_app(settings)
    services = app.test_client().get("/cds-services").get_json()["services"]
    templates: dict[str, str] = next(s for s in services if s["id"] == PATIENT_VIEW)["prefetch"]
    return templates


def _resolve_prefetch(fhir: FhirServer, templates: Mapping[str, str]) -> dict[str, Any]:
    """What an EHR sends: each template resolved against its FHIR server (a failed read is ``null``)."""
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        url = f"{fhir.base_url}/{template.replace('{{context.patientId}}', PATIENT.patient_id)}"
        response = requests.get(url, timeout=10)
        prefetch[key] = response.json() if response.status_code == 200 else None
    return prefetch


def build_world(workdir: Path, fhir: FhirServer) -> World:
    """Write the series, load the charts, analyse ahead (``her2-cds sync --once``), resolve prefetch."""
    dicom_dir = workdir / "dicom"
    series, files = _write_series(dicom_dir)
    _load_charts(fhir, dicom_dir)
    seed_dir = workdir / "seed"
    world = World(
        workdir=workdir,
        dicom_dir=dicom_dir,
        seed_db=seed_dir / "her2cds.db",
        fhir=fhir,
        key=EhrKey.generate("bench"),
        prefetch={},
        series_count=series,
        file_count=files,
    )
    env = world.service_env(
        public_url="http://127.0.0.1", database_url=f"sqlite:///{world.seed_db}", data_dir=seed_dir
    )
    synced = run_cli(["sync", "--once"], env, seed_dir, timeout_s=600)
    if synced.returncode != 0:
        raise RuntimeError(f"her2-cds sync --once failed ({synced.returncode}): {synced.stderr[-2000:]}")
    stored = synced.stdout.count("stored ")
    if stored < series - 1:  # every HER2 PET series but at most one (the demo's non-HER2 tracer) is stored
        raise RuntimeError(f"sync stored {stored} of {series} series:\n{synced.stdout[-2000:]}")
    world.prefetch = _resolve_prefetch(fhir, _discovery_templates(workdir))
    return world


# ---------------------------------------------------------------------------------------------------------
# gunicorn processes


@dataclass
class GunicornProcess:
    """One gunicorn master (and its workers) on 127.0.0.1, polled on ``ready_path``, stopped by PID."""

    command: list[str]
    port: int
    env: dict[str, str]
    workdir: Path
    ready_path: str
    log_prefix: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.log_prefix}-{self.port}.log"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> GunicornProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HER2CDS_")}
        env.update(self.env)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command[0]} exited with {self.process.returncode}:\n{self.log_text()[-3000:]}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"not ready after {START_TIMEOUT_S} s:\n{self.log_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers); SIGKILL to its process group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)


def service_process(port: int, env: dict[str, str], workdir: Path) -> GunicornProcess:
    """``her2-cds serve`` (the installed console script next to this interpreter)."""
    script = str(Path(sys.executable).with_name("her2-cds"))
    command = [script, "serve", "--host", "127.0.0.1", "--port", str(port)]
    return GunicornProcess(command, port, env, workdir, ready_path="/healthz", log_prefix="service")


def floor_process(port: int, workdir: Path, key: EhrKey | None = None) -> GunicornProcess:
    """The floors (``tests/benchmarks/floor_app.py``) under the service's gunicorn settings; with ``key`` also
    the signed floor (the EHR's public key, the endpoint's URL as audience, a SQLite file of its own)."""
    command = [sys.executable, "-m", "tests.benchmarks.floor_app", "--port", str(port)]
    env = worker_env()
    if key is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        pem = workdir / "ehr-public.pem"
        pem.write_bytes(
            key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
        env |= {
            "BENCH_FLOOR_PUBLIC_KEY": str(pem),
            "BENCH_FLOOR_AUDIENCE": f"http://127.0.0.1:{port}{SIGNED_FLOOR_PATH}",
            "BENCH_FLOOR_DATABASE": str(workdir / "floor-signed.db"),
        }
    return GunicornProcess(command, port, env, workdir, ready_path=FLOOR_PATH, log_prefix="floor")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid``, its reaped children and its live children.

    gunicorn recycles workers (``max_requests``); a worker that exited was reaped by the master, so its time
    is in the master's ``cutime``/``cstime``. Linux ``/proc`` only.
    """
    tick = os.sysconf("SC_CLK_TCK")

    def fields(stat_path: Path) -> list[str] | None:
        try:
            text = stat_path.read_text()
        except OSError:
            return None
        return text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is the state

    own = fields(Path(f"/proc/{pid}/stat"))
    if own is None:
        return 0.0
    total = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        child = fields(entry / "stat")
        if child is not None and child[1] == str(pid):  # ppid
            total += int(child[11]) + int(child[12])
    return total / tick
