"""Pure: DICOM Segmentation (SEG) segments → masks on the PET volume's grid, aligned by geometry.

A SEG stores only non-empty frames, each with its own Image Position (Patient), so frames are placed by
geometry, never by frame index (spec/pet-dicom.md §9). Each frame position is projected onto the PET grid; it
must fall on a voxel centre (±0.1 voxel) with the same orientation and pixel spacing (±1 %), and the Frame of
Reference must match. Resampling other grids is not done: such segments are skipped with a warning. BINARY,
FRACTIONAL (scaled by Maximum Fractional Value) and LABELMAP segmentations are read (DICOM PS3.3 C.8.20).

A segment is a lesion when its Segmented Property Category is Morphologically Abnormal Structure (SCT
49755003) or its type a lesion/neoplasm/mass concept; Liver (SCT 10200004) and aorta/ventricle structures are
reference regions; anything else is ignored with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from pydicom.dataset import Dataset

from connectors.dicom.sr import BLOOD_POOL_CODES, LIVER_CODES
from connectors.dicom.values import code_of, first_item, number, text
from connectors.pet.types import LesionMask, PetVolume

SEG_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
_ABNORMAL_CATEGORY = frozenset({("SCT", "49755003"), ("SRT", "M-01000")})
_LESION_TYPES = frozenset(
    {("SCT", "52988006"), ("SCT", "108369006"), ("SCT", "4147007"), ("SCT", "399981008"), ("SCT", "86049000")}
)
_GRID_TOLERANCE = 0.1


class SegmentKind(StrEnum):
    LESION = "lesion"
    LIVER = "liver"
    BLOOD_POOL = "blood_pool"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Segment:
    """One segment mapped onto the PET grid. ``mask`` is None when it could not be aligned (see warnings)."""

    seg_instance_uid: str
    number: int
    label: str
    kind: SegmentKind
    mask: LesionMask | None
    tracking_id: str | None = None
    tracking_uid: str | None = None
    site_code: tuple[str, str] | None = None
    site_text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SegReads:
    segments: tuple[Segment, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def lesions(self) -> list[Segment]:
        return [s for s in self.segments if s.kind is SegmentKind.LESION and s.mask is not None]

    def by_kind(self, kind: SegmentKind) -> list[Segment]:
        return [s for s in self.segments if s.kind is kind and s.mask is not None]

    def find(self, seg_uid: str, number: int) -> Segment | None:
        return next((s for s in self.segments if s.seg_instance_uid == seg_uid and s.number == number), None)


def _kind(item: Dataset) -> SegmentKind:
    category = code_of(first_item(item, "SegmentedPropertyCategoryCodeSequence"))
    kind = code_of(first_item(item, "SegmentedPropertyTypeCodeSequence"))
    if kind in LIVER_CODES:
        return SegmentKind.LIVER
    if kind in BLOOD_POOL_CODES:
        return SegmentKind.BLOOD_POOL
    if category in _ABNORMAL_CATEGORY or kind in _LESION_TYPES:
        return SegmentKind.LESION
    return SegmentKind.OTHER


def _frame_item(ds: Dataset, index: int, keyword: str) -> Dataset | None:
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if index < len(per_frame):
        found = first_item(per_frame[index], keyword)
        if found is not None:
            return found
    shared = first_item(ds, "SharedFunctionalGroupsSequence")
    return first_item(shared, keyword) if shared is not None else None


class _Grid:
    """Maps SEG frame positions to PET voxel indices."""

    def __init__(self, volume: PetVolume) -> None:
        g = volume.geometry
        self.shape = volume.suv.shape
        self.origin = np.asarray(g.origin_mm)
        self.axes = np.asarray([g.slice_normal, g.column_cosine, g.row_cosine])
        self.spacing = np.asarray(g.spacing_mm)
        self.orientation = np.asarray([*g.row_cosine, *g.column_cosine])

    def check(self, ds: Dataset) -> str | None:
        orientation = _frame_item(ds, 0, "PlaneOrientationSequence")
        measures = _frame_item(ds, 0, "PixelMeasuresSequence")
        if orientation is None or measures is None:
            return "no plane orientation or pixel measures"
        iop = np.asarray([float(v) for v in orientation.ImageOrientationPatient])
        if not np.allclose(iop, self.orientation, atol=1e-3):
            return "orientation differs from the PET series"
        spacing = np.asarray([float(v) for v in measures.PixelSpacing])
        if not np.allclose(spacing, self.spacing[1:], rtol=0.01):
            return "pixel spacing differs from the PET series (resampling not supported)"
        return None

    def index(self, position: Sequence[float]) -> tuple[int, int, int] | None:
        steps = self.axes @ (np.asarray(position, dtype=np.float64) - self.origin) / self.spacing
        rounded = np.rint(steps)
        if np.any(np.abs(steps - rounded) > _GRID_TOLERANCE):
            return None
        return int(rounded[0]), int(rounded[1]), int(rounded[2])


def _frames(ds: Dataset) -> np.ndarray:
    pixels = np.asarray(ds.pixel_array)
    return pixels[None, ...] if pixels.ndim == 2 else pixels


def _segment_frames(
    ds: Dataset, grid: _Grid
) -> tuple[dict[int, list[tuple[tuple[int, int, int], np.ndarray]]], int]:
    """Frames per segment number with their PET index; also the count of frames off the grid."""
    seg_type = (text(ds.get("SegmentationType")) or "BINARY").upper()
    scale = float(number(ds.get("MaximumFractionalValue")) or 255.0) if seg_type == "FRACTIONAL" else 1.0
    out: dict[int, list[tuple[tuple[int, int, int], np.ndarray]]] = {}
    off_grid = 0
    for i, frame in enumerate(_frames(ds)):
        plane = _frame_item(ds, i, "PlanePositionSequence")
        where = grid.index([float(v) for v in plane.ImagePositionPatient]) if plane is not None else None
        if where is None or not 0 <= where[0] < grid.shape[0]:
            off_grid += 1
            continue
        if seg_type == "LABELMAP":
            for value in np.unique(frame):
                if value:
                    out.setdefault(int(value), []).append((where, (frame == value).astype(np.float32)))
            continue
        ident = _frame_item(ds, i, "SegmentIdentificationSequence")
        segment = int(ident.ReferencedSegmentNumber) if ident is not None else 1
        out.setdefault(segment, []).append((where, np.clip(frame.astype(np.float32) / scale, 0.0, 1.0)))
    return out, off_grid


def _mask(
    frames: list[tuple[tuple[int, int, int], np.ndarray]], shape: tuple[int, ...], label: str
) -> LesionMask | None:
    full = np.zeros(shape, dtype=np.float32)
    for (k, j, i), frame in frames:
        rows = slice(max(j, 0), min(j + frame.shape[0], shape[1]))
        cols = slice(max(i, 0), min(i + frame.shape[1], shape[2]))
        src = frame[rows.start - j : rows.stop - j, cols.start - i : cols.stop - i]
        full[k, rows, cols] = np.maximum(full[k, rows, cols], src)
    if not np.any(full > 0):
        return None
    return LesionMask.from_full(full, label)


def read_segmentations(segs: Sequence[Dataset], volume: PetVolume) -> SegReads:
    """Segments of the given SEG instances, aligned to ``volume`` (segments that cannot be aligned get no
    mask)."""
    grid = _Grid(volume)
    segments: list[Segment] = []
    warnings: list[str] = []
    for ds in segs:
        uid = text(ds.get("SOPInstanceUID")) or ""
        for_uid = text(ds.get("FrameOfReferenceUID"))
        if volume.frame_of_reference_uid and for_uid and for_uid != volume.frame_of_reference_uid:
            warnings.append(f"SEG {uid}: Frame of Reference differs from the PET series; ignored")
            continue
        problem = grid.check(ds)
        if problem:
            warnings.append(f"SEG {uid}: {problem}; ignored")
            continue
        frames, off_grid = _segment_frames(ds, grid)
        if off_grid:
            warnings.append(f"SEG {uid}: {off_grid} frame(s) off the PET grid were skipped")
        for item in ds.get("SegmentSequence") or []:
            segments.append(_segment(item, uid, frames, volume.suv.shape))
    for s in segments:
        if s.kind is SegmentKind.OTHER:
            warnings.append(
                f"SEG segment {s.number} ({s.label}) is neither a lesion nor a reference; ignored"
            )
    return SegReads(segments=tuple(segments), warnings=tuple(warnings))


def _segment(
    item: Dataset,
    uid: str,
    frames: dict[int, list[tuple[tuple[int, int, int], np.ndarray]]],
    shape: tuple[int, ...],
) -> Segment:
    seg_number = int(item.SegmentNumber)
    label = text(item.get("SegmentLabel")) or f"segment-{seg_number}"
    tracking_id = text(item.get("TrackingID"))
    region = first_item(item, "AnatomicRegionSequence")
    mask = _mask(frames.get(seg_number, []), shape, tracking_id or label)
    if mask is not None:
        mask = LesionMask(
            weights=mask.weights,
            label=mask.label,
            offset=mask.offset,
            segment_number=seg_number,
            tracking_uid=text(item.get("TrackingUID")),
            site_code=code_of(region),
            site_text=text(region.get("CodeMeaning")) if region is not None else None,
        )
    return Segment(
        seg_instance_uid=uid,
        number=seg_number,
        label=label,
        kind=_kind(item),
        mask=mask,
        tracking_id=tracking_id,
        tracking_uid=text(item.get("TrackingUID")),
        site_code=code_of(region),
        site_text=text(region.get("CodeMeaning")) if region is not None else None,
    )
