"""``Receiver``: a C-STORE SCP (DICOM PS3.4 Annex B) that files incoming PET, SR and SEG into a store.

Each instance is written through :meth:`FilePetSource.store` and its series marked active. When a PT series
has received nothing for ``idle_timeout_s`` seconds it is considered complete (DIMSE has no "end of series"
signal) and ``on_series_complete(series_ref)`` is called once, from the receiver's own monitor thread, one
series at a time. An SR or SEG arriving later re-arms the PT series of its study, so a reader's report sent
after the images triggers a new analysis. Storage SOP classes outside ``ALL_STORAGE_SOP_CLASSES`` are refused
at association negotiation.

Status codes returned to the sender (PS3.4 B.2.3): 0x0000 stored; 0xA900 dataset does not match the SOP class
(missing or invalid UIDs); 0xA700 out of resources (the store could not write).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.events import EventHandlerType
from pynetdicom.transport import ThreadedAssociationServer

import connectors.dicom.dimse_privacy  # noqa: F401  (no identifiers in pynetdicom's logs)
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import ALL_STORAGE_SOP_CLASSES, Modality, SeriesRef
from connectors.dicom.transport import modality_of
from connectors.errors import ConnectorError, InvalidSourceDataError

log = logging.getLogger(__name__)

STATUS_SUCCESS = 0x0000
STATUS_OUT_OF_RESOURCES = 0xA700
STATUS_DATASET_MISMATCH = 0xA900


class Receiver:
    """A Storage SCP writing into a ``FilePetSource`` and reporting complete PT series."""

    def __init__(
        self,
        store: FilePetSource,
        ae_title: str,
        port: int,
        host: str = "127.0.0.1",
        idle_timeout_s: float = 5.0,
        on_series_complete: Callable[[SeriesRef], None] | None = None,
    ) -> None:
        if idle_timeout_s <= 0:
            raise ValueError(f"idle_timeout_s must be positive seconds, got {idle_timeout_s}")
        if not 0 <= port < 65536:
            raise ValueError(f"port must be 0–65535, got {port}")
        self.store = store
        self.ae_title = ae_title
        self.host, self.port = host, port
        self.idle_timeout_s = idle_timeout_s
        self.on_series_complete = on_series_complete
        self._ae = AE(ae_title=ae_title)
        for uid in ALL_STORAGE_SOP_CLASSES:
            self._ae.add_supported_context(uid)
        self._server: ThreadedAssociationServer | None = None
        self._monitor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._active: dict[str, float] = {}  # PT SeriesInstanceUID → monotonic time of the last activity
        self.stored = 0

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); with ``port=0`` the port the operating system chose."""
        if self._server is None:
            return self.host, self.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Listen (non-blocking) and start the idle monitor; ``OSError`` if the port is taken."""
        if self._server is not None:
            return
        self._stopping.clear()
        handlers: list[EventHandlerType] = [(evt.EVT_C_STORE, self._on_store)]
        self._server = self._ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        self._monitor = threading.Thread(
            target=self._watch, name=f"receiver-idle-{self.ae_title}", daemon=True
        )
        self._monitor.start()
        log.info("C-STORE SCP %s listening on %s:%d", self.ae_title, *self.address)

    def stop(self) -> None:
        """Stop listening, then report the series still pending (complete: nothing more can arrive)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        self._stopping.set()
        if self._monitor is not None:
            self._monitor.join(timeout=10)
            self._monitor = None
        with self._lock:
            pending, self._active = list(self._active), {}
        for series_uid in pending:
            self._complete(series_uid)

    # -- internals -------------------------------------------------------------------------------------------

    def _on_store(self, event: Any) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        try:
            self.store.store(ds)
        except InvalidSourceDataError as exc:
            log.warning("refused an instance: %s", exc)
            return STATUS_DATASET_MISMATCH
        except (ConnectorError, OSError, ValueError) as exc:
            log.error("could not store an instance: %s", exc)
            return STATUS_OUT_OF_RESOURCES
        self.stored += 1
        modality = modality_of(ds)
        now = time.monotonic()
        with self._lock:
            if modality == Modality.PT.value:
                self._active[str(ds.SeriesInstanceUID)] = now
            elif modality in (Modality.SR.value, Modality.SEG.value):
                for ref in self.store.find_pet_series(study_uid=str(ds.StudyInstanceUID), refresh=False):
                    self._active[ref.series_uid] = now
        return STATUS_SUCCESS

    def _watch(self) -> None:
        tick = min(0.5, self.idle_timeout_s / 4)
        while not self._stopping.wait(tick):
            now = time.monotonic()
            with self._lock:
                due = [uid for uid, last in self._active.items() if now - last >= self.idle_timeout_s]
                for uid in due:
                    del self._active[uid]
            for series_uid in due:
                self._complete(series_uid)

    def _complete(self, series_uid: str) -> None:
        if self.on_series_complete is None:
            return
        try:
            ref = self.store.series_ref(series_uid)
            self.on_series_complete(ref)
        except Exception:  # a failing callback must not stop the receiver
            log.exception("series-complete callback failed for a series")
