"""Narrative report parser: published examples, own phrasings, traps, HTML and the synthetic bundles.

The expected readings come from the published ``testdata/narrative/her2_narrative_examples.tsv`` (read
through the ``testdata`` fixture), from ``testdata/fhir/SOURCES.md`` for the synthetic bundles, and from the
ASCO/CAP wording in ``spec/clinical-logic.md`` §3–§10 for the phrasings written here.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fhir.narrative import NarrativeReading, html_to_text, parse_report_text
from connectors.fhir.narrative_html import html_to_report_text
from rules.domain import (
    Her2Result,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    Receptor,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
)

CURRENT = SpecimenRef(id="SP-26-0001", collected=dt.date(2026, 1, 5), site=SpecimenSite.PRIMARY)
SOURCE = SourceRef(system="fhir", reference="DiagnosticReport/narrative-test")
REPORTED = dt.date(2026, 1, 8)
PUBLISHED_IDS = [f"N{number:02d}" for number in range(1, 43)]


def read(text: str, specimen: SpecimenRef = CURRENT) -> NarrativeReading:
    return parse_report_text(text, source=SOURCE, specimen=specimen, reported=REPORTED)


def current_results(reading: NarrativeReading) -> list[Her2Result]:
    return [r for r in reading.her2 if r.specimen.id == CURRENT.id]


def the_current(reading: NarrativeReading) -> Her2Result:
    results = current_results(reading)
    assert len(results) == 1, reading
    return results[0]


def dual_probe_group(ratio: float, her2: float) -> int:
    """ASCO/CAP 2018 dual-probe groups (spec §4), written out here to check the numbers the parser read."""
    if ratio >= 2.0:
        return 1 if her2 >= 4.0 else 2
    return 3 if her2 >= 6.0 else 4 if her2 >= 4.0 else 5


# ----------------------------------------------------------------------------------------------------
# Published examples


@pytest.fixture(scope="module")
def examples(testdata: Path) -> dict[str, dict[str, str]]:
    path = testdata / "narrative" / "her2_narrative_examples.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle, delimiter="\t")}


def test_published_examples_file_has_the_expected_lines(examples: dict[str, dict[str, str]]) -> None:
    assert sorted(examples) == PUBLISHED_IDS


def _check_score(result: Her2Result, expected: str) -> None:
    if not expected:
        assert result.ihc is None or result.ihc.score is None
        return
    assert result.ihc is not None
    if "-" in expected:
        low, high = expected.rstrip("+").split("-")
        assert result.ihc.is_range
        assert result.ihc.score == IhcScore(low if low == "0" else f"{low}+")
        assert result.ihc.range_to == IhcScore(f"{high}+")
    else:
        assert not result.ihc.is_range
        assert result.ihc.score == IhcScore(expected)


def _check_ish(result: Her2Result, row: dict[str, str]) -> None:
    ish = result.ish
    expected = row["ish_result"]
    if expected == "pending":
        assert ish is not None
        assert ish.pending
    elif expected in ("amplified", "not_amplified"):
        assert ish is not None
        want = ReportedStatus.POSITIVE if expected == "amplified" else ReportedStatus.NEGATIVE
        assert ish.reported_final == want
    elif ish is not None:
        assert not ish.pending
    for column, attribute in (
        ("her2_cep17_ratio", "ratio"),
        ("her2_per_cell", "her2_per_cell"),
        ("cep17_per_cell", "cep17_per_cell"),
    ):
        if row[column]:
            assert ish is not None
            assert getattr(ish, attribute) == pytest.approx(float(row[column]))
        elif ish is not None:
            assert getattr(ish, attribute) is None
    group = row["ish_group"]
    if group == "single_probe":
        assert ish is not None
        assert ish.probe is IshProbe.SINGLE
    elif group:
        assert ish is not None
        assert ish.probe is IshProbe.DUAL
        if ish.reported_group is not None:
            assert ish.reported_group == int(group)
        else:
            assert ish.ratio is not None
            assert ish.her2_per_cell is not None
            assert dual_probe_group(ish.ratio, ish.her2_per_cell) == int(group)


def _check_receptor(reading: NarrativeReading, receptor: Receptor, expected: str) -> None:
    found = [r for r in reading.receptors if r.receptor is receptor]
    if not expected:
        assert found == []
        return
    call, _, percent = expected.rpartition("_")
    assert len(found) == 1
    assert found[0].percent == pytest.approx(float(percent))
    assert found[0].reported_positive in (None, call != "negative")
    assert found[0].source == SOURCE


@pytest.mark.parametrize("example_id", PUBLISHED_IDS)
def test_published_example_is_read_as_stated(examples: dict[str, dict[str, str]], example_id: str) -> None:
    row = examples[example_id]
    reading = read(row["text"])
    result = the_current(reading)
    assert not result.unparsed
    assert reading.unparsed == ()
    _check_score(result, row["ihc_score"])
    if row["ihc0_subtype"]:
        assert result.ihc is not None
        assert result.ihc.zero_subtype == IhcZeroSubtype(row["ihc0_subtype"])
    _check_ish(result, row)
    _check_receptor(reading, Receptor.ER, row["er"])
    _check_receptor(reading, Receptor.PR, row["pr"])
    assert result.excerpt
    assert result.source == SOURCE
    assert result.reported == REPORTED
    if row["asco_cap_her2_status"] == "positive":
        assert result.reported_status is not ReportedStatus.NEGATIVE
    if row["asco_cap_her2_status"] == "negative":
        assert ReportedStatus.POSITIVE not in (
            result.reported_status,
            result.ish and result.ish.reported_final,
        )


@pytest.mark.parametrize("example_id", PUBLISHED_IDS)
def test_published_example_classifies_as_expected(
    examples: dict[str, dict[str, str]], example_id: str
) -> None:
    """End to end with the HER2 rules: the parsed result gives the published categories."""
    from rules.her2 import classify

    row = examples[example_id]
    assessment = classify(the_current(read(row["text"])))
    assert (str(assessment.status).lower(), str(assessment.category).lower()) == (
        row["asco_cap_her2_status"],
        row["tdxd_her2_category"],
    )


def test_published_traps(examples: dict[str, dict[str, str]]) -> None:
    # N30: DCIS 3+ does not classify the invasive tumour.
    dcis = read(examples["N30"]["text"])
    assert [r.ihc.score for r in dcis.her2 if r.ihc] == [IhcScore.ONE_PLUS]
    # N31: the prior core biopsy and the current excision are two results on two specimens.
    two = read(examples["N31"]["text"])
    prior = [r for r in two.her2 if r.specimen.id == "S24-1234"]
    assert len(two.her2) == 2
    assert len(prior) == 1
    assert prior[0].ihc is not None
    assert prior[0].ihc.score is IhcScore.THREE_PLUS
    assert any("prior specimen" in note for note in prior[0].notes)
    current_ihc = the_current(two).ihc
    assert current_ihc is not None
    assert current_ihc.score is IhcScore.ONE_PLUS
    # N34: the eligibility comment is not a result and never positive.
    comment = read(examples["N34"]["text"])
    assert the_current(comment).reported_status is ReportedStatus.NEGATIVE
    assert any("eligibility" in note for note in the_current(comment).notes)
    # N35: 1.9 stays 1.9 (below 2.0, no rounding).
    ish = the_current(read(examples["N35"]["text"])).ish
    assert ish is not None
    assert ish.ratio == 1.9
    assert ish.ratio < 2.0
    # N36: intense complete staining in 8 % is kept as a percentage (the rules treat it as 2+).
    ihc = the_current(read(examples["N36"]["text"])).ihc
    assert ihc is not None
    assert ihc.percentages is not None
    assert ihc.percentages.complete_intense == 8.0
    # N26: a stated technical failure.
    assert the_current(read(examples["N26"]["text"])).technical_failure
    # N27: sent out, not resulted.
    assert the_current(read(examples["N27"]["text"])).reported_status is ReportedStatus.PENDING


# ----------------------------------------------------------------------------------------------------
# Own phrasings: synoptic (CAP-template style), free text, legacy spellings, multi-line reports


@dataclass(frozen=True)
class Expect:
    """The parts of one reading a case checks; ``None`` means "not checked"."""

    score: str | None = None
    subtype: IhcZeroSubtype | None = None
    assay: str | None = None
    status: ReportedStatus | None = None
    ish_final: ReportedStatus | None = None
    ish_pending: bool | None = None
    ratio: float | None = None
    her2: float | None = None
    cep17: float | None = None
    group: int | None = None
    single_probe: bool | None = None
    recount_confirmed: bool | None = None
    technical: bool | None = None
    complete_intense: float | None = None
    complete_any: float | None = None
    incomplete_faint: float | None = None
    no_ish: bool = False
    no_ihc: bool = False


def _check_expect(result: Her2Result, want: Expect) -> None:  # noqa: C901 - one assertion per optional field
    assert not result.unparsed, result.notes
    if want.score is not None:
        _check_score(result, want.score)
    if want.no_ihc:
        assert result.ihc is None
    if want.subtype is not None:
        assert result.ihc is not None
        assert result.ihc.zero_subtype is want.subtype
    if want.assay is not None:
        assert result.ihc is not None
        assert result.ihc.assay == want.assay
    if want.status is not None:
        assert result.reported_status is want.status
    if want.technical is not None:
        assert result.technical_failure is want.technical
    if want.no_ish:
        assert result.ish is None
    ish_fields: dict[str, Any] = {
        "reported_final": want.ish_final,
        "pending": want.ish_pending,
        "ratio": want.ratio,
        "her2_per_cell": want.her2,
        "cep17_per_cell": want.cep17,
        "reported_group": want.group,
        "recount_confirmed": want.recount_confirmed,
    }
    for name, value in ish_fields.items():
        if value is not None:
            assert result.ish is not None
            assert getattr(result.ish, name) == value, name
    if want.single_probe is not None:
        assert result.ish is not None
        assert (result.ish.probe is IshProbe.SINGLE) is want.single_probe
    pct_fields = {
        "complete_intense": want.complete_intense,
        "complete_any": want.complete_any,
        "incomplete_faint": want.incomplete_faint,
    }
    for name, value in pct_fields.items():
        if value is not None:
            assert result.ihc is not None
            assert result.ihc.percentages is not None
            assert getattr(result.ihc.percentages, name) == value, name


POS, NEG, EQV, PEND = (
    ReportedStatus.POSITIVE,
    ReportedStatus.NEGATIVE,
    ReportedStatus.EQUIVOCAL,
    ReportedStatus.PENDING,
)
NULL, ULTRALOW, UNSPECIFIED = IhcZeroSubtype.NULL, IhcZeroSubtype.ULTRALOW, IhcZeroSubtype.UNSPECIFIED

OWN_PHRASINGS = [
    pytest.param(
        "HER2 (ERBB2) by IHC: Equivocal (Score 2+)", Expect(score="2+", status=EQV), id="cap-ihc-2+"
    ),
    pytest.param(
        "HER2 (ERBB2) by immunohistochemistry: Negative (Score 1+)",
        Expect(score="1+", status=NEG),
        id="cap-ihc-1+",
    ),
    pytest.param(
        "HER2 by ISH: Positive (amplified)", Expect(ish_final=POS, no_ihc=True), id="cap-ish-positive"
    ),
    pytest.param(
        "HER2 (ERBB2) BY IMMUNOHISTOCHEMISTRY\nResults: Negative (Score 0)\nAntibody: 4B5 (Ventana PATHWAY)\n"
        "Percentage of cells with uniform intense complete membrane staining: 0%",
        Expect(score="0", subtype=UNSPECIFIED, status=NEG, assay="4B5", complete_intense=0.0),
        id="cap-template-ihc-multiline",
    ),
    pytest.param(
        "HER2 (ERBB2) BY IN SITU HYBRIDIZATION\nDual-probe ISH: Negative (not amplified) (Group 5)\n"
        "Average number of HER2 signals per cell: 2.1\nAverage number of CEP17 signals per cell: 1.9\n"
        "HER2/CEP17 ratio: 1.1\nNumber of observers: 1\nNumber of invasive tumor cells counted: 40",
        Expect(ish_final=NEG, group=5, her2=2.1, cep17=1.9, ratio=1.1, single_probe=False),
        id="cap-template-ish-multiline",
    ),
    pytest.param("c-erbB-2 oncoprotein: score 3+ (positive)", Expect(score="3+", status=POS), id="c-erbB-2"),
    pytest.param(
        "Her-2/neu (CB11) score: 1+ negative", Expect(score="1+", assay="CB11"), id="her-2/neu-cb11"
    ),
    pytest.param(
        "HER-2/neu immunostain is negative (0).", Expect(score="0", status=NEG), id="immunostain-(0)"
    ),
    pytest.param(
        "ERBB2 amplification by FISH: not detected "
        "(HER2/CEP17 ratio 1.3; mean HER2 copy number 2.8 per nucleus)",
        Expect(ish_final=NEG, ratio=1.3, her2=2.8),
        id="erbb2-not-detected",
    ),
    pytest.param(
        "HER2 SISH: HER2/CEP17 ratio 2.4, average HER2 signals/nucleus 5.1; AMPLIFIED",
        Expect(ish_final=POS, ratio=2.4, her2=5.1, single_probe=False),
        id="sish-dual-amplified",
    ),
    pytest.param(
        "her2: 2+ equivocal, reflex FISH ordered", Expect(score="2+", ish_pending=True), id="lowercase"
    ),
    pytest.param(
        "HER2 IHC: 2+ (EQUIVOCAL)\nFISH: pending, will be reported in an addendum",
        Expect(score="2+", status=EQV, ish_pending=True),
        id="fish-pending-next-line",
    ),
    pytest.param(
        "FINAL DIAGNOSIS:\nInvasive ductal carcinoma, grade 2.\n\nBIOMARKERS (block B2):\n"
        "ER: Positive (80%, strong)\nPR: Positive (10%, weak)\nHER2 IHC (4B5): Equivocal (2+)\n\nADDENDUM:\n"
        "HER2 FISH: Not amplified. HER2/CEP17 ratio 1.4; average HER2 copy number 3.2 signals/cell.",
        Expect(score="2+", ish_final=NEG, ish_pending=False, ratio=1.4, her2=3.2),
        id="report-with-addendum",
    ),
    pytest.param(
        "HER2: Negative (IHC score 1+; faint incomplete membrane staining in 40% of invasive tumour cells)",
        Expect(score="1+", status=NEG, incomplete_faint=40.0),
        id="1+-with-percentage",
    ),
    pytest.param(
        "HER2: 0 (no membrane staining)", Expect(score="0", subtype=NULL), id="0-no-membrane-staining"
    ),
    pytest.param("HER2-null", Expect(score="0", subtype=NULL), id="her2-null-term"),
    pytest.param(
        "HER2 immunohistochemistry: score 0 (absent staining)", Expect(score="0", subtype=NULL), id="0-absent"
    ),
    pytest.param(
        "HER2 IHC: 0+ (>0% but ≤10% cells with faint incomplete staining)",
        Expect(score="0", subtype=ULTRALOW),
        id="0+-with-criterion-text",
    ),
    pytest.param(
        "HER2 (4B5): NEGATIVE, SCORE 0, WITH MEMBRANE STAINING IN 5% OF CELLS (HER2-ULTRALOW)",
        Expect(score="0", subtype=ULTRALOW, status=NEG, assay="4B5"),
        id="uppercase-ultralow",
    ),
    pytest.param(
        "HER2 IHC: Negative (score 0), with faint incomplete staining in 5% of tumour cells",
        Expect(score="0", subtype=ULTRALOW, incomplete_faint=5.0),
        id="ultralow-from-percentage",
    ),
    pytest.param(
        "HER2 status could not be determined due to poor fixation.", Expect(technical=True), id="fixation"
    ),
    pytest.param(
        "DCIS: HER2 3+. Invasive carcinoma: HER2 1+ (negative).",
        Expect(score="1+", status=NEG),
        id="dcis-first",
    ),
    pytest.param(
        "HER2 1+ in the invasive carcinoma and 3+ in the DCIS component",
        Expect(score="1+"),
        id="dcis-same-clause",
    ),
    pytest.param(
        "HER2: Negative", Expect(status=NEG, no_ihc=True, no_ish=True), id="legacy-unscored-negative"
    ),
    pytest.param("HER2 neg.", Expect(status=NEG, no_ihc=True), id="abbreviated-negative"),
    pytest.param("ER+/PR+/HER2-", Expect(status=NEG, no_ihc=True), id="shorthand-signs"),
    pytest.param(
        "HER2 2+; ISH group 4 (ratio 1.8, average HER2 copy number 4.5); no recount performed; "
        "final result: NEGATIVE with comment",
        Expect(score="2+", group=4, ratio=1.8, her2=4.5, status=NEG, ish_final=NEG),
        id="final-clause-after-semicolon",
    ),
    pytest.param(
        "HER2 by FISH: amplified (ratio 5.2)", Expect(ish_final=POS, ratio=5.2), id="fish-amplified"
    ),
    pytest.param("Ki-67: 30%; HER2: 3+", Expect(score="3+", no_ish=True), id="after-ki67"),
    pytest.param(
        "HER2 status: POSITIVE (IHC 3+, >10% of cells with complete intense staining)",
        Expect(score="3+", status=POS),
        id="criterion-percentage-not-a-measurement",
    ),
    pytest.param("HER2 IHC: 1+ (Dako HercepTest)", Expect(score="1+", assay="HercepTest"), id="herceptest"),
    pytest.param("Her2/neu: score 2 (equivocal)", Expect(score="2+", status=EQV), id="score-without-plus"),
    pytest.param("HER2 two plus (equivocal)", Expect(score="2+"), id="score-in-words"),
    pytest.param(
        "HER2 gene amplification by FISH: present (HER2:CEP17 ratio 3.4)",
        Expect(ish_final=POS, ratio=3.4),
        id="amplification-present",
    ),
    pytest.param(
        "HER2/neu gene status: non-amplified (ratio 1.05)",
        Expect(ish_final=NEG, ratio=1.05),
        id="non-amplified",
    ),
    pytest.param(
        "HER2 status by ISH: group 1 (ratio ≥2.0, HER2 ≥4.0)",
        Expect(group=1),
        id="criteria-are-not-measurements",
    ),
    pytest.param(
        "HER2 dual ISH: ratio 1.9, HER2 4.4 signals/cell (group 4), IHC 2+. "
        "Recount by a second observer changed the group from 4 to 5. Final HER2 status: negative.",
        Expect(score="2+", ratio=1.9, her2=4.4, group=5, recount_confirmed=False, status=NEG, ish_final=NEG),
        id="recount-changes-group",
    ),
    pytest.param(
        "HER-2: 1+ (Negative) by immunohistochemistry. Appropriate positive and negative controls were run.",
        Expect(score="1+", status=NEG),
        id="control-statement-ignored",
    ),
    pytest.param("HER2 (SP3): 3+", Expect(score="3+", assay="SP3"), id="sp3"),
    pytest.param(
        "HER2/neu: 1+ (weak, incomplete membrane staining in 20% of cells)",
        Expect(score="1+", incomplete_faint=20.0),
        id="weak-incomplete",
    ),
    pytest.param(
        "Interpretation: HER2 negative (score 1+)", Expect(score="1+", status=NEG), id="interpretation"
    ),
    pytest.param(
        "HER2 IHC - 2+ ; HER2 FISH - HER2/CEP17 ratio of 2.05 with 4.1 HER2 signals per cell "
        "- POSITIVE (group 1)",
        Expect(score="2+", ratio=2.05, her2=4.1, group=1, ish_final=POS),
        id="dash-separated",
    ),
    pytest.param(
        "The tumor is negative for HER2 (score 1+).", Expect(score="1+", status=NEG), id="negative-for"
    ),
    pytest.param("HER2 IHC: Negative (0/1+)", Expect(score="0-1+"), id="slash-range"),
    pytest.param("HER2 1+ to 2+ (heterogeneous)", Expect(score="1-2+"), id="to-range"),
    pytest.param(
        "HER2 immunohistochemical stain shows weak to moderate complete membrane staining "
        "in 15% of tumor cells (2+, equivocal)",
        Expect(score="2+", complete_any=15.0),
        id="weak-to-moderate-complete",
    ),
    pytest.param(
        "HER2 FISH: Ratio = 1.2 (not amplified); HER2 copy number = 2.5; CEP17 copy number = 2.1",
        Expect(ish_final=NEG, ratio=1.2, her2=2.5, cep17=2.1),
        id="equals-signs",
    ),
    pytest.param(
        "HER2 SISH (single probe): 6.2 HER2 signals per nucleus; amplified",
        Expect(single_probe=True, her2=6.2, ish_final=POS),
        id="single-probe-signals-per-nucleus",
    ),
    pytest.param(
        "HER2 testing: crush artifact; failed controls - indeterminate",
        Expect(technical=True),
        id="technical",
    ),
]


@pytest.mark.parametrize(("text", "want"), OWN_PHRASINGS)
def test_own_phrasing_is_read_as_stated(text: str, want: Expect) -> None:
    reading = read(text)
    result = the_current(reading)
    _check_expect(result, want)
    assert result.excerpt
    assert result.source == SOURCE


# ----------------------------------------------------------------------------------------------------
# Traps: never a result, never a guess


@pytest.mark.parametrize(
    "text",
    [
        "Comment: HER2-low expression may make the patient eligible for fam-trastuzumab deruxtecan.",
        "This result may indicate eligibility for therapy targeting low HER2 expression (e.g., trastuzumab "
        "deruxtecan).",
        "HER2 IHC 1+ and 2+/ISH-negative results may indicate eligibility for therapy targeting "
        "low levels of HER2 expression (e.g., T-DXd).",
        "Evidence is limited on the efficacy of HER2-targeted therapy for ISH group 2 tumors without protein "
        "overexpression.",
        "Clinical history: known HER2-positive breast cancer treated with trastuzumab.",
        "DCIS shows 3+ staining.",
        "Ductal carcinoma in situ: HER2 3+ (positive).",
        "HER2 testing was performed on block A1 and interpreted per ASCO/CAP guidelines.",
        "Invasive ductal carcinoma, Nottingham grade 3 (3+3+3=9).",
        "",
    ],
)
def test_text_that_is_not_a_result_gives_no_her2_result(text: str) -> None:
    reading = read(text)
    assert reading.her2 == ()
    assert reading.unparsed == ()


def test_eligibility_comment_never_makes_a_negative_report_positive() -> None:
    reading = read(
        "HER2 (4B5) by IHC: NEGATIVE (Score 1+).\n"
        "Comment: HER2 IHC 1+ and 2+/ISH-negative results may indicate eligibility for therapy targeting low "
        "levels of HER2 expression (e.g., trastuzumab deruxtecan). Positive responses were seen in trials."
    )
    result = the_current(reading)
    assert result.reported_status is ReportedStatus.NEGATIVE
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert result.ish is None


@pytest.mark.parametrize(
    "text",
    [
        "HER2 immunohistochemistry: weakly positive",
        "HER2 expression: low",
        "HER2 IHC: 4+",
        "HER2-low",
    ],
)
def test_her2_text_not_understood_is_unparsed_not_guessed(text: str) -> None:
    reading = read(text)
    result = the_current(reading)
    assert result.unparsed
    assert result.ihc is None
    assert result.ish is None
    assert result.reported_status is None
    assert result.excerpt == text
    assert reading.unparsed == (text,)


def test_conflicting_scores_on_one_specimen_are_unparsed() -> None:
    reading = read("HER2 IHC: 1+. HER2 IHC: 3+.")
    result = the_current(reading)
    assert result.unparsed
    assert result.ihc is None
    assert any("conflicting IHC scores" in note for note in result.notes)
    assert reading.unparsed


def test_unreadable_sentence_beside_a_result_is_noted_and_listed() -> None:
    reading = read("HER2 (4B5): Negative (Score 1+). HER2 expression appears heterogeneous.")
    result = the_current(reading)
    assert not result.unparsed
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert reading.unparsed == ("HER2 expression appears heterogeneous.",)
    assert any("not understood" in note for note in result.notes)


def test_final_line_is_preferred_over_the_test_wording() -> None:
    result = the_current(
        read(
            "HER2 (4B5) by IHC: EQUIVOCAL (Score 2+).\nHER2 DUAL ISH: ratio 1.6.\n"
            "FINAL HER2 STATUS: POSITIVE."
        )
    )
    assert result.reported_status is ReportedStatus.POSITIVE
    assert result.ish is not None
    assert result.ish.reported_final is ReportedStatus.POSITIVE


def test_addendum_replaces_pending_ish() -> None:
    result = the_current(
        read(
            "HER2 IHC: 2+ (equivocal). Reflex FISH to follow.\n\nADDENDUM:\nHER2 FISH: amplified, ratio 2.8."
        )
    )
    assert result.ish is not None
    assert not result.ish.pending
    assert result.ish.reported_final is ReportedStatus.POSITIVE
    assert result.ish.ratio == 2.8


# ----------------------------------------------------------------------------------------------------
# Specimens


def test_prior_specimen_with_accession_and_date() -> None:
    reading = read(
        "Prior biopsy (SP-23-4567, 2023-05-02): HER2 2+, FISH amplified. Current resection: HER2 IHC 3+."
    )
    prior = [r for r in reading.her2 if r.specimen.id == "SP-23-4567"]
    assert len(prior) == 1
    assert prior[0].specimen.collected == dt.date(2023, 5, 2)
    assert prior[0].ish is not None
    assert prior[0].ish.reported_final is ReportedStatus.POSITIVE
    current = the_current(reading)
    assert current.specimen == CURRENT
    assert current.ish is None


def test_prior_specimen_named_as_the_current_one_is_the_current_one() -> None:
    reading = read("HER2 performed on prior core biopsy SP-26-0001: score 1+")
    assert [r.specimen for r in reading.her2] == [CURRENT]


def test_metastatic_specimen_site_is_taken_from_the_text_when_unknown() -> None:
    reading = parse_report_text(
        "HER2: negative (score 0, no staining) - metastatic carcinoma in axillary lymph node"
    )
    assert reading.her2[0].specimen.site is SpecimenSite.METASTASIS
    stated = read("HER2: negative (score 0, no staining) - metastatic carcinoma in axillary lymph node")
    assert the_current(stated).specimen.site is SpecimenSite.PRIMARY


def test_receptors_carry_specimen_and_values() -> None:
    reading = read(
        "Estrogen receptor (ER): Positive, 95% of tumor cells, strong intensity (Allred 8)\n"
        "PR: Negative (<1%)"
    )
    by_receptor = {r.receptor: r for r in reading.receptors}
    assert by_receptor[Receptor.ER].percent == 95.0
    assert by_receptor[Receptor.ER].reported_positive is True
    assert by_receptor[Receptor.PR].percent == 0.0
    assert by_receptor[Receptor.PR].reported_positive is False
    assert {r.specimen for r in reading.receptors} == {CURRENT}
    assert {r.reported for r in reading.receptors} == {REPORTED}


def test_combined_er_pr_statement_splits_percentages() -> None:
    reading = read("ER/PR: positive (90%/40%)")
    assert [(r.receptor, r.percent, r.reported_positive) for r in reading.receptors] == [
        (Receptor.ER, 90.0, True),
        (Receptor.PR, 40.0, True),
    ]


# ----------------------------------------------------------------------------------------------------
# HTML


def test_html_to_text_keeps_line_structure_and_decodes_entities() -> None:
    html = (
        "<html><head><title>x</title><style>p {color: red}</style></head><body>"
        "<p>HER2 (4B5):   <b>Negative</b></p><div>Score&nbsp;1+<br>ER&#58; 95&#37;</div>"
        "<ul><li>PR: 0%</li><li>HER2 IHC &gt;0 &lt;1+</li></ul>"
        "<table><tr><th>Marker</th><th>Result</th></tr><tr><td>HER2</td><td>2+</td></tr></table>"
        "<script>var HER2 = '3+';</script></body></html>"
    )
    lines = html_to_text(html).split("\n")
    assert "HER2 (4B5): Negative" in lines
    assert "Score\u00a01+" in lines
    assert "ER: 95%" in lines
    assert "PR: 0%" in lines
    assert "HER2 IHC >0 <1+" in lines
    assert "HER2\t2+" in lines
    assert "Marker\tResult" in lines
    assert not any("var" in line for line in lines)


def test_html_pre_keeps_its_line_breaks() -> None:
    assert html_to_text("<pre>ER: 90%\n  PR: 5%</pre>after").split("\n") == ["ER: 90%", "PR: 5%", "after"]


@pytest.mark.parametrize("gap", ["\t", " \t ", "\t\t"])
def test_a_tab_inside_pre_text_is_no_table_cell(gap: str) -> None:
    # A tab between "not" and "amplified" in a <pre> block once split them into two table cells, and the
    # cell "amplified" read as a positive ISH (a prior 2+ became the current result: HER2-positive).
    html = (
        "<pre>Marker  | Prior (2022, core) | Current (2024, excision)\n"
        f"HER2 IHC | 2+ {gap}  | 0\n"
        f"HER2{gap}ISH | not{gap}amplified | -</pre>"
    )
    text = html_to_report_text(html)
    assert "not amplified" in " ".join(text.split())
    result = the_current(read(text))
    assert result.ish is None or result.ish.reported_final is not ReportedStatus.POSITIVE


def test_html_table_report_is_read() -> None:
    html = (
        "<table><tr><td>HER2 (4B5)</td><td>2+ (equivocal)</td></tr>"
        "<tr><td>HER2 FISH</td><td>pending</td></tr>"
    )
    result = the_current(read(html_to_text(html)))
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.TWO_PLUS
    assert result.ish is not None
    assert result.ish.pending


# ----------------------------------------------------------------------------------------------------
# Synthetic FHIR bundles (testdata/fhir/synthetic, expectations in its SOURCES.md)


def _report_texts(bundle: dict[str, Any]) -> list[str]:
    texts = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        forms = resource.get("presentedForm", []) if resource["resourceType"] == "DiagnosticReport" else []
        texts += [base64.b64decode(form["data"]).decode("utf-8") for form in forms if "data" in form]
        if resource["resourceType"] == "Binary" and resource.get("contentType") == "text/html":
            texts.append(html_to_text(base64.b64decode(resource["data"]).decode("utf-8")))
    return texts


BUNDLES = [
    pytest.param(
        "bundle-her2-ihc3-positive.json", Expect(score="3+", status=POS, assay="4B5"), (0, 0), id="ihc3"
    ),
    pytest.param(
        "bundle-her2-low-ihc1.json",
        Expect(score="1+", status=NEG, incomplete_faint=30.0, no_ish=True),
        (95, 40),
        id="low-ihc1",
    ),
    pytest.param(
        "bundle-her2-ihc2-ish-group5.json",
        Expect(score="2+", ratio=1.3, her2=2.6, cep17=2.0, group=5, ish_final=NEG, status=NEG),
        (80, 5),
        id="ihc2-group5",
    ),
    pytest.param(
        "bundle-her2-ish-group2-ihc1.json",
        Expect(score="1+", ratio=2.3, her2=3.4, cep17=1.48, group=2, ish_final=NEG, status=NEG),
        (90, 15),
        id="group2-ihc1",
    ),
    pytest.param(
        "bundle-her2-ish-group3-ihc2.json",
        Expect(score="2+", ratio=1.6, her2=6.8, cep17=4.25, group=3, recount_confirmed=True, status=POS),
        (0, 0),
        id="group3-ihc2",
    ),
    pytest.param(
        "bundle-her2-ultralow.json",
        Expect(score="0", subtype=ULTRALOW, incomplete_faint=5.0),
        (100, 70),
        id="ultralow",
    ),
    pytest.param("bundle-her2-null.json", Expect(score="0", subtype=NULL, status=NEG), (60, 0), id="null"),
]


@pytest.mark.parametrize(("name", "want", "er_pr"), BUNDLES)
def test_synthetic_bundle_presented_form(
    testdata: Path, name: str, want: Expect, er_pr: tuple[int, int]
) -> None:
    bundle = json.loads((testdata / "fhir" / "synthetic" / name).read_text(encoding="utf-8"))
    (text,) = _report_texts(bundle)
    reading = read(text)
    _check_expect(the_current(reading), want)
    assert len(reading.her2) == 1
    assert reading.unparsed == ()
    assert [(r.receptor, r.percent) for r in reading.receptors] == [
        (Receptor.ER, float(er_pr[0])),
        (Receptor.PR, float(er_pr[1])),
    ]


def test_narrative_only_binary_html_bundle(testdata: Path) -> None:
    bundle = json.loads(
        (testdata / "fhir" / "synthetic" / "bundle-narrative-only-binary-html.json").read_text(
            encoding="utf-8"
        )
    )
    (text,) = _report_texts(bundle)
    excision = SpecimenRef(id="excision-1", site=SpecimenSite.PRIMARY)
    reading = read(text, specimen=excision)
    (result,) = reading.her2
    assert result.specimen.id == "S25-00123"
    assert any("prior specimen" in note for note in result.notes)
    _check_expect(result, Expect(score="0", subtype=ULTRALOW, incomplete_faint=8.0, assay="4B5", status=NEG))
    assert {(r.receptor, r.percent, r.specimen.id) for r in reading.receptors} == {
        (Receptor.ER, 85.0, "S25-00123"),
        (Receptor.PR, 20.0, "S25-00123"),
    }
    assert reading.unparsed == ()


# ----------------------------------------------------------------------------------------------------
# Robustness: the parser never raises


_FRAGMENTS = st.sampled_from(
    [
        "HER2", "Her-2/neu", "c-erbB-2", "ERBB2", "ER", "PR", "Ki-67", "DCIS", "IHC", "FISH", "SISH", "(4B5)",
        "score", "0", "1+", "2+", "3+", "0-1+", "1-2+", ">0 <1+", "0+", "ultralow", "null", "no staining",
        "positive", "negative", "equivocal", "pending", "amplified", "not amplified", "ratio", "1.9", "2.0",
        "HER2/CEP17", "=", ":", ";", ",", ".", "(", ")", "\n", "\n\n", "%", "5%", "<1%", "group 4", "group 5",
        "recount", "confirmed", "Final:", "FINAL HER2 STATUS:", "prior core biopsy", "S24-1234",
        "current excision", "ADDENDUM:", "eligibility", "faint incomplete membrane staining in",
        "signals/cell", "CEP17", "controls",
        "crush artifact", "in situ hybridization", "≥", "–", "999%", "150 signals/cell",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40).map(" ".join))
def test_parser_never_raises_on_grammar_fragments(text: str) -> None:
    reading = read(text)
    for result in reading.her2:
        assert result.excerpt
        assert result.source == SOURCE


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parser_and_html_never_raise_on_arbitrary_text(text: str) -> None:
    assert isinstance(read(text), NarrativeReading)
    assert isinstance(html_to_text(text), str)


# ----------------------------------------------------------------------------------------------------
# Whole reports with headers and continuation lines


SYNOPTIC_PANEL = """SPECIAL STUDIES:
Block A1 (invasive carcinoma):
Estrogen Receptor (SP1): Positive
  Percent of cells with nuclear positivity: 95%
  Average intensity: Strong
Progesterone Receptor (1E2): Positive
  Percent of cells with nuclear positivity: 30%
HER2 (4B5): Negative (Score 1+)
  Percent of cells with complete membrane staining: 0%
Ki-67 (30-9): 20%

Controls: Positive and negative controls stained appropriately.
"""

SECTIONED_REPORT = """HER2 IMMUNOHISTOCHEMISTRY
Antibody: PATHWAY anti-HER-2/neu (4B5)
Score: 0
Interpretation: Negative
Staining pattern: faint, barely perceptible incomplete membrane staining in 2% of invasive tumor cells

HER2 IN SITU HYBRIDIZATION
Not performed.
"""


def test_synoptic_panel_with_continuation_lines() -> None:
    reading = read(SYNOPTIC_PANEL)
    _check_expect(
        the_current(reading), Expect(score="1+", status=NEG, assay="4B5", complete_any=0.0, no_ish=True)
    )
    assert [(r.receptor, r.percent, r.reported_positive) for r in reading.receptors] == [
        (Receptor.ER, 95.0, True),
        (Receptor.PR, 30.0, True),
    ]


def test_sectioned_report_lines_continue_the_her2_header() -> None:
    result = the_current(read(SECTIONED_REPORT))
    _check_expect(result, Expect(score="0", subtype=ULTRALOW, incomplete_faint=2.0, status=NEG, no_ish=True))


def test_definition_of_ihc_zero_is_not_a_null_statement() -> None:
    result = the_current(read("HER2 IHC: 0 (no staining or faint incomplete staining in ≤10% of cells)"))
    _check_expect(result, Expect(score="0", subtype=UNSPECIFIED))


def test_single_result_before_an_inline_eligibility_comment_is_kept() -> None:
    result = the_current(read("HER2: 1+ (HER2-low), may qualify the patient for trastuzumab deruxtecan"))
    _check_expect(result, Expect(score="1+"))
    listed = read("HER2 IHC 0. HER2 IHC 1+, 2+/ISH-negative results may indicate eligibility for T-DXd.")
    _check_expect(the_current(listed), Expect(score="0", subtype=UNSPECIFIED))


def test_html_with_a_malformed_declaration_falls_back_to_tag_removal() -> None:
    # The standard-library scanner raises on "<![0"; the text around it is still returned.
    text = html_to_text("<p>HER2 &gt;0 &lt;1+</p><br>ER 90% <![0 y")
    assert text.split("\n") == ["HER2 >0 <1+", "", "ER 90% <![0 y"]


# ----------------------------------------------------------------------------------------------------
# Outside reports rewritten in one case, or with a staining description placing the score in the DCIS

_DCIS_ONLY = """Diagnosis:
Breast, left, VAB:
  Ductal carcinoma in situ, high nuclear grade, comedo type.
  No invasive carcinoma is identified (p63 and calponin confirm intact myoepithelial layer).
Immunohistochemistry (on DCIS):
ER: negative (0%)
PR: negative (0%)
HER2 (4B5): 3+, strong complete membranous staining in DCIS cells
Note: HER2 status of DCIS is for research purposes; HER2 should be reassessed on any invasive carcinoma."""


@pytest.mark.parametrize("case", [str, str.lower, str.upper])
def test_a_heading_over_items_stays_a_heading_in_a_report_of_one_case(case: Any) -> None:
    # Lower-cased, "immunohistochemistry (on dcis):" took "er: negative (0%)" as its value, the DCIS heading
    # was lost, and the DCIS 3+ read as the invasive carcinoma's: HER2-positive.
    reading = read(case(_DCIS_ONLY))
    assert not any(r.ihc is not None and r.ihc.score is IhcScore.THREE_PLUS for r in reading.her2)


@pytest.mark.parametrize(
    ("text", "score"),
    [
        (
            "Invasive ductal carcinoma, grade 2.\n"
            "HER2 (4B5): 3+, strong complete membranous staining in DCIS cells",
            None,
        ),
        ("Invasive ductal carcinoma, grade 2.\nHER2 (4B5): 1+, DCIS 3+", IhcScore.ONE_PLUS),
        (
            "Invasive ductal carcinoma.\nHER2 (4B5): 0 in the invasive carcinoma, 3+ in the DCIS",
            IhcScore.ZERO,
        ),
        (
            "Invasive ductal carcinoma.\n"
            "HER2 IHC: 2+, weak to moderate complete staining, also seen in adjacent DCIS",
            IhcScore.TWO_PLUS,
        ),
    ],
)
def test_a_score_whose_staining_is_placed_in_the_dcis_is_the_dcis_score(
    text: str, score: IhcScore | None
) -> None:
    scores = {r.ihc.score for r in read(text).her2 if r.ihc is not None}
    assert scores == ({score} if score is not None else set())
