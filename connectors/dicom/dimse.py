"""``DimsePetSource``: PET series over DIMSE (PS3.4 Annex C Study Root Query/Retrieve; PS3.7 C-FIND/GET/MOVE).

C-FIND at study level (``ModalitiesInStudy=PT``, optional PatientID/StudyInstanceUID) then at series level
lists the PT series and the SR/SEG series of each study (DIMSE cannot see SR/SEG references, so every SR/SEG
series of the study is listed as related and ``fetch_related`` keeps the instances that reference the PET
series). Instances are retrieved with C-GET on the same association (storage contexts proposed with the SCP
role, PS3.4 C.4.3), or with C-MOVE to a Storage SCP of ours started for the duration of the request on
``MoveDestination`` (the PACS must know that AE title, host and port).

pynetdicom reports failures as values (an empty status Dataset for a timeout, an abort or an invalid response;
a failure or cancel status code). :func:`_checked_status` is the one function that turns those into
``SourceUnavailableError``; refused or aborted associations are turned into the same error by
:meth:`_association`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import UID
from pynetdicom import AE, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION, build_role, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import decode
from pynetdicom.events import Event, EventHandlerType
from pynetdicom.status import code_to_category

import connectors.dicom.dimse_privacy  # noqa: F401  (no identifiers in pynetdicom's logs)
from connectors.dicom.dimse_gate import install_gate, park_reactor
from connectors.dicom.ports import ALL_STORAGE_SOP_CLASSES, Modality, SeriesRef, Timeouts, is_uid
from connectors.dicom.series_refs import series_references
from connectors.dicom.transport import DicomTransport, in_instance_order
from connectors.dicom.values import parse_da, parse_tm
from connectors.errors import SourceUnavailableError
from rules.domain import SourceRef

log = logging.getLogger(__name__)

_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
"""PS3.5 AE value representation: at most 16 characters, no backslash, no control characters."""

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
"""Study Root Query/Retrieve Information Model SOP classes (PS3.4 C.6.2)."""

PENDING = frozenset({0xFF00, 0xFF01})
SUCCESS = 0x0000

DUL_POLL_S = 0.0002
"""Polling interval of pynetdicom's DUL reactor thread while an association is open, in seconds.

pynetdicom's reactor sleeps 1 ms whenever its socket and queues are idle, and a C-GET of one instance
waits for it at least twice (the C-STORE request arriving, our response leaving): 600 instances lose over
1 s to it. 0.2 ms trades a little idle CPU for that latency; 0 (busy polling) is slower still, because the
spinning thread then holds the GIL against the thread that handles the C-STORE requests."""


class RetrieveMethod(StrEnum):
    """How instances are retrieved: C-GET on the query association (preferred) or C-MOVE to our SCP."""

    GET = "get"
    MOVE = "move"


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveDestination:
    """Our Storage SCP for C-MOVE: the AE title the PACS knows and the address it sends to (we listen)."""

    ae_title: str
    port: int
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        _check_ae_title(self.ae_title)
        if not 0 < self.port < 65536:
            raise ValueError(f"MoveDestination.port must be 1–65535, got {self.port}")


class DimsePetSource(DicomTransport):
    """A ``PollingPetStudySource`` over C-FIND and C-GET (or C-MOVE) against one PACS AE."""

    def __init__(
        self,
        calling_aet: str,
        called_aet: str,
        host: str,
        port: int,
        timeouts: Timeouts | None = None,
        move_destination: MoveDestination | None = None,
        *,
        retrieve: RetrieveMethod | str | None = None,
    ) -> None:
        """``retrieve`` defaults to C-MOVE when a ``move_destination`` is given, else C-GET."""
        self.calling_aet = _check_ae_title(calling_aet)
        self.called_aet = _check_ae_title(called_aet)
        if not host or not 0 < port < 65536:
            raise ValueError(f"DIMSE peer must be host and port 1–65535, got {host!r}:{port}")
        self.host, self.port = host, port
        self.timeouts = timeouts or Timeouts()
        self.move_destination = move_destination
        if retrieve is None:
            retrieve = RetrieveMethod.MOVE if move_destination else RetrieveMethod.GET
        self.retrieve = RetrieveMethod(retrieve)
        if self.retrieve is RetrieveMethod.MOVE and move_destination is None:
            raise ValueError("C-MOVE needs a move_destination (our Storage SCP known to the PACS)")
        self._move_lock = threading.Lock()  # one temporary Storage SCP on the destination port at a time

    def __repr__(self) -> str:
        return f"DimsePetSource({self.called_aet}@{self.host}:{self.port}, {self.retrieve.value})"

    @property
    def _where(self) -> str:
        return f"DIMSE {self.called_aet}@{self.host}:{self.port}"

    # -- PetStudySource --------------------------------------------------------------------------------------

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        """PT series of the patient and/or study: a study-level C-FIND, then a series-level one per study."""
        return self._series_of_studies(StudyInstanceUID=study_uid or "", PatientID=patient_id or "")

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series of studies dated on or after ``since`` (a StudyDate range matching key ``YYYYMMDD-``,
        PS3.4 C.2.2.2.5)."""
        return self._series_of_studies(StudyDate=f"{since:%Y%m%d}-")

    def _series_of_studies(self, **keys: str) -> list[SeriesRef]:
        query = _identifier(
            "STUDY",
            StudyInstanceUID=keys.get("StudyInstanceUID", ""),
            PatientID=keys.get("PatientID", ""),
            IssuerOfPatientID="",
            StudyDate=keys.get("StudyDate", ""),
            ModalitiesInStudy=Modality.PT.value,
        )
        with self._association([STUDY_ROOT_FIND]) as assoc:
            studies = self._find(assoc, query, None)
            refs: list[SeriesRef] = []
            for study in studies:
                uid = str(study.get("StudyInstanceUID", ""))
                if is_uid(uid):
                    patient = (
                        str(study.get("PatientID", "")) or None,
                        str(study.get("IssuerOfPatientID", "")) or None,
                    )
                    refs.extend(self._series_of_study(assoc, uid, patient))
        return refs

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        """All instances of the series (series-level C-GET or C-MOVE)."""
        query = _identifier("SERIES", StudyInstanceUID=ref.study_uid, SeriesInstanceUID=ref.series_uid)
        return in_instance_order(self._retrieve(query, ref.source))

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """The first instance's header: an image-level C-FIND, then a C-GET/C-MOVE of that one instance."""
        query = _identifier(
            "IMAGE",
            StudyInstanceUID=ref.study_uid,
            SeriesInstanceUID=ref.series_uid,
            SOPInstanceUID="",
            InstanceNumber="",
        )
        with self._association([STUDY_ROOT_FIND]) as assoc:
            images = in_instance_order(self._find(assoc, query, ref.source))
        if not images:
            raise SourceUnavailableError(f"{self._where}: series has no instances", source=ref.source)
        one = _identifier(
            "IMAGE",
            StudyInstanceUID=ref.study_uid,
            SeriesInstanceUID=ref.series_uid,
            SOPInstanceUID=str(images[0].SOPInstanceUID),
        )
        instances = self._retrieve(one, ref.source)
        if not instances:
            raise SourceUnavailableError(f"{self._where}: retrieve returned no instance", source=ref.source)
        header = instances[0]
        if "PixelData" in header:
            del header.PixelData
        return header

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """SR and SEG instances of the study's SR/SEG series that may describe ``ref``."""
        out: tuple[list[Dataset], list[Dataset]] = ([], [])
        for target, uids in zip(out, (ref.related_sr, ref.related_seg), strict=True):
            for series_uid in uids:
                other = SeriesRef(study_uid=ref.study_uid, series_uid=series_uid)
                found = self.fetch_series(other)
                target.extend(ds for ds in found if series_references(ds).may_describe(ref.series_uid))
        return out

    # -- C-FIND ----------------------------------------------------------------------------------------------

    def _series_of_study(
        self, assoc: Association, study_uid: str, patient: tuple[str | None, str | None]
    ) -> list[SeriesRef]:
        query = _identifier(
            "SERIES",
            StudyInstanceUID=study_uid,
            SeriesInstanceUID="",
            Modality="",
            SeriesDate="",
            SeriesTime="",
            SeriesDescription="",
            NumberOfSeriesRelatedInstances="",
        )
        series = [s for s in self._find(assoc, query, None) if is_uid(str(s.get("SeriesInstanceUID", "")))]

        def uids_of(modality: str) -> tuple[str, ...]:
            return tuple(sorted(str(s.SeriesInstanceUID) for s in series if _modality(s) == modality))

        related_sr, related_seg = uids_of(Modality.SR.value), uids_of(Modality.SEG.value)
        return [
            SeriesRef(
                study_uid=study_uid,
                series_uid=str(s.SeriesInstanceUID),
                patient_id=patient[0],
                issuer_of_patient_id=patient[1],
                series_date=parse_da(s.get("SeriesDate")),
                series_time=parse_tm(s.get("SeriesTime")),
                description=str(s.get("SeriesDescription", "")) or None,
                instance_count=_int(s.get("NumberOfSeriesRelatedInstances")),
                related_sr=related_sr,
                related_seg=related_seg,
            )
            for s in series
            if _modality(s) == Modality.PT.value
        ]

    def _find(self, assoc: Association, query: Dataset, source: SourceRef | None) -> list[Dataset]:
        matches = []
        self._park(assoc, source)
        for status, identifier in assoc.send_c_find(query, STUDY_ROOT_FIND):
            code = _checked_status(status, operation="C-FIND", assoc=assoc, where=self._where, source=source)
            if code in PENDING and identifier is not None:
                matches.append(identifier)
        return matches

    # -- C-GET / C-MOVE --------------------------------------------------------------------------------------

    def _retrieve(self, query: Dataset, source: SourceRef) -> list[Dataset]:
        received: list[_Received] = []

        def on_store(event: Event) -> int:
            # Keep the encoded data set and answer at once; decoding waits until the transfer is over, so
            # the PACS is not kept waiting for our C-STORE response while pydicom parses each instance.
            request = cast(C_STORE, event.request)
            received.append(
                _Received(
                    encoded=request.DataSet,
                    sop_class=str(request.AffectedSOPClassUID),
                    sop_instance=str(request.AffectedSOPInstanceUID),
                    transfer_syntax=str(event.context.transfer_syntax),
                )
            )
            return SUCCESS

        handlers: list[EventHandlerType] = [(evt.EVT_C_STORE, on_store)]
        if self.retrieve is RetrieveMethod.GET:
            roles = [build_role(uid, scp_role=True) for uid in ALL_STORAGE_SOP_CLASSES]
            contexts = [STUDY_ROOT_GET, *ALL_STORAGE_SOP_CLASSES]
            with self._association(contexts, roles=roles, handlers=handlers) as assoc:
                self._park(assoc, source)
                for status, _ in assoc.send_c_get(query, STUDY_ROOT_GET):
                    _checked_status(status, operation="C-GET", assoc=assoc, where=self._where, source=source)
        else:
            self._move(query, source, handlers)
        return [item.dataset() for item in received]

    def _move(self, query: Dataset, source: SourceRef, handlers: list[EventHandlerType]) -> None:
        dest = self.move_destination
        assert dest is not None  # guaranteed by __init__
        scp = AE(ae_title=dest.ae_title)
        for uid in ALL_STORAGE_SOP_CLASSES:
            scp.add_supported_context(uid)
        scp.network_timeout = self.timeouts.read_s
        scp.maximum_pdu_size = 0
        with self._move_lock:
            try:
                server = scp.start_server((dest.host, dest.port), block=False, evt_handlers=handlers)
            except OSError as exc:
                raise SourceUnavailableError(
                    f"cannot listen for C-MOVE on {dest.host}:{dest.port}: {exc}", source=source
                ) from exc
            try:
                with self._association([STUDY_ROOT_MOVE]) as assoc:
                    self._park(assoc, source)
                    responses = assoc.send_c_move(query, dest.ae_title, STUDY_ROOT_MOVE)
                    for status, _ in responses:
                        _checked_status(
                            status, operation="C-MOVE", assoc=assoc, where=self._where, source=source
                        )
            finally:
                if server is not None:
                    server.shutdown()

    # -- association -----------------------------------------------------------------------------------------

    def _park(self, assoc: Association, source: SourceRef | None) -> None:
        """Pause the association's reactor for certain before a request (``dimse_gate``: otherwise it may
        take a response off the queue and drop it, silently losing a match)."""
        if not park_reactor(assoc, self.timeouts.read_s):
            raise SourceUnavailableError(f"{self._where}: association reactor did not pause", source=source)

    @contextmanager
    def _association(
        self,
        contexts: Sequence[Any],
        *,
        roles: Sequence[Any] = (),
        handlers: Sequence[EventHandlerType] = (),
    ) -> Iterator[Association]:
        """An established association with the PACS, released on exit; refusal, abort or silence raise."""
        ae = AE(ae_title=self.calling_aet)
        ae.connection_timeout = self.timeouts.connect_s
        ae.acse_timeout = self.timeouts.connect_s
        ae.dimse_timeout = self.timeouts.read_s
        ae.network_timeout = self.timeouts.read_s
        ae.maximum_pdu_size = 0  # receive PDUs of any size: C-GET throughput is bound by per-PDU overhead
        for context in contexts:
            ae.add_requested_context(context)
        all_handlers = [*handlers, (evt.EVT_CONN_OPEN, _no_delay), (evt.EVT_CONN_OPEN, install_gate)]
        assoc = ae.associate(
            self.host, self.port, ae_title=self.called_aet, ext_neg=list(roles), evt_handlers=all_handlers
        )
        if hasattr(assoc.dul, "_run_loop_delay"):  # pynetdicom 2-3 private knob, see DUL_POLL_S
            assoc.dul._run_loop_delay = DUL_POLL_S
        _unbind_message_logging(assoc)
        if not assoc.is_established:
            reason = "rejected" if assoc.is_rejected else "aborted" if assoc.is_aborted else "not answered"
            raise SourceUnavailableError(
                f"{self._where}: association {reason} (calling AE {self.calling_aet})"
            )
        try:
            yield assoc
        finally:
            if assoc.is_established:
                assoc.release()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Received:
    """One instance as received by our C-STORE SCP: the encoded data set and what its meta header needs."""

    encoded: Any  # io.BytesIO with the encoded data set (pynetdicom's C-STORE DataSet parameter)
    sop_class: str
    sop_instance: str
    transfer_syntax: str

    def dataset(self) -> Dataset:
        """The complete Dataset, with the File Meta Information a Part 10 reader would give (PS3.10 7.1)."""
        syntax = UID(self.transfer_syntax)
        ds = decode(self.encoded, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
        meta = FileMetaDataset()
        meta.FileMetaInformationVersion = b"\x00\x01"
        meta.MediaStorageSOPClassUID = UID(self.sop_class)
        meta.MediaStorageSOPInstanceUID = UID(self.sop_instance)
        meta.TransferSyntaxUID = syntax
        meta.ImplementationClassUID = UID(PYNETDICOM_IMPLEMENTATION_UID)
        meta.ImplementationVersionName = PYNETDICOM_IMPLEMENTATION_VERSION
        ds.file_meta = meta
        return ds


_MESSAGE_LOG_EVENTS = (evt.EVT_DIMSE_RECV, evt.EVT_DIMSE_SENT, evt.EVT_PDU_RECV, evt.EVT_PDU_SENT)


def _unbind_message_logging(assoc: Association) -> None:
    """Remove pynetdicom's own per-message logging handlers from one association.

    They decode and format every DIMSE command set and PDU (at debug level, but the work is done whatever
    the level): about a quarter of the CPU time of a C-GET. Failures still surface through
    :func:`_checked_status`. The process-wide switch (``pynetdicom._config.LOG_HANDLER_LEVEL``) is left alone.
    """
    for event in _MESSAGE_LOG_EVENTS:
        bound = assoc.get_handlers(event)
        for handler in list(bound) if isinstance(bound, list) else []:  # a copy: unbind edits the list
            function = handler[0] if isinstance(handler, tuple) else handler
            if callable(function) and getattr(function, "__module__", "") == "pynetdicom._handlers":
                assoc.unbind(event, function)


def _no_delay(event: Event) -> None:
    """Switch Nagle's algorithm off on a new association's socket (small DIMSE responses go out at once)."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _checked_status(
    status: Dataset | None, *, operation: str, assoc: Association, where: str, source: SourceRef | None
) -> int:
    """The one place where a DIMSE status value becomes an exception (PS3.7 Annex C status classes).

    Returns the status code when it is Success or Pending. An empty status (pynetdicom's signal for a DIMSE
    timeout, an aborted association or an invalid response) and Failure, Cancel and Warning statuses (for
    C-GET/C-MOVE a warning means some sub-operations failed, so the series would be incomplete) raise
    ``SourceUnavailableError``.
    """
    if status is None or "Status" not in status:
        # pynetdicom cannot tell these apart reliably: it aborts the association itself after a DIMSE timeout.
        cause = "no valid response (DIMSE timeout, aborted association or invalid response"
        cause += "; an unregistered calling AE is aborted this way)" if assoc.is_aborted else ")"
        raise SourceUnavailableError(f"{where}: {operation} failed: {cause}", source=source)
    code = int(status.Status)
    if code == SUCCESS or code in PENDING:
        return code
    category = code_to_category(code)
    detail = str(status.get("ErrorComment", "") or "").strip()
    failed = status.get("NumberOfFailedSuboperations")
    extra = f"; {failed} sub-operations failed" if failed else ""
    extra += f"; {detail}" if detail else ""
    raise SourceUnavailableError(f"{where}: {operation} {category} status 0x{code:04X}{extra}", source=source)


def _identifier(level: str, **keys: str) -> Dataset:
    """A Study Root query identifier (PS3.4 C.6.2); empty values are return keys."""
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def _modality(ds: Dataset) -> str:
    return str(ds.get("Modality", "") or "").upper()


def _int(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _check_ae_title(value: str) -> str:
    if not isinstance(value, str) or not _AE_TITLE.match(value) or not value.strip():
        raise ValueError(f"AE title must be 1–16 printable characters without backslash, got {value!r}")
    return value
