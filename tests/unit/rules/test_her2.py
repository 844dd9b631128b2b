"""HER2 classification per specimen: every guideline table cell, boundaries, evidence, caveats, narratives."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.domain import (
    AscoCapStatus,
    Her2Assessment,
    Her2Result,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    IshResult,
    ReportedStatus,
    SourceRef,
    TdxdCategory,
)
from rules.her2 import HER2_TABLES, classify, display_category, dual_probe_group
from rules.her2.classify import classify_with_trace
from tests.unit.rules.her2_cases import CASES, ONE, THREE, TWO, Z, dual, ihc, result

TAG = re.compile(r"\[([\w-]+#\w+)\]$")


@pytest.mark.parametrize(("her2", "status", "category"), CASES)
def test_guideline_cell(her2: Her2Result, status: AscoCapStatus, category: TdxdCategory) -> None:
    assessment = classify(her2)
    assert (assessment.status, assessment.category) == (status, category)


def test_every_row_of_every_table_fires_in_the_cases() -> None:
    fired = {d.tag for param in CASES for d in classify_with_trace(param.values[0])[1]}
    every = {table.tag(row) for table in HER2_TABLES for row in table.rows}
    assert every - fired == set()


@pytest.mark.parametrize(
    ("ratio", "copies", "group"),
    [
        pytest.param(2.0, 4.0, 1, id="ratio2.0_copies4.0→1"),
        pytest.param(2.0, 3.99, 2, id="ratio2.0_copies3.99→2"),
        pytest.param(1.99, 6.0, 3, id="ratio1.99_copies6.0→3"),
        pytest.param(1.99, 5.99, 4, id="ratio1.99_copies5.99→4"),
        pytest.param(1.99, 4.0, 4, id="ratio1.99_copies4.0→4"),
        pytest.param(1.99, 3.99, 5, id="ratio1.99_copies3.99→5"),
        pytest.param(5.0, 20.0, 1, id="amplified→1"),
    ],
)
def test_dual_probe_group_boundaries(ratio: float, copies: float, group: int) -> None:
    assert dual_probe_group(ratio, copies) == group


_RATIO = st.floats(min_value=0.5, max_value=30.0, allow_nan=False)
_COPIES = st.floats(min_value=1.0, max_value=50.0, allow_nan=False)


@given(ratio=_RATIO, low=_COPIES, high=_COPIES)
def test_group_never_falls_as_copies_rise(ratio: float, low: float, high: float) -> None:
    """At a fixed ratio, more HER2 copies never give a less amplified group (1 < 2, 3 < 4 < 5)."""
    low, high = sorted((low, high))
    assert dual_probe_group(ratio, high) <= dual_probe_group(ratio, low)


@given(ratio=_RATIO, copies=_COPIES)
def test_group_matches_the_spec_formula(ratio: float, copies: float) -> None:
    """The spec's one-line formula (clinical-logic §4) as an independent oracle for the table."""
    if ratio >= 2.0:
        expected = 1 if copies >= 4.0 else 2
    else:
        expected = 3 if copies >= 6.0 else 4 if copies >= 4.0 else 5
    assert dual_probe_group(ratio, copies) == expected


def test_summary_evidence_is_readable_and_cites_the_deciding_row() -> None:
    her2 = result(ihc(TWO, assay="4B5"), dual(1.3, 2.6))
    assessment = classify(her2)
    first = assessment.evidence[0]
    assert first.statement == (
        "IHC 2+ (4B5) with dual-probe ISH group 5 (ratio 1.30, HER2 2.6/cell) → NEGATIVE (HER2-low); "
        "ASCO/CAP 2018 (affirmed 2023): ISH group 5"
    )
    assert first.rule is not None
    assert first.rule.endswith("[ish-dual#D5]")
    assert first.source == her2.source


@pytest.mark.parametrize(("her2", "status", "category"), CASES)
def test_every_evidence_line_names_its_source_and_an_existing_row(
    her2: Her2Result, status: AscoCapStatus, category: TdxdCategory
) -> None:
    assessment = classify(her2)
    rows = {table.tag(row) for table in HER2_TABLES for row in table.rows}
    assert assessment.evidence
    for line in assessment.evidence:
        assert line.source == her2.source
        match = TAG.search(line.rule or "")
        assert match is not None, line
        assert match.group(1) in rows, line


def _caveats(her2: Her2Result) -> str:
    return " ".join(classify(her2).caveats)


def test_zero_unspecified_asks_for_review() -> None:
    assert "0 vs 1+" in _caveats(result(ihc(Z)))
    assert "0 vs 1+" not in _caveats(result(ihc(Z, IhcZeroSubtype.NULL)))


@pytest.mark.parametrize("assay", ["CB11", "HercepTest (Dako)", "A0485"])
def test_non_companion_clone_is_a_caution_not_a_block(assay: str) -> None:
    assessment = classify(result(ihc(ONE, assay=assay)))
    assert assessment.category is TdxdCategory.HER2_LOW
    assert any("companion diagnostic" in c for c in assessment.caveats)


def test_companion_clone_has_no_caution() -> None:
    assert "companion diagnostic" not in _caveats(result(ihc(ONE, assay="Ventana 4B5")))


def test_stated_score_disagreeing_with_percentages_is_flagged() -> None:
    her2 = result(ihc(ONE, pct=IhcPercentages(complete_intense=50)))
    assert classify(her2).category is TdxdCategory.HER2_LOW
    assert "differs from the score implied" in _caveats(her2)


def test_intense_complete_in_few_cells_overrides_a_stated_3_plus() -> None:
    """ASCO/CAP 2018 note (narrative N36): '3+ in 8 %' is treated as 2+ and sent to ISH."""
    her2 = result(ihc(THREE, pct=IhcPercentages(complete_intense=8)))
    assessment = classify(her2)
    assert assessment.status is AscoCapStatus.EQUIVOCAL_PENDING
    assert "only ≤10 %" in " ".join(assessment.caveats)
    assert display_category(assessment) == "HER2-equivocal"


def test_recount_changed_group_uses_the_adjudicated_group() -> None:
    assessment = classify(result(ihc(TWO), dual(1.4, 4.2, group=5, recount=False)))
    assert assessment.ish_group == 5


def test_implausible_counts_report_no_group() -> None:
    assessment = classify(result(ihc(TWO), dual(45.0, 90.0)))
    assert assessment.ish_group is None
    assert any("ratio above 30" in c for c in assessment.caveats)


def test_connector_notes_and_excerpt_reach_the_clinician() -> None:
    her2 = Her2Result(ihc=ihc(ONE), notes=("narrative and coded score differ",), excerpt="HER2 1+")
    assessment = classify(her2)
    assert "narrative and coded score differ" in assessment.caveats
    assert assessment.evidence[-1].statement == "Report text: “HER2 1+”"


@pytest.mark.parametrize(
    ("assessment_status", "category", "shown"),
    [
        pytest.param(AscoCapStatus.POSITIVE, TdxdCategory.HER2_POSITIVE, "HER2-positive", id="positive"),
        pytest.param(AscoCapStatus.NEGATIVE, TdxdCategory.HER2_LOW, "HER2-low", id="low"),
        pytest.param(AscoCapStatus.NEGATIVE, TdxdCategory.HER2_ULTRALOW, "HER2-ultralow", id="ultralow"),
        pytest.param(AscoCapStatus.NEGATIVE, TdxdCategory.HER2_NULL, "HER2-null", id="null"),
        pytest.param(AscoCapStatus.NEGATIVE, TdxdCategory.HER2_ZERO_UNSPECIFIED, "HER2-0", id="zero"),
        pytest.param(
            AscoCapStatus.NEGATIVE, TdxdCategory.NEGATIVE_UNSCORED, "HER2-negative-unscored", id="unsc"
        ),
        pytest.param(AscoCapStatus.EQUIVOCAL_PENDING, TdxdCategory.UNKNOWN, "HER2-equivocal", id="equivocal"),
        pytest.param(
            AscoCapStatus.EQUIVOCAL_PENDING, TdxdCategory.NEEDS_REVIEW, "indeterminate", id="eq-range"
        ),
        pytest.param(AscoCapStatus.UNKNOWN, TdxdCategory.UNKNOWN, "indeterminate", id="unknown"),
        pytest.param(AscoCapStatus.NEGATIVE, TdxdCategory.NEEDS_REVIEW, "indeterminate", id="review"),
        pytest.param(AscoCapStatus.INDETERMINATE, TdxdCategory.UNKNOWN, "indeterminate", id="indeterminate"),
    ],
)
def test_display_category(assessment_status: AscoCapStatus, category: TdxdCategory, shown: str) -> None:
    assessment = Her2Assessment(result=Her2Result(), status=assessment_status, category=category)
    assert display_category(assessment) == shown


def test_display_category_of_nothing() -> None:
    assert display_category(None) == "indeterminate"


# ----------------------------------------------------------------------------------------------------
# Property tests: classification never raises on valid domain objects and stays internally consistent.

_pct = st.one_of(st.none(), st.floats(min_value=0.0, max_value=100.0, allow_nan=False))
_score = st.sampled_from(list(IhcScore))
_ihc = st.one_of(
    st.none(),
    st.builds(
        IhcResult,
        score=_score,
        zero_subtype=st.sampled_from(list(IhcZeroSubtype)),
        assay=st.one_of(st.none(), st.sampled_from(["4B5", "CB11", "HercepTest", ""])),
        percentages=st.one_of(
            st.none(),
            st.builds(
                IhcPercentages,
                complete_intense=_pct,
                complete_any=_pct,
                incomplete_faint=_pct,
                incomplete_moderate_intense=st.booleans(),
            ),
        ),
    ),
    st.builds(IhcResult, score=_score, is_range=st.just(True), range_to=_score),
)
_num = st.one_of(st.none(), st.floats(min_value=0.0, max_value=200.0, allow_nan=False))
_ish = st.one_of(
    st.none(),
    st.builds(
        IshResult,
        probe=st.sampled_from(list(IshProbe)),
        ratio=_num,
        her2_per_cell=_num,
        cep17_per_cell=_num,
        reported_group=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
        recount_confirmed=st.one_of(st.none(), st.booleans()),
        reported_final=st.one_of(st.none(), st.sampled_from(list(ReportedStatus))),
        pending=st.booleans(),
    ),
)
_results = st.builds(
    Her2Result,
    ihc=_ihc,
    ish=_ish,
    reported_status=st.one_of(st.none(), st.sampled_from(list(ReportedStatus))),
    technical_failure=st.booleans(),
    unparsed=st.booleans(),
    source=st.just(SourceRef(system="fhir", reference="Observation/x")),
)
_SHOWN = {
    "HER2-positive",
    "HER2-low",
    "HER2-ultralow",
    "HER2-null",
    "HER2-0",
    "HER2-negative-unscored",
    "HER2-equivocal",
    "indeterminate",
}


@given(_results)
def test_classify_is_total_and_consistent(her2: Her2Result) -> None:
    assessment = classify(her2)
    assert (assessment.category is TdxdCategory.HER2_POSITIVE) == (
        assessment.status is AscoCapStatus.POSITIVE
    )
    assert display_category(assessment) in _SHOWN
    assert assessment.evidence
    assert all(TAG.search(line.rule or "") for line in assessment.evidence)
    if assessment.category in (TdxdCategory.HER2_LOW, TdxdCategory.HER2_ULTRALOW, TdxdCategory.HER2_NULL):
        assert assessment.status is AscoCapStatus.NEGATIVE
        assert her2.ihc is not None
        assert not her2.ihc.is_range


# ----------------------------------------------------------------------------------------------------
# Published narrative examples, from their structured columns (the narrative parser is tested elsewhere).

_SCORES = {"0": Z, "1+": ONE, "2+": TWO, "3+": THREE}
_ISH_FINAL = {"amplified": ReportedStatus.POSITIVE, "not_amplified": ReportedStatus.NEGATIVE}
_TEXT_ONLY_FACTS: dict[str, dict[str, object]] = {
    # Facts the TSV has no column for, as the report text states them.
    "N26": {"technical_failure": True},  # "Indeterminate - tissue with crush artifact"
    "N36": {"percentages": IhcPercentages(complete_intense=8.0)},  # "(3+) in 8% of tumor cells"
}


def _ihc_from(row: dict[str, str]) -> IhcResult | None:
    text = row["ihc_score"]
    extra = _TEXT_ONLY_FACTS.get(row["id"], {})
    percentages = extra.get("percentages")
    assert percentages is None or isinstance(percentages, IhcPercentages)
    if not text:
        return None
    if "-" in text:
        low, high = text.split("-")
        return IhcResult(
            score=_SCORES[low if low == "0" else f"{low}+"], is_range=True, range_to=_SCORES[high]
        )
    zero = IhcZeroSubtype(row["ihc0_subtype"]) if row["ihc0_subtype"] else IhcZeroSubtype.UNSPECIFIED
    return IhcResult(score=_SCORES[text], zero_subtype=zero, percentages=percentages)


def _ish_from(row: dict[str, str]) -> IshResult | None:
    if not (row["ish_result"] or row["ish_group"]):
        return None

    def number(key: str) -> float | None:
        return float(row[key]) if row[key] else None

    group = row["ish_group"]
    return IshResult(
        probe=IshProbe.SINGLE if group == "single_probe" else IshProbe.DUAL,
        reported_group=int(group) if group.isdigit() else None,
        ratio=number("her2_cep17_ratio"),
        her2_per_cell=number("her2_per_cell"),
        cep17_per_cell=number("cep17_per_cell"),
        pending=row["ish_result"] == "pending",
        reported_final=_ISH_FINAL.get(row["ish_result"]),
    )


def _narrative_rows(folder: Path) -> list[dict[str, str]]:
    path = folder / "narrative" / "her2_narrative_examples.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_narrative_examples_from_structured_columns(testdata: Path) -> None:
    rows = _narrative_rows(testdata)
    assert len(rows) >= 40
    failures = []
    for row in rows:
        extra = _TEXT_ONLY_FACTS.get(row["id"], {})
        her2 = Her2Result(
            ihc=_ihc_from(row),
            ish=_ish_from(row),
            technical_failure=bool(extra.get("technical_failure", False)),
            source=SourceRef(system="fhir", reference=f"DiagnosticReport/{row['id']}"),
        )
        assessment = classify(her2)
        got = (assessment.status.value.lower(), assessment.category.value.lower())
        expected = (row["asco_cap_her2_status"], row["tdxd_her2_category"])
        if got != expected:
            failures.append(f"{row['id']}: expected {expected}, got {got}")
    assert failures == []
