"""SEG written with highdicom, read back and aligned to the PET grid by geometry."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.pixels.utils import pack_bits

from connectors.dicom.headers import calibration_from_datasets
from connectors.dicom.phantom import PhantomSeries, PhantomSpec, make_phantom
from connectors.dicom.seg import SegmentKind, read_segmentations
from connectors.dicom.volume import sort_instances, stack_slices
from connectors.pet.suv import suvbw_volume
from connectors.pet.types import PetVolume


@pytest.fixture(scope="module")
def phantom() -> PhantomSeries:
    return make_phantom(PhantomSpec(with_seg=True))


@pytest.fixture(scope="module")
def volume(phantom: PhantomSeries) -> PetVolume:
    ordered = sort_instances(phantom.pet)
    raw, _ = stack_slices(ordered)
    return suvbw_volume(raw, calibration_from_datasets(ordered)[0])[0]


def test_segments_round_trip_through_a_file(
    phantom: PhantomSeries, volume: PetVolume, tmp_path: Path
) -> None:
    path = tmp_path / "seg.dcm"
    phantom.seg[0].save_as(path, enforce_file_format=True)
    reads = read_segmentations([pydicom.dcmread(path)], volume)
    assert reads.warnings == ()
    kinds = [s.kind for s in reads.segments]
    assert kinds == [SegmentKind.LESION] * 3 + [SegmentKind.LIVER, SegmentKind.BLOOD_POOL]
    for segment in reads.segments:
        assert segment.mask is not None
        truth_name = {"Liver": "liver", "Descending aorta": "aorta"}.get(segment.label, segment.label)
        np.testing.assert_array_equal(segment.mask.full(volume.suv.shape), phantom.masks[truth_name])
    lesion_2 = reads.find(str(phantom.seg[0].SOPInstanceUID), 2)
    assert lesion_2 is not None
    assert lesion_2.tracking_id == "lesion-2"
    assert lesion_2.site_text == "Liver"


def test_frames_are_placed_by_position_not_by_index(phantom: PhantomSeries, volume: PetVolume) -> None:
    shuffled = copy.deepcopy(phantom.seg[0])
    frames = shuffled.pixel_array.copy()
    groups = list(shuffled.PerFrameFunctionalGroupsSequence)
    order = np.random.default_rng(1).permutation(len(groups))
    shuffled.PerFrameFunctionalGroupsSequence = [groups[i] for i in order]
    packed = pack_bits(frames[order].astype(np.uint8))
    shuffled.PixelData = packed
    reads = read_segmentations([shuffled], volume)
    lesion = reads.lesions()[0]
    assert lesion.mask is not None
    np.testing.assert_array_equal(lesion.mask.full(volume.suv.shape), phantom.masks["lesion-1"])


def test_other_frame_of_reference_is_ignored(phantom: PhantomSeries, volume: PetVolume) -> None:
    other = copy.deepcopy(phantom.seg[0])
    other.FrameOfReferenceUID = "1.2.3.4"
    reads = read_segmentations([other], volume)
    assert reads.segments == ()
    assert "Frame of Reference" in reads.warnings[0]


def test_other_pixel_spacing_is_ignored(phantom: PhantomSeries, volume: PetVolume) -> None:
    other = copy.deepcopy(phantom.seg[0])
    other.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing = [2.0, 2.0]
    reads = read_segmentations([other], volume)
    assert reads.segments == ()
    assert "pixel spacing" in reads.warnings[0]


def test_frames_off_the_grid_are_skipped(phantom: PhantomSeries, volume: PetVolume) -> None:
    shifted = copy.deepcopy(phantom.seg[0])
    for group in shifted.PerFrameFunctionalGroupsSequence:
        position = group.PlanePositionSequence[0].ImagePositionPatient
        group.PlanePositionSequence[0].ImagePositionPatient = [position[0] + 1.7, position[1], position[2]]
    reads = read_segmentations([shifted], volume)
    assert all(s.mask is None for s in reads.segments)
    assert any("off the PET grid" in w for w in reads.warnings)
