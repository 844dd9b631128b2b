"""Body-size normalisations for SUV: lean body mass, body surface area, ideal body weight.

SUVx = C · N_x / D_ref with C in Bq/ml, D_ref in Bq and N_x the normaliser: W·1000 (g) for SUVbw, LBM·1000 (g)
for SUVlbm, IBW·1000 (g) for SUVibw, BSA in cm² for SUVbsa (spec/pet-dicom.md §4, IBSI SUV manual). Sex "O" or
unknown gives the mean of the male and female values (the IBSI rule for IBW, applied to every sex-specific
formula).

Formula oracle (W 75 kg, H 1.85 m, male, D 100 Bq, C 1 Bq/ml): SUVbw 750; SUVbsa 198.1376; SUVlbm James-128
614.6275; Janmahasatian 609.1534.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from connectors.errors import SuvNotComputableError
from connectors.pet.types import Sex


class Normalisation(StrEnum):
    """SUV normalisations and their UCUM units (spec/pet-dicom.md §4)."""

    BW = "g/ml{SUVbw}"
    LBM_JAMES128 = "g/ml{SUVlbm(James128)}"
    LBM_JANMA = "g/ml{SUVlbm(Janma)}"
    BSA = "cm2/ml{SUVbsa}"
    IBW = "g/ml{SUVibw}"


def _by_sex(sex: Sex, male: Callable[[], float], female: Callable[[], float]) -> float:
    if sex is Sex.MALE:
        return male()
    if sex is Sex.FEMALE:
        return female()
    return (male() + female()) / 2.0


def _require(weight_kg: float | None, height_m: float | None, what: str) -> tuple[float, float]:
    if weight_kg is None or weight_kg <= 0:
        raise SuvNotComputableError(f"{what} needs PatientWeight (0010,1030)")
    if height_m is None or height_m <= 0:
        raise SuvNotComputableError(f"{what} needs PatientSize (0010,1020)")
    return weight_kg, height_m


def lbm_james_kg(
    weight_kg: float | None, height_m: float | None, sex: Sex, *, male_factor: float = 128.0
) -> float:
    """Lean body mass after James (1976) as used by PERCIST's SUL (kg).

    Male 1.10·W − ``male_factor``·(W/H_cm)², female 1.07·W − 148·(W/H_cm)². ``male_factor`` 128 is DICOM's
    LBMJAMES128; some implementations use 120. The formula turns negative in severe obesity: refused.
    """
    weight, height = _require(weight_kg, height_m, "LBM (James)")
    ratio = weight / (height * 100.0)
    lbm = _by_sex(
        sex,
        lambda: 1.10 * weight - male_factor * ratio**2,
        lambda: 1.07 * weight - 148.0 * ratio**2,
    )
    if lbm <= 0:
        raise SuvNotComputableError(
            f"James LBM is not positive ({lbm:.1f} kg) for W {weight} kg, H {height} m"
        )
    return lbm


def lbm_janmahasatian_kg(weight_kg: float | None, height_m: float | None, sex: Sex) -> float:
    """Lean body mass after Janmahasatian et al., Clin Pharmacokinet 2005 (kg).

    BMI = W/H_m²; male 9270·W/(6680 + 216·BMI); female 9270·W/(8780 + 244·BMI).
    """
    weight, height = _require(weight_kg, height_m, "LBM (Janmahasatian)")
    bmi = weight / height**2
    return _by_sex(
        sex,
        lambda: 9270.0 * weight / (6680.0 + 216.0 * bmi),
        lambda: 9270.0 * weight / (8780.0 + 244.0 * bmi),
    )


def bsa_du_bois_m2(weight_kg: float | None, height_m: float | None) -> float:
    """Body surface area after Du Bois & Du Bois 1916 (m²): 0.007184·W^0.425·H_cm^0.725."""
    weight, height = _require(weight_kg, height_m, "BSA (Du Bois)")
    return float(0.007184 * weight**0.425 * (height * 100.0) ** 0.725)


def ibw_kg(height_m: float | None, sex: Sex) -> float:
    """Ideal body weight (Devine 1974; IBSI SUV manual) in kg: male 48.0 + 1.06·(H_cm − 152),
    female 45.5 + 0.91·(H_cm − 152)."""
    if height_m is None or height_m <= 0:
        raise SuvNotComputableError("IBW needs PatientSize (0010,1020)")
    height_cm = height_m * 100.0
    ibw = _by_sex(sex, lambda: 48.0 + 1.06 * (height_cm - 152.0), lambda: 45.5 + 0.91 * (height_cm - 152.0))
    if ibw <= 0:
        raise SuvNotComputableError(f"IBW is not positive for height {height_m} m")
    return ibw


def normaliser(kind: Normalisation, weight_kg: float | None, height_m: float | None, sex: Sex) -> float:
    """N_x of SUVx = C·N_x/D_ref: grams for the mass-based SUVs, cm² for SUVbsa."""
    if kind is Normalisation.BW:
        if weight_kg is None or weight_kg <= 0:
            raise SuvNotComputableError("SUVbw needs PatientWeight (0010,1030)")
        return weight_kg * 1000.0
    if kind is Normalisation.LBM_JAMES128:
        return lbm_james_kg(weight_kg, height_m, sex) * 1000.0
    if kind is Normalisation.LBM_JANMA:
        return lbm_janmahasatian_kg(weight_kg, height_m, sex) * 1000.0
    if kind is Normalisation.IBW:
        return ibw_kg(height_m, sex) * 1000.0
    return bsa_du_bois_m2(weight_kg, height_m) * 1e4


def convert_suvbw(
    suvbw: float, to: Normalisation, weight_kg: float | None, height_m: float | None, sex: Sex
) -> float:
    """Convert an SUVbw value to another normalisation: SUVx = SUVbw · N_x / (W·1000)."""
    return (
        suvbw
        * normaliser(to, weight_kg, height_m, sex)
        / normaliser(Normalisation.BW, weight_kg, height_m, sex)
    )
