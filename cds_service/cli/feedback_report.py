"""``her2-cds feedback-report``: acceptance and override rates of the cards per topic and override reason.

Reads the service database of ``HER2CDS_DATABASE_URL`` (read-only) and prints a table, CSV or JSON on
standard output; ``--png`` also writes the chart, ``--measure-report`` a FHIR R4 MeasureReport, and
``--link`` prints a signed, short-lived link to the report page for the oncology lead instead (it needs
``HER2CDS_PUBLIC_URL`` and the link secret of the running service). ``--since`` and ``--until`` are UTC days,
both included; the default is the 30 days up to today.

Exit status: 0 done; 2 unusable settings, database or arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from cds_service.settings import PREFIX, Settings, SettingsError

__all__ = ["DEFAULT_DAYS", "register", "run"]

EXIT_OK = 0
EXIT_UNUSABLE = 2
DEFAULT_DAYS = 30


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "feedback-report",
        help="acceptance and override rates of the cards per topic and override reason",
        description="Acceptance and override rates of the cards per card topic and per override reason "
        "over a period, from the service database (HER2CDS_DATABASE_URL). No patient data is shown.",
    )
    parser.add_argument("--since", type=dt.date.fromisoformat, help="first UTC day (YYYY-MM-DD)")
    parser.add_argument("--until", type=dt.date.fromisoformat, help="last UTC day, included (YYYY-MM-DD)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--png", type=Path, metavar="PATH", help="also write the chart as PNG")
    parser.add_argument(
        "--measure-report", type=Path, metavar="PATH", help="also write a FHIR R4 MeasureReport (JSON)"
    )
    parser.add_argument(
        "--link",
        action="store_true",
        help="print a signed link to the report page (valid HER2CDS_EVIDENCE_TTL_S seconds) instead",
    )
    parser.set_defaults(func=run)


def _period(args: argparse.Namespace, today: dt.date) -> tuple[dt.date, dt.date]:
    until: dt.date = args.until or today
    since: dt.date = args.since or until - dt.timedelta(days=DEFAULT_DAYS - 1)
    if until < since:
        raise ValueError("--until is before --since")
    return since, until


def run(
    args: argparse.Namespace,
    *,
    environ: Mapping[str, str] | None = None,
    today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from cds_service.analytics import render
    from cds_service.analytics.measure import measure_report
    from cds_service.analytics.report import Period, build_report
    from cds_service.analytics.routes import report_link
    from cds_service.storage.store import Storage

    env = dict(os.environ if environ is None else environ)
    try:
        since, until = _period(args, today())
        # A reporting command: the client-authentication settings only the hook service needs are not
        # required here (the link secret and public URL still are, for --link).
        settings = Settings.from_env({**env, PREFIX + "AUTH": "off"})
        if args.link:
            if not settings.public_url:
                raise SettingsError(f"--link needs {PREFIX}PUBLIC_URL (the address the lead opens)")
            print(report_link(settings, since, until))
            return EXIT_OK
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            # Never create an empty database by reading from one that is not there.
            raise SettingsError(f"no database at {url.database} ({PREFIX}DATABASE_URL)")
        storage = Storage(settings.database_url)
    except (SettingsError, ValueError, OSError) as exc:
        print(f"her2-cds feedback-report: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        report = build_report(storage.engine, Period.from_dates(since, until))
        formats = {"table": render.to_table, "csv": render.to_csv, "json": render.to_json}
        sys.stdout.write(formats[args.format](report))
        if args.png is not None:
            args.png.write_bytes(render.to_png(report))
        if args.measure_report is not None:
            args.measure_report.write_text(json.dumps(measure_report(report), indent=2) + "\n", "utf-8")
    except (SQLAlchemyError, OSError) as exc:  # an unmigrated or unreachable database, an unwritable path
        print(f"her2-cds feedback-report: cannot make the report: {type(exc).__name__}", file=sys.stderr)
        return EXIT_UNUSABLE
    finally:
        storage.dispose()
    return EXIT_OK
