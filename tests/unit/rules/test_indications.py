"""FDA label rows B, C, D, A, TA: met, not met or unknown from category, setting, HR and therapy dates."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.domain import (
    ClinicalContext,
    DrugClass,
    HrStatus,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IndicationCheck,
    IndicationStatus,
    TdxdCategory,
    TherapyExposure,
)
from rules.indications import LABEL_ROWS, check_indications, months_before

MET, NOT_MET, UNKNOWN = IndicationStatus.MET, IndicationStatus.NOT_MET, IndicationStatus.UNKNOWN
C = TdxdCategory
TODAY = dt.date(2026, 3, 1)
MET_SINCE = dt.date(2025, 1, 15)


def therapy(
    cls: DrugClass, start: dt.date | None, end: dt.date | None = None, name: str = ""
) -> TherapyExposure:
    return TherapyExposure(drug_class=cls, display=name or str(cls), start=start, end=end)


CHEMO_METASTATIC = therapy(DrugClass.CHEMO, dt.date(2025, 2, 1), dt.date(2025, 6, 1), "capecitabine")
CHEMO_ADJUVANT_RECENT = therapy(DrugClass.CHEMO, dt.date(2024, 2, 1), dt.date(2024, 7, 15), "AC-T")
CHEMO_ADJUVANT_OLD = therapy(DrugClass.CHEMO, dt.date(2020, 2, 1), dt.date(2020, 7, 1), "AC-T")
ANTI_HER2_METASTATIC = therapy(DrugClass.ANTI_HER2, dt.date(2025, 2, 1), name="trastuzumab")
ANTI_HER2_ADJUVANT_ONGOING = therapy(DrugClass.ANTI_HER2, dt.date(2024, 6, 1), name="trastuzumab")
ANTI_HER2_ADJUVANT_OLD = therapy(
    DrugClass.ANTI_HER2, dt.date(2019, 1, 1), dt.date(2019, 12, 31), "trastuzumab"
)
ENDOCRINE_METASTATIC = therapy(DrugClass.ENDOCRINE, dt.date(2025, 1, 20), name="letrozole")
ENDOCRINE_ADJUVANT = therapy(DrugClass.ENDOCRINE, dt.date(2020, 1, 1), dt.date(2024, 12, 1), "tamoxifen")
PLANNED_CHEMO = therapy(DrugClass.CHEMO, dt.date(2026, 4, 1), name="eribulin")


def context(
    *therapies: TherapyExposure,
    metastatic: bool | None = True,
    since: dt.date | None = MET_SINCE,
    hr: HrStatus = HrStatus.POSITIVE,
    pertuzumab: bool = False,
) -> ClinicalContext:
    return ClinicalContext(
        metastatic=metastatic,
        metastatic_since=since,
        hr_status=hr,
        therapies=therapies,
        pertuzumab_co_order=pertuzumab,
    )


def row(checks: tuple[IndicationCheck, ...], name: str) -> IndicationCheck:
    return next(check for check in checks if check.row == name)


CASES = [
    # row B: HER2-positive after anti-HER2 therapy (DB03)
    pytest.param("B", C.HER2_POSITIVE, context(ANTI_HER2_METASTATIC), MET, id="B-anti-HER2-metastatic→met"),
    pytest.param(
        "B", C.HER2_POSITIVE, context(ANTI_HER2_ADJUVANT_ONGOING), MET, id="B-relapse-during-adjuvant→met"
    ),
    pytest.param(
        "B", C.HER2_POSITIVE, context(ANTI_HER2_ADJUVANT_OLD), UNKNOWN, id="B-adjuvant-long-ago→unknown"
    ),
    pytest.param("B", C.HER2_POSITIVE, context(), UNKNOWN, id="B-no-therapy-on-record→unknown-not-not-met"),
    pytest.param("B", C.HER2_LOW, context(ANTI_HER2_METASTATIC), NOT_MET, id="B-HER2-low→not-met"),
    pytest.param("B", C.NEEDS_REVIEW, context(ANTI_HER2_METASTATIC), UNKNOWN, id="B-needs-review→unknown"),
    pytest.param(
        "B",
        C.HER2_POSITIVE,
        context(ANTI_HER2_METASTATIC, metastatic=False),
        NOT_MET,
        id="B-not-metastatic→not-met",
    ),
    pytest.param(
        "B",
        C.HER2_POSITIVE,
        context(ANTI_HER2_METASTATIC, metastatic=None),
        UNKNOWN,
        id="B-metastatic-undocumented→unknown",
    ),
    pytest.param(
        "B",
        C.HER2_POSITIVE,
        context(ANTI_HER2_METASTATIC, since=None),
        UNKNOWN,
        id="B-no-metastatic-date→unknown",
    ),
    # row C: HER2-low after chemotherapy (DB04), any HR status
    pytest.param(
        "C",
        C.HER2_LOW,
        context(CHEMO_METASTATIC, hr=HrStatus.NEGATIVE),
        MET,
        id="C-chemo-metastatic-HR-negative→met",
    ),
    pytest.param(
        "C", C.HER2_LOW, context(CHEMO_ADJUVANT_RECENT), MET, id="C-relapse-6-months-after-adjuvant→met"
    ),
    pytest.param("C", C.HER2_LOW, context(CHEMO_ADJUVANT_OLD), UNKNOWN, id="C-adjuvant-long-ago→unknown"),
    pytest.param("C", C.HER2_LOW, context(PLANNED_CHEMO), UNKNOWN, id="C-planned-chemo-is-not-prior"),
    pytest.param(
        "C", C.NEGATIVE_UNSCORED, context(CHEMO_METASTATIC), UNKNOWN, id="C-unscored-negative→unknown"
    ),
    pytest.param("C", C.HER2_NULL, context(CHEMO_METASTATIC), NOT_MET, id="C-HER2-null→not-met"),
    pytest.param("C", C.HER2_ULTRALOW, context(CHEMO_METASTATIC), NOT_MET, id="C-ultralow→not-met"),
    pytest.param("C", C.HER2_POSITIVE, context(CHEMO_METASTATIC), NOT_MET, id="C-HER2-positive→not-met"),
    # row D: HR-positive HER2-low or ultralow after endocrine therapy (DB06)
    pytest.param("D", C.HER2_ULTRALOW, context(ENDOCRINE_METASTATIC), MET, id="D-ultralow-HR+-endocrine→met"),
    pytest.param("D", C.HER2_LOW, context(ENDOCRINE_METASTATIC), MET, id="D-low-HR+-endocrine→met"),
    pytest.param(
        "D",
        C.HER2_ULTRALOW,
        context(ENDOCRINE_METASTATIC, hr=HrStatus.NEGATIVE),
        NOT_MET,
        id="D-HR-negative→not-met",
    ),
    pytest.param(
        "D",
        C.HER2_ULTRALOW,
        context(ENDOCRINE_METASTATIC, hr=HrStatus.UNKNOWN),
        UNKNOWN,
        id="D-HR-unknown→unknown",
    ),
    pytest.param(
        "D", C.HER2_ULTRALOW, context(ENDOCRINE_ADJUVANT), UNKNOWN, id="D-adjuvant-endocrine-only→unknown"
    ),
    pytest.param(
        "D", C.HER2_ZERO_UNSPECIFIED, context(ENDOCRINE_METASTATIC), UNKNOWN, id="D-IHC0-unspecified→unknown"
    ),
    pytest.param("D", C.HER2_NULL, context(ENDOCRINE_METASTATIC), NOT_MET, id="D-HER2-null→not-met"),
    # row A: HER2-positive first line with pertuzumab (DB09)
    pytest.param("A", C.HER2_POSITIVE, context(pertuzumab=True), MET, id="A-first-line-with-pertuzumab→met"),
    pytest.param(
        "A",
        C.HER2_POSITIVE,
        context(ENDOCRINE_METASTATIC, pertuzumab=True),
        MET,
        id="A-endocrine-only-still-first-line→met",
    ),
    pytest.param(
        "A",
        C.HER2_POSITIVE,
        context(ANTI_HER2_METASTATIC, pertuzumab=True),
        NOT_MET,
        id="A-prior-metastatic-anti-HER2→not-met",
    ),
    pytest.param("A", C.HER2_POSITIVE, context(), UNKNOWN, id="A-no-pertuzumab-co-order→unknown"),
    pytest.param(
        "A",
        C.HER2_POSITIVE,
        context(ANTI_HER2_ADJUVANT_OLD, pertuzumab=True),
        MET,
        id="A-adjuvant-only-still-first-line→met",
    ),
    pytest.param(
        "A", C.HER2_POSITIVE, context(pertuzumab=True, since=None), UNKNOWN, id="A-no-metastatic-date→unknown"
    ),
]


COMPANION_IHC = {
    C.HER2_POSITIVE: IhcResult(score=IhcScore.THREE_PLUS, assay="VENTANA 4B5"),
    C.HER2_LOW: IhcResult(score=IhcScore.ONE_PLUS, assay="4B5"),
    C.HER2_ULTRALOW: IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.ULTRALOW, assay="4B5"),
    C.HER2_NULL: IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.NULL, assay="4B5"),
    C.HER2_ZERO_UNSPECIFIED: IhcResult(score=IhcScore.ZERO, assay="4B5"),
}
"""The IHC read behind each category, by the companion diagnostic (the FDA-approved test criterion met)."""


@pytest.mark.parametrize(("name", "category", "chart", "expected"), CASES)
def test_label_rows(
    name: str, category: TdxdCategory, chart: ClinicalContext, expected: IndicationStatus
) -> None:
    check = row(check_indications(category, chart, as_of=TODAY, ihc=COMPANION_IHC.get(category)), name)
    assert check.status is expected
    assert check.reasons
    assert [c.name for c in check.criteria] == [
        c.name for c in next(r for r in LABEL_ROWS if r.row == name).criteria
    ]


@pytest.mark.parametrize(
    ("name", "category", "ihc", "expected", "reason"),
    [
        pytest.param(
            "C",
            C.HER2_LOW,
            IhcResult(score=IhcScore.ONE_PLUS),
            UNKNOWN,
            "assay not stated",
            id="C-assay-not-stated",
        ),
        pytest.param("C", C.HER2_LOW, None, UNKNOWN, "assay not stated", id="C-no-IHC-read"),
        pytest.param(
            "C",
            C.HER2_LOW,
            IhcResult(score=IhcScore.ONE_PLUS, assay="HercepTest"),
            UNKNOWN,
            "caution: assay HercepTest is not the companion diagnostic",
            id="C-other-clone-is-a-caution-not-a-block",
        ),
        pytest.param(
            "D",
            C.HER2_ULTRALOW,
            IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.ULTRALOW),
            UNKNOWN,
            "assay not stated",
            id="D-assay-not-stated",
        ),
        pytest.param(
            "A",
            C.HER2_POSITIVE,
            IhcResult(score=IhcScore.TWO_PLUS, assay="4B5"),
            UNKNOWN,
            "HER2-positive by ISH: the ISH assay is not stated",
            id="A-positive-by-ISH",
        ),
        pytest.param(
            "A", C.HER2_POSITIVE, COMPANION_IHC[C.HER2_POSITIVE], MET, "assay VENTANA 4B5", id="A-4B5-3+"
        ),
    ],
)
def test_fda_approved_test_needs_a_stated_assay(
    name: str, category: TdxdCategory, ihc: IhcResult | None, expected: IndicationStatus, reason: str
) -> None:
    chart = context(CHEMO_METASTATIC, ENDOCRINE_METASTATIC, pertuzumab=True)
    check = row(check_indications(category, chart, as_of=TODAY, ihc=ihc), name)
    test = next(c for c in check.criteria if c.name == "FDA-approved test")
    assert test.status is expected
    assert test.reason.startswith(reason)
    if expected is UNKNOWN:
        assert check.status is not MET


@pytest.mark.parametrize(
    ("ihc", "chart", "expected"),
    [
        pytest.param(
            IhcResult(score=IhcScore.THREE_PLUS),
            context(ANTI_HER2_METASTATIC),
            UNKNOWN,
            id="TA-IHC3+-never-met-from-the-chart",
        ),
        pytest.param(None, context(ANTI_HER2_METASTATIC), UNKNOWN, id="TA-ISH-only-positive→unknown"),
        pytest.param(
            IhcResult(score=IhcScore.TWO_PLUS),
            context(ANTI_HER2_METASTATIC),
            NOT_MET,
            id="TA-IHC2+-ISH+→not-met",
        ),
        pytest.param(
            IhcResult(score=IhcScore.THREE_PLUS), context(), UNKNOWN, id="TA-no-prior-therapy→unknown"
        ),
    ],
)
def test_tumour_agnostic_row(
    ihc: IhcResult | None, chart: ClinicalContext, expected: IndicationStatus
) -> None:
    check = row(check_indications(C.HER2_POSITIVE, chart, as_of=TODAY, ihc=ihc), "TA")
    assert check.status is expected
    alternative = next(c for c in check.criteria if c.name == "no satisfactory alternative treatment")
    assert alternative.status is UNKNOWN


def test_tumour_agnostic_row_notes_the_breast_rows_for_breast_cancer() -> None:
    ihc = COMPANION_IHC[C.HER2_POSITIVE]
    checks = check_indications(C.HER2_POSITIVE, context(ANTI_HER2_METASTATIC), as_of=TODAY, ihc=ihc)
    assert row(checks, "B").status is MET
    ta = row(checks, "TA")
    assert ta.status is UNKNOWN
    assert ta.reasons[-1] == "breast cancer: row B names the labelled HER2-positive settings"
    low = check_indications(C.HER2_LOW, context(CHEMO_METASTATIC), as_of=TODAY, ihc=COMPANION_IHC[C.HER2_LOW])
    assert row(low, "TA").status is NOT_MET
    assert not row(low, "TA").category_open


def test_every_row_is_reported_and_never_says_eligible() -> None:
    checks = check_indications(C.HER2_LOW, context(CHEMO_METASTATIC), as_of=TODAY)
    assert (
        [check.row for check in checks] == [label.row for label in LABEL_ROWS] == ["B", "C", "D", "A", "TA"]
    )
    for check in checks:
        text = " ".join((check.description, *check.reasons)).lower()
        assert "eligible" not in text


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(dt.date(2025, 1, 15), dt.date(2024, 7, 15), id="mid-month"),
        pytest.param(dt.date(2025, 8, 31), dt.date(2025, 2, 28), id="clamped-to-february"),
        pytest.param(dt.date(2024, 3, 31), dt.date(2023, 9, 30), id="year-boundary-clamped"),
    ],
)
def test_months_before(day: dt.date, expected: dt.date) -> None:
    assert months_before(day, 6) == expected


def test_early_relapse_boundary_is_six_calendar_months() -> None:
    ended_on_edge = therapy(DrugClass.CHEMO, dt.date(2024, 1, 1), dt.date(2024, 7, 15))
    ended_day_before = therapy(DrugClass.CHEMO, dt.date(2024, 1, 1), dt.date(2024, 7, 14))
    ihc = COMPANION_IHC[C.HER2_LOW]
    assert row(check_indications(C.HER2_LOW, context(ended_on_edge), as_of=TODAY, ihc=ihc), "C").status is MET
    on_edge = check_indications(C.HER2_LOW, context(ended_day_before), as_of=TODAY, ihc=ihc)
    assert row(on_edge, "C").status is UNKNOWN


def test_a_course_recorded_as_completed_without_an_end_date_is_not_read_as_ongoing() -> None:
    ihc = COMPANION_IHC[C.HER2_LOW]
    completed = TherapyExposure(
        drug_class=DrugClass.CHEMO, display="AC-T", start=dt.date(2020, 2, 1), ended=True
    )
    ongoing = TherapyExposure(drug_class=DrugClass.CHEMO, display="AC-T", start=dt.date(2020, 2, 1))
    assert row(check_indications(C.HER2_LOW, context(ongoing), as_of=TODAY, ihc=ihc), "C").status is MET
    check = row(check_indications(C.HER2_LOW, context(completed), as_of=TODAY, ihc=ihc), "C")
    assert check.status is UNKNOWN
    assert "only before the metastatic setting" in check.reasons[-1]
