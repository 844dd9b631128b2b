"""pynetdicom must not log identifiers: its debug and info handlers print the identifier datasets of C-FIND
requests and responses, which carry PatientID, PatientName and birth dates (PHI in logs).

Imported by every module of ours that uses pynetdicom (``dimse.py``, ``receiver.py``), so the switch is set
before any association exists, whichever command or service runs.
"""

from __future__ import annotations

from pynetdicom import _config as _pynetdicom_config

__all__ = ["identifiers_logged"]

_pynetdicom_config.LOG_REQUEST_IDENTIFIERS = False
_pynetdicom_config.LOG_RESPONSE_IDENTIFIERS = False


def identifiers_logged() -> bool:
    """Whether pynetdicom would log C-FIND request or response identifiers (always ``False`` here)."""
    return bool(_pynetdicom_config.LOG_REQUEST_IDENTIFIERS or _pynetdicom_config.LOG_RESPONSE_IDENTIFIERS)
