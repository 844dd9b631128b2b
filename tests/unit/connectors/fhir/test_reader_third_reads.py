"""Misses of the outside report sets S, T and V, one cause per group of tests (each failed before its fix).

Expected categories follow ASCO/CAP 2018/2023 (``spec/clinical-logic.md`` §3–§8). The texts are written for
these tests.
"""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.fhir.mapping_narrative import texts_to_results
from rules.domain import SourceRef, SpecimenRef
from rules.her2 import synthesize
from rules.her2.classify import display_category
from tests.unit.connectors.fhir.categories import EQUIVOCAL, LOW, POS, ULTRALOW, ZERO, category_of

SPECIMEN = SpecimenRef(id="S26-00321", collected=dt.date(2026, 4, 2))


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 4, 6))


# A HER2 worksheet: rows of membrane staining between rule lines, under a lead-in naming no marker. In a
# report naming HER2 alone, membrane staining rows are HER2's (ER and PR stain nuclei).

_RULE = "-" * 60


def _worksheet(lead: str, faint: int, score: str) -> str:
    return "\n".join(
        [
            "***  HER2 IMMUNOHISTOCHEMISTRY - QUANTITATIVE WORKSHEET  ***",
            "CASE NO......: S26-00321-A1          COLLECTED....: 04/02/2026",
            _RULE,
            lead,
            "  COMPLETE INTENSE MEMBRANE STAINING ............   0 %",
            f"  INCOMPLETE FAINT MEMBRANE STAINING ............   {faint} %",
            f"  NO STAINING ...................................  {100 - faint} %",
            _RULE,
            f"HER2 SCORE...: {score}                      INTERPRETATION: NEGATIVE",
        ]
    )


@pytest.mark.parametrize("lead", ["INVASIVE TUMOR CELLS WITH:", "Percentage of tumour cells showing:", ""])
def test_worksheet_staining_rows_naming_no_marker_are_her2s(lead: str) -> None:
    assert category(_worksheet(lead, 8, "0")) == ULTRALOW


def test_worksheet_rows_do_not_turn_a_stated_1_plus() -> None:
    assert category(_worksheet("INVASIVE TUMOR CELLS WITH:", 40, "1+")) == LOW


def test_an_unrecognised_receptor_line_is_not_her2s() -> None:
    # "Receptor de estrógeno" is no marker the reader names, and its line has no membrane staining: it must
    # not lend its "positivo" to HER2.
    text = (
        "Receptor de estrógeno: positivo 90%.\nHER2: 2+ (dudoso).\nFISH HER2: no amplificado (cociente 1,1)."
    )
    assert category(text) != POS


# The ultralow term of another language joined to the marker's name by a hyphen.


@pytest.mark.parametrize("term", ["HER2-ultrabajo", "HER2-ultrafaible", "HER-2-ultrabasso"])
def test_a_hyphenated_foreign_ultralow_term_is_read(term: str) -> None:
    assert category(f"HER2 (4B5): negativo, puntuación 0 ({term}).") == ULTRALOW
    # The term alone marks the text as foreign, in an otherwise English sentence.
    assert category(f"HER2 (4B5): negative, score 0 ({term}).") == ULTRALOW


# A denial of reaching a score's threshold ("No staining reaches the 1+ threshold (>10%)") is the bound of
# the result, not a 1+ share.


@pytest.mark.parametrize(
    "denial",
    [
        "No staining reaches the 1+ threshold (>10%).",
        "None of the tumour cells meets the criteria for 1+.",
        "No staining attains the 1+ threshold.",
    ],
)
def test_no_staining_reaching_a_threshold_is_no_score(denial: str) -> None:
    text = (
        "HER2 (4B5): NEGATIVE, SCORE 0.\n   Rare invasive tumor cells (<5%) show faint, incomplete membrane "
        f"staining. {denial}"
    )
    assert category(text) == ULTRALOW


def test_a_score_reaching_the_threshold_still_stands() -> None:
    assert category("HER2 (4B5): score 1+; staining reaches the 1+ threshold (>10%).") == LOW
    assert category("HER2: 0 (no staining).") in (ZERO, "HER2-null")


# A report sent as two attachments, the original (IHC 2+, FISH to follow) and its addendum (FISH amplified):
# the addendum goes on the report, as an addendum written inside it would, and supersedes "pending".

_ORIGINAL = (
    "SURGICAL PATHOLOGY - FINAL REPORT (S26-00321)\n"
    "Right breast, core biopsy: invasive carcinoma of no special type, grade 2.\n"
    "HER2 IHC (4B5): 2+ (EQUIVOCAL). Reflex FISH ordered; results will be reported in an addendum."
)


@pytest.mark.parametrize(
    ("addendum", "expected"),
    [
        (
            "ADDENDUM #1 (2026-04-05) - HER2 FISH (S26-00321)\nAverage HER2 copies per cell: 4.9\n"
            "Average CEP17 copies per cell: 2.1\nHER2/CEP17 ratio: 2.3\n"
            "RESULT: AMPLIFIED (ASCO/CAP group 1).",
            POS,
        ),
        (
            "*** Amended report ***\nHER2 FISH: NOT AMPLIFIED, HER2/CEP17 ratio 1.2, 2.4 signals per cell.",
            LOW,
        ),
    ],
)
def test_an_addendum_sent_as_its_own_attachment_goes_on_the_report(addendum: str, expected: str) -> None:
    her2, receptors = texts_to_results(
        [_ORIGINAL, addendum],
        source=SourceRef(system="fhir", reference="DocumentReference/d1"),
        specimen=SPECIMEN,
        reported=dt.date(2026, 4, 6),
    )
    assert display_category(synthesize(her2, receptors).current) == expected


def test_two_renderings_of_one_report_are_still_read_first_first() -> None:
    her2, receptors = texts_to_results(
        [_ORIGINAL, "HER2 IHC (4B5): 2+ (EQUIVOCAL)."],
        source=SourceRef(system="fhir", reference="DocumentReference/d1"),
        specimen=SPECIMEN,
        reported=dt.date(2026, 4, 6),
    )
    assert display_category(synthesize(her2, receptors).current) == EQUIVOCAL


# Same-date parts (breast 2+/ISH-negative, node 3+): a comment hedging only an explanation of the discordance
# ("most likely reflecting heterogeneity"), or qualifying the node's positive result in its own direction
# ("suggesting a HER2-positive subclone"), does not put the node's explicit 3+ in doubt; the highest counts.

_PARTS = (
    "A. RIGHT BREAST, MASTECTOMY: invasive carcinoma, grade 2.\n"
    "B. RIGHT AXILLA, LYMPH NODE: metastatic carcinoma in 2 of 9 lymph nodes.\n"
    "Part A (breast): HER2 IHC 2+; HER2 FISH ratio 1.3, 2.9 signals/cell, group 5 - NOT AMPLIFIED.\n"
    "Part B (lymph node metastasis): HER2 IHC 3+ POSITIVE, complete intense staining in 50% of cells.\n\n"
)


@pytest.mark.parametrize(
    "comment",
    [
        "COMMENT: Discordant HER2 expression between primary and nodal metastasis, most likely reflecting "
        "intratumoural heterogeneity.",
        "COMMENT: The nodal metastasis shows HER2 overexpression not seen in the primary, suggesting a "
        "HER2-positive subclone.",
    ],
)
def test_a_comment_hedging_an_explanation_leaves_the_parts_results(comment: str) -> None:
    assert category(_PARTS + comment) == POS


@pytest.mark.parametrize(
    "comment",
    [
        "COMMENT: HER2 in the node is most likely 2+.",
        "COMMENT: The node most likely represents a HER2-low (2+) subclone.",
    ],
)
def test_a_hedge_towards_a_lower_or_uncertain_result_still_hedges(comment: str) -> None:
    assert category(_PARTS + comment) != POS


# A quoted scoring legend: under a header "Scoring criteria (ASCO/CAP …), for reference:" its rows are
# criteria; after the legend and a rule line, "RESULT: 1+" in a report naming HER2 alone is HER2's.

_LEGEND_ROWS = (
    "   0   No staining, or faint incomplete staining in <=10% of tumour cells ........ Negative\n"
    "   1+  Faint incomplete staining in >10% of tumour cells ........ Negative\n"
    "   2+  Weak-moderate complete staining in >10% of tumour cells ........ Equivocal\n"
    "   3+  Complete, intense circumferential staining in >10% of tumour cells ......... Positive\n"
)


@pytest.mark.parametrize(
    "header",
    ["Scoring criteria (ASCO/CAP 2018/2023), for reference:", "Interpretive criteria, for information:"],
)
def test_a_legend_under_a_criteria_header_with_its_purpose_is_not_read(header: str) -> None:
    text = (
        "HER2 IMMUNOHISTOCHEMISTRY (4B5), block A1\n"
        "Result: Score 1+ (NEGATIVE). Faint incomplete membrane staining in approximately 35% of cells.\n\n"
        f"{header}\n{_LEGEND_ROWS}\nER: positive (90%, strong).  PR: positive (15%)."
    )
    assert category(text) == LOW


@pytest.mark.parametrize(("score", "expected"), [("1+", LOW), ("3+", POS)])
def test_a_result_row_after_a_legend_in_a_her2_report_is_her2s(score: str, expected: str) -> None:
    text = (
        "HER2 IMMUNOHISTOCHEMISTRY (PowerPath)              CASE: P26-117430  PART: A\n"
        f"{_RULE}\nSCORING CRITERIA (ASCO/CAP 2018):\n{_LEGEND_ROWS}{_RULE}\n"
        f"RESULT:            {score}\nINTERPRETATION:    {'POSITIVE' if score == '3+' else 'NEGATIVE'}\n"
    )
    assert category(text) == expected


def test_a_score_row_naming_a_receptor_in_another_language_is_not_her2s() -> None:
    text = "HER2 (4B5): 1+.\n\nReceptor de estrógeno: intensidad 3+, 90%."
    assert category(text) == LOW


# A recommendation worded with "suggest" ("treatment according to the current result is suggested") hedges
# nothing; "suggesting" or "suggestive of" a result still hedges.


@pytest.mark.parametrize(
    "comment",
    [
        "Clinical correlation and treatment according to the current (metastatic) result is suggested.",
        "We suggest clinical correlation.",
        "Repeat testing on a resection specimen is suggested if clinically indicated.",
    ],
)
def test_a_recommendation_with_suggest_is_no_hedge(comment: str) -> None:
    text = (
        "BIOMARKERS (block A1, metastatic carcinoma):\n"
        "  HER2 (4B5): 3+ POSITIVE - strong complete membrane staining in ~60% of tumor cells.\n\n"
        f"COMMENT: The HER2 result on this metastasis is confirmed by a second pathologist.\n{comment}"
    )
    assert category(text) == POS


def test_a_result_suggested_by_the_staining_stays_hedged() -> None:
    text = "HER2 (4B5): staining pattern suggestive of 3+; to be confirmed."
    assert category(text) != POS


# Turkish reports: "Skor 2+", "HER2/CEP17 oranı: 3,1", "Ortalama HER2 sinyali: 7,4 /hücre",
# "amplifikasyon saptanmıştır" (amplified) and "amplifikasyonu saptanmadı" (not amplified).


@pytest.mark.parametrize(
    ("ish", "expected"),
    [
        (
            "Ortalama HER2 sinyali: 7,4 /hücre; ortalama CEP17: 2,4 /hücre; HER2/CEP17 oranı: 3,1\n"
            "  SONUÇ: HER2 geninde AMPLİFİKASYON SAPTANMIŞTIR (ASCO/CAP grup 1).",
            POS,
        ),
        (
            "HER2/CEP17 oranı: 1,2; ortalama HER2 sinyali: 2,3 /hücre\n"
            "  SONUÇ: HER2 geninde amplifikasyon saptanmadı.",
            LOW,
        ),
    ],
)
def test_a_turkish_ish_result_is_read(ish: str, expected: str) -> None:
    text = (
        "TANI: İnvaziv meme karsinomu (NST), histolojik derece 2.\n\nİMMÜNOHİSTOKİMYA:\n"
        "  ER: %80 pozitif (güçlü)\n  HER2 (c-erbB-2): Skor 2+ (şüpheli/equivocal)\n"
        f"ISH (CISH, çift prob) ek sonuç:\n  {ish}"
    )
    assert category(text) == expected


def test_a_turkish_zero_with_fish_not_amplified_is_zero_not_low() -> None:
    text = (
        "İmmünohistokimya: ER negatif (%0), PR negatif (%0), HER2 IHK: skor 0 (negatif), Ki-67: %60.\n"
        "FISH: HER2 amplifikasyonu saptanmadı (HER2/CEP17 oranı 1,1; ortalama HER2 2,2/hücre)."
    )
    assert category(text) == ZERO


# An amended report quoting what the earlier issue stated ("The previously issued report stated "HER2: 3+
# (positive)"; this was incorrect"): the quoted value is superseded, the corrected result stands.


@pytest.mark.parametrize(
    "quote",
    [
        'The previously issued report stated "HER2: 3+ (positive)"; this was incorrect.',
        "The original report stated HER2 3+; this was a transcription error.",
        "The prior report indicated HER2 3+ (positive); corrected below.",
    ],
)
def test_a_quoted_earlier_issue_is_superseded(quote: str) -> None:
    text = (
        "*** AMENDED REPORT ***\n"
        f"Reason for amendment: Correction of HER2 IHC score. {quote}\n\n"
        "FINAL DIAGNOSIS: Right breast core biopsy - invasive carcinoma NST, grade 2.\n"
        "  ER: positive (95%). PR: positive (80%).\n"
        "  HER2 (4B5): 1+ (NEGATIVE) - faint incomplete membrane staining in ~50% of cells. [CORRECTED]"
    )
    assert category(text) == LOW


# "Amplification cannot be excluded by IHC" after an IHC 2+ says what the 2+ means (equivocal until ISH);
# the same words with no 2+, or with a score of their own, still hedge.


def test_amplification_not_excluded_after_a_2_plus_is_equivocal() -> None:
    text = (
        "HER2 (4B5): 2+ EQUIVOCAL. Weak to moderate complete membrane staining in about 30% of cells.\n"
        "   Amplification cannot be excluded by IHC. Tissue (block A2) has been sent out for HER2 FISH;\n"
        "Ki-67: 35%"
    )
    assert category(text) == EQUIVOCAL


def test_amplification_not_excluded_without_a_2_plus_still_hedges() -> None:
    assert category("HER2: amplification cannot be excluded.") != POS


# A first read followed by a consensus or second read ("INITIAL READ: 2+ (EQUIVOCAL)" … "CONSENSUS SCORE:
# 3+"): the first read is superseded; a consensus that lowers the score lowers it.


@pytest.mark.parametrize(
    ("first", "consensus", "expected"),
    [("2+ (EQUIVOCAL)", "3+", POS), ("3+ (POSITIVE)", "1+", LOW)],
)
def test_an_initial_read_is_superseded_by_the_consensus(first: str, consensus: str, expected: str) -> None:
    text = (
        f"HER2 (4B5) INITIAL READ: {first}.\n"
        "SECOND PATHOLOGIST / CONSENSUS REVIEW: ON REVIEW AT 40X THE STAINING WAS RE-EVALUATED.\n"
        f"CONSENSUS SCORE: {consensus}."
    )
    assert category(text) == expected


def test_a_result_row_after_a_lower_case_legend_and_a_blank_line_is_read() -> None:
    # The legend's last row ends without a full stop; the blank line ends it, so "result: 1+" is not taken
    # as its continuation.
    text = (
        "her2 immunohistochemistry (powerpath) case: p26-29133 part: a\n\n"
        f"scoring criteria (asco/cap 2018):\n{_LEGEND_ROWS.lower()}\n"
        "result:            1+\ninterpretation:    negative\n"
    )
    assert category(text) == LOW
