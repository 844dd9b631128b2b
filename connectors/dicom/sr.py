"""Pure: DICOM SR TID 1500 Measurement Reports → the reader's lesion reads and reference-region values.

The coded convention read here is documented in ``docs/reader-sr-convention.md``. In short: every Measurement
Group (DCM 125007) under an Imaging Measurement Report (DCM 126000) is one finding, with Tracking Identifier
(DCM 112039), Tracking Unique Identifier (DCM 112040), Finding (DCM 121071), Finding Site (SCT 363698007), an
optional Referenced Segment (DCM 121191) with Source series for segmentation (DCM 121232), SUV measurements
(DCM 126401 SUVbw, 126400 SUV) qualified by Derivation (DCM 121401: SCT 56851009 Maximum, SCT 373098007 Mean,
DCM 126031 Peak), Metabolic Volume (DCM 126032), and the reader's HER2-uptake call as a qualitative evaluation
with concept name (99HER2CDS, her2-uptake) and value avid / non-avid / equivocal of the same private scheme. A
group whose Finding is Liver (SCT 10200004) or an aorta/blood-pool structure is a reference region, not a
lesion. Reports written with highdicom (``Comprehensive3DSR`` with ``MeasurementReport``) follow this layout
and are accepted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from connectors.dicom.series_refs import series_references
from connectors.dicom.values import code_of, first_item, number, text
from connectors.pet.types import ReferenceMeasurement, ReferenceRegion
from rules.domain import LesionSite, ReaderCall

Code = tuple[str, str]

SR_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
        "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
        "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    }
)

PRIVATE_SCHEME = "99HER2CDS"
UPTAKE_CALL: Code = (PRIVATE_SCHEME, "her2-uptake")
CALL_VALUES: dict[str, ReaderCall | None] = {
    "avid": ReaderCall.AVID,
    "non-avid": ReaderCall.NON_AVID,
    "equivocal": None,
}

MEASUREMENT_REPORT: Code = ("DCM", "126000")
MEASUREMENT_GROUP: Code = ("DCM", "125007")
TRACKING_ID: Code = ("DCM", "112039")
TRACKING_UID: Code = ("DCM", "112040")
FINDING: Code = ("DCM", "121071")
FINDING_SITES = frozenset({("SCT", "363698007"), ("SRT", "G-C0E3")})
REFERENCED_SEGMENT: Code = ("DCM", "121191")
SOURCE_SERIES_FOR_SEG: Code = ("DCM", "121232")
DERIVATION: Code = ("DCM", "121401")
SUV_CONCEPTS = frozenset({("DCM", "126401"), ("DCM", "126400")})
METABOLIC_VOLUME: Code = ("DCM", "126032")
MAXIMUM = frozenset({("SCT", "56851009"), ("SRT", "R-00353")})
MEAN = frozenset({("SCT", "373098007"), ("SRT", "R-00317")})
PEAK: Code = ("DCM", "126031")
LIVER_CODES = frozenset({("SCT", "10200004"), ("SRT", "T-62000")})
BLOOD_POOL_CODES = frozenset(
    {
        ("SCT", "15825003"),  # Aorta
        ("SCT", "281130003"),  # Descending aorta
        ("SCT", "32672002"),  # Descending aorta (older concept id)
        ("SCT", "87878005"),  # Left ventricle of heart
        ("SRT", "T-42000"),  # Aorta (legacy)
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class LesionRead:
    """One lesion as the reader reported it. SUVs in g/ml (SUVbw), volume in ml.

    ``reader_call`` is NOT_ASSESSED when the report carries no call or calls it equivocal (``equivocal``
    true). ``segment`` is (SEG SOP Instance UID, segment number) when the group references a segment.
    ``site_code`` is the Finding Site's SNOMED CT concept id (scheme SCT; legacy SRT codes give None).
    """

    tracking_id: str
    tracking_uid: str | None = None
    site: LesionSite = LesionSite.UNKNOWN
    site_text: str | None = None
    site_code: str | None = None
    suv_max: float | None = None
    suv_peak: float | None = None
    suv_mean: float | None = None
    volume_ml: float | None = None
    reader_call: ReaderCall = ReaderCall.NOT_ASSESSED
    equivocal: bool = False
    segment: tuple[str, int] | None = None
    sr_instance_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SrReads:
    """Everything read from the reports of one series: lesions, reference regions and what was skipped."""

    lesions: tuple[LesionRead, ...] = ()
    references: tuple[ReferenceMeasurement, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def _concept(item: Dataset) -> Code | None:
    return code_of(first_item(item, "ConceptNameCodeSequence"))


def _children(item: Dataset) -> Sequence[Dataset]:
    return list(item.get("ContentSequence") or [])


def _groups(item: Dataset) -> Iterator[Dataset]:
    for child in _children(item):
        if text(child.get("ValueType")) == "CONTAINER" and _concept(child) == MEASUREMENT_GROUP:
            yield child
        elif text(child.get("ValueType")) == "CONTAINER":
            yield from _groups(child)


def is_measurement_report(ds: Dataset) -> bool:
    """An SR document whose root is an Imaging Measurement Report (TID 1500)."""
    return text(ds.get("Modality")) == "SR" and _concept(ds) == MEASUREMENT_REPORT


@dataclass(slots=True)
class _Group:
    tracking_id: str | None = None
    tracking_uid: str | None = None
    finding: Code | None = None
    site: Code | None = None
    site_meaning: str | None = None
    segment: tuple[str, int] | None = None
    values: dict[str, float] = field(default_factory=dict)
    call: str | None = None
    notes: list[str] = field(default_factory=list)


def _derivation(item: Dataset) -> Code | None:
    for child in _children(item):
        if _concept(child) == DERIVATION:
            return code_of(first_item(child, "ConceptCodeSequence"))
    return None


def _read_num(item: Dataset, group: _Group) -> None:
    concept = _concept(item)
    measured = first_item(item, "MeasuredValueSequence")
    value = number(measured.get("NumericValue")) if measured is not None else None
    if value is None:
        return
    if concept == METABOLIC_VOLUME:
        group.values["volume"] = value
    elif concept in SUV_CONCEPTS:
        derivation = _derivation(item)
        if derivation in MAXIMUM or derivation is None:
            group.values["max"] = value
            if derivation is None:
                group.notes.append("SUV without Derivation read as SUVmax")
        elif derivation in MEAN:
            group.values["mean"] = value
        elif derivation == PEAK:
            group.values["peak"] = value


def _read_group(item: Dataset) -> _Group:
    group = _Group()
    for child in _children(item):
        concept, kind = _concept(child), text(child.get("ValueType"))
        if concept == TRACKING_ID:
            group.tracking_id = text(child.get("TextValue"))
        elif concept == TRACKING_UID:
            group.tracking_uid = text(child.get("UID"))
        elif concept == FINDING:
            group.finding = code_of(first_item(child, "ConceptCodeSequence"))
        elif concept in FINDING_SITES:
            site = first_item(child, "ConceptCodeSequence")
            group.site, group.site_meaning = code_of(site), text(site.get("CodeMeaning")) if site else None
        elif concept == REFERENCED_SEGMENT and kind in ("IMAGE", "COMPOSITE"):
            ref = first_item(child, "ReferencedSOPSequence")
            uid = text(ref.get("ReferencedSOPInstanceUID")) if ref else None
            numbers = ref.get("ReferencedSegmentNumber") if ref else None
            if uid and numbers is not None:
                segment = (
                    numbers[0]
                    if isinstance(numbers, list | tuple) or hasattr(numbers, "__getitem__")
                    else numbers
                )
                group.segment = (uid, int(segment))
        elif concept == UPTAKE_CALL and kind == "CODE":
            value = code_of(first_item(child, "ConceptCodeSequence"))
            group.call = value[1] if value and value[0] == PRIVATE_SCHEME else None
        elif kind == "NUM":
            _read_num(child, group)
    return group


def _site(group: _Group) -> LesionSite:
    if group.site is None:
        return LesionSite.UNKNOWN
    meaning = (group.site_meaning or "").lower()
    if group.site in LIVER_CODES or "liver" in meaning or "hepat" in meaning:
        return LesionSite.HEPATIC
    return LesionSite.NON_HEPATIC


def snomed_code(code: Code | None) -> str | None:
    """The SNOMED CT concept id of a (scheme, value) code: value when the scheme is SCT, else None."""
    return code[1] if code is not None and code[0] == "SCT" else None


def _reference_region(group: _Group) -> ReferenceRegion | None:
    if group.finding in LIVER_CODES:
        return ReferenceRegion.LIVER
    if group.finding in BLOOD_POOL_CODES:
        return ReferenceRegion.BLOOD_POOL
    return None


def read_measurement_reports(reports: Sequence[Dataset], series_uid: str | None = None) -> SrReads:
    """Lesion reads and reference values of the reports that reference ``series_uid`` (all when None)."""
    lesions: list[LesionRead] = []
    references: list[ReferenceMeasurement] = []
    warnings: list[str] = []
    for ds in reports:
        uid = text(ds.get("SOPInstanceUID"))
        if not is_measurement_report(ds):
            warnings.append(f"SR {uid} is not a TID 1500 Measurement Report; ignored")
            continue
        if series_uid is not None and not series_references(ds).names(series_uid):
            continue
        for number_, item in enumerate(_groups(ds), start=1):
            group = _read_group(item)
            region = _reference_region(group)
            if region is not None:
                if "mean" in group.values:
                    references.append(
                        ReferenceMeasurement(region=region, suv_mean=group.values["mean"], method="reader SR")
                    )
                continue
            lesions.append(_lesion(group, uid, number_, warnings))
    return SrReads(lesions=tuple(lesions), references=tuple(references), warnings=tuple(warnings))


def _lesion(group: _Group, uid: str | None, index: int, warnings: list[str]) -> LesionRead:
    label = group.tracking_id or group.tracking_uid or f"sr-{index}"
    call = ReaderCall.NOT_ASSESSED
    equivocal = False
    if group.call is not None:
        mapped = CALL_VALUES.get(group.call)
        equivocal = group.call == "equivocal"
        if mapped is not None:
            call = mapped
        elif not equivocal:
            warnings.append(f"lesion {label}: unknown uptake call {group.call!r}")
    warnings.extend(f"lesion {label}: {note}" for note in group.notes)
    return LesionRead(
        tracking_id=label,
        tracking_uid=group.tracking_uid,
        site=_site(group),
        site_text=group.site_meaning,
        site_code=snomed_code(group.site),
        suv_max=group.values.get("max"),
        suv_peak=group.values.get("peak"),
        suv_mean=group.values.get("mean"),
        volume_ml=group.values.get("volume"),
        reader_call=call,
        equivocal=equivocal,
        segment=group.segment,
        sr_instance_uid=uid,
    )
