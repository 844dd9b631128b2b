"""First-read misses of outside report sets, one cause per group of tests (each failed before its fix).

Expected categories follow ASCO/CAP 2018/2023 (``spec/clinical-logic.md`` §3–§8); §10 for a coded result
contradicted by its own report text. The texts are written for these tests.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from connectors.fhir.mapping import pathology_from_resources
from connectors.fhir.mapping_crosscheck import crosscheck
from connectors.fhir.narrative import parse_report_text
from rules.domain import Her2Result, IhcResult, IhcScore, IshProbe, SpecimenRef
from rules.her2 import synthesize
from rules.her2.classify import display_category
from tests.unit.connectors.fhir.categories import category_of

SPECIMEN = SpecimenRef(id="S26-00123", collected=dt.date(2026, 3, 2))
LOINC = "http://loinc.org"


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 3, 6))


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def report(**content: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "code": {"text": "Surgical pathology"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-02",
        "issued": "2026-03-06T10:00:00Z",
        **content,
    }


def mapped_category(resources: list[dict[str, Any]]) -> str:
    data = pathology_from_resources(resources)
    return display_category(synthesize(data.her2, data.receptors).current)


# 1. A quoted pre-treatment result stood in for a specimen with no invasive tumour left (a false positive).


@pytest.mark.parametrize(
    "first_line",
    [
        "Mastectomy after neoadjuvant chemotherapy: no residual invasive carcinoma. ypT0(is) ypN0.",
        "Wide local excision after neoadjuvant therapy. Pathological complete response (RCB-0).",
        "Breast biomarkers: not performed on this specimen.",
    ],
)
def test_a_quoted_pre_treatment_result_does_not_stand_in_for_the_resection(first_line: str) -> None:
    text = f"{first_line}\nPre-treatment core biopsy (C25-4411): HER2 3+, ER negative."
    assert category(text) == "indeterminate"


def test_ihc_not_performed_beside_an_amplified_fish_keeps_the_fish() -> None:
    text = (
        "HER2 FISH: HER2/CEP17 ratio 4.1, HER2 9.0 signals per cell. Amplified (group 1).\n"
        "IHC was not performed on this specimen."
    )
    assert category(text) == "HER2-positive"


def _panel(ihc_code: str, ihc_display: str, text: str) -> list[dict[str, Any]]:
    panel = {
        "resourceType": "Observation",
        "id": "panel",
        "status": "final",
        "code": {"text": "Breast tumour marker panel"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-02",
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "85319-2"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": LOINC, "code": ihc_code, "display": ihc_display}]
                },
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "85337-4"}]},
                "valueCodeableConcept": {"text": "Positive"},
            },
        ],
    }
    dr = report(
        result=[{"reference": "Observation/panel"}],
        presentedForm=[{"contentType": "text/plain", "data": b64(text)}],
    )
    return [dr, panel]


def test_a_coded_panel_component_contradicting_the_text_is_not_classified() -> None:
    text = "Invasive carcinoma NST. HER2 IHC (4B5): 3+, positive (complete intense staining, 80 %)."
    data = pathology_from_resources(_panel("LA11841-6", "1+", text))
    assert display_category(synthesize(data.her2, data.receptors).current) == "indeterminate"
    assert any("disagree across a T-DXd category line" in note for note in data.her2[0].notes)


def test_a_coded_panel_component_is_a_coded_result() -> None:
    assert mapped_category(_panel("LA11841-6", "1+", "Invasive carcinoma NST, grade 2.")) == "HER2-low"


# 2. A current result beside a quoted earlier one was a conflict (indeterminate) or lost its score.


@pytest.mark.parametrize(
    "text",
    [
        "Antecedentes: carcinoma de mama (2020); HER2 0 en la biopsia previa.\n"
        "Biopsia actual, hígado: HER2 (4B5): 3+.",
        "COMMENT: History of breast carcinoma (2020, S20-3341). HER2 on that primary was reported as 1+.\n"
        "HER2 (4B5) on the current specimen: 3+, complete intense membrane staining in 90% of tumour cells.",
        "OUTSIDE DIAGNOSIS: invasive carcinoma; HER2 IHC 2+, ISH not performed.\n"
        "OUR RESULT (repeated in our laboratory): HER2 (4B5): 3+, positive.",
    ],
)
def test_the_current_result_wins_over_a_quoted_earlier_one(text: str) -> None:
    assert category(text) == "HER2-positive"


def test_a_zero_after_the_clone_in_brackets_is_a_score() -> None:
    assert category("ER 90% strong; PR 10% weak; HER2 (4B5) 0, negative.") == "HER2-0"


# 3. A value the report says was issued in error made the corrected report a conflict.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "AMENDED REPORT. Reason: the original report incorrectly listed the HER2 IHC score as 1+. "
            "The correct score is 3+.\nHER2 (IHC): POSITIVE, 3+ [CORRECTED; previously reported as 1+]",
            "HER2-positive",
        ),
        (
            "AMENDED REPORT. The HER2 result first issued (3+, positive) was obtained on the wrong block in "
            "error and is retracted.\nHER2 IHC (corrected): 1+, negative.",
            "HER2-low",
        ),
        (
            "REFERTO RETTIFICATO.\nHER2 (4B5): score 3+.\n"
            '[Nel referto precedente era riportato erroneamente "score 1+".]',
            "HER2-positive",
        ),
    ],
)
def test_the_corrected_value_supersedes_the_one_issued_in_error(text: str, expected: str) -> None:
    assert category(text) == expected


# 4. Report text in RTF or with HL7 v2 escapes was not read.


def test_rtf_and_v2_escapes_become_plain_text() -> None:
    from connectors.fhir.narrative_markup import plain_text

    rtf = r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\b HER2 IHC\b0\tab 3+\par Ratio\tab 2.3\par}"
    assert plain_text(rtf).splitlines() == ["HER2 IHC\t3+", "Ratio\t2.3"]
    assert plain_text(r"ER\.br\HER2 2+ \T\ FISH to follow~KI-67: 20%").splitlines() == [
        "ER",
        "HER2 2+ & FISH to follow",
        "KI-67: 20%",
    ]
    assert plain_text("about ~70% of cells") == "about ~70% of cells"


def test_an_rtf_document_reference_is_read() -> None:
    body = r"{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\b HER2 IHC (4B5)\b0\tab 3+ (complete, intense)\par}"
    document = {
        "resourceType": "DocumentReference",
        "id": "doc1",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11529-5"}]},
        "subject": {"reference": "Patient/p1"},
        "date": "2026-03-06T10:00:00Z",
        "content": [{"attachment": {"contentType": "application/rtf", "data": b64(body)}}],
    }
    assert mapped_category([document]) == "HER2-positive"


def test_v2_line_markers_in_a_conclusion_are_line_breaks() -> None:
    text = (
        r"PROGNOSTIC MARKERS:\.br\ER: POSITIVE, 90%, STRONG (3+) INTENSITY\.br\HER2 BY IHC (4B5): 2+ "
        r"EQUIVOCAL\.br\REFLEX HER2 FISH ORDERED \T\ TO FOLLOW."
    )
    assert category(text) == "HER2-equivocal"


def _coded_ihc(concept: dict[str, Any] | None = None, value: str | None = None) -> list[dict[str, Any]]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "ihc",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85319-2"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-02",
    }
    if concept is not None:
        observation["valueCodeableConcept"] = concept
    if value is not None:
        observation["valueString"] = value
    return [report(result=[{"reference": "Observation/ihc"}]), observation]


def test_a_v2_local_code_that_is_a_score_is_read() -> None:
    concept = {"coding": [{"system": "http://hospital.example/v2", "code": "0", "display": "Negative"}]}
    assert mapped_category(_coded_ihc(concept)) == "HER2-0"


def test_a_local_score_code_its_display_contradicts_is_not_read() -> None:
    concept = {"coding": [{"system": "http://hospital.example/v2", "code": "3+", "display": "Negative"}]}
    assert mapped_category(_coded_ihc(concept)) != "HER2-positive"


def test_a_score_after_the_marker_name_and_clone_is_read() -> None:
    assert mapped_category(_coded_ihc(value="HER2/NEU (4B5): POSITIVE, SCORE 3+")) == "HER2-positive"


# 5. A single-probe count reflexed to dual-probe ISH was merged with the dual-probe count.


def test_single_probe_reflexed_to_dual_probe_group_5_is_negative() -> None:
    text = (
        "Concurrent IHC: 2+.\n"
        "Single-probe SISH: mean 4.7 HER2 signals/cell - reflexed to dual-probe ISH.\n"
        "Dual-probe ISH: mean HER2 3.6/cell, mean CEP17 2.9/cell, ratio 1.2. Group 5.\n"
    )
    reading = parse_report_text(text, specimen=SPECIMEN)
    ish = reading.her2[0].ish
    assert ish is not None
    assert (ish.probe, ish.her2_per_cell) == (IshProbe.DUAL, 3.6)
    assert category(text) == "HER2-low"


def test_a_single_probe_count_alone_stays_single_probe() -> None:
    text = "CISH (single-probe, HER2 only).\nMean HER2 signals per nucleus 8.1.\nIHC on the same block: 2+."
    assert category(text) == "HER2-positive"


# 6. Smaller causes: cut-offs, criterion wording, denied statuses, withdrawn results, cumulative summaries.


def test_a_cut_off_beside_the_result_is_neither_a_share_nor_a_score() -> None:
    text = (
        "HER2 (4B5): cells with incomplete faint membrane staining: 10%; complete staining: 0%.\n"
        "SCORE: 0 (negative). Faint staining in 10% of cells does not exceed the >10% threshold for 1+."
    )
    assert category(text) == "HER2-ultralow"


def test_a_comment_on_a_class_of_results_is_not_a_score() -> None:
    text = (
        "HER2 (IHC, 4B5): NEGATIVE, SCORE 1+ (faint incomplete staining in 40% of cells).\n"
        "COMMENT: HER2 IHC results of 1+, or 2+ with a negative ISH result, are HER2-negative by ASCO/CAP "
        "criteria; such tumours may be eligible for trastuzumab deruxtecan. This comment does not indicate a "
        "positive HER2 result."
    )
    assert category(text) == "HER2-low"


def test_a_result_the_laboratory_declares_unreliable_is_not_classified() -> None:
    text = (
        "Bone metastasis, decalcified in formic acid.\n"
        "HER2 IHC: no membrane staining in tumour cells. This result is not reliable and should not be used "
        "for treatment decisions."
    )
    assert category(text) == "indeterminate"


def _dated_ihc(ident: str, date: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85319-2"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": date,
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": code, "display": display}]},
    }


def test_coded_results_of_one_test_on_different_days_are_separate_occasions() -> None:
    resources = [
        report(result=[{"reference": "Observation/a"}, {"reference": "Observation/b"}]),
        _dated_ihc("a", "2025-05-02", "LA6111-4", "0"),
        _dated_ihc("b", "2026-03-02", "LA11841-6", "1+"),
    ]
    data = pathology_from_resources(resources)
    assert len(data.her2) == 2
    assert mapped_category(resources) == "HER2-low"


def test_one_work_up_with_test_dates_on_different_days_stays_one_occasion() -> None:
    ratio = {
        "resourceType": "Observation",
        "id": "r",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "49683-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-09",
        "valueQuantity": {"value": 1.3, "unit": "{ratio}"},
    }
    copies = {**ratio, "id": "c", "code": {"coding": [{"system": LOINC, "code": "74860-8"}]}}
    copies["valueQuantity"] = {"value": 2.9, "unit": "{copies}/{nucleus}"}
    resources = [
        report(result=[{"reference": f"Observation/{i}"} for i in ("a", "r", "c")]),
        _dated_ihc("a", "2026-03-04", "LA11842-4", "2+"),
        ratio,
        copies,
    ]
    assert len(pathology_from_resources(resources).her2) == 1
    assert mapped_category(resources) == "HER2-low"


def test_a_coded_result_is_checked_against_the_part_of_the_text_it_agrees_with() -> None:
    def ihc(score: IhcScore, part: str) -> Her2Result:
        return Her2Result(specimen=SpecimenRef(id=part), ihc=IhcResult(score=score))

    coded = ihc(IhcScore.ONE_PLUS, "coded")
    parts = [ihc(IhcScore.ZERO, "part 1"), ihc(IhcScore.ONE_PLUS, "part 2")]
    assert not crosscheck(coded, parts).unparsed
    assert crosscheck(coded, [parts[0]]).unparsed
    assert crosscheck(ihc(IhcScore.THREE_PLUS, "coded"), parts).unparsed


def test_an_error_statement_rewritten_to_english_words_is_still_an_error() -> None:
    text = (
        "Corrección: per error of transcripción se informó HER2 3+. El valor correcto es HER2 2+.\n"
        "HER2 (4B5): 2+. FISH: not amplified, HER2/CEP17 ratio 1.2, 2.5 HER2 signals per cell."
    )
    assert category(text) == "HER2-low"


def test_an_error_named_in_brackets_beside_the_result_does_not_drop_it() -> None:
    assert category("HER2 IHC (repeated; the incorrect block was stained first): 1+, negative.") == "HER2-low"


def test_residual_disease_named_as_no_pcr_keeps_its_own_result() -> None:
    text = (
        "Residual invasive carcinoma, 1.4 cm (no pCR; RCB-II).\nHER2 (4B5) on the residual tumour: 1+.\n"
        "Pre-treatment core biopsy (C25-4411): HER2 3+."
    )
    assert category(text) == "HER2-low"


def test_a_general_decalcification_caution_does_not_withdraw_the_result() -> None:
    text = (
        "HER2 IHC (4B5): 3+, complete intense membrane staining in 90% of tumour cells.\n"
        "Note: HER2 results on acid-decalcified specimens are not reliable."
    )
    assert category(text) == "HER2-positive"


@pytest.mark.parametrize(
    "quote",
    [
        "HER2 im Vorbefund (2021): 1+.",
        "HER2 précédemment rapporté 1+ sur la tumeur primitive.",
        "HER2 previamente informado como 1+ en el tumor primario.",
    ],
)
def test_an_earlier_result_quoted_in_another_language_is_history(quote: str) -> None:
    assert category(f"{quote}\nHER2 (4B5): 3+, complete intense membrane staining in 80% of cells.") == (
        "HER2-positive"
    )


def test_a_result_previously_performed_on_another_specimen_is_a_quotation() -> None:
    text = (
        "LEFT BREAST, EXCISION: invasive lobular carcinoma, 1.8 cm.\n"
        "Biomarkers: previously performed on core biopsy S26-3310 (01/2026): ER positive, HER2 POSITIVE "
        "(3+). Not repeated on this specimen."
    )
    resources = [report(presentedForm=[{"contentType": "text/plain", "data": b64(text)}])]
    assert mapped_category(resources) == "indeterminate"
