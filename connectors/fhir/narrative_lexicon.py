"""Report words of other languages → the English words the phrase grammar reads (pure).

Pathology reports arrive in French, German, Spanish, Italian, Dutch, Portuguese, Polish, Czech, Slovak,
Romanian, Hungarian, Swedish, Norwegian, Danish and Finnish as well as English. The grammar
(:mod:`connectors.fhir.narrative_grammar`) reads one spelling, so the words it needs are rewritten to English
before anything else: results (result, positive, negative, equivocal, amplified, not amplified, pending, not
performed), the IHC vocabulary (score, staining, membrane, complete, incomplete, partial, faint, moderate,
strong, intense, intensity, cells), the ISH vocabulary (ratio, mean, copies, copy number, signals, nucleus,
probe, dual and single probe, group) and method names (``HIS``, ``hybridation in situ`` → ``ISH``, ``in situ
hybridization``), invasive, recounts (recount, second observer, blinded, confirmed), failures (not evaluable,
insufficient, failed) and the words that mark a comment as one (note, benefit, anti-HER2 therapy, in the
absence of). Where a language puts the adjectives after the noun ("marquage membranaire faible et incomplet",
"barwienie błonowe słabe i niepełne"), the staining phrase is put in English order ("faint and incomplete
membrane staining"); the conjunction between two staining words ("słabe i niepełne", "svag och
ofullständig") becomes "and", and a percentage's case ending ("30 %-ában", "30 %:ssa") is dropped.

Only words that are not English words are listed (``positif``, ``Färbung``, ``tinción``, ``ujemny``); a text
without any of them is returned unchanged (:func:`is_foreign`), and words a language shares with English are
left alone. Accented and unaccented spellings are both listed, upper-case text stays upper case. Decimal
commas ("ratio 1,5") are handled by :mod:`connectors.fhir.narrative_text`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
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
            r"fluorescencyjn[aąe]\s+hybrydyzacj[aęi]\s+in\s+situ",
            r"fluorescen[čc]n[íi]\s+in\s+situ\s+hybridizac[ei]",
            r"fluorescen[čc]n[áa]\s+in\s+situ\s+hybridiz[áa]cia",
            r"hibridizare(?:a)?\s+in\s+situ\s+(?:cu\s+)?fluorescen[țţt][ăa]",
            r"fluoreszcens\s+in\s+situ\s+hibridiz[áa]ci[óo]",
            r"fluorescens[-\s]in[-\s]situ[-\s]hybridisering",
            r"fluoresenssi[-\s]in[-\s]situ[-\s]hybridisaatio",
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
            r"hybrydyzacj[aęi]\s+in\s+situ",
            r"hybridizac[ei]\s+in\s+situ",
            r"in\s+situ\s+hybridiz(?:ac[ei]|[áa]ci[ae])",
            r"hibridizare(?:a)?\s+in\s+situ",
            r"in\s+situ\s+hibridiz[áa]ci[óo]",
            r"in[-\s]situ[-\s]hybridisering(?:en)?",
            r"in[-\s]situ\s*-?\s*hybridisaatio",
        ),
    ),
    ("ISH", (r"HIS", r"HIB", r"HISF")),
    # Results in Turkish ("HER2 geninde amplifikasyon saptanmıştır", "amplifikasyonu saptanmadı", "Skor 2+",
    # "HER2/CEP17 oranı: 3,1", "Ortalama HER2 sinyali: 7,4 /hücre").
    (
        "not amplified",
        (
            r"amplifikasyon(?:u)?\s+(?:saptanmad[ıi]|saptanmam[ıi][şs]t[ıi]r|izlenmedi|izlenmemi[şs]tir|"
            r"g[öo]r[üu]lmedi|yok(?:tur)?)",
            r"amplifiye\s+de[ğg]il(?:dir)?",
        ),
    ),
    (
        "amplified",
        (
            r"amplifikasyon(?:u)?\s+(?:saptanm[ıi][şs]t[ıi]r|saptand[ıi]|izlendi|izlenmi[şs]tir|mevcut(?:tur)?|"
            r"var(?:d[ıi]r)?)",
            r"amplifiye",
        ),
    ),
    ("score", (r"skor(?:u)?",)),
    ("ratio", (r"oran[ıi]?",)),
    ("signals", (r"sinyal(?:i|leri)?",)),
    ("per cell", (r"h[üu]cre\s+ba[şs][ıi]na",)),
    ("cell", (r"h[üu]cre",)),
    ("mean", (r"ortalama",)),
    ("group", (r"grup(?:u)?",)),
    ("positive", (r"pozitif(?:tir)?",)),
    ("equivocal", (r"[şs][üu]pheli",)),
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
            r"nie\s*(?:za)?amplifikowan(?:y|a|e|ych|ego)",
            r"neamplifikov[aá]n(?:[yýaáoéeií]|[ée]ho)?",
            r"ne[-\s]?amplificat(?:[ăaei]|ul)?",
            r"nem\s+amplifik[aá]l(?:t|[óo]dott)",
            r"(?:icke|inte|ej)[-\s]+amplifierad(?:e|t)?",
            r"ikke[-\s]+amplifi(?:sert|ceret|cerede)e?",
            r"ei\s+(?:monistunut|amplifikoitunut|monistumaa|amplifikaatiota)",
            r"monistumaton",
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
            r"(?:za)?amplifikowan(?:y|a|e|ych|ego)",
            r"amplifikov[aá]n(?:[yýaáoéeií]|[ée]ho)?",
            r"amplificat(?:ă|ul)?",
            r"amplifik[aá]l(?:t|[óo]dott)",
            r"amplifierad(?:e|t)?",
            r"amplifi(?:sert|ceret|cerede)e?",
            r"monistunut",
            r"amplifikoitunut",
        ),
    ),
    ("amplification", (r"amplificaci[oó]n", r"amplificazione", r"amplifica[cç][aã]o", r"amplifikation")),
    (
        "amplification",
        (
            r"amplifikacj[aęi]",
            r"amplifikac[ei]",
            r"amplifik[aá]ci[ea]",
            r"amplificar(?:e|ea|ii)",
            r"amplifik[aá]ci[oó](?:t|ja)?",
            r"amplifiering(?:en)?",
            r"amplifikasjon(?:en)?",
            r"amplifikaatio(?:ta)?",
            r"monistum(?:a|aa)",
        ),
    ),
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
            r"nie\s*wykonan(?:y|a|e|o)",
            r"nie\s+wykonano",
            r"nie\s+przeprowadzon(?:y|a|e|o)",
            r"neproveden(?:[oaáýy]|[ée])?",
            r"nebyl[oa]?\s+proveden[oaé]?",
            r"nevykonan(?:[ýyéeáa]|[ée])",
            r"nebol[oa]?\s+vykonan[ée]",
            r"neefectuat(?:[ăa])?",
            r"nu\s+s-a\s+efectuat",
            r"nem\s+(?:t[öo]rt[ée]nt|k[ée]sz[üu]lt|v[ée]gezt[üu]k)",
            r"(?:ej|inte)\s+utf[öo]rd(?:a|t)?",
            r"ikke\s+(?:utf[øo]rt|udf[øo]rt)",
            r"ei\s+tehty",
        ),
    ),
    ("performed by", (r"eseguit[oaie]\s+da", r"r[ée]alis[ée]e?s?\s+par", r"realizad[oa]s?\s+por")),
    (
        "performed",
        (
            r"eseguit[oaie]",
            r"wykonan(?:y|a|e|o)",
            r"proveden(?:[oaáýy]|[ée])",
            r"vykonan(?:[ýyéeáa]|[ée])",
            r"efectuat(?:[ăa])?",
            r"elv[ée]gezve",
            r"utf[öo]rd(?:a|es)?",
            r"utf[øo]rt",
            r"udf[øo]rt",
        ),
    ),
    (
        "confirmed",
        (
            r"confirm[ée]e?s?",
            r"best[äa]tigt",
            r"confirmad[oa]s?",
            r"confermat[oaie]",
            r"bevestigd",
            r"potwierdz(?:ony|ona|one|ono)",
            r"potvrzen(?:[oaáýy]|[ée])?",
            r"potvrden(?:[ýyéeáa]|[ée])",
            r"confirmat(?:[ăa])?",
            r"meger[őo]s[íi]t(?:ve|ett)",
            r"bekr[äa]ftad(?:e|es)?",
            r"bekreftet",
            r"bekr[æa]ftet",
            r"vahvistettu",
        ),
    ),
    (
        "second observer",
        (
            r"(?:second|deuxi[èe]me)\s+observateur",
            r"zweite[nrm]?\s+(?:Beobachter|Untersucher|Befunder|Auswerter)",
            r"segundo\s+observador",
            r"second[oa]\s+osservat(?:ore|rice)",
            r"tweede\s+(?:waarnemer|beoordelaar|observator)",
            r"drugi(?:ego|m)?\s+(?:obserwator(?:a|em)?|patolog(?:a|iem)?)",
            r"druh[ýy](?:m)?\s+(?:hodnotitel(?:em)?|pozorovatel(?:em)?)",
            r"druh[ýy](?:m)?\s+(?:hodnotite[lľ](?:om)?|pozorovate[lľ](?:om)?)",
            r"(?:un\s+)?al\s+doilea\s+observator",
            r"m[áa]sodik\s+(?:megfigyel[őo]|[ée]rt[ée]kel[őo])",
            r"andra\s+(?:bed[öo]mare|observat[öo]r)",
            r"(?:annen|andre|anden)\s+observat[øo]r",
            r"toinen\s+(?:arvioija|havainnoija)",
        ),
    ),
    ("blinded", (r"in\s+cieco", r"en\s+aveugle", r"a\s+ciegas", r"verblindet", r"[śs]lepo")),
    (
        "in the absence of",
        (
            r"in\s+assenza\s+di",
            r"en\s+(?:l'\s*)?absence\s+d[e']",
            r"bei\s+fehlende[rnm]?",
            r"en\s+ausencia\s+de",
            r"na\s+aus[êe]ncia\s+de",
            r"bij\s+afwezigheid\s+van",
            r"przy\s+braku",
            r"p[řr]i\s+absenci",
            r"[îi]n\s+absen[țţt]a",
            r"i\s+fr[åa]nvaro\s+av",
            r"i\s+frav[æa]r\s+a[vf]",
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
            r"ei\s+(?:solu)?kalvov[äa]rj[äa]ytymist[äa]",
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
        "ratio",
        (
            r"stosun(?:ek|ku)",
            r"pom[ěe]r(?:u)?",
            r"pomer(?:u)?",
            r"raport(?:ul)?(?=\s+(?:HER|de\s+HER)|\s*[:=]?\s*\d)",
            r"ar[áa]ny(?:a)?",
            r"kvot(?:en)?",
            r"forhold(?:et)?(?=\s+HER|\s*[:=]?\s*\d)",
            r"suhde",
        ),
    ),
    (
        "copy number",
        (
            r"Kopienzahl",
            r"nombre\s+de\s+copies",
            r"n[úu]mero\s+de\s+copias",
            r"numero\s+di\s+copie",
            r"liczb[aęy]\s+kopii",
            r"po[čc]et\s+k[óo]?pi[íi]",
            r"num[ăa]r(?:ul)?\s+de\s+copii",
            r"k[óo]piasz[áa]m",
            r"kopie(?:tal|antal)",
            r"kopi(?:tall|antal|tal)",
            r"kopio(?:luku|m[äa][äa]r[äa])",
        ),
    ),
    (
        "copies",
        (
            r"Kopien",
            r"copias",
            r"copie",
            r"kopie[eë]n",
            r"c[óo]pias",
            r"kopii",
            r"k[óo]?pi[íi]",
            r"copii(?:le)?",
            r"k[óo]pia",
            r"kopior",
            r"kopier",
            r"kopio(?:ta|t)",
        ),
    ),
    (
        "signals",
        (
            r"signaux",
            r"Signale(?:n)?",
            r"se[ñn]ales",
            r"segnali",
            r"signalen",
            r"sinais",
            r"sygna[łl](?:[óo]w|y)",
            r"sign[áa]l(?:[ůu]|y|ov)",
            r"semnal(?:e|ele|elor)",
            r"jel(?:ek|et)",
            r"signal(?:er|erna|ene|erne)",
            r"signaali(?:a|t|en)",
        ),
    ),
    ("mean", (r"mittlere[nrs]?", r"moyenn?e?", r"promedio", r"m[ée]dia", r"gemiddelde")),
    (
        "mean",
        (
            r"[śs]redni(?:a|ej|ą)",
            r"pr[ůu]m[ěe]r(?:n[áaýyéé])?",
            r"priemer(?:n[ýyáaé])?",
            r"medi(?:a|e|u)",
            r"[áa]tlag(?:os)?",
            r"medel(?:v[äa]rde|tal|antal)?",
            r"gjennomsnitt(?:lig)?",
            r"gennemsnit(?:lig)?",
            r"keskiarvo",
            r"keskim[äa][äa]rin",
        ),
    ),
    ("group", (r"Gruppe", r"groupe", r"grupo", r"gruppo", r"groep")),
    ("group", (r"grup(?:a|y|ie|ul)", r"skupin(?:a|y|[ěe])", r"csoport", r"grupp(?:en)?", r"ryhm[äa]")),
    (
        "not evaluable",
        (
            r"nicht\s+(?:beurteilbar|auswertbar|bewertbar)",
            r"non\s+[ée]valuable",
            r"no\s+(?:valorable|evaluable)",
            r"non\s+valutabile",
            r"niet\s+(?:beoordeelbaar|evalueerbaar)",
            r"n[aã]o\s+avali[aá]vel",
            r"nie\s+(?:do\s+oceny|podlega\s+ocenie)",
            r"niemo[żz]liw(?:y|a|e)\s+do\s+oceny",
            r"nieocenialn(?:y|a|e)",
            r"nehodnotite[lľ]n(?:[yýaáeé]|[ée]ho)",
            r"ne[-\s]?evaluabil(?:[ăa])?",
            r"nu\s+(?:este\s+)?evaluabil(?:[ăa])?",
            r"nem\s+[ée]rt[ée]kelhet[őo]",
            r"(?:ej|inte)\s+bed[öo]mbar(?:t|a)?",
            r"ikke\s+(?:vurderbar|evaluerbar)t?",
            r"ei\s+arvioitavissa",
            r"arvioimiskelvoton",
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
        "insufficient",
        (
            r"insuffisante?s?",
            r"unzureichende?[nrs]?",
            r"ungen[üu]gende?[nrs]?",
            r"insuficientes?",
            r"insufficienti?",
            r"onvoldoende",
            r"niewystarczaj[ąa]c(?:y|a|e|ych)",
            r"niedostateczn(?:y|a|e|ych)",
            r"nedostate[čc]n(?:[yýaáeé]|[ée]ho)",
            r"nedostato[čc]n(?:[yýaáeé]|[ée]ho)",
            r"insuficient(?:[ăae])?",
            r"el[ée]gtelen",
            r"nem\s+elegend[őo]",
            r"otillr[äa]cklig(?:t|a)?",
            r"utilstr(?:e|[æa])kkelig(?:e|t)?",
            r"riitt[äa]m[äa]t[öo]n",
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
    (
        "anti-HER2 therapy",
        (
            r"(?:terapi[ae]|th[ée]rapie|traitement|Therapie|Behandlung|therapie|behandeling|tratamiento|"
            r"tratamento|trattamento|leczenie|l[ée][čc]ba|ter[áa]pi[aá]|terapi|behandling|hoito)\s+anti-?HER-?2",
        ),
    ),
    (
        "benefit",
        (
            r"benefici[oa]",
            r"benef[íi]cio",
            r"b[ée]n[ée]fice",
            r"Nutzen",
            r"korzy[śs][ćc]i?",
            r"p[řr][íi]nos(?:u)?",
            r"benefici(?:ul|u)",
            r"nytt(?:a|e)n?",
            r"hy[öo]ty",
        ),
    ),
    (
        "note",
        (
            r"nota(?=\s*[:.])",
            r"remarque",
            r"Anmerkung",
            r"opmerking",
            r"uwaga",
            r"pozn[áa]mka",
            r"not[ăa](?=\s*[:.])",
            r"megjegyz[ée]s",
            r"anm[äa]rkning",
            r"merknad",
            r"bem[æa]rkning",
            r"huomautus",
        ),
    ),
    (
        "control",
        (r"Kontrolle", r"contr[ôo]le", r"controllo", r"Qualit[äa]tskontrolle", r"Mehrpunkt-Kontrolle"),
    ),
    # a control tissue named by its expected score ("3+-Kontrolle kräftig zirkulär positiv")
    ("1+ control", (r"1\+-Kontrolle",)),
    ("2+ control", (r"2\+-Kontrolle",)),
    ("3+ control", (r"3\+-Kontrolle",)),
    ("internal", (r"interne[nrs]?", r"intern[oa]")),
    ("external", (r"externe[nrs]?", r"extern[oa]")),
    (
        "failed",
        (
            r"fehlgeschlagen",
            r"ausgefallen",
            r"[ée]chou[ée]e?",
            r"fallid[oa]",
            r"fallit[oa]",
            r"mislukt",
            r"nieudan(?:y|a|e)",
            r"ne[úu]sp[ěe][šs]n(?:[yýaáeé]|[ée]ho)",
            r"ne[úu]spe[šs]n(?:[yýaáeé]|[ée]ho)",
            r"e[șşs]uat(?:[ăa])?",
            r"sikertelen",
            r"misslyckad(?:es|e)?",
            r"mislyk(?:tes|kedes)",
            r"ep[äa]onnistui",
        ),
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
            r"w\s+(?:toku|trakcie|realizacji)",
            r"oczekiwan(?:y|a|e)",
            r"prob[íi]h[áa]",
            r"bude\s+dopln[ěe]n[oaý]?",
            r"prebieha",
            r"bude\s+doplnen(?:[ýyéeáa])?",
            r"[îi]n\s+(?:curs(?:\s+de\s+(?:efectuare|desf[ăa][șşs]urare))?|lucru|a[șşs]teptare)",
            r"folyamatban",
            r"p[åa]g[åa]r",
            r"(?:inv[äa]ntas|avventes|afvent(?:er|es))",
            r"kesken",
            r"tulossa",
            r"odotetaan",
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
            r"ponowne\s+(?:liczenie|zliczenie|policzenie)",
            r"p[řr]epo[čc][íi]t[áa]n[íi]",
            r"prepo[čc][íi]tanie",
            r"opakovan[ée]\s+po[čc][íi]t[áa]n[íi]e?",
            r"renum[ăa]r[ăa]re(?:a)?",
            r"[úu]jrasz[áa]m(?:l[áa]l|ol)[áa]s",
            r"omr[äa]kning(?:en)?",
            r"omtelling(?:en)?",
            r"gent[æa]lling(?:en)?",
            r"uu(?:delleen|sinta)laskenta",
        ),
    ),
    # Comment wording: criteria quoted as a class of results ("se consideran", "correspondería a").
    # What a part of the report is ("A) Mama izquierda", "B) Ganglio centinela axilar izquierdo").
    ("left", (r"izquierd[oa]", r"gauche", r"sinistr[oa]", r"esquerd[oa]")),
    ("right", (r"derech[oa]", r"droite?", r"destr[oa]", r"direit[oa]")),
    ("sentinel", (r"centinela", r"sentinelle", r"sentinella")),
    ("lymph node", (r"ganglio\s+linf[áa]tico", r"ganglio", r"ganglion\s+lymphatique", r"linfonodo")),
    ("breast", (r"mama", r"seno")),
    # "discordancia con el tumor primario de 2025 (HER2 3+)": a comparison with an earlier tumour.
    (
        "discordant with",
        (r"discordancia\s+con", r"discordance\s+avec", r"discordanza\s+con", r"discord[âa]ncia\s+com"),
    ),
    ("however", (r"sin\s+embargo", r"no\s+obstante")),
    ("eligible", (r"elegibles?", r"[ée]ligibles?", r"eleggibil[ei]")),
    ("targeted therapies", (r"terapias\s+dirigidas", r"th[ée]rapies\s+cibl[ée]es", r"terapie\s+mirate")),
    (
        "are considered",
        (
            r"se\s+consideran",
            r"sont\s+consid[ée]r[ée]e?s",
            r"sono\s+considerat[ie]",
            r"s[ãa]o\s+considerad[oa]s",
        ),
    ),
    (
        "would correspond to",
        (r"corresponder[íi]a\s+a", r"correspondrait\s+[àa]", r"corrisponderebbe\s+a"),
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
            r"brak",
            r"bez",
            r"f[ăa]r[ăa]",
            r"ingen",
            r"inget",
            r"inga",
            r"uten",
            r"uden",
            r"nincs",
        ),
    ),
    ("positive", (r"positi(?:f|fs|ves)", r"positiv", r"positiv[oa]s?", r"positie[fv]e?")),
    ("negative", (r"n[ée]gati(?:f|fs|ves)", r"n[ée]gative", r"negativ", r"negativ[oa]s?", r"negatie[fv]e?")),
    (
        "positive",
        (
            r"dodatni(?:a|e|ch|m)?",
            r"pozytywn(?:y|a|e|ych)",
            r"pozit[íi]vn(?:[íiyýaáeéu]|ych|ých|ho)",
            r"pozitiv(?:[ăaei]|ul)?",
            r"pozit[íi]v",
            r"positiivi(?:nen|sia|set|sta)",
            r"positivt?",
        ),
    ),
    (
        "negative",
        (
            r"ujemn(?:y|a|e|ych|ym)",
            r"negatywn(?:y|a|e|ych)",
            r"negat[íi]vn(?:[íiyýaáeéu]|ych|ých|ho)",
            r"negativ(?:[ăaei]|ul)?",
            r"negat[íi]v",
            r"negatiivi(?:nen|sia|set|sta)",
            r"negativt",
        ),
    ),
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
            r"niejednoznaczn(?:y|a|e|ych)",
            r"graniczn(?:y|a|e|ych)",
            r"w[ąa]tpliw(?:y|a|e)",
            r"hrani[čc]n(?:[íiyýaáeé]|[ée]ho)",
            r"nejednozna[čc]n(?:[yýaáeéií]|[ée]ho)",
            r"echivoc(?:[ăa]|e)?",
            r"k[ée]tes",
            r"hat[áa]r[ée]rt[ée]k(?:ű|u)?",
            r"gr[äa]nsfall",
            r"tvetydig(?:t|a|e)?",
            r"gr(?:e|[æa])nse(?:tilfelle|tilf[æa]lde)",
            r"ep[äa]selv[äa]",
            r"rajatapaus",
            r"raja-?arvoinen",
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
    (
        "score",
        (r"sk[óo]re", r"scor(?:ul)?", r"punktacj[aię]", r"pontsz[áa]m", r"pistem[äa][äa]r[äa]", r"pisteet"),
    ),
    (
        "result",
        (
            r"wynik(?:i)?",
            r"v[ýy]sled(?:ek|ky|ok)",
            r"rezultat(?:ul)?",
            r"eredm[ée]ny",
            r"resultat(?:et)?",
            r"tulos",
        ),
    ),
    (
        "intensity",
        (
            r"intensit[ée]",
            r"Intensit[äa]t",
            r"intensidad(?:e)?",
            r"intensit[àa]",
            r"intensiteit",
            r"intensywno[śs][ćc]",
            r"intenzit(?:a|y|ou)",
            r"intensitate(?:a)?",
            r"intenzit[áa]s(?:a)?",
            r"intensitet(?:en)?",
            r"intensiteetti",
        ),
    ),
    (
        "dual probe",
        (
            r"sonde\s+double",
            r"double\s+sonde",
            r"(?:Dual|Doppel)[-\s]?Sonde",
            r"sonda\s+(?:dual|doble|doppia|duale|dupla)",
            r"(?:doble|doppia|duplice|dupla)\s+sonda",
            r"(?:podw[óo]jn[aąe]|dwubarwn[aąe])\s+sond[aąy]",
            r"sond[aąy]\s+(?:podw[óo]jn[aąe]|dwubarwn[aąe])",
            r"(?:dvojit|du[áa]ln)(?:[áa]|ou|[íi])\s+sond(?:a|ou|y)",
            r"sond[ăa]\s+dubl[ăa]",
            r"dubl[ăa]\s+sond[ăa]",
            r"kett[őo]s\s+pr[óo]ba",
            r"dubbel(?:prob|sond)",
            r"dobbelt?\s*probe",
            r"kaksois(?:v[äa]ri)?koetin",
        ),
    ),
    (
        "single probe",
        (
            r"sonde\s+unique",
            r"Einzelsonde",
            r"sonda\s+(?:[úu]nica|simple|singola|singular)",
            r"pojedyncz[aąe]\s+sond[aąy]",
            r"jednoduch(?:[áa]|ou)\s+sond(?:a|ou|y)",
            r"sond[ăa]\s+(?:simpl[ăa]|unic[ăa])",
            r"egyszeres\s+pr[óo]ba",
            r"enkel(?:prob|sond)",
            r"enkelt?\s*probe",
            r"yksitt[äa]inen\s+koetin",
        ),
    ),
    ("probe", (r"Sonde", r"sond(?:a|y|ą|ă|ou)", r"pr[óo]ba", r"koetin")),
    ("gene", (r"genu", r"gen(?:ei|ului)", r"g[ée]nje", r"geeni(?:n)?")),
    # The IHC vocabulary.
    (
        "membrane staining",
        (
            r"membranf[äa]e?rbung",
            r"membraankleuring",
            r"membraanaankleuring",
            r"membr[áa]nfest[őo]d[ée]s(?:e|t)?",
            r"membranf[äa]rgning(?:en)?",
            r"membranfarging(?:en)?",
            r"membranfarvning(?:en)?",
            r"(?:solu)?kalvov[äa]rj[äa]ytyminen",
        ),
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
            r"barwieni(?:e|a|u)",
            r"odczyn(?:u)?",
            r"barven[íi]",
            r"farben(?:ie|ia)",
            r"colora[țţt]i(?:e|a|ei)",
            r"colorare(?:a)?",
            r"marcaj(?:ul)?",
            r"fest[őo]d[ée]s(?:e|t)?",
            r"f[äa]rgning(?:en)?",
            r"farging(?:en)?",
            r"farvning(?:en)?",
            r"v[äa]rj[äa]ytyminen",
            r"v[äa]rj[äa]ys",
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
            r"b[łl]onow(?:y|a|e|ych|ym|ą|ego)",
            r"membr[áa]nov(?:[yýaáeé]|ou|[ée]ho)",
            r"membranar(?:[ăae])?",
            r"membr[áa]n",
            r"membran[öø]s(?:a|t|e)?",
            r"membraaninen",
            r"(?:solu)?kalvo(?:n)?",
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
            r"niepe[łl]n(?:y|a|e|ych)",
            r"niekompletn(?:y|a|e|ych)",
            r"nekompletn(?:[íiýyáaé]|[íi]ho)",
            r"ne[úu]pln(?:[yýaáeé]|ou|[ée]ho)",
            r"incomplet(?:[ăa]|e)?",
            r"nem\s+teljes",
            r"ofullst[äa]ndig(?:t|a)?",
            r"ufull?st(?:e|[æa])ndig(?:e|t)?",
            r"ufuldst[æa]ndig(?:e|t)?",
            r"inkomplet(?:t|te)?",
            r"ep[äa]t[äa]ydellinen",
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
            r"pe[łl]n(?:y|a|e|ych)",
            r"ca[łl]kowit(?:y|a|e)",
            r"kompletn(?:[íiýyáaé]|[íi]ho)",
            r"[úu]pln(?:[yýaáeé]|ou|[ée]ho)",
            r"complet(?:[ăa]|e)?",
            r"teljes",
            r"fullst(?:e|[äa])ndig(?:e|t|a)?",
            r"fuldst[æa]ndig(?:e|t)?",
            r"komplet",
            r"t[äa]ydellinen",
            r"kokonainen",
        ),
    ),
    ("faint", (r"faibles?", r"schwach(?:e[nrs]?)?", r"d[ée]bil(?:es)?", r"debole", r"zwakk?e?", r"fracas?")),
    (
        "partial",
        (r"cz[ęe][śs]ciow(?:y|a|e)", r"[čc][áa]ste[čc]n(?:[yýaáeé]|ou)", r"r[ée]szleges", r"osittainen"),
    ),
    (
        "faint",
        (
            r"s[łl]ab(?:y|a|e|ych|ą)",
            r"slab(?:[yýaáeé]|ou|[ăa])",
            r"gyenge",
            r"svag(?:t|a|e)?",
            r"svak(?:t|e)?",
            r"heikko",
            r"heikosti",
        ),
    ),
    (
        "moderate",
        (
            r"mod[ée]r[ée]e?s?",
            r"m[äa]e?(?:ss|ß)ig(?:e[nrs]?)?",
            r"moderad[oa]s?",
            r"moderat[oa]",
            r"matige?",
            r"umiarkowan(?:y|a|e|ych)",
            r"st[řr]edn[ěe]\s+siln(?:[yýaáeé]|ou)",
            r"stredne\s+siln(?:[yýaáeé]|ou)",
            r"st[řr]edn[íi]",
            r"stredn(?:[ýyáaé])",
            r"moderat(?:[ăae])?",
            r"k[öo]zepes",
            r"m[ée]rs[ée]kelt",
            r"m[åa]ttlig(?:t|a)?",
            r"middels",
            r"kohtalai(?:nen|sesti)",
            r"keskivahva",
        ),
    ),
    ("intense", (r"intens[oa]s?", r"kr[äa]e?ftig(?:e[nrs]?)?", r"intensief")),
    ("intense", (r"intens(?:[ăe]|iv(?:t|e)?)?",)),
    (
        "strong",
        (
            r"siln(?:y|a|e|ych|ą|[ýáé]|ou)",
            r"puternic(?:[ăa]|e)?",
            r"er[őo]s",
            r"stark(?:t|a)",
            r"sterk(?:t)?",
            r"st[æa]rk(?:t|e)?",
            r"voimaka(?:s|sti)",
            r"vahva",
        ),
    ),
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
            r"kom[óo]r(?:ek|ki|kach)\s+nowotworow(?:ych|e)",
            r"kom[óo]rek\s+raka",
            r"n[áa]dorov(?:[ýy]ch|[ée])\s+bun[ěe]k",
            r"n[áa]dorov[ýy]ch\s+buniek",
            r"celul(?:e|ele|elor)\s+tumoral(?:e|ă)",
            r"tumorsejt(?:ek|ekben|ekben)?",
            r"daganatsejt(?:ek|ekben)?",
            r"tum[öo]rcell(?:er|erna)",
            r"tumorcell(?:er|ene|erne)",
            r"(?:kasvain|sy[öo]p[äa])solu(?:t|ja|ista|jen|issa)?",
        ),
    ),
    ("cells", (r"cellules", r"zellen", r"c[ée]lulas", r"cellule", r"cellen")),
    (
        "cells",
        (
            r"kom[óo]r(?:ek|ki|kach)",
            r"bun[ěe]k",
            r"bu[ňn]k(?:y|ách)",
            r"buniek",
            r"bunk(?:y|ách)",
            r"celul(?:e|ele|elor)",
            r"sejt(?:ek|ekben)?",
            r"cell(?:er|erna|ene|erne)",
            r"solu(?:t|ja|ista|jen|issa|a)",
        ),
    ),
    ("nucleus", (r"noyau", r"zellkern", r"n[úu]cleo", r"nucleo", r"celkern")),
    ("nuclei", (r"noyaux", r"zellkerne", r"n[úu]cleos", r"celkernen")),
    (
        "nuclei",
        (
            r"j[ąa]der",
            r"j[ąa]drach",
            r"jader",
            r"j[áa]drech",
            r"jadier",
            r"nucle(?:e|ilor)",
            r"sejtmag(?:ok|okban)",
            r"(?:cell)?k[äa]rnor",
            r"(?:celle)?kjerner",
            r"(?:celle)?kerner",
            r"tuma(?:a|t|ista)",
        ),
    ),
    (
        "nucleus",
        (
            r"j[ąa]dr[oa]",
            r"j[áa]dr[oa]",
            r"jadr[oa]",
            r"nucleu(?:l)?",
            r"sejtmag(?:ban)?",
            r"(?:cell)?k[äa]rna",
            r"(?:celle)?kjerne",
            r"(?:celle)?kerne",
            r"tuma",
        ),
    ),
    ("invasive", (r"infiltrantes?", r"invasi[fv]e?s?")),
    (
        "invasive",
        (
            r"naciekaj[ąa]c(?:y|a|e|ego|ym)",
            r"inwazyjn(?:y|a|e|ego|ym)",
            r"inva?z[íi]vn(?:[íiyýaáeé]|[íi]ho|eho)",
            r"invaziv(?:[ăa])?",
            r"inv[áa]z[íi]v",
            r"invasiivinen",
            r"infiltroiva",
            r"invasivt?",
        ),
    ),
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
    (
        "of",
        (
            r"(?<=%\s)(?:a[fv]|din)",
            r"des",
            r"der",
            r"de",
            r"del",
            r"della",
            r"delle",
            r"dei",
            r"van",
            r"da",
            r"das",
        ),
    ),
    (
        "in",
        (
            r"dans",
            r"im",
            r"nel",
            r"nelle",
            r"nei",
            r"em",
            r"în",
            r"en\s+el",
            r"en(?=\s+\d)",
            r"[wvi](?=\s+\d)",
        ),
    ),
    ("per", (r"par", r"pro", r"por")),
)

#: Rows whose foreign spellings are also words of English text ("media", "rapport"): no cue of a language.
_NO_CUE: Final = frozenset(
    {
        "and",
        "of",
        "of the",
        "in",
        "per",
        "no",
        "ISH",
        "strong",
        "intense",
        "invasive",
        "mean",
        "ratio",
        "gene",
    }
)


# ----------------------------------------------------------------------------------------------------
# One scan for the cue words, by first letter
#
# The cue pattern is an alternation of some 700 fragments; the regular-expression engine tries them one after
# another at every word start, which cost about 2 µs per character of report text. Grouped by the letters a
# fragment can begin with, behind a one-letter look-ahead, only the fragments of the word's first letter are
# tried (in their listed order, so the match found is the same): about nine times faster.


def _class_letters(body: str) -> set[str] | None:
    """The characters of a bracket class's body ("oó", "a-z"); None for a negated class or a class escape."""
    if body.startswith("^"):
        return None
    letters: set[str] = set()
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            if body[index + 1 : index + 2] in tuple("sSwWdD"):
                return None
            letters.add(body[index + 1])
            index += 2
        elif index + 2 < len(body) and body[index + 1] == "-":
            letters.update(chr(code) for code in range(ord(char), ord(body[index + 2]) + 1))
            index += 3
        else:
            letters.add(char)
            index += 1
    return letters


def _skip_class(fragment: str, index: int) -> int:
    """The index after the bracket class opening at ``index`` (a "]" first in the class is a member)."""
    return fragment.index("]", index + 2 if fragment[index + 1 : index + 2] == "]" else index + 1) + 1


def _depths(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """Each pattern character from ``start`` outside escapes and bracket classes, with the group depth after
    it: ``(`` opens a group, ``)`` closes one."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            index = _skip_class(text, index)
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        yield index, char, depth
        index += 1


def _group_end(fragment: str, start: int) -> int:
    """The index of the ")" closing the group that opens at ``start``."""
    for index, _, depth in _depths(fragment, start):
        if depth == 0:
            return index
    raise ValueError(f"unbalanced group in {fragment!r}")


def _alternatives(body: str) -> list[str]:
    """The top-level alternatives of a group's body."""
    parts: list[str] = []
    begin = 0
    for index, char, depth in _depths(body):
        if char == "|" and depth == 0:
            parts.append(body[begin:index])
            begin = index + 1
    return [*parts, body[begin:]]


def _first_letters(fragment: str) -> set[str] | None:
    """The lower-case characters a match of ``fragment`` can begin with; None when any could (``\\w``, ``.``).

    Reads the pattern syntax the lexicon uses: literals, escapes, bracket classes, ``(?:…)`` groups with
    alternatives, and ``?``/``*`` after any of them (then what follows can begin the match too)."""
    if not fragment:
        return set()
    head = _head(fragment)
    if head is None:
        return None
    letters, rest, optional = head
    if optional:
        after = _first_letters(rest)
        if after is None:
            return None
        letters |= after
    return {letter.lower() for letter in letters}


def _head(fragment: str) -> tuple[set[str], str, bool] | None:
    """The first element of a fragment: (the letters it can begin with, what follows it, whether it may be
    absent); None when it could begin with any character."""
    if fragment.startswith("(?:") or (fragment.startswith("(") and not fragment.startswith("(?")):
        end = _group_end(fragment, 0)
        options = _alternatives(fragment[3 if fragment.startswith("(?:") else 1 : end])
        letters: set[str] = set()
        for option in options:
            found = _first_letters(option)
            if found is None:
                return None
            letters |= found
        rest, empty = fragment[end + 1 :], "" in options
    elif fragment.startswith("(") or fragment[0] in ".^$":
        return None
    else:
        if fragment[0] == "[":
            end = _skip_class(fragment, 0)
            class_letters = _class_letters(fragment[1 : end - 1])
        elif fragment[0] == "\\":
            end = 2
            class_letters = None if fragment[1] in "sSwWdDbB" else {fragment[1]}
        else:
            end, class_letters = 1, {fragment[0]}
        if class_letters is None:
            return None
        letters, rest, empty = class_letters, fragment[end:], False
    repeat = rest[:1] in ("?", "*")
    rest = rest[1:].lstrip("?") if repeat else rest
    return letters, rest, repeat or empty


def _by_first_letter(fragments: list[str]) -> str:
    """``fragments`` as one alternation, grouped behind a look-ahead of their first letter (case-insensitive
    patterns only); fragments whose first letter cannot be told are tried last, at every word start."""
    groups: dict[str, list[str]] = {}
    anywhere: list[str] = []
    for fragment in fragments:
        letters = _first_letters(fragment)
        if letters is None:
            anywhere.append(fragment)
            continue
        for letter in sorted(letters):
            groups.setdefault(letter, []).append(fragment)
    parts = [f"(?=[{re.escape(letter)}])(?:{'|'.join(group)})" for letter, group in sorted(groups.items())]
    return "|".join(parts + anywhere)


#: Words that only another language uses: their presence switches the lexicon on for the whole text.
#: Where a foreign word starts: not inside a word or a hyphenated word, except after the marker's name
#: ("HER2-ultrabajo").
WORD_START: Final = r"(?:(?<![\w\\-])|(?<=HER2-)|(?<=HER-2-))"
_FOREIGN_CUE_RE: Final = re.compile(
    WORD_START
    + r"(?:"
    + _by_first_letter(
        [pattern for english, patterns in _PHRASES if english not in _NO_CUE for pattern in patterns]
    )
    + r")(?![\w-])",
    re.IGNORECASE,
)


def _consecutive_rows(phrases: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, list[str]]]:
    """The rows with consecutive rows of the same English word joined (rows added per language group): one
    substitution pass per word instead of one per row, in the same order."""
    joined: list[tuple[str, list[str]]] = []
    for english, patterns in phrases:
        if joined and joined[-1][0] == english:
            joined[-1][1].extend(patterns)
        else:
            joined.append((english, list(patterns)))
    return joined


_WORD_RES: Final = tuple(
    # A word is not translated inside a hyphenated word, except after the marker's name ("HER2-ultrabajo").
    (
        english,
        re.compile(r"(?<!')" + WORD_START + r"(?:" + "|".join(patterns) + r")(?![\w-])", re.IGNORECASE),
    )
    for english, patterns in _consecutive_rows(_PHRASES)
)
_CASE_SENSITIVE: Final = frozenset({"ISH"})

_DESCRIPTOR: Final = (
    r"(?:membrane|faint|weak|moderate|strong|intense|complete|incomplete|circumferential|partial)"
)
#: "faint i incomplete" (the conjunction of Polish, Czech and Slovak, Romanian, Hungarian, the Nordic
#: languages and Finnish between two staining words) → "faint and incomplete".
_CONJUNCTION_RE: Final = re.compile(
    rf"\b(?P<first>{_DESCRIPTOR})\s+(?:i|a|[șşs]i|[ée]s|och|og|ja)\s+(?={_DESCRIPTOR}\b)", re.IGNORECASE
)
#: "staining membrane faint and incomplete" (noun first, as written in the Romance languages) → English order.
_NOUN_FIRST_RE: Final = re.compile(
    r"\b(?P<noun>(?:membrane\s+)?staining)(?P<desc>(?:\s*,?\s+(?:and\s+|or\s+)?" + _DESCRIPTOR + r"\b)+)",
    re.IGNORECASE,
)


#: A case ending on a percentage ("30 %-ában", "30 %:ssa": in 30 % of) → the percentage alone.
_PERCENT_CASE_RE: Final = re.compile(r"%(?:-?(?:[áa]ban|[ée]ben)|:ss[aä])(?!\w)")


def _english(match: re.Match[str], english: str) -> str:
    written = match.group(0)
    letters = [c for c in written if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        english = english.upper()
    return _keeping_lines(written, english)


def _keeping_lines(written: str, english: str) -> str:
    """A phrase written over two lines ("no" / "amplificado") stays on as many lines ("not" / "amplified"):
    the report's line structure, by which its wrapping is judged, is that of the text as written."""
    for _ in range(written.count("\n")):
        english = english.replace(" ", "\n", 1) if " " in english else english + "\n"
    return english


def _reorder(match: re.Match[str]) -> str:
    descriptors = re.sub(r"^\s*,?\s*", "", match.group("desc"))
    # "staining membrane faint and incomplete" → "faint and incomplete membrane staining".
    membrane = re.match(r"(membrane)\s*,?\s+(?!and\b|or\b)", descriptors, re.IGNORECASE)
    if membrane:
        descriptors = f"{descriptors[membrane.end() :]} {membrane.group(1)}"
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
    text = _PERCENT_CASE_RE.sub("%", _CONJUNCTION_RE.sub(r"\g<first> and ", text))
    return _NOUN_FIRST_RE.sub(_reorder, text)
