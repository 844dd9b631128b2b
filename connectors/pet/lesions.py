"""Lesion statistics (SUVmax, SUVpeak, SUVmean, volume) and automated hot-spot candidates.

ROI statistics follow spec/pet-dicom.md §7. SUVpeak is PERCIST 1.0 (Wahl et al., J Nucl Med 2009; Lodge et
al., J Nucl Med 2012): the mean SUV in a 1.000 cm³ sphere (r = 6.2035 mm) placed to maximise the mean, with
three pinned choices: (1) voxel-centre inclusion kernel, no partial-volume weighting; (2) sphere centres
restricted to lesion voxels; (3) voxels outside the image are dropped from the mean. At 4 mm isotropic voxels
the kernel has 19 voxels.

Automated candidates (``ThresholdDetector``, behind the ``LesionDetector`` protocol) are connected components
(26-connectivity, ``scipy.ndimage.label``) above a multiple of a reference SUV; they are never reader findings
and never count as avid (spec/clinical-logic.md §13).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from connectors.errors import SuvNotComputableError
from connectors.pet.types import BoolArray, LesionMask, LesionMeasurement, PetVolume

PEAK_SPHERE_RADIUS_MM = 6.2035
"""Radius of a 1.000 cm³ sphere: (3 / (4π))^(1/3) · 10 mm (PERCIST SUVpeak)."""


def sphere_kernel(
    spacing_mm: tuple[float, float, float], radius_mm: float = PEAK_SPHERE_RADIUS_MM
) -> BoolArray:
    """Voxel-centre inclusion kernel: voxels whose centre lies within ``radius_mm`` of the central voxel's."""
    half = [math.floor(radius_mm / s) for s in spacing_mm]
    grids = np.meshgrid(
        *[np.arange(-h, h + 1) * s for h, s in zip(half, spacing_mm, strict=True)], indexing="ij"
    )
    distance2 = sum(g**2 for g in grids)
    return np.asarray(distance2 <= radius_mm**2 + 1e-9, dtype=np.bool_)


def _padded_box(
    shape: tuple[int, ...], mask: LesionMask, pad: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Slices of the mask box grown by ``pad`` (clipped to the image), and of the mask box inside that
    region."""
    outer = []
    inner = []
    for start, size, p, limit in zip(mask.offset, mask.weights.shape, pad, shape, strict=True):
        lo, hi = max(start - p, 0), min(start + size + p, limit)
        outer.append(slice(lo, hi))
        inner.append(slice(start - lo, start - lo + size))
    return tuple(outer), tuple(inner)


def suv_peak(volume: PetVolume, mask: LesionMask) -> tuple[float, tuple[int, int, int]]:
    """PERCIST SUVpeak of a lesion and the (z, y, x) index of the sphere centre that gives it."""
    kernel = sphere_kernel(volume.spacing_mm)
    pad = tuple(k // 2 for k in kernel.shape)
    outer, inner = _padded_box(volume.suv.shape, mask, pad)
    region = volume.suv[outer].astype(np.float64)
    weights = kernel.astype(np.float64)
    sums = ndimage.correlate(region, weights, mode="constant", cval=0.0)
    counts = ndimage.correlate(np.ones_like(region), weights, mode="constant", cval=0.0)
    means = (sums / counts)[inner]
    means = np.where(mask.binary, means, -np.inf)
    flat = int(np.argmax(means))
    index = np.unravel_index(flat, means.shape)
    centre = tuple(int(i) + o for i, o in zip(index, mask.offset, strict=True))
    return float(means[index]), (centre[0], centre[1], centre[2])


def measure(volume: PetVolume, mask: LesionMask, *, peak: bool = True) -> LesionMeasurement:
    """SUVmax, SUVpeak, SUVmean (weighted by fractional membership) and volume (ml) of one region.

    Volume = Σ weights × voxel volume, so a binary mask gives voxels × voxel volume. Raises
    ``SuvNotComputableError`` when the mask does not fit the volume or is empty.
    """
    for start, size, limit in zip(mask.offset, mask.weights.shape, volume.suv.shape, strict=True):
        if start + size > limit:
            raise SuvNotComputableError(f"mask {mask.label!r} extends beyond the PET volume")
    box = volume.suv[mask.slices]
    binary = mask.binary
    count = int(binary.sum())
    if count == 0:
        raise SuvNotComputableError(f"mask {mask.label!r} is empty")
    values = np.where(binary, box, -np.inf)
    flat = int(np.argmax(values))
    max_index = np.unravel_index(flat, values.shape)
    weight_sum = float(mask.weights.sum(dtype=np.float64))
    mean = float((box.astype(np.float64) * mask.weights).sum() / weight_sum)
    peak_value, centre = suv_peak(volume, mask) if peak else (None, None)
    return LesionMeasurement(
        suv_max=float(values[max_index]),
        suv_peak=peak_value,
        suv_mean=mean,
        volume_ml=weight_sum * volume.geometry.voxel_volume_ml,
        voxel_count=count,
        max_index=tuple(int(i) + o for i, o in zip(max_index, mask.offset, strict=True)),  # type: ignore[arg-type]
        peak_center=centre,
    )


class LesionDetector(Protocol):
    """Finds candidate lesions in an SUV volume; candidates are automated and unconfirmed."""

    def detect(
        self, volume: PetVolume, *, reference_suv: float, exclude: BoolArray | None = None
    ) -> list[LesionMask]:
        """Candidate masks, hottest first. ``reference_suv`` is the blood-pool (or background) SUVmean;
        ``exclude`` marks voxels that are not lesions (reference regions)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdDetector:
    """Default detector: connected components of SUV > ``factor`` × reference.

    Components larger than ``max_volume_ml`` are organs (liver, blood pool), not lesions: within them, hot
    spots above ``organ_factor`` × the component's median are searched once more, so a hepatic lesion is still
    found. Components smaller than ``min_volume_ml`` are noise. At most ``max_candidates`` are returned, by
    SUVmax.
    """

    factor: float = 1.5
    organ_factor: float = 1.5
    min_volume_ml: float = 0.3
    max_volume_ml: float = 250.0
    max_candidates: int = 20

    def __post_init__(self) -> None:
        if (
            self.factor <= 1.0
            or self.organ_factor <= 1.0
            or self.min_volume_ml < 0
            or self.max_volume_ml <= self.min_volume_ml
        ):
            raise ValueError("ThresholdDetector needs factors > 1 and 0 ≤ min_volume_ml < max_volume_ml")

    def detect(
        self, volume: PetVolume, *, reference_suv: float, exclude: BoolArray | None = None
    ) -> list[LesionMask]:
        if not (math.isfinite(reference_suv) and reference_suv > 0):
            raise SuvNotComputableError("automated detection needs a positive reference SUV")
        hot = volume.suv > self.factor * reference_suv
        if exclude is not None:
            hot &= ~exclude
        voxel_ml = volume.geometry.voxel_volume_ml
        found: list[tuple[float, LesionMask]] = []
        for box, component in self._components(hot):
            size_ml = float(component.sum()) * voxel_ml
            if size_ml > self.max_volume_ml:
                found.extend(self._within_organ(volume, box, component))
            elif size_ml >= self.min_volume_ml:
                found.append(self._candidate(volume, box, component))
        found.sort(key=lambda pair: -pair[0])
        return [mask for _, mask in found[: self.max_candidates]]

    @staticmethod
    def _components(hot: BoolArray) -> list[tuple[tuple[slice, ...], BoolArray]]:
        labels, _ = ndimage.label(hot, structure=np.ones((3, 3, 3), dtype=bool))
        out = []
        for number, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is not None:
                out.append((box, np.asarray(labels[box] == number)))
        return out

    def _within_organ(
        self, volume: PetVolume, box: tuple[slice, ...], component: BoolArray
    ) -> list[tuple[float, LesionMask]]:
        region = volume.suv[box]
        median = float(np.median(region[component]))
        hot = component & (region > self.organ_factor * median)
        out = []
        for inner, sub in self._components(hot):
            if float(sub.sum()) * volume.geometry.voxel_volume_ml >= self.min_volume_ml:
                shifted = tuple(
                    slice(o.start + i.start, o.start + i.stop) for o, i in zip(box, inner, strict=True)
                )
                out.append(self._candidate(volume, shifted, sub))
        return out

    @staticmethod
    def _candidate(
        volume: PetVolume, box: tuple[slice, ...], component: BoolArray
    ) -> tuple[float, LesionMask]:
        offset = (int(box[0].start), int(box[1].start), int(box[2].start))
        suv_max = float(volume.suv[box][component].max())
        mask = LesionMask(weights=component.astype(np.float32), label="", offset=offset)
        return suv_max, mask


def label_candidates(masks: list[LesionMask], prefix: str = "auto") -> list[LesionMask]:
    """Give candidates stable labels ``auto-1``, ``auto-2`` … in the order given (hottest first)."""
    return [
        LesionMask(weights=m.weights, label=f"{prefix}-{i}", offset=m.offset, site_code=m.site_code)
        for i, m in enumerate(masks, start=1)
    ]


def overlaps(mask: LesionMask, region: BoolArray) -> bool:
    """True when any voxel of ``mask`` lies in ``region`` (a full-volume boolean array)."""
    sub: npt.NDArray[np.bool_] = region[mask.slices]
    return bool(np.any(sub & mask.binary))
