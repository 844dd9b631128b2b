"""``patient_key``: a keyed hash of the DICOM PatientID, the only patient reference in any output.

HMAC-SHA256 (RFC 2104) of the DICOM PatientID under the site's cohort secret (``HER2CDS_COHORT_KEY``, or the
``cohort-key`` file created with mode 0600 in ``HER2CDS_DATA_DIR``; ``Settings.cohort_hash_key``), cut to
16 hexadecimal characters (64 bits). The same patient gets the same key on every run with the same secret, so
rows can be followed as cases accrue; without the secret the key cannot be turned back into the PatientID or
recomputed from a guessed one.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

KEY_HEX_CHARS: Final = 16
_DOMAIN: Final = b"her2-pet-cds cohort patient v1\x00"
"""Domain separation: the same secret used for something else never yields these keys."""


class PatientKeyer:
    """Turns DICOM PatientIDs into ``patient_key`` values; the secret is kept out of ``repr``."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        if len(secret) < 32:
            raise ValueError("the cohort key must be at least 32 characters of random text")
        self._secret = secret.encode("utf-8")

    def __repr__(self) -> str:
        return "PatientKeyer(<secret>)"

    def __call__(self, dicom_patient_id: str) -> str:
        """The key of one patient (the PatientID is taken as stated, surrounding spaces removed)."""
        message = _DOMAIN + dicom_patient_id.strip().encode("utf-8")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]
