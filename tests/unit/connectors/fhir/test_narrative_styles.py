"""Narrative reports in styles the corpus generator does not write, read end to end (reader + ASCO/CAP rules).

Each case is a report (or its HER2 part) as laboratories write it — US, UK and European conventions, legacy
spellings, heterogeneous staining, recount wordings, addenda, footnotes and distractors — with the category
ASCO/CAP 2018/2023 gives it (``spec/clinical-logic.md`` §3–§8) under the project's safety rule (a positive
call needs IHC 3+, ISH group 1 or a stated amplification). Expected values are written from the guideline,
not from the reader's output.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rules.domain import SpecimenRef, SpecimenSite
from tests.unit.connectors.fhir.categories import (
    EQUIVOCAL,
    INDETERMINATE,
    LOW,
    NULL,
    POS,
    ULTRALOW,
    UNSCORED,
    ZERO,
    category_of,
)

SPECIMEN = SpecimenRef(id="S26-00042", collected=dt.date(2026, 1, 5), site=SpecimenSite.PRIMARY)


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 1, 8))


CASES = [
    # Positive: IHC 3+ by score or by criteria, ISH group 1, or a stated amplification.
    ("HER2/neu (c-erbB-2) immunohistochemistry: 3+ (strong complete membranous staining in >90% of tumour "
     "cells). Positive.", POS),
    ("HER-2/neu: POSITIVE (Score 3+) by HercepTest.", POS),
    ("c-erbB-2 (+++)", POS),
    ("HER2 overexpression: present, score 3+", POS),
    ("FISH: HER2 gene amplified. HER2/CEP17 ratio = 5.62; mean HER2 signals/nucleus = 12.4.", POS),
    ("HER2 SISH: amplified (HER2:Chr17 ratio 3.1).", POS),
    ("INFORM HER2 Dual ISH: ratio 2.45, average HER2 copy number per cell 5.2. Interpretation: Positive "
     "(group 1).", POS),
    ("HER2 IHC 2+; reflex FISH: HER2/CEP17 2.8, HER2 copy number 6.1 -> amplified.", POS),
    ("Erb-B2: 3+", POS),
    ("The tumour cells show strong, complete membrane staining for HER2 in approximately 70% of cells "
     "(score 3+).", POS),
    ("HER2 (IHC): heterogeneous - 3+ in 20% of tumour cells, 2+ in 30% and 1+ in the remainder; overall "
     "positive.", POS),
    ("HER2 gene status: AMPLIFIED (ratio 2,9; 7,3 copies/nucleus).", POS),
    ("HER2: complete intense membrane staining in ~15% of invasive cells, 1+ elsewhere.", POS),
    ("HER2 IHC 2+. HER2 ISH: 6.5 signals/cell, CEP17 4.3, ratio 1.51. Recount by second observer: same.",
     POS),
    ("HER2 2+ (equivocal); DISH: HER2/CEP17 ratio 1.45, HER2 7.1 copies per cell (group III); a second "
     "observer independently counted 20 further nuclei with identical results.", POS),
    # HER2-low, IHC 1+.
    ("HER2/neu: 1+ (negative).", LOW),
    ("HER2 protein expression: weak incomplete membrane staining in 30% of tumor cells (score 1+, "
     "negative)", LOW),
    ("HER-2: negative (1+)", LOW),
    ("HER2: +1", LOW),
    ("HER2 IHC (4B5): Score 1+. HER2-low.", LOW),
    ("Her2neu IHC 1+ negative; no amplification by FISH (ratio 1,1; HER2 2,1).", LOW),
    ("HER2 status: NEGATIVE. Immunohistochemistry score: 1+ (faint partial membrane staining in 40% of "
     "cells).", LOW),
    ("HER2 (clone 4B5): one plus", LOW),
    ("HER2/CEP17 ratio 2,3; HER2 3,6 copies per cell; concurrent IHC 1+. Negative (group 2).", LOW),
    ("HER2: faint/barely perceptible incomplete membrane staining in the majority of invasive tumour "
     "cells.", LOW),
    # HER2-low, IHC 2+ with negative ISH.
    ("HER2 IHC: 2+ (equivocal). FISH: not amplified (HER2/CEP17 ratio 1.3, mean HER2 copy number 2.8). "
     "Final: HER2 negative.", LOW),
    ("HER2: borderline (2+). HER2 ISH: no amplification, ratio 1.08, mean HER2 copy number 2.2/cell.", LOW),
    ("c-erbB-2 (++); SISH: HER2/CEP17 = 1,4; HER2 = 2,9 signals per cell (not amplified).", LOW),
    ("HER2 IHC 2+. Dual ISH group 4 (ratio 1.7; HER2 4.8 signals/cell). Blinded recount by a second observer "
     "gave the same result.", LOW),
    ("Weak to moderate complete membrane staining for HER2 in 40% of cells (2+). FISH: non-amplified "
     "(ratio 1.2).", LOW),
    ("HER2 2+, ISH negative.", LOW),
    ("HER2 (4B5): 2+\nHER2/CEP17 ratio / mean HER2 copies per cell: 1,6 / 5,7\nRecount by a second observer: "
     "unchanged (group 4).", LOW),
    # Equivocal: IHC 2+ without a final ISH result.
    ("HER2 IHC: 2+ (equivocal). FISH has been sent out; results to follow in an addendum.", EQUIVOCAL),
    ("HER2: Equivocal (score 2+)", EQUIVOCAL),
    ("HER2/neu: 2+; in situ hybridization pending.", EQUIVOCAL),
    ("HER2: borderline (2+) - sent for ISH.", EQUIVOCAL),
    ("HER2 IHC: intense complete membrane staining in 5% of cells; remainder negative. Reflex ISH "
     "ordered.", EQUIVOCAL),
    ("HER2 IHC: moderate, incomplete basolateral membrane staining in 30% of tumour cells.", EQUIVOCAL),
    # Ultralow.
    ("HER2 IHC: 0 (ultralow) - faint, incomplete membrane staining in <10% of tumor cells.", ULTRALOW),
    ("HER2: score 0+ (HER2-ultralow).", ULTRALOW),
    ("HER2 (4B5): 0 with membrane staining (>0% to ≤10% of cells).", ULTRALOW),
    ("HER2: Negative (0), faint partial membrane staining in approximately 5% of tumour cells.", ULTRALOW),
    ("HER2 IHC >0 <1+", ULTRALOW),
    ("HER2 (IHC): barely perceptible incomplete staining in rare tumour cells (score 0).", ULTRALOW),
    # Null.
    ("HER2 (4B5): 0, no staining", NULL),
    ("HER2: negative (score 0); no membranous staining identified.", NULL),
    ("HER2: 0 (null)", NULL),
    ("HER2 IHC: Negative, score 0 (complete absence of staining).", NULL),
    ("HER2: 0% of cells with any membrane staining.", NULL),
    ("HER2-null (IHC 0, no staining)", NULL),
    ("HER2 (4B5): 0, no staining.\n¹ Since 2022, HER2-low (IHC 1+ or 2+/ISH-) and since 2025 HER2-ultralow "
     "(IHC 0 with faint staining in 10% or fewer cells) may be eligible for trastuzumab deruxtecan.", NULL),
    ("DCIS: HER2 3+. Invasive carcinoma: HER2 0 (no staining).", NULL),
    ("HER2 IHC: 0 (invasive), 3+ (in situ component).", ZERO),
    # IHC 0 without a statement on membrane staining.
    ("HER2: 0", ZERO),
    ("HER2/neu: negative (0)", ZERO),
    ("HER2 IHC score 0 (negative).", ZERO),
    ("HER2: zero", ZERO),
    ("ER: positive, 90%, strong (3+). PR: positive, 50%, moderate (2+). HER2: 0.", ZERO),
    # Legacy negative without a score.
    ("HER2: negative", UNSCORED),
    ("ER+/PR-/HER2-", UNSCORED),
    ("HER2 status: NEGATIVE by IHC.", UNSCORED),
    ("HER2/neu not overexpressed.", UNSCORED),
    # Indeterminate: ranges, failures, a bare positive, ISH without IHC, nothing about this specimen.
    ("HER2: 0-1+", INDETERMINATE),
    ("HER2 IHC: 1-2+, ISH to follow", INDETERMINATE),
    ("HER2: not interpretable (crush artefact).", INDETERMINATE),
    ("HER2 testing could not be performed: insufficient invasive tumour.", INDETERMINATE),
    ("HER2: positive", INDETERMINATE),
    ("HER2 FISH: not amplified (ratio 1.1).", INDETERMINATE),
    ("HER2 FISH: HER2/CEP17 ratio 1.6, HER2 6.4 signals/cell (group 3).", INDETERMINATE),
    ("HER2 pending.", INDETERMINATE),
    ("Clinical history: HER2-positive breast cancer (3+) diagnosed 2017.", INDETERMINATE),
    ("If HER2 is 3+, anti-HER2 therapy may be considered.", INDETERMINATE),
    ("Interpretation key: positive = IHC 3+; negative = IHC 0 or 1+.", INDETERMINATE),
    # Distractors beside a result.
    ("HER2: 1+ (negative). Note: the DCIS component shows strong 3+ staining.", LOW),
    ("E-cadherin: positive (3+); HER2: 1+", LOW),
    ("Previous biopsy (2019, outside institution): HER2 3+. Current specimen: HER2 IHC 0 (no staining).",
     NULL),
    ("HER2 IHC: 2+ (equivocal). Comment: if ISH is amplified, the tumour will be classified as HER2 "
     "positive.", EQUIVOCAL),
    ("HER2 IHC: 1+ (negative)\nNegative: group 3 with IHC 0-1+; positive: IHC 3+ or ISH group 1.", LOW),
    ("Nottingham grade 3 (3+3+3). ER 0%. PR 0%. HER2 IHC 1+.", LOW),
    # Answers, denials, hedges and asides: never a positive call from them.
    ("HER2 IHC: 1+\nHER2 amplified: No", LOW),
    ("HER2 IHC 2+. FISH - amplified: no (ratio 1.3, HER2 2.6/cell).", LOW),
    ("HER2 (4B5): 0. HER2 positive: no.", ZERO),
    ("HER2 overexpression: yes (score 3+)", POS),
    ("HER2 IHC: 1+ (note: 3+ staining in the positive control tissue).", LOW),
    ("HER2: 1+ (previous core biopsy: 3+)", LOW),
    ("HER2: negative (0). Note: the tumour is not HER2 3+.", ZERO),
    ("HER2 IHC 3+ cannot be excluded; ISH requested.", INDETERMINATE),
    ("HER2: possibly 3+, pending review.", INDETERMINATE),
    # More wordings.
    ("HER2 protein: 0 (negative), no complete or incomplete membrane staining", NULL),
    ("HER2 immunoreactivity: absent", NULL),
    ("HER2: 0, no complete membrane staining", ZERO),
    ("HER2 (IHC): 2 (equivocal); FISH ratio 1.3 - negative", LOW),
    ("HER2: 0 (previously reported 1+ on core biopsy S25-1111)", ZERO),
    ("HER2 IHC: 3+ in >95% of invasive carcinoma cells", POS),
    ("HER2 IHC: 2+ in 60% of cells, FISH to follow", EQUIVOCAL),
    ("HER2 immunohistochemistry negative (score 1 out of 3)", LOW),
    ("HER2 IHC staining: negative (0+)", ULTRALOW),
    ("HER2 IHC, scored per ASCO/CAP 2023: 0 (with faint staining in <1% of cells)", ULTRALOW),
    ("HER2 IHC was repeated on the excision and is 1+ (previously 0 on the core biopsy).", LOW),
    ("ER-/PR-/HER2 3+", POS),
    ("HER2 IHC (4B5)\nIntensity: weak\nCompleteness: incomplete\nPercentage of positive cells: 40%", LOW),
    ("HER2 IHC\nStaining intensity: strong\nMembrane staining: complete, circumferential\n"
     "Percentage of cells: 15%", POS),
    ("HER2 IHC 0. Comment: per the 2023 ASCO/CAP update, IHC 0 and 1+ were distinguished at high "
     "magnification; no membrane staining was identified.", NULL),
    ("HER2/neu oncoprotein overexpression: Negative (Score 0/3+)", ZERO),
    ("Focal weak incomplete HER2 membrane staining (<5% of cells); score 0.", ULTRALOW),
    ("HER2: 2+/3+", INDETERMINATE),
    # Lines as laboratory systems wrap and tabulate them.
    ("her2 staining pattern: strong\ncomplete membranous staining in 3% of the invasive carcinoma cells.",
     EQUIVOCAL),
    ("HER2 IMMUNOHISTOCHEMISTRY (clone 4B5)\nScore: 0\nHER2 FISH RATIO (HER2/CEP17)        1.24\n"
     "HER2 COPY NUMBER (MEAN PER CELL)    2.1\nCEP17 COPY NUMBER (MEAN PER CELL)   1.7\n"
     "HER2 FISH AMPLIFIED                 No\n"
     "External positive control (breast carcinoma with known 3+ expression) stained appropriately.", ZERO),
    ("HER-2/NEU SISH (SINGLE PROBE):\n\nMEAN 4.7 HER-2/NEU SIGNALS PER NUCLEUS.\n"
     "HER-2/NEU ON THE PRIOR CORE BIOPSY (S24-8309): 3+.", INDETERMINATE),
    ("HER2 SISH: signals clustered, count deferred to a second reviewer.\n"
     "HER2 on the prior core biopsy (S24-8309): 3+.", INDETERMINATE),
    ("ER: POSITIVE (95 PER CENT, STRONG); PR: POSITIVE (40 PER CENT, MODERATE); HER2 DUAL ISH:\n"
     "RATIO 1.3, MEAN HER2 3.1 PER CELL. NOT AMPLIFIED. CONCURRENT HER2 IHC 2+.", LOW),
    ("Her2 Dual ISH (Ventana INFORM):\nHER2 signals: 110 in 20 nuclei; CEP17 signals: 42 in 20 nuclei\n"
     "HER2/CEP17 ratio: 2.62\nAverage HER2 copy number: 5.5\nInterpretation: POSITIVE (AMPLIFIED), Group 1",
     POS),
    ("HER2 by IHC: equivocal (2+). HER2 by FISH: HER2/CEP17 ratio 1.20 with average HER2 copy number 6.4 "
     "signals/cell (group 3). Upon review of the IHC slide and a recount by a second reader, the result is "
     "HER2 POSITIVE.", POS),
    ("HER2 Immunohistochemistry: POSITIVE (Score 3+)\nHER2 ISH: Not performed (not required for IHC 3+).\n"
     "Comment: The 2023 ASCO/CAP guideline recommends distinguishing IHC 0 from 1+; HER2-low includes 1+ "
     "and 2+/ISH-negative results.", POS),
    ("HER2 (IHC): Negative 0. Note that HER2 3+ tumors are eligible for trastuzumab.", ZERO),
    ("Previous HER2 result (2024, core biopsy): IHC 3+.\nCurrent specimen (mastectomy): HER2 IHC 0, no "
     "staining.", NULL),
    ("HER2 IHC [HercepTest]: score 3+ in the in situ component only; invasive carcinoma score 1+.", LOW),
    ("HER2 ISH result: HER2 gene amplified? No.", INDETERMINATE),
    ("The HER2 result is pending; preliminary IHC suggests 3+.", INDETERMINATE),
    ("Differential diagnosis includes a HER2-positive apocrine carcinoma; however, HER2 IHC is 0 (no "
     "staining).", NULL),
    ("HER2 was positive (3+) in the 2019 primary; current metastasis HER2 IHC 2+, FISH not amplified (ratio "
     "1.1, HER2 2.0 copies per cell).", LOW),
    ("Criteria for HER2 positivity (IHC 3+ or ISH amplified) are not met. HER2 IHC 1+.", LOW),
    # A lone "+" sign is "positive" in some laboratories and 1+ in others: no basis for either.
    ("HER2 (+)", INDETERMINATE),
    ("c-erbB-2 (+)", INDETERMINATE),
    ("ER (+++), PR (++), c-erbB-2 (+)", INDETERMINATE),
    ("HER2 (+); FISH: not amplified (ratio 1.2)", INDETERMINATE),
    ("HER2 IHC 2+, FISH ratio 1.8, HER2 4.5 copies (group 4). HER2 (+)", INDETERMINATE),
    ("HER2 (+), score 1+", LOW),
    ("c-erbB-2 (-)", UNSCORED),
    ("c-erbB-2: (+++)", POS),
    # "Triple negative" states HER2 negative without a score; a HER2 score in the report outranks it.
    ("Invasive ductal carcinoma, triple-negative phenotype.", UNSCORED),
    ("Triple negative carcinoma of no special type. HER2 IHC 0, no membrane staining.", NULL),
    ("Receptor profile: triple negative (ER 0%, PR 0%, HER2 1+).", LOW),
    ("The tumour is not triple negative: ER 80%. HER2 2+, FISH to follow.", EQUIVOCAL),
    ("History of triple-negative carcinoma of the other breast (2018). HER2 IHC 2+; ISH not amplified "
     "(ratio 1.2, 2.3 copies per cell).", LOW),
    # A disease named by its HER2 status is a label from the history, never this specimen's basis.
    ("Patient with HER2-positive breast cancer. HER2 IHC 2+, FISH ratio 1.8, HER2 4.5 copies per cell "
     "(group 4).", INDETERMINATE),
    ("Metastatic HER2+ disease, liver biopsy. HER2 IHC 1+.", LOW),
    ("Known HER2-positive breast cancer; liver biopsy. HER2 IHC 0 (no staining).", NULL),
    ("Liver, core biopsy: metastatic HER2-positive breast carcinoma.", INDETERMINATE),
    ("Residual tumour after neoadjuvant therapy (prior HER2+ by core). HER2 IHC on the residual tumour: 1+.",
     LOW),
    # A positive final for ISH group 2 or 4 (or a negative one for group 3) is not the guideline's result.
    ("HER2 IHC 2+; FISH ratio 1.8, HER2 4.5 copies per cell (group 4). Final: HER2 positive.", INDETERMINATE),
    ("HER2 IHC 2+; FISH ratio 2.4, HER2 3.4 copies per cell. Final: HER2 negative.", LOW),
    # Scores as words, field leaders and system field names.
    ("HER-2/neu (CB11): score one", LOW),
    ("HER2 IHC score of three (positive)", POS),
    ("HER2 IHC SCORE.........1+", LOW),
    ("HER2_IHC_SCORE=0", ZERO),
    ("HER2_IHC_RESULT=2+;HER2_ISH_RATIO=1.3;HER2_ISH_COPIES=2.6", LOW),
    # Another laboratory's result quoted; a second opinion that concurs.
    ("Consultation of outside slides. HER2 (outside): 3+", INDETERMINATE),
    ("Consultation: HER2 IHC 3+ per outside report. Our HER2 IHC on block A3: 1+.", LOW),
    ("Review of outside slides: we agree with the outside HER2 IHC 3+.", POS),
    # Carcinoma in situ only: its HER2 is not scored.
    ("Ductal carcinoma in situ, high nuclear grade; no invasive carcinoma identified. HER2 (4B5): 3+.",
     INDETERMINATE),
    ("DCIS, solid type. HER2 immunostain: positive (3+).", INDETERMINATE),
    ("HER2 IHC 3+. Associated DCIS, cribriform type.", POS),
    # Reports of several parts: the same result once; tumours of both breasts with different results leave
    # the current one unclear; parts of one side are specimens of one date, of which the highest counts.
    ("A. LEFT BREAST, CORE BIOPSY: Invasive carcinoma. FINAL HER2 STATUS: POSITIVE (IHC 3+).\n"
     "B. RIGHT BREAST, CORE BIOPSY: Invasive carcinoma. HER2 IHC 1+.", INDETERMINATE),
    ("Specimen A (left breast, excision): HER2 IHC 2+, FISH pending.\nSpecimen B (left breast, "
     "re-excision): HER2 FISH amplified (ratio 3.4, 7.6 copies per cell).", POS),
    ("A. Left breast, 2 o'clock, core: HER2 IHC 0.\nB. Left breast, 10 o'clock, core: HER2 IHC 0.", ZERO),
    ("A. Left breast, core biopsy: invasive ductal carcinoma, grade 2.\nB. Left axillary lymph node, FNA: "
     "metastatic carcinoma.\n\nBiomarkers (block A1): HER2 IHC 1+.", LOW),
    ("HER2 IHC 2+ (equivocal), FISH to follow.\n\nADDENDUM:\nPart A: HER2 FISH amplified (ratio 3.1, 7.2 "
     "copies per cell).", POS),
    # Forms with boxes: only the ticked option is the result.
    ("HER2 (ERBB2) by immunohistochemistry\n___ Negative (Score 0)\n_X_ Negative (Score 1+)\n"
     "___ Equivocal (Score 2+)\n___ Positive (Score 3+)", LOW),
    ("HER2 IHC: [ ] 0   [ ] 1+   [x] 2+   [ ] 3+\nReflex ISH: ordered", EQUIVOCAL),
    ("HER2 IHC score:  3+ [ ]   2+ [ ]   1+ [X]   0 [ ]", LOW),
    ("HER2 by IHC:\n☐ Negative (0)\n☐ Negative (1+)\n☐ Equivocal (2+)\n☒ Positive (3+)", POS),
    ("HER2 by IHC: [ ] positive  [ ] negative  [ ] equivocal", INDETERMINATE),
    ("HER2 IHC 2+\nHER2 gene amplified:  ( ) yes  (x) no\nRatio 1.3, HER2 2.4 signals per cell", LOW),
    # HL7 v2 result segments pasted into a report.
    ("OBX|1|CWE|85319-2^HER2 [Presence] in Breast cancer specimen by Immune stain^LN||LA6577-6^Negative^LN"
     "||||||F\nOBX|2|NM|85318-4^HER2 IHC score^LN||1|{score}|||||F", LOW),
    ("OBX|1|ST|HER2IHC^HER2 IHC^L||2+||||||F\nOBX|2|NM|HER2RAT^HER2/CEP17 ratio^L||1.4||||||F\n"
     "OBX|3|NM|HER2CN^HER2 signals per cell^L||3.1||||||F\nNTE|1||Not amplified.", LOW),
    ("OBX|1|ST|HER2IHC^HER2 IHC^L||3+||||||P", INDETERMINATE),
    # Other languages' status words.
    ("HER2: Score 2+ (schwach positiv); ISH: keine Amplifikation (Ratio 1,4)", LOW),
    # Dictated reports: names and numbers spelled out.
    ("Dictated: the HER two neu stain is one plus, with weak partial membrane staining in about thirty "
     "percent of tumour cells.", LOW),
    ("HER-two slash neu by IHC is zero, negative.", ZERO),
    ("HER two is two plus. FISH is not amplified, HER two to CEP seventeen ratio of one point four, mean "
     "of two point nine HER two signals per cell.", LOW),
    ("HER two shows a score of zero with faint incomplete membrane staining in about three percent of the "
     "invasive cells.", ULTRALOW),
    ("Strong, complete, circumferential HER two membrane staining in approximately eighty percent of the "
     "tumour cells (three-plus).", POS),
    ("HER two (CB11): two plus in five percent of cells, one plus in the remaining cells.", LOW),
    ("HER two: complete intense staining in fifteen percent of the tumour cells, one plus elsewhere.", POS),
    ("HER  two  to  CEP   seventeen  ratio  two  point  four,  HER  two  five  point  one  signals per cell; "
     "IHC 2+.", POS),
    ("HER TWO DUAL ISH: RATIO ONE POINT\nSIX ONE; HER TWO FOUR POINT EIGHT SIGNALS PER NUCLEUS. A BLINDED "
     "RECOUNT GAVE\nGROUP 5. HER TWO IHC SCORE TWO\nPLUS.", LOW),
    # A sign after a marker name ("HER-2/neu+") keeps the report's own HER2 statement on file, unread: a
    # prior specimen's result does not stand in for it.
    ("Receptor status: ER-, PR-, HER-2/NEU+\nFor comparison, the previous biopsy S23-2313 (2023-04-11) was "
     "HER-2/NEU 3+.", INDETERMINATE),
    ("her2 (sp3): +2.\nreflex fish to follow.\n\naddendum\nher2 gene status by sish: no\nher2 amplification.",
     LOW),
    ("HER two (ERBB2) FISH: HER two:CEP\nseventeen = two point six one; HER two three point seven signals "
     "per nucleus. HER two IHC 2+. A blinded recount by a second observer gave the same result.", LOW),
    ("her2 ish: negative (not amplified) (group 5) external positive control (breast carcinoma with known 3+ "
     "expression) stained appropriately.\nher2 ihc: score 2+", LOW),
    # The scale a score is given on, a control named by its score, an earlier result in a bracket or dated by
    # its year, in situ carcinoma before the invasive result in one clause.
    ("HER2 IHC score: 2+ (range 0-3+); FISH to follow.", EQUIVOCAL),
    ("HER2: negative, score 1+ on a scale of 0 to 3+.", LOW),
    ("HER2 IHC 0, no staining.\nHER2 3+ control: stained as expected.", NULL),
    ("HER2 IHC: 1+ (was 3+ in 2020, outside laboratory).", LOW),
    ("HER2 (current biopsy): 0; HER2 (2019 primary): 3+", ZERO),
    ("HER2 IHC: 1+. For comparison: the 2021 primary tumour was HER2 3+.", LOW),
    ("HER2 IHC: 3+ in the in-situ carcinoma, 1+ in the invasive carcinoma.", LOW),
    # Another gene's amplification, and HER2 by sequencing, RNA or blood tests: not a HER2 IHC/ISH result.
    ("HER2 IHC 1+.\nCCND1 FISH: amplified (ratio 3.4).", LOW),
    ("HER2 IHC 0, no staining.\nTOP2A FISH: amplified.", NULL),
    ("HER2 IHC 2+; HER2 FISH to follow.\nMYC FISH: amplified.", EQUIVOCAL),
    ("HER2 IHC 1+.\nTumour sequencing (NGS panel): ERBB2 amplification detected, copy number 9.", LOW),
    ("HER2 IHC 1+. Plasma ctDNA: ERBB2 amplified.", LOW),
    ("HER2 IHC 2+ (equivocal); HER2 mRNA by RT-qPCR: positive. FISH pending.", EQUIVOCAL),
    ("Next-generation sequencing: ERBB2 amplification detected.", INDETERMINATE),
    # A 3+ called weak contradicts itself; a tumour reported by a clinician is an earlier result.
    ("HER2 IHC: 3+ (weak).", INDETERMINATE),
    ("HER2: weak 3+ membrane staining.", INDETERMINATE),
    ("HER2 IHC 0 (no staining). Comment: the oncologist reports that the previous tumour was HER2 amplified.",
     NULL),
    # A result placed on another accession than the report's own (S26-00042) is that specimen's.
    ("Invasive carcinoma. HER2 IHC: equivocal (2+). HER2 FISH: amplified in the liver metastasis "
     "(S24-1000).", EQUIVOCAL),
    ("HER2 IHC 2+ on the core biopsy; FISH amplified (ratio 3.1, 7.4 copies) on this excision (S26-00042).",
     POS),
    # A part whose HER2 was not repeated does not conflict with the part that has the result.
    ("HER2 IHC 1+.\nSpecimen B (axillary lymph node): metastatic carcinoma; HER2 not repeated.\n"
     "Specimen A: see above.", LOW),
    ("her2 ihc 2+; her2 ddish: ratio 1.86; her2 4.4 signals/cell (group 4); recount (second\nobserver, "
     "blinded): group 5.\noverall her2 result: negative", LOW),
    # A line of sentences that ends with a colon is not a section header (here: not an in situ section).
    ("HER2 IHC 2+. The DCIS component shows 3+ staining. HER2 FISH:\nHER2:CEP17 = 1.61; HER2 4.8 signals per "
     "nucleus;\naverage CEP17 3.0 signals/cell (group 4). A blinded recount by a second observer gave "
     "group 5.", LOW),
    # A HER2 antibody named without "HER2" makes the statement HER2's, not the receptor's before it.
    ("ER 95%, PR 40%.\nHercepTest score 1+ (negative).", LOW),
    ("ER: 0%. PR: 0%.\nCB11: 2+; SISH not amplified (ratio 1.1, 2.2 signals per nucleus).", LOW),
    # A bare sign after a colon.
    ("Receptor summary (legacy import): HER2: (-)", UNSCORED),
    # Controls named after the HER2 label, before the tumour's result.
    ("HER2 IHC: on-slide positive control (3+ carcinoma) and 1+ control reacted as expected.\nInvasive "
     "tumour: HER2 0, no membrane staining.", NULL),
    # The result before a test stated as not needed stands.
    ("HER2 status: NEGATIVE (IHC 1+) - reflex ISH not indicated.", LOW),
    ("HER2 (4B5): POSITIVE, 3+ - ISH not required.", POS),
    # A definition written beside the score.
    ("HER2 IHC: 0 (defined as no staining or faint incomplete staining in 10% or fewer of tumour cells). "
     "Negative.", ZERO),
    # Another report's or specimen's result, and HER2 not tested on this specimen.
    ("Right breast excision: invasive carcinoma. HER2: see the separate report for the left breast biopsy "
     "(HER2 3+); HER2 was not requested on this specimen.", INDETERMINATE),
    # "Not repeated" and "no repeat testing" alike: an earlier result quoted in a sentence is history (only a
    # prior result: not classified); results the report gives under a header naming the earlier specimen
    # stand, with that specimen's provenance.
    ("Residual carcinoma after neoadjuvant therapy. Pre-treatment biopsy (S25-7781): HER2 3+. HER2 was "
     "not repeated on the resection.", INDETERMINATE),
    ("Residual carcinoma after neoadjuvant therapy. Pre-treatment biopsy (S25-7781): HER2 1+. No repeat "
     "HER2 testing was performed on the resection.", INDETERMINATE),
    ("Right breast, lumpectomy: invasive carcinoma.\nBIOMARKER RESULTS (performed on prior core biopsy "
     "S25-00777):\nHER2 IHC: 1+\n\nCOMMENT: HER2 was not repeated on this excision.", LOW),
    ("Right breast, lumpectomy: invasive carcinoma.\nBIOMARKER RESULTS (performed on prior core biopsy "
     "S25-00777):\nHER2 IHC: 1+\n\nCOMMENT: no repeat HER2 testing performed on this excision.", LOW),
    ("Residual carcinoma after neoadjuvant therapy. The pre-treatment biopsy was reportedly HER2 3+. HER2 "
     "was not repeated on the resection.", INDETERMINATE),
    ("Residual carcinoma after neoadjuvant therapy. The pre-treatment biopsy was reportedly HER2 3+. No "
     "repeat HER2 testing was performed on the resection.", INDETERMINATE),
    ("Pre-treatment core biopsy (S25-7781): HER2 IHC 3+.\nResection: HER2 IHC repeated on block B2: 1+.",
     LOW),
    ("Lumpectomy: residual invasive carcinoma, 6 mm.\nNote: the diagnostic core (S25-0912) was HER2 3+. No "
     "HER2 testing has been performed on the lumpectomy.", INDETERMINATE),
    ("Mastectomy: invasive lobular carcinoma.\nBreast biomarkers: not repeated. By the clinical notes, the "
     "earlier biopsy at another hospital was HER2 positive (3+); that slide was not seen here.",
     INDETERMINATE),
    ("Re-excision: no residual invasive tumour.\nNo HER2 studies were ordered on this material; the prior "
     "excision had HER2 IHC 3+.", INDETERMINATE),

    # A table whose columns are the earlier and the current specimen.
    ("Test | Previous (2021, biopsy) | Present (2025, mastectomy)\nHER2 IHC | 2+ | 0\nHER2 FISH | negative "
     "| not done", ZERO),
    ("Test | Previous (2021, biopsy) | Present (2025, mastectomy)\nHER2 IHC | 1+ | 3+", POS),
    # Shares written after the description; "no staining" in a part of the cells is not null.
    ("HER2 (4B5) distribution: strong complete staining 0 %; weak partial staining 8 %; unstained 92 %. IHC "
     "score 0.", ULTRALOW),
    ("HER2 IHC score 0. Distribution: faint incomplete membrane staining 5%, no staining 95%.", ULTRALOW),
    ("HER2 IHC score 0: no staining 97 % of tumour cells, the rest not assessable.", ZERO),
    ("HER2 IHC score 0; membrane staining absent (0 % of tumour cells).", NULL),
    # Answer columns with a mark under one of them; a pattern named before "absent" is not all staining. A
    # mark under neither column is an answer that cannot be told (ultralow or null): for review.
    ("HER2 (4B5) findings            Present   Absent\nAny membrane staining                    X\n"
     "Circumferential staining                 X\nIHC score: 0", NULL),
    ("HER2 (4B5) findings            Present   Absent\nAny membrane staining       X\n"
     "Circumferential staining                 X\nIHC score: 0", INDETERMINATE),
    ("HER2 IHC score 0. Complete membrane staining: absent.", ZERO),
    # Laboratory listings: a reference-range column is no result; a cell count between a field and its value.
    ("ANALYTE              VALUE           REF. RANGE\nHER2/NEU IHC         3+ POSITIVE     NEGATIVE (0-1+)\n"
     "KI-67                30%             <14%", POS),
    ("ANALYTE              VALUE           REF. RANGE\nHER2/NEU IHC         1+              NEGATIVE "
     "(0-1+)", LOW),
    ("HER2 FISH\nHER2/CEP17 RATIO (n=60): 1.3\nAVERAGE HER2 COPY NUMBER (n=60): 3.1\nHER2 IHC (same "
     "block): 2+", LOW),
    ("HER2 DUAL ISH\nCELLS SCORED: 40   HER2 SIGNALS: 96   CEP17 SIGNALS: 80\nMEAN HER2/CELL: 2.4   "
     "RATIO: 1.2\n"
     "HER2 IHC 1+", LOW),
    # Yes/no fields on ultralow and HER2-low.
    ("HER2 IHC (4B5): 0\nHER2 ultralow: no", NULL),
    ("HER2 IHC (4B5): 0\nUltralow staining: present", ULTRALOW),
    ("HER2 IHC (4B5): 0\nHER2 ultralow: not assessed", ZERO),
    ("HER2 IHC (4B5): 1+ (weak partial staining in 30 %)\nHER2-low category: yes", LOW),
    ("Item             Result    Ref Range\nHER2 IHC score   0         0-1+ negative\nHER2 ultralow    "
     "Not assessed",
     ZERO),
    ("Item             Result\nHER2 IHC score   0\nHER2 ultralow    Absent", NULL),
    # Signal totals and means on separate fields; the nuclei counted stated earlier or not at all.
    ("HER2 IHC (outside laboratory): 2+\nFISH: HER2 signals: 210\nCEP17 signals: 90\nHER2/CEP17 ratio: 2.33\n"
     "Mean HER2/nucleus: 5.25\nMean CEP17/nucleus: 2.25", POS),
    ("HER2 IHC 1+\nDual ISH: Cells scored: 30; HER2 signals: 66; CEP17 signals: 60; Mean HER2 per nucleus "
     "2.2; ratio 1.1", LOW),
    # Queries from the request are not results; a score named only as not met is not a score.
    ("Indication: ? HER2 positive - for trastuzumab.\nHER2 IHC 1+ (faint partial staining in 20 % of cells).",
     LOW),
    ("Query HER2 3+ on the core.\nHER2 IHC: 0, no membrane staining.", NULL),
    ("HER2 IHC: no staining fulfilling the criteria for 3+ (nor 2+) was seen; weak incomplete staining in "
     "about 40 % of tumour cells. Score 1+.", LOW),
    # Parts named current and earlier.
    ("A. Left breast core (earlier accession): HER2 IHC 2+, ISH pending at that time.\nB. Left breast "
     "excision (current): HER2 IHC 1+.", LOW),
    # Two observers' counts: the first count stands, the recount confirms or changes the group.
    ("HER2 IHC 2+.\nFirst observer: HER2/CEP17 ratio 2.3; HER2 3.3 signals per cell.\nSecond observer "
     "(recount): ratio 2.1; HER2 3.6 signals per cell - group 2 unchanged.\nFinal: HER2 negative.", LOW),
    ("HER2 IHC 2+. ISH first count: ratio 1.6, HER2 6.6 per cell. Blinded recount by a second observer: "
     "ratio 1.7, HER2 6.2 per cell, group 3 confirmed. Final: HER2 positive.", POS),
    # Signal totals over the nuclei counted.
    ("HER2 IHC 1+.\nDual ISH, signals counted in 20 nuclei: HER2 = 46, CEP17 = 38.", LOW),
    ("HER2 dual ISH\nNuclei counted: 30\ntotal HER2 signals ..... 246\ntotal CEP17 signals .... 60",
     POS),
    # Descriptions with an aside, in lobular carcinoma cells.
    ("HER2: moderate lateral (\"U-shaped\") membrane staining in 50% of invasive lobular carcinoma cells. "
     "ISH: not amplified (ratio 1.2, HER2 2.5 per cell).", LOW),
    # A diagnosis line that contradicts the description's score is not a positive basis.
    ("Microscopic: HER2 shows weak incomplete membrane staining in 40% of tumour cells (1+).\nFinal "
     "diagnosis: invasive carcinoma, HER2 positive (3+).", INDETERMINATE),
    ("HER2 IHC 2+; ISH group 4, recounted: not considered amplified. Final: HER2 negative.", LOW),
    # Addenda supersede the original text.
    ("HER2: 0\n\nADDENDUM: HER2 re-scored by a second pathologist: 1+ (previously reported as 0).", LOW),
    ("HER2 IHC 1+ (negative).\n\nADDENDUM: on review, HER2 IHC is revised from 1+ to 2+; FISH to follow.",
     EQUIVOCAL),
    ("HER2 IHC: 2+ (equivocal); reflex FISH to follow.\n\nAddendum 2026-01-12: HER2 FISH not amplified "
     "(HER2/CEP17 1.2; HER2 2.4/cell).", LOW),
    # Heterogeneous staining described per part of the tumour, the rest's score in brackets; a later mention
    # of one part by its score ("the 1+ area") is not a second score.
    ("HER2 IHC: in about a quarter of the invasive tumour there is strong complete membrane staining (3+); "
     "the rest of the tumour shows weak incomplete staining (1+). FISH of the 1+ region was not requested.",
     POS),
    ("HER2 IHC: about 5% of the invasive tumour shows strong complete membrane staining (3+); the remainder "
     "shows weak incomplete staining (1+).", EQUIVOCAL),
    # An addendum's ISH on the same case after IHC 2+ is the same test occasion, not a quoted history;
    # an earlier, dated or otherwise named specimen stays history.
    ("Addendum: dual ISH was done on the previously reported specimen (HER2 IHC 2+): no amplification, "
     "HER2/CEP17 ratio 1.3, 2.6 HER2 signals per nucleus. Final: HER2-negative (IHC 2+, ISH negative).", LOW),
    ("Addendum: FISH performed on the previously reported case (2019, HER2 IHC 2+) shows HER2 amplification "
     "(ratio 3.4).", INDETERMINATE),
    # German (translated) null wording: no membrane reaction at all.
    ("HER2-Immunhistochemie: Score 0; keine membranöse Reaktion der Karzinomzellen.", NULL),
    ("HER2/neu: 0 (vollständig fehlende Färbung des Tumors).", NULL),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{n:02d}" for n in range(len(CASES))])
def test_report_is_classified_as_the_guideline_says(text: str, expected: str) -> None:
    assert category(text) == expected
