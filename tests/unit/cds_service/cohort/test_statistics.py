"""Summary figures: counts with zeros, numpy quartiles, scipy Mann–Whitney U per tracer and pooled."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from cds_service.cohort.model import CohortCategory, LesionRow
from cds_service.cohort.outputs import summary_markdown
from cds_service.cohort.statistics import mann_whitney, quartiles, summarise
from rules.domain import LesionOrigin, Tracer

POS, LOW, ZERO = CohortCategory.POSITIVE, CohortCategory.LOW, CohortCategory.ZERO
TZ, PZ = Tracer.ZR89_TRASTUZUMAB, Tracer.ZR89_PERTUZUMAB


def row(key: str, tracer: Tracer, category: CohortCategory, suv: float) -> LesionRow:
    day = dt.date(2024, 1, 1)
    return LesionRow(
        patient_key=key,
        tracer=tracer,
        pet_date=day,
        biopsy_date=day,
        interval_days=0,
        site="59441001",
        category=category,
        ihc_score="1+",
        ish_group=None,
        suvmax=suv,
        suvpeak=None,
        lesion_source=LesionOrigin.READER_SR,
    )


ROWS = [
    row("a", TZ, POS, 5.1),
    row("b", TZ, POS, 6.9),
    row("c", TZ, LOW, 12.0),
    row("d", TZ, LOW, 9.4),
    row("e", TZ, LOW, 18.2),
    row("f", PZ, LOW, 7.7),
    row("g", PZ, ZERO, 3.3),
    row("h", PZ, LOW, 14.4),
]


def test_quartiles_are_numpy_linear_percentiles() -> None:
    values = [3.0, 9.0, 4.5, 12.25, 7.0]
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    assert quartiles(values) == {"median": median, "q1": q1, "q3": q3, "n": 5}
    assert quartiles([]) == {"median": None, "q1": None, "q3": None, "n": 0}


def test_mann_whitney_is_scipy_two_sided() -> None:
    x, y = [12.0, 9.4, 18.2, 7.7], [5.1, 6.9]
    expected = mannwhitneyu(x, y, alternative="two-sided")
    assert mann_whitney(x, y) == {"u": float(expected.statistic), "p": float(expected.pvalue)}
    assert mann_whitney(x, []) is None


def test_summary_counts_quartiles_and_tests() -> None:
    summary = summarise(ROWS, window_days=60, excluded=3)
    assert summary["counts"] == {
        TZ.value: {POS.value: 2, LOW.value: 3, ZERO.value: 0},
        PZ.value: {POS.value: 0, LOW.value: 2, ZERO.value: 1},
    }
    low = [12.0, 9.4, 18.2, 7.7, 14.4]
    assert summary["suvmax"][LOW.value]["median"] == pytest.approx(float(np.median(low)))
    assert summary["suvmax_by_tracer"][PZ.value][ZERO.value]["n"] == 1
    tests = summary["tests"]
    pooled = mannwhitneyu(low, [5.1, 6.9])
    assert tests["low_vs_positive"]["pooled"] == {"u": pooled.statistic, "p": pooled.pvalue}
    assert set(tests["low_vs_positive"]) == {"pooled", TZ.value}
    assert set(tests["expressing_vs_zero"]) == {"pooled", PZ.value}
    assert (summary["lesions"], summary["patients"], summary["excluded"]) == (8, 8, 3)


def test_missing_groups_give_null_pooled_tests_and_a_plain_table() -> None:
    summary = summarise([row("a", TZ, LOW, 9.0)], window_days=60, excluded=0)
    assert summary["tests"]["low_vs_positive"] == {"pooled": None}
    text = summary_markdown(summary)
    assert "no comparison has lesions in both groups" in text


def test_markdown_has_the_papers_tables() -> None:
    text = summary_markdown(summarise(ROWS, window_days=45, excluded=3))
    assert "| 89Zr-trastuzumab | 2 | 3 | 0 | 5 |" in text
    assert "| **All tracers (pooled)** | 2 | 5 | 1 | 8 |" in text
    assert "within 45 days" in text
    assert "| HER2-low vs HER2-positive | 89Zr-trastuzumab | 3 vs 2 |" in text
    assert "| HER2-low vs HER2-positive | All tracers (pooled)\\* | 5 vs 2 |" in text
