"""Acceptance and override rates of the cards over a period, per card topic and per override reason.

Definitions (``docs/feedback-report.md``):

- **shown**: cards the service returned in the period (``hook_audit.received_at`` in the period), by the
  topic code recorded with each card (``hook_audit_card.topic``, the card's ``source.topic.code``);
- **feedback**: the cards with at least one feedback item whose ``outcomeTimestamp`` lies in the period.
  One card counts once, by its latest outcome in the period (a client may send an outcome again, or
  override a card it accepted earlier). The card's topic comes from its audit row; feedback for a card
  without one (audit purged, or a card uuid the service never issued) is counted under ``unrecorded``;
- **acceptance rate** = accepted / feedback and **override rate** = overridden / feedback, per topic and
  overall (None when a topic has no feedback: no rate is invented). CDS Hooks 2.0 reports "accepted" only
  for a card whose suggestion was taken, so acceptance is zero where suggestions are switched off;
- **override reasons**: the ``overrideReason.reason`` Coding of each overridden card (system and code; the
  client's display is kept as a label), ``none given`` when the client sent none.

- **review alerts** (``docs/alerts.md``), per card scenario and source (``worklist``): alerts raised,
  acknowledged and done in the period, the done ones by the outcome the reviewer chose: the alert's
  counterpart of card acceptance and override.

The period is half-open, ``[start, end)``, in UTC. The queries only read; no patient identifier, reviewer
name and no free-text comment is read at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, and_, func, or_, select

from cds_service.storage.tables import (
    FeedbackOutcome,
    alerts,
    card_feedback,
    hook_audit,
    hook_audit_card,
)

__all__ = [
    "ALL_TOPICS",
    "NO_REASON",
    "UNRECORDED_TOPIC",
    "WORKLIST_SOURCE",
    "AlertReviewRates",
    "AlertRow",
    "FeedbackReport",
    "Period",
    "ReasonCount",
    "TopicRates",
    "aggregate",
    "aggregate_alerts",
    "build_report",
]

ALL_TOPICS: Final = "all"
"""Topic label of the totals row."""
UNRECORDED_TOPIC: Final = "unrecorded"
"""Topic label for feedback on a card without an audit row."""
NO_REASON: Final = "none given"
"""Label of overrides that came without a reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """A half-open UTC interval ``[start, end)``; both ends timezone-aware."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Period.{name} must be timezone-aware (UTC)")
        if self.end <= self.start:
            raise ValueError("Period.end must be after Period.start")

    @classmethod
    def from_dates(cls, since: dt.date, until: dt.date) -> Period:
        """The whole days ``since`` … ``until`` inclusive (UTC midnight to the midnight after ``until``)."""
        start = dt.datetime.combine(since, dt.time(), dt.UTC)
        return cls(start=start, end=dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonCount:
    """How many overridden cards gave one reason. ``system``/``code`` None for :data:`NO_REASON`."""

    system: str | None
    code: str | None
    display: str | None
    count: int

    @property
    def label(self) -> str:
        """What a person reads: the display, else the code, else :data:`NO_REASON`."""
        return self.display or self.code or NO_REASON


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicRates:
    """Counts and rates of one card topic (or of all topics, :data:`ALL_TOPICS`)."""

    topic: str
    shown: int
    accepted: int
    overridden: int
    reasons: tuple[ReasonCount, ...] = ()

    @property
    def feedback(self) -> int:
        """Cards with an outcome in the period."""
        return self.accepted + self.overridden

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.feedback if self.feedback else None

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.feedback if self.feedback else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertReviewRates:
    """Review alerts of one card scenario (or all, :data:`ALL_TOPICS`) and what the reviewers did, from one
    ``source`` (``worklist``: acknowledged and done on the review worklist).

    ``raised``: alerts created in the period; ``acknowledged``: alerts acknowledged in the period; ``done``:
    alerts closed in the period, ``outcomes`` counting them by the outcome the reviewer chose (``none
    given`` for an alert closed without one).
    """

    topic: str
    source: str
    raised: int
    acknowledged: int
    done: int
    outcomes: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackReport:
    """One report: the period, when it was made, one row per topic (most feedback first) and the totals,
    and the review alerts per scenario with their totals (``alerts_total`` None: none in the period)."""

    period: Period
    generated_at: dt.datetime
    topics: tuple[TopicRates, ...]
    total: TopicRates
    alerts: tuple[AlertReviewRates, ...] = ()
    alerts_total: AlertReviewRates | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackRow:
    """One feedback item as the report reads it (no comment, no patient)."""

    card_uuid: str
    topic: str | None
    outcome: str
    outcome_at: dt.datetime
    row_id: int
    reason_system: str | None = None
    reason_code: str | None = None
    reason_display: str | None = None


def _latest_per_card(rows: Iterable[FeedbackRow]) -> list[FeedbackRow]:
    latest: dict[str, FeedbackRow] = {}
    for row in rows:
        kept = latest.get(row.card_uuid)
        if kept is None or (row.outcome_at, row.row_id) > (kept.outcome_at, kept.row_id):
            latest[row.card_uuid] = row
    return list(latest.values())


def _reasons(rows: Iterable[FeedbackRow]) -> tuple[ReasonCount, ...]:
    counts: Counter[tuple[str | None, str | None]] = Counter()
    displays: dict[tuple[str | None, str | None], str | None] = {}
    for row in rows:
        if row.outcome != FeedbackOutcome.OVERRIDDEN:
            continue
        key = (row.reason_system, row.reason_code) if row.reason_code else (None, None)
        counts[key] += 1
        displays.setdefault(key, row.reason_display if row.reason_code else None)
    # Most frequent first; among equals the coded reasons before "none given", then by code.
    ordered = sorted(
        counts.items(), key=lambda item: (-item[1], item[0][1] is None, item[0][1] or "", item[0][0] or "")
    )
    return tuple(
        ReasonCount(system=system, code=code, display=displays[(system, code)], count=count)
        for (system, code), count in ordered
    )


def _rates(topic: str, shown: int, rows: list[FeedbackRow]) -> TopicRates:
    accepted = sum(1 for r in rows if r.outcome == FeedbackOutcome.ACCEPTED)
    overridden = sum(1 for r in rows if r.outcome == FeedbackOutcome.OVERRIDDEN)
    return TopicRates(
        topic=topic, shown=shown, accepted=accepted, overridden=overridden, reasons=_reasons(rows)
    )


def aggregate(
    period: Period,
    shown: Mapping[str | None, int],
    rows: Iterable[FeedbackRow],
    *,
    generated_at: dt.datetime,
) -> FeedbackReport:
    """The report from cards shown per topic and the period's feedback rows (pure; see the module doc)."""
    latest = _latest_per_card(rows)
    by_topic: dict[str, list[FeedbackRow]] = {}
    for row in latest:
        by_topic.setdefault(row.topic or UNRECORDED_TOPIC, []).append(row)
    shown_by_topic: Counter[str] = Counter()
    for topic, count in shown.items():
        shown_by_topic[topic or UNRECORDED_TOPIC] += count
    names = set(by_topic) | set(shown_by_topic)
    topics = [_rates(name, shown_by_topic[name], by_topic.get(name, [])) for name in names]
    topics.sort(key=lambda t: (-t.feedback, -t.shown, t.topic))
    total = _rates(ALL_TOPICS, sum(shown_by_topic.values()), latest)
    return FeedbackReport(period=period, generated_at=generated_at, topics=tuple(topics), total=total)


def _shown(engine: Engine, period: Period) -> dict[str | None, int]:
    stmt = (
        select(hook_audit_card.c.topic, func.count())
        .select_from(hook_audit_card.join(hook_audit, hook_audit.c.id == hook_audit_card.c.audit_id))
        .where(hook_audit.c.received_at >= period.start, hook_audit.c.received_at < period.end)
        .group_by(hook_audit_card.c.topic)
    )
    with engine.connect() as conn:
        return {topic: int(count) for topic, count in conn.execute(stmt)}


def _feedback(engine: Engine, period: Period) -> list[FeedbackRow]:
    fb = card_feedback.c
    stmt = (
        select(
            fb.id,
            fb.card_uuid,
            fb.outcome,
            fb.outcome_timestamp,
            fb.override_system,
            fb.override_code,
            fb.override_display,
            hook_audit_card.c.topic,
        )
        .select_from(card_feedback.outerjoin(hook_audit_card, hook_audit_card.c.card_uuid == fb.card_uuid))
        .where(fb.outcome_timestamp >= period.start, fb.outcome_timestamp < period.end)
    )
    with engine.connect() as conn:
        return [
            FeedbackRow(
                card_uuid=row.card_uuid,
                topic=row.topic,
                outcome=row.outcome,
                outcome_at=row.outcome_timestamp,
                row_id=row.id,
                reason_system=row.override_system,
                reason_code=row.override_code,
                reason_display=row.override_display,
            )
            for row in conn.execute(stmt)
        ]


WORKLIST_SOURCE: Final = "worklist"
"""Source of alert actions taken on the review worklist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRow:
    """One review alert as the report reads it (no patient, no reviewer name)."""

    scenario: str
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    done_at: dt.datetime | None
    outcome: str | None


def aggregate_alerts(
    period: Period, rows: Iterable[AlertRow]
) -> tuple[tuple[AlertReviewRates, ...], AlertReviewRates | None]:
    """Review-alert counts per scenario (most raised first) and overall, for alerts raised, acknowledged or
    done in the period (pure)."""

    def inside(moment: dt.datetime | None) -> bool:
        return moment is not None and period.start <= moment < period.end

    def rates(topic: str, items: list[AlertRow]) -> AlertReviewRates:
        outcomes = Counter(r.outcome or NO_REASON for r in items if inside(r.done_at))
        return AlertReviewRates(
            topic=topic,
            source=WORKLIST_SOURCE,
            raised=sum(1 for r in items if inside(r.created_at)),
            acknowledged=sum(1 for r in items if inside(r.acknowledged_at)),
            done=sum(outcomes.values()),
            outcomes=tuple(sorted(outcomes.items(), key=lambda item: (-item[1], item[0]))),
        )

    relevant = [r for r in rows if inside(r.created_at) or inside(r.acknowledged_at) or inside(r.done_at)]
    if not relevant:
        return (), None
    by_scenario: dict[str, list[AlertRow]] = {}
    for row in relevant:
        by_scenario.setdefault(row.scenario, []).append(row)
    topics = [rates(name, items) for name, items in by_scenario.items()]
    topics.sort(key=lambda t: (-t.raised, -t.done, t.topic))
    return tuple(topics), rates(ALL_TOPICS, relevant)


def _alerts(engine: Engine, period: Period) -> list[AlertRow]:
    col = alerts.c
    stmt = select(col.scenario, col.created_at, col.acknowledged_at, col.done_at, col.outcome).where(
        or_(
            and_(col.created_at >= period.start, col.created_at < period.end),
            and_(col.acknowledged_at >= period.start, col.acknowledged_at < period.end),
            and_(col.done_at >= period.start, col.done_at < period.end),
        )
    )
    with engine.connect() as conn:
        return [
            AlertRow(
                scenario=row.scenario,
                created_at=row.created_at,
                acknowledged_at=row.acknowledged_at,
                done_at=row.done_at,
                outcome=row.outcome,
            )
            for row in conn.execute(stmt)
        ]


def build_report(engine: Engine, period: Period, *, now: dt.datetime | None = None) -> FeedbackReport:
    """Read the period's cards, feedback and review alerts from the service database (three read-only
    queries).

    ``now`` (aware) is the report's generation time; the clock when omitted.
    """
    generated_at = now if now is not None else dt.datetime.now(dt.UTC)
    report = aggregate(period, _shown(engine, period), _feedback(engine, period), generated_at=generated_at)
    topics, total = aggregate_alerts(period, _alerts(engine, period))
    return dataclasses.replace(report, alerts=topics, alerts_total=total)
