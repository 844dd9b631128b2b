"""Reports in Polish, Czech, Slovak, Romanian, Hungarian, Swedish, Norwegian, Danish and Finnish, Italian
recount wording, and US dictated (speech-recognition) reports: read as their English counterparts, and never
a HER2-positive without an explicit positive basis."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.fhir.narrative_lexicon import is_foreign, to_english
from connectors.fhir.narrative_text import normalise
from rules.domain import SpecimenRef, SpecimenSite
from tests.unit.connectors.fhir.categories import (
    INDETERMINATE,
    LOW,
    NULL,
    POS,
    ULTRALOW,
    ZERO,
    category_of,
)

SPECIMEN = SpecimenRef(id="S26-00077", collected=dt.date(2026, 3, 2), site=SpecimenSite.PRIMARY)


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 3, 4))


LANGUAGES = [
    # Polish: a preliminary "FISH in progress" replaced by the addendum's non-amplified count.
    pytest.param(
        "HER2 (4B5): 2+ (wynik niejednoznaczny). Badanie FISH w toku - wynik zostanie dołączony.\n"
        "UZUPEŁNIENIE: FISH HER2/CEP17: stosunek 1,1; średnia liczba kopii HER2 2,2/jądro; CEP17 2,0/jądro.\n"
        "Wynik: BRAK AMPLIFIKACJI genu HER2. Status HER2: UJEMNY (IHC 2+, ISH ujemny).",
        LOW,
        id="polish-addendum",
    ),
    pytest.param(
        "HER2: dodatni (3+) - barwienie błonowe pełne i silne w 90 % komórek nowotworowych.",
        POS,
        id="polish-3+",
    ),
    pytest.param(
        "HER2: ujemny (0) - brak barwienia błonowego w komórkach nowotworowych.", NULL, id="polish-null"
    ),
    # Czech: the SISH line is read (ratio, mean signals, not amplified); ER/PR intensities are theirs.
    pytest.param(
        "Imunohistochemie: ER pozitivní 90 % (intenzita 3+), PR pozitivní 40 % (intenzita 3+).\n"
        "HER2 (4B5): skóre 2+ (hraniční).\n"
        "SISH (dvojitá sonda): poměr HER2/CEP17 1,2; průměr 2,5 signálů HER2/jádro - HER2 NEAMPLIFIKOVÁN.\n"
        "Závěr: HER2 negativní (IHC 2+/ISH negativní).",
        LOW,
        id="czech-sish",
    ),
    pytest.param(
        "HER2: negativní, skóre 1+ (slabé a neúplné membránové barvení v 40 % nádorových buněk).",
        LOW,
        id="czech-1+",
    ),
    pytest.param(
        "HER2 (IHC): hraničný (skóre 2+). In situ hybridizácia HER2/CEP17: amplifikovaný; pomer 3,4; "
        "HER2 7,9/jadro.",
        POS,
        id="slovak-amplified",
    ),
    # Romanian: the HER2 score, not the ER intensity beside it.
    pytest.param(
        "IHC: ER pozitiv 90% (intensitate 3+), PR pozitiv 50% (intensitate 2+), "
        "HER2 (4B5): scor 0 (negativ), "
        "Ki-67 15%.",
        ZERO,
        id="romanian-score-0",
    ),
    pytest.param(
        "HER2: negativ (scor 0) - colorație membranară slabă și incompletă în 5 % din celulele tumorale.",
        ULTRALOW,
        id="romanian-ultralow",
    ),
    pytest.param(
        "HER2 (IHC): kétes (2+). In situ hibridizáció HER2/CEP17: nem amplifikált; arány 1,4; "
        "HER2 2,6/sejtmag.",
        LOW,
        id="hungarian-not-amplified",
    ),
    pytest.param(
        "HER2: pozitív (3+), komplett és erős membránfestődés a tumorsejtek 80 %-ában.",
        POS,
        id="hungarian-3+",
    ),
    pytest.param(
        "HER2: negativ (score 1+), svag och ofullständig membranfärgning i 30 % av tumörcellerna.",
        LOW,
        id="swedish-1+",
    ),
    pytest.param(
        "HER2: negativ (score 0), svag och ofullständig membranfärgning i 5 % av tumörcellerna.",
        ULTRALOW,
        id="swedish-ultralow",
    ),
    pytest.param(
        "HER2 (IHC): tvetydig (score 2+). In situ-hybridisering: ikke amplifisert; ratio 1,3; HER2 2,4 per "
        "cellekjerne.",
        LOW,
        id="norwegian-not-amplified",
    ),
    pytest.param(
        "HER2: negativ (score 0), svag og inkomplet membranfarvning i 5 % af tumorcellerne.",
        ULTRALOW,
        id="danish-ultralow",
    ),
    # Finnish: a legacy bare "negative" (no score) is an unscored negative, not unreadable.
    pytest.param(
        "Rintasyöpä, duktaalinen, gradus 2. ER positiivinen, PR positiivinen. HER2: negatiivinen.",
        "HER2-negative-unscored",
        id="finnish-legacy",
    ),
    pytest.param(
        "HER2: positiivinen (score 3+) - täydellinen ja voimakas kalvovärjäytyminen "
        "90 %:ssa kasvainsoluista.",
        POS,
        id="finnish-3+",
    ),
    # Italian: a blinded second observer's recount confirming group 4 with IHC 2+ on the same section; the
    # note on therapy benefit "in the absence of IHC 3+" is no IHC score.
    pytest.param(
        "HER2 IHC (4B5) sulla stessa sezione: 2+.\n"
        "FISH HER2/CEP17 (Vysis PathVysion), 20 nuclei: rapporto 1,6; copie medie HER2 4,5/nucleo; CEP17 "
        "2,8/nucleo (gruppo 4 ASCO/CAP).\n"
        "Riconteggio eseguito da secondo osservatore in cieco (ulteriori 20 nuclei, area con IHC 2+): "
        "rapporto "
        "1,5; copie HER2 4,3 - gruppo 4 confermato.\n"
        "ESITO FINALE: HER2 NEGATIVO (non amplificato).\n"
        "Nota: per il gruppo 4 esiste incertezza sul beneficio della terapia anti-HER2 in assenza di IHC 3+.",
        LOW,
        id="italian-recount",
    ),
]


@pytest.mark.parametrize(("text", "expected"), LANGUAGES)
def test_report_in_another_language_reads_as_in_english(text: str, expected: str) -> None:
    assert category(text) == expected


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("HER2 NEAMPLIFIKOVÁN", "HER2 NOT AMPLIFIED"),
        ("HER2: UJEMNY", "HER2: NEGATIVE"),
        ("skóre 2+ (hraniční)", "score 2+ (equivocal)"),
        ("scor 0 (negativ)", "score 0 (negative)"),
        ("HER2: negatiivinen", "HER2: negative"),
        ("HER2: nem amplifikált", "HER2: not amplified"),
        ("HER2 inte amplifierad", "HER2 not amplified"),
        ("HER2 ikke amplificeret", "HER2 not amplified"),
        ("FISH w toku", "FISH pending"),
        ("barwienie błonowe słabe i niepełne", "faint and incomplete membrane staining"),
        ("FISH nie wykonano", "FISH not performed"),
        ("HER2: nehodnotitelný", "HER2: not evaluable"),
        ("materiál nedostatečný", "materiál insufficient"),
    ],
)
def test_words_of_the_new_languages_are_put_in_english(text: str, english: str) -> None:
    assert is_foreign(text)
    assert to_english(text) == english


@pytest.mark.parametrize(
    "text",
    [
        "HER2 3+ (positive), complete intense membrane staining in 90% of cells.",
        "Her 2 prior biopsies were benign.",
        "The patient and her 2 sisters were seen in clinic.",
        "The specimen is serially sectioned into 1 cm slabs; a slab shows a firm genu-shaped mass.",
    ],
)
def test_english_text_is_left_alone(text: str) -> None:
    assert not is_foreign(text)
    assert to_english(text) == text


DICTATED = [
    # Run-on, no punctuation: the ER "strong 3+ intensity" is ER's; HER2 is read up to the next marker.
    pytest.param(
        "right breast core biopsy shows invasive lobular carcinoma grade 2 e cadherin negative estrogen "
        "receptor is positive 95% with strong 3+ intensity progesterone receptor positive 70% her 2 is 1+ "
        "negative by hercept test faint incomplete membrane staining in approximately 30% of cells fish not "
        "performed ki 67 is 10% comment results discussed with dr smith",
        LOW,
        id="run-on-1+",
    ),
    pytest.param(
        "estrogen receptor positive 98 percent strong progesterone receptor positive 90 percent\n"
        "her 2 new immunohistochemistry one plus negative faint partial membrane staining in about "
        "20 percent "
        "of tumor cells\nki 67 low approximately 5 percent",
        LOW,
        id="her-2-new-one-plus",
    ),
    pytest.param("HER 2 NEU IMMUNOHISTOCHEMISTRY THREE PLUS POSITIVE", POS, id="her-2-neu-upper"),
    pytest.param("her two immunohistochemistry three+ positive", POS, id="her-two-three+"),
    pytest.param(
        "her two immunohistochemistry two plus equivocal\nfish not amplified her two to cep seventeen ratio "
        "one point two average her two copies two point four per cell",
        LOW,
        id="her-two-fish",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DICTATED)
def test_dictated_report_reads_as_spelled(text: str, expected: str) -> None:
    assert category(text) == expected


def test_another_markers_spelled_score_is_never_her2s() -> None:
    # The only "three plus" is the ER intensity: HER2 is stated negative without a score, never positive.
    text = "estrogen receptor positive 95 percent with strong three plus intensity her 2 negative"
    assert "3+" not in normalise(text)
    assert category(text) != POS


def test_spelled_score_after_her2_is_the_score() -> None:
    assert "HER2 immunohistochemistry 3+" in normalise("her 2 new immunohistochemistry three plus")


def test_her_as_a_pronoun_is_not_her2() -> None:
    text = "her 2 sisters had breast cancer"
    assert "HER2" not in normalise(text)
    assert category(text) == INDETERMINATE
