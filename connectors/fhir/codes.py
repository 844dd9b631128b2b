"""Code lists the FHIR mapping recognises, kept as data with their sources.

Sources (see ``testdata/fhir/terminology/`` and ``spec/clinical-logic.md`` §10–§11):

- LOINC HER2/ER/PR codes: mCODE ``TumorMarkerTestVS`` (HL7 fhir-mCODE-ig, ``VS_Genomics.fsh``) and the
  project's ``codes-her2-tdxd.tsv`` (each row names where the code was seen).
- LOINC answer codes (LA…) and SNOMED CT qualifier values: LOINC answer lists used by the MII
  pathology and mCODE examples.
- Metastatic disease: SNOMED CT 128462008 "Secondary malignant neoplastic disease" and the descendants
  listed in ``codes-her2-tdxd.tsv``; ICD-10-CM C77–C79 and C7B (mCODE ``SecondaryCancerDisorderVS``).
- Drugs: RxNorm codes verified in ``codes-her2-tdxd.tsv``; WHO ATC classes (L01FD HER2 antibodies,
  L01EH HER2 kinase inhibitors, L02 endocrine therapy, L01A–L01D/L01XA cytotoxics); ingredient names
  as in RxNorm displays.
"""

from __future__ import annotations

import re
from enum import StrEnum

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
ATC = "http://www.whocc.no/atc"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
MCODE_TUMOR_MARKER_PROFILE = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-tumor-marker-test"


class ObsKind(StrEnum):
    """What a pathology Observation measures, decided from its LOINC code."""

    HER2_IHC = "her2_ihc"
    HER2_ISH = "her2_ish"
    HER2_ISH_RATIO = "her2_ish_ratio"
    HER2_PER_CELL = "her2_per_cell"
    CEP17_PER_CELL = "cep17_per_cell"
    HER2_INTERPRETATION = "her2_interpretation"
    HER2_SERUM = "her2_serum"
    ER = "er"
    ER_PERCENT = "er_percent"
    PR = "pr"
    PR_PERCENT = "pr_percent"


#: LOINC code → kind (spec/clinical-logic.md §10). 48676-1 is method-agnostic (not ISH-specific).
LOINC_KINDS: dict[str, ObsKind] = {
    "85319-2": ObsKind.HER2_IHC,  # HER2 [Presence] in Breast cancer specimen by Immune stain
    "18474-7": ObsKind.HER2_IHC,  # HER2 Ag [Presence] in Tissue by Immune stain
    "72383-3": ObsKind.HER2_IHC,  # HER2 [Presence] in Tissue by Immunoassay
    "85318-4": ObsKind.HER2_ISH,  # ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH
    "31150-6": ObsKind.HER2_ISH,  # ERBB2 gene duplication [Presence] in Tissue by FISH
    "96893-3": ObsKind.HER2_ISH,  # ERBB2 gene duplication in Tumor by FISH
    "49683-6": ObsKind.HER2_ISH_RATIO,  # ERBB2 gene copy number/Chromosome 17 copy number in Tissue by FISH
    "74860-8": ObsKind.HER2_PER_CELL,  # ERBB2 gene copy number/nucleus in Tissue by FISH
    "74861-6": ObsKind.CEP17_PER_CELL,  # Chromosome 17 copy number/nucleus in Tissue by FISH
    "48676-1": ObsKind.HER2_INTERPRETATION,  # HER2 [Interpretation] in Tissue
    "32996-1": ObsKind.HER2_SERUM,  # HER2 [Mass/volume] in Serum
    "42914-2": ObsKind.HER2_SERUM,  # HER2 [Mass/volume] in Serum by Immunoassay
    "51981-9": ObsKind.HER2_SERUM,  # HER2 [Presence] in Serum by Immunoassay
    "85337-4": ObsKind.ER,  # Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain
    "40556-3": ObsKind.ER,  # Estrogen receptor Ag [Presence] in Tissue by Immune stain
    "16112-5": ObsKind.ER,  # Estrogen receptor [Interpretation] in Tissue
    "85329-1": ObsKind.ER_PERCENT,  # Cells.ER/100 cells in Breast cancer specimen by Immune stain
    "14228-1": ObsKind.ER_PERCENT,  # Cells.estrogen receptor/100 cells in Tissue by Immune stain
    "85339-0": ObsKind.PR,  # Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain
    "40557-1": ObsKind.PR,  # Progesterone receptor Ag [Presence] in Tissue by Immune stain
    "16113-3": ObsKind.PR,  # Progesterone receptor [Interpretation] in Tissue
    "85325-9": ObsKind.PR_PERCENT,  # Cells.PR/100 cells in Breast cancer specimen by Immune stain
    "14230-7": ObsKind.PR_PERCENT,  # Cells.progesterone receptor/100 cells in Tissue by Immune stain
}

#: LOINC codes of the Observations a FHIR search should ask for (everything above except serum HER2).
TISSUE_MARKER_CODES: tuple[str, ...] = tuple(c for c, k in LOINC_KINDS.items() if k is not ObsKind.HER2_SERUM)

_HORMONE_KINDS = frozenset({ObsKind.ER, ObsKind.ER_PERCENT, ObsKind.PR, ObsKind.PR_PERCENT})

#: The tissue HER2 codes (IHC, ISH, ratios, counts, interpretation): the ``her2`` prefetch key asks for these.
HER2_TISSUE_CODES: tuple[str, ...] = tuple(
    c for c in TISSUE_MARKER_CODES if LOINC_KINDS[c] not in _HORMONE_KINDS
)

#: The ER and PR codes (presence and percentages): the ``hormone`` prefetch key asks for these.
HORMONE_RECEPTOR_CODES: tuple[str, ...] = tuple(
    c for c in TISSUE_MARKER_CODES if LOINC_KINDS[c] in _HORMONE_KINDS
)

#: DiagnosticReport categories of a pathology report: HL7 v2 table 0074 diagnostic service sections SP
#: (surgical pathology), PAT (pathology), CP (cytopathology), and the LOINC part LP7839-6 (Pathology).
PATHOLOGY_REPORT_CATEGORIES: tuple[tuple[str, str], ...] = (
    (V2_0074, "SP"),
    (V2_0074, "PAT"),
    (V2_0074, "CP"),
    (LOINC, "LP7839-6"),
)

#: ImagingStudy modality of a PET study (DICOM CID 29 "PT").
PET_MODALITY: tuple[str, str] = (DICOM_DCM, "PT")


def token_list(codes: tuple[tuple[str, str], ...]) -> str:
    """FHIR token search values ``system|code`` joined by commas (OR), as a search parameter value."""
    return ",".join(f"{system}|{code}" for system, code in codes)


class Answer(StrEnum):
    """A normalised coded answer."""

    IHC_0 = "0"
    IHC_1 = "1+"
    IHC_2 = "2+"
    IHC_3 = "3+"
    INDETERMINATE = "indeterminate"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    EQUIVOCAL = "equivocal"


#: (system, code) → answer. The LOINC 1+/2+/3+ answers are generic: read as IHC scores only under
#: an IHC code.
ANSWER_CODES: dict[tuple[str, str], Answer] = {
    (LOINC, "LA6111-4"): Answer.IHC_0,
    (LOINC, "LA11841-6"): Answer.IHC_1,
    (LOINC, "LA11842-4"): Answer.IHC_2,
    (LOINC, "LA11843-2"): Answer.IHC_3,
    (LOINC, "LA11884-6"): Answer.INDETERMINATE,
    (LOINC, "LA6576-8"): Answer.POSITIVE,
    (LOINC, "LA6577-6"): Answer.NEGATIVE,
    (SNOMED, "10828004"): Answer.POSITIVE,
    (SNOMED, "260385009"): Answer.NEGATIVE,
    (SNOMED, "52101004"): Answer.POSITIVE,  # Present
    (SNOMED, "2667000"): Answer.NEGATIVE,  # Absent
}

#: Observation.interpretation codes (v3 ObservationInterpretation) that carry a presence answer.
INTERPRETATION_CODES: dict[str, Answer] = {
    "POS": Answer.POSITIVE,
    "NEG": Answer.NEGATIVE,
    "IND": Answer.INDETERMINATE,
}

# ------------------------------------------------------------------------------------------------------------
# Metastatic disease

#: SNOMED CT 128462008 and the descendants the project's terminology lists name (codes-her2-tdxd.tsv).
METASTATIC_SNOMED: frozenset[str] = frozenset(
    {
        "128462008",  # Secondary malignant neoplastic disease
        "94222008",  # Secondary malignant neoplasm of bone
        "94381002",  # Secondary malignant neoplasm of liver
        "94391008",  # Secondary malignant neoplasm of lung (probable)
        "94225005",  # Secondary malignant neoplasm of brain
    }
)

#: ICD-10-CM secondary malignant neoplasm blocks (mCODE SecondaryCancerDisorderVS): C77–C79, C7B.
METASTATIC_ICD10CM_PREFIXES: tuple[str, ...] = ("C77", "C78", "C79", "C7B")

#: Stage IV or distant metastasis (cM1, pM1) in a stage summary or staging text.
STAGE_IV_PATTERN = re.compile(r"\bstage\s*(?:IV|4)[A-C]?\b|\b[cp]?M1[a-d]?\b|\bmetasta", re.IGNORECASE)

# ------------------------------------------------------------------------------------------------------------
# Drugs


class DrugKind(StrEnum):
    """Classes of systemic therapy relevant to the T-DXd label rows (spec/clinical-logic.md §11)."""

    TDXD = "tdxd"
    PERTUZUMAB = "pertuzumab"
    ANTI_HER2 = "anti_her2"
    ENDOCRINE = "endocrine"
    CHEMO = "chemo"


#: T-DXd codes (codes-her2-tdxd.tsv: RxNorm 2267576/2267581, NDC 65597-0406-01, HCPCS J9358, ATC L01FD04).
TDXD_CODES: frozenset[tuple[str, str]] = frozenset(
    {
        (RXNORM, "2267576"),
        (RXNORM, "2267581"),
        (NDC, "65597-0406-01"),
        (NDC, "65597-406-01"),
        (HCPCS, "J9358"),
        (ATC, "L01FD04"),
    }
)

#: T-DXd by text; never bare "deruxtecan" (datopotamab deruxtecan is a TROP2 drug, spec §11).
TDXD_TEXT = re.compile(r"trastuzumab[\s-]+deruxtecan|\benhertu\b|\bds-?8201a?\b|\bt-?dxd\b", re.IGNORECASE)

#: RxNorm codes verified in codes-her2-tdxd.tsv, by class.
RXNORM_CLASSES: dict[str, DrugKind] = {
    "200064": DrugKind.ENDOCRINE,  # letrozole 2.5 MG Oral Tablet
    "199224": DrugKind.ENDOCRINE,  # anastrozole 1 MG Oral Tablet
    "84857": DrugKind.ENDOCRINE,  # anastrozole (ingredient)
    "310261": DrugKind.ENDOCRINE,  # exemestane 25 MG Oral Tablet
    "198240": DrugKind.ENDOCRINE,  # tamoxifen 10 MG Oral Tablet
}

#: WHO ATC code prefixes, by class (L01FD HER2 antibodies, L01EH HER2 kinase inhibitors, L02 endocrine).
ATC_PREFIXES: tuple[tuple[str, DrugKind], ...] = (
    ("L01FD02", DrugKind.PERTUZUMAB),
    ("L01FD", DrugKind.ANTI_HER2),
    ("L01EH", DrugKind.ANTI_HER2),
    ("L01FY01", DrugKind.ANTI_HER2),  # pertuzumab and trastuzumab
    ("L02", DrugKind.ENDOCRINE),
    ("L01A", DrugKind.CHEMO),
    ("L01B", DrugKind.CHEMO),
    ("L01C", DrugKind.CHEMO),
    ("L01D", DrugKind.CHEMO),
    ("L01XA", DrugKind.CHEMO),
)

#: Ingredient names (as in RxNorm displays and order text), by class. The first match wins, so
#: antibody–drug conjugates come before their antibody and pertuzumab before trastuzumab.
DRUG_NAMES: tuple[tuple[re.Pattern[str], DrugKind], ...] = (
    (TDXD_TEXT, DrugKind.TDXD),
    (re.compile(r"\bpertuzumab|phesgo|perjeta", re.IGNORECASE), DrugKind.PERTUZUMAB),
    (
        re.compile(
            r"trastuzumab|herceptin|kadcyla|t-dm1|emtansine|margetuximab|lapatinib|neratinib|tucatinib",
            re.IGNORECASE,
        ),
        DrugKind.ANTI_HER2,
    ),
    (
        re.compile(
            r"letrozole|anastrozole|exemestane|tamoxifen|fulvestrant|toremifene|elacestrant|goserelin|"
            r"leuprolide|leuprorelin|triptorelin|raloxifene|megestrol",
            re.IGNORECASE,
        ),
        DrugKind.ENDOCRINE,
    ),
    (
        re.compile(
            r"paclitaxel|docetaxel|doxorubicin|epirubicin|cyclophosphamide|capecitabine|gemcitabine|"
            r"carboplatin|cisplatin|eribulin|vinorelbine|ixabepilone|methotrexate|fluorouracil",
            re.IGNORECASE,
        ),
        DrugKind.CHEMO,
    ),
)
