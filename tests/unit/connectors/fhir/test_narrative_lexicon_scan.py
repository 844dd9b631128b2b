"""The cue scan grouped by first letter finds exactly what the plain alternation of the lexicon finds."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.fhir import narrative_lexicon as lexicon
from tests.corpus.pathology_corpus import generate

_FRAGMENTS = [p for english, patterns in lexicon._PHRASES if english not in lexicon._NO_CUE for p in patterns]
_PLAIN = re.compile(lexicon.WORD_START + r"(?:" + "|".join(_FRAGMENTS) + r")(?![\w-])", re.IGNORECASE)


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in pattern.finditer(text)]


@pytest.mark.parametrize(
    ("fragment", "letters"),
    [
        ("positi[fv]", {"p"}),
        ("[eé]quivoque", {"e", "é"}),
        (r"(?:d'\s*)?hybridation", {"d", "h"}),
        (r"(?:nicht|kein)\s+amplifiziert", {"n", "k"}),
        (r"\w+ung", None),
        ("(?:a|)b", {"a", "b"}),
    ],
)
def test_first_letters_of_a_fragment(fragment: str, letters: set[str] | None) -> None:
    assert lexicon._first_letters(fragment) == letters


def test_every_cue_fragment_has_known_first_letters() -> None:
    # A fragment whose first letter cannot be told is tried at every word start: correct, but slow again.
    assert [f for f in _FRAGMENTS if lexicon._first_letters(f) is None] == []


@cache
def _corpus_texts() -> tuple[str, ...]:
    return tuple(item.text for item in generate(seed=11, count=90, per_cause=2))


def test_the_grouped_scan_finds_what_the_plain_alternation_finds_in_the_corpus() -> None:
    for text in _corpus_texts():
        for variant in (text, text.upper(), text.lower()):
            assert _matches(lexicon._FOREIGN_CUE_RE, variant) == _matches(_PLAIN, variant)


_WORDS = st.sampled_from(
    [
        "positif", "négatif", "positivo", "negativ", "Färbung", "tinción", "membranaire", "faible", "HER2",
        "score", "2+", "amplifié", "nicht", "amplifiziert", "niet", "geamplificeerd", "não", "ujemny",
        "negatiivinen", "staining", "complete", "in", "situ", "hybridation", "d'", "ratio", "1,5", "%",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(_WORDS, min_size=1, max_size=25),
    separators=st.lists(st.sampled_from([" ", "\n", ", ", "-", ""]), min_size=25, max_size=25),
)
def test_the_grouped_scan_finds_what_the_plain_alternation_finds_in_any_mix(
    words: list[str], separators: list[str]
) -> None:
    text = "".join(word + separators[i] for i, word in enumerate(words))
    assert _matches(lexicon._FOREIGN_CUE_RE, text) == _matches(_PLAIN, text)
