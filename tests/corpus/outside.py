"""Reports in the shapes laboratories outside the main styles send (seeded variants, labelled from cases).

Each cause is a way real reports are written that the main styles do not cover:

- ``foci``: two foci, a breast tumour and its node, or the blocks of one excision, each with its own HER2
  result (the specimens of one date: the highest category counts, ASCO/CAP 2023 / spec §6);
- ``language``: French, German, Spanish, Italian, Dutch and Portuguese wording ("HER2 : positif (score 3+)",
  "HIS non amplifié ; ratio 1,5"), sometimes after a diagnosis naming the invasive carcinoma in that language
  and denying carcinoma in situ ("Carcinome infiltrant …. Absence de composante in situ.");
- ``language_central``, ``language_nordic``: the same in Polish, Czech, Slovak, Romanian and Hungarian, and
  in Swedish, Norwegian, Danish and Finnish, each language in turn;
- ``dictated``: US dictated reports as speech recognition writes them ("her 2 new immunohistochemistry one
  plus negative", "her two", "fish not amplified", no punctuation), with an ER intensity spoken as a score;
- ``ish_not_final``: IHC 2+ with a first ISH count whose recount or final interpretation is still pending
  (equivocal: no final ISH);
- ``original_quoted``: an addendum's ISH with the original report's IHC 2+ quoted under "ORIGINAL REPORT:";
- ``rtf``: an upper-case laboratory listing sent as RTF under ``text/plain``;
- ``heterogeneous``: an overall ISH count below the thresholds and a separately counted amplified population
  in more than 10 % of the tumour, reported amplified (ASCO/CAP 2018 heterogeneity);
- ``ihc_heterogeneous``: a stated overall IHC score followed by a heterogeneity description ("3+ (POSITIVE).
  Heterogeneous staining: strong complete staining in ~20 % …; the remaining tumour shows 1+"): the stated
  score stands, checked by its stated share (intense complete staining in 10 % or less is 2+);
- ``score_question``: a second review named by the two scores it decided between ("(0 vs 1+ distinction):
  concurs", "the 0/1+ cut-off", "distinguishing 0 from 1+"): a question, not a second score;
- ``in_situ_component``: receptor lines per component, the invasive carcinoma's and the DCIS component's
  ("DCIS component   : ER (-), PR (-), HER2 3+"): only the invasive result counts;
- ``score_revised``: a corrected report revising the IHC score ("ORIGINAL HER2 RESULT (date): IHC 0",
  "REVISED HER2 RESULT (date): IHC 1+", "score changed from 1+ to 0"): the revised score stands;
- ``ocr``: a scanned report read by OCR ("l+" with the letter l, "Negatlve", O for 0 in the score and
  elsewhere): a confused score token is read only as 1+ or 0 (never anything higher);
- ``blocks``: different IHC scores on two blocks of one tumour with a group 1 ISH on one of them;
- ``unnamed_marker``: a one-marker report that never names HER2 but scores membrane staining 0–3+;
- ``not_repeated``: "no repeat HER2 testing" / "HER2 not repeated" beside results given under a header
  naming the earlier specimen (they stand) or quoted in a sentence (only a prior result: indeterminate);
- ``stated_low``: a stated "HER2-low: yes/no" contradicting the IHC score (indeterminate);
- ``stain_failed``: the stain stated as failed or not evaluable (failed controls, crush artefact, fixation
  making it unreliable; six languages) with the staining words of the failed run (indeterminate), or a failed
  ISH beside a scored IHC (the IHC stands);
- ``residual_retested``: residual disease after neoadjuvant therapy retested under a header naming part A's
  block, with a node part and the final status after it;
- ``report_versions``: an original report (IHC 2+, ISH pending) and a later version of it (amended,
  corrected, appended or issued later, same accession) adding the ISH result: the later version stands, its
  ISH completing the 2+ (the two texts are joined by :data:`VERSION_BREAK`, sent as two reports);
- ``quoted_wordings``: wordings around the report's own result that quote other scores or shares: a share in
  brackets after the cells it counts ("rare tumour cells (<5 %) show faint … staining": ultralow), and
  eligibility or criteria comments naming scores over more than one clause.

Labels come from :func:`tests.corpus.truth.label` of the case each text states, or
:func:`tests.corpus.truth.highest` for several specimens of one date.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable

from tests.corpus.scenarios import dual_numbers
from tests.corpus.truth import Case, Ihc, Ish, Label, highest, label

CAUSES = (
    "foci",
    "language",
    "language_central",
    "language_nordic",
    "dictated",
    "ish_not_final",
    "original_quoted",
    "rtf",
    "heterogeneous",
    "ihc_heterogeneous",
    "score_question",
    "in_situ_component",
    "score_revised",
    "ocr",
    "blocks",
    "unnamed_marker",
    "not_repeated",
    "stated_low",
    "stain_failed",
    "residual_retested",
    "report_versions",
    "quoted_wordings",
    "layouts_and_comments",
)
#: Between the original and the later version of a ``report_versions`` text (each sent as its own report).
VERSION_BREAK = "\n\f\n"

Variant = tuple[str, Label]


def _fmt(value: float, comma: bool = False) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    return text.replace(".", ",") if comma else text


_SCORE_TEXT = {
    0: ("0", "no membrane staining"),
    1: ("1+", "faint incomplete membrane staining in {pct}% of tumour cells"),
    3: ("3+", "complete intense membrane staining in {pct}% of tumour cells"),
}


def _ihc_line(score: int, rng: random.Random) -> str:
    token, detail = _SCORE_TEXT[score]
    pct = rng.choice([20, 30, 40, 60, 80, 90])
    if rng.random() < 0.5:
        return f"HER2 IHC {token} ({detail.format(pct=pct)})"
    return f"HER2 IHC {token}"


def _plus(score: int) -> str:
    return f"{score}+" if score else "0"


def _foci(rng: random.Random) -> Variant:
    high, low = rng.choice([(3, 1), (3, 0), (1, 0), (2, 1), (2, 0)])
    cases = [Case(ihc=Ihc(score=high, zero="null")), Case(ihc=Ihc(score=low, zero="null"))]
    truth = highest([label(c) for c in cases])
    first, second = (high, low) if rng.random() < 0.5 else (low, high)

    def result(score: int) -> str:
        return "HER2 IHC 2+ (equivocal); ISH to follow" if score == 2 else _ihc_line(score, rng)

    form = rng.randrange(4)
    if form == 3:
        block = rng.randint(1, 6)
        text = "\n".join(
            [
                "DIAGNOSIS:",
                " A. Left breast, mastectomy: invasive carcinoma of no special type, grade 3.",
                " B. Left axillary lymph nodes: metastatic carcinoma in 3 of 15 lymph nodes.",
                "",
                "BIOMARKERS:",
                f" A (primary tumour, block A{block}): ER positive 20% weak; PR negative; HER2 (4B5) "
                f"{result(first)}.",
                f" B (nodal metastasis, block B{block}): ER positive 10% weak; PR negative; HER2 (4B5) "
                f"{result(second)}.",
                "",
                f"COMMENT: {rng.choice(['Discordant', 'Different'])} HER2 between primary tumour "
                f"({_plus(first)}) and nodal metastasis ({_plus(second)}).",
            ]
        )
    elif form == 0:
        head = rng.choice(["Multifocal invasive carcinoma, right breast.", "Left mastectomy: two foci."])
        text = "\n".join(
            [
                head,
                f"Focus A (upper outer, {rng.randint(12, 30)} mm): {result(first)}.",
                f"Focus B (lower inner, {rng.randint(4, 11)} mm): {result(second)}.",
            ]
        )
    elif form == 1:
        a, b = rng.choice([("A. ", "B. "), ("Teil A: ", "Teil B: "), ("Partie A : ", "Partie B : ")])
        text = "\n".join(
            [
                f"{a}Right breast, mass excision: invasive ductal carcinoma. " + result(first) + ".",
                f"{b}Right axillary sentinel node, metastatic carcinoma: " + result(second) + ".",
                "Both tested on the same day (same accession).",
            ]
        )
    else:
        cells = {
            0: "0 (no staining)",
            1: "1+ (faint incomplete)",
            2: "2+ (equivocal)",
            3: "3+ (complete intense)",
        }
        text = "\n".join(
            [
                "Multifocal invasive carcinoma.",
                "Focus      Size      HER2 IHC",
                f"A          {rng.randint(12, 30)} mm     {cells[first]}",
                f"B          {rng.randint(4, 11)} mm      {cells[second]}",
            ]
        )
    return text, truth


_LANGUAGES = {
    "fr": {
        "pos": "positif",
        "neg": "négatif",
        "equiv": "équivoque",
        "ish": "HIS (hybridation in situ)",
        "notamp": "non amplifié",
        "amp": "amplifié",
        "stain": "marquage membranaire {a} et {b} dans {pct} % des cellules tumorales",
        "faint": "faible",
        "incomplete": "incomplet",
        "complete": "complet",
        "intense": "intense",
        "ratio": "ratio",
    },
    "de": {
        "pos": "positiv",
        "neg": "negativ",
        "equiv": "grenzwertig",
        "ish": "ISH (In-situ-Hybridisierung)",
        "notamp": "nicht amplifiziert",
        "amp": "amplifiziert",
        "stain": "{a}e und {b}e Membranfärbung in {pct} % der Tumorzellen",
        "faint": "schwach",
        "incomplete": "unvollständig",
        "complete": "vollständig",
        "intense": "kräftig",
        "ratio": "Ratio",
    },
    "es": {
        "pos": "positivo",
        "neg": "negativo",
        "equiv": "equívoco",
        "ish": "hibridación in situ",
        "notamp": "no amplificado",
        "amp": "amplificado",
        "stain": "tinción de membrana {a} e {b} en el {pct} % de las células tumorales",
        "faint": "débil",
        "incomplete": "incompleta",
        "complete": "completa",
        "intense": "intensa",
        "ratio": "ratio",
    },
    "it": {
        "pos": "positivo",
        "neg": "negativo",
        "equiv": "dubbio",
        "ish": "ibridazione in situ",
        "notamp": "non amplificato",
        "amp": "amplificato",
        "stain": "colorazione di membrana {a} e {b} nel {pct} % delle cellule tumorali",
        "faint": "debole",
        "incomplete": "incompleta",
        "complete": "completa",
        "intense": "intensa",
        "ratio": "rapporto",
    },
    "nl": {
        "pos": "positief",
        "neg": "negatief",
        "equiv": "twijfelachtig",
        "ish": "in situ hybridisatie",
        "notamp": "niet geamplificeerd",
        "amp": "geamplificeerd",
        "stain": "{a} {b} membraankleuring in {pct} % van de tumorcellen",
        "faint": "zwakke",
        "incomplete": "onvolledige",
        "complete": "volledige",
        "intense": "sterke",
        "ratio": "ratio",
    },
    "pt": {
        "pos": "positivo",
        "neg": "negativo",
        "equiv": "duvidoso",
        "ish": "hibridização in situ",
        "notamp": "não amplificado",
        "amp": "amplificado",
        "stain": "marcação membranar {a} e {b} em {pct} % das células tumorais",
        "faint": "fraca",
        "incomplete": "incompleta",
        "complete": "completa",
        "intense": "intensa",
        "ratio": "ratio",
    },
    "pl": {
        "pos": "dodatni",
        "neg": "ujemny",
        "equiv": "niejednoznaczny",
        "ish": "hybrydyzacja in situ",
        "notamp": "nieamplifikowany",
        "amp": "amplifikowany",
        "stain": "barwienie błonowe {a} i {b} w {pct} % komórek nowotworowych",
        "faint": "słabe",
        "incomplete": "niepełne",
        "complete": "pełne",
        "intense": "silne",
        "ratio": "stosunek",
        "nucleus": "jądro",
    },
    "cs": {
        "pos": "pozitivní",
        "neg": "negativní",
        "equiv": "hraniční",
        "ish": "in situ hybridizace",
        "notamp": "neamplifikován",
        "amp": "amplifikován",
        "stain": "{a} a {b} membránové barvení v {pct} % nádorových buněk",
        "faint": "slabé",
        "incomplete": "neúplné",
        "complete": "kompletní",
        "intense": "silné",
        "ratio": "poměr",
        "nucleus": "jádro",
    },
    "sk": {
        "pos": "pozitívny",
        "neg": "negatívny",
        "equiv": "hraničný",
        "ish": "in situ hybridizácia",
        "notamp": "neamplifikovaný",
        "amp": "amplifikovaný",
        "stain": "{a} a {b} membránové farbenie v {pct} % nádorových buniek",
        "faint": "slabé",
        "incomplete": "neúplné",
        "complete": "kompletné",
        "intense": "silné",
        "ratio": "pomer",
        "nucleus": "jadro",
    },
    "ro": {
        "pos": "pozitiv",
        "neg": "negativ",
        "equiv": "echivoc",
        "ish": "hibridizare in situ",
        "notamp": "neamplificat",
        "amp": "amplificat",
        "stain": "colorație membranară {a} și {b} în {pct} % din celulele tumorale",
        "faint": "slabă",
        "incomplete": "incompletă",
        "complete": "completă",
        "intense": "intensă",
        "ratio": "raport",
        "nucleus": "nucleu",
    },
    "hu": {
        "pos": "pozitív",
        "neg": "negatív",
        "equiv": "kétes",
        "ish": "in situ hibridizáció",
        "notamp": "nem amplifikált",
        "amp": "amplifikált",
        "stain": "{a} és {b} membránfestődés a tumorsejtek {pct} %-ában",
        "faint": "gyenge",
        "incomplete": "inkomplett",
        "complete": "komplett",
        "intense": "erős",
        "ratio": "arány",
        "nucleus": "sejtmag",
    },
    "sv": {
        "pos": "positiv",
        "neg": "negativ",
        "equiv": "gränsfall",
        "ish": "in situ-hybridisering",
        "notamp": "inte amplifierad",
        "amp": "amplifierad",
        "stain": "{a} och {b} membranfärgning i {pct} % av tumörcellerna",
        "faint": "svag",
        "incomplete": "ofullständig",
        "complete": "fullständig",
        "intense": "stark",
        "ratio": "kvot",
        "nucleus": "cellkärna",
    },
    "no": {
        "pos": "positiv",
        "neg": "negativ",
        "equiv": "tvetydig",
        "ish": "in situ-hybridisering",
        "notamp": "ikke amplifisert",
        "amp": "amplifisert",
        "stain": "{a} og {b} membranfarging i {pct} % av tumorcellene",
        "faint": "svak",
        "incomplete": "ufullstendig",
        "complete": "komplett",
        "intense": "sterk",
        "ratio": "ratio",
        "nucleus": "cellekjerne",
    },
    "da": {
        "pos": "positiv",
        "neg": "negativ",
        "equiv": "tvetydig",
        "ish": "in situ-hybridisering",
        "notamp": "ikke amplificeret",
        "amp": "amplificeret",
        "stain": "{a} og {b} membranfarvning i {pct} % af tumorcellerne",
        "faint": "svag",
        "incomplete": "inkomplet",
        "complete": "komplet",
        "intense": "stærk",
        "ratio": "ratio",
        "nucleus": "cellekerne",
    },
    "fi": {
        "pos": "positiivinen",
        "neg": "negatiivinen",
        "equiv": "rajatapaus",
        "ish": "in situ -hybridisaatio",
        "notamp": "ei monistunut",
        "amp": "monistunut",
        "stain": "{a} ja {b} kalvovärjäytyminen {pct} %:ssa kasvainsoluista",
        "faint": "heikko",
        "incomplete": "epätäydellinen",
        "complete": "täydellinen",
        "intense": "voimakas",
        "ratio": "suhde",
        "nucleus": "tuma",
    },
}


#: "No membrane staining" and the score word as each language writes them (IHC 0, null).
_NULL_WORDS = {
    "fr": ("absence de marquage membranaire", "score"),
    "de": ("keine Membranfärbung", "Score"),
    "es": ("ausencia de tinción de membrana", "puntuación"),
    "it": ("assenza di colorazione di membrana", "punteggio"),
    "nl": ("geen membraankleuring", "score"),
    "pt": ("ausência de marcação membranar", "escore"),
    "pl": ("brak barwienia błonowego", "punktacja"),
    "cs": ("bez membránového barvení", "skóre"),
    "sk": ("bez membránového farbenia", "skóre"),
    "ro": ("fără colorație membranară", "scor"),
    "hu": ("nincs membránfestődés", "pontszám"),
    "sv": ("ingen membranfärgning", "score"),
    "no": ("ingen membranfarging", "score"),
    "da": ("ingen membranfarvning", "score"),
    "fi": ("ei kalvovärjäytymistä", "pisteet"),
}


#: The languages of the ``language`` cause (western Europe), and of ``language_central`` and
#: ``language_nordic``, which take their languages in turn so that each one is written.
_WESTERN = ("de", "es", "fr", "it", "nl", "pt")
_CENTRAL = ("cs", "hu", "pl", "ro", "sk")
_NORDIC = ("da", "fi", "no", "sv")
#: How many reports each generator has written per language group (the turn is the generator's own, so a
#: corpus stays the same for the same seed).
_TURNS: weakref.WeakKeyDictionary[random.Random, dict[str, int]] = weakref.WeakKeyDictionary()


def _in_turn(rng: random.Random, languages: tuple[str, ...]) -> str:
    turns = _TURNS.setdefault(rng, {})
    turn = turns.get(languages[0], 0)
    turns[languages[0]] = turn + 1
    return languages[turn % len(languages)]


#: A diagnosis line naming the invasive carcinoma and denying carcinoma in situ, per language.
_DIAGNOSES = {
    "fr": "Carcinome infiltrant de type non spécifique, grade 2. Absence de composante in situ.",
    "de": "Invasives Karzinom (NST), Grad 2. Keine In-situ-Komponente.",
    "es": "Carcinoma ductal infiltrante, grado 2. Sin componente in situ.",
    "it": "Carcinoma infiltrante di tipo non speciale, grado 2. Assenza di componente in situ.",
    "nl": "Invasief carcinoom, graad 2. Geen in-situ component.",
    "pt": "Carcinoma invasivo de tipo não especial, grau 2. Ausência de componente in situ.",
}


def _language(rng: random.Random) -> Variant:
    language = rng.choice(_WESTERN)
    text, truth = _language_result(language, rng)
    if rng.random() < 0.5:
        text = f"{_DIAGNOSES[language]}\n{text}"
    return text, truth


def _language_result(language: str, rng: random.Random) -> Variant:
    words = _LANGUAGES[language]
    kind = rng.choice(["3", "1", "0low", "0null", "2neg", "2amp"])
    if kind == "0null":
        absent, score_word = _NULL_WORDS.get(language, ("no membrane staining", "score"))
        return f"HER2 (4B5): {score_word} 0 ({words['neg']}) - {absent}.", Label.NULL
    if kind == "3":
        stain = words["stain"].format(a=words["complete"], b=words["intense"], pct=rng.choice([60, 80, 95]))
        return f"HER2 : {words['pos']} (score 3+) - {stain}.", Label.POSITIVE
    if kind == "1":
        stain = words["stain"].format(a=words["faint"], b=words["incomplete"], pct=rng.choice([20, 40, 70]))
        return f"HER2 : {words['neg']} (score 1+) - {stain}.", Label.LOW_1
    if kind == "0low":
        stain = words["stain"].format(a=words["faint"], b=words["incomplete"], pct=rng.choice([2, 5, 8]))
        return f"HER2 : {words['neg']} (score 0 ; {stain}).", Label.ULTRALOW
    group = 5 if kind == "2neg" else 1
    ratio, her2, _ = dual_numbers(rng, group)
    result = words["notamp"] if group == 5 else words["amp"]
    text = "\n".join(
        [
            f"HER2 (IHC) : {words['equiv']} (score 2+)",
            f"{words['ish']} HER2/CEP17 : {result} ; {words['ratio']} {_fmt(ratio, True)} ; HER2 "
            f"{_fmt(her2, True)} / {words.get('nucleus', 'noyau')}.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _language_central(rng: random.Random) -> Variant:
    return _language_result(_in_turn(rng, _CENTRAL), rng)


def _language_nordic(rng: random.Random) -> Variant:
    return _language_result(_in_turn(rng, _NORDIC), rng)


_SPOKEN_SCORES = ("zero", "one", "two", "three")
#: How speech recognition writes HER2/neu.
_SPOKEN_HER2 = ("her 2 new", "her two", "her 2", "HER 2 NEU", "her-2/neu", "her two neu")


def _spoken_decimal(value: float) -> str:
    whole, tenths = divmod(round(value * 10), 10)
    digits = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return f"{digits[whole] if whole < 10 else whole} point {digits[tenths]}"


def _dictated(rng: random.Random) -> Variant:
    """A US dictated report as speech recognition writes it: lower case, no punctuation, spelled scores
    ("one plus", "three+"), HER2 as "her 2 new" or "her two", "fish" for FISH, and the ER intensity spoken
    as a score ("strong three plus intensity") before the HER2 result; one run-on line or one per item."""
    her2 = rng.choice(_SPOKEN_HER2)
    kind = rng.choice(["0null", "1", "2neg", "2amp", "3"])
    score = int(kind[0])
    spoken = rng.choice([f"{_SPOKEN_SCORES[score]} plus", f"{_SPOKEN_SCORES[score]}+", f"{score} plus"])
    if score == 0:
        spoken = "zero"
    lines = [
        "final diagnosis left breast needle core biopsy invasive ductal carcinoma grade 2",
        f"estrogen receptor positive {rng.choice([80, 90, 95])} percent with strong three plus intensity "
        f"progesterone receptor positive {rng.choice([30, 60])} percent",
    ]
    if kind == "0null":
        lines.append(f"{her2} immunohistochemistry is {spoken} negative with no membrane staining")
        truth = Label.NULL
    elif kind == "1":
        lines.append(
            f"{her2} is {spoken} negative by hercept test faint incomplete membrane staining in about "
            f"{rng.choice([20, 30, 50])} percent of tumor cells fish not performed"
        )
        truth = Label.LOW_1
    elif kind == "3":
        lines.append(
            f"{her2} immunohistochemistry {spoken} positive complete strong membrane staining in "
            f"{rng.choice([80, 90, 100])} percent of tumor cells"
        )
        truth = Label.POSITIVE
    else:
        group = 5 if kind == "2neg" else 1
        ratio, copies, _ = dual_numbers(rng, group)
        word = "not amplified" if group == 5 else "amplified"
        lines += [
            f"{her2} immunohistochemistry {spoken} equivocal",
            f"fish {word} her two to cep seventeen ratio {_spoken_decimal(ratio)} average her two copies "
            f"{_spoken_decimal(copies)} per cell",
        ]
        ratio, copies = round(ratio, 1), round(copies, 1)
        truth = label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=copies)))
    lines.append(f"ki 67 approximately {rng.choice([5, 10, 20])} percent")
    return (" " if rng.random() < 0.5 else "\n").join(lines), truth


def _ish_not_final(rng: random.Random) -> Variant:
    group = rng.choice([2, 3, 4])
    ratio, her2, _ = dual_numbers(rng, group)
    pending = rng.choice(
        [
            "recount by a second observer pending; final interpretation to follow.",
            "Per protocol a blinded recount by a second observer is required before a final result is "
            "issued.",
            "Final HER2 ISH interpretation to follow after the second observer's count.",
            "A second blinded count is required for this group with IHC 2+ and is now being performed.",
            "The blinded recount is in progress; the final HER2 status will be issued in an addendum.",
            "Blinded recount still pending.",
            "Recount by a second observer awaited.",
            "Second observer count still to be done.",
            "Nachzählung durch einen zweiten Beobachter ausstehend.",
            "Le recomptage par un second observateur est en cours.",
            "Recuento por un segundo observador en curso.",
            "Riconteggio da parte di un secondo osservatore in corso.",
            "Hertelling door een tweede waarnemer wordt nog uitgevoerd.",
            "Recontagem por um segundo observador em andamento.",
        ]
    )
    title = rng.choice(["PRELIMINARY HER2 ISH RESULT", "HER2 FISH (preliminary)", "HER2 dual ISH"])
    text = "\n".join(
        [
            title,
            "Concurrent IHC: 2+.",
            f"ISH observer 1: ratio {_fmt(ratio)}, HER2 {_fmt(her2)} signals/cell (group {group} range); "
            + pending,
        ]
    )
    return text, label(Case(ihc=Ihc(score=2)))


def _original_quoted(rng: random.Random) -> Variant:
    group = rng.choice([1, 5])
    ratio, her2, _ = dual_numbers(rng, group)
    word = "AMPLIFIED" if group == 1 else "NOT AMPLIFIED"
    final = "POSITIVE" if group == 1 else "NEGATIVE"
    text = "\n".join(
        [
            f"ADDENDUM #1: HER2 DUAL ISH RESULT ON BLOCK A1 - {word}. HER2/CEP17 RATIO {_fmt(ratio)}; "
            f"MEAN HER2 {_fmt(her2)}/CELL (GROUP {group}).",
            "ORIGINAL REPORT: HER2 IHC 2+ (EQUIVOCAL); ISH PENDING.",
            f"FINAL HER2 STATUS: {final}.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _rtf(rng: random.Random) -> Variant:
    score = rng.choice([0, 1, 3])
    words = {
        0: "0 NEGATIVE. NO MEMBRANE STAINING",
        1: "1+ NEGATIVE. FAINT INCOMPLETE MEMBRANE STAINING IN 40% OF TUMOR CELLS",
        3: "3+ POSITIVE. COMPLETE INTENSE MEMBRANE STAINING IN >50% OF TUMOR CELLS",
    }[score]
    lines = [
        "MERCY VALLEY HOSPITAL PATHOLOGY",
        "SPECIMEN: RIGHT ILIAC BONE, CORE BIOPSY, METASTATIC CARCINOMA",
        f"HER2 IHC (4B5) RESULT: {words}.",
    ]
    if rng.random() < 0.5:
        lines += [
            "DISCLAIMER: SPECIMEN DECALCIFIED (EDTA). DECALCIFICATION MAY ADVERSELY AFFECT",
            "IMMUNOREACTIVITY; NEGATIVE RESULTS SHOULD BE INTERPRETED WITH CAUTION.",
        ]
    # The scoring legend, wrapped at a fixed width as the laboratory system prints it.
    lines += [
        "HER2 IHC INTERPRETED PER 2018 ASCO/CAP GUIDELINE, AFFIRMED 2023.",
        "SCORE 0: NO STAINING OR FAINT INCOMPLETE STAINING IN <=10% OF",
        "INVASIVE TUMOR CELLS; 1+: FAINT INCOMPLETE MEMBRANE STAINING IN",
        ">10%; 2+: WEAK TO MODERATE COMPLETE STAINING IN >10%",
        "(EQUIVOCAL); 3+: COMPLETE INTENSE CIRCUMFERENTIAL STAINING IN",
        ">10% (POSITIVE).",
    ]
    body = "\\par\n".join(lines)
    text = "{\\rtf1\\ansi\\deff0 {\\fonttbl{\\f0 Courier New;}}\\f0\\fs18 " + body + "\\par\n}"
    return text, label(Case(ihc=Ihc(score=score, zero="null")))


def _heterogeneous(rng: random.Random) -> Variant:
    overall_ratio, overall_her2, _ = dual_numbers(rng, 5)
    ratio, her2, _ = dual_numbers(rng, 1)
    share = rng.choice([12, 15, 20, 30, 40])
    text = "\n".join(
        [
            "HER2 FISH - heterogeneous case",
            f"Overall count, 60 nuclei: HER2/CEP17 {_fmt(overall_ratio)}, mean HER2 "
            f"{_fmt(overall_her2)}/cell.",
            f"A contiguous, morphologically distinct subpopulation (~{share} % of the invasive tumour) shows "
            f"clustered signals; separate count of 20 nuclei in that area: ratio {_fmt(ratio)}, mean HER2 "
            f"{_fmt(her2)}/cell.",
            "Because the amplified subpopulation exceeds 10 % of tumour cells, the case is reported as HER2 "
            "AMPLIFIED (heterogeneous). Concurrent IHC: 2+.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _ihc_heterogeneous(rng: random.Random) -> Variant:
    high = rng.choice([3, 3, 2])
    share = rng.choice([5, 8, 15, 20, 40, 60]) if high == 3 else rng.choice([15, 30, 60])
    rest = rng.choice([0, 1]) if high == 3 else 1
    pattern = (
        rng.choice(["strong, complete, circumferential", "intense complete", "strong complete"])
        if high == 3
        else "weak to moderate complete"
    )
    stated = {3: "3+ (POSITIVE)", 2: "2+ (EQUIVOCAL)"}[high]
    rest_score = _plus(rest)
    text = "\n".join(
        [
            "PREDICTIVE MARKERS (block A5):",
            f"  HER2 IHC (4B5): {stated}",
            f"    Heterogeneous staining: {pattern} membrane staining in approximately {share}% of the "
            f"invasive tumour cells; the remaining invasive tumour shows {rest_score} staining.",
            "  HER2 ISH: to follow." if high == 2 else "  HER2 SISH: not required.",
        ]
    )
    # ASCO/CAP 2018: intense complete staining in 10 % of cells or less is 2+ (equivocal).
    return text, label(Case(ihc=Ihc(score=high if share > 10 else 2)))


def _score_question(rng: random.Random) -> Variant:
    score = rng.choice([0, 1])
    result = (
        "HER2 (PATHWAY 4B5): NEGATIVE, score 0 (HER2-null).\n  No membrane staining identified in invasive "
        "tumour cells at 40x magnification."
        if score == 0
        else _ihc_line(1, rng) + "."
    )
    review = rng.choice(
        [
            "Reviewed by a second pathologist (0 vs 1+ distinction): concurs.",
            "Second review for the 0 versus 1+ distinction: agreed.",
            "Slide reviewed by a second pathologist for distinguishing 0 from 1+: concurs.",
            "The 0/1+ cut-off was confirmed by a second observer.",
        ]
    )
    return f"{result}\n  {review}", label(Case(ihc=Ihc(score=score, zero="null")))


def _in_situ_component(rng: random.Random) -> Variant:
    invasive, in_situ = rng.choice([(1, 3), (0, 3), (0, 2), (1, 2), (3, 0)])
    word = {0: "negative", 1: "negative", 2: "equivocal", 3: "positive"}[invasive]
    label_text = rng.choice(["DCIS component   :", "DCIS component:", "In-situ component:", "DCIS -"])
    lines = [
        "IMMUNOHISTOCHEMISTRY:",
        f"   Invasive carcinoma: ER (+, 70%, moderate), PR (+, 10%, weak), HER2 {_plus(invasive)} ({word}), "
        "Ki-67 15%.",
        f"   {label_text} ER (-), PR (-), HER2 {_plus(in_situ)}.",
    ]
    if invasive == 2:
        lines.append("   HER2 ISH on the invasive carcinoma to follow.")
    return "\n".join(lines), label(Case(ihc=Ihc(score=invasive)))


def _score_revised(rng: random.Random) -> Variant:
    old, new = rng.choice([(0, 1), (1, 0), (1, 2), (2, 1), (0, 2)])
    day = rng.randint(10, 28)
    if rng.random() < 0.5:
        lines = [
            "*** CORRECTED REPORT ***",
            "Reason for correction: HER2 IHC score revised after intradepartmental review.",
            "Diagnosis: Invasive ductal carcinoma, Nottingham grade 2.",
            f"ORIGINAL HER2 RESULT (10/{day - 6:02d}/2025): IHC {_plus(old)}.",
            f"REVISED HER2 RESULT (10/{day:02d}/2025): IHC {_plus(new)}.",
        ]
    else:
        verb = rng.choice(["revised", "changed", "amended", "corrected"])
        lines = [
            "AMENDED REPORT",
            "Invasive carcinoma of no special type.",
            f"HER2 IHC score {verb} from {_plus(old)} to {_plus(new)} after second pathologist review.",
        ]
    if new == 2:
        lines.append("HER2 ISH to follow.")
    return "\n".join(lines), label(Case(ihc=Ihc(score=new)))


def _ocr(rng: random.Random) -> Variant:
    score = rng.choice([0, 1])
    token = rng.choice(["l+", "I+", "|+"]) if score else rng.choice(["O", "o"])
    negative = rng.choice(["Negatlve", "Negative", "NEGATlVE", "Neg4tive"])
    label_text = rng.choice(["HER2 (c-erbB-2)     :", "HER2 IHC score:", "HER2 :"])
    lines = [
        "HlSTOPATHOLOGY REP0RT                    Lab No : HP 23/1O882",
        "DIAGN0SIS :",
        " lnvasive carcinoma of no specia1 type, grade 2. Tumour size 2l mm.",
        "IMMUN0HISTOCHEMISTRY :",
        " Oestrogen Recept0r  : Posltive (9O%, strong)",
        f" {label_text} {token} ({negative})",
        " Ki-67               : 1O%",
    ]
    return "\n".join(lines), label(Case(ihc=Ihc(score=score)))


def _blocks(rng: random.Random) -> Variant:
    ratio, her2, _ = dual_numbers(rng, 1)
    first, second = rng.choice([(1, 2), (0, 2), (2, 1)])
    text = (
        f"HER2 IHC was {first}+ on block A1 and {second}+ on A3 (heterogeneous). Reflex dual-probe ISH on "
        "A3: "
        f"ratio {_fmt(ratio)}, HER2 {_fmt(her2)}/cell, group 1. Overall HER2 status: POSITIVE (amplified)."
    ).replace("0+", "0")
    return text, label(Case(ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _unnamed_marker(rng: random.Random) -> Variant:
    score = rng.choice([1, 2])
    if score == 2:
        text = (
            f"Moderate, incomplete (basolateral) membrane staining in ~{rng.choice([30, 40, 60])}% of cells; "
            "per ASCO/CAP this unusual pattern is scored 2+ (equivocal). ISH recommended."
        )
    else:
        text = (
            f"Faint, incomplete membrane staining in {rng.choice([20, 40, 70])}% of invasive tumour cells; "
            "score 1+ (negative)."
        )
    return text, label(Case(ihc=Ihc(score=score)))


def _not_repeated(rng: random.Random) -> Variant:
    score = rng.choice([0, 1, 3])
    shown = {0: "0 (no membrane staining)", 1: "1+", 3: "3+"}[score]
    wording = rng.choice(
        ["HER2 was not repeated on this excision.", "No repeat HER2 testing was performed on this excision."]
    )
    if rng.random() < 0.5:
        text = "\n".join(
            [
                "Right breast, lumpectomy: residual invasive carcinoma.",
                "BREAST BIOMARKER RESULTS (performed on prior core biopsy S25-00777, block A2):",
                f"HER2 IHC: {shown}",
                "",
                f"COMMENT: {wording}",
            ]
        )
        return text, label(Case(ihc=Ihc(score=score, zero="null")))
    if rng.random() < 0.5:
        # The earlier results told in a comment ("… were performed on the prior core biopsy (…): …"): a
        # quotation, as in a sentence.
        told = rng.choice(
            [
                "Comment: ER, PR and HER2 were performed on the prior core biopsy (S26-02019, 02/04/2026): "
                f"ER 95%, PR 40%, HER2 {shown}.",
                f"Note: HER2 testing was performed on the diagnostic core (S25-30211): HER2 IHC {shown}.",
                "Biomarkers had been performed on the previous biopsy (S25-30211): ER positive (90%), HER2 "
                f"{shown}.",
            ]
        )
        text = "\n".join(
            [
                "Left breast, lumpectomy: invasive ductal carcinoma, grade 2, 1.7 cm; margins negative.",
                told,
                rng.choice(
                    [
                        "Biomarkers were not repeated on this specimen; repeat testing available upon "
                        "request.",
                        wording,
                    ]
                ),
            ]
        )
        return text, Label.INDETERMINATE
    text = "\n".join(
        [
            "Residual invasive carcinoma after neoadjuvant therapy.",
            f"Pre-treatment core biopsy (S25-30211) was HER2 IHC {shown}.",
            wording.replace("this excision", "the residual tumour"),
        ]
    )
    return text, Label.INDETERMINATE


def _stated_low(rng: random.Random) -> Variant:
    if rng.random() < 0.5:
        text = f"HER2 IHC: 0 (no membrane staining)\nHER2-low status: {rng.choice(['yes', 'Yes', 'YES'])}"
    else:
        answer = rng.choice(["no", "No"])
        text = f"HER2 IHC: 1+ (faint incomplete staining in 30% of cells)\nHER2-low status: {answer}"
    return text, Label.INDETERMINATE


_FAILED_STAIN = (
    "HER2 IHC: not evaluable - failed internal control. Absent membrane staining in tumour cells.",
    "HER2 IHC uninterpretable due to crush artefact; no membrane staining seen.",
    "HER2 IHC: prolonged fixation (> 72 h) renders the stain unreliable; no membrane staining.",
    "HER2: nicht beurteilbar (ausgeprägte Quetschartefakte, keine Färbung der externen Kontrolle).",
    "HER2: no valorable (artefactos de aplastamiento); ausencia de tinción de membrana.",
    "HER2 : non évaluable (contrôle externe échoué), absence de marquage membranaire.",
    "HER2: non valutabile, controllo interno fallito; nessuna colorazione.",
    "HER2: niet beoordeelbaar, geen membraankleuring.",
    "HER2: não avaliável; sem marcação membranar.",
    "HER2 IHC (4B5): INDETERMINATE. Absent membrane staining in tumour cells, but the on-slide control cores "
    "(1+ and 3+) also failed to stain as expected.",
    "HER2 IHC: no membrane staining in tumour cells; the external controls stained inappropriately.",
    "HER2 IHC: invalid run. No membrane staining of tumour cells.",
    "HER2 IHC: no membrane staining seen. Repeat on another block recommended.",
)


def _stain_failed(rng: random.Random) -> Variant:
    if rng.random() < 0.7:
        return rng.choice(_FAILED_STAIN), Label.INDETERMINATE
    score = rng.choice([0, 1])
    failure = rng.choice(["FISH failed: no signals.", "ISH not evaluable (no signals)."])
    stain = "HER2 IHC 0 (no membrane staining)" if score == 0 else _ihc_line(score, rng)
    return f"{stain}. {failure}", label(Case(ihc=Ihc(score=score, zero="null")))


def _residual_retested(rng: random.Random) -> Variant:
    group = rng.choice([1, 5])
    ratio, her2, _ = dual_numbers(rng, group)
    word, final = ("AMPLIFIED", "POSITIVE") if group == 1 else ("NOT AMPLIFIED", "NEGATIVE")
    block = f"A{rng.randint(1, 6)}"
    text = "\n".join(
        [
            "A. LEFT BREAST, LUMPECTOMY: RESIDUAL INVASIVE DUCTAL CARCINOMA, 0.9 cm tumor bed.",
            "B. SENTINEL LYMPH NODE #1: ONE LYMPH NODE, NEGATIVE (0/1), with treatment effect.",
            "",
            f"BIOMARKERS ON RESIDUAL INVASIVE CARCINOMA (block {block}):",
            "HER2 IHC (4B5): 2+ (equivocal)",
            f"HER2 FISH: HER2/CEP17 ratio {_fmt(ratio)}; average HER2 copies per cell {_fmt(her2)} "
            f"(60 cells) - {word}, Group {group}",
            f"FINAL HER2 (residual disease): {final}",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _report_versions(rng: random.Random) -> Variant:
    group = rng.choice([1, 5])
    ratio, her2, _ = dual_numbers(rng, group)
    word, final = ("AMPLIFIED", "POSITIVE") if group == 1 else ("NOT AMPLIFIED", "NEGATIVE")
    original = rng.choice(
        [
            "HER2 IHC (4B5): 2+ (equivocal). Reflex HER2 ISH pending; an addendum will follow.",
            "Invasive ductal carcinoma, grade 2.\nHER2 IHC: 2+ (equivocal)\nHER2 ISH: to follow.",
        ]
    )
    ish = (
        f"HER2 dual-probe ISH (block A1): HER2/CEP17 ratio {_fmt(ratio)}, average HER2 copy number "
        f"{_fmt(her2)} signals/cell (Group {group}). {word}."
    )
    later = rng.choice(
        [
            f"AMENDED REPORT\n{ish}\nFinal HER2 status: {final} (IHC 2+, ISH {word.lower()}).",
            f"ADDENDUM: {ish}",
            f"{ish}\nFinal HER2 status: {final}.",
        ]
    )
    return original + VERSION_BREAK + later, label(
        Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2))
    )


def _bracketed_share(rng: random.Random) -> Variant:
    share = rng.choice(["<5%", "approx. 5%", "~8%", "3%"])
    cells = rng.choice(["Rare tumor cells", "Tumour cells", "Occasional tumor cells"])
    text = (
        f"HER2 IHC (4B5): 0 (negative). {cells} ({share}) {rng.choice(['show', 'with', 'display'])} faint, "
        "barely perceptible, incomplete membrane staining."
    )
    return text, label(Case(ihc=Ihc(score=0, zero="ultralow")))


def _eligibility_clauses(rng: random.Random) -> Variant:
    score = rng.choice([0, 1])
    if score == 0:
        text = (
            "HER2 by IHC: Negative (Score 0)\nComment: HER2 IHC 0 results are not eligible for HER2-low "
            f"directed therapy; 1+ or 2+/ISH-negative results {rng.choice(['may be', 'might be'])}."
        )
        return text, label(Case(ihc=Ihc(score=0)))
    text = (
        "HER2/neu (clona 4B5): 1+ - NEGATIVO.\nComentario: Los resultados HER2 IHQ 1+ o 2+ con ISH negativa "
        "se consideran negativos para sobreexpresión; sin embargo, estas pacientes pueden ser elegibles para "
        "terapias dirigidas a HER2 no amplificado. Un resultado IHQ 3+ o ISH positivo correspondería a HER2 "
        "positivo."
    )
    return text, label(Case(ihc=Ihc(score=1)))


def _earlier_compared(rng: random.Random) -> Variant:
    year = rng.choice([2019, 2023, 2025])
    earlier = rng.choice(["HER2 3+", "HER2 0", "HER2 positivo"])
    text = (
        "HER2 (4B5): 1+ (negativo; tinción de membrana débil e incompleta en el 30 % de las células).\n"
        f"Comentario: discordancia con el tumor primario de {year} ({earlier})."
    )
    return text, label(Case(ihc=Ihc(score=1)))


def _parts_listed_first(rng: random.Random) -> Variant:
    breast, node = rng.choice([(1, 3), (0, 1), (1, 0), (2, 3)])
    text = "\n".join(
        [
            "Muestras:",
            " A) Mama izquierda, tumorectomía.",
            " B) Ganglio centinela axilar izquierdo.",
            "Diagnóstico:",
            " A) Carcinoma infiltrante de tipo no especial, grado 2, 19 mm.",
            f"    HER2 (4B5): {_plus(breast)}.",
            " B) Metástasis de carcinoma en 1 de 1 ganglio (macrometástasis 6 mm).",
            f"    HER2 (4B5) en la metástasis: {_plus(node)}.",
        ]
    )
    return text, highest([label(Case(ihc=Ihc(score=breast))), label(Case(ihc=Ihc(score=node)))])


def _in_situ_part(rng: random.Random) -> Variant:
    invasive, in_situ = rng.choice([0, 1]), rng.choice([2, 3])
    text = "\n".join(
        [
            "A. RIGHT BREAST, 10:00, CORE BIOPSY: INVASIVE DUCTAL CARCINOMA, GRADE 2.",
            f"   ER POSITIVE (90%), PR POSITIVE (70%), HER2 IHC: {_plus(invasive)} (NEGATIVE).",
            "B. LEFT BREAST, 2:00, STEREOTACTIC CORE BIOPSY: DUCTAL CARCINOMA IN SITU, HIGH NUCLEAR GRADE.",
            "   NO INVASIVE CARCINOMA IDENTIFIED.",
            f"   HER2 performed on DCIS per study protocol: {in_situ}+ (see note).",
            "NOTE: HER2 staining of DCIS is not used for HER2 status of invasive carcinoma "
            "and is reported for research purposes only.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=invasive)))


def _threshold_quoted(rng: random.Random) -> Variant:
    copies = rng.choice([6.4, 7.2, 9.8, 12.5])
    comparison = rng.choice(
        ["exceeds 6.0 signals/nucleus", "is ≥ 6.0 per nucleus", "exceeds the 6.0 cut-off"]
    )
    text = "\n".join(
        [
            "HER2 IHC (4B5): score 2+ (equivocal)",
            f"HER2 SISH (single-probe): mean HER2 copy number {_fmt(copies)} per nucleus (60 nuclei counted)",
            "HER2 final status: POSITIVE.",
            f"Comment: Dual-probe confirmation was not required as HER2 copy number {comparison}.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="single", her2=copies)))


def _test_offered(rng: random.Random) -> Variant:
    score = rng.choice([1, 3])
    offer = rng.choice(
        [
            "HER2 FISH on the same block is not required but may be requested.",
            "HER2 ISH may be requested if clinically indicated.",
        ]
    )
    text = f"{_ihc_line(score, rng)}.\n{offer}"
    if rng.random() < 0.5:
        text = text.upper()
    return text, label(Case(ihc=Ihc(score=score)))


def _consult_repeat(rng: random.Random) -> Variant:
    outside, ours = rng.choice([(2, 3), (3, 1), (1, 0), (2, 1)])
    where = rng.choice(["performed at UCC", "performed in-house", "4B5, performed at our laboratory"])
    text = "\n".join(
        [
            f"OUTSIDE DIAGNOSIS: Invasive ductal carcinoma, grade 2. HER2 IHC {_plus(outside)}.",
            "",
            f"HER2 (repeat IHC on outside block A2, {where}):",
            f"  Score {_plus(ours)}.",
        ]
    )
    return text, label(Case(ihc=Ihc(score=ours)))


def _addenda_in_sequence(rng: random.Random) -> Variant:
    group = rng.choice([1, 3])
    ratio, her2 = (2.39, 4.3) if group == 1 else (2.1, 3.2)
    text = "\n".join(
        [
            "FINAL DIAGNOSIS",
            "HER2 IHC (4B5): 2+ (equivocal). Reflex ISH ordered.",
            "",
            "ADDENDUM 1 (08/01/2024) - HER2 dual-probe ISH, block A1",
            " Observer 1: 20 nuclei; HER2 3.8/cell; CEP17 1.7/cell; ratio 2.24 (ASCO/CAP group 2).",
            " HER2 status: pending recount.",
            "",
            f"ADDENDUM {rng.choice(['2', '#2'])} (08/09/2024) - HER2 ISH recount and adjudication",
            " Observer 2 (blinded, 20 different nuclei): HER2 4.5/cell; CEP17 1.8/cell; ratio 2.50.",
            f" Adjudicated with a third count (20 nuclei: HER2 {_fmt(her2)}/cell; ratio {_fmt(ratio)}).",
        ]
    )
    return text, label(Case(ihc=Ihc(score=2), ish=Ish(kind="dual", ratio=ratio, her2=her2)))


def _amended_banner(rng: random.Random) -> Variant:
    before, after = rng.choice([(0, 1), (1, 0), (1, 2)])
    detail = {0: "no membrane staining", 1: "faint incomplete membrane staining in ~15% of tumor cells"}
    shown = f"{_plus(after)} ({detail[after]})" if after in detail else f"{_plus(after)} (equivocal)"
    text = "\n".join(
        [
            "*** AMENDED REPORT ***  (Amendment #1, 09/20/2024 - change in HER2 score)",
            "BIOMARKERS (block A2):",
            " HER2 (4B5) IHC:",
            f"   Previously reported: {_plus(before)}",
            f"   AMENDED RESULT:      {shown}",
        ]
    )
    zero = "null" if after == 0 else "unstated"
    return text, label(Case(ihc=Ihc(score=after, zero=zero)))


def _copied_forward(rng: random.Random) -> Variant:
    """An EHR export: the history copied forward from an earlier encounter (an earlier HER2 3+), framed by
    rule lines, then the current specimen's results under inline labels only."""
    rule = rng.choice(["-" * 73, "=" * 60, "_" * 50])
    score = rng.choice([0, 1])
    shown = {0: "0 (no membrane staining) - Negative", 1: "1+ - Negative"}[score]
    text = "\n".join(
        [
            "Surgical Pathology                                   Printed 10/14/2026",
            f"Patient Name: [REDACTED]  MRN: E4429103\n{rule}",
            "CLINICAL INFORMATION (copied from prior encounter 03/2019):",
            "Left breast IDC 2019, ER-/PR-/HER2 POSITIVE (IHC 3+), s/p TCHP, left",
            f"mastectomy, completed 1 yr trastuzumab. ++ copied forward ++\n{rule}",
            "CURRENT SPECIMEN: Right breast, 11:00, US core biopsy.",
            "DIAGNOSIS: Invasive ductal carcinoma, grade 2 (new contralateral primary).",
            "ER: Positive, 95%, strong.   PR: Positive, 20%, moderate.",
            f"HER2 (4B5): {shown}.",
            f"Ki-67: 15%.\n{rule}",
        ]
    )
    return text, label(Case(ihc=Ihc(score=score, zero="null")))


def _prior_only(rng: random.Random) -> Variant:
    """An excision report restating only the earlier core biopsy's biomarkers, its own specimen untested and
    nothing said about it: a quotation, not this report's result (indeterminate)."""
    score = rng.choice([0, 1, 3])
    shown = {0: "0", 1: "1+", 3: "3+ (positive)"}[score]
    quoted = rng.choice(
        [
            f"Prior core biopsy (S25-{rng.randint(10000, 99999)}): ER positive, PR positive, HER2 {shown}.",
            f"Pre-treatment core biopsy ({rng.choice(['outside', 'S25-30211'])}): invasive carcinoma, ER 5%, "
            f"PR 0%, HER2 {shown}.",
        ]
    )
    text = "\n".join(
        [
            "FINAL DIAGNOSIS: Left breast, wide local excision: invasive ductal carcinoma, grade 2, 18 mm; "
            "margins clear; 0/2 sentinel nodes.",
            rng.choice(["", "Clinical note / history:", "History:"]),
            quoted,
        ]
    )
    return text, Label.INDETERMINATE


def _compared_with_prior(rng: random.Random) -> Variant:
    """The report's own result compared with the earlier biopsy ("…, concordant with the pre-treatment
    biopsy"), or an aside giving the earlier biopsy's result after its own ("HER2: 1+ (previous core
    biopsy: 3+)"): the report's own result stands."""
    score = rng.choice([1, 3])
    own = {
        1: "1+, faint incomplete membranous staining in ~40% of tumour cells",
        3: "3+, complete intense membranous staining in ~60% of residual tumour cells",
    }[score]
    if rng.random() < 0.5:
        text = "\n".join(
            [
                "Residual invasive ductal carcinoma, 0.9 cm (ypT1b).",
                f"Biomarkers repeated on residual invasive tumour (block A{rng.randint(2, 6)}):",
                "  ER 0%; PR 0%;",
                f"  HER2 IHC (4B5) - {own},",
                f"  {rng.choice(['concordant with', 'unchanged from', 'compared with 3+ on'])} the "
                "pre-treatment biopsy.",
            ]
        )
    else:
        earlier = {1: "3+", 3: "2+"}[score]
        text = f"HER2 (4B5): {'1+' if score == 1 else '3+'} (previous core biopsy: {earlier})."
    return text, label(Case(ihc=Ihc(score=score)))


def _her2_worksheet(rng: random.Random) -> Variant:
    """A HER2 worksheet: staining rows with leaders between rule lines under a lead-in ("INVASIVE TUMOR CELLS
    WITH:"), naming no marker, then the score; the rows are HER2's (ultralow by the faint share)."""
    faint = rng.choice([2, 5, 8])
    rule = "-" * rng.choice([40, 60])
    text = "\n".join(
        [
            f"*** HER2 IMMUNOHISTOCHEMISTRY - {rng.choice(['QUANTITATIVE WORKSHEET', 'SCORING SHEET'])} ***",
            f"CASE NO......: S25-{rng.randint(10000, 99999)}-A1     COLLECTED....: 07/22/2025",
            rule,
            rng.choice(
                ["INVASIVE TUMOR CELLS WITH:", "TUMOUR CELLS WITH:", "PERCENTAGE OF TUMOR CELLS WITH:"]
            ),
            "  COMPLETE INTENSE MEMBRANE STAINING ............   0 %",
            "  INCOMPLETE FAINT MEMBRANE STAINING ............   " + f"{faint} %",
            "  NO STAINING ...................................  " + f"{100 - faint} %",
            rule,
            "HER2 SCORE...: 0                      INTERPRETATION: NEGATIVE",
        ]
    )
    return text, label(Case(ihc=Ihc(score=0, zero="ultralow")))


def _threshold_not_reached(rng: random.Random) -> Variant:
    """A score of 0 whose comment says no staining reaches the 1+ threshold: the bound, not a 1+ share."""
    verb = rng.choice(["reaches", "meets", "attains"])
    text = (
        "HER2 (4B5): NEGATIVE, SCORE 0. Rare invasive tumor cells (<5%) show faint incomplete membrane "
        f"staining. No staining {verb} the 1+ threshold (>10%)."
    )
    return text, label(Case(ihc=Ihc(score=0, zero="ultralow")))


def _hyphenated_foreign_ultralow(rng: random.Random) -> Variant:
    """The ultralow term of another language joined to the marker's name ("HER2-ultrabajo"): ultralow."""
    term = rng.choice(["HER2-ultrabajo", "HER2-ultrafaible", "HER2-ultrabasso", "HER-2-ultrabajo"])
    status = rng.choice(["negativo", "negative"])
    text = f"HER2 (4B5): {status}, {rng.choice(['puntuación', 'score'])} 0 ({term})."
    return text, label(Case(ihc=Ihc(score=0, zero="ultralow")))


def _discordant_parts_comment(rng: random.Random) -> Variant:
    """Same-procedure parts, breast 2+/ISH-negative and node 3+, then a comment hedging only its explanation
    of the discordance or qualifying the node's positive in its own direction: the highest (positive)."""
    comment = rng.choice(
        [
            "COMMENT: Discordant HER2 expression between primary and nodal metastasis, most likely "
            "reflecting intratumoural heterogeneity.",
            "COMMENT: The nodal metastasis shows HER2 overexpression not present in the sampled primary "
            "tumour, suggesting a HER2-positive subclone.",
            "COMMENT: The discordance is possibly due to sampling of a heterogeneous tumour.",
        ]
    )
    text = "\n".join(
        [
            "A. RIGHT BREAST, MASTECTOMY: invasive carcinoma of no special type, grade 2.",
            "B. RIGHT AXILLA, LYMPH NODE DISSECTION: metastatic carcinoma in 2 of 9 lymph nodes.",
            "",
            "Part A (breast, block A6): ER positive (95%). HER2 IHC (4B5): 2+. HER2 FISH: ratio 1.3; "
            "2.9 signals/cell; group 5 - NOT AMPLIFIED.",
            "Part B (node, block B3): HER2 IHC (4B5): 3+ POSITIVE - complete intense membrane staining in "
            f"approximately {rng.choice([40, 50, 70])}% of tumour cells.",
            "",
            comment,
        ]
    )
    return text, Label.POSITIVE


def _legend_then_result(rng: random.Random) -> Variant:
    """A quoted ASCO/CAP scoring legend (its '3+ … Positive' row a trap) under a criteria header with its
    purpose ("…, for reference:"), or above a bare "RESULT: 1+" row in a report naming HER2 alone."""
    rows = "\n".join(
        [
            "  0   NO STAINING OR FAINT INCOMPLETE STAINING IN <=10% OF CELLS     NEGATIVE",
            "  1+  FAINT INCOMPLETE MEMBRANE STAINING IN >10% OF CELLS            NEGATIVE",
            "  2+  WEAK-MODERATE COMPLETE STAINING IN >10% OF CELLS               EQUIVOCAL",
            "  3+  COMPLETE INTENSE CIRCUMFERENTIAL STAINING IN >10% OF CELLS     POSITIVE",
        ]
    )
    rule = "-" * 60
    if rng.random() < 0.5:
        text = "\n".join(
            [
                f"HER2 IMMUNOHISTOCHEMISTRY (PowerPath)    CASE: P25-{rng.randint(10000, 99999)}  PART: A",
                rule,
                "SCORING CRITERIA (ASCO/CAP 2018):",
                rows,
                rule,
                "RESULT:            1+",
                "INTERPRETATION:    NEGATIVE",
                f"PERCENT STAINED:   {rng.choice([20, 30, 60])}% INCOMPLETE, FAINT",
            ]
        )
    else:
        header = rng.choice(
            [
                "Scoring criteria (ASCO/CAP 2018/2023), for reference:",
                "Interpretive criteria, for information:",
            ]
        )
        text = "\n".join(
            [
                "HER2 IMMUNOHISTOCHEMISTRY (4B5), block A1",
                "Result: There is no HER2 protein overexpression. Score 1+ (NEGATIVE).",
                "   Faint incomplete membrane staining in approximately 35% of invasive tumour cells.",
                "",
                header,
                rows,
                "",
                "ER: positive (90%, strong).  PR: positive (15%).  Ki-67: 20%.",
            ]
        )
    return text, label(Case(ihc=Ihc(score=1)))


def _suggested_treatment(rng: random.Random) -> Variant:
    """A metastasis' own explicit result, then a comment recommending with "suggest" ("treatment according to
    the current (metastatic) result is suggested"): a recommendation, no hedge; the primary's quoted 1+ is
    history."""
    score = rng.choice([1, 3])
    own = {
        1: "1+ NEGATIVE - faint incomplete membrane staining in ~40%",
        3: "3+ POSITIVE - strong complete circumferential membrane staining in ~60%",
    }[score]
    text = "\n".join(
        [
            "Clinical history: history of left breast carcinoma (2019, HER2 IHC "
            f"{'3+' if score == 1 else '1+'} on the primary excision). Now new liver lesions.",
            "",
            "BIOMARKERS (block A1, metastatic carcinoma):",
            f"  HER2 (4B5): {own} of tumor cells.",
            "",
            "COMMENT: The HER2 result on this metastasis differs from the primary tumor; results were "
            "confirmed by a second pathologist.",
            rng.choice(
                [
                    "Clinical correlation and treatment according to the current (metastatic) result is "
                    "suggested.",
                    "We suggest clinical correlation.",
                ]
            ),
        ]
    )
    return text, label(Case(ihc=Ihc(score=score)))


def _turkish(rng: random.Random) -> Variant:
    """A Turkish report: "Skor 2+ (şüpheli)" then CISH "amplifikasyon saptanmıştır" (ratio and counts with
    decimal commas), or "Skor 0" with FISH "amplifikasyonu saptanmadı" (IHC 0, not 2+/ISH-negative)."""
    if rng.random() < 0.5:
        ish = rng.choice(
            [
                (
                    "Ortalama HER2 sinyali: 7,4 /hücre; ortalama CEP17: 2,4 /hücre; HER2/CEP17 oranı: 3,1",
                    True,
                ),
                ("HER2/CEP17 oranı: 1,2; ortalama HER2 sinyali: 2,3 /hücre", False),
            ]
        )
        call = "AMPLİFİKASYON SAPTANMIŞTIR" if ish[1] else "amplifikasyon saptanmadı"
        text = "\n".join(
            [
                "TANI: İnvaziv meme karsinomu (NST), histolojik derece 2.",
                "İMMÜNOHİSTOKİMYA:",
                "  ER: %80 pozitif (güçlü)",
                "  HER2 (c-erbB-2): Skor 2+ (şüpheli/equivocal)",
                "ISH (CISH, çift prob) ek sonuç:",
                f"  {ish[0]}",
                f"  SONUÇ: HER2 geninde {call}.",
            ]
        )
        return text, Label.POSITIVE if ish[1] else Label.LOW_2
    text = (
        "İmmünohistokimya: ER negatif (%0), PR negatif (%0), HER2 IHK: skor 0 (negatif), Ki-67: %60.\n"
        "FISH: HER2 amplifikasyonu saptanmadı (HER2/CEP17 oranı 1,1; ortalama HER2 2,2/hücre)."
    )
    return text, Label.ZERO


def _quoted_earlier_issue(rng: random.Random) -> Variant:
    """An amended report quoting what its earlier issue stated ("The previously issued report stated "HER2:
    3+ (positive)"; this was incorrect"), then the corrected 1+: HER2-low."""
    quote = rng.choice(
        [
            'The previously issued report stated "HER2: 3+ (positive)"; this was incorrect.',
            "The original report stated HER2 3+; this was a transcription error.",
        ]
    )
    text = "\n".join(
        [
            "*** AMENDED REPORT ***",
            f"Reason for amendment: Correction of HER2 IHC score. {quote}",
            "",
            "FINAL DIAGNOSIS: Right breast core biopsy - invasive carcinoma NST, grade 2.",
            "  ER: positive (95%). PR: positive (80%).",
            "  HER2 (4B5): 1+ (NEGATIVE) - faint incomplete membrane staining in ~50% of tumour cells. "
            "[CORRECTED]",
        ]
    )
    return text, label(Case(ihc=Ihc(score=1)))


def _sent_out_for_fish(rng: random.Random) -> Variant:
    """IHC 2+ then "Amplification cannot be excluded by IHC", tissue sent to a reference laboratory for FISH:
    equivocal (pending ISH), not a hedged result."""
    text = "\n".join(
        [
            "DIAGNOSIS: Right breast, core needle biopsy - Invasive ductal carcinoma, grade 3.",
            "ER (SP1): Positive, 15%, weak-moderate",
            "HER2 (4B5): 2+ EQUIVOCAL. Weak to moderate complete membrane staining in approximately "
            f"{rng.choice([20, 30, 50])}% of tumor cells.",
            "   "
            + rng.choice(
                ["Amplification cannot be excluded by IHC.", "HER2 gene amplification cannot be excluded."]
            )
            + " Tissue (block A2) has been sent to a reference laboratory for HER2 FISH;",
            "Ki-67: 35%",
        ]
    )
    return text, Label.EQUIVOCAL


def _initial_read(rng: random.Random) -> Variant:
    """HL7 v2 style lines: "HER2 (4B5) INITIAL READ: 2+ (EQUIVOCAL)." then a consensus review scoring 3+
    and "FINAL HER2 RESULT: POSITIVE (3+)": the first read is superseded."""
    text = "\n".join(
        [
            "ER: POSITIVE (80%, STRONG). PR: POSITIVE (15%, WEAK).",
            f"HER2 (4B5) {rng.choice(['INITIAL READ', 'FIRST READ'])}: 2+ (EQUIVOCAL).",
            "SECOND PATHOLOGIST / CONSENSUS REVIEW: ON REVIEW AT 40X THE STAINING IS",
            "COMPLETE, CIRCUMFERENTIAL AND INTENSE IN ABOUT 30% OF CELLS. CONSENSUS SCORE: 3+.",
            "FINAL HER2 RESULT: POSITIVE (3+). REFLEX ISH CANCELLED.",
        ]
    )
    return text, Label.POSITIVE


_QUOTED_WORDINGS: tuple[Callable[[random.Random], Variant], ...] = (
    _bracketed_share,
    _eligibility_clauses,
    _earlier_compared,
    _parts_listed_first,
    _in_situ_part,
    _threshold_quoted,
    _test_offered,
    _consult_repeat,
    _addenda_in_sequence,
    _amended_banner,
    _copied_forward,
    _prior_only,
    _compared_with_prior,
)


def _quoted_wordings(rng: random.Random) -> Variant:
    return rng.choice(_QUOTED_WORDINGS)(rng)


#: Worksheets, foreign terms joined to the marker's name, threshold denials, hedged comments on parts.
_LAYOUTS_AND_COMMENTS: tuple[Callable[[random.Random], Variant], ...] = (
    _her2_worksheet,
    _threshold_not_reached,
    _hyphenated_foreign_ultralow,
    _discordant_parts_comment,
    _legend_then_result,
    _suggested_treatment,
    _turkish,
    _quoted_earlier_issue,
    _sent_out_for_fish,
    _initial_read,
)


def _layouts_and_comments(rng: random.Random) -> Variant:
    return rng.choice(_LAYOUTS_AND_COMMENTS)(rng)


BUILDERS: dict[str, Callable[[random.Random], Variant]] = {
    "foci": _foci,
    "language": _language,
    "language_central": _language_central,
    "language_nordic": _language_nordic,
    "dictated": _dictated,
    "ish_not_final": _ish_not_final,
    "original_quoted": _original_quoted,
    "rtf": _rtf,
    "heterogeneous": _heterogeneous,
    "ihc_heterogeneous": _ihc_heterogeneous,
    "score_question": _score_question,
    "in_situ_component": _in_situ_component,
    "score_revised": _score_revised,
    "ocr": _ocr,
    "blocks": _blocks,
    "unnamed_marker": _unnamed_marker,
    "not_repeated": _not_repeated,
    "stated_low": _stated_low,
    "stain_failed": _stain_failed,
    "residual_retested": _residual_retested,
    "report_versions": _report_versions,
    "quoted_wordings": _quoted_wordings,
    "layouts_and_comments": _layouts_and_comments,
}
