"""Card feedback (``spec/cds-hooks.md`` CH-27..CH-29): a part of :class:`cds_service.storage.store.Storage`.

The clinician's outcome per card (accepted, or overridden with a reason), joinable to the hook audit by card
uuid. Feedback is acknowledged to the EHR, which will not send it again, so :meth:`FeedbackStorage.
record_feedback` returns only after its transaction committed, and on SQLite that commit is fsynced
(``durable=True``): acknowledged feedback survives a crash of the process and a power cut. The feedback
call's client token id is consumed in the same transaction. Feedback is not purged by the retention task.

``user_comment`` is free text typed by a clinician: stored for review, never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from cds_service.storage.engine import StoragePart, changed_a_row, require_aware
from cds_service.storage.replay import ReplayedTokenError, TokenUse, consume
from cds_service.storage.tables import FeedbackOutcome, card_feedback

__all__ = ["FeedbackRecord", "FeedbackStorage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackRecord:
    """One CDS Hooks feedback item (``spec/cds-hooks.md`` CH-27) as stored.

    ``override_display`` is optional because the public sandbox omits it (CH-28). ``user_comment`` is free
    text typed by a clinician: it is stored for review but never logged.
    """

    card_uuid: str
    service_id: str
    outcome: FeedbackOutcome
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] = ()
    override_code: str | None = None
    override_system: str | None = None
    override_display: str | None = None
    user_comment: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        require_aware("outcome_timestamp", self.outcome_timestamp)
        if not (self.card_uuid and self.service_id):
            raise ValueError("card_uuid and service_id are required")
        object.__setattr__(self, "outcome", FeedbackOutcome(self.outcome))
        object.__setattr__(self, "accepted_suggestions", tuple(self.accepted_suggestions))


class FeedbackStorage(StoragePart):
    """Card feedback: written durably, read per card."""

    def record_feedback(self, items: Sequence[FeedbackRecord], *, token: TokenUse | None = None) -> int:
        """Store feedback items in one durable transaction, consuming ``token`` first; returns how many were
        new.

        Returns only after commit, so the caller may acknowledge the feedback call. A re-sent item (same card,
        outcome and ``outcomeTimestamp``) is stored once. Raises
        :class:`~cds_service.storage.replay.ReplayedTokenError` (nothing written) when another call consumed
        ``token`` first.
        """
        received_at = self._clock()
        stored = 0
        with self._write(durable=True) as conn:
            if token is not None and not consume(conn, token, received_at):
                raise ReplayedTokenError("the token id was consumed by another call")
            for item in items:
                stmt = self._insert(
                    card_feedback,
                    values={
                        "card_uuid": item.card_uuid,
                        "service_id": item.service_id,
                        "outcome": item.outcome.value,
                        "accepted_suggestions": list(item.accepted_suggestions) or None,
                        "override_code": item.override_code,
                        "override_system": item.override_system,
                        "override_display": item.override_display,
                        "user_comment": item.user_comment,
                        "outcome_timestamp": item.outcome_timestamp,
                        "received_at": received_at,
                    },
                )
                ignoring = stmt.on_conflict_do_nothing()  # type: ignore[attr-defined]
                stored += changed_a_row(conn, ignoring.returning(card_feedback.c.id))
        return stored

    def feedback_for_card(self, card_uuid: str) -> tuple[FeedbackRecord, ...]:
        """Stored feedback items for one card, oldest outcome first."""
        with self._reader() as conn:
            rows = conn.execute(
                select(card_feedback)
                .where(card_feedback.c.card_uuid == card_uuid)
                .order_by(card_feedback.c.outcome_timestamp, card_feedback.c.id)
            ).mappings()
            return tuple(
                FeedbackRecord(
                    card_uuid=r["card_uuid"],
                    service_id=r["service_id"],
                    outcome=FeedbackOutcome(r["outcome"]),
                    outcome_timestamp=r["outcome_timestamp"],
                    accepted_suggestions=tuple(r["accepted_suggestions"] or ()),
                    override_code=r["override_code"],
                    override_system=r["override_system"],
                    override_display=r["override_display"],
                    user_comment=r["user_comment"],
                )
                for r in rows
            )
