"""JWT replay protection: the (``iss``, ``jti``) pairs of accepted client tokens (``spec/cds-hooks.md`` CH-34
step 7), shared by every worker and replica through the database.

A token is *checked* when it is verified (:meth:`ReplayStorage.seen`, a read) and *consumed* by the one
write of the call it authorises (:func:`consume` inside that call's transaction: the hook's audit and
evidence, or the feedback items), so a hook costs one write transaction, not one for its token and more for
its records.
The unique key (``iss``, ``jti``) decides between concurrent calls carrying the same token, on SQLite and on
PostgreSQL alike: exactly one transaction inserts the pair; the others find it taken at commit time, raise
:class:`ReplayedTokenError`, roll back everything they would have written, and their call is refused (401).
A call that has no write of its own (discovery) consumes its token alone
(:meth:`ReplayStorage.check_and_store`).

An entry is kept until the token's ``exp`` plus the verifier's leeway; an expired entry may be overwritten
(the token it protected can no longer be valid) and is deleted by the retention task
(:mod:`cds_service.storage.retention`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.sql.dml import Insert

from cds_service.storage.engine import StoragePart, insert_for, require_aware
from cds_service.storage.tables import jti_replay

__all__ = ["ReplayStorage", "ReplayedTokenError", "TokenUse", "consume"]


class ReplayedTokenError(Exception):
    """The call's token id was consumed by another call first; nothing of this call was written."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenUse:
    """A verified client token to consume: its issuer, its ``jti``, and until when the pair is kept (the
    token's ``exp`` plus the verifier's leeway). Never the token itself."""

    iss: str
    jti: str
    expires_at: datetime

    def __post_init__(self) -> None:
        if not (self.iss and self.jti):
            raise ValueError("a token use needs its iss and jti")
        require_aware("expires_at", self.expires_at)


def _consume_statement(dialect: str) -> Insert:
    """The upsert of :func:`consume`, built once per dialect with bound parameters (the hot statement of
    every hook: no per-call statement construction, and SQLAlchemy's compiled cache hits at once)."""
    stmt = insert_for(
        dialect,
        jti_replay,
        {"iss": bindparam("t_iss"), "jti": bindparam("t_jti"), "expires_at": bindparam("t_expires")},
    )
    upsert: Insert = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
        index_elements=[jti_replay.c.iss, jti_replay.c.jti],
        set_={"expires_at": bindparam("t_expires")},
        where=jti_replay.c.expires_at < bindparam("t_now"),
    )
    return upsert.returning(jti_replay.c.jti)


_CONSUME = {dialect: _consume_statement(dialect) for dialect in ("sqlite", "postgresql")}

_SEEN = select(jti_replay.c.jti).where(
    jti_replay.c.iss == bindparam("t_iss"),
    jti_replay.c.jti == bindparam("t_jti"),
    jti_replay.c.expires_at >= bindparam("t_now"),
)


def consume(conn: Connection, token: TokenUse, now: datetime) -> bool:
    """Record ``token`` in the caller's transaction; ``False`` when a live entry already holds its pair.

    Run it first in the transaction so that a replay is found before anything else is written. An entry
    whose ``expires_at`` has passed is overwritten.
    """
    params = {"t_iss": token.iss, "t_jti": token.jti, "t_expires": token.expires_at, "t_now": now}
    return conn.execute(_CONSUME[conn.dialect.name], params).first() is not None


class ReplayStorage(StoragePart):
    """The replay store of :class:`cds_service.auth.JwtVerifier` (its ``ReplayStore`` protocol)."""

    def seen(self, iss: str, jti: str) -> bool:
        """Whether (``iss``, ``jti``) is recorded and not yet expired: a read, never waiting for a writer."""
        now = self._clock()
        with self._single_read() as conn:
            found = conn.execute(_SEEN, {"t_iss": iss, "t_jti": jti, "t_now": now}).first()
        return found is not None

    def check_and_store(self, iss: str, jti: str, expires_at: datetime) -> bool:
        """Record (``iss``, ``jti``) until ``expires_at`` in a transaction of its own; ``False`` if a live
        entry already holds the pair (a replay). Atomic across workers and replicas: the unique key decides.
        """
        token = TokenUse(iss=iss, jti=jti, expires_at=expires_at)
        with self._write() as conn:
            return consume(conn, token, self._clock())

    def purge_expired_jti(self, now: datetime | None = None) -> int:
        """Delete replay entries with ``expires_at`` before ``now`` (default: the clock); returns how many."""
        cutoff = now or self._clock()
        with self._write() as conn:
            return conn.execute(delete(jti_replay).where(jti_replay.c.expires_at < cutoff)).rowcount
