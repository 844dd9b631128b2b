"""The service's own FHIR credentials: SMART Backend Services (client-credentials grant, signed JWT).

SMART App Launch 2.x "Backend Services": the service registers a public key (JWKS) with the EHR and gets a
``client_id``; for an access token it POSTs to the token endpoint ``grant_type=client_credentials``,
``scope``, ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a
``client_assertion``: a JWT signed with its private key (RS384 or ES384) whose ``iss`` and ``sub`` are the
client id, ``aud`` the token endpoint URL, ``exp`` at most five minutes ahead and ``jti`` unique. The token
is cached until shortly before its ``expires_in``.

Without a token endpoint (``backend_auth`` absent from the alerts configuration) no token is requested and
FHIR calls carry none: for FHIR test servers only, stated in ``docs/alerts.md``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import jwt
import requests

__all__ = [
    "ASSERTION_TYPE",
    "BackendAuthError",
    "BackendCredentials",
    "BackendTokenSource",
    "client_assertion",
]

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS: Final = frozenset({"RS384", "ES384"})
ASSERTION_LIFETIME_S: Final = 300
EXPIRY_MARGIN_S: Final = 30.0


class BackendAuthError(Exception):
    """The token endpoint refused or could not be reached (the message holds no secret)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BackendCredentials:
    """The registration of this service with the EHR's authorisation server."""

    token_endpoint: str
    client_id: str
    private_key_pem: str = field(repr=False)
    algorithm: str = "RS384"
    key_id: str | None = None
    scope: str = (
        "system/Patient.rs system/Condition.rs system/Observation.rs system/DiagnosticReport.rs "
        "system/CareTeam.rs"
    )

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"backend_auth.algorithm must be RS384 or ES384, got {self.algorithm!r}")
        if not self.token_endpoint.startswith("https://") and not self.token_endpoint.startswith(
            "http://127."
        ):
            raise ValueError("backend_auth.token_endpoint must be an https URL")
        if not self.client_id:
            raise ValueError("backend_auth.client_id is required")


def client_assertion(credentials: BackendCredentials, *, now: float, jti: str | None = None) -> str:
    """The signed JWT of one token request (``now`` in Unix seconds)."""
    claims = {
        "iss": credentials.client_id,
        "sub": credentials.client_id,
        "aud": credentials.token_endpoint,
        "exp": int(now) + ASSERTION_LIFETIME_S,
        "iat": int(now),
        "jti": jti or secrets.token_urlsafe(24),
    }
    headers = {"typ": "JWT", **({"kid": credentials.key_id} if credentials.key_id else {})}
    return jwt.encode(claims, credentials.private_key_pem, algorithm=credentials.algorithm, headers=headers)


class BackendTokenSource:
    """Access tokens for the service's own FHIR calls, cached until shortly before they expire.

    ``credentials`` None: no token (FHIR test servers). Thread-safe.
    """

    def __init__(
        self,
        credentials: BackendCredentials | None,
        session: requests.Session,
        *,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self._session = session
        self._timeout_s = timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str | None:
        """A valid access token, or None without credentials. Raises ``BackendAuthError``."""
        if self._credentials is None:
            return None
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._expires_at - EXPIRY_MARGIN_S:
                return self._token
            self._token, self._expires_at = self._request(self._credentials, now)
            return self._token

    def _request(self, credentials: BackendCredentials, now: float) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "scope": credentials.scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(credentials, now=now),
        }
        try:
            resp = self._session.post(
                credentials.token_endpoint,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self._timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise BackendAuthError(f"token endpoint unreachable ({type(exc).__name__})") from exc
        if resp.status_code != 200:
            raise BackendAuthError(f"token endpoint answered HTTP {resp.status_code}")
        try:
            body = resp.json()
            token = body["access_token"]
            expires_in = float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendAuthError("token endpoint answer has no access_token") from exc
        if not isinstance(token, str) or not token:
            raise BackendAuthError("token endpoint answer has no access_token")
        return token, now + expires_in
