"""Reference regions, the PetStudyFacts assembly and the MIP picture."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image

from connectors.errors import SuvNotComputableError
from connectors.pet.facts import build_facts
from connectors.pet.picture import LesionMark, mip_png
from connectors.pet.references import body_background_suv, reference_from_mask, reference_uptake
from connectors.pet.types import LesionMask, PetGeometry, PetVolume, ReferenceMeasurement, ReferenceRegion
from rules.domain import LesionOrigin, PetLesion, ReaderCall, Tracer


def _volume(suv: np.ndarray) -> PetVolume:
    geometry = PetGeometry(
        origin_mm=(0.0, 0.0, 0.0),
        row_cosine=(1.0, 0.0, 0.0),
        column_cosine=(0.0, 1.0, 0.0),
        slice_normal=(0.0, 0.0, 1.0),
        spacing_mm=(4.0, 4.0, 4.0),
    )
    return PetVolume(suv=suv.astype(np.float32), geometry=geometry)


def test_reference_from_mask_mean_sd_and_label() -> None:
    suv = np.ones((4, 4, 4))
    suv[0, 0, :2] = (2.0, 4.0)
    mask = np.zeros(suv.shape, bool)
    mask[0, 0, :2] = True
    ref = reference_from_mask(
        _volume(suv), LesionMask.from_full(mask, "aorta"), ReferenceRegion.BLOOD_POOL, "SEG"
    )
    assert ref.suv_mean == pytest.approx(3.0)
    assert ref.suv_sd == pytest.approx(1.0)
    assert ref.volume_ml == pytest.approx(2 * 0.064)
    assert ref.method == "SEG"


def test_reference_uptake_prefers_the_first_of_each_region() -> None:
    refs = [
        ReferenceMeasurement(region=ReferenceRegion.LIVER, suv_mean=5.0, method="reader SR"),
        ReferenceMeasurement(region=ReferenceRegion.LIVER, suv_mean=4.0, method="SEG"),
    ]
    uptake = reference_uptake(refs)
    assert (uptake.liver_suvmean, uptake.liver_method) == (5.0, "reader SR")
    assert uptake.blood_pool_suvmean is None
    assert uptake.blood_pool_method is None


def test_reference_needs_a_method() -> None:
    with pytest.raises(SuvNotComputableError, match="how it was obtained"):
        ReferenceMeasurement(region=ReferenceRegion.LIVER, suv_mean=5.0, method="")


def test_body_background_ignores_air() -> None:
    suv = np.zeros((4, 10, 10))
    suv[:, 2:8, 2:8] = 1.5
    assert body_background_suv(_volume(suv)) == pytest.approx(1.5)


def test_build_facts() -> None:
    lesion = PetLesion(
        lesion_id="L1", reader_call=ReaderCall.AVID, origin=LesionOrigin.READER_SR, suv_max=7.0
    )
    facts = build_facts(
        study_uid="1.2",
        series_uid="1.2.3",
        tracer=Tracer.ZR89_TRASTUZUMAB,
        injected_at=dt.datetime(2024, 1, 1, 9),
        acquired_at=dt.datetime(2024, 1, 5, 9),
        uptake_h=96.0,
        lesions=[lesion],
        references=[
            ReferenceMeasurement(region=ReferenceRegion.BLOOD_POOL, suv_mean=3.0, method="reader SR")
        ],
        suvbw_max=7.5,
        caveats=["c"],
    )
    assert facts.suv_available
    assert facts.lesions == (lesion,)
    assert facts.references.blood_pool_suvmean == 3.0
    assert facts.source is not None
    assert facts.source.reference == "study/1.2/series/1.2.3"
    unavailable = build_facts(
        study_uid="1.2",
        series_uid="1.2.3",
        tracer=Tracer.ZR89_TRASTUZUMAB,
        injected_at=None,
        acquired_at=None,
        uptake_h=None,
        lesions=[],
    )
    assert not unavailable.suv_available


def test_mip_png_marks_lesions_with_their_call_colour() -> None:
    suv = np.zeros((20, 30, 40))
    suv[:, 5:25, 5:35] = 1.0
    suv[10, 15, 20] = 8.0
    png = mip_png(_volume(suv), [LesionMark(label="L1", index=(10, 15, 20), call=ReaderCall.AVID)])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image)
    assert image.width > 40 * 3
    assert image.height > 20 * 3
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
    assert red.any()
    unmarked = np.asarray(Image.open(io.BytesIO(mip_png(_volume(suv)))).convert("RGB"))
    assert not ((unmarked[..., 0] > 200) & (unmarked[..., 1] < 60) & (unmarked[..., 2] < 60)).any()


def test_mip_is_darkest_where_uptake_is_highest() -> None:
    suv = np.zeros((10, 10, 10))
    suv[:, :, :] = 1.0
    suv[5, 5, 5] = 9.0
    image = np.asarray(Image.open(io.BytesIO(mip_png(_volume(suv), suv_window=9.0, zoom=4.0))).convert("L"))
    row = (10 - 5 - 0.5) * 4
    col = (5 + 0.5) * 4
    assert image[int(row), int(col)] < image[2, 2]
