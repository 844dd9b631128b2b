"""The chart works as rendered: its containers, run with the rendered command, environment and volumes.

``helm template`` renders the chart with the smallest install's values (SQLite) and with a hospital's values
(PostgreSQL, receiver, sync, NetworkPolicy, …). :class:`~tests.deploy.pod_runner.PodRun` then runs the
rendered containers against the real service: empty temporary directories for ``emptyDir`` volumes (so
``/tmp/prometheus`` does not exist until the service creates it), ConfigMaps and Secrets as read-only
files, the pod's user without write access anywhere else. Only the listening port (a free loopback port) and
the test's own EHR key (inline JWKS, so that the test can sign the EHR's JWT) differ from what a cluster
would run. The EHR calls discovery, a hook and ``/metrics``; the helm test pod's script runs too.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from tests.conftest import free_port, missing_dependency, stop_process
from tests.deploy.pod_runner import PodRun, containers, stderr_log, stdout_log
from tests.e2e.harness import EhrClient, EhrKey, patient_view
from tests.integration.postgres import PostgresServer
from tests.unit.cds_service.cds_support import check_service_response

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "her2-pet-cds"
CI_VALUES = ROOT / "deploy" / "helm" / "ci-values"
ISS = "https://ehr.hospital.example"
READY_TIMEOUT_S = 90.0

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def helm() -> str:
    path = ROOT / ".tools" / "bin" / "helm"
    if not path.exists():
        missing_dependency("helm is not installed (make tools installs it into .tools/bin)")
    return str(path)


@pytest.fixture(scope="module")
def ehr_key() -> EhrKey:
    return EhrKey.generate()


@dataclass
class Rendered:
    docs: list[dict[str, Any]]

    def one(self, kind: str, component: str | None = None) -> dict[str, Any]:
        found = [
            d
            for d in self.docs
            if d["kind"] == kind
            and (component is None or d["metadata"]["labels"].get("app.kubernetes.io/component") == component)
        ]
        assert len(found) == 1, (kind, component, [d["metadata"]["name"] for d in found])
        return found[0]

    @property
    def configmaps(self) -> dict[str, dict[str, str]]:
        return {d["metadata"]["name"]: d.get("data", {}) for d in self.docs if d["kind"] == "ConfigMap"}


def render(helm: str, tmp_path: Path, values: Path, overrides: Mapping[str, Any]) -> Rendered:
    extra = tmp_path / "test-overrides.yaml"
    extra.write_text(
        json.dumps(dict(overrides))
    )  # JSON quotes every key (YAML 1.1 reads a JWK's `y:` as true)
    out = subprocess.run(
        [helm, "template", "t", str(CHART), "-f", str(values), "-f", str(extra)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return Rendered([d for d in yaml.safe_load_all(out) if d])


def our_ehr(key: EhrKey) -> dict[str, Any]:
    """The hospital's trusted-client entry, with this test's key inline instead of the EHR's JWKS URL."""
    return {"config": {"trustedClients": [{"iss": ISS, "jwks": key.jwks(), "algorithms": ["ES384"]}]}}


def wait_ready(base: str, process: subprocess.Popen[bytes], logs: Path, probes: str | None = None) -> None:
    """Poll ``/readyz`` as the kubelet does: on the probe listener (``probes``) when the pod has one."""
    base = probes or base
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited {process.returncode}: {stderr_log(logs).read_text()[-3000:]}")
        try:
            if requests.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or still starting on a busy machine: poll again until the deadline
        time.sleep(0.2)
    pytest.fail(f"service not ready in {READY_TIMEOUT_S} s: {stderr_log(logs).read_text()[-3000:]}")


@pytest.fixture
def pod_root() -> Iterator[Path]:
    """Where the pods' volumes live: traversable by the pods' user (pytest's temporary folders are not)."""
    root = Path(tempfile.mkdtemp(prefix="her2cds-pods-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def running() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        stop_process(process)


class Collector:
    """An OTLP/HTTP trace receiver on loopback: keeps the body of every ``POST /v1/traces``."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def span_names(self, timeout_s: float) -> tuple[set[str], bytes]:
        """The names of the spans received within ``timeout_s`` seconds, and every body received."""
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        deadline = time.monotonic() + timeout_s
        names: set[str] = set()
        while time.monotonic() < deadline and "POST /cds-services/<service_id>" not in names:
            for body in list(self.bodies):
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                names |= {
                    span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans
                }
            time.sleep(0.2)
        return names, b"".join(self.bodies)


@pytest.fixture
def collector() -> Iterator[Collector]:
    found = Collector()
    yield found
    found.server.shutdown()
    found.server.server_close()


def chart_prefetch(patient_id: str) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == patient_id)
    return {k: as_prefetch_value(k, v) for k, v in patient_resources(patient).items()}


def exercise(pod: PodRun, web: Mapping[str, Any], base: str, ehr: EhrClient, logs: Path) -> None:
    """Discovery, a hook, /metrics and the JSON access log of a running web container."""
    assert requests.get(base + "/cds-services", timeout=5).status_code == 401  # discovery needs the JWT
    discovery = ehr.discovery()
    assert discovery.status == 200, discovery.body
    assert "her2-pet-review" in {s["id"] for s in discovery.body["services"]}
    hook = ehr.hook(
        "her2-pet-review", patient_view("demo-her2-low", prefetch=chart_prefetch("demo-her2-low"))
    )
    assert hook.status == 200, hook.body
    check_service_response(hook.body)
    assert hook.body["cards"], "a HER2-low chart gets a card"
    metrics = requests.get(base + "/metrics", timeout=5)
    assert metrics.status_code == 200, metrics.text
    assert (
        'her2cds_hook_duration_seconds_count{outcome="cards",service_id="her2-pet-review"} 1.0'
        in metrics.text
    )
    multiproc = Path(pod.env(web)["PROMETHEUS_MULTIPROC_DIR"])
    assert any(multiproc.glob("*.db")), "workers write their samples to the multiprocess directory"
    lines = [json.loads(line) for line in stdout_log(logs).read_text().splitlines() if line.strip()]
    access = [line for line in lines if line.get("event") == "http_request"]
    assert {"method": "POST", "path": "/cds-services/her2-pet-review", "status": 200}.items() <= next(
        a for a in access if a["method"] == "POST"
    ).items()
    assert any(line.get("logger") == "gunicorn.error" for line in lines), "gunicorn's own lines are JSON too"


def run_helm_test(rendered: Rendered, pod_workdir: Path, base: str) -> subprocess.CompletedProcess[str]:
    """The helm test pod's script, with the Service address replaced by the running container's."""
    test_pod = rendered.one("Pod", "test")
    runner = PodRun(test_pod["spec"], configmaps=rendered.configmaps, secrets={}, workdir=pod_workdir)
    container = containers(test_pod["spec"])[0]
    script = container["args"][0].replace("http://t-her2-pet-cds:8080", base)
    return runner.run({**container, "args": [script]})


def test_smallest_install_runs_as_rendered(
    helm: str, tmp_path: Path, pod_root: Path, ehr_key: EhrKey, running: list[subprocess.Popen[bytes]]
) -> None:
    rendered = render(helm, tmp_path, CI_VALUES / "minimal.yaml", our_ehr(ehr_key))
    deployment = rendered.one("Deployment", "web")
    pod = PodRun(
        deployment["spec"]["template"]["spec"],
        configmaps=rendered.configmaps,
        secrets={},
        workdir=pod_root / "web",
    )
    (migrate,) = containers(deployment["spec"]["template"]["spec"], init=True)
    (web,) = containers(deployment["spec"]["template"]["spec"])
    assert web["command"][:2] == ["her2-cds", "serve"]
    assert not Path(pod.env(web)["PROMETHEUS_MULTIPROC_DIR"]).exists()  # /tmp is an empty volume

    done = pod.run(migrate)
    assert done.returncode == 0, done.stderr
    assert "her2-cds migrate:" in done.stdout
    port = free_port()
    logs = tmp_path / "serve-web"
    running.append(pod.start(web, logs, replace={"--port": str(port), "--host": "127.0.0.1"}))
    base = f"http://127.0.0.1:{port}"
    wait_ready(base, running[0], logs, pod.probe_base(web))
    public_url = rendered.configmaps["t-her2-pet-cds"]["HER2CDS_PUBLIC_URL"]
    exercise(pod, web, base, EhrClient(ehr_key, iss=ISS, public_url=public_url, send_to=base), logs)
    helm_test = run_helm_test(rendered, pod_root / "helm-test", base)
    assert helm_test.returncode == 0, helm_test.stderr
    assert "discovery: 401" in helm_test.stdout


def test_configuration_error_is_one_line_and_exit_2(
    helm: str, tmp_path: Path, pod_root: Path, ehr_key: EhrKey
) -> None:
    values = our_ehr(ehr_key) | {"extraEnv": [{"name": "HER2CDS_HOOK_BUDGET_MS", "value": "soon"}]}
    rendered = render(helm, tmp_path, CI_VALUES / "minimal.yaml", values)
    spec = rendered.one("Deployment", "web")["spec"]["template"]["spec"]
    pod = PodRun(spec, configmaps=rendered.configmaps, secrets={}, workdir=pod_root / "web")
    done = pod.run(containers(spec)[0], replace={"--port": str(free_port()), "--host": "127.0.0.1"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "her2-cds serve: configuration error: HER2CDS_HOOK_BUDGET_MS must be an integer, got 'soon'"
    ]


def test_hospital_install_runs_as_rendered(
    helm: str,
    tmp_path: Path,
    pod_root: Path,
    ehr_key: EhrKey,
    running: list[subprocess.Popen[bytes]],
    postgres_server: PostgresServer,
    collector: Collector,
) -> None:
    closed = free_port()  # the PACS does not answer: hooks still answer within their budget
    overrides = our_ehr(ehr_key)
    overrides["config"]["dicomSource"] = f"http://127.0.0.1:{closed}/dicom-web"
    # Spans go to this test's OTLP receiver, exported every 100 ms instead of every 5 s.
    overrides["tracing"] = {"mode": "otlp", "otlpEndpoint": collector.endpoint, "sampleRatio": 1}
    overrides["extraEnv"] = [
        {"name": "TZ", "value": "Europe/Paris"},
        {"name": "OTEL_BSP_SCHEDULE_DELAY", "value": "100"},
    ]
    # The alerts' EHR, token endpoint and SMTP server do not answer either (a closed loopback port): the
    # hospital's alert configuration is otherwise the rendered one, its Secret files read from the mount.
    overrides["config"]["fhirAllowlist"] = f"http://127.0.0.1:{closed}/fhir"
    overrides["config"]["alertsConfig"] = {
        "fhir_base_url": f"http://127.0.0.1:{closed}/fhir",
        "backend_auth": {"token_endpoint": f"http://127.0.0.1:{closed}/token"},
        "email": {"host": "127.0.0.1", "port": closed},
    }
    rendered = render(helm, tmp_path, CI_VALUES / "everything-on.yaml", overrides)
    secret = {
        "HER2CDS_DATABASE_URL": postgres_server.create_database(),
        "HER2CDS_LINK_SECRET": secrets.token_urlsafe(36),
        "dicom-auth": "cds:pacs-password",
    }
    secrets_by_name = {"her2cds-secrets": secret, "her2cds-alerts": alerts_secret()}
    deployment = rendered.one("Deployment", "web")
    spec = deployment["spec"]["template"]["spec"]
    assert "initContainers" not in spec  # the pre-install/pre-upgrade Job migrates the shared database
    pod = PodRun(spec, configmaps=rendered.configmaps, secrets=secrets_by_name, workdir=pod_root / "web")
    (web,) = containers(spec)
    listen = {"--port": str(free_port()), "--host": "127.0.0.1"}

    too_early = pod.run(web, replace=listen)
    assert too_early.returncode == 2, too_early.stderr
    assert too_early.stderr.count("\n") == 1
    assert "has no schema yet: run `her2-cds migrate` first" in too_early.stderr

    job = rendered.one("Job", "migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    job_spec = job["spec"]["template"]["spec"]
    migration = PodRun(job_spec, configmaps={}, secrets=secrets_by_name, workdir=pod_root / "job").run(
        containers(job_spec)[0]
    )
    assert migration.returncode == 0, migration.stderr
    notify_secret = subscription(secret["HER2CDS_DATABASE_URL"])

    logs = tmp_path / "serve-web"
    running.append(pod.start(web, logs, replace=listen))
    base = f"http://127.0.0.1:{listen['--port']}"
    wait_ready(base, running[0], logs, pod.probe_base(web))
    public_url = rendered.configmaps["t-her2-pet-cds"]["HER2CDS_PUBLIC_URL"]
    ehr = EhrClient(ehr_key, iss=ISS, public_url=public_url, send_to=base)
    exercise(pod, web, base, ehr, logs)
    names, exported = collector.span_names(timeout_s=30)
    assert {"GET /cds-services", "POST /cds-services/<service_id>"} <= names, names
    assert b"demo-her2-low" not in exported  # the hook's patient
    assert b"eyJ" not in exported  # the EHR's JWT
    exercise_alerts(pod, web, base, public_url, notify_secret)

    receiver = rendered.one("Deployment", "receiver")["spec"]["template"]["spec"]
    dicom_port = free_port()
    receiver_pod = PodRun(
        receiver, configmaps=rendered.configmaps, secrets=secrets_by_name, workdir=pod_root / "rx"
    )
    running.append(
        receiver_pod.start(
            containers(receiver)[0],
            tmp_path / "receive-rx",
            replace={"--port": str(dicom_port), "--host": "127.0.0.1"},
        )
    )
    assert_receiver_listens(dicom_port, ae_title="HER2CDS", process=running[-1], logs=tmp_path / "receive-rx")


def alerts_secret() -> dict[str, str]:
    """The hospital's ``alerts.existingSecret``: the SMART Backend Services key and the SMTP password."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return {"backend-key.pem": pem, "smtp-password": secrets.token_urlsafe(18) + "\n"}


def subscription(database_url: str) -> str:
    """A Subscription of this service as an alert pass records it; the secret the FHIR server would send."""
    from cds_service.alerts.subscriptions import secret_hash
    from cds_service.storage.store import Storage

    notify_secret = secrets.token_urlsafe(24)
    storage = Storage(database_url)
    try:
        storage.save_subscription(
            "chart-sub",
            topic="https://fhir.hospital.example/topic/report",
            secret_hash=secret_hash(notify_secret),
        )
    finally:
        storage.dispose()
    return notify_secret


def exercise_alerts(
    pod: PodRun, web: Mapping[str, Any], base: str, public_url: str, notify_secret: str
) -> None:
    """The web pod runs the review alerts from the rendered configuration and Secret files: the
    Subscription notification endpoint takes a handshake, and a worklist link from ``her2-cds alerts link``
    (run with the pod's environment) opens the worklist."""
    handshake = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "subscription", "valueReference": {"reference": "Subscription/1"}},
                        {"name": "type", "valueCode": "handshake"},
                    ],
                }
            }
        ],
    }
    notify = base + "/alerts/fhir-notify/chart-sub"
    assert requests.post(notify, json=handshake, timeout=5).status_code == 401
    accepted = requests.post(
        notify, json=handshake, headers={"Authorization": f"Bearer {notify_secret}"}, timeout=5
    )
    assert accepted.status_code == 200, accepted.text  # 404 when the service runs no alerts
    link = pod.run({**web, "command": ["her2-cds", "alerts", "link", "--reviewer", "oncology review team"]})
    assert link.returncode == 0, link.stderr
    url = link.stdout.strip()
    assert url.startswith(public_url + "/alerts/worklist/"), url
    worklist = requests.get(base + url.removeprefix(public_url), timeout=5)
    assert worklist.status_code == 200, worklist.text
    assert "oncology review team" in worklist.text


def assert_receiver_listens(
    port: int, *, ae_title: str, process: subprocess.Popen[bytes], logs: Path
) -> None:
    """The receiver accepts an association for PET storage under its AE title (it listens on its port)."""
    from pynetdicom import AE
    from pynetdicom.sop_class import PositronEmissionTomographyImageStorage  # type: ignore[attr-defined]

    ae = AE(ae_title="PACS")
    ae.add_requested_context(PositronEmissionTomographyImageStorage)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"receiver exited {process.returncode}: {stderr_log(logs).read_text()[-3000:]}")
        assoc = ae.associate("127.0.0.1", port, ae_title=ae_title)
        if assoc.is_established:
            assert [c.abstract_syntax for c in assoc.accepted_contexts] == [
                PositronEmissionTomographyImageStorage
            ]
            assoc.release()
            return
        time.sleep(0.3)
    pytest.fail("the receiver never accepted an association")
