"""Storage contention through the Flask app: N threads × M hook calls, each with a fresh signed client JWT.

Shared by the SQLite unit test and the PostgreSQL integration test. Spawned processes, each building its own
app on one database, stand for gunicorn workers (or replicas): each has its own ``Storage``, engine,
connections and interpreter lock, as in production, and runs several threads beside a CPU-bound one. Every
thread posts ``patient-view`` for a chart whose answer carries a clinical card, so each call writes its
token id, its audit record and an evidence snapshot. What a run must show, whatever the machine's load:

- every call with a valid token is answered 200 (no ``401``: the token store never "fails" under load);
- every answered call has exactly one audit row, and every evidence link in its cards opens its snapshot;
- every accepted token id is recorded, so each token replayed afterwards is refused, by every worker;
- a token sent by several threads at once is accepted exactly once.

The figures of a run (calls, seconds, hooks per second) are kept on the result for reports; tests never
assert on time.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from sqlalchemy import func, select

from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from cds_service.evidence.routes import read_token
from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.settings import AuthMode
from cds_service.storage.store import Storage
from cds_service.storage.tables import hook_audit, jti_replay
from tests.unit.cds_service.cds_support import hook_request, make_app

ISSUER = "https://ehr.contention.test"
PUBLIC_URL = "https://cds.contention.test"
SERVICE = "her2-pet-review"
PATIENT = "demo-her2-low"
"""A chart answered with a clinical card (HER2-low, no PET), so the answer carries an evidence link."""
KID = "contention-1"

PROCESSES = 3
THREADS = 8
HOOKS_PER_THREAD = 6
"""The size of a run in the tests: 3 worker processes × 8 threads × 6 calls = 144 hook calls."""
RACERS = 6
"""Threads sending one token at once in a race."""


@dataclass(frozen=True, slots=True)
class Call:
    """What one hook call sent and got back."""

    hook_instance: str
    token: str
    status: int
    evidence_tokens: tuple[str, ...]


@dataclass
class Run:
    """The outcome of one contention run."""

    calls: list[Call] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def refused(self) -> list[Call]:
        return [c for c in self.calls if c.status == 401]

    @property
    def answered(self) -> list[Call]:
        return [c for c in self.calls if c.status == 200]

    @property
    def hooks_per_second(self) -> float:
        return len(self.calls) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RigConfig:
    """What a worker process needs to build its app and sign its tokens (picklable for ``spawn``)."""

    tmp_path: str
    database_url: str
    key_pem: bytes
    clients_path: str


def build_app(config: RigConfig) -> Flask:
    """One app ("gunicorn worker") on the shared database, with JWT authentication on."""
    return make_app(
        Path(config.tmp_path),
        auth=AuthMode.JWT,
        public_url=PUBLIC_URL,
        trusted_clients_path=Path(config.clients_path),
        link_secret="c" * 43,
        database_url=config.database_url,
    )


def sign(key: ec.EllipticCurvePrivateKey, jti: str | None = None) -> str:
    """A fresh client JWT for the patient-view service (valid five minutes)."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"{PUBLIC_URL}/cds-services/{SERVICE}",
        "exp": now + 300,
        "iat": now,
        "jti": jti or str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def chart_prefetch() -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == PATIENT)
    return {k: as_prefetch_value(k, v) for k, v in patient_resources(patient).items()}


def post_hook(app: Flask, token: str, prefetch: dict[str, Any]) -> Call:
    """One ``patient-view`` call; the evidence-link tokens of its cards."""
    body = hook_request(patient_id=PATIENT, prefetch=prefetch)
    resp = app.test_client().post(
        f"/cds-services/{SERVICE}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    links = []
    if resp.status_code == 200:
        for card in resp.get_json()["cards"]:
            for link in card.get("links", []):
                if link["url"].startswith(f"{PUBLIC_URL}/evidence/"):
                    links.append(link["url"].rsplit("/", 1)[1])
    return Call(body["hookInstance"], token, resp.status_code, tuple(links))


def _hog(stop: threading.Event) -> None:
    """Pure-Python work holding the interpreter lock, as a CPU-bound task beside the hooks would (a folder
    walk, an analysis): a thread inside a write transaction then waits for the lock before it can commit."""
    while not stop.is_set():
        sum(i * i for i in range(20_000))


def worker_process(config: RigConfig, threads: int, hooks: int, barrier: Any, results: Any) -> None:
    """Runs in a spawned process, like one gunicorn worker: ``threads`` threads × ``hooks`` calls each,
    started once every worker is ready, beside one CPU-bound thread; puts its list of calls (or the error
    text) on ``results``."""
    stop = threading.Event()
    try:
        app = build_app(config)
        key = serialization.load_pem_private_key(config.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        prefetch = chart_prefetch()
        tokens = [[sign(key) for _ in range(hooks)] for _ in range(threads)]
        post_hook(app, sign(key), prefetch)  # warm up (imports, first connection) before the clock starts
        barrier.wait(timeout=120)
        hog = threading.Thread(target=_hog, args=(stop,), daemon=True)
        hog.start()
        with ThreadPoolExecutor(threads) as pool:
            calls = [
                c
                for batch in pool.map(lambda ts: [post_hook(app, t, prefetch) for t in ts], tokens)
                for c in batch
            ]
        stop.set()
        hog.join()
        results.put(calls)
    except BaseException as exc:  # reported to the parent, which fails the test with it
        stop.set()
        results.put(f"{type(exc).__name__}: {exc}")


class Rig:
    """Worker processes on one database, a trusted EHR key, and the means to call and to check.

    The parent keeps its own app on the database (for races and checks), like one more worker.
    """

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": KID, "alg": "ES384", "use": "sig"})
        clients = tmp_path / "trusted-clients.json"
        clients.write_text(json.dumps([{"iss": ISSUER, "jwks": {"keys": [jwk]}, "algorithms": ["ES384"]}]))
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.config = RigConfig(str(tmp_path), database_url, pem, str(clients))
        self.prefetch = chart_prefetch()
        self.apps: list[Flask] = [build_app(self.config) for _ in range(2)]

    def storage(self, index: int = 0) -> Storage:
        parts = self.apps[index].extensions[EXTENSION_KEY]
        assert isinstance(parts, Components)
        assert parts.storage is not None
        return parts.storage

    def token(self, jti: str | None = None) -> str:
        return sign(self.key, jti)

    def call(self, app: Flask, token: str) -> Call:
        return post_hook(app, token, self.prefetch)

    def run(self, processes: int, threads: int, hooks_per_thread: int) -> Run:
        """``processes`` worker processes × ``threads`` threads × ``hooks_per_thread`` calls, started
        together; the time runs from the common start to the last answer."""
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(processes + 1), context.Queue()
        workers = [
            context.Process(
                target=worker_process, args=(self.config, threads, hooks_per_thread, barrier, results)
            )
            for _ in range(processes)
        ]
        for process in workers:
            process.start()
        run = Run()
        try:
            barrier.wait(timeout=180)
            started = time.perf_counter()
            for _ in workers:
                outcome = results.get(timeout=600)
                assert not isinstance(outcome, str), outcome
                run.calls.extend(outcome)
            run.seconds = time.perf_counter() - started
        finally:
            for process in workers:
                process.join(timeout=60)
                if process.is_alive():
                    process.kill()
        return run

    def race(self, threads: int) -> list[int]:
        """One token sent by ``threads`` threads at once (spread over two apps); the statuses answered."""
        token = self.token()
        barrier = threading.Barrier(threads)

        def send(index: int) -> int:
            app = self.apps[index % len(self.apps)]
            barrier.wait()
            return self.call(app, token).status

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(send, range(threads)))

    # -- checks ---------------------------------------------------------------------------------------------

    def audit_rows(self, hook_instances: Sequence[str]) -> dict[str, int]:
        """How many audit rows each hook instance has."""
        with self.storage().engine.connect() as conn:
            rows = conn.execute(
                select(hook_audit.c.hook_instance, func.count())
                .where(hook_audit.c.hook_instance.in_(list(hook_instances)))
                .group_by(hook_audit.c.hook_instance)
            ).all()
        found = {instance: int(count) for instance, count in rows}
        return {h: found.get(h, 0) for h in hook_instances}

    def lost_evidence(self, calls: Sequence[Call]) -> list[str]:
        """Evidence links of answered calls whose snapshot cannot be read."""
        parts = self.apps[0].extensions[EXTENSION_KEY]
        lost = []
        for call in calls:
            for token in call.evidence_tokens:
                snapshot_id = read_token(parts.settings, token)
                if snapshot_id is None or self.storage().get_evidence(snapshot_id) is None:
                    lost.append(call.hook_instance)
        return lost

    def recorded_jti(self) -> int:
        with self.storage().engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jti_replay)).scalar_one())

    def close(self) -> None:
        for index in range(len(self.apps)):
            self.storage(index).dispose()


@contextmanager
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    """A :class:`Rig`, its connections closed afterwards."""
    made = Rig(tmp_path, database_url)
    try:
        yield made
    finally:
        made.close()


def figures(made: Rig, run: Run) -> dict[str, Any]:
    """What a run did: calls, time, hooks per second, statuses, refused tokens, lost audit rows and links."""
    audits = made.audit_rows([c.hook_instance for c in run.answered])
    return {
        "calls": len(run.calls),
        "seconds": round(run.seconds, 2),
        "hooks_per_s": round(run.hooks_per_second, 1),
        "statuses": dict(Counter(c.status for c in run.calls)),
        "refused": len(run.refused),
        "lost_audit": sum(1 for n in audits.values() if n == 0),
        "extra_audit": sum(1 for n in audits.values() if n > 1),
        "without_link": sum(1 for c in run.answered if not c.evidence_tokens),
        "lost_evidence": len(made.lost_evidence(run.answered)),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def check_run(made: Rig, run: Run, expected_calls: int) -> dict[str, Any]:
    """The contention invariants; returns the figures (for reports)."""
    found = figures(made, run)
    assert found["calls"] == expected_calls
    assert found["statuses"] == {200: expected_calls}, found
    assert (found["refused"], found["lost_audit"], found["extra_audit"]) == (0, 0, 0), found
    assert (found["without_link"], found["lost_evidence"]) == (0, 0), found
    assert made.recorded_jti() >= len(run.answered)
    return found


def check_replays_refused(made: Rig, calls: Sequence[Call]) -> None:
    """Each token of ``calls`` sent again, to every worker in turn, is refused."""
    for index, call in enumerate(calls):
        app = made.apps[index % len(made.apps)]
        assert made.call(app, call.token).status == 401
