"""``her2-cds sync``: polls the embedded folder into the series index, analyses new HER2 PET series once,
records non-HER2 series, records the source's state, rides out outages in loop mode and fails with status 2
on ``--once``."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from cds_service.cli import sync
from cds_service.pet.jobs import stored_document
from cds_service.storage.series_index import SeriesIndex, SeriesTriage
from cds_service.storage.store import AnalysisStatus, Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom, write_phantom
from connectors.dicom.ports import SeriesRef
from tests.unit.cds_service.test_pet_jobs import CountingSource, DownSource

SPEC = PhantomSpec(with_sr=True, patient_id="SYNC-1", seed="sync-1")
SINCE = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
NAME = "test://sync-source"


def _once(source: object, storage: Storage) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = sync.sync_loop(
        source,  # type: ignore[arg-type]
        storage,
        name=NAME,
        once=True,
        interval_s=1.0,
        since=SINCE,
        stop=threading.Event(),
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def test_sync_stores_her2_series_once_and_skips_fdg(tmp_path: Path, storage: Storage) -> None:
    write_phantom(tmp_path / "dicom" / "her2", SPEC)
    fdg = replace(SPEC, variant=PhantomVariant.FDG, with_sr=False, seed="sync-fdg")
    write_phantom(tmp_path / "dicom" / "fdg", fdg)
    source = CountingSource(FilePetSource(tmp_path / "dicom"))
    code, out, err = _once(source, storage)
    assert (code, err) == (0, "")
    her2_uid = make_phantom(SPEC).pet[0].SeriesInstanceUID
    fdg_uid = make_phantom(fdg).pet[0].SeriesInstanceUID
    assert f"stored {her2_uid}: 89Zr-trastuzumab, 3 lesion(s)" in out  # plain lines: not a terminal
    assert f"skipped {fdg_uid}" in out
    assert "sync: 2 PT series: 1 skipped, 1 stored" in out
    assert "SYNC-1" not in out  # no patient data in the output
    record = storage.get_analysis(her2_uid)
    assert record is not None
    assert record.status is AnalysisStatus.DONE
    assert record.patient_id == "SYNC-1"
    document = stored_document(record)
    assert document is not None
    assert document.facts is not None
    assert document.picture
    assert storage.get_picture(her2_uid) is not None
    assert source.analyses == 1
    index = SeriesIndex(storage)
    rows = index.of_source(NAME)
    assert rows[her2_uid].triage is SeriesTriage.HER2
    assert rows[fdg_uid].triage is SeriesTriage.OTHER
    state = index.state(NAME)
    assert state is not None
    assert state.last_success_at is not None
    assert not state.failed
    code, out, _ = _once(source, storage)
    assert "sync: 2 PT series: 2 current" in out
    assert (source.analyses, source.triages) == (1, 2)  # each series triaged once, analysed once


def test_once_with_source_down_exits_2_and_records_the_outage(storage: Storage) -> None:
    code, _, err = _once(DownSource(), storage)
    assert code == sync.EXIT_UNUSABLE
    assert "DICOM source unavailable" in err
    state = SeriesIndex(storage).state(NAME)
    assert state is not None
    assert state.failed
    assert "connection refused" in (state.failure_reason or "")


def test_loop_rides_out_an_outage_until_stopped(storage: Storage) -> None:
    stop = threading.Event()
    out, err = io.StringIO(), io.StringIO()
    polls = 0

    def clock() -> dt.datetime:
        nonlocal polls
        polls += 1
        if polls >= 3:
            stop.set()
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    code = sync.sync_loop(
        DownSource(),
        storage,
        name=NAME,
        once=False,
        interval_s=0.01,
        since=SINCE,
        stop=stop,
        out=out,
        err=err,
        clock=clock,
    )
    assert code == sync.EXIT_OK
    assert err.getvalue().count("DICOM source unavailable") == 3


def test_progress_bar_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    progress = sync.Progress(out, 2)
    series = SeriesRef(study_uid="1.2", series_uid="1.2.3")
    progress.step("stored", series)
    progress.step("stored", series)
    assert out.getvalue().endswith("] 2/2 series (2 stored)\n")
    assert "1.2.3" not in out.getvalue()


def test_command_line_parses_and_refuses_a_bad_interval(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    sync.register(parser.add_subparsers())
    args = parser.parse_args(["sync", "--once", "--interval", "0", "--since", "2024-01-31"])
    assert args.since == dt.date(2024, 1, 31)
    assert sync.run(args) == sync.EXIT_UNUSABLE
    assert "--interval" in capsys.readouterr().err
