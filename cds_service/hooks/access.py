"""Who may call: the CDS client JWT on every endpoint (``cds-hooks.md`` §9), as the routes use it.

:class:`ClientAuth` wraps :class:`cds_service.auth.JwtVerifier`. An endpoint that writes (a hook call, the
feedback call) verifies with ``consume=False``: no database read (a token id this process was already shown
is refused from memory), and the :class:`~cds_service.hooks.service.CallerIdentity` carries the ``token_use``
the endpoint records in its one write before it answers; when that write finds the token id taken, the
endpoint refuses the call through :meth:`ClientAuth.refuse` (401, counted and logged as ``replayed_jti``).
An endpoint that does not write (discovery) verifies with ``consume=True``. Every refusal is a bare 401
(CH-35).
"""

from __future__ import annotations

from cds_service.auth import AuthError, AuthFailure, JwtVerifier
from cds_service.errors import UnauthorizedError
from cds_service.hooks.service import CallerIdentity
from cds_service.storage.replay import TokenUse

__all__ = ["ClientAuth"]


class ClientAuth:
    """The client JWT check of the service's endpoints (thread-safe; one per app)."""

    def __init__(self, verifier: JwtVerifier) -> None:
        self._verifier = verifier

    def authenticate(self, header: str | None, audience: str, *, consume: bool) -> CallerIdentity:
        """The verified caller of an endpoint whose public URL is ``audience``; ``UnauthorizedError`` (401)
        otherwise. Without ``consume`` the caller's ``token_use`` must be recorded by the endpoint's write."""
        try:
            verified = self._verifier.verify(header, audience, consume=consume)
        except AuthError as exc:
            raise UnauthorizedError() from exc
        token_use = None
        if not verified.jti_consumed:
            token_use = TokenUse(iss=verified.iss, jti=verified.jti, expires_at=verified.replay_until)
        return CallerIdentity(
            iss=verified.iss,
            tenant=verified.tenant,
            jti=verified.jti,
            fhir_servers=tuple(verified.client.fhir_servers),
            token_use=token_use,
        )

    def refuse(self, caller: CallerIdentity, audience: str, *, replayed: bool) -> UnauthorizedError:
        """The 401 for a call whose write could not record its token id: taken by a concurrent call
        (``replayed``) or the database unavailable. Counted and logged like every refusal."""
        reason = AuthFailure.REPLAYED if replayed else AuthFailure.REPLAY_STORE_UNAVAILABLE
        self._verifier.refuse(caller.iss or "", reason, audience)
        return UnauthorizedError()
