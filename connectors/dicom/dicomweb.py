"""``DicomwebPetSource``: PET series over DICOMweb (QIDO-RS search, WADO-RS retrieve; PS3.18 §10.4–10.6).

Built on an injected ``dicomweb_client.DICOMwebClient`` (its ``requests.Session`` carries authentication and
the retry policy; see :func:`connectors.dicom.factory.dicomweb_source`). Handles the Orthanc DICOMweb 1.7
pitfalls of ``spec/pet-dicom.md`` §11:

1. the client's ``Host`` header without the port is corrected by the factory (``client.host``);
2. bulk data and frames are never requested with the ``*/*`` default; instances are requested as
   ``application/dicom`` in Explicit VR Little Endian, headers through the metadata resource;
3. no wildcards are sent (they arrive as ``%2A`` and match nothing): queries use exact keys
(``ModalitiesInStudy=PT``,
   ``Modality``, ``PatientID``, ``StudyInstanceUID``, StudyDate ranges) and the rest is filtered here;
4. QIDO paging is not used: Orthanc ignores ``offset`` without ``limit`` and mis-applies it with one, so
   dicomweb-client's ``get_remaining`` never ends; one unpaged query is sent (a server that truncates says so
   in a ``Warning`` header, which dicomweb-client logs);
5. QIDO does not return sequences (RadiopharmaceuticalInformationSequence, referenced series), so a header is
   read from WADO-RS instance metadata and SR/SEG references from the retrieved SR/SEG instances.

Instances are retrieved with one streamed WADO-RS GET per series, read by the multipart reader of
:mod:`connectors.dicom.multipart` and decoded part by part while the rest of the body is still arriving
(dicomweb-client's ``retrieve_series`` reads the whole body first, then parses and decodes it).

Every failure leaves as a :mod:`connectors.errors` exception raised from its cause.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from io import BytesIO
from typing import Any, TypeVar

import requests
from dicomweb_client import DICOMwebClient
from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from connectors.dicom.multipart import Part, boundary_from_content_type, iter_parts
from connectors.dicom.ports import Modality, SeriesRef, is_uid
from connectors.dicom.series_refs import series_references
from connectors.dicom.transport import DicomTransport, in_instance_order
from connectors.dicom.values import parse_da, parse_tm
from connectors.errors import ConnectorError, InvalidSourceDataError, SourceUnavailableError
from connectors.http import describe_url, error_from_exception, error_from_status
from rules.domain import SourceRef

T = TypeVar("T")

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
INSTANCE_MEDIA_TYPES: tuple[tuple[str, str], ...] = (("application/dicom", EXPLICIT_VR_LITTLE_ENDIAN),)
"""WADO-RS Accept for instances: uncompressed, so pixels decode without optional codecs (PS3.18 8.7.3)."""

INSTANCE_ACCEPT = ", ".join(
    f'multipart/related; type="{media}"; transfer-syntax={syntax}' for media, syntax in INSTANCE_MEDIA_TYPES
)
"""The same as an HTTP ``Accept`` header value (PS3.18 8.7.3.5)."""

STREAM_CHUNK_BYTES = 256 * 1024
"""Read size of the streamed WADO-RS body: large enough to keep per-chunk Python overhead small, small
enough that decoding of received instances overlaps with the rest of the download."""

STUDY_FIELDS: tuple[str, ...] = ("PatientID", "IssuerOfPatientID")
"""QIDO-RS ``includefield`` values for studies: the patient identifiers the series index keeps."""

SERIES_FIELDS: tuple[str, ...] = (
    "Modality",
    "SeriesDate",
    "SeriesTime",
    "SeriesDescription",
    "NumberOfSeriesRelatedInstances",
)
"""QIDO-RS ``includefield`` values for series (scalars only; sequences never come back, pitfall 4)."""

PIXEL_DATA_TAG = "7FE00010"
_WILDCARDS = frozenset("*?\\")


class DicomwebPetSource(DicomTransport):
    """A ``PollingPetStudySource`` over QIDO-RS and WADO-RS.

    With ``session`` (the one the client uses; the factory passes it) instances are retrieved by a streamed
    GET read with :mod:`connectors.dicom.multipart`, each instance decoded as soon as it has arrived, so
    decoding overlaps the download. Without it, dicomweb-client's streamed ``iter_series`` is used.
    ``timeout`` is the requests ``(connect, read)`` timeout in seconds for that GET.
    """

    def __init__(
        self,
        client: DICOMwebClient,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> None:
        self._client = client
        self._session = session
        self._timeout = timeout
        self._where = describe_url(str(client.base_url))
        prefix = getattr(client, "wado_url_prefix", None)
        self._wado_root = str(client.base_url).rstrip("/") + (f"/{prefix.strip('/')}" if prefix else "")

    def __repr__(self) -> str:
        return f"DicomwebPetSource({self._where!r})"

    # -- PetStudySource --------------------------------------------------------------------------------------

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        """PT series of the patient and/or study: one QIDO studies query, then one series query per study."""
        filters: dict[str, str] = {"ModalitiesInStudy": Modality.PT.value}
        if patient_id is not None:
            filters["PatientID"] = _exact(patient_id, "patient id")
        if study_uid is not None:
            filters["StudyInstanceUID"] = _uid(study_uid)
        return self._series_of_studies(filters)

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series of studies dated on or after ``since`` (a StudyDate range query ``YYYYMMDD-``)."""
        return self._series_of_studies(
            {"ModalitiesInStudy": Modality.PT.value, "StudyDate": f"{since:%Y%m%d}-"}
        )

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        """All instances of the series (WADO-RS ``/studies/{s}/series/{s}``, Explicit VR Little Endian)."""
        if self._session is None:
            instances = self._call(
                "retrieve series",
                ref.source,
                lambda: list(
                    self._client.iter_series(ref.study_uid, ref.series_uid, media_types=INSTANCE_MEDIA_TYPES)
                ),
            )
        else:
            url = f"{self._wado_root}/studies/{ref.study_uid}/series/{ref.series_uid}"
            instances = self._call("retrieve series", ref.source, lambda: self._stream_instances(url))
        return in_instance_order(instances)

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """The first instance's header (by InstanceNumber), without pixel data: a QIDO-RS instance search
        for the series (UIDs and numbers only), then that one instance's WADO-RS metadata. Series metadata
        would carry every instance's header: megabytes for a long series, for a one-header triage."""
        found = self._call(
            "search instances",
            ref.source,
            lambda: self._client.search_for_instances(
                study_instance_uid=ref.study_uid,
                series_instance_uid=ref.series_uid,
                fields=["InstanceNumber"],
                get_remaining=False,
            ),
        )
        instances = [ds for ds in (_decode(item, source=ref.source) for item in found) if _sop_uid(ds)]
        if not instances:
            raise InvalidSourceDataError(f"{self._where}: series has no instances", source=ref.source)
        sop_uid = _sop_uid(in_instance_order(instances)[0])
        metadata = self._call(
            "retrieve instance metadata",
            ref.source,
            lambda: self._client.retrieve_instance_metadata(ref.study_uid, ref.series_uid, sop_uid),
        )
        item = metadata[0] if isinstance(metadata, list) and metadata else metadata
        if not isinstance(item, dict) or not item:
            raise InvalidSourceDataError(f"{self._where}: instance metadata is empty", source=ref.source)
        return _decode(
            {tag: value for tag, value in item.items() if tag.upper() != PIXEL_DATA_TAG}, source=ref.source
        )

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """SR and SEG instances of the related series that may describe ``ref``."""
        out: tuple[list[Dataset], list[Dataset]] = ([], [])
        for target, uids in zip(out, (ref.related_sr, ref.related_seg), strict=True):
            for series_uid in uids:
                other = SeriesRef(study_uid=ref.study_uid, series_uid=series_uid)
                for ds in self.fetch_series(other):
                    if series_references(ds).may_describe(ref.series_uid):
                        target.append(ds)
        return out

    # -- internals -------------------------------------------------------------------------------------------

    def _series_of_studies(self, filters: dict[str, str]) -> list[SeriesRef]:
        studies = self._call(
            "search studies",
            None,
            lambda: self._client.search_for_studies(
                search_filters=filters, fields=list(STUDY_FIELDS), get_remaining=False
            ),
        )
        refs: list[SeriesRef] = []
        for study_json in studies:
            study = _decode(study_json)
            study_uid = str(study.get("StudyInstanceUID", ""))
            if not is_uid(study_uid):
                continue
            patient = (
                str(study.get("PatientID", "")) or None,
                str(study.get("IssuerOfPatientID", "")) or None,
            )
            refs.extend(self._series_of_study(study_uid, patient))
        return refs

    def _series_of_study(self, study_uid: str, patient: tuple[str | None, str | None]) -> list[SeriesRef]:
        found = self._call(
            "search series",
            None,
            lambda: self._client.search_for_series(
                study_instance_uid=study_uid, fields=list(SERIES_FIELDS), get_remaining=False
            ),
        )
        series = [_decode(item) for item in found]
        by_modality: dict[str, list[Dataset]] = {}
        for item in series:
            if is_uid(str(item.get("SeriesInstanceUID", ""))):
                by_modality.setdefault(str(item.get("Modality", "")).upper(), []).append(item)
        # Candidates only: which SR/SEG instances reference this PET series is decided in fetch_related, when
        # the analysis needs them. Reading their metadata here would put megabytes of SEG headers on the path
        # of every hook search.
        related_sr = self._uids_of(by_modality, Modality.SR.value)
        related_seg = self._uids_of(by_modality, Modality.SEG.value)
        refs = []
        for item in by_modality.get(Modality.PT.value, []):
            uid = str(item.SeriesInstanceUID)
            refs.append(
                SeriesRef(
                    study_uid=study_uid,
                    series_uid=uid,
                    patient_id=patient[0],
                    issuer_of_patient_id=patient[1],
                    series_date=parse_da(item.get("SeriesDate")),
                    series_time=parse_tm(item.get("SeriesTime")),
                    description=str(item.get("SeriesDescription", "")) or None,
                    instance_count=_int(item.get("NumberOfSeriesRelatedInstances")),
                    related_sr=related_sr,
                    related_seg=related_seg,
                )
            )
        return refs

    @staticmethod
    def _uids_of(by_modality: dict[str, list[Dataset]], modality: str) -> tuple[str, ...]:
        return tuple(sorted(str(item.SeriesInstanceUID) for item in by_modality.get(modality, [])))

    def _stream_instances(self, url: str) -> list[Dataset]:
        """GET a multipart/related body of Part 10 instances and decode each part as it arrives."""
        assert self._session is not None  # checked by the caller
        headers = {"Accept": INSTANCE_ACCEPT}
        with self._session.get(url, headers=headers, timeout=self._timeout, stream=True) as response:
            response.raise_for_status()
            boundary = boundary_from_content_type(response.headers.get("Content-Type", ""))
            chunks = response.iter_content(chunk_size=STREAM_CHUNK_BYTES)
            return [_instance(part) for part in iter_parts(chunks, boundary)]

    def _call(self, what: str, source: SourceRef | None, fn: Callable[[], T]) -> T:
        """Run one client call, turning every failure into a connector error raised from its cause."""
        with _translated(f"{self._where}: {what}", source):
            return fn()


@contextmanager
def _translated(what: str, source: SourceRef | None) -> Iterator[None]:
    """The single place where dicomweb-client and requests failures become ``connectors.errors``."""
    try:
        yield
    except ConnectorError:
        raise
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else 0
        if status == 0:
            raise SourceUnavailableError(f"{what}: HTTP error without a response", source=source) from exc
        raise error_from_status(status, what=what, source=source) from exc
    except requests.JSONDecodeError as exc:
        raise InvalidSourceDataError(f"{what}: response is not JSON", source=source) from exc
    except requests.RequestException as exc:
        raise error_from_exception(exc, what=what, source=source) from exc
    except (ValueError, TypeError, KeyError, EOFError, InvalidDicomError) as exc:
        # dicomweb-client raises ValueError for malformed multipart bodies; pydicom raises InvalidDicomError
        # for parts that are not Part 10 files (e.g. stored through STOW-RS without the 128-byte preamble).
        raise InvalidSourceDataError(
            f"{what}: undecodable response ({type(exc).__name__})", source=source
        ) from exc


def _instance(part: Part) -> Dataset:
    """One WADO-RS part as a complete Dataset (a Part 10 file with its meta header; PS3.18 8.7.3.3)."""
    if part.media_type not in ("", "application/dicom"):
        raise ValueError(f"unexpected part media type {part.media_type!r}")
    return dcmread(BytesIO(part.body))


def _decode(item: Mapping[str, Any], *, source: SourceRef | None = None) -> Dataset:
    """A DICOM JSON object (PS3.18 F.2) as a Dataset; bulk data URIs are not followed (left empty)."""
    try:
        return Dataset.from_json(dict(item), bulk_data_uri_handler=lambda _tag, _vr, _uri: None)
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidSourceDataError(f"undecodable DICOM JSON ({type(exc).__name__})", source=source) from exc


def _sop_uid(ds: Dataset) -> str:
    """The SOPInstanceUID of a QIDO result, or '' when it is not a valid UID."""
    uid = str(ds.get("SOPInstanceUID", ""))
    return uid if is_uid(uid) else ""


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _exact(value: str, name: str) -> str:
    """A value for an exact-match QIDO key; DICOM wildcard characters are refused (pitfall 3)."""
    if not value or _WILDCARDS & set(value):
        raise ValueError(f"{name} must be a non-empty exact value without * ? or backslash")
    return value


def _uid(value: str) -> str:
    if not is_uid(value):
        raise ValueError(f"not a DICOM UID: {value!r}")
    return value
