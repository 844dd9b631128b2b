"""Patient keys (HMAC-SHA256 of the PatientID) and the PNG figure."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io

import pytest
from PIL import Image

from cds_service.cohort.keys import PatientKeyer
from cds_service.cohort.model import CohortCategory, LesionRow
from cds_service.cohort.plot import suvmax_figure_png
from rules.domain import LesionOrigin, Tracer

SECRET = "s" * 40


def test_key_is_the_documented_hmac() -> None:
    message = b"her2-pet-cds cohort patient v1\x00" + b"MRN-42"
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()[:16]
    assert PatientKeyer(SECRET)("MRN-42") == expected
    assert PatientKeyer(SECRET)(" MRN-42 ") == expected


def test_keys_depend_on_the_secret_and_the_patient() -> None:
    keyer = PatientKeyer(SECRET)
    assert keyer("MRN-1") != keyer("MRN-2")
    assert PatientKeyer("t" * 40)("MRN-1") != keyer("MRN-1")
    assert SECRET not in repr(keyer)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        PatientKeyer("short")


def _row(tracer: Tracer, category: CohortCategory, suv: float) -> LesionRow:
    day = dt.date(2024, 1, 1)
    return LesionRow(
        patient_key="k",
        tracer=tracer,
        pet_date=day,
        biopsy_date=day,
        interval_days=0,
        site="1",
        category=category,
        ihc_score=None,
        ish_group=None,
        suvmax=suv,
        suvpeak=None,
        lesion_source=LesionOrigin.SEG,
    )


@pytest.mark.parametrize(
    ("rows", "panels"),
    [
        pytest.param([], 1, id="empty"),
        pytest.param([_row(Tracer.ZR89_TRASTUZUMAB, CohortCategory.LOW, 9.0)], 1, id="one-tracer"),
        pytest.param(
            [
                _row(Tracer.ZR89_TRASTUZUMAB, CohortCategory.LOW, 9.0),
                _row(Tracer.ZR89_PERTUZUMAB, CohortCategory.POSITIVE, 5.0),
            ],
            3,
            id="two-tracers-plus-pooled",
        ),
    ],
)
def test_one_panel_per_tracer_plus_pooled(rows: list[LesionRow], panels: int) -> None:
    png = suvmax_figure_png(rows)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.width == round((3.2 * panels + 0.8) * 110)


def test_the_figure_depends_on_the_values_only() -> None:
    rows = [_row(Tracer.ZR89_TRASTUZUMAB, CohortCategory.LOW, v) for v in (5.0, 9.0, 11.0)]
    assert suvmax_figure_png(rows) == suvmax_figure_png(list(reversed(rows)))
    changed = [*rows[:2], _row(Tracer.ZR89_TRASTUZUMAB, CohortCategory.LOW, 12.0)]
    assert suvmax_figure_png(changed) != suvmax_figure_png(rows)
