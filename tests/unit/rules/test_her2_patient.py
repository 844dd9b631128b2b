"""Patient-level HER2 synthesis (clinical-logic §6): occasions, order, amendments, prior low, discordance."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.domain import (
    Her2Result,
    HrStatus,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshResult,
    Receptor,
    ReceptorResult,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
    TdxdCategory,
)
from rules.her2 import display_category, synthesize
from rules.parameters import RULES_VERSION

D = dt.date
PRIMARY, METASTASIS = SpecimenSite.PRIMARY, SpecimenSite.METASTASIS


def her2(
    score: IhcScore | None,
    *,
    specimen: str | None = None,
    collected: D | None = None,
    reported: D | None = None,
    site: SpecimenSite = SpecimenSite.UNKNOWN,
    zero: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED,
    ish: IshResult | None = None,
    ref: str = "DiagnosticReport/1",
) -> Her2Result:
    return Her2Result(
        specimen=SpecimenRef(id=specimen, collected=collected, site=site),
        ihc=IhcResult(score=score, zero_subtype=zero) if score is not None else None,
        ish=ish,
        reported=reported,
        source=SourceRef(system="fhir", reference=ref),
    )


def test_no_results() -> None:
    patient = synthesize([], [])
    assert patient.current is None
    assert patient.occasions == ()
    assert display_category(patient.current) == "indeterminate"
    assert patient.rules_version == RULES_VERSION


def test_occasions_newest_first_by_collection_then_report_date() -> None:
    a = her2(IhcScore.ONE_PLUS, specimen="A", collected=D(2020, 1, 1))
    b = her2(IhcScore.THREE_PLUS, specimen="B", collected=D(2023, 5, 1), reported=D(2023, 5, 3))
    c = her2(IhcScore.ZERO, specimen="C", collected=D(2023, 5, 1), reported=D(2023, 5, 9))
    undated = her2(IhcScore.TWO_PLUS, specimen="D")
    patient = synthesize([a, undated, b, c], [])
    # B and C were collected on the same date: the higher category (B, 3+) counts, whatever the report date.
    assert [o.result.specimen.id for o in patient.occasions] == ["B", "C", "A", "D"]
    assert patient.current is patient.occasions[0]


def test_same_date_specimens_highest_category_counts_with_a_discordance_line() -> None:
    focus_1 = her2(IhcScore.ONE_PLUS, specimen="S1 part B", collected=D(2024, 2, 14), reported=D(2024, 2, 20))
    focus_2 = her2(IhcScore.ZERO, specimen="S1 part A", collected=D(2024, 2, 14), reported=D(2024, 2, 14))
    patient = synthesize([focus_2, focus_1], [])
    assert patient.current is not None
    assert patient.current.category is TdxdCategory.HER2_LOW
    assert patient.highest is None
    assert len(patient.discordance) == 1
    assert "between specimens" in patient.discordance[0]


def test_same_date_unreadable_specimen_outranks_a_lower_one_but_not_a_positive_one() -> None:
    low = her2(IhcScore.ONE_PLUS, specimen="A", collected=D(2024, 2, 14))
    pending = Her2Result(
        specimen=SpecimenRef(id="B", collected=D(2024, 2, 14)), reported_status=ReportedStatus.PENDING
    )
    positive = her2(IhcScore.THREE_PLUS, specimen="C", collected=D(2024, 2, 14))
    assert synthesize([low, pending], []).current.category is TdxdCategory.UNKNOWN  # type: ignore[union-attr]
    assert synthesize([low, pending, positive], []).current.category is TdxdCategory.HER2_POSITIVE  # type: ignore[union-attr]


def test_undated_specimens_keep_the_report_date_order() -> None:
    older = her2(IhcScore.THREE_PLUS, specimen="A", reported=D(2023, 1, 1))
    newer = her2(IhcScore.ZERO, specimen="B", reported=D(2024, 1, 1))
    assert synthesize([older, newer], []).current.result.specimen.id == "B"  # type: ignore[union-attr]


def test_each_result_is_one_test_occasion() -> None:
    # Versions of a report are resolved by the FHIR mapping, which knows them (status, accession, issue
    # time; tests/unit/connectors/fhir/test_mapping.py): the rules merge nothing, so two results of one
    # specimen and date are two occasions, and the same-date rule (highest first) orders them.
    first = her2(IhcScore.ZERO, specimen="S1", collected=D(2024, 1, 1), reported=D(2024, 1, 3))
    other = her2(IhcScore.ONE_PLUS, specimen="S1", collected=D(2024, 1, 1), reported=D(2024, 2, 1))
    patient = synthesize([first, other], [])
    assert [o.category for o in patient.occasions] == [
        TdxdCategory.HER2_LOW,
        TdxdCategory.HER2_ZERO_UNSPECIFIED,
    ]
    assert [o.result for o in patient.occasions] == [other, first]


def test_prior_low_primary_and_null_metastasis_are_discordant() -> None:
    primary = her2(IhcScore.ONE_PLUS, specimen="P", collected=D(2021, 6, 1), site=PRIMARY)
    metastasis = her2(
        IhcScore.ZERO, specimen="M", collected=D(2024, 6, 1), site=METASTASIS, zero=IhcZeroSubtype.NULL
    )
    patient = synthesize([primary, metastasis], [])
    assert patient.current is not None
    assert patient.current.category is TdxdCategory.HER2_NULL
    assert patient.highest is not None
    assert patient.highest.result.specimen.id == "P"
    assert patient.prior_low is patient.highest
    assert len(patient.discordance) == 1
    assert "primary vs metastasis" in patient.discordance[0]
    assert "HER2-low on 2021-06-01" in patient.discordance[0]


def test_change_over_time_is_discordance() -> None:
    old = her2(IhcScore.THREE_PLUS, specimen="A", collected=D(2019, 1, 1))
    new = her2(IhcScore.ONE_PLUS, specimen="B", collected=D(2024, 1, 1))
    patient = synthesize([old, new], [])
    assert patient.highest is not None
    assert patient.highest.category is TdxdCategory.HER2_POSITIVE
    assert patient.prior_low is None
    assert patient.discordance
    assert "over time" in patient.discordance[0]


def test_unspecified_zero_is_not_discordant_with_null() -> None:
    old = her2(IhcScore.ZERO, specimen="A", collected=D(2019, 1, 1), zero=IhcZeroSubtype.NULL)
    new = her2(IhcScore.ZERO, specimen="B", collected=D(2024, 1, 1))
    patient = synthesize([old, new], [])
    assert patient.discordance == ()
    assert patient.highest is None


def test_highest_is_empty_when_current_is_highest() -> None:
    old = her2(IhcScore.ONE_PLUS, specimen="A", collected=D(2019, 1, 1))
    new = her2(IhcScore.THREE_PLUS, specimen="B", collected=D(2024, 1, 1))
    patient = synthesize([old, new], [])
    assert patient.highest is None
    assert patient.prior_low is not None
    assert patient.prior_low.result.specimen.id == "A"


def test_unclassifiable_current_keeps_earlier_low_visible() -> None:
    low = her2(IhcScore.ONE_PLUS, specimen="A", collected=D(2020, 1, 1))
    bare = Her2Result(
        specimen=SpecimenRef(id="B", collected=D(2024, 1, 1)), reported_status=ReportedStatus.PENDING
    )
    patient = synthesize([low, bare], [])
    assert patient.current is not None
    assert patient.current.category is TdxdCategory.UNKNOWN
    assert patient.highest is not None
    assert patient.highest.category is TdxdCategory.HER2_LOW
    assert patient.discordance == ()


def test_hr_status_travels_with_the_synthesis() -> None:
    receptors = [
        ReceptorResult(receptor=Receptor.ER, percent=5.0),
        ReceptorResult(receptor=Receptor.PR, percent=0.0),
    ]
    patient = synthesize([her2(IhcScore.ZERO, specimen="A", zero=IhcZeroSubtype.ULTRALOW)], receptors)
    assert patient.hr_status is HrStatus.POSITIVE
    assert patient.receptors == tuple(receptors)
    assert any("ER Low Positive" in c for c in patient.caveats)


_occasion = st.builds(
    her2,
    st.sampled_from([None, *IhcScore]),
    specimen=st.sampled_from(["A", "B", "C", None]),
    collected=st.one_of(st.none(), st.dates(min_value=D(2015, 1, 1), max_value=D(2025, 1, 1))),
    reported=st.one_of(st.none(), st.dates(min_value=D(2015, 1, 1), max_value=D(2025, 1, 1))),
    site=st.sampled_from(list(SpecimenSite)),
)


@settings(max_examples=60)
@given(st.lists(_occasion, max_size=6))
def test_synthesis_invariants(results: list[Her2Result]) -> None:
    patient = synthesize(results, [])
    dates = [o.result.specimen.collected or D.min for o in patient.occasions]
    assert dates == sorted(dates, reverse=True)
    assert patient.current is (patient.occasions[0] if patient.occasions else None)
    if patient.prior_low is not None:
        assert patient.prior_low.category is TdxdCategory.HER2_LOW
        assert patient.prior_low is not patient.current
    if patient.highest is not None:
        assert patient.highest in patient.occasions
        assert patient.highest is not patient.current
