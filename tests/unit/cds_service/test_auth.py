"""Client JWT verification (spec/cds-hooks.md §9, §14.3): known answer, accepted tokens, forgeries, JWKS.

Keys are generated per test session; remote JWKS are served by a local HTTP server on 127.0.0.1 that counts
the requests it answers. The replay store is the real SQLite storage in a temporary folder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cds_service.auth import (
    AuthError,
    AuthFailure,
    JwtVerifier,
    TrustedClient,
    TrustedClientsError,
    load_trusted_clients,
)
from cds_service.observability import configure_logging
from cds_service.storage.store import Storage

NOW = 1_700_000_000.0
ISS = "https://ehr.example.org/fhir"
AUD = "https://cds.example.org/cds-services/her2-pet-review"
JKU = "https://ehr.example.org/jwks.json"
SPEC = "cds-hooks/spec-2.0.1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Key:
    kid: str
    private: Any
    jwk: dict[str, Any]

    def public_pem(self) -> bytes:
        return bytes(
            self.private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def _ec_key(kid: str, curve: ec.EllipticCurve, alg: str | None) -> Key:
    private = ec.generate_private_key(curve)
    jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", **({"alg": alg} if alg else {})})
    return Key(kid, private, jwk)


def _rsa_key(kid: str, alg: str | None) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", **({"alg": alg} if alg else {})})
    return Key(kid, private, jwk)


@pytest.fixture(scope="session")
def keys() -> dict[str, Key]:
    """ES384 (alg declared), RS384 (no alg: PyJWK would infer RS256), ES256, and an unlisted impostor key."""
    return {
        "es384": _ec_key("ec-384", ec.SECP384R1(), "ES384"),
        "rs384": _rsa_key("rsa-1", None),
        "es256": _ec_key("ec-256", ec.SECP256R1(), "ES256"),
        "impostor": _ec_key("ec-384", ec.SECP384R1(), "ES384"),
        "rotated": _ec_key("ec-384-2", ec.SECP384R1(), "ES384"),
    }


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "exp": int(NOW) + 300,
        "iat": int(NOW),
        "jti": str(uuid.uuid4()),
        "tenant": "site-a",
    }
    for name, value in overrides.items():
        if value is _DROP:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


_DROP = object()


def mint(key: Key, alg: str = "ES384", *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
    header = {"kid": key.kid, "typ": "JWT", **(headers or {})}
    if header["kid"] is None:
        del header["kid"]  # PyJWT refuses a null kid; a missing one is the forgery
    return jwt.encode(_claims(**claims), key.private, algorithm=alg, headers=header)


def _frozen_utc() -> datetime:
    return datetime.fromtimestamp(NOW, tz=UTC)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(f"sqlite:///{tmp_path}/auth.db", clock=_frozen_utc)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def inline_client(keys: dict[str, Key]) -> TrustedClient:
    return TrustedClient(
        iss=ISS,
        jwks={"keys": [keys["es384"].jwk, keys["rs384"].jwk, keys["es256"].jwk]},
        allowed_jku=(JKU,),
        tenants=("site-a", "site-b"),
    )


@pytest.fixture
def verifier(inline_client: TrustedClient, storage: Storage) -> JwtVerifier:
    return JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW)


def reason_of(verifier: JwtVerifier, header: str | None, audience: str = AUD) -> AuthFailure:
    with pytest.raises(AuthError) as excinfo:
        verifier.verify(header, audience)
    return excinfo.value.reason


# -- the spec's example token ----------------------------------------------------------------------


@pytest.fixture
def spec_token(testdata: Path) -> tuple[str, dict[str, Any], TrustedClient]:
    folder = testdata / SPEC
    token = (folder / "jwt-example-token.txt").read_text(encoding="utf-8").strip()
    payload = json.loads((folder / "jwt-payload.json").read_text(encoding="utf-8"))
    header = json.loads((folder / "jwt-header.json").read_text(encoding="utf-8"))
    client = TrustedClient(
        iss=payload["iss"],
        jwks=json.loads((folder / "jwks-public.json").read_text(encoding="utf-8")),
        allowed_jku=(header["jku"],),
    )
    return token, payload, client


@pytest.mark.req("I-176")
@pytest.mark.req("I-205")
@pytest.mark.req("I-199")
def test_spec_example_token_verifies_with_frozen_clock(spec_token: Any, storage: Storage) -> None:
    token, payload, client = spec_token
    frozen = float(payload["exp"]) - 600  # between iat and exp, and exp within the 1 h lifetime rule
    verifier = JwtVerifier([client], replay_store=storage, clock=lambda: frozen)
    verified = verifier.verify(f"Bearer {token}", payload["aud"])
    assert (verified.iss, verified.jti, verified.tenant) == (
        payload["iss"],
        payload["jti"],
        payload["tenant"],
    )
    assert (verified.kid, verified.algorithm) == ("example-kid", "ES384")
    assert verified.expires_at.timestamp() == payload["exp"]


@pytest.mark.req("I-189")
@pytest.mark.req("I-190")
@pytest.mark.parametrize(
    ("clock_offset", "audience", "expected"),
    [
        pytest.param(
            -600, "https://cds.example.org/cds-services/other", AuthFailure.WRONG_AUDIENCE, id="other-aud"
        ),
        pytest.param(+61, None, AuthFailure.EXPIRED, id="after-exp+leeway"),
    ],
)
def test_spec_example_token_refused_for_other_audience_or_time(
    spec_token: Any, storage: Storage, clock_offset: float, audience: str | None, expected: AuthFailure
) -> None:
    token, payload, client = spec_token
    verifier = JwtVerifier([client], replay_store=storage, clock=lambda: float(payload["exp"]) + clock_offset)
    assert reason_of(verifier, f"Bearer {token}", audience or payload["aud"]) is expected


def test_sandbox_jwks_is_a_valid_inline_key_set(testdata: Path) -> None:
    jwks = json.loads((testdata / "cds-hooks/cds-hooks-sandbox/sandbox-jwks-public.json").read_text())
    client = TrustedClient(iss="https://sandbox.cds-hooks.org", jwks=jwks)
    assert client.algorithms == ("ES384", "RS384")


# -- accepted variants ---------------------------------------------------------------------------------------


@pytest.mark.req("I-205")
@pytest.mark.parametrize(("key_name", "alg"), [("es384", "ES384"), ("rs384", "RS384")])
def test_recommended_algorithms_accepted(
    verifier: JwtVerifier, keys: dict[str, Key], key_name: str, alg: str
) -> None:
    verified = verifier.verify(f"Bearer {mint(keys[key_name], alg)}", AUD)
    assert verified.algorithm == alg
    assert verified.client.iss == ISS


@pytest.mark.req("I-189")
def test_audience_as_array_and_extra_claims_accepted(verifier: JwtVerifier, keys: dict[str, Key]) -> None:
    token = mint(keys["es384"], aud=["https://other.example/x", AUD], sub="epic-client", nbf=int(NOW) - 300)
    verified = verifier.verify(f"bearer {token}", AUD)
    assert verified.subject == "epic-client"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": int(NOW) - 59}, id="exp-59s-ago-within-leeway"),
        pytest.param({"iat": int(NOW) + 59}, id="iat-59s-ahead-within-leeway"),
        pytest.param({"tenant": _DROP}, id="no-tenant-claim"),
    ],
)
def test_within_leeway_and_tenantless_accepted(
    storage: Storage, keys: dict[str, Key], claims: dict[str, Any]
) -> None:
    client = TrustedClient(iss=ISS, jwks={"keys": [keys["es384"].jwk]})
    verifier = JwtVerifier([client], replay_store=storage, clock=lambda: NOW)
    assert verifier.verify(f"Bearer {mint(keys['es384'], **claims)}", AUD).iss == ISS


def test_es256_only_when_configured(
    storage: Storage, keys: dict[str, Key], inline_client: TrustedClient
) -> None:
    default = JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW)
    assert reason_of(default, f"Bearer {mint(keys['es256'], 'ES256')}") is AuthFailure.ALG_NOT_ALLOWED
    configured = TrustedClient(iss=ISS, jwks=inline_client.jwks, algorithms=("ES384", "ES256"))
    verifier = JwtVerifier([configured], replay_store=storage, clock=lambda: NOW)
    assert verifier.verify(f"Bearer {mint(keys['es256'], 'ES256')}", AUD).algorithm == "ES256"


# -- forgeries ----------------------------------------------------------------------------------------------


def _hs256_with_public_key(keys: dict[str, Key]) -> str:
    """Classic key-confusion attack: HMAC-SHA256 keyed with the issuer's public key PEM."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "ec-384"}).encode())
    body = _b64(json.dumps(_claims()).encode())
    mac = hmac.new(keys["es384"].public_pem(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(mac)}"


def _alg_none(keys: dict[str, Key]) -> str:
    return jwt.encode(_claims(), None, algorithm="none", headers={"kid": "ec-384", "typ": "JWT"})


def _tampered(keys: dict[str, Key]) -> str:
    header, _, signature = mint(keys["es384"]).split(".")
    forged = _b64(json.dumps(_claims(tenant="site-b", iss=ISS)).encode())
    return f"{header}.{forged}.{signature}"


def _rsa_signed_with_ec_kid(keys: dict[str, Key]) -> str:
    return mint(keys["rs384"], "RS384", headers={"kid": keys["es384"].kid})


FORGERIES: dict[str, tuple[Callable[[dict[str, Key]], str | None], AuthFailure]] = {
    "wrong-signature": (lambda k: f"Bearer {mint(k['impostor'])}", AuthFailure.BAD_SIGNATURE),
    "alg-none": (lambda k: f"Bearer {_alg_none(k)}", AuthFailure.ALG_NOT_ALLOWED),
    "hs256-public-key-as-secret": (
        lambda k: f"Bearer {_hs256_with_public_key(k)}",
        AuthFailure.ALG_NOT_ALLOWED,
    ),
    "unknown-iss": (
        lambda k: f"Bearer {mint(k['es384'], iss='https://evil.example')}",
        AuthFailure.UNKNOWN_ISSUER,
    ),
    "wrong-aud": (lambda k: f"Bearer {mint(k['es384'], aud=AUD + '/feedback')}", AuthFailure.WRONG_AUDIENCE),
    "aud-prefix-only": (lambda k: f"Bearer {mint(k['es384'], aud=AUD[:-1])}", AuthFailure.WRONG_AUDIENCE),
    "expired": (lambda k: f"Bearer {mint(k['es384'], exp=int(NOW) - 61)}", AuthFailure.EXPIRED),
    "iat-future": (lambda k: f"Bearer {mint(k['es384'], iat=int(NOW) + 61)}", AuthFailure.ISSUED_IN_FUTURE),
    "nbf-future": (lambda k: f"Bearer {mint(k['es384'], nbf=int(NOW) + 120)}", AuthFailure.NOT_YET_VALID),
    "exp-beyond-1h": (lambda k: f"Bearer {mint(k['es384'], exp=int(NOW) + 7200)}", AuthFailure.EXP_TOO_FAR),
    "missing-jti": (lambda k: f"Bearer {mint(k['es384'], jti=_DROP)}", AuthFailure.MISSING_CLAIM),
    "missing-exp": (lambda k: f"Bearer {mint(k['es384'], exp=_DROP)}", AuthFailure.MISSING_CLAIM),
    "missing-iat": (lambda k: f"Bearer {mint(k['es384'], iat=_DROP)}", AuthFailure.MISSING_CLAIM),
    "missing-aud": (lambda k: f"Bearer {mint(k['es384'], aud=_DROP)}", AuthFailure.MISSING_CLAIM),
    "exp-not-a-number": (lambda k: f"Bearer {mint(k['es384'], exp='soon')}", AuthFailure.INVALID_CLAIM),
    "unknown-kid": (lambda k: f"Bearer {mint(k['rotated'])}", AuthFailure.UNKNOWN_KID),
    "jku-not-allowed": (
        lambda k: f"Bearer {mint(k['es384'], headers={'jku': 'https://evil.example/jwks.json'})}",
        AuthFailure.JKU_NOT_ALLOWED,
    ),
    "tampered-payload": (lambda k: f"Bearer {_tampered(k)}", AuthFailure.BAD_SIGNATURE),
    "wrong-key-type": (lambda k: f"Bearer {_rsa_signed_with_ec_kid(k)}", AuthFailure.KEY_MISMATCH),
    "es384-header-on-p256-key": (
        lambda k: f"Bearer {mint(k['impostor'], headers={'kid': k['es256'].kid})}",
        AuthFailure.KEY_MISMATCH,
    ),
    "malformed-header": (lambda k: "Bearer eyJub3Q.anNvbg.c2ln", AuthFailure.MALFORMED),
    "two-segments": (lambda k: "Bearer abc.def", AuthFailure.MALFORMED),
    "no-typ": (lambda k: f"Bearer {mint(k['es384'], headers={'typ': None})}", AuthFailure.BAD_HEADER),
    "no-kid": (lambda k: f"Bearer {mint(k['es384'], headers={'kid': None})}", AuthFailure.BAD_HEADER),
    "missing-bearer": (lambda k: mint(k["es384"]), AuthFailure.NOT_BEARER),
    "basic-scheme": (lambda k: "Basic dXNlcjpwYXNz", AuthFailure.NOT_BEARER),
    "no-header": (lambda k: None, AuthFailure.MISSING_AUTHORIZATION),
    "other-tenant": (lambda k: f"Bearer {mint(k['es384'], tenant='site-z')}", AuthFailure.TENANT_NOT_ALLOWED),
    "oversized": (lambda k: "Bearer " + "a" * 9000, AuthFailure.MALFORMED),
}


@pytest.mark.req("I-177")
@pytest.mark.req("I-178")
@pytest.mark.req("I-195")
@pytest.mark.req("I-196")
@pytest.mark.req("I-201")
@pytest.mark.req("I-203")
@pytest.mark.parametrize("name", list(FORGERIES))
def test_forgery_refused(verifier: JwtVerifier, keys: dict[str, Key], name: str) -> None:
    make, expected = FORGERIES[name]
    assert reason_of(verifier, make(keys)) is expected


@pytest.mark.req("I-192")
def test_replayed_jti_refused_even_by_another_verifier(
    inline_client: TrustedClient, storage: Storage, keys: dict[str, Key], tmp_path: Path
) -> None:
    token = f"Bearer {mint(keys['es384'])}"
    first = JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW)
    first.verify(token, AUD)
    assert reason_of(first, token) is AuthFailure.REPLAYED
    # A second worker (own verifier, own engine, same database) sees the replay too.
    other_storage = Storage(f"sqlite:///{tmp_path}/auth.db", clock=_frozen_utc)
    second = JwtVerifier([inline_client], replay_store=other_storage, clock=lambda: NOW)
    assert reason_of(second, token) is AuthFailure.REPLAYED
    other_storage.dispose()


def test_rejected_token_does_not_consume_its_jti(verifier: JwtVerifier, keys: dict[str, Key]) -> None:
    jti = str(uuid.uuid4())
    assert (
        reason_of(verifier, f"Bearer {mint(keys['es384'], jti=jti)}", AUD + "/x")
        is AuthFailure.WRONG_AUDIENCE
    )
    assert verifier.verify(f"Bearer {mint(keys['es384'], jti=jti)}", AUD).jti == jti


def test_replay_store_failure_fails_closed(inline_client: TrustedClient, keys: dict[str, Key]) -> None:
    class Broken:
        def check_and_store(self, iss: str, jti: str, expires_at: Any) -> bool:
            raise OSError("database is down")

        def seen(self, iss: str, jti: str) -> bool:
            raise OSError("database is down")

    verifier = JwtVerifier([inline_client], replay_store=Broken(), clock=lambda: NOW)
    with pytest.raises(AuthError) as excinfo:
        verifier.verify(f"Bearer {mint(keys['es384'])}", AUD)
    assert excinfo.value.reason is AuthFailure.REPLAY_STORE_UNAVAILABLE


@pytest.mark.req("I-192")
def test_deferred_verification_reads_no_store_and_leaves_recording_to_the_caller(
    inline_client: TrustedClient, keys: dict[str, Key]
) -> None:
    calls: list[str] = []

    class Recording:
        def check_and_store(self, iss: str, jti: str, expires_at: Any) -> bool:
            calls.append("check_and_store")
            return True

        def seen(self, iss: str, jti: str) -> bool:
            calls.append("seen")
            return False

    verifier = JwtVerifier([inline_client], replay_store=Recording(), clock=lambda: NOW)
    jti = str(uuid.uuid4())
    token = f"Bearer {mint(keys['es384'], jti=jti)}"
    first = verifier.verify(token, AUD, consume=False)
    assert first.jti_consumed is False
    assert first.replay_until == datetime.fromtimestamp(NOW + 300 + 60, tz=UTC)  # exp + leeway
    assert calls == []  # the endpoint's own write records the pair (and finds a replay from elsewhere)
    # The same token shown to this process again is a replay, refused before any work.
    with pytest.raises(AuthError) as excinfo:
        verifier.verify(token, AUD, consume=False)
    assert excinfo.value.reason is AuthFailure.REPLAYED
    other = verifier.verify(f"Bearer {mint(keys['es384'], iss=ISS)}", AUD, consume=False)
    assert other.jti != jti
    consumed = verifier.verify(f"Bearer {mint(keys['es384'])}", AUD)
    assert consumed.jti_consumed is True
    assert calls == ["check_and_store"]


def test_deferred_verification_forgets_expired_pairs(
    inline_client: TrustedClient, keys: dict[str, Key]
) -> None:
    now = [NOW]
    verifier = JwtVerifier([inline_client], replay_store=_NeverReplayed(), clock=lambda: now[0])
    jti = str(uuid.uuid4())
    verifier.verify(f"Bearer {mint(keys['es384'], jti=jti)}", AUD, consume=False)
    # Past exp + leeway the pair is forgotten; the token itself has expired by then and is refused for that.
    now[0] = NOW + 300 + 60 + 1
    with pytest.raises(AuthError) as excinfo:
        verifier.verify(f"Bearer {mint(keys['es384'], jti=jti)}", AUD, consume=False)
    assert excinfo.value.reason is AuthFailure.EXPIRED


class _NeverReplayed:
    def check_and_store(self, iss: str, jti: str, expires_at: Any) -> bool:
        return True

    def seen(self, iss: str, jti: str) -> bool:
        return False


def test_refusal_after_verification_is_counted(
    inline_client: TrustedClient, storage: Storage, keys: dict[str, Key]
) -> None:
    seen: list[AuthFailure] = []
    verifier = JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW, on_rejection=seen.append)
    verified = verifier.verify(f"Bearer {mint(keys['es384'])}", AUD, consume=False)
    error = verifier.refuse(verified.iss, AuthFailure.REPLAYED, AUD)
    assert (error.reason, error.iss) == (AuthFailure.REPLAYED, ISS)
    assert seen == [AuthFailure.REPLAYED]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """JSON logging into a buffer, undone afterwards so other tests keep the default configuration."""
    stream = io.StringIO()
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    configure_logging("DEBUG", stream=stream)
    yield stream
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    structlog.reset_defaults()


def test_rejections_reported_and_token_never_logged(
    inline_client: TrustedClient, storage: Storage, keys: dict[str, Key], json_log: io.StringIO
) -> None:
    seen: list[AuthFailure] = []
    verifier = JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW, on_rejection=seen.append)
    stream = json_log
    token = mint(keys["impostor"])
    with pytest.raises(AuthError) as excinfo:
        verifier.verify(f"Bearer {token}", AUD)
    assert seen == [AuthFailure.BAD_SIGNATURE]
    assert token not in str(excinfo.value)
    assert token.split(".")[2] not in stream.getvalue()
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert (line["event"], line["reason"], line["iss"]) == ("jwt_rejected", "bad_signature", ISS)


# -- remote JWKS: caching, rotation, rate limit, jku --------------------------------------------------


@dataclass
class JwksServer:
    """Serves JWK Sets by path on 127.0.0.1 and records each request path."""

    sets: dict[str, dict[str, Any]]
    requests: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer(sets={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.sets.get(self.path)
            payload = json.dumps(body).encode() if body is not None else b"{}"
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _remote_verifier(
    server: JwksServer, storage: Storage, *, cooldown_s: float, **client_args: Any
) -> tuple[JwtVerifier, list[float]]:
    fetches: list[float] = []
    client = TrustedClient(iss=ISS, jwks_url=server.url("/jwks.json"), **client_args)
    verifier = JwtVerifier(
        [client],
        replay_store=storage,
        clock=lambda: NOW,
        jwks_cooldown_s=cooldown_s,
        jwks_timeout_s=2,
        on_jwks_fetch=fetches.append,
    )
    return verifier, fetches


def test_jwks_fetched_once_and_cached(
    jwks_server: JwksServer, storage: Storage, keys: dict[str, Key]
) -> None:
    jwks_server.sets["/jwks.json"] = {"keys": [keys["es384"].jwk, keys["rs384"].jwk]}
    verifier, fetches = _remote_verifier(jwks_server, storage, cooldown_s=30)
    for _ in range(5):
        verifier.verify(f"Bearer {mint(keys['es384'])}", AUD)
    verifier.verify(f"Bearer {mint(keys['rs384'], 'RS384')}", AUD)
    assert jwks_server.requests == ["/jwks.json"]
    assert len(fetches) == 1
    assert fetches[0] >= 0


def test_unknown_kid_refetches_once_for_key_rotation(
    jwks_server: JwksServer, storage: Storage, keys: dict[str, Key]
) -> None:
    jwks_server.sets["/jwks.json"] = {"keys": [keys["es384"].jwk]}
    verifier, _ = _remote_verifier(jwks_server, storage, cooldown_s=0)
    verifier.verify(f"Bearer {mint(keys['es384'])}", AUD)
    jwks_server.sets["/jwks.json"] = {"keys": [keys["es384"].jwk, keys["rotated"].jwk]}
    assert verifier.verify(f"Bearer {mint(keys['rotated'])}", AUD).kid == "ec-384-2"
    assert jwks_server.requests == ["/jwks.json", "/jwks.json"]


def test_unknown_kids_do_not_hammer_the_jwks(
    jwks_server: JwksServer, storage: Storage, keys: dict[str, Key]
) -> None:
    jwks_server.sets["/jwks.json"] = {"keys": [keys["es384"].jwk]}
    verifier, _ = _remote_verifier(jwks_server, storage, cooldown_s=30)
    verifier.verify(f"Bearer {mint(keys['es384'])}", AUD)
    for _ in range(3):
        assert reason_of(verifier, f"Bearer {mint(keys['rotated'])}") is AuthFailure.UNKNOWN_KID
    assert jwks_server.requests == ["/jwks.json"]


def test_unreachable_jwks_refused(storage: Storage, keys: dict[str, Key]) -> None:
    from tests.conftest import free_port

    client = TrustedClient(iss=ISS, jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json")
    verifier = JwtVerifier([client], replay_store=storage, clock=lambda: NOW, jwks_timeout_s=1)
    assert reason_of(verifier, f"Bearer {mint(keys['es384'])}") is AuthFailure.JWKS_UNAVAILABLE


@pytest.mark.req("I-195")
def test_allowed_jku_is_used_and_others_never_fetched(
    jwks_server: JwksServer, storage: Storage, keys: dict[str, Key]
) -> None:
    jwks_server.sets["/jwks.json"] = {"keys": [keys["rs384"].jwk]}
    jwks_server.sets["/rotated/jwks.json"] = {"keys": [keys["es384"].jwk]}
    allowed = jwks_server.url("/rotated/jwks.json")
    verifier, _ = _remote_verifier(jwks_server, storage, cooldown_s=30, allowed_jku=(allowed,))
    assert verifier.verify(f"Bearer {mint(keys['es384'], headers={'jku': allowed})}", AUD).kid == "ec-384"
    evil = jwks_server.url("/evil/jwks.json")
    assert reason_of(verifier, f"Bearer {mint(keys['es384'], headers={'jku': evil})}") is (
        AuthFailure.JKU_NOT_ALLOWED
    )
    assert jwks_server.requests == ["/rotated/jwks.json"]


# -- trusted clients configuration ---------------------------------------------------------------------------


def test_load_trusted_clients(tmp_path: Path, keys: dict[str, Key]) -> None:
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            [
                {
                    "iss": ISS,
                    "jwks_url": JKU,
                    "allowed_jku": [JKU],
                    "algorithms": ["RS384", "ES384"],
                    "tenants": [],
                    "fhir_servers": ["https://ehr.example.org/fhir"],
                },
                {"iss": "https://sandbox.cds-hooks.org", "jwks": {"keys": [keys["es384"].jwk]}},
            ]
        )
    )
    first, second = load_trusted_clients(path)
    assert (first.jwks_url, first.algorithms, first.fhir_servers) == (
        JKU,
        ("RS384", "ES384"),
        ("https://ehr.example.org/fhir",),
    )
    assert second.jwks is not None
    assert second.algorithms == ("ES384", "RS384")


@pytest.mark.req("I-201")
@pytest.mark.req("I-203")
@pytest.mark.parametrize(
    ("entries", "message"),
    [
        pytest.param({"iss": ISS}, "expected a JSON list", id="not-a-list"),
        pytest.param([{"iss": ISS, "jwks_url": JKU, "algorithms": ["HS256"]}], "HS256", id="hs256"),
        pytest.param([{"iss": ISS, "jwks_url": JKU, "algorithms": ["none"]}], "none", id="none"),
        pytest.param([{"iss": ISS, "jwks_url": JKU, "algorithms": []}], "must not be empty", id="no-algs"),
        pytest.param([{"iss": ISS}], "exactly one of jwks_url or jwks", id="no-keys"),
        pytest.param([{"iss": ISS, "jwks_uri": JKU}], "unknown members", id="typo"),
        pytest.param([{"iss": ISS, "jwks_url": "http://ehr.example.org/k"}], "https", id="plain-http"),
        pytest.param([{"iss": ISS, "jwks_url": JKU}, {"iss": ISS, "jwks_url": JKU}], "twice", id="dup-iss"),
        pytest.param([{"iss": ISS, "jwks_url": JKU, "tenants": "a"}], "list of strings", id="tenants-str"),
        pytest.param(
            [{"iss": ISS, "jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}}],
            "EC or RSA",
            id="oct",
        ),
    ],
)
def test_invalid_trusted_clients_refused(tmp_path: Path, entries: Any, message: str) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(TrustedClientsError, match=message):
        load_trusted_clients(path)


def test_private_key_in_inline_jwks_refused(keys: dict[str, Key]) -> None:
    private_jwk = json.loads(ECAlgorithm.to_jwk(keys["es384"].private))
    private_jwk["kid"] = "leaked"
    with pytest.raises(TrustedClientsError, match="private key material"):
        TrustedClient(iss=ISS, jwks={"keys": [private_jwk]})


def test_unreadable_and_invalid_json_files(tmp_path: Path) -> None:
    with pytest.raises(TrustedClientsError, match="cannot read"):
        load_trusted_clients(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    with pytest.raises(TrustedClientsError, match="not valid JSON"):
        load_trusted_clients(broken)


@pytest.mark.parametrize(
    ("case", "reason", "expected", "received"),
    [
        ("aud", AuthFailure.WRONG_AUDIENCE, AUD, "http://localhost:8080/cds-services/her2-pet-review"),
        ("iss", AuthFailure.UNKNOWN_ISSUER, ISS, "https://other-ehr.example/fhir"),
        ("jku", AuthFailure.JKU_NOT_ALLOWED, JKU, "https://evil.example/jwks.json"),
        ("alg", AuthFailure.ALG_NOT_ALLOWED, "ES384", "RS512"),
    ],
)
def test_rejection_log_names_what_differed_without_the_token(
    inline_client: TrustedClient,
    storage: Storage,
    keys: dict[str, Key],
    json_log: io.StringIO,
    case: str,
    reason: AuthFailure,
    expected: str,
    received: str,
) -> None:
    """A registration URL that differs from HER2CDS_PUBLIC_URL (localhost vs 127.0.0.1) shows in the log."""
    verifier = JwtVerifier([inline_client], replay_store=storage, clock=lambda: NOW)
    if case in ("aud", "iss"):
        token = mint(keys["es384"], **{case: received})
    elif case == "jku":
        token = mint(keys["es384"], headers={"jku": received})
    else:
        token = mint(keys["rs384"], alg=received)
    assert reason_of(verifier, f"Bearer {token}") is reason
    line = json.loads(json_log.getvalue().splitlines()[-1])
    assert line["reason"] == reason.value
    assert line["received"] == received
    assert expected in line["expected"]
    assert token.split(".")[2] not in json_log.getvalue()
    assert token.split(".")[1] not in json_log.getvalue()


def test_jku_naming_the_configured_jwks_url_needs_no_allow_list_entry(
    jwks_server: JwksServer, storage: Storage, keys: dict[str, Key]
) -> None:
    """As the CDS Hooks sandbox sends it: ``jku`` equal to the issuer's configured JWKS URL."""
    jwks_server.sets["/jwks.json"] = {"keys": [keys["es384"].jwk]}
    verifier, _ = _remote_verifier(jwks_server, storage, cooldown_s=30)
    own = jwks_server.url("/jwks.json")
    assert verifier.verify(f"Bearer {mint(keys['es384'], headers={'jku': own})}", AUD).kid == "ec-384"
    assert jwks_server.requests == ["/jwks.json"]
