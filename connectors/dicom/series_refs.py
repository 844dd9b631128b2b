"""Which PET series an SR or SEG instance says it describes: one reading, two questions.

An instance names series in three places: its Referenced Series Sequence (0008,1115) (SEG, PS3.3 C.7.4.1),
the Referenced Series Sequences inside its SR evidence sequences, Current Requested Procedure Evidence
(0040,A375) and Pertinent Other Evidence (0040,A385) (PS3.3 C.17.2), and UIDREF content items of an SR
(TID 1500 "Source series for segmentation" and the like, PS3.16). :func:`series_references` reads all three
once; the two questions asked of the result have different names because they have different answers for an
instance that names no series at all:

- :meth:`SeriesReferences.names`: the instance names the series (strict). The TID 1500 reader attributes a
  report to a PET series only on this answer.
- :meth:`SeriesReferences.may_describe`: the instance names the series, or states no referenced series at
  all (lenient). Transports hand such SR and SEG instances to the analysis as candidates; a SEG is then kept
  only when its geometry matches the PET volume, a report only when it names the series.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydicom import Dataset

from connectors.dicom.values import text

_EVIDENCE_SEQUENCES = ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence")


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesReferences:
    """The SeriesInstanceUIDs an instance names, and whether it has any referenced-series sequence.

    ``stated`` is False when no referenced-series sequence is present (UIDREF content items alone do not
    state references: they may hold tracking or instance UIDs).
    """

    series: frozenset[str] = frozenset()
    stated: bool = False

    def names(self, series_uid: str) -> bool:
        """True when the instance names ``series_uid`` (in a sequence or a UIDREF content item)."""
        return series_uid in self.series

    def may_describe(self, series_uid: str) -> bool:
        """True when the instance names ``series_uid`` or states no referenced series at all."""
        return not self.stated or series_uid in self.series


def series_references(ds: Dataset) -> SeriesReferences:
    """Read the series references of one SR or SEG instance (see the module docstring)."""
    found: set[str] = set()
    stated = False
    for item in ds.get("ReferencedSeriesSequence") or []:
        stated = True
        if uid := text(item.get("SeriesInstanceUID")):
            found.add(uid)
    for keyword in _EVIDENCE_SEQUENCES:
        for study in ds.get(keyword) or []:
            for series in study.get("ReferencedSeriesSequence") or []:
                stated = True
                if uid := text(series.get("SeriesInstanceUID")):
                    found.add(uid)
    found.update(uid for item in _content_items(ds) if (uid := text(item.get("UID"))))
    return SeriesReferences(series=frozenset(found), stated=stated)


def _content_items(item: Dataset) -> Iterator[Dataset]:
    children: Sequence[Dataset] = item.get("ContentSequence") or []
    for child in children:
        yield child
        yield from _content_items(child)
