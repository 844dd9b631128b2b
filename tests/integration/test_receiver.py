"""The C-STORE receiver fed by dcmtk's storescu: instances filed, the series reported once idle, analysed."""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from cds_service.cli import receive as receive_command
from cds_service.pet.jobs import stored_document
from cds_service.storage.series_index import SeriesIndex, SeriesTriage
from cds_service.storage.store import AnalysisStatus, Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.phantom import PhantomSeries, PhantomSpec, make_phantom, write_phantom
from connectors.dicom.ports import SeriesRef
from connectors.dicom.receiver import Receiver
from tests.conftest import free_port, require_binary

pytestmark = pytest.mark.integration

SPEC = PhantomSpec(with_sr=True, with_seg=True, patient_id="IT-RECEIVER")


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhantomSeries, list[Path]]:
    folder = tmp_path_factory.mktemp("phantom")
    return make_phantom(SPEC), write_phantom(folder, SPEC)


def _storescu(port: int, files: list[Path], called: str = "HER2CDS") -> subprocess.CompletedProcess[str]:
    binary = require_binary("storescu")
    # -R: propose only the SOP classes of the files (the default list lacks SEG and 3D SR)
    command = [binary, "-R", "-aet", "MODALITY", "-aec", called, "127.0.0.1", str(port), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_storescu_series_is_stored_reported_once_and_analysed(
    tmp_path: Path, phantom_files: tuple[PhantomSeries, list[Path]]
) -> None:
    phantom, files = phantom_files
    store = FilePetSource(tmp_path / "store", create=True)
    completed: list[SeriesRef] = []
    done = threading.Event()

    def on_complete(ref: SeriesRef) -> None:
        completed.append(ref)
        done.set()

    port = free_port()
    with Receiver(store, "HER2CDS", port, idle_timeout_s=0.5, on_series_complete=on_complete) as receiver:
        result = _storescu(port, files)
        assert result.returncode == 0, result.stderr
        assert done.wait(10)
        time.sleep(1.0)  # a second report would arrive within this time
        assert receiver.stored == len(files)
    assert [ref.series_uid for ref in completed] == [phantom.pet[0].SeriesInstanceUID]
    ref = completed[0]
    assert ref.instance_count == len(phantom.pet)
    assert ref.related_sr == (phantom.sr[0].SeriesInstanceUID,)
    assert ref.related_seg == (phantom.seg[0].SeriesInstanceUID,)

    analysis = store.analyse(ref)
    assert analysis.error is None
    assert analysis.suvbw_max == pytest.approx(phantom.expected.suvbw_max, rel=1e-3)
    assert {lesion.origin.value for lesion in analysis.lesions} == {"sr"}


def test_late_report_re_arms_the_series(
    tmp_path: Path, phantom_files: tuple[PhantomSeries, list[Path]]
) -> None:
    phantom, files = phantom_files
    pet_files = [f for f in files if f.name.startswith("pt_")]
    sr_files = [f for f in files if f.name.startswith("sr_")]
    store = FilePetSource(tmp_path / "store", create=True)
    completed: list[SeriesRef] = []
    port = free_port()
    with Receiver(store, "HER2CDS", port, idle_timeout_s=0.3, on_series_complete=completed.append):
        assert _storescu(port, pet_files).returncode == 0
        deadline = time.monotonic() + 10
        while not completed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert completed[0].related_sr == ()
        assert _storescu(port, sr_files).returncode == 0
        while len(completed) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(completed) == 2
    assert completed[1].related_sr == (phantom.sr[0].SeriesInstanceUID,)


def test_wrong_called_aet_is_refused_and_nothing_stored(
    tmp_path: Path, phantom_files: tuple[PhantomSeries, list[Path]]
) -> None:
    _, files = phantom_files
    store = FilePetSource(tmp_path / "store", create=True)
    port = free_port()
    with Receiver(store, "HER2CDS", port, idle_timeout_s=0.3) as receiver:
        receiver._ae.require_called_aet = True
        result = _storescu(port, files[:1], called="SOMEONE")
        assert result.returncode != 0
        assert receiver.stored == 0


def test_receive_command_prints_one_json_line_per_series(
    tmp_path: Path,
    phantom_files: tuple[PhantomSeries, list[Path]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phantom, files = phantom_files
    monkeypatch.setenv("HER2CDS_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("HER2CDS_DATABASE_URL", raising=False)
    parser = argparse.ArgumentParser()
    receive_command.register(parser.add_subparsers())
    port = free_port()
    args = parser.parse_args(
        [
            "receive",
            "--ae-title",
            "HER2CDS",
            "--port",
            str(port),
            "--dicom-dir",
            str(tmp_path / "d"),
            "--idle-timeout",
            "0.3",
        ]
    )
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(receive_command.serve(args, stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        result = _storescu(port, files)
        while result.returncode != 0 and time.monotonic() < deadline:  # the listener may still be starting
            time.sleep(0.1)
            result = _storescu(port, files)
        assert result.returncode == 0, result.stderr
        out = ""
        deadline = time.monotonic() + 15
        while '"seriesInstanceUid"' not in out and time.monotonic() < deadline:
            time.sleep(0.1)
            out += capsys.readouterr().out
    finally:
        stop.set()
        thread.join(timeout=15)
    assert codes == [0]
    (line,) = [json.loads(text) for text in out.splitlines() if text.strip()]
    assert line["seriesInstanceUid"] == phantom.pet[0].SeriesInstanceUID
    assert line["suvbwMax"] == pytest.approx(phantom.expected.suvbw_max, rel=1e-3)
    assert line["error"] is None
    assert "patientId" not in line
    assert SPEC.patient_id not in out  # standard output goes to container logs: no patient data
    # the analysis and its picture are in the service database, keyed by SeriesInstanceUID
    storage = Storage(f"sqlite:///{tmp_path / 'state' / 'her2cds.db'}")
    record = storage.get_analysis(phantom.pet[0].SeriesInstanceUID)
    assert record is not None
    assert record.status is AnalysisStatus.DONE
    document = stored_document(record)
    assert document is not None
    assert document.facts is not None
    assert document.facts.tracer.value == "89Zr-trastuzumab"
    assert len(document.facts.lesions) == len(phantom.expected.lesions)
    png = storage.get_picture(phantom.pet[0].SeriesInstanceUID)
    assert png is not None
    assert png.startswith(b"\x89PNG")
    # and the series is in the PET series index, under the receiver's folder, for the hook to find
    (entry,) = SeriesIndex(storage).find(patient_ids=[SPEC.patient_id])
    assert entry.series.series_uid == phantom.pet[0].SeriesInstanceUID
    assert entry.series.triage is SeriesTriage.HER2
    assert entry.series.source == (tmp_path / "d").absolute().as_uri()
    assert entry.series.related_sr == (phantom.sr[0].SeriesInstanceUID,)
    storage.dispose()
