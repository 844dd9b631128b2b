"""The end-to-end harness: an EHR-side CDS client, the service as a gunicorn process, and loopback helpers.

- ``EhrKey`` / ``EhrClient``: what an EHR does (CDS Hooks 2.0 §"Trusting CDS Clients", ``cds-hooks.md``
  §9): an ES384 key generated per test session, a client JWT per call (header ``alg``/``kid``/``typ``;
  claims ``iss``, ``sub``, ``aud`` = the exact URL called, ``iat``, ``exp``, ``jti``), hook requests
  (patient-view; order-sign with a draft T-DXd MedicationRequest) carrying ``fhirServer`` and
  ``fhirAuthorization``, feedback, and the wall-clock time of every exchange.
- ``ServiceProcess``: ``her2-cds serve --host 127.0.0.1 --port P`` (gunicorn, gthread) with ``HER2CDS_*``
  settings in its environment, polled on ``/readyz`` (the database reachable, the first PET index pass
  done) and stopped by its own PID.
- ``RecordingProxy``: a loopback HTTP forwarder in front of the FHIR test server that counts and records
  every request (method, path, ``Authorization``), so a test can prove which FHIR server the service
  contacted and with which bearer token. ``JsonServer`` serves a fixed JSON document (the EHR's JWKS).
- The FHIR test server (``tests.integration.fhir_server.start_fhir_server``) can take a port chosen in
  advance: a server that a test starts and stops while the service, configured with its URL, keeps running.

Everything binds 127.0.0.1 and is stopped by the PID or server object that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from rules.display import scenario_for_topic
from tests.conftest import missing_dependency

PATIENT_VIEW = "her2-pet-review"
ORDER = "her2-pet-tdxd-order-sign"
ORDER_SELECT = "her2-pet-tdxd-order-select"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TDXD_RXNORM = "2267576"
"""RxNorm fam-trastuzumab deruxtecan (codes-her2-tdxd.tsv)."""

SERVICE_START_TIMEOUT_S = 60.0
SERVICE_STOP_TIMEOUT_S = 20.0
REQUEST_TIMEOUT_S = 30.0


# ---------------------------------------------------------------------------------------------------------
# The EHR side


@dataclass(frozen=True)
class EhrKey:
    """An EC P-384 signing key with its ``kid`` and public JWK (ES384, RECOMMENDED by CDS Hooks 2.0)."""

    kid: str
    private: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def generate(cls, kid: str | None = None) -> EhrKey:
        return cls(kid=kid or f"e2e-{uuid.uuid4().hex[:12]}", private=ec.generate_private_key(ec.SECP384R1()))

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "ES384"})
        return dict(jwk)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}


def _scenario(code: str) -> str:
    scenario = scenario_for_topic(code)
    return scenario.value if scenario is not None else code


@dataclass
class Exchange:
    """One HTTP exchange as the EHR saw it: status, parsed JSON body (or None) and wall-clock time in ms."""

    status: int
    body: Any
    elapsed_ms: float
    headers: Mapping[str, str]

    def topics(self) -> set[str]:
        """The scenarios (``her2-low-pet-avid``) of a 200 hook response, read from each card's
        ``source.topic.code`` (its alphanumeric form, ``her2LowPetAvid``)."""
        return set(self.cards_by_topic())

    def cards_by_topic(self) -> dict[str, dict[str, Any]]:
        """The cards of a 200 hook response by scenario name."""
        assert self.status == 200, (self.status, self.body)
        return {_scenario(card["source"]["topic"]["code"]): card for card in self.body["cards"]}


class EhrClient:
    """A CDS client: signs a fresh JWT for every call and records the wall-clock time of every exchange.

    ``public_url`` is the service's configured ``HER2CDS_PUBLIC_URL`` (the JWT ``aud`` is built from it);
    ``send_to`` is where requests actually go (the same, unless the service sits behind a front end, as two
    replicas sharing one public name do).
    """

    def __init__(
        self, key: EhrKey, *, iss: str, public_url: str, send_to: str | None = None, sub: str = "e2e-ehr"
    ) -> None:
        self.key, self.iss, self.sub = key, iss, sub
        self.public_url = public_url.rstrip("/")
        self.send_to = (send_to or public_url).rstrip("/")
        self.session = requests.Session()
        self.exchanges: list[tuple[str, Exchange]] = []

    def with_target(self, send_to: str) -> EhrClient:
        """The same EHR (key, issuer, public URL, log) sending to another replica."""
        other = EhrClient(self.key, iss=self.iss, public_url=self.public_url, send_to=send_to, sub=self.sub)
        other.exchanges = self.exchanges
        return other

    def token(self, path: str, *, lifetime_s: int = 300, **overrides: Any) -> str:
        """A client JWT for ``{public_url}{path}``; ``overrides`` replace claims (``None`` removes one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.iss,
            "sub": self.sub,
            "aud": self.public_url + path,
            "iat": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, self.private_key, algorithm="ES384", headers={"kid": self.key.kid, "typ": "JWT"}
        )

    @property
    def private_key(self) -> ec.EllipticCurvePrivateKey:
        return self.key.private

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        token: str | None = None,
        authorization: str | None = None,
        label: str = "",
    ) -> Exchange:
        """Send one request with ``Authorization: Bearer <JWT for path>`` (or the given token/header)."""
        header = authorization if authorization is not None else f"Bearer {token or self.token(path)}"
        headers = {"Authorization": header} if header else {}
        started = time.perf_counter()
        response = self.session.request(
            method, self.send_to + path, json=body, headers=headers, timeout=REQUEST_TIMEOUT_S
        )
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = response.text
        exchange = Exchange(response.status_code, parsed, elapsed_ms, dict(response.headers))
        self.exchanges.append((label or f"{method} {path}", exchange))
        return exchange

    def discovery(self, **kwargs: Any) -> Exchange:
        return self.request("GET", "/cds-services", **kwargs)

    def hook(self, service_id: str, body: Mapping[str, Any], **kwargs: Any) -> Exchange:
        return self.request("POST", f"/cds-services/{service_id}", body=dict(body), **kwargs)

    def feedback(self, service_id: str, items: Iterable[Mapping[str, Any]], **kwargs: Any) -> Exchange:
        body = {"feedback": [dict(i) for i in items]}
        return self.request("POST", f"/cds-services/{service_id}/feedback", body=body, **kwargs)


def fhir_access(base_url: str, token: str = "e2e-fhir-token") -> dict[str, Any]:
    """``fhirServer`` + ``fhirAuthorization`` (CH-8, CH-9) as an EHR grants them for one hook call."""
    return {
        "fhirServer": base_url,
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Observation.read user/DiagnosticReport.read "
            "user/Condition.read user/ImagingStudy.read user/MedicationRequest.read "
            "user/MedicationAdministration.read",
            "subject": "her2-pet-cds",
        },
    }


def patient_view(
    patient_id: str, *, prefetch: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A patient-view request (CDS Hooks Library 1.0.1): ``userId``, ``patientId``; prefetch only if given."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/e2e-oncologist", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    body.update(extra)
    return body


def tdxd_draft(patient_id: str, rid: str = "draft-tdxd-1") -> dict[str, Any]:
    """A draft MedicationRequest for fam-trastuzumab deruxtecan (RxNorm), as an EHR has it before signing."""
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": TDXD_RXNORM, "display": "fam-trastuzumab deruxtecan"}],
            "text": "fam-trastuzumab deruxtecan-nxki 5.4 mg/kg IV every 3 weeks",
        },
        "authoredOn": "2025-06-01",
    }


def order_sign(
    patient_id: str,
    drafts: Iterable[Mapping[str, Any]],
    *,
    prefetch: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An order-sign request whose ``draftOrders`` Bundle holds ``drafts``."""
    body = patient_view(patient_id, prefetch=prefetch, **extra)
    body["hook"] = "order-sign"
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": dict(r)} for r in drafts],
    }
    return body


# ---------------------------------------------------------------------------------------------------------
# The service under gunicorn


def her2_cds_command() -> list[str]:
    """The installed console script next to this interpreter (the project's virtual environment)."""
    script = Path(sys.executable).with_name("her2-cds")
    if not script.exists():
        missing_dependency("the her2-cds console script is not installed (pip install -e .)")
    return [str(script)]


@dataclass
class ServiceProcess:
    """One ``her2-cds serve`` (gunicorn master + workers) on 127.0.0.1; stopped by the master's PID."""

    port: int
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"service-{self.port}.log"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def start(self) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HER2CDS_")}
        env.update(self.env)
        with self.log_path.open("ab") as log:
            # As deployed: the schema is migrated first (the chart's Job); the web service only checks it.
            subprocess.run(
                [*her2_cds_command(), "migrate"],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=log,
                check=True,
            )
            self.process = subprocess.Popen(
                [*her2_cds_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVICE_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"her2-cds serve exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"her2-cds serve not healthy after {SERVICE_START_TIMEOUT_S} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM to the gunicorn master (it stops its workers), SIGKILL to our process group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=SERVICE_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=SERVICE_STOP_TIMEOUT_S)


def run_cli(
    args: list[str], env: Mapping[str, str], cwd: Path, timeout_s: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``her2-cds <args>`` with the given ``HER2CDS_*`` environment (e.g. ``sync --once``)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HER2CDS_")}
    full_env.update(env)
    return subprocess.run(
        [*her2_cds_command(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


# ---------------------------------------------------------------------------------------------------------
# Loopback HTTP helpers


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    authorization: str | None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    # A hook sends one query per missing prefetch key at once; with the default backlog of 5 the extra
    # connections wait for a SYN retransmission (1 s), which is the whole hook budget.
    request_queue_size = 64


class RecordingProxy:
    """Forwards every request to ``upstream`` (scheme://host:port) and records it.

    The ``Host`` header is passed through, so absolute URLs the FHIR server builds (``fullUrl``, paging
    ``next`` links) point back at the proxy. ``hits`` is the list of recorded requests.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.hits.append(Hit(self.command, self.path, self.headers.get("Authorization")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length",)}
                try:
                    upstream = requests.request(
                        self.command,
                        proxy.upstream + self.path,
                        data=data,
                        headers=headers,
                        timeout=10,
                        allow_redirects=False,
                    )
                except requests.RequestException:
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = upstream.content
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _forward  # noqa: N815

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def base(self, path: str = "/fhir") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()

    def count(self) -> int:
        with self._lock:
            return len(self.hits)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class JsonServer:
    """Serves one JSON document at every GET path (e.g. the EHR's JWKS) and counts the requests."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                owner.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/jwks.json") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
