"""Pairing a biopsy with the PET lesion at its coded site: each step as a named case, and the reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from cds_service.cohort.model import CohortCategory, PatientCase, PetExam
from cds_service.cohort.pairing import pair_biopsy, pair_case
from rules.domain import (
    Her2Result,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshResult,
    LesionOrigin,
    PetLesion,
    ReportedStatus,
    SpecimenRef,
    Tracer,
)

PET_DAY = dt.date(2024, 5, 10)
NODE, LIVER, BONE = "59441001", "10200004", "3138006"


def biopsy(
    *,
    days: int | None = 10,
    site: str | None = NODE,
    score: IhcScore | None = IhcScore.ONE_PLUS,
    zero: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED,
    ish: IshResult | None = None,
    status: ReportedStatus | None = None,
) -> Her2Result:
    collected = None if days is None else PET_DAY + dt.timedelta(days=days)
    return Her2Result(
        specimen=SpecimenRef(id="s", collected=collected, site_code=site),
        ihc=IhcResult(score=score, zero_subtype=zero) if score is not None else None,
        ish=ish,
        reported_status=status,
    )


def lesion(
    site: str | None = NODE,
    *,
    suv: float | None = 8.0,
    reader: float | None = None,
    origin: LesionOrigin = LesionOrigin.READER_SR,
    name: str = "l1",
) -> PetLesion:
    return PetLesion(
        lesion_id=name, site_code=site, suv_max=suv, suv_peak=suv, reader_suv_max=reader, origin=origin
    )


def exam(*lesions: PetLesion, day: dt.date | None = PET_DAY, error: str | None = None) -> PetExam:
    return PetExam(tracer=Tracer.ZR89_PERTUZUMAB, pet_date=day, lesions=lesions, error=error)


@pytest.mark.parametrize(
    ("result", "category"),
    [
        pytest.param(biopsy(score=IhcScore.THREE_PLUS), CohortCategory.POSITIVE, id="IHC3+→positive"),
        pytest.param(
            biopsy(score=IhcScore.TWO_PLUS, ish=IshResult(ratio=2.5, her2_per_cell=6.5)),
            CohortCategory.POSITIVE,
            id="IHC2+_ISH-group1→positive",
        ),
        pytest.param(biopsy(score=IhcScore.ONE_PLUS), CohortCategory.LOW, id="IHC1+→low"),
        pytest.param(
            biopsy(score=IhcScore.TWO_PLUS, ish=IshResult(ratio=1.2, her2_per_cell=2.4)),
            CohortCategory.LOW,
            id="IHC2+_ISH-neg→low",
        ),
        pytest.param(
            biopsy(score=IhcScore.ZERO, zero=IhcZeroSubtype.ULTRALOW), CohortCategory.ZERO, id="ultralow→0"
        ),
        pytest.param(biopsy(score=IhcScore.ZERO, zero=IhcZeroSubtype.NULL), CohortCategory.ZERO, id="null→0"),
        pytest.param(biopsy(score=IhcScore.ZERO), CohortCategory.ZERO, id="IHC0-unspecified→0"),
    ],
)
def test_categories_that_enter_the_analysis(result: Her2Result, category: CohortCategory) -> None:
    row, reason = pair_biopsy("k", result, [exam(lesion())], window_days=60)
    assert reason is None
    assert row is not None
    assert row.category is category


@pytest.mark.parametrize(
    ("result", "exams", "fragment"),
    [
        pytest.param(biopsy(days=None), [exam(lesion())], "collection date unknown", id="no-date"),
        pytest.param(biopsy(), [exam(lesion(), day=None)], "acquisition date unknown", id="no-pet-date"),
        pytest.param(biopsy(days=61), [exam(lesion())], "61 days from the biopsy (window 60", id="61-days"),
        pytest.param(biopsy(days=-90), [exam(lesion())], "90 days", id="before-pet-90-days"),
        pytest.param(biopsy(score=IhcScore.TWO_PLUS), [exam(lesion())], "HER2 equivocal", id="IHC2+-no-ISH"),
        pytest.param(
            biopsy(score=None, status=ReportedStatus.NEGATIVE), [exam(lesion())], "unscored", id="unscored"
        ),
        pytest.param(
            biopsy(score=None, ish=IshResult(ratio=1.2, her2_per_cell=2.4)),
            [exam(lesion())],
            "no final HER2 category",
            id="ISH-neg-no-IHC",
        ),
        pytest.param(biopsy(site=None), [exam(lesion())], "biopsied site not coded", id="site-not-coded"),
        pytest.param(
            biopsy(site=BONE),
            [exam(lesion(NODE))],
            "no PET lesion coded at the biopsied site",
            id="other-site",
        ),
        pytest.param(
            biopsy(site=BONE),
            [exam(lesion(None, origin=LesionOrigin.AUTOMATED))],
            "1 lesion(s) without a coded site not paired",
            id="uncoded-candidate",
        ),
        pytest.param(
            biopsy(),
            [exam(lesion(name="a"), lesion(name="b"))],
            "2 PET lesions at the biopsied site",
            id="two-lesions-same-site",
        ),
        pytest.param(
            biopsy(),
            [exam(lesion(suv=None, reader=7.0), error="no injection time")],
            "SUV not computable: no injection time",
            id="suv-refused",
        ),
        pytest.param(biopsy(), [exam(lesion(suv=None))], "has no SUVmax", id="no-suvmax"),
    ],
)
def test_each_step_that_leaves_a_biopsy_out_names_itself(
    result: Her2Result, exams: list[PetExam], fragment: str
) -> None:
    row, reason = pair_biopsy("k", result, exams, window_days=60)
    assert row is None
    assert reason is not None
    assert fragment in reason


def test_exactly_sixty_days_is_inside_the_window() -> None:
    row, _ = pair_biopsy("k", biopsy(days=-60), [exam(lesion())], window_days=60)
    assert row is not None
    assert row.interval_days == -60


def test_the_row_carries_the_reader_suvmax_and_the_measured_peak() -> None:
    row, _ = pair_biopsy("k", biopsy(days=7), [exam(lesion(suv=9.12345, reader=9.5))], window_days=60)
    assert row is not None
    assert row.suvmax == 9.5
    assert row.suvpeak == 9.1235
    assert (row.pet_date, row.biopsy_date, row.interval_days) == (PET_DAY, dt.date(2024, 5, 17), 7)
    assert row.site == NODE
    assert row.ihc_score == "1+"
    assert row.tracer is Tracer.ZR89_PERTUZUMAB
    assert row.lesion_source is LesionOrigin.READER_SR


def test_measured_suvmax_without_a_reader_value() -> None:
    row, _ = pair_biopsy("k", biopsy(), [exam(lesion(suv=4.2, origin=LesionOrigin.SEG))], window_days=60)
    assert row is not None
    assert (row.suvmax, row.lesion_source) == (4.2, LesionOrigin.SEG)


def test_the_nearest_pet_is_used_and_only_its_lesions() -> None:
    near = exam(lesion(LIVER, suv=3.0), day=PET_DAY)
    far = exam(lesion(NODE, suv=12.0), day=PET_DAY - dt.timedelta(days=40))
    row, reason = pair_biopsy("k", biopsy(days=5), [far, near], window_days=60)
    assert row is None
    assert reason is not None
    assert "no PET lesion coded" in reason
    row, _ = pair_biopsy("k", biopsy(days=5, site=LIVER), [far, near], window_days=60)
    assert row is not None
    assert row.suvmax == 3.0


def test_patient_level_reasons() -> None:
    assert pair_case(
        PatientCase(patient_key="a", pet_note="no HER2-targeted PET series: FDG"), window_days=60
    )[1][0].reason.startswith("no HER2-targeted PET series")
    unlinked = PatientCase(patient_key="b", exams=(exam(lesion()),), pathology_note="no FHIR Patient")
    assert pair_case(unlinked, window_days=60)[1][0].reason == "no FHIR Patient"
    empty = PatientCase(patient_key="c", exams=(exam(lesion()),), biopsies=())
    assert pair_case(empty, window_days=60)[1][0].reason == "no HER2 result on file"


def test_several_biopsies_are_numbered_oldest_first() -> None:
    case = PatientCase(
        patient_key="d",
        exams=(exam(lesion(NODE), lesion(LIVER, name="l2")),),
        biopsies=(biopsy(days=5, site=LIVER), biopsy(days=-200)),
    )
    rows, excluded = pair_case(case, window_days=60)
    assert [r.site for r in rows] == [LIVER]
    assert [e.reason for e in excluded] == [
        "biopsy 1 of 2: nearest HER2 PET 200 days from the biopsy (window 60 days)"
    ]
