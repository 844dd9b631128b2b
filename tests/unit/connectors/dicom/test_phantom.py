"""The synthetic phantom: deterministic, per-slice rescale, expected values checked by brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pydicom
import pytest

from connectors.dicom.phantom import PhantomSpec, make_phantom, write_phantom


def test_deterministic_uids_and_pixels() -> None:
    a, b = make_phantom(PhantomSpec()), make_phantom(PhantomSpec())
    assert [ds.SOPInstanceUID for ds in a.pet] == [ds.SOPInstanceUID for ds in b.pet]
    assert all(x.PixelData == y.PixelData for x, y in zip(a.pet, b.pet, strict=True))
    assert make_phantom(PhantomSpec(seed="other")).pet[0].StudyInstanceUID != a.pet[0].StudyInstanceUID


def test_headers_are_realistic() -> None:
    ds = make_phantom(PhantomSpec()).pet[0]
    info = ds.RadiopharmaceuticalInformationSequence[0]
    assert info.RadiopharmaceuticalCodeSequence[0].CodeValue == "126512"
    assert info.RadionuclideCodeSequence[0].CodeValue == "63360001"
    assert info.RadiopharmaceuticalStartDateTime == "20240304090000"
    assert (ds.Units, ds.DecayCorrection, ds.PixelRepresentation, ds.BitsAllocated) == (
        "BQML",
        "START",
        1,
        16,
    )


def test_slopes_vary_per_slice() -> None:
    slopes = {float(ds.RescaleSlope) for ds in make_phantom(PhantomSpec()).pet}
    assert len(slopes) > 3


def test_expected_peak_matches_brute_force_on_the_truth() -> None:
    """An independent check of the analytic SUVpeak: every lesion voxel as sphere centre, explicit loops."""
    series = make_phantom(PhantomSpec())
    truth = series.truth.astype(np.float64)
    radius = 6.2035
    offsets = [
        o for o in itertools.product(range(-2, 3), repeat=3) if sum((4.0 * v) ** 2 for v in o) <= radius**2
    ]
    assert len(offsets) == 19
    for expected in series.expected.lesions:
        best = -np.inf
        for centre in zip(*np.nonzero(series.masks[expected.label]), strict=True):
            values = [
                truth[tuple(c + o for c, o in zip(centre, offset, strict=True))]
                for offset in offsets
                if all(0 <= c + o < n for c, o, n in zip(centre, offset, truth.shape, strict=True))
            ]
            best = max(best, float(np.mean(values)))
        assert best == pytest.approx(expected.suv_peak, rel=1e-6)
        assert truth[series.masks[expected.label]].max() == pytest.approx(expected.suv_max)
        assert truth[series.masks[expected.label]].mean() == pytest.approx(expected.suv_mean)


def test_write_phantom(tmp_path: Path) -> None:
    paths = write_phantom(tmp_path / "ph", PhantomSpec(with_sr=True, with_seg=True))
    assert len(paths) == 40 + 2
    modalities = {pydicom.dcmread(p).Modality for p in paths}
    assert modalities == {"PT", "SEG", "SR"}
