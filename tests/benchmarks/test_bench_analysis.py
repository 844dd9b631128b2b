"""Benchmark: SUV conversion plus lesion measurement of a 200×200×600 int16 volume (issue 3 item 8).

Compared with a floor measured in the same run: one numpy pass over the volume
(``stored.astype(float32) * s``).
Target: analysis ≤ 1 s on 2 cores. Not a timed assertion: the figures are printed (run with ``-s``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from connectors.pet.lesions import ThresholdDetector, measure
from connectors.pet.references import body_background_suv
from connectors.pet.suv import suvbw_volume
from connectors.pet.types import (
    DecayCorrection,
    FrameTiming,
    LesionMask,
    PetGeometry,
    PetUnits,
    Radionuclide,
    RawPetSlices,
    Sex,
    SuvCalibration,
)

SHAPE = (600, 200, 200)
T0 = dt.datetime(2024, 3, 4, 9, 0)


def _raw() -> tuple[RawPetSlices, SuvCalibration, list[LesionMask]]:
    rng = np.random.default_rng(7)
    z, y, x = SHAPE
    yy, xx = np.mgrid[0:y, 0:x]
    body = ((yy - 100) / 70.0) ** 2 + ((xx - 100) / 90.0) ** 2 <= 1.0
    stored = np.zeros(SHAPE, dtype=np.int16)
    stored[:, body] = 1000
    stored += rng.integers(0, 50, size=SHAPE, dtype=np.int16) * body
    masks = []
    for i, (cz, cy, cx) in enumerate(
        [(100, 80, 80), (250, 120, 60), (400, 90, 140), (500, 110, 100), (550, 60, 100)]
    ):
        zz, yy3, xx3 = np.ogrid[cz - 5 : cz + 6, cy - 5 : cy + 6, cx - 5 : cx + 6]
        sphere = (zz - cz) ** 2 + (yy3 - cy) ** 2 + (xx3 - cx) ** 2 <= 16
        box = stored[cz - 5 : cz + 6, cy - 5 : cy + 6, cx - 5 : cx + 6]
        box[sphere] = 6000 + 500 * i
        masks.append(
            LesionMask(weights=sphere.astype(np.float32), label=f"L{i}", offset=(cz - 5, cy - 5, cx - 5))
        )
    acquired = T0 + dt.timedelta(hours=120)
    frames = tuple(
        FrameTiming(acquired_at=acquired, duration_s=180.0, reference_time_s=0.0) for _ in range(z)
    )
    calibration = SuvCalibration(
        units=PetUnits.BQML,
        decay_correction=DecayCorrection.START,
        half_life_s=282_276.0,
        injected_dose_bq=37e6,
        injected_at=T0,
        series_at=acquired,
        frames=frames,
        corrected_image=frozenset({"ATTN", "DECY"}),
        weight_kg=70.0,
        sex=Sex.FEMALE,
        radionuclide=Radionuclide.ZR89,
    )
    geometry = PetGeometry(
        origin_mm=(0.0, 0.0, 0.0),
        row_cosine=(1.0, 0.0, 0.0),
        column_cosine=(0.0, 1.0, 0.0),
        slice_normal=(0.0, 0.0, 1.0),
        spacing_mm=(3.0, 3.0, 3.0),
    )
    slopes = np.linspace(0.9, 1.1, z)
    raw = RawPetSlices(stored=stored, slopes=slopes, intercepts=np.zeros(z), geometry=geometry)
    return raw, calibration, masks


def _best_of(fn: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.benchmark
def test_suv_and_lesion_measurement_against_one_numpy_pass(benchmark: Any) -> None:
    raw, calibration, masks = _raw()
    detector = ThresholdDetector(factor=3.0)

    def analysis() -> int:
        volume, _ = suvbw_volume(raw, calibration)
        for mask in masks:
            measure(volume, mask)
        candidates = detector.detect(volume, reference_suv=body_background_suv(volume))
        for mask in candidates:
            measure(volume, mask)
        return len(candidates)

    def floor() -> np.ndarray:
        return raw.stored.astype(np.float32) * np.float32(0.0054)

    floor_s = _best_of(floor)
    found = benchmark.pedantic(analysis, rounds=3, iterations=1)
    analysis_s = _best_of(analysis, rounds=1)
    suv_only_s = _best_of(lambda: suvbw_volume(raw, calibration))
    assert found == len(masks)
    print(
        f"\nPET analysis of {SHAPE[2]}x{SHAPE[1]}x{SHAPE[0]} int16: analysis {analysis_s:.3f} s "
        f"(SUV conversion alone {suv_only_s:.3f} s), floor {floor_s:.3f} s, "
        f"ratio {analysis_s / floor_s:.1f}x (target ≤ 1 s)"
    )
