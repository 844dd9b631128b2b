"""EHR client authentication: the CDS Hooks 2.0 client JWT (``spec/cds-hooks.md`` §9, CH-30..CH-35).

Every call to the service carries ``Authorization: Bearer <JWT>`` signed by the EHR (the CDS client). The
trust decision follows CH-34, all steps required, in this order:

1. ``iss`` is on the allow-list of :class:`TrustedClient` entries (loaded by :func:`load_trusted_clients`);
2. the key comes from that issuer's configured JWKS URL (one cached :class:`jwt.PyJWKClient` per URL,
   refetched once on an unknown ``kid`` after a cool-down) or inline JWKS; a token ``jku`` is accepted when
   it is the issuer's configured ``jwks_url`` or on its ``allowed_jku`` list (then fetched from there), and an
   arbitrary ``jku`` is never fetched;
3. the signature verifies with the header ``alg`` **only if** that algorithm is on the issuer's configured
   list (default ES384, RS384; ``none`` and symmetric HS* are never accepted, even from configuration), and
   the key type fits the algorithm;
4. ``aud`` (string, or array containing it) equals exactly the URL of the endpoint called;
5. ``exp`` in the future, ``iat`` and ``nbf`` not in the future, with a leeway (60 s), and ``exp`` at most
   ``max_lifetime_s`` (1 h) ahead;
6. ``tenant`` on the issuer's tenant list when one is configured;
7. ``jti`` not seen before: the shared :class:`ReplayStore` (the service database) keeps (``iss``, ``jti``)
   until ``exp`` + leeway, across workers and replicas. ``verify(..., consume=True)`` records the pair at
   once; with ``consume=False`` the caller records it in its own single write
   (:attr:`VerifiedClient.replay_until` says until when), refusing the call (:meth:`JwtVerifier.refuse`)
   when that write finds the pair taken. Either way the database's unique key decides, so a token is
   accepted once across workers and replicas. Before that write, a pair this process has already been
   shown is refused at once from memory (:class:`_PresentedTokens`, no database read on the hook path), so
   a replayed token costs at most one hook's work per worker.

Any failure raises :class:`AuthError` whose ``reason`` is an :class:`AuthFailure` code, for metrics and logs;
the HTTP layer answers a bare 401 (CH-35). The ``jwt_rejected`` log line names what differed for a wrong
``aud``, an unknown ``iss``, a ``jku`` off the list or an ``alg`` off the list (expected and received values),
so that a registration mismatch (``localhost`` against ``127.0.0.1``, a trailing slash) is found from the log.
The token itself is never logged, stored or put in an exception message.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
import structlog
from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKClientConnectionError,
    PyJWKClientError,
    PyJWKError,
    PyJWKSetError,
    PyJWTError,
)

__all__ = [
    "DEFAULT_ALGORITHMS",
    "SUPPORTED_ALGORITHMS",
    "AuthError",
    "AuthFailure",
    "JwtVerifier",
    "ReplayStore",
    "TrustedClient",
    "TrustedClientsError",
    "VerifiedClient",
    "load_trusted_clients",
]

_log = structlog.get_logger(__name__)

#: Both RECOMMENDED by CDS Hooks 2.0 §"Trusting CDS Clients" (CH-33, [I-205]).
DEFAULT_ALGORITHMS: tuple[str, ...] = ("ES384", "RS384")
# : Asymmetric JWS algorithms (RFC 7518 §3.1) a trust entry may list. ``none`` and HS* are not in it ([I-201,
# I-203]).
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
#: JWK ``kty`` (RFC 7518 §6.1) each algorithm family needs.
_KEY_TYPE_FOR_FAMILY = {"ES": "EC", "RS": "RSA", "PS": "RSA"}
#: Claims every CDS Hooks client JWT carries (CH-32); ``tenant``, ``sub`` and ``nbf`` are optional.
REQUIRED_CLAIMS: tuple[str, ...] = ("iss", "aud", "exp", "iat", "jti")
#: Longest ``Authorization`` header value examined; longer ones are refused unparsed.
MAX_TOKEN_LENGTH = 8192
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class AuthFailure(StrEnum):
    """Why a client JWT was refused: a short machine code for ``jwt_rejections_total{reason}`` and logs."""

    MISSING_AUTHORIZATION = "missing_authorization"
    NOT_BEARER = "not_bearer"
    MALFORMED = "malformed_token"
    BAD_HEADER = "bad_header"
    UNKNOWN_ISSUER = "unknown_iss"
    JKU_NOT_ALLOWED = "jku_not_allowed"
    ALG_NOT_ALLOWED = "alg_not_allowed"
    UNKNOWN_KID = "unknown_kid"
    JWKS_UNAVAILABLE = "jwks_unavailable"
    KEY_MISMATCH = "key_mismatch"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    WRONG_AUDIENCE = "wrong_aud"
    EXPIRED = "expired"
    EXP_TOO_FAR = "exp_too_far"
    ISSUED_IN_FUTURE = "iat_in_future"
    NOT_YET_VALID = "nbf_in_future"
    TENANT_NOT_ALLOWED = "tenant_not_allowed"
    REPLAYED = "replayed_jti"
    REPLAY_STORE_UNAVAILABLE = "replay_store_unavailable"


class AuthError(Exception):
    """A client JWT was refused. ``reason`` is safe to log and to use as a metric label.

    ``expected``/``received`` name what differed for the refusals an integration engineer must be able to
    diagnose from the log (``aud``, ``iss``, ``jku``, ``alg``): configuration values and the token's claim or
    header value, each cut to :data:`MAX_LOGGED_VALUE` printable characters. Never the token itself, its
    signature or any other claim.
    """

    def __init__(
        self,
        reason: AuthFailure,
        *,
        iss: str | None = None,
        expected: object = None,
        received: object = None,
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        #: The issuer, set only once it is known to be a trusted one (safe to log).
        self.iss = iss
        self.expected = _loggable(expected)
        self.received = _loggable(received)


MAX_LOGGED_VALUE = 200


def _loggable(value: object) -> str | None:
    """A claim or header value fit for a log line: printable, at most ``MAX_LOGGED_VALUE`` characters."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= MAX_LOGGED_VALUE else text[: MAX_LOGGED_VALUE - 1] + "…"


class TrustedClientsError(ValueError):
    """The trusted-clients configuration is invalid; the message says which entry and what to fix."""


class _PresentedTokens:
    """The (``iss``, ``jti``) pairs shown to this process and not yet expired: a replay that reaches the same
    worker again is refused before any work, without a database read. Not the replay protection itself
    (the database's unique key is, at the endpoint's write); bounded (about 5 MB at 20,000 pairs, the ids
    included), the oldest pair forgotten first."""

    def __init__(self, max_pairs: int = 20_000) -> None:
        self._max_pairs = max_pairs
        self._until: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, iss: str, jti: str, until: float, now: float) -> bool:
        """Remember the pair until ``until`` (epoch seconds); ``False`` when it is already remembered."""
        key = (iss, jti)
        with self._lock:
            known = self._until.get(key)
            if known is not None and known >= now:
                return False
            self._until[key] = until
            self._until.move_to_end(key)
            while self._until and (
                len(self._until) > self._max_pairs or next(iter(self._until.values())) < now
            ):
                self._until.popitem(last=False)
            return True


class ReplayStore(Protocol):
    """Shared memory of accepted (``iss``, ``jti``) pairs, see ``cds_service.storage.replay``."""

    def check_and_store(self, iss: str, jti: str, expires_at: datetime) -> bool:
        """Record the pair until ``expires_at``; ``False`` if it was already recorded (a replay)."""
        ...

    def seen(self, iss: str, jti: str) -> bool:
        """Whether the pair is recorded and not yet expired (a read; records nothing)."""
        ...


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return  # development and tests on loopback only
    raise TrustedClientsError(f"{name} must be an https URL (http only on loopback), got {url!r}")


def _str_tuple(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TrustedClientsError(f"{name} must be a list of strings")
    if not all(isinstance(v, str) and v for v in value):
        raise TrustedClientsError(f"{name} must contain non-empty strings only")
    return tuple(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedClient:
    """One trusted EHR (CDS client) as configured (``spec/cds-hooks.md`` §9 "Trusted clients").

    Exactly one of ``jwks_url`` (fetched and cached) or ``jwks`` (an inline JWK Set of public keys) gives the
    keys. ``algorithms`` is the allow-list of JWS algorithms for this issuer. ``allowed_jku`` lists the
    ``jku`` header values accepted from this issuer (keys are then fetched from that URL); ``tenants``, when
    non-empty, restricts the ``tenant`` claim; ``fhir_servers``, when non-empty, restricts the ``fhirServer``
    this client may name.
    """

    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = field(default=None, repr=False, hash=False)
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    allowed_jku: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.iss, str) or not self.iss:
            raise TrustedClientsError("iss must be a non-empty string")
        if (self.jwks_url is None) == (self.jwks is None):
            raise TrustedClientsError(f"{self.iss}: give exactly one of jwks_url or jwks")
        if self.jwks_url is not None:
            _check_url("jwks_url", self.jwks_url)
        if self.jwks is not None:
            _check_inline_jwks(self.iss, self.jwks)
        for attr in ("algorithms", "allowed_jku", "tenants", "fhir_servers"):
            object.__setattr__(self, attr, _str_tuple(f"{self.iss}: {attr}", getattr(self, attr)))
        if not self.algorithms:
            raise TrustedClientsError(f"{self.iss}: algorithms must not be empty")
        refused = sorted(set(self.algorithms) - SUPPORTED_ALGORITHMS)
        if refused:
            raise TrustedClientsError(
                f"{self.iss}: algorithms {refused} are not allowed; use asymmetric ones from "
                f"{sorted(SUPPORTED_ALGORITHMS)} (never none or HS*)"
            )
        for jku in self.allowed_jku:
            _check_url("allowed_jku", jku)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> TrustedClient:
        """Build from one JSON entry; unknown members are refused so that a typo never weakens trust."""
        known = {"iss", "jwks_url", "jwks", "algorithms", "allowed_jku", "tenants", "fhir_servers"}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise TrustedClientsError(f"unknown members {unknown}; allowed: {sorted(known)}")
        kwargs: dict[str, Any] = dict(obj)
        if "jwks" in kwargs and not isinstance(kwargs["jwks"], Mapping):
            raise TrustedClientsError("jwks must be a JWK Set object {'keys': [...]}")
        if "jwks_url" in kwargs and not isinstance(kwargs["jwks_url"], str):
            raise TrustedClientsError("jwks_url must be a string")
        return cls(**kwargs)


def _check_inline_jwks(iss: str, jwks: Mapping[str, Any]) -> None:
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise TrustedClientsError(f"{iss}: jwks must be a JWK Set with a non-empty 'keys' list")
    for key in keys:
        if not isinstance(key, Mapping) or not key.get("kid"):
            raise TrustedClientsError(f"{iss}: every inline JWK needs a 'kid'")
        if key.get("kty") not in ("EC", "RSA"):
            raise TrustedClientsError(f"{iss}: inline JWK {key.get('kid')!r} must be an EC or RSA public key")
        if "d" in key:
            raise TrustedClientsError(f"{iss}: inline JWK {key.get('kid')!r} holds private key material")
    try:
        PyJWKSet.from_dict(dict(jwks))
    except (PyJWKError, PyJWKSetError) as exc:
        raise TrustedClientsError(f"{iss}: jwks is not a usable JWK Set ({exc})") from exc


def load_trusted_clients(path: str | Path) -> tuple[TrustedClient, ...]:
    """Read the trusted-clients file (a JSON list of :class:`TrustedClient` entries); valid or raise.

    Raises :class:`TrustedClientsError` naming the file and the entry index for an unreadable file, invalid
    JSON, an invalid entry, an issuer listed twice or an empty list (which would refuse every call).
    """
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrustedClientsError(f"{source}: cannot read trusted clients ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise TrustedClientsError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, list):
        raise TrustedClientsError(f"{source}: expected a JSON list of trusted clients")
    clients: list[TrustedClient] = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise TrustedClientsError(f"{source}[{index}]: each entry must be a JSON object")
        try:
            client = TrustedClient.from_json(entry)
        except (TrustedClientsError, TypeError) as exc:
            raise TrustedClientsError(f"{source}[{index}]: {exc}") from exc
        if any(c.iss == client.iss for c in clients):
            raise TrustedClientsError(f"{source}[{index}]: issuer {client.iss!r} is listed twice")
        clients.append(client)
    if not clients:
        raise TrustedClientsError(
            f"{source}: no trusted clients: every call would be refused; list at least one EHR issuer"
        )
    return tuple(clients)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedClient:
    """The outcome of a successful verification: who called (never the token).

    ``replay_until`` is how long (``exp`` + leeway) the (``iss``, ``jti``) pair must be kept to refuse a
    replay; ``jti_consumed`` whether :meth:`JwtVerifier.verify` already recorded it (``consume=True``).
    """

    client: TrustedClient
    iss: str
    jti: str
    kid: str
    algorithm: str
    issued_at: datetime
    expires_at: datetime
    replay_until: datetime
    jti_consumed: bool
    tenant: str | None = None
    subject: str | None = None


class _TimedJWKClient(PyJWKClient):
    """:class:`PyJWKClient` timing each JWKS fetch (``upstream_request_seconds{target=jwks}``)."""

    def __init__(self, uri: str, *, on_fetch: Callable[[float], None] | None, **kwargs: Any) -> None:
        super().__init__(uri, **kwargs)
        self._on_fetch = on_fetch

    def fetch_data(self) -> Any:
        started = time.perf_counter()
        try:
            return super().fetch_data()
        finally:
            if self._on_fetch is not None:
                self._on_fetch(time.perf_counter() - started)


class _InlineKeys:
    """Keys of an inline JWK Set from configuration."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = {k.key_id: k for k in PyJWKSet.from_dict(dict(jwks)).keys if k.key_id}

    def signing_key(self, kid: str) -> PyJWK:
        try:
            return self._keys[kid]
        except KeyError:
            raise AuthError(AuthFailure.UNKNOWN_KID) from None


class _RemoteKeys:
    """Keys behind a JWKS URL: cached for a lifespan, one forced refetch on an unknown kid per cool-down."""

    def __init__(self, client: PyJWKClient) -> None:
        self._client = client

    def signing_key(self, kid: str) -> PyJWK:
        try:
            return self._client.get_signing_key(kid)
        except PyJWKClientConnectionError:
            raise AuthError(AuthFailure.JWKS_UNAVAILABLE) from None
        except (PyJWKClientError, PyJWKSetError):
            raise AuthError(AuthFailure.UNKNOWN_KID) from None


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header or not authorization_header.strip():
        raise AuthError(AuthFailure.MISSING_AUTHORIZATION)
    if len(authorization_header) > MAX_TOKEN_LENGTH:
        raise AuthError(AuthFailure.MALFORMED)
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(AuthFailure.NOT_BEARER)
    return token.strip()


def _numeric_claim(payload: Mapping[str, Any], name: str) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AuthError(AuthFailure.INVALID_CLAIM)
    return float(value)


class JwtVerifier:
    """Verifies CDS client JWTs against the trusted clients (thread-safe; one per process).

    :param clients: the trusted EHRs (:func:`load_trusted_clients`).
    :param replay_store: shared (``iss``, ``jti``) store, database-backed so it works across replicas.
    :param leeway_s: clock skew tolerated on ``exp``, ``iat`` and ``nbf``, in seconds (CH-34 step 5).
    :param max_lifetime_s: how far ahead of now ``exp`` may lie, in seconds (project rule: 1 h).
    :param clock: current time as POSIX seconds; injected in tests.
    :param jwks_timeout_s: HTTP timeout of a JWKS fetch, in seconds.
    :param jwks_lifespan_s: how long a fetched JWKS is served from cache, in seconds.
    :param jwks_cooldown_s: minimum time between forced refetches triggered by unknown ``kid`` values, in
    seconds.
    :param on_rejection: called with the failure code of every refusal (the metrics counter).
    :param on_jwks_fetch: called with the duration in seconds of every JWKS fetch (the upstream histogram).
    """

    def __init__(
        self,
        clients: Sequence[TrustedClient],
        *,
        replay_store: ReplayStore,
        leeway_s: float = 60,
        max_lifetime_s: float = 3600,
        clock: Callable[[], float] = time.time,
        jwks_timeout_s: float = 5,
        jwks_lifespan_s: float = 300,
        jwks_cooldown_s: float = 30,
        on_rejection: Callable[[AuthFailure], None] | None = None,
        on_jwks_fetch: Callable[[float], None] | None = None,
    ) -> None:
        if leeway_s < 0 or max_lifetime_s <= 0:
            raise ValueError("leeway_s must be >= 0 and max_lifetime_s > 0 seconds")
        self._clients = {c.iss: c for c in clients}
        if len(self._clients) != len(clients):
            raise TrustedClientsError("an issuer is listed twice")
        self._replay_store = replay_store
        self._presented = _PresentedTokens()
        self._leeway_s = leeway_s
        self._max_lifetime_s = max_lifetime_s
        self._clock = clock
        self._on_rejection = on_rejection
        remote: dict[str, _RemoteKeys] = {}

        def remote_keys(url: str) -> _RemoteKeys:
            if url not in remote:
                remote[url] = _RemoteKeys(
                    _TimedJWKClient(
                        url,
                        on_fetch=on_jwks_fetch,
                        cache_jwk_set=True,
                        lifespan=jwks_lifespan_s,
                        timeout=jwks_timeout_s,
                        cooldown_duration=jwks_cooldown_s,
                    )
                )
            return remote[url]

        self._keys: dict[str, _InlineKeys | _RemoteKeys] = {}
        self._jku_keys: dict[tuple[str, str], _InlineKeys | _RemoteKeys] = {}
        for client in clients:
            default = (
                _InlineKeys(client.jwks) if client.jwks is not None else remote_keys(str(client.jwks_url))
            )
            self._keys[client.iss] = default
            for jku in client.allowed_jku:
                # An allow-listed jku that is the configured JWKS URL (or any jku of an inline-key client)
                # uses the
                # configured keys; another allow-listed jku gets its own cached client. Nothing else is
                # fetched.
                same = client.jwks is not None or jku == client.jwks_url
                self._jku_keys[(client.iss, jku)] = default if same else remote_keys(jku)

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted issuers, in configuration order."""
        return tuple(self._clients)

    def verify(
        self, authorization_header: str | None, audience: str, *, consume: bool = True
    ) -> VerifiedClient:
        """Verify the ``Authorization`` header of a call to the endpoint at public URL ``audience`` (exact).

        Returns the verified caller, or raises :class:`AuthError`. With ``consume`` (the default) a successful
        call records the token's ``jti`` at once: the same token presented again is refused as a replay.
        With ``consume=False`` the ``jti`` is only checked against the store; the caller **must** record it
        (``iss``, ``jti`` until ``replay_until``) in its own write before answering, and refuse the call
        through :meth:`refuse` when that write finds it already recorded.
        """
        if not audience:
            raise ValueError("audience must be the exact public URL of the endpoint called")
        try:
            verified = self._verify(authorization_header, audience, consume)
        except AuthError as exc:
            self._report(exc, audience)
            raise
        _log.debug(
            "jwt_accepted", iss=verified.iss, tenant=verified.tenant, jti=verified.jti, kid=verified.kid
        )
        return verified

    def refuse(self, iss: str, reason: AuthFailure, audience: str) -> AuthError:
        """Refuse a call verified with ``consume=False`` whose own write could not record its ``jti``:
        ``REPLAYED`` when a concurrent call recorded it first, ``REPLAY_STORE_UNAVAILABLE`` when the write
        failed. Logs and counts the refusal like any other; returns the error for the caller to raise."""
        error = AuthError(reason, iss=iss)
        self._report(error, audience)
        return error

    def _report(self, exc: AuthError, audience: str) -> None:
        _log.warning(
            "jwt_rejected",
            reason=exc.reason.value,
            iss=exc.iss,
            audience=audience,
            expected=exc.expected,
            received=exc.received,
        )
        if self._on_rejection is not None:
            self._on_rejection(exc.reason)

    def _verify(self, authorization_header: str | None, audience: str, consume: bool) -> VerifiedClient:
        token = _bearer_token(authorization_header)
        header, unverified = self._unverified_parts(token)
        client = self._clients.get(str(unverified["iss"]))
        if client is None:
            raise AuthError(
                AuthFailure.UNKNOWN_ISSUER, expected=sorted(self._clients), received=unverified["iss"]
            )
        try:
            return self._verify_for(client, token, header, audience, consume)
        except AuthError as exc:
            exc.iss = client.iss
            if exc.reason is AuthFailure.WRONG_AUDIENCE:
                exc.expected, exc.received = _loggable(audience), _loggable(unverified.get("aud"))
            raise

    @staticmethod
    def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and payload before any trust decision (only to pick the issuer and key)."""
        try:
            parts = jwt.decode_complete(token, options={"verify_signature": False})
            header, payload = parts["header"], parts["payload"]
        except PyJWTError:
            raise AuthError(AuthFailure.MALFORMED) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("iss"), str):
            raise AuthError(
                AuthFailure.MALFORMED if not isinstance(payload, dict) else AuthFailure.MISSING_CLAIM
            )
        typ = header.get("typ")
        kid = header.get("kid")
        if not isinstance(typ, str) or typ.upper() != "JWT" or not isinstance(kid, str) or not kid:
            raise AuthError(AuthFailure.BAD_HEADER)
        return header, payload

    def _verify_for(
        self, client: TrustedClient, token: str, header: Mapping[str, Any], audience: str, consume: bool
    ) -> VerifiedClient:
        keys = self._keys[client.iss]
        jku = header.get("jku")
        if jku is not None and jku != client.jwks_url:
            # A jku naming the issuer's configured JWKS URL uses those keys; any other must be allow-listed.
            if not isinstance(jku, str) or jku not in client.allowed_jku:
                allowed = [u for u in (client.jwks_url, *client.allowed_jku) if u]
                raise AuthError(AuthFailure.JKU_NOT_ALLOWED, expected=allowed, received=jku)
            keys = self._jku_keys[(client.iss, jku)]
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in client.algorithms or alg not in SUPPORTED_ALGORITHMS:
            raise AuthError(AuthFailure.ALG_NOT_ALLOWED, expected=list(client.algorithms), received=alg)
        kid = str(header["kid"])
        jwk = keys.signing_key(kid)
        _check_key_fits(jwk, alg)
        payload = self._decode(token, jwk, alg, client.iss, audience)
        now = self._clock()
        exp, iat = self._check_times(payload, now)
        tenant = payload.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise AuthError(AuthFailure.INVALID_CLAIM)
        if client.tenants and tenant not in client.tenants:
            raise AuthError(AuthFailure.TENANT_NOT_ALLOWED)
        jti = payload["jti"]
        if not isinstance(jti, str) or not jti:
            raise AuthError(AuthFailure.INVALID_CLAIM)
        replay_until = datetime.fromtimestamp(exp + self._leeway_s, tz=UTC)
        try:
            if consume:
                fresh = self._replay_store.check_and_store(client.iss, jti, replay_until)
            else:
                fresh = self._presented.add(client.iss, jti, replay_until.timestamp(), now)
        except Exception as exc:  # fail closed: without the replay check no token is accepted
            _log.error("replay_store_unavailable", error_type=type(exc).__name__)
            raise AuthError(AuthFailure.REPLAY_STORE_UNAVAILABLE) from None
        if not fresh:
            raise AuthError(AuthFailure.REPLAYED)
        sub = payload.get("sub")
        return VerifiedClient(
            client=client,
            iss=client.iss,
            jti=jti,
            kid=kid,
            algorithm=alg,
            issued_at=datetime.fromtimestamp(iat, tz=UTC),
            expires_at=datetime.fromtimestamp(exp, tz=UTC),
            replay_until=replay_until,
            jti_consumed=consume,
            tenant=tenant,
            subject=sub if isinstance(sub, str) else None,
        )

    @staticmethod
    def _decode(token: str, jwk: PyJWK, alg: str, iss: str, audience: str) -> dict[str, Any]:
        """Signature, required claims, ``iss`` and ``aud`` by PyJWT; times are checked with our clock."""
        try:
            return jwt.decode(
                token,
                key=jwk.key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "strict_aud": False,
                },
            )
        except InvalidSignatureError:
            raise AuthError(AuthFailure.BAD_SIGNATURE) from None
        except MissingRequiredClaimError:
            raise AuthError(AuthFailure.MISSING_CLAIM) from None
        except InvalidAudienceError:
            raise AuthError(AuthFailure.WRONG_AUDIENCE) from None
        except InvalidIssuerError:
            raise AuthError(AuthFailure.UNKNOWN_ISSUER) from None
        except InvalidKeyError:  # e.g. an EC key on another curve than the algorithm's
            raise AuthError(AuthFailure.KEY_MISMATCH) from None
        except (PyJWTError, TypeError, ValueError):
            raise AuthError(AuthFailure.MALFORMED) from None

    def _check_times(self, payload: Mapping[str, Any], now: float) -> tuple[float, float]:
        exp = _numeric_claim(payload, "exp")
        iat = _numeric_claim(payload, "iat")
        if now > exp + self._leeway_s:
            raise AuthError(AuthFailure.EXPIRED)
        if exp > now + self._max_lifetime_s + self._leeway_s:
            raise AuthError(AuthFailure.EXP_TOO_FAR)
        if iat > now + self._leeway_s:
            raise AuthError(AuthFailure.ISSUED_IN_FUTURE)
        if "nbf" in payload and _numeric_claim(payload, "nbf") > now + self._leeway_s:
            raise AuthError(AuthFailure.NOT_YET_VALID)
        return exp, iat


def _check_key_fits(jwk: PyJWK, alg: str) -> None:
    """The key must have the type ``alg`` needs and, if the JWK names an alg, that one (RFC 7517 §4.4)."""
    if jwk.key_type != _KEY_TYPE_FOR_FAMILY.get(alg[:2]):
        raise AuthError(AuthFailure.KEY_MISMATCH)
    if jwk.public_key_use not in (None, "sig"):
        raise AuthError(AuthFailure.KEY_MISMATCH)
    # PyJWK infers an algorithm when the JWK has none (RS256 for any RSA key), so only a declared "alg" binds.
    declared = getattr(jwk, "_jwk_data", {}).get("alg")
    if declared is not None and declared != alg:
        raise AuthError(AuthFailure.KEY_MISMATCH)
