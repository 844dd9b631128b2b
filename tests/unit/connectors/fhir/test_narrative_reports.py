"""Whole reports in laboratory layouts the corpus does not write (LIS result grids, RCPath datasets, synoptic
blocks with continuation lines, addenda above the original report, heterogeneity statements), read end to end.

Expected categories follow ASCO/CAP 2018/2023 (``spec/clinical-logic.md`` §3–§8), written from the guideline.
"""

from __future__ import annotations

import pytest

from tests.unit.connectors.fhir.test_narrative_styles import (
    EQUIVOCAL,
    INDETERMINATE,
    LOW,
    NULL,
    POS,
    ULTRALOW,
    category,
)

REPORTS = [
    (
        "SURGICAL PATHOLOGY REPORT\n"
        "Accession #: SP-26-004512\n"
        "DIAGNOSIS:\n"
        "A. Breast, right, 10 o'clock, ultrasound-guided core biopsy:\n"
        "   - Invasive ductal carcinoma, moderately differentiated (Nottingham grade 2 of 3; "
        "tubules 3, nuclei 2, mitoses 1)\n"
        "   - Ductal carcinoma in situ, solid type, intermediate nuclear grade\n"
        "   - See synoptic report and comment.\n"
        "\n"
        "BREAST BIOMARKER TEST RESULTS (Block A1)\n"
        "Estrogen Receptor (ER) Status: Positive\n"
        "  Percentage of cells with nuclear positivity: 91-100%\n"
        "  Average intensity of staining: Strong\n"
        "Progesterone Receptor (PgR) Status: Positive\n"
        "  Percentage of cells with nuclear positivity: 11-20%\n"
        "HER2 (ERBB2) by Immunohistochemistry: Equivocal (score 2+)\n"
        "  Percentage of cells with uniform intense complete membrane staining: 0%\n"
        "HER2 by in situ hybridization: Sent for ISH (see separate report)\n"
        "Ki-67 (MIB-1): 15%\n"
        "Fixative: Formalin; cold ischemia time less than 1 hour.",
        EQUIVOCAL,
    ),
    (
        "Component              Value\n"
        "HER2/NEU IHC           2+ (EQUIVOCAL)\n"
        "HER2 FISH RESULT       NOT AMPLIFIED\n"
        "HER2/CEP17 RATIO       1.32\n"
        "HER2 COPY NUMBER       2.7",
        LOW,
    ),
    (
        "Invasive carcinoma:\n"
        "  Type: No special type\n"
        "  Grade: 2 (T3 P2 M1)\n"
        "Oestrogen receptor: Positive (H-score 240)\n"
        "Progesterone receptor: Positive (Quick score 6/8)\n"
        "HER2 IHC: Score 2+ (borderline)\n"
        "HER2 ISH: Not amplified (HER2:CEP17 ratio 1.3; mean HER2 copy number 2.9)\n"
        "HER2 status: Negative",
        LOW,
    ),
    (
        "MICROSCOPIC:\n"
        "Sections show an invasive carcinoma with solid nests. Immunohistochemistry for HER2 "
        "(PATHWAY, 4B5) shows complete, strong membrane staining in approximately 80% of tumour "
        "cells (score 3+, positive). ER is negative (<1%). PR is negative (<1%).\n"
        "DIAGNOSIS: Liver, core biopsy: metastatic carcinoma consistent with breast primary; HER2 "
        "positive (3+).",
        POS,
    ),
    (
        "ADDENDUM 1 (2026-01-12): HER2 FISH (Abbott PathVysion)\n"
        "Number of cells scored: 40\n"
        "Mean HER2 signals/cell: 4.4\n"
        "Mean CEP17 signals/cell: 2.9\n"
        "HER2/CEP17 ratio: 1.52\n"
        "Interpretation: ASCO/CAP 2018 Group 4. Concurrent IHC 2+. A second pathologist re-counted "
        "20 nuclei with identical results. FINAL: HER2 NEGATIVE (see comment).\n"
        "Comment: evidence is limited regarding the benefit of HER2-targeted therapy for group 4 "
        "tumours without IHC 3+.\n"
        "\n"
        "ORIGINAL REPORT: HER2 IHC (4B5): 2+ (equivocal); FISH pending.",
        LOW,
    ),
    (
        "Biomarkers:\n"
        "ER   Positive   95%   strong\n"
        "PR   Positive   60%   moderate\n"
        "HER2 IHC   1+   negative\n"
        "Ki67   12%",
        LOW,
    ),
    (
        "HER2/neu protein by IHC (HercepTest): Score 0 (no membrane staining seen in invasive "
        "carcinoma cells). The adjacent ductal carcinoma in situ shows moderate complete membrane "
        "staining (2+), which is not scored.",
        NULL,
    ),
    (
        "HER2: IHC 0 (faint incomplete membrane staining in approximately 5% of tumour cells; "
        '"HER2-ultralow"). Recommend correlation with prior testing.',
        ULTRALOW,
    ),
    (
        "RESULTS SUMMARY\n"
        "Marker | Clone | Result | Interpretation\n"
        "ER | SP1 | 0% | Negative\n"
        "PR | 1E2 | 0% | Negative\n"
        "HER2 | 4B5 | 1+ | Negative (HER2-low)",
        LOW,
    ),
    (
        "Clinical history: 62 year old woman with known HER2-positive breast cancer (3+, 2019), "
        "treated with trastuzumab and pertuzumab; now new lung nodule.\n"
        "Diagnosis: Lung, left lower lobe, core biopsy: metastatic carcinoma of breast origin.\n"
        "Biomarkers on this specimen: ER positive (80%), PR negative (0%), HER2 IHC 1+ (negative).\n"
        "Comment: the HER2 result differs from the primary tumour (reported HER2 3+); HER2 "
        "heterogeneity or treatment effect may explain the discordance.",
        LOW,
    ),
    (
        "HER2 by IHC: Indeterminate\n"
        "Comment: The internal control tissue shows no staining; the assay is considered "
        "technically inadequate. Repeat testing on block B2 has been requested.",
        INDETERMINATE,
    ),
    (
        "HER2 DUAL ISH (INFORM): HER2/Chr17 ratio 2.15, average HER2 copy number 3.7 per nucleus "
        "(Group 2). IHC (4B5) on the same block: 1+. Result: negative with comment (ASCO/CAP 2018).",
        LOW,
    ),
    (
        "HER2 SISH: ratio 1.12; HER2 2.3; CEP17 2.05 - not amplified. Corresponding "
        "immunohistochemistry score 0 with membrane staining (>0% and ≤10% of cells).",
        ULTRALOW,
    ),
    (
        "HER2 status (IHC, 4B5): 3+ POSITIVE. Note: ISH not required for IHC 3+ results.",
        POS,
    ),
    (
        "HER2/neu (c-erbB-2): weakly positive",
        INDETERMINATE,
    ),
    (
        "HER2 IHC score 1+ (>10% of tumour cells with faint incomplete membrane staining); HER2 "
        "ISH not indicated.",
        LOW,
    ),
    (
        "Final result\nHER2: NEGATIVE (IHC 1+)\nER: POSITIVE (Allred 8)\nPR: POSITIVE (Allred 5)",
        LOW,
    ),
    (
        "HER2 testing (4B5) was performed on block A3 and shows heterogeneous staining: "
        "approximately 20% of the invasive tumour cells show strong complete membrane staining "
        "(3+), and the remainder show weak incomplete staining (1+). Overall HER2 score: 3+ "
        "(positive).",
        POS,
    ),
    (
        "HER2 (4B5): heterogeneous - 5% of cells 3+, 40% 2+, 30% 1+, remainder 0. ISH pending.",
        EQUIVOCAL,
    ),
    (
        "HER2 IHC: 1+ . . . NEGATIVE",
        LOW,
    ),
]


@pytest.mark.parametrize(("text", "expected"), REPORTS, ids=[f"report-{n:02d}" for n in range(len(REPORTS))])
def test_whole_report_is_classified_as_the_guideline_says(text: str, expected: str) -> None:
    assert category(text) == expected
