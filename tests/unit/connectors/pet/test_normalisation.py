"""Normalisation formulas against the oracle of spec/pet-dicom.md §4 (W 75 kg, H 1.85 m, male, D 100 Bq)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.errors import SuvNotComputableError
from connectors.pet.normalisation import (
    Normalisation,
    bsa_du_bois_m2,
    convert_suvbw,
    ibw_kg,
    lbm_james_kg,
    lbm_janmahasatian_kg,
    normaliser,
)
from connectors.pet.types import Sex

W, H, DOSE = 75.0, 1.85, 100.0


def _suv(kind: Normalisation, sex: Sex = Sex.MALE) -> float:
    """SUVx for C = 1 Bq/ml, no decay: N_x / D."""
    return normaliser(kind, W, H, sex) / DOSE


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param(Normalisation.BW, 750.0, id="SUVbw"),
        pytest.param(Normalisation.BSA, 198.13758427117767, id="SUVbsa"),
        pytest.param(Normalisation.LBM_JAMES128, 614.627465303141, id="SUVlbm-James128"),
        pytest.param(Normalisation.LBM_JANMA, 609.1533588651974, id="SUVlbm-Janmahasatian"),
    ],
)
def test_formula_oracle(kind: Normalisation, expected: float) -> None:
    assert _suv(kind) == pytest.approx(expected, rel=1e-12)


def test_james_120_variant() -> None:
    assert lbm_james_kg(W, H, Sex.MALE, male_factor=120.0) * 1000 / DOSE == pytest.approx(627.7757487216948)


def test_female_formulas() -> None:
    assert lbm_james_kg(60.0, 1.60, Sex.FEMALE) == pytest.approx(1.07 * 60 - 148 * (60 / 160) ** 2)
    assert lbm_janmahasatian_kg(60.0, 1.60, Sex.FEMALE) == pytest.approx(
        9270 * 60 / (8780 + 244 * 60 / 1.6**2)
    )
    assert ibw_kg(1.60, Sex.FEMALE) == pytest.approx(45.5 + 0.91 * 8)


def _james(sex: Sex) -> float:
    return lbm_james_kg(W, H, sex)


def _janma(sex: Sex) -> float:
    return lbm_janmahasatian_kg(W, H, sex)


def _ibw(sex: Sex) -> float:
    return ibw_kg(H, sex)


@pytest.mark.parametrize("formula", [_james, _janma, _ibw], ids=["James", "Janmahasatian", "IBW"])
def test_unknown_sex_is_the_mean_of_male_and_female(formula: Callable[[Sex], float]) -> None:
    assert formula(Sex.OTHER) == pytest.approx((formula(Sex.MALE) + formula(Sex.FEMALE)) / 2)


def test_bsa_du_bois_in_square_metres() -> None:
    assert bsa_du_bois_m2(W, H) == pytest.approx(0.007184 * 75**0.425 * 185**0.725)


def test_james_negative_in_severe_obesity_is_refused() -> None:
    with pytest.raises(SuvNotComputableError, match="not positive"):
        lbm_james_kg(250.0, 1.50, Sex.FEMALE)


def test_missing_height_is_refused() -> None:
    with pytest.raises(SuvNotComputableError, match="PatientSize"):
        normaliser(Normalisation.LBM_JANMA, W, None, Sex.MALE)


def test_convert_suvbw_round_trip() -> None:
    suvlbm = convert_suvbw(5.0, Normalisation.LBM_JAMES128, W, H, Sex.MALE)
    assert suvlbm == pytest.approx(5.0 * lbm_james_kg(W, H, Sex.MALE) / W)
