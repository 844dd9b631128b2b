"""A :class:`~cds_service.analytics.report.FeedbackReport` as text: a table for the terminal, CSV, JSON, and
as a PNG chart (matplotlib, headless ``Agg`` backend).

Rates are fractions in JSON and CSV (``0.25``) and whole percentages in the table, the chart and the page; a
rate without feedback is empty (``-`` in the table, empty in CSV, ``null`` in JSON), never 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any

from cds_service.analytics.report import (
    AlertReviewRates,
    FeedbackReport,
    Period,
    ReasonCount,
    TopicRates,
)

__all__ = ["period_label", "report_json", "to_csv", "to_json", "to_png", "to_table"]


def period_label(period: Period) -> str:
    """The period as people read it: first and last day, both included (``2026-01-01 to 2026-01-31``)."""
    last = (period.end - dt.timedelta(microseconds=1)).date()
    return f"{period.start:%Y-%m-%d} to {last:%Y-%m-%d}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _topic_rows(report: FeedbackReport) -> list[TopicRates]:
    return [*report.topics, report.total]


def to_table(report: FeedbackReport) -> str:
    """Two aligned tables: rates per card topic (with the totals), then override reasons overall."""
    head = (
        f"Card feedback {period_label(report.period)} (UTC days); "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC"
    )
    topic_rows = [("topic", "shown", "feedback", "accepted", "overridden", "acceptance", "override")]
    for t in _topic_rows(report):
        topic_rows.append(
            (
                t.topic,
                str(t.shown),
                str(t.feedback),
                str(t.accepted),
                str(t.overridden),
                _percent(t.acceptance_rate),
                _percent(t.override_rate),
            )
        )
    reason_rows = [("override reason", "code", "overrides", "share")]
    overridden = report.total.overridden
    for r in report.total.reasons:
        share = r.count / overridden if overridden else None
        reason_rows.append((r.label, r.code or "", str(r.count), _percent(share)))
    parts = [head, "", _aligned(topic_rows), "", _aligned(reason_rows)]
    if report.alerts_total is not None:
        alert_rows = [("review alerts", "source", "raised", "acknowledged", "done", "outcomes")]
        for a in [*report.alerts, report.alerts_total]:
            outcomes = ", ".join(f"{code} {count}" for code, count in a.outcomes)
            alert_rows.append((a.topic, a.source, str(a.raised), str(a.acknowledged), str(a.done), outcomes))
        parts += ["", _aligned(alert_rows)]
    return "\n".join(parts) + "\n"


def _aligned(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_csv(report: FeedbackReport) -> str:
    """One row per (topic, override reason) and one per topic with ``reason`` empty; totals as ``all``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "period_start",
            "period_end",
            "topic",
            "reason_system",
            "reason_code",
            "reason",
            "shown",
            "feedback",
            "accepted",
            "overridden",
            "acceptance_rate",
            "override_rate",
        ]
    )
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    for t in _topic_rows(report):
        writer.writerow(
            [
                start,
                end,
                t.topic,
                "",
                "",
                "",
                t.shown,
                t.feedback,
                t.accepted,
                t.overridden,
                _fraction(t.acceptance_rate),
                _fraction(t.override_rate),
            ]
        )
        for r in t.reasons:
            writer.writerow([start, end, t.topic, r.system or "", r.code or "", r.label, "", "", "", r.count])
    return out.getvalue()


def _fraction(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


def _reason_json(reason: ReasonCount) -> dict[str, Any]:
    return {"system": reason.system, "code": reason.code, "display": reason.label, "count": reason.count}


def _topic_json(t: TopicRates) -> dict[str, Any]:
    return {
        "topic": t.topic,
        "shown": t.shown,
        "feedback": t.feedback,
        "accepted": t.accepted,
        "overridden": t.overridden,
        "acceptanceRate": t.acceptance_rate,
        "overrideRate": t.override_rate,
        "overrideReasons": [_reason_json(r) for r in t.reasons],
    }


def _alert_json(a: AlertReviewRates) -> dict[str, Any]:
    return {
        "topic": a.topic,
        "source": a.source,
        "raised": a.raised,
        "acknowledged": a.acknowledged,
        "done": a.done,
        "outcomes": [{"code": code, "count": count} for code, count in a.outcomes],
    }


def report_json(report: FeedbackReport) -> dict[str, Any]:
    """The report as a JSON-ready dict (``alerts``: review alerts per scenario, with ``alertsTotal``)."""
    data: dict[str, Any] = {
        "period": {"start": report.period.start.isoformat(), "end": report.period.end.isoformat()},
        "generated": report.generated_at.isoformat(),
        "topics": [_topic_json(t) for t in report.topics],
        "total": _topic_json(report.total),
        "alerts": [_alert_json(a) for a in report.alerts],
        "alertsTotal": _alert_json(report.alerts_total) if report.alerts_total is not None else None,
    }
    return data


def to_json(report: FeedbackReport) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def to_png(report: FeedbackReport) -> bytes:
    """A horizontal bar chart: accepted and overridden cards per topic (stacked), override reasons beside.

    Rendered on matplotlib's ``Agg`` canvas into memory: no display, no files, and no pyplot, so no global
    figure registry that a long-running process would have to clean up.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    topics = list(reversed(report.topics)) or [report.total]
    reasons = list(reversed(report.total.reasons))
    figure = Figure(figsize=(10, 0.5 * max(len(topics), len(reasons), 3) + 1.6), dpi=100)
    FigureCanvasAgg(figure)  # attaches the Agg canvas: savefig renders headless, no pyplot, no display
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = [t.topic for t in topics]
    accepted = [t.accepted for t in topics]
    overridden = [t.overridden for t in topics]
    left.barh(names, accepted, color="#2b8cbe", label="accepted")
    left.barh(names, overridden, left=accepted, color="#e34a33", label="overridden")
    for y, t in enumerate(topics):
        if t.feedback:
            left.text(t.feedback, y, f" {_percent(t.override_rate)} overridden", va="center", fontsize=8)
    left.set_xlabel("cards with feedback")
    left.set_title("Outcome per card topic", fontsize=10)
    left.legend(loc="lower right", fontsize=8)
    left.margins(x=0.3)
    if reasons:
        right.barh([r.label for r in reasons], [r.count for r in reasons], color="#fdbb84")
        right.set_xlabel("overridden cards")
    else:
        right.text(0.5, 0.5, "no overrides", ha="center", va="center", transform=right.transAxes)
        right.set_yticks([])
    right.set_title("Override reasons", fontsize=10)
    for axes in (left, right):
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.tick_params(labelsize=8)
    figure.suptitle(f"Card feedback {period_label(report.period)} (UTC)", fontsize=11)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
