"""Reports in the shapes outside laboratories send: several foci or parts of one excision, other languages,
ISH not yet final, addenda quoting the original report, RTF bodies, ISH heterogeneity, IHC per block,
one-marker reports that never name HER2, "not repeated", and a stated HER2-low contradicting the score."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.fhir.mapping_narrative import decode_attachment
from connectors.fhir.narrative import parse_report_text
from connectors.fhir.narrative_html import html_to_report_text
from connectors.fhir.narrative_lexicon import is_foreign, to_english
from rules.domain import SpecimenRef, SpecimenSite
from rules.her2 import synthesize
from tests.unit.connectors.fhir.categories import (
    EQUIVOCAL,
    INDETERMINATE,
    LOW,
    NULL,
    POS,
    ULTRALOW,
    ZERO,
    category_of,
)

SPECIMEN = SpecimenRef(id="S26-00042", collected=dt.date(2026, 1, 5), site=SpecimenSite.PRIMARY)


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 1, 8))


CASES = [
    # Foci, a tumour and its node, blocks of one excision: specimens of one date, the highest counts.
    ("Right breast mastectomy, multifocal invasive carcinoma.\nFocus A (upper outer, 27 mm): HER2 3+ "
     "(positive).\nFocus B (lower inner, 8 mm): HER2 1+ (negative/low).\nSummary: at least one invasive "
     "focus is HER2 positive.", POS),
    ("Multifocal invasive carcinoma, right breast.\nFocus   Size    HER2 IHC\nA (12 o'clock)  22 mm   3+ "
     "(complete intense, 70%)\nB (9 o'clock)   6 mm    1+ (faint incomplete, 30%)\nOverall HER2 status: "
     "positive (focus A).", POS),
    ("A. Right breast mass excision: HER2 IHC 0 (no staining).\nB. Right axillary sentinel node, metastatic "
     "carcinoma: HER2 IHC 1+ (faint incomplete staining, 25% of cells).", LOW),
    ("Focus 1: HER2 IHC 1+.\nFocus 2: HER2 IHC 2+ (equivocal); ISH to follow.", EQUIVOCAL),
    ("Focus A: HER2 3+; focus B: HER2 1+.", POS),
    ("BIOMARKERS:\n A (primary tumour, block A4): ER positive 20% weak; PR negative; HER2 (4B5) 1+.\n"
     " B (nodal metastasis, block B2): ER positive 10% weak; PR negative; HER2 (4B5) 3+ (strong complete "
     "membrane staining in ~60% of metastatic tumour cells).\n\nCOMMENT: Discordant HER2 between primary "
     "tumour (1+) and nodal metastasis (3+). The nodal metastasis is HER2 positive.", POS),
    ("biomarkers:\n a (primary tumour): her2 ihc 3+.\n b (nodal metastasis): her2 ihc 0.", POS),
    ("A (primary tumour): HER2 IHC 0.\nB (sentinel node metastasis): HER2 IHC 1+.\nCOMMENT: HER2 differs "
     "between the primary (0) and the node (1+).", LOW),
    ("Tumour 1 (12 mm): HER2 IHC 1+.\nTumour 2 (5 mm): HER2 IHC 0.", LOW),
    ("Tumour 2 cm, grade 2. HER2 IHC 1+.", LOW),
    ("Teil A: Mamma rechts, Segmentresektat\n  HER2 (Klon 4B5): Score 1+ (negativ).\n\nTeil B: "
     "Sentinel-Lymphknoten axillär rechts (1/1)\n  HER2 (Klon 4B5) an der Lymphknotenmetastase: Score 3+ "
     "(positiv).", POS),
    ("Partie A : sein droit, tumorectomie : HER2 score 1+.\nPartie B : ganglion sentinelle : HER2 score 0.",
     LOW),
    ("Residual carcinoma. Pre-treatment core biopsy (S25-30211) was HER-2/neu IHC 1+. No repeat HER-2/neu "
     "testing was performed on the residual tumour.", INDETERMINATE),
    # Parts listed first, then diagnosed under their letters again (Spanish): breast 1+ and node 3+ of one
    # excision, the highest counts.
    ("Muestras:\n A) Mama izquierda, tumorectomía.\n B) Ganglio centinela axilar izquierdo.\nDiagnóstico:\n"
     " A) Carcinoma infiltrante de tipo no especial, grado 2, 19 mm.\n"
     "    HER2 (4B5): 1+ (negativo, HER2-bajo).\n"
     " B) Metástasis de carcinoma en 1 de 1 ganglio (macrometástasis 6 mm).\n"
     "    HER2 (4B5) en la metástasis: 3+ (positivo), tinción de membrana completa e intensa en el 60 % "
     "de las células.", POS),
    ("Specimens:\n A) Left breast, lumpectomy.\n B) Left axillary sentinel node.\nDiagnosis:\n A) Invasive "
     "carcinoma NST, grade 2.\n    HER2 IHC: 0.\n B) Metastatic carcinoma in 1 of 1 node.\n    HER2 IHC: 1+.",
     LOW),
    # A part with carcinoma in situ only, its HER2 done for a study, and a note on what DCIS HER2 is not used
    # for: only the invasive part's result counts.
    ("A. RIGHT BREAST, 10:00, CORE BIOPSY: INVASIVE DUCTAL CARCINOMA, GRADE 2.\n   ER POSITIVE (90%), HER2 "
     "IHC: 0 (NEGATIVE).\nB. LEFT BREAST, 2:00, CORE BIOPSY: DUCTAL CARCINOMA IN SITU, HIGH NUCLEAR GRADE.\n"
     "   NO INVASIVE CARCINOMA IDENTIFIED.\n   HER2 performed on DCIS per study protocol: 2+ (see note).\n"
     "NOTE: HER2 staining of DCIS is not used for HER2 status of invasive carcinoma.", ZERO),
    # ... but not tumours of both breasts, nor an overall statement that contradicts the parts.
    ("A. Left breast, 2 o'clock, core: HER2 IHC 3+.\nB. Right breast, 10 o'clock, core: HER2 IHC 1+.",
     INDETERMINATE),
    ("Focus A: HER2 IHC 3+.\nFocus B: HER2 IHC 1+.\nOverall HER2 status: negative.", INDETERMINATE),
    # Other languages.
    ("HER2 : positif (score 3+) - marquage membranaire complet et intense dans > 90 % des cellules tumorales "
     "infiltrantes.\nHybridation in situ (HIS) : non requise.", POS),
    ("HER2 (IHC) : équivoque (score 2+)\nHIS (hybridation in situ double sonde, HER2/CEP17) : non amplifié ; "
     "ratio 1,5 ; nombre moyen de copies HER2 : 2,9 par noyau.\nStatut HER2 final : négatif.", LOW),
    ("HER2 : négatif (score 0 ; marquage membranaire faible et incomplet dans environ 5 % des cellules "
     "tumorales infiltrantes).", ULTRALOW),
    ("HER2: negativo (score 1+), tinción de membrana débil e incompleta en el 40 % de las células tumorales.",
     LOW),
    ("HER2: positivo (punteggio 3+), colorazione di membrana completa e intensa nel 90 % delle cellule.",
     POS),
    ("HER2: negatief (score 0), geen membraankleuring.", NULL),
    # Invasive carcinoma named in the report languages, carcinoma in situ denied: the HER2 result stands.
    ("Carcinome infiltrant of type non spécifique. Absence de composante in situ. HER2 positive (score 3+). "
     "Surexpression of the protéine HER2.", POS),
    ("Carcinoma ductal infiltrante. Sin componente in situ. HER2: score 1+.", LOW),
    ("Invasief carcinoom, graad 2. Geen in-situ component. HER2: score 0, geen membraankleuring.", NULL),
    ("Ductal carcinoma in situ, high grade. No invasive carcinoma identified. HER2 IHC 3+.", INDETERMINATE),
    ("HER2: Score 2+, ISH: nicht amplifiziert (Ratio 1,3; 2,4 Signale pro Zellkern).", LOW),
    ("HER2 (4B5): 0 (ausencia de tinción de membrana en las células tumorales).", NULL),
    ("HER2 (4B5): escore 0 (negativo); ausência de marcação membranar.", NULL),
    ("HER2 (clone 4B5): escore 0 (negativo).", ZERO),
    ("HER2 IHC Score 2+. HER2-Dual-ISH: mittlere HER2-Kopienzahl: 2,9 pro Zellkern; mittlere "
     "CEN17-Kopienzahl: 2,1 pro Zellkern; HER2/CEN17-Quotient: 1,4 (ASCO/CAP-Gruppe 5).", LOW),
    ("Rapport d'hybridation in situ / In situ hybridization report\nIHC HER2 : 2+ (équivoque)\nMoyenne HER2 "
     "par cellule / mean HER2 per cell: 3,4\nRapport HER2/CEP17 / ratio: 1,85\nRésultat : non amplifié "
     "(groupe 5)", LOW),
    # ISH counts whose recount or final interpretation is still pending: IHC 2+ without a final ISH.
    ("PRELIMINARY HER2 ISH RESULT\nConcurrent IHC: 2+.\nISH observer 1: ratio 1.7, HER2 4.9 signals/cell "
     "(group 4 range).\nFinal HER2 status to follow.", EQUIVOCAL),
    ("HER2 FISH\nRatio: 1.58\nAverage HER2/nucleus: 4.9\nInterpretation: ASCO/CAP Group 4 - recount by "
     "second observer pending; final interpretation to follow.\nConcurrent IHC: 2+", EQUIVOCAL),
    ("HER2 IHC (4B5): 2+.\nDual-probe ISH: HER2/CEP17 1.5; average HER2 copy number 6.8 per cell, group 3."
     "\nRecount by a second observer has been requested.", INDETERMINATE),
    # A recount outstanding in any wording: the first count is not final (§6 rule 3), whatever group it gives.
    ("HER2 IHC (4B5): 2+.\nHER2 ISH (dual probe), first count (20 nuclei): ratio 1,8; mean HER2 4,6 "
     "signals/cell; mean CEN17 2,6 (ASCO/CAP group 4).\nAccording to ASCO/CAP 2018 a second blinded count "
     "is required for group 4 with IHC 2+ and is now being performed.", EQUIVOCAL),
    ("HER2 IHC 2+. HER2 ISH: ratio 1.8, HER2 4.9 signals/cell, ASCO/CAP ISH group 4.\nThe recount is in "
     "progress; the final HER2 status will be issued in an addendum.", EQUIVOCAL),
    ("HER2 IHC 2+. Dual ISH group 4 (ratio 1.7, HER2 5.0/cell). Blinded recount still to be done.",
     EQUIVOCAL),
    ("HER2 IHC 2+. Dual ISH group 4 (ratio 1.7, HER2 5.0/cell). Second observer count awaited.", EQUIVOCAL),
    ("HER2 IHC 2+. Duale ISH: Ratio 1,7; HER2 5,0 Signale pro Zellkern (Gruppe 4). Nachzählung durch einen "
     "zweiten Beobachter ausstehend.", EQUIVOCAL),
    ("HER2 IHC 2+. HIS : ratio 1,7 ; HER2 5,0 / noyau (groupe 4). Recomptage en cours.", EQUIVOCAL),
    ("HER2 IHC 2+. Dual ISH group 4 (ratio 1.7, HER2 5.0/cell). Blinded recount by a second observer: "
     "group 4 confirmed.", LOW),
    # Residual disease retested after neoadjuvant therapy, under a header naming part A's block.
    ("A. LEFT BREAST, LUMPECTOMY: RESIDUAL INVASIVE DUCTAL CARCINOMA, 0.9 cm.\nB. SENTINEL LYMPH NODE "
     "#1: ONE LYMPH NODE, NEGATIVE (0/1), with treatment effect.\n\nBIOMARKERS ON RESIDUAL INVASIVE "
     "CARCINOMA (block A4):\nHER2 IHC (4B5): 2+ (equivocal)\nHER2 FISH: HER2/CEP17 ratio 2.2; average "
     "HER2 copies per cell 4.4 (60 cells) - AMPLIFIED, Group 1\nFINAL HER2 (residual disease): POSITIVE",
     POS),
    ("A. LEFT BREAST, LUMPECTOMY: RESIDUAL INVASIVE DUCTAL CARCINOMA, 0.9 cm.\nB. SENTINEL LYMPH NODE "
     "#1: ONE LYMPH NODE, NEGATIVE (0/1).\n\nBIOMARKERS ON RESIDUAL INVASIVE CARCINOMA (block A4):\n"
     "HER2 IHC (4B5): 1+\nFINAL HER2 (residual disease): POSITIVE", INDETERMINATE),
    # A failure statement beats the staining words of the failed run (§3: technical failure).
    ("HER2: nicht beurteilbar (ausgeprägte Quetschartefakte, keine Färbung der externen Kontrolle).",
     INDETERMINATE),
    ("HER2 IHC: not evaluable - failed internal control. Absent membrane staining in tumour cells.",
     INDETERMINATE),
    ("HER2 IHC uninterpretable due to crush artefact; no membrane staining seen.", INDETERMINATE),
    ("HER2: no valorable (artefactos de aplastamiento); ausencia de tinción de membrana.", INDETERMINATE),
    ("HER2 : non évaluable (contrôle externe échoué), absence de marquage membranaire.", INDETERMINATE),
    ("HER2: non valutabile, controllo interno fallito.", INDETERMINATE),
    ("HER2: niet beoordeelbaar, geen membraankleuring.", INDETERMINATE),
    ("HER2: não avaliável; sem marcação membranar.", INDETERMINATE),
    ("HER2 IHC: prolonged fixation (> 72 h) renders the stain unreliable; no membrane staining.",
     INDETERMINATE),
    # A failed or invalid run in other wordings: the run's staining words are no score, whatever follows.
    ("HER2 IHC (4B5): INDETERMINATE. Absent membrane staining in tumour cells, but the on-slide control "
     "cores (1+ and 3+) also failed to stain as expected.\nHER2 ISH (dual probe): FAILED - no signals.",
     INDETERMINATE),
    ("HER2 IHC: no membrane staining in tumour cells; the external controls stained inappropriately.",
     INDETERMINATE),
    ("HER2 IHC: cold ischaemia time outside the recommended range, the stain is unreliable. No membrane "
     "staining.", INDETERMINATE),
    ("HER2 IHC: invalid run. No membrane staining of tumour cells.", INDETERMINATE),
    ("HER2 IHC: no membrane staining seen. Repeat on another block recommended.", INDETERMINATE),
    # A share in brackets after the cells it counts: the faint staining of an IHC 0 (ultralow).
    ("HER2 IHC (4B5): 0 (negative). Rare tumor cells (<5%) show faint, barely perceptible, incomplete "
     "membrane staining.", ULTRALOW),
    ("HER2 IHC: 0. Tumour cells (approx. 8%) with faint incomplete membrane staining.", ULTRALOW),
    # An eligibility comment naming scores goes on after its semicolon; criteria quoted in Spanish.
    ("HER2 by IHC: Negative (Score 0)\nComment: HER2 IHC 0 results are not eligible for HER2-low directed "
     "therapy; 1+ or 2+/ISH-negative results may be.", ZERO),
    ("HER2/neu (clona 4B5): 1+ - NEGATIVO.\nComentario: Los resultados HER2 IHQ 1+ o 2+ con ISH negativa "
     "se consideran negativos para sobreexpresión; sin embargo, estas pacientes pueden ser elegibles para "
     "terapias dirigidas a HER2 no amplificado. Un resultado IHQ 3+ o ISH positivo correspondería a HER2 "
     "positivo.", LOW),
    # A comparison with an earlier tumour in Spanish quotes its result.
    ("HER2 (4B5): 1+ (negativo; tinción de membrana débil e incompleta en el 30 % de las células).\n"
     "Comentario: discordancia con el tumor primario de 2025 (HER2 3+).", LOW),
    # A single-probe count and the threshold it is compared with: the threshold is no second count.
    ("HER2 IHC (4B5): score 2+ (equivocal)\nHER2 SISH (single-probe): mean HER2 copy number 7.2 per nucleus "
     "(60 nuclei counted)\nHER2 final status: POSITIVE (mean HER2 copy number >= 6.0 per nucleus, single "
     "probe).\nComment: Dual-probe confirmation was not required as HER2 copy number exceeds 6.0 "
     "signals/nucleus.", POS),
    # A further test offered ("may be requested") hedges nothing.
    ("HER2/NEU BY IHC: POSITIVE, SCORE 3+\n   HETEROGENEOUS STAINING IS NOTED: A DISCRETE SUBPOPULATION "
     "(APPROXIMATELY 30% OF INVASIVE TUMOR CELLS) SHOWS COMPLETE INTENSE MEMBRANE STAINING (3+); THE "
     "REMAINING TUMOR CELLS SHOW FAINT INCOMPLETE (1+) STAINING.\n   HER2 FISH ON THE SAME BLOCK IS NOT "
     "REQUIRED BUT MAY BE REQUESTED TO CHARACTERIZE HETEROGENEITY.", POS),
    ("HER2 IHC: score 1+. HER2 FISH is not required but may be requested.", LOW),
    # A consultation repeating the stain on the outside block: its own result, the outside one quoted.
    ("OUTSIDE DIAGNOSIS: Invasive ductal carcinoma. HER2 IHC 2+ (equivocal); FISH pending.\n\nHER2 (repeat "
     "IHC on outside block A2, 4B5, performed at UCC):\n  Score 3+ (POSITIVE): complete, intense "
     "circumferential membrane staining in approximately 60% of invasive tumor cells.", POS),
    ("HER2 IHC (outside): 3+.\nHER2 (repeat IHC on the outside block, performed in-house): 1+.", LOW),
    # Numbered addenda in sequence: the later addendum's adjudicated count is the result.
    ("FINAL DIAGNOSIS\nHER2 IHC (4B5): 2+ (equivocal). Reflex ISH ordered.\n\nADDENDUM 1 (08/01/2024) - HER2 "
     "dual-probe ISH, block A1\n Observer 1: 20 nuclei; HER2 3.8/cell; CEP17 1.7/cell; ratio 2.24 (ASCO/CAP "
     "group 2).\n HER2 status: pending recount.\n\nADDENDUM 2 (08/09/2024) - HER2 ISH recount and "
     "adjudication\n Observer 2 (blinded, 20 different nuclei): HER2 4.5/cell; CEP17 1.8/cell; ratio 2.50.\n"
     " Adjudicated with a third count (20 nuclei: HER2 4.3/cell; ratio 2.39). Final ISH group: 1.", POS),
    # An amended report: its banner names the change, the earlier value is labelled, the amended one stands.
    ("*** AMENDED REPORT ***  (Amendment #1, 09/20/2024 - change in HER2 score)\nBIOMARKERS (block A2):\n"
     " HER2 (4B5) IHC:\n   Previously reported: 0 (negative)\n   AMENDED RESULT:      1+ (negative), faint "
     "incomplete membrane staining in ~15% of invasive tumor cells", LOW),
    # ... but an ISH failure leaves the IHC read, and a stated score stands (with its caveat).
    ("HER2 IHC: no membrane staining (score 0). FISH failed: no signals.", NULL),
    ("HER2 IHC 1+ (faint incomplete staining in 30% of cells). ISH not evaluable (no signals).", LOW),
    # An addendum's ISH resolving the original report's IHC 2+.
    ("ADDENDUM #1: HER2 DUAL ISH RESULT ON BLOCK A1 - NOT AMPLIFIED. HER2/CEP17 RATIO 1.05; MEAN HER2 "
     "2.1/CELL (GROUP 5).\nORIGINAL REPORT: HER2 IHC 2+ (EQUIVOCAL); ISH PENDING.\nFINAL HER2 STATUS: "
     "NEGATIVE.", LOW),
    ("ADDENDUM (amended): HER2 SISH performed on block B2 because the IHC was 2+. Ratio 2.6, average HER2 "
     "copy number 5.4 per nucleus (20 nuclei). Group 1. FINAL HER2 STATUS: POSITIVE. This supersedes the "
     "provisional 'equivocal' result in the original report.", POS),
    # ISH heterogeneity: a separately counted population in more than 10 % of the tumour.
    ("HER2 FISH\nOverall count, 60 nuclei: HER2/CEP17 1.7, mean HER2 3.1/cell.\nA contiguous, distinct "
     "subpopulation (~15 % of the invasive tumour) shows clustered signals; separate count of 20 nuclei in "
     "that area: ratio 3.4, mean HER2 7.8/cell.\nReported as HER2 AMPLIFIED (heterogeneous). Concurrent "
     "IHC: 2+.", POS),
    ("HER2 FISH\nOverall count, 60 nuclei: HER2/CEP17 1.7, mean HER2 3.1/cell.\nA subpopulation (~5 % of "
     "the invasive tumour); separate count of 20 nuclei in that area: ratio 3.4, mean HER2 7.8/cell.\n"
     "Reported as HER2 AMPLIFIED (heterogeneous). Concurrent IHC: 2+.", INDETERMINATE),
    # A stated IHC score with a heterogeneity description: the highest stands, checked by its stated share
    # (intense complete staining in 10 % or less is 2+, ASCO/CAP 2018).
    ("HER2 IHC (4B5): 3+ (POSITIVE)\n  Heterogeneous staining: strong, complete, circumferential membrane "
     "staining in\n  approximately 20% of the invasive tumour cells, forming a discrete cluster at the\n  "
     "tumour edge; the remaining invasive tumour shows 1+ staining.", POS),
    ("HER2 IHC 2+ (equivocal). Heterogeneous: weak to moderate complete membrane staining in 30% of invasive "
     "cells; the remaining tumour shows 1+ staining. ISH to follow.", EQUIVOCAL),
    ("HER2 IHC: 3+. Strong complete membrane staining in about 8% of the invasive tumour cells; the "
     "remaining tumour shows 1+ staining.", EQUIVOCAL),
    ("HER2 IHC: 3+ and 1+ in different areas.", INDETERMINATE),
    # Two scores naming the question a second review decided, not a second score.
    ("HER2 (PATHWAY 4B5): NEGATIVE, score 0 (HER2-null).\n   No membrane staining identified in invasive "
     "tumour cells at 40x magnification.\n   Reviewed by a second pathologist (0 vs 1+ distinction): "
     "concurs.", NULL),
    ("HER2 IHC: 1+ (faint incomplete staining in 20% of cells). Second review for the 0 versus 1+ "
     "distinction: agreed.", LOW),
    ("HER2 IHC 0 (no staining). Reviewed for distinguishing 0 from 1+: concurs.", NULL),
    ("HER2 IHC 1+. The 0/1+ cut-off was confirmed by a second observer.", LOW),
    ("HER2 IHC: 1+ versus 2+ (borderline); ISH to follow.", INDETERMINATE),
    # A component's line under an in-situ label is the in-situ's: the invasive result stands alone.
    ("IMMUNOHISTOCHEMISTRY:\n   Invasive carcinoma: ER (+, 70%, moderate), PR (+, 10%, weak), HER2 1+ "
     "(negative), Ki-67 15%.\n   DCIS component   : ER (-), PR (-), HER2 3+.", LOW),
    ("Invasive carcinoma: HER2 0 (negative).\nIn-situ component: ER (-), HER2 3+.", ZERO),
    # A revised score: the new score is the current one, the old one history.
    ("*** CORRECTED REPORT ***\nReason for correction: HER2 IHC score revised after intradepartmental review."
     "\nORIGINAL HER2 RESULT (10/23/2025): IHC 0 (negative).\nREVISED HER2 RESULT (10/29/2025): IHC 1+ "
     "(negative, HER2-low).", LOW),
    ("HER2 IHC score revised from 0 to 1+ after second pathologist review.", LOW),
    ("HER2 IHC: score changed from 1+ to 0 on review.", ZERO),
    ("HER2 (2019 primary): 3+.", INDETERMINATE),
    # OCR confusions in a score position are read only where they cannot raise a category.
    ("IMMUN0HISTOCHEMISTRY :\n Oestrogen Recept0r  : Posltive (9O%, strong)\n HER2 (c-erbB-2)     : l+ "
     "(Negatlve)\n Ki-67               : 1O%", LOW),
    ("HER2 IHC score: O (Negative).", ZERO),
    ("HER2 (C-ERBB-2) : L+ (NEGATLVE)", LOW),
    ("her2 (c-erbb-2) : i+ (negatlve)", LOW),
    ("HER2 IHC: I+ (faint incomplete staining in 20% of cells).", LOW),
    ("HER2 IHC: lll+", INDETERMINATE),
    # IHC per block beside an ISH of the same tumour: only a group 1 classifies without the IHC.
    ("HER2 IHC was 1+ on block A1 and 2+ on A3 (heterogeneous). Reflex dual-probe ISH on A3: ratio 2.4, "
     "HER2 4.6/cell, group 1. Overall HER2 status: POSITIVE (amplified).", POS),
    ("HER2 IHC was 1+ on block A1 and 2+ on A3 (heterogeneous). Reflex dual-probe ISH on A3: ratio 1.2, "
     "HER2 2.4/cell, group 5.", INDETERMINATE),
    ("HER2 IHC 1+ ... on review 3+.", INDETERMINATE),
    # Heterogeneous IHC: complete intense staining in more than 10 % of cells is 3+ (ASCO/CAP 2018); the
    # in situ component is not scored.
    ("HER2 IHC: heterogeneous staining: 3+ in ~20 % of cells, the rest 1+.", POS),
    ("HER2 IHC: 3+ in approximately 20% of tumour cells, 1+ in the remainder.", POS),
    ("HER2 IHC: DCIS 3+ / invasive 1+.", LOW),
    ("HER2: DCIS component 3+; invasive carcinoma 1+.", LOW),
    # A one-marker report that never names HER2.
    ("Moderate, incomplete (basolateral) membrane staining in ~40% of cells; per ASCO/CAP this unusual "
     "pattern is scored 2+ (equivocal). ISH recommended.", EQUIVOCAL),
    ("Ki-67: 20%. Moderate membrane staining, scored 2+.", INDETERMINATE),
    # A test stated as not done after the result.
    ("HER2: IHC 1+ / ISH not performed (not required)", LOW),
    # A stated HER2-low contradicting the IHC score.
    ("HER2 IHC: 0 (no membrane staining)\nHER2-low status: yes", INDETERMINATE),
    ("HER2 IHC: 1+\nHER2-low status: no", INDETERMINATE),
    ("HER2 IHC: 1+\nHER2-low status: yes", LOW),
    ("HER2 IHC 0. Category: HER2-low.", INDETERMINATE),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{n:02d}" for n in range(len(CASES))])
def test_outside_report_is_classified_as_the_guideline_says(text: str, expected: str) -> None:
    assert category(text) == expected


def test_parts_keep_their_labels_and_the_lower_one_is_a_discordance() -> None:
    text = "Focus A: HER2 IHC 3+.\nFocus B: HER2 IHC 1+."
    reading = parse_report_text(text, specimen=SPECIMEN, reported=dt.date(2026, 1, 8))
    assert sorted(r.specimen.id or "" for r in reading.her2) == ["S26-00042 part A", "S26-00042 part B"]
    assert {r.specimen.collected for r in reading.her2} == {SPECIMEN.collected}
    patient = synthesize(reading.her2, reading.receptors)
    assert patient.current is not None
    assert patient.current.result.specimen.id == "S26-00042 part A"
    assert len(patient.discordance) == 1
    assert "between specimens" in patient.discordance[0]


def test_a_stated_low_conflict_keeps_both_statements() -> None:
    reading = parse_report_text("HER2 IHC: 0 (no membrane staining)\nHER2-low status: yes", specimen=SPECIMEN)
    (result,) = reading.her2
    assert result.unparsed
    assert "HER2-low: yes" in result.notes[0]
    assert "IHC 0" in result.notes[0]
    assert "HER2-low status: yes" in result.excerpt
    assert "no membrane staining" in result.excerpt


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("HER2 : positif (score 3+)", "HER2 : positive (score 3+)"),
        ("HIS : NON AMPLIFIÉ", "ISH : NOT AMPLIFIED"),
        ("marquage membranaire faible et incomplet", "faint and incomplete membrane staining"),
        ("Färbung: schwach positiv", "staining: weakly positive"),
        ("HER2: negatief", "HER2: negative"),
    ],
)
def test_lexicon_rewrites_foreign_words(text: str, english: str) -> None:
    assert to_english(text) == english


@pytest.mark.parametrize(
    "text",
    [
        "HER2 IHC 3+ POSITIVE. COMPLETE INTENSE MEMBRANE STAINING; NEGATIVE RESULTS WITH CAUTION.",
        "Intense complete staining in 90% of cells; e.g. the control. Fort Worth lab, des Moines.",
    ],
)
def test_english_text_is_left_alone(text: str) -> None:
    assert not is_foreign(text)
    assert to_english(text) == text


def test_a_report_in_another_language_says_so_in_its_notes() -> None:
    (result,) = parse_report_text("HER2 : positif (score 3+).", specimen=SPECIMEN).her2
    assert any("another language" in note for note in result.notes)
    (english,) = parse_report_text("HER2: positive (score 3+).", specimen=SPECIMEN).her2
    assert not any("another language" in note for note in english.notes)


def test_rtf_body_is_read_as_text() -> None:
    rtf = (
        b"{\\rtf1\\ansi\\deff0 {\\fonttbl{\\f0 Courier New;}}\\f0\\fs18 "
        b"HER2 IHC (4B5) RESULT: 3+ POSITIVE.\\par\n"
        b"SCORE 0: NO STAINING OR FAINT INCOMPLETE STAINING IN <=10% OF\\par\nINVASIVE TUMOR CELLS.\\par\n}"
    )
    text = decode_attachment("text/plain", rtf)
    assert text is not None
    assert "\\par" not in text
    assert "\\rtf" not in text
    assert text.splitlines()[0].strip() == "HER2 IHC (4B5) RESULT: 3+ POSITIVE."
    assert decode_attachment("text/rtf", rtf) == text


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [("1+ (negative)", "3+ (positive)", POS), ("1+", "0", LOW), ("3+", "1+", POS)],
)
def test_html_table_with_a_column_per_part_keeps_each_result_with_its_part(
    first: str, second: str, expected: str
) -> None:
    html = (
        "<table><thead><tr><th></th><th>Focus 1 (12 o'clock)</th><th>Focus 2 (3 o'clock)</th></tr></thead>"
        "<tbody><tr><td>Size</td><td>2.1 cm</td><td>0.8 cm</td></tr>"
        f"<tr><td>HER2 IHC (4B5)</td><td>{first}</td><td>{second}</td></tr></tbody></table>"
    )
    assert category(html_to_report_text(html)) == expected
