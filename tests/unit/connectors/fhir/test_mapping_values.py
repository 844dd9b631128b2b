"""Short value texts of coded Observations (``valueString``, a concept's text) read the same whatever their
spacing, case or decimal separator: a tab inside "Not amplified" once read as "amplified" (positive)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fhir.codes import Answer
from connectors.fhir.mapping_values import (
    ihc_score_from_text,
    number_from_text,
    percent_from_text,
    text_answer,
    zero_subtype_from_text,
)
from rules.domain import IhcScore, IhcZeroSubtype

ANSWERS = [
    ("Not amplified", Answer.NEGATIVE),
    ("non amplified", Answer.NEGATIVE),
    ("Non-amplified (group 5)", Answer.NEGATIVE),
    ("No amplification detected", Answer.NEGATIVE),
    ("HER2 gene amplification not detected", Answer.NEGATIVE),
    ("Unamplified", Answer.NEGATIVE),
    ("nicht amplifiziert", Answer.NEGATIVE),
    ("Amplified", Answer.POSITIVE),
    ("Positive (amplified)", Answer.POSITIVE),
    ("Equivocal", Answer.EQUIVOCAL),
]

_GAPS = st.lists(st.sampled_from([" ", "  ", "\t", " \t ", "\n", "\r\n", "\u00a0"]), min_size=8, max_size=8)


def _respaced(text: str, gaps: list[str], case: str) -> str:
    words = text.split(" ")
    out = words[0]
    for i, word in enumerate(words[1:]):
        out += gaps[i % len(gaps)] + word
    return {"upper": out.upper(), "lower": out.lower(), "as is": out}[case]


@pytest.mark.parametrize(("text", "answer"), ANSWERS)
def test_answer_words(text: str, answer: Answer) -> None:
    assert text_answer(text) is answer


@settings(max_examples=60, deadline=None)
@given(gaps=_GAPS, case=st.sampled_from(["upper", "lower", "as is"]), which=st.sampled_from(ANSWERS))
def test_spacing_and_case_never_change_an_answer(
    gaps: list[str], case: str, which: tuple[str, Answer]
) -> None:
    text, answer = which
    assert text_answer(_respaced(text, gaps, case)) is answer


@settings(max_examples=40, deadline=None)
@given(gaps=_GAPS, case=st.sampled_from(["upper", "lower", "as is"]))
def test_scores_numbers_and_staining_read_through_spacing(gaps: list[str], case: str) -> None:
    assert ihc_score_from_text(_respaced("Score 2+ (equivocal)", gaps, case)) is IhcScore.TWO_PLUS
    assert percent_from_text(_respaced("15 % of invasive cells", gaps, case)) == 15.0
    assert zero_subtype_from_text(_respaced("0, no membrane staining", gaps, case)) is IhcZeroSubtype.NULL


@pytest.mark.parametrize(
    ("text", "number"), [("ratio 2,3", 2.3), ("6,8 copies per cell", 6.8), ("HER2/CEP17 1.85", 1.85)]
)
def test_a_decimal_comma_is_a_decimal(text: str, number: float) -> None:
    # "2,3" once read as 2: a ratio of 2.3 (ISH group 1 or 2 by counts) taken as 2.0.
    assert number_from_text(text) == number


def test_a_spoken_score_reads_as_the_score() -> None:
    assert ihc_score_from_text("two plus") is IhcScore.TWO_PLUS
    assert ihc_score_from_text("HER2 three plus") is IhcScore.THREE_PLUS
