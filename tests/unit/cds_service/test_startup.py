"""Start-up: configuration errors are one line and exit status 2; metrics and access logs of the container."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from cds_service.cli import main
from cds_service.cli.serve import clear_multiprocess_dir
from cds_service.gunicorn_conf import loggable_path
from cds_service.observability import Metrics, UpstreamTarget, render_metrics
from cds_service.pet.metrics import timed_source
from connectors.dicom.ports import PollingPetStudySource, SeriesRef
from connectors.errors import NotFoundError, SourceUnavailableError


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("HER2CDS_") and n != "HER2CDS_TESTDATA"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HER2CDS_PUBLIC_URL", "https://cds.example.org")
    monkeypatch.setenv("HER2CDS_LINK_SECRET", "k" * 43)
    return tmp_path


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_serve_refuses_an_empty_trust_list(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clients = environment / "clients.json"
    clients.write_text("[]")
    monkeypatch.setenv("HER2CDS_TRUSTED_CLIENTS", str(clients))
    assert main(["serve", "--port", "1"]) == 2
    line = one_error_line(capsys)
    assert line.startswith("her2-cds serve: configuration error: HER2CDS_TRUSTED_CLIENTS:")
    assert "no trusted clients: every call would be refused" in line


def test_serve_refuses_an_unmigrated_database(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HER2CDS_AUTH", "off")
    assert main(["serve", "--port", "1"]) == 2
    assert one_error_line(capsys).endswith("has no schema yet: run `her2-cds migrate` first")
    assert main(["migrate", "--check"]) == 1
    capsys.readouterr()
    assert main(["migrate"]) == 0
    assert "her2-cds migrate:" in capsys.readouterr().out
    assert main(["migrate", "--check"]) == 0


def test_an_unwritable_data_directory_is_one_line(
    environment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = environment / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(blocker / "data"))
    assert main(["migrate"]) == 2
    assert one_error_line(capsys).startswith(
        "her2-cds migrate: configuration error: HER2CDS_DATA_DIR: cannot create"
    )


def test_multiprocess_directory_is_emptied_before_workers_start(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not a metrics file")
    clear_multiprocess_dir(tmp_path)
    clear_multiprocess_dir(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/cds-services/her2-pet-review", "/cds-services/her2-pet-review"),
        ("/evidence/AbC123-_x", "/evidence/[REDACTED]"),
        ("/evidence/AbC123-_x/mip.png", "/evidence/[REDACTED]/mip.png"),
        ("/readyz?probe=1", "/readyz"),
    ],
)
def test_access_log_path_hides_capabilities_and_queries(path: str, logged: str) -> None:
    assert loggable_path(path) == logged


class _Source:
    def __init__(self) -> None:
        self.calls = 0

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        self.calls += 1
        raise SourceUnavailableError("PACS timed out")

    def analyse(self, ref: SeriesRef) -> object:
        raise NotFoundError("gone")

    def triage(self, ref: SeriesRef) -> object:
        return "not HER2"


class _PollingSource(_Source):
    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        return []


def _samples(registry: CollectorRegistry) -> dict[str, float]:
    body = render_metrics(registry=registry)[0].decode()
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line.startswith("her2cds_upstream") and not line.startswith("#")
    }


def test_pacs_calls_are_timed_and_outages_counted() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    inner = _Source()
    source = timed_source(inner, UpstreamTarget.DIMSE, metrics)  # type: ignore[arg-type]
    assert not isinstance(source, PollingPetStudySource)
    with pytest.raises(SourceUnavailableError):
        source.find_pet_series("P1")
    ref = SeriesRef(study_uid="1.2.3", series_uid="1.2.3.4", patient_id="P1", modality="PT")
    with pytest.raises(NotFoundError):  # an answer, not an outage
        source.analyse(ref)
    assert source.triage(ref) == "not HER2"  # type: ignore[comparison-overlap]
    samples = _samples(registry)
    assert samples['her2cds_upstream_request_seconds_count{target="dimse"}'] == 3
    assert samples['her2cds_upstream_errors_total{target="dimse"}'] == 1
    assert inner.calls == 1
    polling = timed_source(_PollingSource(), UpstreamTarget.DICOMWEB, metrics)  # type: ignore[arg-type]
    assert isinstance(polling, PollingPetStudySource)
    assert polling.find_new_series(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == []
    assert _samples(registry)['her2cds_upstream_request_seconds_count{target="dicomweb"}'] == 1
