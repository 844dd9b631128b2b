"""Heartbeats of background components (``sync``): when each last completed its work.

The sync CronJob's pods are never scraped by Prometheus; the web pods read these rows at scrape time and
expose the age as a gauge, so an alert can say that PET data is going stale.
"""

from __future__ import annotations

from sqlalchemy import select

from cds_service.storage.engine import StoragePart
from cds_service.storage.tables import heartbeats

__all__ = ["HeartbeatStorage"]


class HeartbeatStorage(StoragePart):
    """Last success per background component."""

    def record_heartbeat(self, component: str) -> None:
        """Record that ``component`` (e.g. ``sync``) completed its work now."""
        now = self._clock()
        stmt = self._insert(heartbeats, values={"component": component, "last_success_at": now})
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["component"], set_={"last_success_at": now}
        )
        with self._write() as conn:
            conn.execute(stmt)

    def last_success(self, component: str) -> float | None:
        """Unix time of ``component``'s last recorded success, or ``None`` before the first one."""
        with self._reader() as conn:
            when = conn.execute(
                select(heartbeats.c.last_success_at).where(heartbeats.c.component == component)
            ).scalar_one_or_none()
        return when.timestamp() if when is not None else None
