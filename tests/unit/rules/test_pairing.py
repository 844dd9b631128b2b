"""PET–pathology pairing: interval and window edges, recent anti-HER2 antibody, best-effort site match."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import parameters
from rules.domain import (
    DrugClass,
    LesionSite,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    SiteConcordance,
    SpecimenRef,
    SpecimenSite,
    TherapyExposure,
    Tracer,
)
from rules.pairing import (
    SiteMatch,
    compare_sites,
    ended_course_undated,
    organs_in,
    pairing_gap_days,
    pet_date,
    recent_anti_her2,
    site_match,
    within_pairing_window,
)

PET_DAY = dt.date(2025, 6, 30)


@pytest.mark.parametrize(
    ("specimen_day", "gap", "within"),
    [
        pytest.param(PET_DAY, 0, True, id="same-day"),
        pytest.param(PET_DAY - dt.timedelta(days=59), 59, True, id="59d-before"),
        pytest.param(PET_DAY - dt.timedelta(days=60), 60, True, id="exactly-60d-before→within"),
        pytest.param(PET_DAY - dt.timedelta(days=61), 61, False, id="61d-before→outside"),
        pytest.param(PET_DAY + dt.timedelta(days=60), 60, True, id="exactly-60d-after→within"),
        pytest.param(PET_DAY + dt.timedelta(days=61), 61, False, id="61d-after→outside"),
        pytest.param(None, None, None, id="no-specimen-date"),
    ],
)
def test_pairing_window_edges(specimen_day: dt.date | None, gap: int | None, within: bool | None) -> None:
    assert parameters.PAIRING_WINDOW_DAYS == 60
    assert pairing_gap_days(PET_DAY, specimen_day) == gap
    assert within_pairing_window(PET_DAY, specimen_day) is within


def test_pairing_gap_takes_the_calendar_date_of_a_datetime() -> None:
    late_evening = dt.datetime(2025, 6, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert pairing_gap_days(late_evening, dt.date(2025, 5, 1)) == 60
    assert pairing_gap_days(None, dt.date(2025, 5, 1)) is None


def test_pet_date_is_the_acquisition_date() -> None:
    pet = PetStudyFacts(
        study="1.2",
        series="1.2.3",
        tracer=Tracer.ZR89_TRASTUZUMAB,
        injected_at=dt.datetime(2025, 6, 25, 9, 0),
        acquired_at=dt.datetime(2025, 6, 30, 10, 0),
    )
    assert pet_date(pet) == PET_DAY
    assert pet_date(PetStudyFacts(study="1.2", series="1.2.3", tracer=Tracer.ZR89_TRASTUZUMAB)) is None
    assert pet_date(None) is None


def _anti_her2(
    start: dt.date | None, end: dt.date | None = None, cls: DrugClass = DrugClass.ANTI_HER2
) -> TherapyExposure:
    return TherapyExposure(drug_class=cls, display="trastuzumab", start=start, end=end)


@pytest.mark.parametrize(
    ("therapy", "days"),
    [
        pytest.param(
            _anti_her2(PET_DAY - dt.timedelta(days=21), PET_DAY - dt.timedelta(days=21)),
            21,
            id="single-dose-exactly-21d→recent",
        ),
        pytest.param(
            _anti_her2(PET_DAY - dt.timedelta(days=22), PET_DAY - dt.timedelta(days=22)),
            None,
            id="single-dose-22d→not-recent",
        ),
        pytest.param(_anti_her2(PET_DAY, PET_DAY), 0, id="same-day"),
        pytest.param(_anti_her2(dt.date(2024, 1, 1)), 0, id="ongoing-since-2024→recent"),
        pytest.param(
            _anti_her2(dt.date(2024, 1, 1), PET_DAY - dt.timedelta(days=10)), 10, id="course-ended-10d-before"
        ),
        pytest.param(
            _anti_her2(dt.date(2024, 1, 1), PET_DAY - dt.timedelta(days=100)),
            None,
            id="course-ended-100d-before",
        ),
        pytest.param(_anti_her2(PET_DAY + dt.timedelta(days=1)), None, id="started-after-PET"),
        pytest.param(_anti_her2(None, None), None, id="undated"),
        pytest.param(
            _anti_her2(PET_DAY - dt.timedelta(days=3), None, DrugClass.CHEMO),
            None,
            id="chemotherapy-does-not-count",
        ),
    ],
)
def test_recent_anti_her2_window(therapy: TherapyExposure, days: int | None) -> None:
    assert parameters.RECENT_ANTI_HER2_DAYS == 21
    found = recent_anti_her2(PET_DAY, [therapy])
    if days is None:
        assert found is None
    else:
        assert found is not None
        assert found.days_before_pet == days
        assert found.therapy is therapy


def test_recent_anti_her2_picks_the_most_recent_and_needs_a_pet_date() -> None:
    older = _anti_her2(PET_DAY - dt.timedelta(days=20), PET_DAY - dt.timedelta(days=20))
    newer = _anti_her2(PET_DAY - dt.timedelta(days=2), PET_DAY - dt.timedelta(days=2))
    found = recent_anti_her2(PET_DAY, [older, newer])
    assert found is not None
    assert found.therapy is newer
    assert recent_anti_her2(None, [newer]) is None


def _avid(lesion_id: str, site: LesionSite, text: str | None = None) -> PetLesion:
    return PetLesion(lesion_id=lesion_id, site=site, site_text=text, reader_call=ReaderCall.AVID)


@pytest.mark.parametrize(
    ("lesions", "specimen", "expected"),
    [
        pytest.param(
            [_avid("L1", LesionSite.HEPATIC)],
            SpecimenRef(description="Liver, core biopsy"),
            SiteMatch.MATCH,
            id="hepatic-lesion-vs-liver-biopsy",
        ),
        pytest.param(
            [_avid("L1", LesionSite.NON_HEPATIC)],
            SpecimenRef(description="liver core"),
            SiteMatch.NO_MATCH,
            id="non-hepatic-lesion-vs-liver-biopsy",
        ),
        pytest.param(
            [_avid("L1", LesionSite.NON_HEPATIC, "T9 vertebral body")],
            SpecimenRef(description="Bone, T9, needle biopsy"),
            SiteMatch.MATCH,
            id="bone-vs-bone",
        ),
        pytest.param(
            [_avid("L1", LesionSite.NON_HEPATIC, "left axillary lymph node")],
            SpecimenRef(description="Bone biopsy"),
            SiteMatch.NO_MATCH,
            id="node-vs-bone",
        ),
        pytest.param(
            [_avid("L1", LesionSite.NON_HEPATIC)],
            SpecimenRef(description="Bone biopsy"),
            SiteMatch.UNKNOWN,
            id="lesion-organ-not-coded",
        ),
        pytest.param(
            [_avid("L1", LesionSite.HEPATIC)], SpecimenRef(), SiteMatch.UNKNOWN, id="specimen-site-not-coded"
        ),
        pytest.param(
            [_avid("L1", LesionSite.NON_HEPATIC, "right breast mass")],
            SpecimenRef(site=SpecimenSite.PRIMARY),
            SiteMatch.MATCH,
            id="primary-means-breast",
        ),
        pytest.param([], SpecimenRef(description="liver"), SiteMatch.UNKNOWN, id="no-avid-lesion"),
        pytest.param(
            [_avid("L1", LesionSite.UNKNOWN, "lung nodule"), _avid("L2", LesionSite.HEPATIC)],
            SpecimenRef(description="Liver segment 6"),
            SiteMatch.MATCH,
            id="second-lesion-matches",
        ),
    ],
)
def test_site_match(lesions: list[PetLesion], specimen: SpecimenRef, expected: SiteMatch) -> None:
    match, explanation = site_match(lesions, specimen)
    assert match is expected
    assert explanation


def test_organ_vocabulary_matches_whole_words_only() -> None:
    assert organs_in("Hepatic metastasis") == {"liver"}
    assert organs_in("tribune") == frozenset()  # "rib" inside a word is not bone
    assert organs_in(None) == frozenset()


def _course(start: dt.date, end: dt.date | None, *, ended: bool) -> TherapyExposure:
    return TherapyExposure(
        drug_class=DrugClass.ANTI_HER2, display="trastuzumab", start=start, end=end, ended=ended
    )


@pytest.mark.parametrize(
    ("therapy", "days", "undated"),
    [
        pytest.param(
            _course(dt.date(2019, 1, 1), dt.date(2019, 12, 1), ended=True), None, False, id="completed-2019"
        ),
        pytest.param(
            _course(dt.date(2019, 1, 1), None, ended=True), None, True, id="completed-2019-no-end-date"
        ),
        pytest.param(_course(dt.date(2019, 1, 1), None, ended=False), 0, False, id="ongoing-since-2019"),
        pytest.param(
            _course(PET_DAY - dt.timedelta(days=15), None, ended=True),
            15,
            False,
            id="completed-started-15d-before",
        ),
    ],
)
def test_a_completed_course_ends_when_its_period_ends(
    therapy: TherapyExposure, days: int | None, undated: bool
) -> None:
    found = recent_anti_her2(PET_DAY, [therapy])
    assert (found.days_before_pet if found else None) == days
    assert (ended_course_undated(PET_DAY, [therapy]) == (therapy,)) is undated


def _lesion(
    lesion_id: str, call: ReaderCall, text: str | None, site: LesionSite = LesionSite.UNKNOWN
) -> PetLesion:
    return PetLesion(lesion_id=lesion_id, site=site, site_text=text, reader_call=call)


NODE_AVID = _lesion("N1", ReaderCall.AVID, "left axillary lymph node")
BREAST_NOT_AVID = _lesion("B1", ReaderCall.NON_AVID, "right breast")
LIVER_AVID = _lesion("H1", ReaderCall.AVID, None, LesionSite.HEPATIC)
UNCODED_AVID = _lesion("U1", ReaderCall.AVID, None)


@pytest.mark.parametrize(
    ("lesions", "specimen", "outcome", "biopsied", "avid_sites"),
    [
        pytest.param(
            [NODE_AVID, BREAST_NOT_AVID],
            SpecimenRef(site=SpecimenSite.PRIMARY),
            SiteConcordance.BIOPSIED_NON_AVID,
            "breast",
            ("lymph node",),
            id="primary-biopsied-read-not-avid-node-avid",
        ),
        pytest.param(
            [NODE_AVID],
            SpecimenRef(site=SpecimenSite.PRIMARY),
            SiteConcordance.NOT_AMONG_READ,
            "breast",
            ("lymph node",),
            id="primary-not-among-read",
        ),
        pytest.param(
            [NODE_AVID, BREAST_NOT_AVID],
            SpecimenRef(description="Axillary lymph node, core biopsy"),
            SiteConcordance.BIOPSIED_AVID,
            "lymph node",
            ("lymph node",),
            id="node-biopsy-avid-node",
        ),
        pytest.param(
            [UNCODED_AVID, BREAST_NOT_AVID],
            SpecimenRef(site=SpecimenSite.PRIMARY),
            SiteConcordance.UNKNOWN,
            "breast",
            ("site not coded",),
            id="uncoded-avid-lesion-could-be-the-biopsy",
        ),
        pytest.param(
            [LIVER_AVID],
            SpecimenRef(),
            SiteConcordance.UNKNOWN,
            None,
            ("liver",),
            id="biopsied-site-not-coded",
        ),
        pytest.param(
            [BREAST_NOT_AVID],
            SpecimenRef(site=SpecimenSite.PRIMARY),
            SiteConcordance.BIOPSIED_NON_AVID,
            "breast",
            (),
            id="no-avid-lesion-biopsied-read-not-avid",
        ),
        pytest.param(
            [], SpecimenRef(site=SpecimenSite.PRIMARY), SiteConcordance.UNKNOWN, "breast", (), id="none-read"
        ),
    ],
)
def test_compare_sites(
    lesions: list[PetLesion],
    specimen: SpecimenRef,
    outcome: SiteConcordance,
    biopsied: str | None,
    avid_sites: tuple[str, ...],
) -> None:
    avid = [lesion for lesion in lesions if lesion.reader_call is ReaderCall.AVID]
    comparison = compare_sites(lesions, avid, specimen)
    assert comparison.outcome is outcome
    assert comparison.biopsied == biopsied
    assert comparison.avid_sites == avid_sites
    assert comparison.explanation
