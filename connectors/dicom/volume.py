"""Pure: order single-frame PET instances into a volume by geometry and stack their stored pixel values.

Slices are ordered by the projection of Image Position (Patient) on the slice normal (the cross product of the
Image Orientation (Patient) cosines), never by Instance Number (DICOM PS3.3 C.7.6.2). Rescale slope and
intercept are kept per slice: GE writes a different slope on every slice (spec/pet-dicom.md §3 step 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydicom.dataset import Dataset

from connectors.dicom.values import number, text
from connectors.errors import InvalidSourceDataError
from connectors.pet.types import PetGeometry, RawPetSlices

_POSITION_TOLERANCE_MM = 0.01


def _vector(ds: Dataset, keyword: str, size: int) -> tuple[float, ...]:
    values = ds.get(keyword)
    if values is None or len(values) != size:
        raise InvalidSourceDataError(
            f"{keyword} is missing or malformed in instance {text(ds.get('SOPInstanceUID'))}"
        )
    result = tuple(float(v) for v in values)
    return result


def slice_normal(ds: Dataset) -> tuple[float, float, float]:
    """Unit normal of an instance's plane (row cosine × column cosine)."""
    orientation = _vector(ds, "ImageOrientationPatient", 6)
    normal = np.cross(np.asarray(orientation[:3]), np.asarray(orientation[3:]))
    norm = float(np.linalg.norm(normal))
    if norm < 1e-6:
        raise InvalidSourceDataError("ImageOrientationPatient cosines are parallel")
    unit = normal / norm
    return float(unit[0]), float(unit[1]), float(unit[2])


def sort_instances(datasets: Sequence[Dataset]) -> list[Dataset]:
    """Instances ordered along the slice normal (ascending), refusing duplicates and mixed orientations.

    Raises ``InvalidSourceDataError`` for multi-frame instances, mixed orientations or two instances at the
    same position (a dynamic or gated series, not supported).
    """
    if not datasets:
        raise InvalidSourceDataError("no instances")
    for ds in datasets:
        frames = number(ds.get("NumberOfFrames")) or 1
        if frames > 1:
            raise InvalidSourceDataError("multi-frame (Enhanced) PET instances are not supported")
    orientation = _vector(datasets[0], "ImageOrientationPatient", 6)
    normal = np.asarray(slice_normal(datasets[0]))
    keyed = []
    for ds in datasets:
        if not np.allclose(_vector(ds, "ImageOrientationPatient", 6), orientation, atol=1e-4):
            raise InvalidSourceDataError("instances of the series have different orientations")
        keyed.append((float(np.dot(normal, _vector(ds, "ImagePositionPatient", 3))), ds))
    keyed.sort(key=lambda pair: pair[0])
    distances = np.diff([key for key, _ in keyed])
    if distances.size and float(distances.min()) < _POSITION_TOLERANCE_MM:
        raise InvalidSourceDataError("two instances share a slice position (dynamic or gated series)")
    return [ds for _, ds in keyed]


def stack_slices(ordered: Sequence[Dataset]) -> tuple[RawPetSlices, tuple[str, ...]]:
    """Stored values int[z, y, x] with per-slice slope and intercept, and the geometry of the grid.

    ``ordered`` comes from ``sort_instances``. Returns notes such as non-uniform slice spacing (the mean
    spacing is then used for volumes and SUVpeak).
    """
    first = ordered[0]
    rows, cols = int(first.Rows), int(first.Columns)
    pixels = []
    for ds in ordered:
        if int(ds.Rows) != rows or int(ds.Columns) != cols:
            raise InvalidSourceDataError("instances of the series have different matrix sizes")
        pixels.append(np.asarray(ds.pixel_array))
    stored = np.stack(pixels, axis=0)
    slopes = np.asarray([number(ds.get("RescaleSlope")) or 1.0 for ds in ordered], dtype=np.float64)
    intercepts = np.asarray([number(ds.get("RescaleIntercept")) or 0.0 for ds in ordered], dtype=np.float64)
    orientation = _vector(first, "ImageOrientationPatient", 6)
    normal = np.asarray(slice_normal(first))
    spacing = _vector(first, "PixelSpacing", 2)
    positions = [float(np.dot(normal, _vector(ds, "ImagePositionPatient", 3))) for ds in ordered]
    notes: list[str] = []
    if len(positions) > 1:
        gaps = np.diff(positions)
        slice_gap = float(gaps.mean())
        if float(gaps.max() - gaps.min()) > 0.01 * slice_gap:
            notes.append(f"non-uniform slice spacing ({gaps.min():.2f}–{gaps.max():.2f} mm); mean used")
    else:
        slice_gap = number(first.get("SliceThickness")) or spacing[0]
    geometry = PetGeometry(
        origin_mm=_vector(first, "ImagePositionPatient", 3),  # type: ignore[arg-type]
        row_cosine=orientation[:3],  # type: ignore[arg-type]
        column_cosine=orientation[3:],  # type: ignore[arg-type]
        slice_normal=slice_normal(first),
        spacing_mm=(slice_gap, spacing[0], spacing[1]),
    )
    raw = RawPetSlices(
        stored=stored,
        slopes=slopes,
        intercepts=intercepts,
        geometry=geometry,
        frame_of_reference_uid=text(first.get("FrameOfReferenceUID")),
        sop_instance_uids=tuple(text(ds.get("SOPInstanceUID")) or "" for ds in ordered),
        notes=tuple(notes),
    )
    return raw, tuple(notes)
