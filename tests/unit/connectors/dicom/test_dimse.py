"""DimsePetSource against an in-process pynetdicom SCP on 127.0.0.1: queries, C-GET, every failure path."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PositronEmissionTomographyImageStorage,
    SegmentationStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from connectors.dicom.dimse import DimsePetSource, MoveDestination
from connectors.dicom.ports import SeriesRef
from connectors.errors import SourceUnavailableError
from connectors.http import Timeouts
from tests.conftest import free_port
from tests.unit.connectors.dicom.builders import SR_SOP, pet_series, seg_header, sr_header

FAST = Timeouts(connect_s=2.0, read_s=0.5)


class FakePacs:
    """A Study Root Find/Get SCP serving a fixed set of instances; ``mode`` injects failures."""

    def __init__(self, instances: list[Dataset]) -> None:
        self.instances = instances
        self.mode = "ok"
        self.queries: list[Dataset] = []
        self.ae = AE(ae_title="FAKEPACS")
        self.ae.require_called_aet = True
        self.ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
        self.ae.add_supported_context(StudyRootQueryRetrieveInformationModelGet)
        for sop in (PositronEmissionTomographyImageStorage, SegmentationStorage, SR_SOP):
            self.ae.add_supported_context(sop, scu_role=True, scp_role=True)
        self.port = free_port()
        handlers = [(evt.EVT_C_FIND, self._find), (evt.EVT_C_GET, self._get)]
        self.server = self.ae.start_server(("127.0.0.1", self.port), block=False, evt_handlers=handlers)

    def _fail(self, event: Any) -> Iterator[tuple[int, Dataset | None]] | None:
        if self.mode == "abort":
            event.assoc.abort()
            return iter(())
        if self.mode == "failure":
            return iter([(0xC000, None)])
        if self.mode == "silent":
            time.sleep(FAST.read_s * 3)
        return None

    def _matches(self, query: Dataset) -> list[Dataset]:
        level = query.QueryRetrieveLevel
        key = {"STUDY": "StudyInstanceUID", "SERIES": "SeriesInstanceUID", "IMAGE": "SOPInstanceUID"}[level]
        rows: dict[str, Dataset] = {}
        for ds in self.instances:
            if any(
                query.get(k) and query.get(k) != ds.get(k) for k in ("StudyInstanceUID", "SeriesInstanceUID")
            ):
                continue
            if level == "STUDY" and query.get("PatientID") and query.PatientID != ds.PatientID:
                continue
            since = str(query.get("StudyDate", "") or "")
            if level == "STUDY" and since.endswith("-") and str(ds.StudyDate) < since[:-1]:
                continue  # a StudyDate range matching key "YYYYMMDD-" (PS3.4 C.2.2.2.5)
            if level == "IMAGE" and query.get("SOPInstanceUID") and query.SOPInstanceUID != ds.SOPInstanceUID:
                continue
            row = Dataset()
            row.QueryRetrieveLevel = level
            for keyword in query.dir():
                if keyword in ds:
                    setattr(row, keyword, ds.get(keyword))
            if level == "SERIES":
                row.NumberOfSeriesRelatedInstances = sum(
                    1 for other in self.instances if other.SeriesInstanceUID == ds.SeriesInstanceUID
                )
            rows.setdefault(str(ds.get(key)), row)
        return list(rows.values())

    def _find(self, event: Any) -> Iterator[tuple[int, Dataset | None]]:
        self.queries.append(event.identifier)
        failed = self._fail(event)
        if failed is not None:
            yield from failed
            return
        for row in self._matches(event.identifier):
            yield 0xFF00, row

    def _get(self, event: Any) -> Iterator[Any]:
        failed = self._fail(event)
        if failed is not None:
            yield 1
            yield from failed
            return
        query = event.identifier
        wanted = [
            ds
            for ds in self.instances
            if ds.SeriesInstanceUID == query.SeriesInstanceUID
            and (not query.get("SOPInstanceUID") or ds.SOPInstanceUID == query.SOPInstanceUID)
        ]
        yield len(wanted)
        for ds in wanted:
            yield 0xFF00, ds

    def source(self, called: str = "FAKEPACS", **kwargs: Any) -> DimsePetSource:
        return DimsePetSource("HER2CDS", called, "127.0.0.1", self.port, FAST, **kwargs)


@pytest.fixture
def study() -> dict[str, Any]:
    pet = pet_series(3, patient="P-7")
    return {"pet": pet, "sr": sr_header(pet[0]), "seg": seg_header(pet[0])}


@pytest.fixture
def pacs(study: dict[str, Any]) -> Iterator[FakePacs]:
    fake = FakePacs([*study["pet"], study["sr"], study["seg"]])
    try:
        yield fake
    finally:
        fake.server.shutdown()


def test_find_lists_pt_series_with_same_study_reports(pacs: FakePacs, study: dict[str, Any]) -> None:
    (ref,) = pacs.source().find_pet_series(patient_id="P-7")
    pet = study["pet"][0]
    study_query = pacs.queries[0]
    assert study_query.QueryRetrieveLevel == "STUDY"
    assert study_query.PatientID == "P-7"
    assert study_query.ModalitiesInStudy == "PT"
    assert pacs.queries[1].QueryRetrieveLevel == "SERIES"
    assert ref.series_uid == pet.SeriesInstanceUID
    assert ref.patient_id == "P-7"
    assert ref.instance_count == 3
    assert ref.related_sr == (study["sr"].SeriesInstanceUID,)
    assert ref.related_seg == (study["seg"].SeriesInstanceUID,)


def test_find_new_series_asks_for_studies_dated_since(pacs: FakePacs, study: dict[str, Any]) -> None:
    source = pacs.source()
    (ref,) = source.find_new_series(dt.datetime(2024, 3, 5, 23, 0, tzinfo=dt.UTC))
    assert ref.series_uid == study["pet"][0].SeriesInstanceUID
    study_query = pacs.queries[0]
    assert study_query.StudyDate == "20240305-"
    assert "IssuerOfPatientID" in study_query  # a return key: the series index keeps it when given
    assert source.find_new_series(dt.datetime(2024, 3, 6, tzinfo=dt.UTC)) == []


def test_c_get_retrieves_full_instances_and_header(pacs: FakePacs, study: dict[str, Any]) -> None:
    source = pacs.source()
    (ref,) = source.find_pet_series(patient_id="P-7")
    instances = source.fetch_series(ref)
    assert [int(ds.InstanceNumber) for ds in instances] == [1, 2, 3]
    assert instances[2].pixel_array[0, 1] == 31
    header = source.fetch_header(ref)
    assert header.SOPInstanceUID == study["pet"][0].SOPInstanceUID
    assert "PixelData" not in header
    srs, segs = source.fetch_related(ref)
    assert [ds.SOPInstanceUID for ds in srs] == [study["sr"].SOPInstanceUID]
    assert [ds.SOPInstanceUID for ds in segs] == [study["seg"].SOPInstanceUID]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        pytest.param("abort", "no valid response", id="aborted-association"),
        pytest.param("failure", "Failure status 0xC000", id="failure-status"),
        pytest.param("silent", "no valid response", id="empty-status-timeout"),
    ],
)
@pytest.mark.parametrize("operation", ["find", "get"])
def test_failures_become_source_unavailable(
    pacs: FakePacs, study: dict[str, Any], mode: str, message: str, operation: str
) -> None:
    source = pacs.source()
    pet = study["pet"][0]
    ref = SeriesRef(study_uid=pet.StudyInstanceUID, series_uid=pet.SeriesInstanceUID)
    call: Callable[[], object] = (
        (lambda: source.find_pet_series(patient_id="P-7"))
        if operation == "find"
        else (lambda: source.fetch_series(ref))
    )
    pacs.mode = mode
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match=message):
        call()
    assert time.monotonic() - started < 5


def test_rejected_association(pacs: FakePacs) -> None:
    with pytest.raises(SourceUnavailableError, match="association rejected"):
        pacs.source(called="WRONGAET").find_pet_series()


def test_nobody_listening() -> None:
    source = DimsePetSource("HER2CDS", "PACS", "127.0.0.1", free_port(), Timeouts(connect_s=0.5, read_s=0.5))
    with pytest.raises(SourceUnavailableError, match="association"):
        source.find_pet_series()


def test_move_destination_port_in_use_is_reported(pacs: FakePacs, study: dict[str, Any]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        source = pacs.source(move_destination=MoveDestination(ae_title="HER2CDS", port=port))
        pet = study["pet"][0]
        with pytest.raises(SourceUnavailableError, match="cannot listen"):
            source.fetch_series(SeriesRef(study_uid=pet.StudyInstanceUID, series_uid=pet.SeriesInstanceUID))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"calling_aet": "A" * 17}, id="aet-too-long"),
        pytest.param({"called_aet": "BAD\\AET"}, id="aet-backslash"),
        pytest.param({"port": 0}, id="port-zero"),
        pytest.param({"retrieve": "move"}, id="move-without-destination"),
    ],
)
def test_invalid_configuration_is_refused(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"calling_aet": "HER2CDS", "called_aet": "PACS", "host": "127.0.0.1", "port": 104}
    with pytest.raises(ValueError, match=r"AE title|port|C-MOVE"):
        DimsePetSource(**{**args, **kwargs})


def test_concurrent_queries_do_not_interfere(pacs: FakePacs) -> None:
    source = pacs.source()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(len(source.find_pet_series()))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1, 1, 1]


def test_pynetdicom_never_logs_identifiers() -> None:
    """C-FIND identifiers carry PatientID and names: pynetdicom's identifier logging is off."""
    import connectors.dicom.dimse
    import connectors.dicom.receiver  # noqa: F401
    from connectors.dicom.dimse_privacy import identifiers_logged

    assert identifiers_logged() is False
