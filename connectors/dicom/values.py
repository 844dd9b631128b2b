"""Pure decoding of DICOM value representations this package needs: DA, TM, DT, DS/IS, private elements.

pydicom returns DA/TM/DT as strings unless ``datetime_conversion`` is switched on (a process-wide setting we
do not touch), and private elements may arrive as raw bytes (VR UN) or without their private creator (the IBSI
reference objects). These helpers accept all of those forms and return Python values, or None when the value
is absent or unparseable (DICOM PS3.5 §6.2).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag

_TM = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def text(value: Any) -> str | None:
    """A stripped string, or None for absent/empty values; bytes are decoded as ASCII/Latin-1."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    result = str(value).strip().strip("\x00").strip()
    return result or None


def number(value: Any) -> float | None:
    """A finite float from DS/IS/FD/bytes, or None."""
    raw = text(value) if isinstance(value, bytes | str) else value
    if raw is None:
        return None
    try:
        result = float(raw)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def parse_da(value: Any) -> dt.date | None:
    """DA ``YYYYMMDD`` (also the legacy ``YYYY.MM.DD``)."""
    raw = text(value)
    if raw is None:
        return None
    raw = raw.replace(".", "").replace("-", "")
    try:
        return dt.datetime.strptime(raw[:8], "%Y%m%d").date()
    except ValueError:
        return None


def parse_tm(value: Any) -> dt.time | None:
    """TM ``HH[MM[SS[.FFFFFF]]]`` (also the legacy ``HH:MM:SS``)."""
    raw = text(value)
    if raw is None:
        return None
    match = _TM.match(raw)
    if match is None:
        return None
    hour, minute, second, fraction = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    try:
        return dt.time(int(hour), int(minute or 0), min(int(second or 0), 59), micro)
    except ValueError:
        return None


def parse_dt(value: Any, *, local_offset: Any = None) -> dt.datetime | None:
    """DT ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` as a naive local datetime.

    A UTC offset in the value is aligned with Timezone Offset From UTC (0008,0201) when that is given
    (``local_offset``), otherwise dropped: both are then treated as local time (spec/pet-dicom.md §3 step 2).
    """
    raw = text(value)
    if raw is None:
        return None
    match = _DT.match(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        result = dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            min(int(second or 0), 59),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    target = _offset(text(local_offset))
    source = _offset(offset)
    if source is not None and target is not None:
        result = result.replace(tzinfo=source).astimezone(target).replace(tzinfo=None)
    return result


def _offset(value: str | None) -> dt.timezone | None:
    if value is None or not re.fullmatch(r"[+-]\d{4}", value):
        return None
    sign = -1 if value[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(value[1:3]), minutes=int(value[3:5])))


def combine(date: dt.date | None, time: dt.time | None) -> dt.datetime | None:
    """A datetime from separate DA and TM values, or None when either is missing."""
    if date is None or time is None:
        return None
    return dt.datetime.combine(date, time)


def private_value(ds: Dataset, group: int, element: int, creator: str) -> Any:
    """A private element's value read through its creator, falling back to the literal tag.

    ``element`` is the full element number as usually written (e.g. 0x1000 for (7053,1000)); the low byte is
    the offset within the creator's block. Files without the creator element (the IBSI objects) carry the
    literal tag.
    """
    try:
        return ds.get_private_item(group, element & 0xFF, creator).value
    except KeyError:
        pass
    tag = Tag(group, element)
    return ds[tag].value if tag in ds else None


def first_item(ds: Dataset, keyword: str) -> Dataset | None:
    """Item 0 of a sequence, or None."""
    seq = ds.get(keyword)
    if not seq:
        return None
    item = seq[0]
    return item if isinstance(item, Dataset) else None


def code_of(item: Dataset | None) -> tuple[str, str] | None:
    """(scheme designator, code value) of a code item, upper-cased scheme."""
    if item is None:
        return None
    value = text(item.get("CodeValue")) or text(item.get("LongCodeValue")) or text(item.get("URNCodeValue"))
    scheme = text(item.get("CodingSchemeDesignator"))
    if value is None or scheme is None:
        return None
    return scheme.upper(), value
