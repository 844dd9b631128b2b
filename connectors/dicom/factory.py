"""Build a ``PetStudySource`` from the ``HER2CDS_DICOM_SOURCE`` URL (ARCHITECTURE §4).

- ``file:///dir`` → :class:`~connectors.dicom.files.FilePetSource` (embedded folder, the default);
- ``http(s)://host[:port]/…/dicom-web`` → :class:`~connectors.dicom.dicomweb.DicomwebPetSource`;
- ``dimse://CALLED_AET@host:port`` → :class:`~connectors.dicom.dimse.DimsePetSource` (C-FIND + C-GET).

The caller (``cds_service``) reads the environment and mounted credentials and passes plain values here.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import requests
from dicomweb_client import DICOMwebClient

from connectors.dicom.dicomweb import DicomwebPetSource
from connectors.dicom.dimse import DimsePetSource, MoveDestination
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import PetStudySource
from connectors.http import DEFAULT_RETRY, RetryPolicy, Timeouts, make_session

Auth = tuple[str, str] | str | None
"""HTTP credentials: ``(user, password)`` for Basic, a string for a bearer token, None for none."""


def auth_from_text(text: str) -> Auth:
    """Credentials from a mounted file's text (``HER2CDS_DICOM_AUTH_FILE``): ``user:password`` or a token.

    A single line containing a colon is Basic credentials (RFC 7617 forbids colons in user ids); any other
    single line is a bearer token (RFC 6750 tokens contain no colon). Empty text means no authentication.
    """
    line = text.strip()
    if not line:
        return None
    if "\n" in line:
        raise ValueError("DICOM credentials must be a single line: user:password or a bearer token")
    user, sep, password = line.partition(":")
    return (user, password) if sep else line


def dicomweb_source(
    url: str,
    session: requests.Session | None = None,
    timeouts: Timeouts | None = None,
    auth: Auth = None,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> DicomwebPetSource:
    """A DICOMweb source for ``url`` (the service root, e.g. ``https://pacs/dicom-web``, no trailing slash).

    Retries come from the session (``retry`` when the session is built here): dicomweb-client's own
    exponential retry (up to five attempts, seconds apart) is switched off so the policy is stated once. The
    client's ``Host`` header is given the port (Orthanc pitfall 1, ``spec/pet-dicom.md`` §11).
    """
    timeouts = timeouts or Timeouts()
    base = url.rstrip("/")
    if session is None:
        session = make_session(retry=retry, auth=auth)
    elif auth is not None:
        session.auth = make_session(auth=auth).auth
    client = DICOMwebClient(base, session=session, timeout=timeouts.as_tuple())
    client.set_http_retry_params(retry=False)
    parts = urlsplit(base)
    if parts.port is not None and parts.hostname:
        client.host = f"{parts.hostname}:{parts.port}"
    return DicomwebPetSource(client, session=session, timeout=timeouts.as_tuple())


def pet_source_from_url(
    url: str,
    *,
    session: requests.Session | None = None,
    timeouts: Timeouts | None = None,
    calling_aet: str = "HER2CDS",
    auth: Auth = None,
    move_destination: MoveDestination | None = None,
) -> PetStudySource:
    """The source named by ``url``; ``ValueError`` for an unsupported or malformed URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file URL must name a local folder (file:///dir), got host {parts.netloc!r}")
        return FilePetSource(unquote(parts.path))
    if scheme in ("http", "https"):
        return dicomweb_source(url, session, timeouts, auth)
    if scheme == "dimse":
        called_aet = unquote(parts.username or "")
        if not called_aet or not parts.hostname or parts.port is None:
            raise ValueError("DIMSE URL must be dimse://CALLED_AET@host:port")
        return DimsePetSource(
            calling_aet,
            called_aet,
            parts.hostname,
            parts.port,
            timeouts or Timeouts(),
            move_destination=move_destination,
        )
    raise ValueError(f"unsupported DICOM source URL scheme {scheme!r} (file, http(s) or dimse)")
