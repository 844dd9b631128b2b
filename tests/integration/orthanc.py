"""A real Orthanc PACS (Debian packages orthanc, orthanc-dicomweb) for integration tests (pet-dicom.md §13).

``start_orthanc(workdir)`` writes a temporary JSON configuration (storage and index in ``workdir``, HTTP and
DICOM ports picked free on 127.0.0.1, remote access off, the DICOMweb plugin rooted at ``/dicom-web/`` with
``Host`` set to ``127.0.0.1:<http port>``, C-FIND/GET/MOVE/STORE only for the registered modality of our
Storage SCP), starts ``Orthanc <config>`` with its own log file, polls ``/system`` until it answers, and
returns a handle that uploads instances (REST ``POST /instances``) and stops that one process by PID.

Fixtures: ``orthanc`` (one server per test session, no HTTP authentication) and ``orthanc_factory`` (start
more, e.g. with Basic authentication or to stop one mid-test; all are stopped at the end of the test).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

import pytest
import requests
from pydicom import Dataset

from tests.conftest import free_port, missing_dependency

ORTHANC_BINARY = "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
ORTHANC_AET = "ORTHANC"
CDS_AET = "HER2CDS"
"""Our AE title: the calling AE of DimsePetSource and the C-MOVE destination registered in Orthanc."""

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0


@dataclass
class OrthancServer:
    """One running Orthanc: addresses, the registered C-MOVE destination, and its process."""

    workdir: Path
    http_port: int
    dicom_port: int
    move_port: int
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)
    aet: str = ORTHANC_AET
    move_aet: str = CDS_AET

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        """The DICOMweb service root as a client uses it (no trailing slash)."""
        return f"{self.base_url}/dicom-web"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    def session(self) -> requests.Session:
        """A plain session with the first registered user's credentials (if any)."""
        session = requests.Session()
        if self.users:
            session.auth = next(iter(self.users.items()))
        return session

    def upload(self, datasets: Iterable[Dataset]) -> list[str]:
        """Store instances through REST ``POST /instances``; returns Orthanc's instance ids."""
        ids = []
        with self.session() as session:
            for ds in datasets:
                buffer = BytesIO()
                ds.save_as(buffer, enforce_file_format=True)
                response = session.post(
                    f"{self.base_url}/instances",
                    data=buffer.getvalue(),
                    headers={"Content-Type": "application/dicom"},
                    timeout=30,
                )
                response.raise_for_status()
                ids.append(str(response.json()["ID"]))
        return ids

    def clear(self) -> None:
        """Delete every patient (so each test starts from an empty PACS on a shared server)."""
        with self.session() as session:
            for patient in session.get(f"{self.base_url}/patients", timeout=10).json():
                session.delete(f"{self.base_url}/patients/{patient}", timeout=10).raise_for_status()

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """SIGKILL to this PID only, then wait for the exit: a PACS gone at once, as in a crash or a pulled
        plug. Its storage is temporary and never started again, and a graceful stop takes Orthanc about
        3.5 s (its DICOM and HTTP listeners wind down), which every test stopping one would wait for."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)


def orthanc_config(
    workdir: Path, http_port: int, dicom_port: int, move_port: int, users: dict[str, str] | None
) -> dict[str, object]:
    """The temporary configuration: loopback use only, registered modality only, DICOMweb on."""
    storage = str(workdir / "storage")
    return {
        "Name": "her2-pet-cds-it",
        "StorageDirectory": storage,
        "IndexDirectory": storage,
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ORTHANC_AET,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": bool(users),
        "RegisteredUsers": dict(users or {}),
        "Plugins": [DICOMWEB_PLUGIN],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "Host": f"127.0.0.1:{http_port}",
            "Ssl": False,
            "EnableWado": False,
        },
        "DicomCheckCalledAet": True,
        "DicomCheckModalityHost": True,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": False,
        "DicomAlwaysAllowFind": False,
        "DicomAlwaysAllowMove": False,
        "DicomAlwaysAllowGet": False,
        "DicomModalities": {"cds": [CDS_AET, "127.0.0.1", move_port]},
        "DicomAssociationCloseDelay": 0,
        "DicomScuTimeout": 10,
        "SaveJobs": False,
        "StorageCompression": False,
        "HttpCompressionEnabled": False,
        "ConcurrentJobs": 2,
        # Largest PDU Orthanc sends and receives (its range is 4096-131072; default 16 KiB): one 80 kB PET
        # slice travels in one P-DATA-TF PDU instead of five, which C-GET throughput depends on.
        "MaximumPduLength": 131072,
    }


def orthanc_environment() -> dict[str, str]:
    """The process environment for Orthanc: ours plus ``TCP_NODELAY=1``.

    DCMTK (Orthanc's DICOM layer) reads ``TCP_NODELAY`` to switch Nagle's algorithm off on its DICOM
    sockets. With Nagle on, each C-STORE sub-operation of a C-GET can stall on the peer's delayed ACK: dcmtk's
    own getscu needs about 40 s for 600 slices that way, 0.3 s without it.
    """
    return {**os.environ, "TCP_NODELAY": "1"}


def start_orthanc(workdir: Path, *, users: dict[str, str] | None = None) -> OrthancServer:
    """Start one Orthanc in ``workdir`` (must be fresh) and wait until ``/system`` answers."""
    if not Path(ORTHANC_BINARY).exists() or not Path(DICOMWEB_PLUGIN).exists():
        missing_dependency(
            "Orthanc with its DICOMweb plugin is not installed (apt: orthanc orthanc-dicomweb)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    http_port, dicom_port, move_port = free_port(), free_port(), free_port()
    config_path = workdir / "orthanc.json"
    config_path.write_text(
        json.dumps(orthanc_config(workdir, http_port, dicom_port, move_port, users), indent=2)
    )
    log = (workdir / "orthanc.log").open("wb")
    process = subprocess.Popen(
        [ORTHANC_BINARY, str(config_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env=orthanc_environment(),
    )
    log.close()
    server = OrthancServer(
        workdir=workdir,
        http_port=http_port,
        dicom_port=dicom_port,
        move_port=move_port,
        process=process,
        users=dict(users or {}),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    with server.session() as session:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited with {process.returncode}: {server.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(requests.RequestException):
                if session.get(f"{server.base_url}/system", timeout=1).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"Orthanc not ready after {START_TIMEOUT_S} s: {server.log_path.read_text()[-2000:]}"
                )
            time.sleep(0.05)


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """One Orthanc for the test session (no HTTP authentication); tests call ``clear()`` for a clean PACS."""
    server = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def orthanc_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., OrthancServer]]:
    """Start extra Orthanc servers (``users=`` for Basic authentication); all stop after the test."""
    started: list[OrthancServer] = []

    def start(*, users: dict[str, str] | None = None) -> OrthancServer:
        server = start_orthanc(tmp_path_factory.mktemp("orthanc-extra"), users=users)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
