"""The command line logs as the service does: JSON lines on stderr with the same redaction, at
``HER2CDS_LOG_LEVEL``; ``receive`` and ``sync`` say what they do, without patient data."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cds_service.cli import EXIT_BROKEN_PIPE, receive, sync
from cds_service.storage.store import Storage
from connectors.dicom.ports import SeriesRef
from tests.conftest import free_port

MRN = "MRN-SECRET-77"


@pytest.fixture
def empty_dicomweb() -> Iterator[tuple[str, list[str]]]:
    """A DICOMweb service on loopback that finds nothing (QIDO-RS answers ``[]``)."""
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web", paths
    server.shutdown()
    server.server_close()


def test_command_logs_are_json_lines_on_stderr_and_redacted(
    empty_dicomweb: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, paths = empty_dicomweb
    env = {**os.environ, "HER2CDS_LOG_LEVEL": "DEBUG", "HER2CDS_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "cds_service.cli", "pet", "analyze", "--dicomweb", url, "--patient", MRN],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"series": []}
    assert any(MRN in p for p in paths)  # the PACS was asked for the patient: the request line held the id
    *records, last = done.stderr.strip().splitlines()
    assert last.startswith("her2-cds pet analyze: no PT series matched: ")  # the command's own message
    lines = [json.loads(line) for line in records]  # every log line is one JSON object
    assert all({"timestamp", "level", "logger", "event"} <= set(line) for line in lines)
    requests_logged = [line for line in lines if line["logger"].startswith("urllib3")]
    assert any("PatientID=[REDACTED]" in line["event"] for line in requests_logged), requests_logged
    assert MRN not in "\n".join(records)


def test_a_bad_log_level_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    from cds_service.cli import main

    os.environ["HER2CDS_LOG_LEVEL"] = "LOUD"
    try:
        assert main(["rules-doc"]) == 2
    finally:
        del os.environ["HER2CDS_LOG_LEVEL"]
    assert capsys.readouterr().err.strip().splitlines() == [
        "her2-cds rules-doc: configuration error: HER2CDS_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or "
        "CRITICAL"
    ]


def test_receive_says_where_it_listens_and_stores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("HER2CDS_DICOM_SOURCE", raising=False)
    storage = Storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    storage.migrate()
    port = free_port()
    parser = argparse.ArgumentParser()
    receive.register(parser.add_subparsers())
    args = parser.parse_args(["receive", "--ae-title", "HER2RX", "--port", str(port)])
    stop = threading.Event()
    stop.set()  # start, say so, stop
    caplog.set_level(logging.INFO, logger="cds_service.cli.receive")
    try:
        assert receive.serve(args, stop, storage) == 0
    finally:
        storage.dispose()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("listening on")]
    assert f"listening on 127.0.0.1:{port} (AE title HER2RX)" in line
    assert f"storing into {tmp_path / 'data' / 'dicom'}" in line  # HER2CDS_DATA_DIR, not ./.var
    assert "analyses into sqlite:///" in line
    assert (tmp_path / "data" / "dicom").is_dir()


def test_receive_stores_into_the_folder_the_service_reads(tmp_path: Path) -> None:
    from cds_service.settings import receiver_dicom_dir

    folder = tmp_path / "pacs in"
    assert receiver_dicom_dir({"HER2CDS_DICOM_SOURCE": folder.as_uri()}) == folder
    assert receiver_dicom_dir({"HER2CDS_DATA_DIR": str(tmp_path)}) == tmp_path / "dicom"


def test_database_password_is_never_in_the_start_lines() -> None:
    label = receive.database_label("postgresql+psycopg://cds:s3cret-pw@db.hospital:5432/her2cds")
    assert "s3cret-pw" not in label
    assert label.startswith("postgresql+psycopg://cds:***@db.hospital:5432/her2cds")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_terminal_has_counts_and_the_time_left() -> None:
    out, err, clock = io.StringIO(), Tty(), Ticks()
    progress = sync.Progress(out, 4, err=err, clock=clock)
    for outcome, uid in (("stored", "1.2.3"), ("skipped", "1.2.4")):
        clock.now += 10.0
        progress.step(outcome, SeriesRef(study_uid="1.2", series_uid=uid, patient_id="PAT-SECRET"))
    assert err.getvalue().endswith("2/4 series (1 skipped, 1 stored), about 20 s left")
    assert out.getvalue().splitlines() == ["stored 1.2.3", "skipped 1.2.4"]  # a line per series
    for uid in ("1.2.5", "1.2.6"):
        clock.now += 100.0
        progress.step("stored", SeriesRef(study_uid="1.2", series_uid=uid, patient_id="PAT-SECRET"))
    assert err.getvalue().endswith("4/4 series (1 skipped, 3 stored)\n")
    assert "PAT-SECRET" not in out.getvalue() + err.getvalue()


def test_progress_elsewhere_is_a_periodic_log_line(caplog: pytest.LogCaptureFixture) -> None:
    out, err, clock = io.StringIO(), io.StringIO(), Ticks()
    progress = sync.Progress(out, 10, err=err, clock=clock)
    caplog.set_level(logging.INFO, logger="cds_service.cli.sync")
    for i in range(9):
        clock.now += 10.0  # a line every PROGRESS_EVERY_S (30 s): after series 3, 6 and 9
        progress.step("stored", SeriesRef(study_uid="1.2", series_uid=f"1.2.{i}", patient_id="PAT-SECRET"))
    lines = [r.getMessage() for r in caplog.records if r.name == "cds_service.cli.sync"]
    assert lines == [
        "sync progress: 3/10 series (3 stored), about 1 min 10 s left",
        "sync progress: 6/10 series (6 stored), about 40 s left",
        "sync progress: 9/10 series (9 stored), about 10 s left",
    ]
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    "command",
    [
        ["alerts", "sync", "--once"],
        ["alerts", "deliver", "--once"],
        ["sync", "--once"],
        ["receive", "--ae-title", "HER2CDS", "--port", "0"],
        ["migrate"],
    ],
    ids=lambda c: "-".join(c[:2]),
)
def test_an_unusable_data_directory_is_one_line_and_exit_2(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cds_service.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for name in ("HER2CDS_DATABASE_URL", "HER2CDS_DICOM_SOURCE", "HER2CDS_ALERTS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(blocker / "data"))  # under a file: cannot be created
    assert main(command) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "HER2CDS_DATA_DIR" in err or str(blocker) in err
    assert "Traceback" not in err


def test_the_wsgi_entry_point_reports_a_configuration_error_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HER2CDS_")}
    env |= {"HER2CDS_AUTH": "jwt", "HER2CDS_DATA_DIR": str(tmp_path)}  # jwt without a public URL
    done = subprocess.run(
        [sys.executable, "-c", "import cds_service.wsgi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "her2-cds: configuration error: HER2CDS_PUBLIC_URL is required when HER2CDS_AUTH=jwt (JWT aud is "
        "built from it)"
    ]


def test_a_closed_output_pipe_ends_the_command_quietly() -> None:
    # "her2-cds rules-doc | head -1": the reader goes away; the command stops with the shell's SIGPIPE status
    # and no traceback on standard error.
    proc = subprocess.Popen(
        [sys.executable, "-m", "cds_service.cli", "rules-doc"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert "Traceback" not in stderr
