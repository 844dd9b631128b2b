"""DicomwebPetSource against a local HTTP server with recorded responses: the request sent, the result."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from pydicom import Dataset

from connectors.dicom.dicomweb import DicomwebPetSource
from connectors.dicom.factory import auth_from_text, dicomweb_source, pet_source_from_url
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import SeriesRef
from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError
from connectors.http import NO_RETRY, RetryPolicy, Timeouts
from tests.conftest import free_port
from tests.unit.connectors.dicom.builders import pet_series, seg_header, sr_header

BOUNDARY = "recorded-boundary"


@dataclass
class Recorded:
    """Responses by path (status, content type, body) and the requests received."""

    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[dict[str, object]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [str(r["path"]) for r in self.requests]

    def last(self, path_suffix: str) -> dict[str, object]:
        return next(r for r in reversed(self.requests) if str(r["path"]).endswith(path_suffix))


@pytest.fixture
def server() -> Iterator[tuple[str, Recorded]]:
    recorded = Recorded()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            recorded.requests.append(
                {"path": parts.path, "query": parse_qs(parts.query), "headers": dict(self.headers.items())}
            )
            status, content_type, body = recorded.routes.get(parts.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/dicom-web", recorded
    finally:
        httpd.shutdown()
        httpd.server_close()


def _json(items: list[Dataset]) -> tuple[int, str, bytes]:
    return 200, "application/dicom+json", json.dumps([ds.to_json_dict() for ds in items]).encode()


def _multipart(items: list[Dataset]) -> tuple[int, str, bytes]:
    body = BytesIO()
    for ds in items:
        part = BytesIO()
        ds.save_as(part, enforce_file_format=True)
        body.write(f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        body.write(part.getvalue() + b"\r\n")
    body.write(f"--{BOUNDARY}--\r\n".encode())
    return 200, f'multipart/related; type="application/dicom"; boundary={BOUNDARY}', body.getvalue()


def _study_row(pet: Dataset) -> Dataset:
    row = Dataset()
    row.StudyInstanceUID = pet.StudyInstanceUID
    row.PatientID = pet.PatientID
    row.IssuerOfPatientID = "HOSPITAL-A"
    row.ModalitiesInStudy = ["PT", "SEG", "SR"]
    return row


def _instance_row(ds: Dataset) -> Dataset:
    row = Dataset()
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "InstanceNumber"):
        setattr(row, keyword, getattr(ds, keyword))
    return row


def _series_row(ds: Dataset, count: int) -> Dataset:
    row = Dataset()
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesDate", "SeriesTime"):
        setattr(row, keyword, getattr(ds, keyword))
    row.SeriesDescription = ds.get("SeriesDescription", "")
    row.NumberOfSeriesRelatedInstances = count
    return row


@pytest.fixture
def study(server: tuple[str, Recorded]) -> dict[str, object]:
    """A recorded study: a 3-slice PET series, an SR and a SEG referencing it, and a stray SEG."""
    url, recorded = server
    pet = pet_series(3, patient="P-42")
    sr, seg = sr_header(pet[0]), seg_header(pet[0])
    stray = seg_header(pet[0], references=["1.2.3.4.5"])
    st = pet[0].StudyInstanceUID
    root = urlsplit(url).path
    recorded.routes[f"{root}/studies"] = _json([_study_row(pet[0])])
    rows = [_series_row(pet[0], 3), _series_row(sr, 1), _series_row(seg, 1), _series_row(stray, 1)]
    recorded.routes[f"{root}/studies/{st}/series"] = _json(rows)
    for ds in (sr, seg, stray):
        recorded.routes[f"{root}/studies/{st}/series/{ds.SeriesInstanceUID}/metadata"] = _json([ds])
        recorded.routes[f"{root}/studies/{st}/series/{ds.SeriesInstanceUID}"] = _multipart([ds])
    pet_path = f"{root}/studies/{st}/series/{pet[0].SeriesInstanceUID}"
    recorded.routes[pet_path] = _multipart(list(reversed(pet)))
    recorded.routes[pet_path + "/metadata"] = _json(pet)
    recorded.routes[pet_path + "/instances"] = _json([_instance_row(ds) for ds in reversed(pet)])
    for ds in pet:
        recorded.routes[f"{pet_path}/instances/{ds.SOPInstanceUID}/metadata"] = _json([ds])
    return {"pet": pet, "sr": sr, "seg": seg, "stray": stray, "url": url, "recorded": recorded}


def test_find_pet_series_sends_exact_qido_keys_and_reads_references(study: dict) -> None:
    source = dicomweb_source(study["url"], auth=("reader", "s3cret"), retry=NO_RETRY)
    (ref,) = source.find_pet_series(patient_id="P-42")

    pet, recorded = study["pet"], study["recorded"]
    studies = recorded.last("/studies")
    query = dict(studies["query"])
    assert sorted(query.pop("includefield")) == ["IssuerOfPatientID", "PatientID"]  # sent in no fixed order
    assert query == {"ModalitiesInStudy": ["PT"], "PatientID": ["P-42"]}
    headers = studies["headers"]
    assert headers["Accept"].startswith("application/dicom+json")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"reader:s3cret").decode()
    assert headers["Host"] == urlsplit(study["url"]).netloc  # with the port (Orthanc pitfall 1)
    series_query = recorded.last("/series")["query"]
    assert set(series_query["includefield"]) >= {"SeriesDescription", "NumberOfSeriesRelatedInstances"}
    assert not any("*" in v or "%2A" in v for values in series_query.values() for v in values)

    assert ref.series_uid == pet[0].SeriesInstanceUID
    assert ref.patient_id == "P-42"
    assert ref.issuer_of_patient_id == "HOSPITAL-A"
    assert ref.instance_count == 3
    assert ref.description == "PET 89Zr-trastuzumab"
    assert ref.related_sr == (study["sr"].SeriesInstanceUID,)
    # Candidates at search time (no metadata read); the stray SEG is filtered out by fetch_related.
    assert set(ref.related_seg) == {study["seg"].SeriesInstanceUID, study["stray"].SeriesInstanceUID}
    assert not any(path.endswith("/metadata") for path in recorded.paths())


def test_fetch_series_asks_for_uncompressed_instances(study: dict) -> None:
    source = dicomweb_source(study["url"], retry=NO_RETRY)
    pet = study["pet"]
    ref = SeriesRef(study_uid=pet[0].StudyInstanceUID, series_uid=pet[0].SeriesInstanceUID)
    instances = source.fetch_series(ref)
    accept = study["recorded"].last(pet[0].SeriesInstanceUID)["headers"]["Accept"]
    assert accept.startswith('multipart/related; type="application/dicom"')
    assert "transfer-syntax=1.2.840.10008.1.2.1" in accept
    assert [int(ds.InstanceNumber) for ds in instances] == [1, 2, 3]
    assert instances[1].pixel_array[0, 3] == 2 * 10 + 3
    assert "Authorization" not in study["recorded"].last(pet[0].SeriesInstanceUID)["headers"]


def test_fetch_header_reads_metadata_without_pixels(study: dict) -> None:
    source = dicomweb_source(study["url"], auth="tok.en-123", retry=NO_RETRY)
    pet = study["pet"]
    ref = SeriesRef(study_uid=pet[0].StudyInstanceUID, series_uid=pet[0].SeriesInstanceUID)
    header = source.fetch_header(ref)
    search = study["recorded"].last("/instances")
    assert search["query"]["includefield"] == ["InstanceNumber"]
    request = study["recorded"].last("/metadata")
    assert request["path"].endswith(f"/instances/{pet[0].SOPInstanceUID}/metadata")  # the first, one only
    assert not any(
        p.endswith(f"/series/{pet[0].SeriesInstanceUID}/metadata") for p in study["recorded"].paths()
    )
    assert request["headers"]["Authorization"] == "Bearer tok.en-123"
    assert request["headers"]["Accept"].startswith("application/dicom+json")
    assert header.InstanceNumber == 1
    assert header.RadiopharmaceuticalInformationSequence[0].Radiopharmaceutical == "89Zr-trastuzumab"
    assert "PixelData" not in header


def test_fetch_related_returns_referencing_sr_and_seg(study: dict) -> None:
    source = dicomweb_source(study["url"], retry=NO_RETRY)
    (ref,) = source.find_pet_series(study_uid=study["pet"][0].StudyInstanceUID)
    assert study["recorded"].last("/studies")["query"]["StudyInstanceUID"] == [ref.study_uid]
    srs, segs = source.fetch_related(ref)
    assert [ds.SOPInstanceUID for ds in srs] == [study["sr"].SOPInstanceUID]
    assert [ds.SOPInstanceUID for ds in segs] == [study["seg"].SOPInstanceUID]


def test_wildcards_are_refused_before_any_request(study: dict) -> None:
    source = dicomweb_source(study["url"], retry=NO_RETRY)
    with pytest.raises(ValueError, match="exact"):
        source.find_pet_series(patient_id="P*")
    assert study["recorded"].requests == []


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        pytest.param(503, SourceUnavailableError, 3, id="503-retried-then-unavailable"),
        pytest.param(500, SourceUnavailableError, 1, id="500-not-retried"),
        pytest.param(401, SourceUnavailableError, 1, id="401-access-refused"),
        pytest.param(404, NotFoundError, 1, id="404-not-found"),
    ],
)
def test_http_errors_map_to_connector_errors(
    server: tuple[str, Recorded], status: int, error: type[Exception], attempts: int
) -> None:
    url, recorded = server
    path = urlsplit(url).path + "/studies/1.2.3/series/4.5.6"
    recorded.routes[path] = (status, "text/plain", b"boom")
    retry = RetryPolicy(total=2, connect=2, status=2, backoff_factor=0.0)
    source = dicomweb_source(url, retry=retry)
    with pytest.raises(error) as info:
        source.fetch_series(SeriesRef(study_uid="1.2.3", series_uid="4.5.6"))
    assert info.value.__cause__ is not None
    assert info.value.source is not None
    assert info.value.source.reference == "study/1.2.3/series/4.5.6"
    assert recorded.paths().count(path) == attempts


def test_undecodable_json_is_invalid_source_data(server: tuple[str, Recorded]) -> None:
    url, recorded = server
    recorded.routes[urlsplit(url).path + "/studies"] = (200, "application/dicom+json", b"{not json")
    with pytest.raises(InvalidSourceDataError):
        dicomweb_source(url, retry=NO_RETRY).find_pet_series()


def test_unreachable_server_is_unavailable_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}/dicom-web"
    source = dicomweb_source(url, timeouts=Timeouts(connect_s=0.5, read_s=0.5), retry=NO_RETRY)
    with pytest.raises(SourceUnavailableError, match="connection failed"):
        source.find_pet_series(patient_id="P1")


def test_factory_builds_each_transport(tmp_path: object) -> None:
    assert isinstance(pet_source_from_url(f"file://{tmp_path}"), FilePetSource)
    assert isinstance(pet_source_from_url("https://pacs.example/dicom-web"), DicomwebPetSource)
    dimse = pet_source_from_url("dimse://PACS@pacs.example:104", calling_aet="ME")
    assert repr(dimse) == "DimsePetSource(PACS@pacs.example:104, get)"
    for bad in ("ftp://x/y", "dimse://pacs.example:104", "file://remote/dir"):
        with pytest.raises(ValueError, match="URL"):
            pet_source_from_url(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("user:pa:ss\n", ("user", "pa:ss"), id="basic"),
        pytest.param("eyJhbGciOi.x.y", "eyJhbGciOi.x.y", id="bearer"),
        pytest.param("  \n", None, id="empty"),
    ],
)
def test_auth_from_text(text: str, expected: object) -> None:
    assert auth_from_text(text) == expected
