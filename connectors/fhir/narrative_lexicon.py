"""Report words of other languages → the English words the phrase grammar reads (pure).

Pathology reports arrive in French, German, Spanish, Italian, Dutch and Portuguese as well as English. The
grammar (:mod:`connectors.fhir.narrative_grammar`) reads one spelling, so the words it needs are rewritten to
English before anything else: results (positive, negative, equivocal, amplified, not amplified), the IHC
vocabulary (score, staining, membrane, complete, incomplete, faint, moderate, intense, cells) and the ISH
method names (``HIS``, ``hybridation in situ`` → ``ISH``, ``in situ hybridization``). Where a language puts
the adjectives after the noun ("marquage membranaire faible et incomplet"), the staining phrase is put in
English order ("faint and incomplete membrane staining") so that the staining grammar reads it.

Only words that are not English words are listed (``positif``, ``Färbung``, ``tinción``); a text without any
of them is returned unchanged, and words a language shares with English are left alone. Accented and
unaccented spellings are both listed, upper-case text stays upper case. Decimal commas ("ratio 1,5") are
handled by :mod:`connectors.fhir.narrative_text`.
"""

from __future__ import annotations

import functools
import re
from typing import Final

# Each row: English replacement, then the foreign spellings (regular-expression fragments, matched as whole
# words, case-insensitive). Longer phrases are listed before the words they contain.
_PHRASES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    # Methods: in situ hybridisation and its abbreviations.
    (
        "fluorescence in situ hybridization",
        (
            r"hybridation\s+in\s+situ\s+(?:en\s+)?fluorescen(?:te|ce)",
            r"hibridaci[oó]n\s+in\s+situ\s+(?:con\s+)?fluorescen(?:te|cia)",
            r"ibridazione\s+in\s+situ\s+(?:in\s+)?fluorescen(?:te|za)",
            r"fluoreszenz[-\s]in[-\s]situ[-\s]hybridisierung",
            r"fluorescentie\s+in\s+situ\s+hybridisatie",
            r"hibridiza[cç][aã]o\s+in\s+situ\s+(?:por\s+)?fluoresc[eê]ncia",
        ),
    ),
    (
        "in situ hybridization",
        (
            r"(?:d'\s*)?hybridation\s+in\s+situ",
            r"hibridaci[oó]n\s+in\s+situ",
            r"ibridazione\s+in\s+situ",
            r"in[-\s]situ[-\s]hybridisierung",
            r"in\s+situ\s+hybridisatie",
            r"hibridiza[cç][aã]o\s+in\s+situ",
        ),
    ),
    ("ISH", (r"HIS", r"HIB", r"HISF")),
    # Results.
    (
        "not amplified",
        (
            r"non[-\s]amplifi[ée]e?s?",
            r"nicht[-\s]amplifiziert",
            r"no\s+amplificad[oa]s?",
            r"non\s+amplificat[oaie]",
            r"niet[-\s]geamplificeerd",
            r"n[aã]o\s+amplificad[oa]s?",
        ),
    ),
    (
        "amplified",
        (
            r"amplifi[ée]e?s?",
            r"amplifiziert(?:e[nrs]?)?",
            r"amplificad[oa]s?",
            r"amplificat[oaie]",
            r"geamplificeerd",
        ),
    ),
    ("amplification", (r"amplificaci[oó]n", r"amplificazione", r"amplifica[cç][aã]o", r"amplifikation")),
    (
        "not required",
        (r"non\s+requise?s?", r"nicht\s+erforderlich", r"no\s+requerid[oa]", r"non\s+richiest[oa]"),
    ),
    (
        "not performed",
        (
            r"non\s+(?:r[ée]alis[ée]e?|effectu[ée]e?|fait)",
            r"nicht\s+durchgef[üu]hrt",
            r"no\s+realizad[oa]",
            r"non\s+eseguit[oa]",
            r"niet\s+uitgevoerd",
            r"n[aã]o\s+realizad[oa]",
        ),
    ),
    (
        "no membrane staining",
        (
            r"ausencia\s+(?:total\s+)?de\s+tinci[oó]n\s+(?:de\s+|en\s+la\s+)?membrana",
            r"aus[êe]ncia\s+(?:total\s+)?de\s+(?:marca[cç][aã]o|colora[cç][aã]o)\s+(?:de\s+)?membran(?:a|ar)",
            r"assenza\s+(?:totale\s+)?di\s+colorazione\s+(?:di\s+)?membrana",
            r"sin\s+tinci[oó]n\s+(?:de\s+)?membrana",
            r"sem\s+(?:marca[cç][aã]o|colora[cç][aã]o)\s+(?:de\s+)?membran(?:a|ar)",
        ),
    ),
    (
        "membrane staining",
        (
            r"tinci[oó]n\s+(?:de\s+)?membrana",
            r"(?:marca[cç][aã]o|colora[cç][aã]o)\s+(?:de\s+)?membran(?:a|ar)",
            r"colorazione\s+(?:di\s+)?membrana",
        ),
    ),
    (
        "HER2/CEP17 ratio",
        (r"HER-?2\s*/\s*CE[NP]\s*-?17[-\s](?:Quotient|Verh[äa]ltnis)",),
    ),
    ("ratio", (r"Quotient", r"Verh[äa]ltnis", r"rapport(?=\s+HER)", r"raz[aã]o", r"rapporto", r"verhouding")),
    (
        "copy number",
        (r"Kopienzahl", r"nombre\s+de\s+copies", r"n[úu]mero\s+de\s+copias", r"numero\s+di\s+copie"),
    ),
    ("mean", (r"mittlere[nrs]?", r"moyenn?e?", r"promedio", r"m[ée]dia", r"gemiddelde")),
    ("group", (r"Gruppe", r"groupe", r"grupo", r"gruppo", r"groep")),
    (
        "not evaluable",
        (
            r"nicht\s+(?:beurteilbar|auswertbar|bewertbar)",
            r"non\s+[ée]valuable",
            r"no\s+(?:valorable|evaluable)",
            r"non\s+valutabile",
            r"niet\s+(?:beoordeelbaar|evalueerbaar)",
            r"n[aã]o\s+avali[aá]vel",
        ),
    ),
    (
        "not interpretable",
        (
            r"nicht\s+interpretierbar",
            r"non\s+interpr[ée]table",
            r"no\s+interpretable",
            r"non\s+interpretabile",
            r"niet\s+interpreteerbaar",
            r"n[aã]o\s+interpret[aá]vel",
        ),
    ),
    (
        "crush artefact",
        (
            r"Quetsch(?:ungs)?artefakt(?:e|en)?",
            r"artefacts?\s+d'[ée]crasement",
            r"artefactos?\s+de\s+aplastamiento",
            r"artefatti\s+da\s+schiacciamento",
            r"crush-?artefact(?:en)?",
            r"artefatos?\s+de\s+esmagamento",
        ),
    ),
    ("control", (r"Kontrolle", r"contr[ôo]le", r"controllo")),
    ("internal", (r"interne[nrs]?", r"intern[oa]")),
    ("external", (r"externe[nrs]?", r"extern[oa]")),
    (
        "failed",
        (r"fehlgeschlagen", r"ausgefallen", r"[ée]chou[ée]e?", r"fallid[oa]", r"fallit[oa]", r"mislukt"),
    ),
    (
        "pending",
        (
            r"en\s+attente",
            r"en\s+cours",
            r"ausstehend",
            r"(?:l[äa]uft|erfolgt)\s+(?:noch|derzeit|zurzeit)",
            r"in\s+Bearbeitung",
            r"pendiente",
            r"en\s+curso",
            r"in\s+corso",
            r"in\s+afwachting",
            r"wordt\s+(?:nog\s+)?uitgevoerd",
            r"pendente",
            r"em\s+(?:curso|andamento)",
        ),
    ),
    (
        "recount",
        (
            r"recomptage",
            r"second\s+comptage",
            r"nouveau\s+comptage",
            r"(?:Nach|Neu|Zweit)(?:aus)?z[äa]hlung",
            r"zweite\s+(?:Aus)?z[äa]hlung",
            r"rec(?:uento|onteo)",
            r"segundo\s+(?:recuento|conteo)",
            r"ric?onteggio",
            r"secondo\s+conteggio",
            r"hertelling",
            r"tweede\s+telling",
            r"recontagem",
            r"segunda\s+contagem",
        ),
    ),
    (
        "weakly positive",
        (r"schwach\s+positiv", r"faiblement\s+positi(?:f|ve)s?", r"d[ée]bilmente\s+positiv[oa]"),
    ),
    (
        "no",
        (
            r"(?:vollst[äa]ndig|komplett)\s+fehlende",
            r"fehlende",
            r"keine?[nrs]?",
            r"aucune?",
            r"pas\s+de",
            r"absence\s+de",
            r"sin",
            r"senza",
            r"geen",
            r"sem",
        ),
    ),
    ("positive", (r"positi(?:f|fs|ves)", r"positiv", r"positiv[oa]s?", r"positie[fv]e?")),
    ("negative", (r"n[ée]gati(?:f|fs|ves)", r"n[ée]gative", r"negativ", r"negativ[oa]s?", r"negatie[fv]e?")),
    (
        "equivocal",
        (
            r"[ée]quivoques?",
            r"equ[íi]voc[oa]s?",
            r"dubbi[oa]",
            r"grenzwertig",
            r"fraglich",
            r"twijfelachtig",
            r"equivocaal",
            r"duvidos[oa]",
        ),
    ),
    ("indeterminate", (r"ind[ée]termin[ée]e?", r"indeterminad[oa]", r"indeterminat[oa]", r"unbestimmt")),
    ("ultralow", (r"ultra[-\s]?faible", r"ultra[-\s]?bajo", r"ultra[-\s]?bass[oa]", r"ultra[-\s]?niedrig")),
    (
        "final HER2 status",
        (r"statut\s+HER-?2\s+final", r"estado\s+HER-?2\s+final", r"stato\s+HER-?2\s+finale"),
    ),
    ("status", (r"statut", r"estado", r"stato", r"estatuto")),
    ("score", (r"punteggio", r"puntuaci[oó]n", r"pontua[cç][aã]o", r"escore")),
    # The IHC vocabulary.
    (
        "membrane staining",
        (r"membranf[äa]e?rbung", r"membraankleuring", r"membraanaankleuring"),
    ),
    (
        "staining",
        (
            r"marquages?",
            r"colorations?",
            r"f[äa]e?rbung(?:en)?",
            r"anf[äa]e?rbung(?:en)?",
            r"tinci[oó]n(?:es)?",
            r"colorazion[ei]",
            r"aankleuring(?:en)?",
            r"kleuring(?:en)?",
            r"colora[cç][aã]o",
            r"marca[cç][aã]o",
        ),
    ),
    ("staining", (r"(?:immun)?reaktion(?:en)?", r"reaktivit[äa]t", r"immunreaktivit[äa]t")),
    (
        "membrane",
        (
            r"membranaires?",
            r"membran[öo]s(?:e[nrs]?)?",
            r"membranst[äa]ndig(?:e[nrs]?)?",
            r"membranos[oa]s?",
            r"membranar",
            r"membraneus",
            r"membraan",
        ),
    ),
    (
        "incomplete",
        (
            r"incompl[èe]te?s?",
            r"unvollst[äa]ndig(?:e[nrs]?)?",
            r"inkomplett(?:e[nrs]?)?",
            r"incomplet[oa]s?",
            r"onvolledige?",
            r"incompleet",
        ),
    ),
    (
        "complete",
        (
            r"compl[èe]te?s?",
            r"vollst[äa]ndig(?:e[nrs]?)?",
            r"komplett(?:e[nrs]?)?",
            r"complet[oa]s?",
            r"volledige?",
            r"compleet",
        ),
    ),
    ("faint", (r"faibles?", r"schwach(?:e[nrs]?)?", r"d[ée]bil(?:es)?", r"debole", r"zwakk?e?", r"fracas?")),
    (
        "moderate",
        (r"mod[ée]r[ée]e?s?", r"m[äa]e?(?:ss|ß)ig(?:e[nrs]?)?", r"moderad[oa]s?", r"moderat[oa]", r"matige?"),
    ),
    ("intense", (r"intens[oa]s?", r"kr[äa]e?ftig(?:e[nrs]?)?", r"intensief")),
    ("strong", (r"forte?s?(?=\s)", r"stark(?:e[nrs]?)?", r"fuerte", r"sterke?")),
    (
        "tumour cells",
        (
            r"cellules\s+tumorales",
            r"tumorzellen",
            r"c[ée]lulas\s+tumorales",
            r"cellule\s+tumorali",
            r"c[ée]lulas\s+tumorais",
            r"tumorcellen",
        ),
    ),
    ("cells", (r"cellules", r"zellen", r"c[ée]lulas", r"cellule", r"cellen")),
    ("nucleus", (r"noyau", r"zellkern", r"n[úu]cleo", r"nucleo", r"celkern")),
    ("nuclei", (r"noyaux", r"zellkerne", r"n[úu]cleos", r"celkernen")),
    ("invasive", (r"infiltrantes?", r"invasi[fv]e?s?")),
    (
        "approximately",
        (r"environ", r"etwa", r"circa", r"aproximadamente", r"approssimativamente", r"ongeveer"),
    ),
    (
        "estrogen receptors",
        (r"r[ée]cepteurs?\s+d'?\s*(?:o?estrog[èe]ne|œstrog[èe]ne)s?", r"[öo]strogenrezeptor(?:en)?"),
    ),
    (
        "progesterone receptors",
        (r"r[ée]cepteurs?\s+de\s+(?:la\s+)?progest[ée]rone", r"progesteronrezeptor(?:en)?"),
    ),
    ("and", (r"et", r"und", r"y", r"e(?!\.)")),
    ("of the", (r"van\s+de", r"de\s+la", r"de\s+las?", r"de\s+los")),
    ("of", (r"des", r"der", r"de", r"del", r"della", r"delle", r"dei", r"van", r"da", r"das")),
    ("in", (r"dans", r"im", r"nel", r"nelle", r"nei", r"em")),
    ("per", (r"par", r"pro", r"por")),
)

#: Rows whose foreign spellings are also words of English text ("media", "rapport"): no cue of a language.
_NO_CUE: Final = frozenset(
    {"and", "of", "of the", "in", "per", "no", "ISH", "strong", "intense", "invasive", "mean", "ratio"}
)
#: Words that only another language uses: their presence switches the lexicon on for the whole text.
_FOREIGN_CUE_RE: Final = re.compile(
    r"(?<![\w\\-])(?:"
    + "|".join(pattern for english, patterns in _PHRASES if english not in _NO_CUE for pattern in patterns)
    + r")(?![\w-])",
    re.IGNORECASE,
)

_WORD_RES: Final = tuple(
    (english, re.compile(r"(?<![\w'\\-])(?:" + "|".join(patterns) + r")(?![\w-])", re.IGNORECASE))
    for english, patterns in _PHRASES
)
_CASE_SENSITIVE: Final = frozenset({"ISH"})

_DESCRIPTOR: Final = (
    r"(?:membrane|faint|weak|moderate|strong|intense|complete|incomplete|circumferential|partial)"
)
#: "staining membrane faint and incomplete" (noun first, as written in the Romance languages) → English order.
_NOUN_FIRST_RE: Final = re.compile(
    r"\b(?P<noun>staining)(?P<desc>(?:\s*,?\s+(?:and\s+|or\s+)?" + _DESCRIPTOR + r"\b)+)", re.IGNORECASE
)


def _english(match: re.Match[str], english: str) -> str:
    written = match.group(0)
    letters = [c for c in written if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return english.upper()
    return english


def _reorder(match: re.Match[str]) -> str:
    descriptors = re.sub(r"^\s*,?\s*", "", match.group("desc"))
    return f"{descriptors} {match.group('noun')}"


#: English words that some foreign spellings also match ("negative", "complete"): no cue of a language.
_ENGLISH: Final = frozenset(word for english, _ in _PHRASES for word in english.lower().split()) | {
    "negatives",
    "positives",
    "completes",
    "incompletes",
    "moderates",
    "intenses",
    "invasives",
    "circa",
}


def is_foreign(text: str) -> bool:
    """Whether a text uses result or staining words of another language."""
    return any(m.group(0).lower() not in _ENGLISH for m in _FOREIGN_CUE_RE.finditer(text))


def to_english(text: str) -> str:
    """The text with the listed foreign words in English (unchanged when it has none of them)."""
    if not is_foreign(text):
        return text
    for english, pattern in _WORD_RES:
        if english in _CASE_SENSITIVE:
            text = re.sub(r"(?<![\w-])(?:HIS|HIB|HISF)(?![\w-])", english, text)
            continue
        text = pattern.sub(functools.partial(_english, english=english), text)
    return _NOUN_FIRST_RE.sub(_reorder, text)
