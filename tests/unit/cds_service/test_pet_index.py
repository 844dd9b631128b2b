"""The PET series index ahead of the hook: index rows and source states in storage, the index passes over a
folder and over a polling PACS, the service's background indexer, and the first hook after a start."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cds_service import PET_EXTENSION_KEY
from cds_service.pet.index import (
    EPOCH,
    WATERMARK_OVERLAP,
    BackgroundIndexer,
    PetIndexer,
    series_ref,
    source_key,
)
from cds_service.pet.jobs import analysis_version
from cds_service.storage.series_index import IndexedSeries, SeriesIndex, SeriesTriage, SourceState
from cds_service.storage.store import AnalysisStatus, Storage
from connectors.dicom.analysis import SeriesAnalysis
from connectors.dicom.files import FilePetSource
from connectors.dicom.headers import TracerRecognition
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom, write_phantom
from connectors.dicom.ports import SeriesRef
from connectors.errors import SourceUnavailableError
from rules.domain import Tracer
from tests.unit.cds_service.cds_support import check_service_response, hook_request, make_app
from tests.unit.cds_service.test_pet_cards import chart, topics
from tests.unit.cds_service.test_pet_jobs import WAIT_S, CountingSource

NAME = "test://index"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SPEC = PhantomSpec(with_sr=True, patient_id="demo-her2-low", seed="pet-index-1")
PV = "/cds-services/her2-pet-review"


def _row(uid: str = "1.2.3.4", **kw: Any) -> IndexedSeries:
    values: dict[str, Any] = {
        "series_uid": uid,
        "study_uid": "1.2.3",
        "source": NAME,
        "patient_id": "P1",
        "series_date": dt.date(2025, 5, 25),
        "series_time": dt.time(9, 30),
        "triage": SeriesTriage.HER2,
        "tracer": Tracer.ZR89_TRASTUZUMAB,
    }
    values.update(kw)
    return IndexedSeries(**values)


# -- storage ----------------------------------------------------------------------------------------------


def test_rows_round_trip_and_find_joins_the_stored_analysis(storage: Storage) -> None:
    index = SeriesIndex(storage)
    her2 = _row(related_sr=("1.2.3.9",), instance_count=40, issuer_of_patient_id="HOSP")
    other = _row("1.2.3.5", patient_id="P2", triage=SeriesTriage.OTHER, tracer=None, triage_note="FDG")
    index.upsert([her2, other])
    assert index.of_source(NAME) == {her2.series_uid: her2, other.series_uid: other}
    assert "P1" not in repr(her2)  # the DICOM PatientID is never in a log line by accident
    storage.claim_analysis(her2.series_uid, "w1", 300, analysis_version="v1")
    (entry,) = index.find(patient_ids=["P1"])
    assert entry.series == her2
    assert entry.analysis is not None
    assert entry.analysis.status is AnalysisStatus.RUNNING
    (by_patient,) = index.find(patient_ids=["P2"])
    assert by_patient.series == other
    assert by_patient.analysis is None
    assert len(index.find(study_uids=["1.2.3"])) == 2
    assert index.find() == ()
    assert index.remove([other.series_uid]) == 1
    assert set(index.of_source(NAME)) == {her2.series_uid}


def test_index_row_invariants() -> None:
    with pytest.raises(ValueError, match="tracer"):
        _row(tracer=None)
    with pytest.raises(ValueError, match="tracer"):
        _row(triage=SeriesTriage.OTHER)
    with pytest.raises(ValueError, match="source"):
        _row(source="")


def test_source_state_failed_and_stale(storage: Storage) -> None:
    clock = [T0]
    index = SeriesIndex(storage, clock=lambda: clock[0])
    assert index.state(NAME) is None
    index.record_failure(NAME, "SourceUnavailableError:   connection\n refused")
    state = index.state(NAME)
    assert state is not None
    assert state.failed
    assert state.failure_reason == "SourceUnavailableError: connection refused"
    clock[0] = T0 + dt.timedelta(seconds=30)
    index.record_success(NAME, started_at=T0 + dt.timedelta(seconds=29))
    state = index.state(NAME)
    assert state is not None
    assert not state.failed
    assert state.watermark == T0 + dt.timedelta(seconds=29)
    assert not state.stale(T0 + dt.timedelta(seconds=60), max_age_s=900)
    assert state.stale(T0 + dt.timedelta(seconds=931), max_age_s=900)
    assert SourceState(source=NAME).stale(T0, max_age_s=900)  # never updated


@pytest.mark.parametrize(
    ("url", "key"),
    [
        pytest.param("file:///var/dicom/", "file:///var/dicom", id="folder"),
        pytest.param(
            "https://u:secret@PACS.example:8443/dicom-web/?x=1",
            "https://pacs.example:8443/dicom-web",
            id="web",
        ),
        pytest.param("dimse://ORTHANC@10.0.0.5:4242", "dimse://ORTHANC@10.0.0.5:4242", id="dimse"),
    ],
)
def test_source_keys_carry_no_credentials(url: str, key: str) -> None:
    assert source_key(url) == key


# -- passes -----------------------------------------------------------------------------------------------


class PollingSource(CountingSource):
    """A PACS that can list studies since a date; records each ``since`` it was asked."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.asked: list[dt.datetime] = []

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        self.asked.append(since)
        return self.inner.find_pet_series()


def test_a_polling_pass_starts_from_the_watermark(tmp_path: Path, storage: Storage) -> None:
    write_phantom(tmp_path / "dicom" / "a", SPEC)
    source = PollingSource(FilePetSource(tmp_path / "dicom", create=True))
    clock = [T0]
    indexer = PetIndexer(source, SeriesIndex(storage), name=NAME, clock=lambda: clock[0])
    first = indexer.run_pass()
    assert first.backfill
    assert [row.triage for row in first.new] == [SeriesTriage.HER2]
    clock[0] = T0 + dt.timedelta(hours=1)
    second = indexer.run_pass()
    assert not second.backfill
    assert second.new == ()  # listed again, unchanged: nothing written, nothing to analyse
    assert len(second.listed) == 1
    assert source.asked == [EPOCH, T0 - WATERMARK_OVERLAP]
    assert source.triages == 1


def test_a_folder_pass_indexes_settled_series_and_forgets_vanished_ones(
    tmp_path: Path, storage: Storage
) -> None:
    write_phantom(tmp_path / "dicom" / "a", SPEC)
    index = SeriesIndex(storage)
    settle_s = 0.2
    indexer = PetIndexer(FilePetSource(tmp_path / "dicom", create=True), index, name=NAME, settle_s=settle_s)
    assert len(indexer.run_pass().new) == 1  # first pass of a process: everything there is taken
    assert indexer.run_pass().listed == ()  # nothing changed: not even listed
    fdg = replace(SPEC, variant=PhantomVariant.FDG, with_sr=False, seed="pet-index-fdg")
    write_phantom(tmp_path / "dicom" / "b", fdg)
    assert indexer.run_pass().new == ()  # just seen: may still be being copied
    time.sleep(settle_s * 1.5)
    (written,) = indexer.run_pass().new  # the same listing after the settling time
    assert written.series_uid == make_phantom(fdg).pet[0].SeriesInstanceUID
    assert written.triage is SeriesTriage.OTHER
    for path in (tmp_path / "dicom" / "b").iterdir():
        path.unlink()
    assert indexer.run_pass().removed == 1
    assert set(index.of_source(NAME)) == {make_phantom(SPEC).pet[0].SeriesInstanceUID}


class FailingFor(CountingSource):
    """Triage fails with an outage for one series."""

    def __init__(self, inner: Any, series_uid: str) -> None:
        super().__init__(inner)
        self.series_uid = series_uid

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        if ref.series_uid == self.series_uid:
            raise SourceUnavailableError("PACS went away")
        return super().triage(ref)


def test_an_outage_mid_pass_keeps_what_was_triaged_and_records_the_failure(
    tmp_path: Path, storage: Storage
) -> None:
    earlier = replace(SPEC, seed="pet-index-one", injected_at=dt.datetime(2023, 1, 2, 9))
    later = replace(SPEC, seed="pet-index-two", injected_at=dt.datetime(2024, 1, 2, 9))
    write_phantom(tmp_path / "dicom" / "one", earlier)
    write_phantom(tmp_path / "dicom" / "two", later)
    index = SeriesIndex(storage)
    failing = FailingFor(FilePetSource(tmp_path / "dicom"), make_phantom(later).pet[0].SeriesInstanceUID)
    with pytest.raises(SourceUnavailableError):
        PetIndexer(failing, index, name=NAME).run_pass()
    assert set(index.of_source(NAME)) == {make_phantom(earlier).pet[0].SeriesInstanceUID}
    state = index.state(NAME)
    assert state is not None
    assert state.failed
    PetIndexer(CountingSource(FilePetSource(tmp_path / "dicom")), index, name=NAME).run_pass()
    assert len(index.of_source(NAME)) == 2
    state = index.state(NAME)
    assert state is not None
    assert not state.failed


class NoAnalysis:
    """A port whose analyses must never be asked for (the index has what the test needs)."""

    def __init__(self, inner: FilePetSource) -> None:
        self.inner = inner

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        return self.inner.find_pet_series(patient_id=patient_id, study_uid=study_uid)

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        return self.inner.triage(ref)

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        raise AssertionError("not expected")


def test_background_indexer_hands_over_new_series_after_the_backfill(
    tmp_path: Path, storage: Storage
) -> None:
    write_phantom(tmp_path / "dicom" / "a", SPEC)
    handed: list[IndexedSeries] = []
    arrived = threading.Event()

    def on_new(row: IndexedSeries) -> None:
        handed.append(row)
        arrived.set()

    source = NoAnalysis(FilePetSource(tmp_path / "dicom", create=True))
    indexer = BackgroundIndexer(
        PetIndexer(source, SeriesIndex(storage), name=NAME, settle_s=0.2),
        interval_s=0.05,
        on_new=on_new,
    )
    assert not indexer.ready
    indexer.start()
    try:
        assert indexer.wait_first_pass(WAIT_S)
        assert indexer.ready
        newer = replace(SPEC, seed="pet-index-later", injected_at=dt.datetime(2024, 9, 1, 9))
        write_phantom(tmp_path / "staging", newer)
        (tmp_path / "staging").rename(tmp_path / "dicom" / "later")  # arrives whole
        assert arrived.wait(WAIT_S)
    finally:
        indexer.stop()
    assert [row.series_uid for row in handed] == [make_phantom(newer).pet[0].SeriesInstanceUID]


def test_processes_sharing_a_database_share_the_passes(tmp_path: Path, storage: Storage) -> None:
    """Two workers (own indexers, one database): one runs the first pass, both are ready after it."""
    write_phantom(tmp_path / "dicom" / "a", SPEC)
    sources = [CountingSource(FilePetSource(tmp_path / "dicom")) for _ in range(2)]
    indexers = [
        BackgroundIndexer(PetIndexer(source, SeriesIndex(storage), name=NAME), interval_s=600.0)
        for source in sources
    ]
    for indexer in indexers:
        indexer.start()
    try:
        assert all(indexer.wait_first_pass(WAIT_S) for indexer in indexers)
    finally:
        for indexer in indexers:
            indexer.stop()
    assert sorted(source.triages for source in sources) == [0, 1]  # one pass, by one of them
    assert len(SeriesIndex(storage).of_source(NAME)) == 1


def test_a_dropped_background_indexer_stops_its_loop(tmp_path: Path, storage: Storage) -> None:
    indexer = BackgroundIndexer(
        PetIndexer(FilePetSource(tmp_path / "dicom", create=True), SeriesIndex(storage), name=NAME),
        interval_s=0.05,
    )
    indexer.start()
    thread = indexer._thread
    assert thread is not None
    assert indexer.wait_first_pass(WAIT_S)
    del indexer
    import gc

    gc.collect()
    thread.join(WAIT_S)
    assert not thread.is_alive()


# -- the first hook after a start -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "patient_id", ["demo-her2-low", "demo-her2-unscored"], ids=["with-pet", "without-pet"]
)
def test_the_first_hook_after_start_carries_no_data_unavailable_card(tmp_path: Path, patient_id: str) -> None:
    """A fresh database and a folder the service has never seen: the first hook comes right after
    ``create_app``, with no warm-up, and must say what is true (a pending analysis, or no PET at all)."""
    write_phantom(tmp_path / "dicom" / "pet", SPEC)
    app = make_app(tmp_path, dicom_source=(tmp_path / "dicom").as_uri())
    try:
        client = app.test_client()
        body = client.post(
            PV, json=hook_request(patient_id=patient_id, prefetch=chart(patient_id))
        ).get_json()
        check_service_response(body)
        assert "data-unavailable" not in topics(body)
        assert "PET index" not in str(body)  # indexed before the app answered: not stale either
        if patient_id == "demo-her2-low":
            assert topics(body) == ["her2-low-no-pet", "pet-analysis-pending"]
        else:
            assert topics(body) == ["her2-unscored-negative"]
        ready = client.get("/readyz").get_json()
        assert ready == {"status": "ready", "database": "ok", "pet_index": "ok"}
    finally:
        app.extensions[PET_EXTENSION_KEY].shutdown()


def test_a_new_series_in_the_folder_is_indexed_and_analysed_ahead(tmp_path: Path) -> None:
    (tmp_path / "dicom").mkdir()
    app = make_app(tmp_path, dicom_source=(tmp_path / "dicom").as_uri(), pet_scan_interval_s=0.1)
    storage = Storage(f"sqlite:///{tmp_path / 'cds.sqlite'}")
    try:
        write_phantom(tmp_path / "staging", SPEC)
        (tmp_path / "staging").rename(tmp_path / "dicom" / "pet")  # arrives after the start: not a backfill
        ref = FilePetSource(tmp_path / "dicom").find_pet_series()[0]
        deadline = time.monotonic() + WAIT_S
        record = None
        while time.monotonic() < deadline:
            record = storage.get_analysis(ref.series_uid)
            if record is not None and record.status is AnalysisStatus.DONE:
                break
            time.sleep(0.1)
        assert record is not None
        assert record.analysis_version == analysis_version(ref)
        (row,) = SeriesIndex(storage).of_source(source_key((tmp_path / "dicom").as_uri())).values()
        assert series_ref(row) == replace(ref, description=None)
        body = app.test_client().post(
            PV, json=hook_request(patient_id=SPEC.patient_id, prefetch=chart(SPEC.patient_id))
        )
        assert topics(body.get_json())[0] == "her2-low-pet-avid"  # no hook ever asked: analysed ahead
    finally:
        app.extensions[PET_EXTENSION_KEY].shutdown()
        storage.dispose()
