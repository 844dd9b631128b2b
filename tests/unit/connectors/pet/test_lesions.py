"""SUVmax / SUVpeak / SUVmean / volume and the default detector (spec/pet-dicom.md §7 pinned choices)."""

from __future__ import annotations

import numpy as np
import pytest

from connectors.errors import SuvNotComputableError
from connectors.pet.lesions import ThresholdDetector, measure, sphere_kernel, suv_peak
from connectors.pet.types import LesionMask, PetGeometry, PetVolume


def _volume(suv: np.ndarray, spacing: tuple[float, float, float] = (4.0, 4.0, 4.0)) -> PetVolume:
    geometry = PetGeometry(
        origin_mm=(0.0, 0.0, 0.0),
        row_cosine=(1.0, 0.0, 0.0),
        column_cosine=(0.0, 1.0, 0.0),
        slice_normal=(0.0, 0.0, 1.0),
        spacing_mm=spacing,
    )
    return PetVolume(suv=suv.astype(np.float32), geometry=geometry)


def _sphere(shape: tuple[int, int, int], centre: tuple[int, int, int], radius_vox: float) -> np.ndarray:
    z, y, x = np.indices(shape)
    inside: np.ndarray = (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius_vox**2
    return inside


def test_kernel_has_19_voxels_at_4mm_isotropic() -> None:
    assert int(sphere_kernel((4.0, 4.0, 4.0)).sum()) == 19
    assert int(sphere_kernel((2.0, 2.0, 2.0)).sum()) > 100


def test_synthetic_lesion_statistics() -> None:
    """The synthetic series' lesion: r ≤ 10 mm (81 voxels) at SUV 4 with one 6.0 voxel on background 1."""
    shape = (10, 32, 32)
    lesion = _sphere(shape, (5, 16, 16), 2.5)
    suv = np.where(lesion, 4.0, 1.0)
    suv[5, 16, 16] = 6.0
    volume = _volume(suv)
    m = measure(volume, LesionMask.from_full(lesion, "L1"))
    assert m.voxel_count == 81
    assert m.suv_max == 6.0
    assert m.max_index == (5, 16, 16)
    assert m.suv_peak == pytest.approx((6 + 18 * 4) / 19)
    assert m.suv_mean == pytest.approx((6 + 80 * 4) / 81)
    assert m.volume_ml == pytest.approx(81 * 0.064)


def test_peak_drops_voxels_outside_the_image() -> None:
    suv = np.full((5, 5, 5), 2.0)
    suv[0, 0, 0] = 8.0
    volume = _volume(suv)
    mask = LesionMask(weights=np.ones((1, 1, 1), np.float32), label="corner", offset=(0, 0, 0))
    peak, centre = suv_peak(volume, mask)
    # of the 19 kernel voxels (centre, 6 faces at 4 mm, 12 edges at 5.66 mm) the corner keeps the centre,
    # 3 face and 3 edge neighbours: the mean is over those 7, not over 19
    assert peak == pytest.approx((8.0 + 6 * 2.0) / 7)
    assert centre == (0, 0, 0)


def test_peak_centres_are_restricted_to_lesion_voxels() -> None:
    suv = np.ones((12, 12, 12))
    suv[2:5, 2:5, 2:5] = 3.0  # the lesion
    suv[9, 9, 9] = 50.0  # hotter, but outside the lesion and beyond the sphere
    volume = _volume(suv)
    mask = LesionMask.from_full(suv == 3.0, "L")
    peak, centre = suv_peak(volume, mask)
    assert peak == pytest.approx(3.0)
    assert mask.full(suv.shape)[centre]


def test_fractional_weights_weight_the_mean_and_volume() -> None:
    suv = np.zeros((1, 1, 2))
    suv[0, 0, :] = (2.0, 4.0)
    weights = np.asarray([[[1.0, 0.5]]], dtype=np.float32)
    m = measure(_volume(suv), LesionMask(weights=weights, label="f"), peak=False)
    assert m.suv_mean == pytest.approx((2.0 + 0.5 * 4.0) / 1.5)
    assert m.volume_ml == pytest.approx(1.5 * 0.064)
    assert m.suv_peak is None


def test_mask_outside_volume_is_refused() -> None:
    volume = _volume(np.ones((3, 3, 3)))
    with pytest.raises(SuvNotComputableError, match="beyond"):
        measure(volume, LesionMask(weights=np.ones((2, 2, 2), np.float32), label="x", offset=(2, 2, 2)))


def test_mask_weights_must_be_fractions() -> None:
    with pytest.raises(SuvNotComputableError, match=r"\[0, 1\]"):
        LesionMask(weights=np.full((1, 1, 1), 2.0, np.float32), label="bad")


def test_detector_finds_hot_spheres_and_ignores_noise() -> None:
    shape = (30, 40, 40)
    suv = np.ones(shape)
    suv[_sphere(shape, (10, 10, 10), 3)] = 8.0
    suv[_sphere(shape, (20, 30, 30), 3)] = 5.0
    suv[25, 5, 5] = 20.0  # a single hot voxel: 0.064 ml, below the minimum volume
    found = ThresholdDetector().detect(_volume(suv), reference_suv=2.0)
    assert len(found) == 2
    volume = _volume(suv)
    maxima = [measure(volume, m, peak=False).suv_max for m in found]
    assert maxima == [8.0, 5.0]


def test_detector_finds_a_hot_spot_inside_a_large_organ() -> None:
    shape = (40, 60, 60)
    suv = np.ones(shape)
    organ = _sphere(shape, (20, 30, 30), 14)  # ~ 736 ml at 4 mm: an organ, not a lesion
    suv[organ] = 4.0
    suv[_sphere(shape, (20, 30, 30), 3)] = 10.0
    found = ThresholdDetector().detect(_volume(suv), reference_suv=2.0)
    assert len(found) == 1
    assert measure(_volume(suv), found[0], peak=False).suv_max == 10.0


def test_detector_respects_exclusion() -> None:
    shape = (20, 20, 20)
    suv = np.ones(shape)
    hot = _sphere(shape, (10, 10, 10), 3)
    suv[hot] = 8.0
    assert ThresholdDetector().detect(_volume(suv), reference_suv=2.0, exclude=hot) == []


def test_detector_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="factors"):
        ThresholdDetector(factor=0.5)
