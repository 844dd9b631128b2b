"""No rewrite of a report's wording moves it to another HER2 category.

Each test below is one cause found by ``tests.tools.perturb_corpus``: the report as a laboratory wrote it
and the same report re-wrapped, re-spaced or re-cased must be read alike (or, when the rewrite really
destroys a structure, as indeterminate — never as another category). The last test rewrites a whole
generated corpus.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connectors.fhir.mapping_narrative import decode_attachment
from connectors.fhir.narrative_text import report_lines
from rules.domain import SpecimenRef
from tests.corpus.pathology_corpus import write_corpus
from tests.corpus.perturbations import rewrap
from tests.tools.perturb_corpus import KINDS, flips
from tests.unit.connectors.fhir.categories import category_of

SPECIMEN = SpecimenRef(id="S26-00123", collected=dt.date(2026, 1, 5))


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 1, 8))


# A full line ending in ";" was a sentence's end: "OUTSIDE DIAGNOSIS: …, grade 2;" wrapped before "HER2 IHC
# 3+." left the outside 3+ on a line of its own, read as the current result (a false HER2-positive).
_OUTSIDE_3_PLUS = (
    "SURGICAL PATHOLOGY REPORT\n"
    "OUTSIDE DIAGNOSIS: invasive carcinoma, grade 2; HER2 IHC 3+.\n\n"
    "FINAL DIAGNOSIS:\n"
    "RIGHT BREAST, LUMPECTOMY:\n"
    "  - INVASIVE DUCTAL CARCINOMA, NOTTINGHAM GRADE 2 (3+2+2=7).\n\n"
    "HER2 staining pattern: ~62% of invasive tumor cells show moderate complete membrane staining.\n\n"
    "HER2 (ERBB2) BY IN SITU HYBRIDIZATION\n"
    "Probe type: Dual probe (HER2/CEP17)\n"
    "Average number of HER2 signals per cell: 3.8\n"
    "Average number of CEP17 signals per cell: 2.1\n"
    "HER2/CEP17 ratio: 1.79\n"
)


def test_a_wrapped_outside_diagnosis_keeps_its_3_plus_outside() -> None:
    wrapped = rewrap(_OUTSIDE_3_PLUS, 50)
    assert "grade 2;\nHER2 IHC 3+." in wrapped
    assert category(_OUTSIDE_3_PLUS) == category(wrapped)
    assert category(wrapped) != "HER2-positive"


# The same wrapped outside statement above a pipe table: the table's long rows made the report's width, the
# wrapped line was never "full" and the outside 0 stood as a current result beside the 2+ (for review).
_OUTSIDE_0_AND_TABLE = (
    "OUTSIDE DIAGNOSIS: invasive carcinoma, grade 2; HER2 IHC 0.\n"
    "IMMUNOHISTOCHEMISTRY AND ISH\n\n"
    "| Marker | Result |\n"
    "|---|---|\n"
    "| ER | POSITIVE (60%, strong) |\n"
    "| HER2 status (IHC) | EQUIVOCAL, score +2 |\n"
    "| HER2 dual ISH | HER2:CEP17 = 1.22; HER2 7.0 signals per nucleus; average CEP17 5.7 signals/cell "
    "(40 nuclei scored) (group 3) |\n"
    "| Second observer count | unchanged (group 3) |\n\n"
    "Final HER2 result - positive\n"
)


def test_a_table_row_does_not_set_the_width_text_was_wrapped_at() -> None:
    wrapped = rewrap(_OUTSIDE_0_AND_TABLE, 50)
    assert "grade 2;\nHER2 IHC 0." in wrapped
    assert category(_OUTSIDE_0_AND_TABLE) == "HER2-positive"
    assert category(wrapped) == "HER2-positive"


# A pipe table's header row wrapped after its second column: the rows lost their header, "HER2 IHC | 2+ | 0"
# became "2+; 0" and the prior 2+ (not amplified) was read as the current result.
_PRIOR_AND_CURRENT_TABLE = (
    "Marker  | Prior (2022, core) | Current (2024, excision)\n"
    "HER2 IHC | 2+                | 0\n"
    "HER2 ISH | not amplified     | -\n"
)


def test_a_table_row_broken_by_wrapping_keeps_its_columns() -> None:
    wrapped = rewrap(_PRIOR_AND_CURRENT_TABLE, 34)
    assert "(2022, core) |\nCurrent" in wrapped
    assert category(_PRIOR_AND_CURRENT_TABLE) == "HER2-0"
    assert category(wrapped) == "HER2-0"


# Markup in another case: an HL7 v2 text upper-cased (\.BR\ for \.br\) was no longer unescaped, and the
# checklist's "HER2 SCORE 0 - NULL." ran into the line before it; an RTF document upper-cased ({\RTF1, \PAR)
# was read as plain text with its control words.
_V2_CHECKLIST = (
    r"HER2 (ERBB2) by immunohistochemistry\.br\Antibody: 4B5\.br\_X_ Negative (Score 0)\.br\___ Negative "
    r"(Score 1+)\.br\___ Equivocal (Score 2+)\.br\___ Positive (Score 3+)\.br\HER2 score 0 - null."
)
_RTF_REPORT = (
    "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0\\fs20 Invasive ductal carcinoma, grade 2. "
    "ER: positive (5%, strong); PR: positive (80%, moderate); HER2 status (IHC): equivocal, score 2+; HER2 "
    "dual-probe ISH: HER2:CEP17 = 1.81; average HER2 copy number 4.5 signals/cell (group 4).\\par\n"
    "HER2 on the prior core biopsy (S24-8624): 0.\\par\n"
    "Should the IHC result be 2+, FISH will be performed automatically.\\par\n}"
)


def test_hl7_v2_escapes_are_read_in_any_case() -> None:
    assert category(_V2_CHECKLIST) == "HER2-null"
    assert category(_V2_CHECKLIST.upper()) == "HER2-null"
    assert category(_V2_CHECKLIST.lower()) == "HER2-null"


def test_an_rtf_document_is_read_in_any_case() -> None:
    # Group 4 with IHC 2+ needs a recount the report does not give: indeterminate, in either case.
    for text in (_RTF_REPORT, _RTF_REPORT.upper()):
        decoded = decode_attachment("application/rtf", text.encode())
        assert decoded is not None
        assert "\\PAR" not in decoded.upper()
        assert category(decoded) == "indeterminate"


# Case and negation: in capitals "ULTRALOW CRITERIA NOT MET (NO STAINING)" held "MET", the gene, which ended
# the HER2 statement (its null lost); and in any case a denied ultralow ("ultralow criteria not met") was
# read as the ultralow term.
_ULTRALOW_NOT_MET = (
    "Digital image analysis (Visiopharm): 0.0 % tumour cells with any membrane staining.\n"
    "HER2 IHC score: 0\n"
    "Ultralow evaluation performed per 2023 practice; ultralow criteria not met (no staining).\n"
)


def test_criteria_not_met_in_capitals_is_no_gene() -> None:
    assert category(_ULTRALOW_NOT_MET) == "HER2-null"
    assert category(_ULTRALOW_NOT_MET.upper()) == "HER2-null"
    assert category(_ULTRALOW_NOT_MET.lower()) == "HER2-null"


def test_a_denied_ultralow_is_not_ultralow() -> None:
    for denied in (
        "HER2 IHC score: 0\nUltralow criteria not met.",
        "HER2 IHC score: 0 (not ultralow).",
        "HER2 IHC score: 0; the tumour does not meet the criteria for HER2-ultralow.",
    ):
        assert category(denied) == "HER2-0", denied
    assert category("HER2 IHC score: 0 (ultralow).") == "HER2-ultralow"


# A marker name ends at any letter, accented ones too: in capitals "METÁSTASIS" began with "MET", the gene,
# and the metastasis's 3+ was dropped (the other part's 1+ left alone: HER2-low instead of a review).
_TWO_PARTS_ES = (
    "A) Mama izquierda, tumorectomía: carcinoma infiltrante. HER2 (4B5): 1+.\n"
    "B) Ganglio: metástasis de carcinoma.\n"
    "    HER2 (4B5) en la metástasis: 3+ (positivo).\n"
)


def test_an_accented_word_in_capitals_names_no_marker() -> None:
    assert category(_TWO_PARTS_ES) == category(_TWO_PARTS_ES.upper())
    assert category(_TWO_PARTS_ES.upper()) != "HER2-low"


# A part's opening after a heading ending in a colon: in lower case "biomarkers (…):" took "part a (block a4,
# right): … her2 ihc 1+" as its value, so the 1+ went to the part read before (d, the left node) and the two
# left parts gave HER2-positive where the report leaves the current one of two cancers unstated.
_BILATERAL = (
    "A. RIGHT BREAST, LUMPECTOMY:\n"
    "   - INVASIVE DUCTAL CARCINOMA, NOTTINGHAM GRADE 2, 1.1 CM.\n"
    "C. LEFT BREAST, LUMPECTOMY:\n"
    "   - INVASIVE DUCTAL CARCINOMA, NOTTINGHAM GRADE 3, 2.3 CM.\n"
    "D. LEFT AXILLARY SENTINEL LYMPH NODE #1, EXCISION:\n"
    "   - METASTATIC CARCINOMA IN ONE LYMPH NODE (1/1), 3.5 MM.\n\n"
    "BIOMARKERS (performed on invasive carcinoma):\n"
    " Part A (block A4, right):  ER 95% strong; HER2 IHC 1+ (negative)\n"
    " Part C (block C6, left):   ER <1% (negative); HER2 IHC 3+ (POSITIVE), complete intense membranous "
    "staining in 80% of tumor cells\n"
)


def test_a_part_opening_starts_anew_in_any_case() -> None:
    assert category(_BILATERAL) == "indeterminate"
    assert category(_BILATERAL.lower()) == "indeterminate"
    assert category(_BILATERAL.upper()) == "indeterminate"


# Answer columns re-spaced: an indented row was no longer a ticked row (its "No" lost: null read as IHC 0),
# and a tab counted as one column put a mark under "Yes". Columns are now read at tab stops, and a mark under
# neither column is an answer that cannot be told.
_ANSWERS = (
    "HER2 assessment          Yes   No\n"
    "Any membrane staining            X\n"
    "Complete staining                X\n"
    "Score: 0"
)
_ANSWERS_RESPACED = (
    "    HER2 assessment            \t   Yes    No  \n"
    "\tAny   membrane staining\t   \t         \tX\n"
    "  Complete  staining\t   \t               \t   X\n"
    "\tScore:  0"
)


def test_answer_columns_are_read_at_tab_stops_or_not_at_all() -> None:
    assert category(_ANSWERS) == "HER2-null"
    assert category("\n".join("  " + line for line in _ANSWERS.split("\n"))) == "HER2-null"
    assert category(_ANSWERS_RESPACED) == "indeterminate"
    assert (
        category(_ANSWERS.replace("staining            X", "staining                   X")) == "indeterminate"
    )


# Case in tables and names: in lower case a pipe row ("test | prior core … | current excision …") was joined
# to the title before it as a wrapped sentence (its header lost: the prior 1+ beside the current 3+), and a
# dictated report in lower case spells HER2 "her 2".
_COMPARISON = (
    "HER2 comparison table\n"
    "Test           | Prior core (S23-4411) | Current excision (S24-0912)\n"
    "IHC score      | 1+                    | 3+\n"
    "Interpretation | Negative (low)        | Positive\n"
)
_DICTATED = (
    "Right breast 9 oclock core biopsy invasive ductal carcinoma grade 2 ER positive 70 percent PR positive "
    "20 percent HER 2 by IHC zero negative Ki 67 15 percent see comment"
)


def test_a_table_row_is_never_joined_as_wrapped_text() -> None:
    assert category(_COMPARISON) == "HER2-positive"
    # Its last cell wrapped onto a line between two rows is the row's still.
    wrapped = rewrap(_COMPARISON, 50)
    assert "| Current\nexcision" in wrapped
    assert category(wrapped) == "HER2-positive"
    assert category(_COMPARISON.lower()) == "HER2-positive"
    assert category(_COMPARISON.upper()) == "HER2-positive"


def test_her_2_in_lower_case_is_her2_only_before_a_her2_word() -> None:
    assert category(_DICTATED) == "HER2-0"
    assert category(_DICTATED.lower()) == "HER2-0"
    pronoun = "invasive ductal carcinoma. her2 ihc 1+.\nshe says her 2 sisters had breast cancer at 40."
    assert category(pronoun) == "HER2-low"


# A reference-range column whose header and cells were wrapped: "NEGATIVE (0," / "1+)" left a stray "1+)"
# beside the 3+ (for review). The rest of a range cut inside brackets is the range still.
_LISTING = (
    "TEST                 RESULT          REFERENCE\n"
    "RANGE\n"
    "HER2 (4B5) IHC       3+  POSITIVE    NEGATIVE (0,\n"
    "1+)\n"
    "ER (SP1)             95% STRONG      <1% NEG\n"
)


def test_a_wrapped_reference_range_stays_out_of_the_result() -> None:
    assert category(_LISTING) == "HER2-positive"


def test_a_lower_cased_turkish_capital_i_is_an_i() -> None:
    text = "GÜMÜŞ İN SİTU HİBRİDİZASYON (SISH): HER2/CEP17 RATIO 1.62; MEAN HER2 3.4 PER CELL.\nHER2 IHC: 2+"
    lowered = text.lower()
    assert "\u0307" in lowered
    assert next(line.text for line in report_lines(lowered)).startswith("gümüş in situ hibridizasyon")


# A bracket wrapped open with its closing word on the next line ("fixation (> 72" / "h) renders …"): the "h)"
# closes the bracket, it opens no list item. Read as an item, the failure stood apart from its stain, and
# "no membrane staining" was read as a null result of a stain the report calls unreliable.
_UNRELIABLE = "HER2 IHC: prolonged fixation (> 72 h) renders the stain unreliable; no membrane staining."


def test_a_bracket_closed_on_the_next_line_is_no_list_item() -> None:
    wrapped = (
        "HER-2/NEU IHC: prolonged fixation (> 72\nh) renders the stain unreliable; no\nmembrane staining."
    )
    assert category(_UNRELIABLE) == "indeterminate"
    assert category(wrapped) == "indeterminate"
    # A list item after a line that closed its brackets starts anew.
    items = report_lines("HER2 by block (A1 and A2)\na) IHC 1+\nb) ISH not amplified")
    assert [line.text for line in items] == ["HER2 by block (A1 and A2)", "a) IHC 1+", "b) ISH not amplified"]


# A sentence wrapped with tabs between its words ("… 4% of the" / "<TAB>tumor cells show faint<TAB>incomplete"
# / "<TAB>membrane<TAB>immunostaining."): the two tab-spaced lines, the first opening with "tumor", were read
# as a table of tumours ("tumor cells show faint: membrane"), the share was lost and the ultralow report was
# read as unscored. A line that continues a sentence broken on the line before is no table header.
_TABBED = (
    "Membrane immunostaining for HER-2/NEU\n(Dako   HercepTest):\t4 percent  of the\n"
    "\ttumor cells show faint\tincomplete  \n\tmembrane\timmunostaining. \n"
)


def test_a_tab_spaced_sentence_continuation_is_no_table() -> None:
    lines = [line.text for line in report_lines(_TABBED)]
    assert lines[0].endswith("4% of the tumor cells show faint incomplete membrane immunostaining.")
    assert category(_TABBED) == category(" ".join(_TABBED.split()))
    # A specimen table after a sentence that ended is still a table.
    table = "HER2 results by focus.\nFocus\tSize\tHER2 IHC\nA\t22 mm\t3+\nB\t8 mm\t3+\n"
    assert category(table) == "HER2-positive"


# An all-lower-case dictated report whose last words are "ki 67 approx. 20 percent": the abbreviation's
# point made the joined line look punctuated, no stops were set between its markers, and the Ki-67 share
# stood in the HER2 statement (indeterminate instead of HER2-low).
_DICTATED_APPROX = (
    "final diagnosis left breast needle core biopsy invasive ductal carcinoma grade 2\n"
    "her two neu is one plus negative by hercept test faint incomplete membrane staining in about 20 percent "
    "of tumor cells fish not performed\n"
    "ki 67 approx. 20 percent"
)


def test_an_abbreviation_point_leaves_a_dictated_line_dictated() -> None:
    assert category(_DICTATED_APPROX.replace("approx.", "approximately")) == "HER2-low"
    assert category(_DICTATED_APPROX) == "HER2-low"


# A Spanish comment wrapped at 55 columns: "dirigidas a HER2 no" / "amplificado." was translated as one phrase
# and the two lines became one, so the report's width was judged on that longer line and no line of the
# comment looked full; in upper case, the full line "… 3+ O ISH POSITIVO" was judged on the English
# "WOULD" rather than the "CORRESPONDERÍA" that did not fit. Either way the comment's "IHQ 1+ o 2+ con" /
# "ISH negativa …" stood apart and its scores were read beside the report's 1+ (for review).
_SPANISH_COMMENT = (
    "HER-2/neu (clona 4B5): 1+ - NEGATIVO.\n"
    "Comentario: Los resultados HER-2/NEU IHQ 1+ o 2+ con\n"
    "ISH negativa se consideran negativos para\n"
    "sobreexpresión; sin embargo, estas pacientes pueden ser\n"
    "elegibles para terapias dirigidas a HER-2/NEU no\n"
    "amplificado. Un resultado IHQ 3+ o ISH positivo\n"
    "correspondería a HER-2/NEU positivo.\n"
)


def test_a_translated_phrase_keeps_the_lines_it_was_written_on() -> None:
    lines = [line.text for line in report_lines(_SPANISH_COMMENT)]
    assert lines[1].startswith("Comentario:")
    assert lines[1].endswith("would correspond to HER2 positive.")
    assert category(_SPANISH_COMMENT) == "HER2-low"
    assert category(_SPANISH_COMMENT.upper()) == "HER2-low"


# All upper case, wrapped at 63: "… FOR DISTINGUISHING 0" / "FROM 1+: CONCURS." left a "1+" on a line of its
# own beside the report's 0 (for review). A line opening with "from" continues the one before.
_SECOND_REVIEW = (
    "HER2 (PATHWAY 4B5): NEGATIVE, SCORE 0 (HER2-NULL).\n"
    "  NO MEMBRANE STAINING IDENTIFIED IN INVASIVE TUMOUR CELLS AT\n"
    "40X MAGNIFICATION.\n"
    "  SLIDE REVIEWED BY A SECOND PATHOLOGIST FOR DISTINGUISHING 0\n"
    "FROM 1+: CONCURS.\n"
)


def test_a_line_opening_with_from_continues_the_one_before() -> None:
    assert category(" ".join(_SECOND_REVIEW.split())) == "HER2-null"
    assert category(_SECOND_REVIEW) == "HER2-null"


def test_no_rewrite_of_a_generated_corpus_moves_a_report_to_another_category(tmp_path: Path) -> None:
    """About 120 generated reports (the main styles and one per outside cause), each rewritten by case,
    spacing, wrapping, synonyms and decimal commas: a change to indeterminate loses an answer, any other
    change gives a wrong one."""
    write_corpus(tmp_path, count=108, per_cause=1)
    reads, found = flips(tmp_path, list(KINDS), seeds=1)
    assert reads >= 120 * len(KINDS)
    wrong = [f"{f.id} {f.rewrite}: {f.before} -> {f.after}" for f in found if not f.safe]
    assert wrong == []
