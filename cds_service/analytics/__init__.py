"""Feedback analytics: what clinicians do with the cards (acceptance and override rates per card topic and
per override reason over a period), read-only over the service database.

- :mod:`~cds_service.analytics.report` queries ``card_feedback`` joined with ``hook_audit_card`` (the card
  topic) and ``hook_audit`` (when the card was shown) and aggregates them into a :class:`FeedbackReport`;
- :mod:`~cds_service.analytics.render` turns a report into a text table, CSV, JSON and a PNG chart;
- :mod:`~cds_service.analytics.measure` exports it as a FHIR R4 MeasureReport;
- :mod:`~cds_service.analytics.routes` serves the page for the oncology lead behind a signed, short-lived
  link (the same scheme as the evidence links).

Nothing here writes to the database, and no output carries PHI: the tables hold no patient identifiers,
and the clinicians' free-text override comments are never read.
"""

from __future__ import annotations

from cds_service.analytics.report import FeedbackReport, Period, ReasonCount, TopicRates, build_report

__all__ = ["FeedbackReport", "Period", "ReasonCount", "TopicRates", "build_report"]
