"""Reference-region SUVs: blood pool and liver SUVmean (with SD), each labelled with how it was obtained.

spec/pet-dicom.md §10: blood pool (descending aorta or LV cavity; PERCIST uses a 1 cm × 2 cm aortic cylinder)
and liver (3 cm sphere, right lobe) SUVmean, from the reader's SR or from segmentations. Automated placement
is out of scope: an absent reference is reported as absent. ``body_background_suv`` is not a reference region;
it only gives the automated detector a scale when no blood-pool value exists, and is labelled as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from connectors.pet.types import LesionMask, PetVolume, ReferenceMeasurement, ReferenceRegion
from rules.domain import ReferenceUptake


def reference_from_mask(
    volume: PetVolume, mask: LesionMask, region: ReferenceRegion, method: str
) -> ReferenceMeasurement:
    """SUVmean and SD (weighted by fractional membership) and volume of a reference region mask."""
    box = volume.suv[mask.slices].astype(np.float64)
    weights = mask.weights.astype(np.float64)
    total = float(weights.sum())
    mean = float((box * weights).sum() / total)
    variance = float((weights * (box - mean) ** 2).sum() / total)
    return ReferenceMeasurement(
        region=region,
        suv_mean=mean,
        suv_sd=math.sqrt(variance),
        volume_ml=total * volume.geometry.voxel_volume_ml,
        method=method,
    )


def body_background_suv(volume: PetVolume, *, air_suv: float = 0.1) -> float:
    """Median SUV of voxels above ``air_suv`` (the body): a scale for automated detection, not a reference."""
    body = volume.suv[volume.suv > air_suv]
    return float(np.median(body)) if body.size else 0.0


def pick(references: Iterable[ReferenceMeasurement], region: ReferenceRegion) -> ReferenceMeasurement | None:
    """The first reference of ``region`` (callers pass them in order of trust: reader SR first)."""
    return next((r for r in references if r.region is region), None)


def reference_uptake(references: Iterable[ReferenceMeasurement]) -> ReferenceUptake:
    """The domain ``ReferenceUptake`` from the most trusted blood-pool and liver measurements."""
    items = list(references)
    blood = pick(items, ReferenceRegion.BLOOD_POOL)
    liver = pick(items, ReferenceRegion.LIVER)
    return ReferenceUptake(
        blood_pool_suvmean=blood.suv_mean if blood else None,
        blood_pool_method=blood.method if blood else None,
        liver_suvmean=liver.suv_mean if liver else None,
        liver_method=liver.method if liver else None,
    )
