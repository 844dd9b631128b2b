"""Feedback analytics over a seeded service database: rates per card topic and override reason, the text,
CSV, JSON, PNG and FHIR MeasureReport outputs, the command line and the signed report page."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import create_engine

from cds_service.analytics import render
from cds_service.analytics.measure import measure_report
from cds_service.analytics.report import FeedbackReport, Period, build_report
from cds_service.analytics.routes import read_report_token, report_link, sign_report_token
from cds_service.cli import build_parser
from cds_service.cli import feedback_report as cli
from cds_service.evidence.routes import sign_token
from cds_service.settings import AuthMode, Settings
from cds_service.storage.store import (
    AuditedCard,
    FeedbackOutcome,
    FeedbackRecord,
    HookAuditRecord,
    HookOutcome,
    Storage,
)
from connectors.fhir.validation import resource_problems
from tests.unit.cds_service.cds_support import make_app

T1 = "her2-low-pet-avid"
T2 = "her2-ultralow"
REASONS = "urn:her2-pet-cds:override-reason"
COMMENT = "Discussed with Mrs Example at tumour board"  # free text: must never appear in any output
JANUARY = Period.from_dates(dt.date(2026, 1, 1), dt.date(2026, 1, 31))


def at(month: int, day: int) -> dt.datetime:
    year = 2025 if month == 12 else 2026
    return dt.datetime(year, month, day, 12, 0, tzinfo=dt.UTC)


def seed(storage: Storage) -> None:
    """Cards shown in and around January 2026 and the feedback on them (expected figures in the tests)."""
    audits = {
        "a": (at(1, 3), [("c1", T1), ("c2", T1), ("c3", T2)]),
        "b": (at(1, 10), [("c4", T1), ("c5", T2)]),
        "before": (at(12, 20), [("c6", T1)]),
        "after": (at(2, 2), [("c7", T2)]),
    }
    for name, (when, cards) in audits.items():
        storage.record_hook(
            HookAuditRecord(
                hook_instance=f"hook-{name}",
                service_id="her2-pet-review",
                hook="patient-view",
                received_at=when,
                duration_ms=12.0,
                outcome=HookOutcome.CARDS,
                rules_version="1.0.0",
                cards=tuple(AuditedCard(uuid=u, topic=t) for u, t in cards),
            )
        )

    def fb(card: str, outcome: FeedbackOutcome, when: dt.datetime, code: str | None = None) -> FeedbackRecord:
        return FeedbackRecord(
            card_uuid=card,
            service_id="her2-pet-review",
            outcome=outcome,
            outcome_timestamp=when,
            accepted_suggestions=("s1",) if outcome is FeedbackOutcome.ACCEPTED else (),
            override_system=REASONS if code else None,
            override_code=code,
            override_display={"already-reviewed": "Already reviewed", "not-candidate": "Not a candidate"}.get(
                code or ""
            ),
            user_comment=COMMENT if outcome is FeedbackOutcome.OVERRIDDEN else None,
        )

    ovr, acc = FeedbackOutcome.OVERRIDDEN, FeedbackOutcome.ACCEPTED
    storage.record_feedback(
        [
            fb("c1", ovr, at(1, 4), "already-reviewed"),
            fb("c2", acc, at(1, 5)),
            fb("c2", ovr, at(1, 6), "not-candidate"),  # the later outcome counts
            fb("c3", ovr, at(1, 4)),  # no reason given
            fb("c4", acc, at(1, 11)),
            fb("c6", ovr, at(1, 1), "already-reviewed"),  # shown in December, answered in January
            fb("c7", ovr, at(2, 3), "not-candidate"),  # after the period
            fb("c5", ovr, at(12, 31), "not-candidate"),  # before the period
            fb("ghost", ovr, at(1, 15)),  # a card the audit does not know
        ]
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "her2cds.db"
    storage = Storage(f"sqlite:///{path}")
    storage.migrate()
    seed(storage)
    storage.dispose()
    return path


@pytest.fixture
def report(db: Path) -> FeedbackReport:
    """Built over a read-only connection: the report never writes."""
    engine = create_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
    try:
        return build_report(engine, JANUARY, now=at(2, 1))
    finally:
        engine.dispose()


def test_rates_per_topic(report: FeedbackReport) -> None:
    rows = {t.topic: (t.shown, t.accepted, t.overridden) for t in report.topics}
    assert rows == {T1: (3, 1, 3), T2: (2, 0, 1), "unrecorded": (0, 0, 1)}
    t1 = next(t for t in report.topics if t.topic == T1)
    assert t1.acceptance_rate == pytest.approx(0.25)
    assert t1.override_rate == pytest.approx(0.75)
    assert [(r.code, r.count) for r in t1.reasons] == [("already-reviewed", 2), ("not-candidate", 1)]
    assert [t.topic for t in report.topics] == [T1, T2, "unrecorded"], "most feedback first"


def test_totals_and_reasons(report: FeedbackReport) -> None:
    total = report.total
    assert (total.shown, total.feedback, total.accepted, total.overridden) == (5, 6, 1, 5)
    assert total.acceptance_rate == pytest.approx(1 / 6)
    assert [(r.label, r.count) for r in total.reasons] == [
        ("Already reviewed", 2),
        ("none given", 2),
        ("Not a candidate", 1),
    ]


def test_period_is_half_open_in_utc() -> None:
    period = Period.from_dates(dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert period.end - period.start == dt.timedelta(days=1)
    assert render.period_label(period) == "2026-01-01 to 2026-01-01"
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(start=dt.datetime(2026, 1, 1), end=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="after"):
        Period(start=at(1, 2), end=at(1, 1))


def test_a_period_without_feedback_has_no_rates(db: Path) -> None:
    engine = create_engine(f"sqlite:///{db}")
    empty = build_report(engine, Period.from_dates(dt.date(2024, 1, 1), dt.date(2024, 1, 31)))
    engine.dispose()
    assert empty.topics == ()
    assert empty.total.acceptance_rate is None
    assert json.loads(render.to_json(empty))["total"]["overrideRate"] is None
    total_line = next(line for line in render.to_table(empty).splitlines() if line.startswith("all "))
    assert total_line.split() == ["all", "0", "0", "0", "0", "-", "-"]
    assert resource_problems(measure_report(empty)) == []
    assert "stratifier" not in measure_report(empty)["group"][0]


def _outputs(report: FeedbackReport) -> list[str]:
    return [
        render.to_table(report),
        render.to_csv(report),
        render.to_json(report),
        json.dumps(measure_report(report)),
    ]


def test_no_output_carries_comments_or_card_ids(report: FeedbackReport) -> None:
    for text in _outputs(report):
        assert "Example" not in text
        assert "tumour board" not in text
        for card in ("c1", "c2", "ghost"):
            assert f'"{card}"' not in text
            assert f",{card}," not in text


def test_csv_and_json_carry_the_same_figures(report: FeedbackReport) -> None:
    rows = list(csv.DictReader(io.StringIO(render.to_csv(report))))
    topic_rows = {r["topic"]: r for r in rows if not r["reason"]}
    assert topic_rows["all"]["overridden"] == "5"
    assert topic_rows[T1]["acceptance_rate"] == "0.2500"
    reason_rows = [r for r in rows if r["topic"] == T1 and r["reason"]]
    assert {(r["reason_code"], r["overridden"]) for r in reason_rows} == {
        ("already-reviewed", "2"),
        ("not-candidate", "1"),
    }
    data = json.loads(render.to_json(report))
    assert data["period"] == {"start": "2026-01-01T00:00:00+00:00", "end": "2026-02-01T00:00:00+00:00"}
    assert [t["topic"] for t in data["topics"]] == [T1, T2, "unrecorded"]


def test_measure_report_is_valid_fhir_and_consistent(report: FeedbackReport) -> None:
    resource = measure_report(report)
    assert resource_problems(resource) == []
    acceptance, override = resource["group"]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in acceptance["population"]}
    assert counts == {"initial-population": 5, "denominator": 6, "numerator": 1}
    assert acceptance["measureScore"]["value"] == pytest.approx(round(1 / 6, 4))
    reasons = next(
        s for s in override["stratifier"] if s["code"][0]["coding"][0]["code"] == "override-reason"
    )
    denominators = [
        next(p["count"] for p in stratum["population"] if p["code"]["coding"][0]["code"] == "denominator")
        for stratum in reasons["stratum"]
    ]
    assert sum(denominators) == report.total.feedback, "the reason strata partition the cards with feedback"
    assert resource["period"] == {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}


def test_validator_reports_a_broken_measure_report(report: FeedbackReport) -> None:
    broken: dict[str, Any] = measure_report(report)
    del broken["period"]
    broken["group"][0]["population"][0]["count"] = "many"
    problems = resource_problems(broken)
    assert any("period" in p for p in problems)
    assert any(p.startswith("group.0.population.0.count") for p in problems)


def test_png_chart(report: FeedbackReport) -> None:
    png = render.to_png(report)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size[0] >= 800
    assert image.size[1] >= 200


# -- command line -----------------------------------------------------------------------------------------


def _run(argv: list[str], env: dict[str, str]) -> int:
    args = build_parser().parse_args(["feedback-report", *argv])
    assert isinstance(args, argparse.Namespace)
    return cli.run(args, environ=env, today=lambda: dt.date(2026, 1, 31))


def _env(tmp_path: Path, db: Path) -> dict[str, str]:
    return {
        "HER2CDS_DATABASE_URL": f"sqlite:///{db}",
        "HER2CDS_DATA_DIR": str(tmp_path / "data"),
        "HER2CDS_LINK_SECRET": "s" * 43,
        "HER2CDS_PUBLIC_URL": "https://cds.example.org",
    }


def test_cli_table_chart_and_measure_report(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png, measure = tmp_path / "chart.png", tmp_path / "measure.json"
    code = _run(
        ["--since", "2026-01-01", "--png", str(png), "--measure-report", str(measure)], _env(tmp_path, db)
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("Card feedback 2026-01-01 to 2026-01-31")
    assert any(line.split()[:6] == ["all", "5", "6", "1", "5", "17%"] for line in out.splitlines())
    assert png.read_bytes().startswith(b"\x89PNG")
    assert resource_problems(json.loads(measure.read_text())) == []


def test_cli_defaults_to_the_last_30_days_and_csv(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--format", "csv"], _env(tmp_path, db)) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["period_start"] == "2026-01-02T00:00:00+00:00"
    total = next(r for r in rows if r["topic"] == "all" and not r["reason"])
    assert total["feedback"] == "5", "c6 (answered on 1 January) falls outside the 30 days"


def test_cli_refuses_a_missing_database_without_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    assert _run([], _env(tmp_path, missing)) == 2
    assert "no database" in capsys.readouterr().err
    assert not missing.exists()


def test_cli_refuses_an_inverted_period(tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["--since", "2026-02-01", "--until", "2026-01-01"], _env(tmp_path, db)) == 2
    assert "--until is before --since" in capsys.readouterr().err


# -- the page for the oncology lead ------------------------------------------------------------------------


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        auth=AuthMode.OFF,
        public_url="https://cds.example.org",
        link_secret="s" * 43,
        data_dir=tmp_path / "data",
        evidence_ttl_s=600,
    )


def test_link_printed_by_the_cli_opens_the_page(
    tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["--link", "--since", "2026-01-01"], _env(tmp_path, db)) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://cds.example.org/feedback-report/")
    app = make_app(
        tmp_path, database_url=f"sqlite:///{db}", public_url="https://cds.example.org", link_secret="s" * 43
    )
    client = app.test_client()
    path = link.removeprefix("https://cds.example.org")
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "2026-01-01 to 2026-01-31" in html
    assert f"<code>{T1}</code>" in html
    assert "Already reviewed" in html
    assert COMMENT not in html
    assert page.headers["Cache-Control"] == "no-store, private"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    chart = client.get(f"{path}/chart.png")
    assert chart.status_code == 200
    assert chart.mimetype == "image/png"
    assert chart.data.startswith(b"\x89PNG")


def test_page_refuses_forged_expired_and_evidence_tokens(tmp_path: Path, db: Path) -> None:
    settings = _settings(tmp_path)
    token = sign_report_token(settings, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert read_report_token(settings, token) == JANUARY
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.evidence_ttl_s + 5)
    assert read_report_token(settings, token, now=later) is None
    app = make_app(
        tmp_path, database_url=f"sqlite:///{db}", public_url="https://cds.example.org", link_secret="s" * 43
    )
    client = app.test_client()
    assert client.get(f"/feedback-report/{token}").status_code == 200
    assert client.get(f"/feedback-report/{token[:-2]}xx").status_code == 403
    other = make_app(
        tmp_path / "other",
        database_url=f"sqlite:///{db}",
        public_url="https://cds.example.org",
        link_secret="t" * 43,
    ).test_client()
    assert other.get(f"/feedback-report/{token}").status_code == 403, "another secret"
    evidence_token = sign_token(settings, "snapshot-id")
    assert client.get(f"/feedback-report/{evidence_token}").status_code == 403, "an evidence link"
    assert client.get(f"/feedback-report/{evidence_token}/chart.png").status_code == 403


def test_report_link_uses_the_public_url(tmp_path: Path) -> None:
    link = report_link(_settings(tmp_path), dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert link.startswith("https://cds.example.org/feedback-report/")
    with pytest.raises(ValueError, match="before"):
        sign_report_token(_settings(tmp_path), dt.date(2026, 2, 1), dt.date(2026, 1, 1))
