"""Domain types shared by every package.

These frozen dataclasses are the only things that cross package boundaries: connectors translate FHIR
resources and DICOM datasets into them at the edge, ``rules`` decides on them, and ``cds_service`` renders the
result. Units are converted at the edge and named in field names (``_bq``, ``_s``, ``_kg``, ``_mm``, ``_ml``,
``_h``).

Standard library only: ``rules`` is pure (see ``docs/architecture.md``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum as StrEnum
from typing import Literal

from rules.errors import RulesError

# ------------------------------------------------------------------------------------------------------------
# Provenance


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """Where a fact came from.

    ``reference`` is ``ResourceType/id`` for FHIR (optionally ``#element``), or a DICOM UID path such as
    ``study/<StudyInstanceUID>/series/<SeriesInstanceUID>`` for DICOM.
    """

    system: Literal["fhir", "dicom"]
    reference: str

    def __post_init__(self) -> None:
        if self.system not in ("fhir", "dicom"):
            raise RulesError(f"SourceRef.system must be 'fhir' or 'dicom', got {self.system!r}")
        if not self.reference:
            raise RulesError("SourceRef.reference must not be empty")

    def __str__(self) -> str:
        return self.reference


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One line of the evidence trail: a statement, the value it rests on, and where that value came from.

    ``rule`` names the guideline rule or decision-table row that produced the statement (for example
    ``"ASCO/CAP 2018 dual-probe ISH group 5"``).
    """

    statement: str
    value: str | float | None = None
    unit: str | None = None
    source: SourceRef | None = None
    rule: str | None = None


# ------------------------------------------------------------------------------------------------------------
# Pathology


class IhcScore(StrEnum):
    """HER2 immunohistochemistry score (ASCO/CAP 2018, table 'IHC')."""

    ZERO = "0"
    ONE_PLUS = "1+"
    TWO_PLUS = "2+"
    THREE_PLUS = "3+"


class IhcZeroSubtype(StrEnum):
    """For IHC 0 only: whether faint incomplete membrane staining in >0 % and ≤10 % of cells was stated."""

    NULL = "null"
    ULTRALOW = "ultralow"
    UNSPECIFIED = "unspecified"


class IshProbe(StrEnum):
    DUAL = "dual"
    SINGLE = "single"


class ReportedStatus(StrEnum):
    """A status as the laboratory wrote it (not our classification)."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    EQUIVOCAL = "equivocal"
    INDETERMINATE = "indeterminate"
    PENDING = "pending"


class SpecimenSite(StrEnum):
    PRIMARY = "primary"
    METASTASIS = "metastasis"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class IhcPercentages:
    """Percentages of invasive tumour cells by membrane staining pattern, when the report gives them
    (0–100)."""

    complete_intense: float | None = None
    complete_any: float | None = None
    incomplete_faint: float | None = None
    incomplete_moderate_intense: bool = False

    def __post_init__(self) -> None:
        for name in ("complete_intense", "complete_any", "incomplete_faint"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 100.0:
                raise RulesError(f"IhcPercentages.{name} must be within 0–100 %, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class IhcResult:
    """One HER2 IHC read of one specimen.

    ``score`` is the stated score; for a reported range such as ``"0-1+"`` it is the lower bound, ``is_range``
    is true and ``range_to`` holds the upper bound. ``zero_subtype`` is only meaningful for a score of 0.
    ``assay`` is the antibody clone or kit as written (``"4B5"``, ``"HercepTest"``, ``"CB11"``).
    """

    score: IhcScore | None
    zero_subtype: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED
    is_range: bool = False
    range_to: IhcScore | None = None
    percentages: IhcPercentages | None = None
    assay: str | None = None

    def __post_init__(self) -> None:
        if self.is_range and self.range_to is None:
            raise RulesError("IhcResult: a range needs range_to")
        if self.score is None and self.percentages is None and not self.is_range:
            raise RulesError("IhcResult needs a score, a range or staining percentages")


@dataclass(frozen=True, slots=True, kw_only=True)
class IshResult:
    """One HER2 in situ hybridisation result.

    ``reported_group`` is the group the laboratory stated (1–5, dual probe only); the engine recomputes the
    group from ``ratio`` and ``her2_per_cell`` when both are present. ``recount_confirmed`` is true when a
    blinded second observer recount confirmed the group, false when it changed it, None when not stated.
    ``reported_final`` is the laboratory's final ISH interpretation (after concurrent IHC review), if stated.
    ``pending`` marks ISH ordered but not resulted.
    """

    probe: IshProbe = IshProbe.DUAL
    ratio: float | None = None
    her2_per_cell: float | None = None
    cep17_per_cell: float | None = None
    reported_group: int | None = None
    recount_confirmed: bool | None = None
    reported_final: ReportedStatus | None = None
    pending: bool = False

    def __post_init__(self) -> None:
        if self.reported_group is not None and not 1 <= self.reported_group <= 5:
            raise RulesError(f"IshResult.reported_group must be 1–5, got {self.reported_group}")
        for name in ("ratio", "her2_per_cell", "cep17_per_cell"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise RulesError(f"IshResult.{name} must not be negative, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecimenRef:
    """The tissue a result was measured on. ``id`` is the accession or FHIR Specimen id.

    ``site_code`` is the SNOMED CT concept id of the biopsied body site as coded on the Specimen
    (``collection.bodySite``) or, failing that, on its DiagnosticReport; None when not coded.
    """

    id: str | None = None
    collected: dt.date | None = None
    site: SpecimenSite = SpecimenSite.UNKNOWN
    description: str | None = None
    site_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Her2Result:
    """Everything one report says about HER2 on one specimen at one test occasion, before classification.

    ``reported_status`` is the laboratory's overall HER2 statement (for example a bare "HER2 negative").
    ``technical_failure`` marks a stated pre-analytic or technical failure. ``reported`` is the report's issue
    date. ``excerpt`` keeps the narrative text the result was read from, for the evidence trail. ``notes``
    carries connector observations the clinician should see (conflicts between structured and narrative data,
    a non-companion-diagnostic clone, text that could not be parsed).
    """

    specimen: SpecimenRef = field(default_factory=SpecimenRef)
    ihc: IhcResult | None = None
    ish: IshResult | None = None
    reported_status: ReportedStatus | None = None
    technical_failure: bool = False
    source: SourceRef | None = None
    reported: dt.date | None = None
    excerpt: str | None = None
    notes: tuple[str, ...] = ()
    unparsed: bool = False


class AscoCapStatus(StrEnum):
    """The guideline result per specimen (ASCO/CAP 2018, reaffirmed 2023)."""

    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    EQUIVOCAL_PENDING = "EQUIVOCAL_PENDING"
    INDETERMINATE = "INDETERMINATE"
    UNKNOWN = "UNKNOWN"


class TdxdCategory(StrEnum):
    """The label-facing HER2 expression class (not an ASCO/CAP result category)."""

    HER2_POSITIVE = "HER2_POSITIVE"
    HER2_LOW = "HER2_LOW"
    HER2_ULTRALOW = "HER2_ULTRALOW"
    HER2_NULL = "HER2_NULL"
    HER2_ZERO_UNSPECIFIED = "HER2_ZERO_UNSPECIFIED"
    NEGATIVE_UNSCORED = "NEGATIVE_UNSCORED"
    UNKNOWN = "UNKNOWN"
    NEEDS_REVIEW = "NEEDS_REVIEW"


class Receptor(StrEnum):
    ER = "ER"
    PR = "PR"


class ReceptorCall(StrEnum):
    """ER/PR per ASCO/CAP 2020: positive ≥1 % (ER 1–10 % is 'low positive'), negative <1 %."""

    POSITIVE = "positive"
    LOW_POSITIVE = "low_positive"
    NEGATIVE = "negative"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceptorResult:
    """One ER or PR result. ``percent`` is the share of stained tumour nuclei (0–100), when stated."""

    receptor: Receptor
    percent: float | None = None
    reported_positive: bool | None = None
    specimen: SpecimenRef = field(default_factory=SpecimenRef)
    source: SourceRef | None = None
    reported: dt.date | None = None

    def __post_init__(self) -> None:
        if self.percent is not None and not 0.0 <= self.percent <= 100.0:
            raise RulesError(f"ReceptorResult.percent must be within 0–100 %, got {self.percent}")


class HrStatus(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNKNOWN = "unknown"


# ------------------------------------------------------------------------------------------------------------
# PET


class Tracer(StrEnum):
    ZR89_TRASTUZUMAB = "89Zr-trastuzumab"
    ZR89_PERTUZUMAB = "89Zr-pertuzumab"
    ZR89_SS_PERTUZUMAB = "89Zr-ss-pertuzumab"
    ZR89_MARGETUXIMAB = "89Zr-margetuximab"
    CU64_TRASTUZUMAB = "64Cu-trastuzumab"
    GA68_ABY025 = "68Ga-ABY-025"
    GA68_NANOBODY = "68Ga-anti-HER2-nanobody"
    OTHER_HER2 = "other-HER2"


class ReaderCall(StrEnum):
    AVID = "avid"
    NON_AVID = "non_avid"
    NOT_ASSESSED = "not_assessed"


class LesionOrigin(StrEnum):
    """Who found the lesion, in order of trust: the reader's SR, a segmentation, an automated candidate."""

    READER_SR = "sr"
    SEG = "seg"
    AUTOMATED = "auto"


class LesionSite(StrEnum):
    HEPATIC = "hepatic"
    NON_HEPATIC = "non_hepatic"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class PetLesion:
    """One lesion of one PET series. SUVs are body-weight SUV (g/ml) unless the series says otherwise.

    ``site_code`` is the SNOMED CT concept id of the lesion's coded site (the reader's SR Finding Site, a SEG
    segment's anatomic region, or Liver for a candidate inside the segmented liver); None when not coded.
    ``reader_suv_max`` is the SUVmax the reader's SR states (``suv_max`` is measured on our volume when a
    segment outlines the lesion).
    """

    lesion_id: str
    site: LesionSite = LesionSite.UNKNOWN
    site_text: str | None = None
    site_code: str | None = None
    reader_suv_max: float | None = None
    reader_call: ReaderCall = ReaderCall.NOT_ASSESSED
    origin: LesionOrigin = LesionOrigin.AUTOMATED
    suv_max: float | None = None
    suv_peak: float | None = None
    suv_mean: float | None = None
    volume_ml: float | None = None
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceUptake:
    """Reference-region SUVmean values and how each was obtained (``"reader SR"``,
    ``"automated liver ROI"``)."""

    blood_pool_suvmean: float | None = None
    blood_pool_method: str | None = None
    liver_suvmean: float | None = None
    liver_method: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PetStudyFacts:
    """What one HER2 PET series says, ready for the rules. ``uptake_h`` is acquisition minus injection, in
    hours."""

    study: str
    series: str
    tracer: Tracer
    injected_at: dt.datetime | None = None
    acquired_at: dt.datetime | None = None
    uptake_h: float | None = None
    lesions: tuple[PetLesion, ...] = ()
    references: ReferenceUptake = field(default_factory=ReferenceUptake)
    suv_available: bool = False
    suvbw_max: float | None = None
    caveats: tuple[str, ...] = ()
    source: SourceRef | None = None


# ------------------------------------------------------------------------------------------------------------
# Clinical context


class DrugClass(StrEnum):
    ANTI_HER2 = "anti_her2"
    CHEMO = "chemo"
    ENDOCRINE = "endocrine"


@dataclass(frozen=True, slots=True, kw_only=True)
class TherapyExposure:
    """One course or administration of a drug class, with the days it covers.

    ``start`` and ``end`` are the first and last day of exposure (an administration has ``end == start``).
    ``end`` None with ``ended`` False follows FHIR ``Period`` semantics: the course is ongoing. ``ended`` True
    says the source records the course as over (FHIR status ``completed`` or ``stopped``); with ``end`` None
    the day it ended is then not recorded, and the exposure is never read as lasting up to today.
    """

    drug_class: DrugClass
    code: str | None = None
    display: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    ended: bool = False
    source: SourceRef | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise RulesError(f"TherapyExposure: end {self.end} is before start {self.start}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecentAntiHer2:
    """An anti-HER2 exposure within the window before the PET (modifier (j)).

    ``days_before_pet`` counts from the exposure's last day on or before the PET (0 when ongoing that day).
    """

    therapy: TherapyExposure
    days_before_pet: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicalContext:
    """What the chart says beyond HER2: metastatic disease, therapies, and the order being drafted (if
    any)."""

    metastatic: bool | None = None
    metastatic_since: dt.date | None = None
    hr_status: HrStatus = HrStatus.UNKNOWN
    therapies: tuple[TherapyExposure, ...] = ()
    tdxd_draft_order: bool = False
    pertuzumab_co_order: bool = False


# ------------------------------------------------------------------------------------------------------------
# Decisions (outputs of rules)


@dataclass(frozen=True, slots=True, kw_only=True)
class Her2Assessment:
    """The classification of one test occasion (one specimen, one report): guideline status and T-DXd
    category.

    ``ish_group`` is the dual-probe group the engine used (recomputed from the numbers when given).
    ``evidence`` records the inputs used and the decision-table rows that fired.
    """

    result: Her2Result
    status: AscoCapStatus
    category: TdxdCategory
    ish_group: int | None = None
    evidence: tuple[Evidence, ...] = ()
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientHer2:
    """Patient-level HER2 synthesis.

    ``occasions`` holds one assessment per test occasion, newest first; ``current`` is the newest (None when
    there is none). ``highest`` is the occasion with the highest category (NULL < ZERO_UNSPECIFIED < ULTRALOW
    < LOW < POSITIVE) when it differs from ``current``; ``discordance`` explains differences between specimens
    or over time.
    """

    current: Her2Assessment | None
    occasions: tuple[Her2Assessment, ...] = ()
    highest: Her2Assessment | None = None
    prior_low: Her2Assessment | None = None
    discordance: tuple[str, ...] = ()
    hr_status: HrStatus = HrStatus.UNKNOWN
    receptors: tuple[ReceptorResult, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    caveats: tuple[str, ...] = ()
    rules_version: str = ""


class PetStatus(StrEnum):
    """Whether a HER2 PET study is known for the patient and whether its facts are ready."""

    NONE = "none"
    ANALYSED = "analysed"
    PENDING = "pending"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True, kw_only=True)
class UptakeAssessment:
    """The PET uptake call for one study (reader call first; automated candidates never avid on their own)."""

    lesions_read: bool
    any_avid: bool
    avid_lesions: tuple[PetLesion, ...] = ()
    hepatic_avid: bool = False
    unconfirmed_candidates: int = 0
    within_uptake_window: bool | None = None
    evidence: tuple[Evidence, ...] = ()
    caveats: tuple[str, ...] = ()


class CardScenario(StrEnum):
    """Card topics (spec/clinical-logic.md §14–15); the value is the ``source.topic`` code."""

    HER2_LOW_PET_AVID = "her2-low-pet-avid"  # (a)
    HER2_ZERO_PET_AVID = "her2-zero-pet-avid"  # (b)
    HER2_ULTRALOW = "her2-ultralow"  # (c)
    HER2_POSITIVE_PET_AVID = "her2-positive-pet-avid"  # (d)
    HER2_ZERO_PET_NONAVID = "her2-zero-pet-nonavid"  # (e)
    PET_AVID_NO_PATHOLOGY = "pet-avid-no-pathology"  # (f)
    IHC2_ISH_PENDING = "ihc2-ish-pending"  # (g)
    PAIRING_OUT_OF_WINDOW = "pairing-out-of-window"  # (h)
    HER2_LOW_NO_PET = "her2-low-no-pet"  # (k)
    HER2_UNSCORED_NEGATIVE = "her2-unscored-negative"  # (l)
    HER2_LOW_PET_NONAVID = "her2-low-pet-nonavid"  # (m)
    PET_ANALYSIS_PENDING = "pet-analysis-pending"  # (p)
    DATA_UNAVAILABLE = "data-unavailable"  # (u)
    HEPATIC_LESION = "hepatic-lesion"  # modifier (i)
    RECENT_ANTI_HER2 = "recent-anti-her2"  # modifier (j)
    OUTSIDE_UPTAKE_WINDOW = "outside-uptake-window"  # modifier (w)
    TDXD_ORDER = "tdxd-order-her2-basis"  # (o): a T-DXd order on order-select/order-sign


class SiteConcordance(StrEnum):
    """How the biopsied site relates to the lesions read on HER2 PET (organ level, best effort).

    ``BIOPSIED_AVID``: the biopsied organ holds an avid lesion. ``BIOPSIED_NON_AVID``: it holds a lesion
    read not avid, and no avid lesion. ``NOT_AMONG_READ``: no lesion read on PET lies in the biopsied organ.
    Each of the last two needs every relevant lesion's organ to be known; otherwise ``UNKNOWN`` (also when the
    biopsied site is not coded or no lesion was read).
    """

    BIOPSIED_AVID = "biopsied_avid"
    BIOPSIED_NON_AVID = "biopsied_non_avid"
    NOT_AMONG_READ = "not_among_read"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteComparison:
    """The biopsied site against the PET read: ``biopsied`` is the specimen's organ (None when not coded),
    ``avid_sites`` the organ of each avid lesion (``"site not coded"`` when unknown), in lesion order."""

    outcome: SiteConcordance
    biopsied: str | None = None
    avid_sites: tuple[str, ...] = ()
    explanation: str = ""


class OrderBasis(StrEnum):
    """What the HER2 basis says about the labelled indications when T-DXd is ordered (card (o) variant)."""

    HER2_POSITIVE = "her2_positive"
    HER2_LOW = "her2_low"
    HER2_ULTRALOW = "her2_ultralow"
    HER2_NULL = "her2_null"
    HER2_ZERO_UNSPECIFIED = "her2_zero_unspecified"
    ZERO_EARLIER_HIGHER = "zero_earlier_higher"
    NEGATIVE_UNSCORED = "negative_unscored"
    ISH_PENDING = "ish_pending"
    UNCLASSIFIABLE = "unclassifiable"
    NO_PATHOLOGY = "no_pathology"
    SOURCE_UNREACHABLE = "source_unreachable"


class IndicationStatus(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionCheck:
    """One criterion of a label row with its verdict and the reason (what the chart says or lacks)."""

    name: str
    status: IndicationStatus
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicationCheck:
    """One FDA label row (spec/clinical-logic.md §11) checked against the chart: never 'eligible', only
    met/not/unknown.

    ``short`` is the row's short name for cards and ``basis`` its trial and approval date; ``criteria`` every
    criterion of the row with its verdict, in label order; ``reasons`` the same reasons as text, plus notes
    that are not criteria. ``category_open`` is False when the patient's HER2 category alone excludes the row
    (cards then leave the row out).
    """

    row: str
    description: str
    status: IndicationStatus
    reasons: tuple[str, ...] = ()
    short: str = ""
    criteria: tuple[CriterionCheck, ...] = ()
    category_open: bool = True
    basis: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessInputs:
    """Everything ``rules.assess.assess`` needs, already translated into domain objects by the connectors.

    ``unavailable_sources`` names source systems that could not be reached (``"FHIR server"``, ``"PACS"``).
    ``tdxd_order`` is set by an order hook (order-select, order-sign) whose draft orders contain T-DXd: the
    answer then always carries card (o) with the HER2 basis for the labelled indications.
    ``pet_index_stale`` says the index of PET studies was not brought up to date recently
    (``pet_index_updated_at``: when it last was, timezone-aware; None: never), so newer studies may be
    missing.
    """

    her2_results: tuple[Her2Result, ...] = ()
    receptors: tuple[ReceptorResult, ...] = ()
    context: ClinicalContext = field(default_factory=ClinicalContext)
    pet: PetStudyFacts | None = None
    pet_status: PetStatus = PetStatus.NONE
    pending_pet_date: dt.date | None = None
    pet_index_stale: bool = False
    pet_index_updated_at: dt.datetime | None = None
    unavailable_sources: tuple[str, ...] = ()
    pathology_cards_enabled: bool = True
    tdxd_order: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """The single output of ``rules.assess.assess``: what the cards are built from.

    ``cards`` lists the scenarios to render, in order: card (o) first on a T-DXd order, then the main
    scenario, then (h), (p), (u) and the modifiers (i), (j), (w). A modifier never appears alone.
    ``site`` compares the biopsied site with the PET read (None without a PET read or pathology);
    ``order_basis`` is the variant of card (o) (None unless it is shown); ``anti_her2`` the anti-HER2
    exposure behind modifier (j), if any. ``pet_index_stale`` and ``pet_index_updated_at`` are the inputs'
    (the cards state a stale PET index).
    """

    her2: PatientHer2
    uptake: UptakeAssessment | None
    pairing_gap_days: int | None
    scenario: CardScenario | None
    cards: tuple[CardScenario, ...]
    indications: tuple[IndicationCheck, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    caveats: tuple[str, ...] = ()
    rules_version: str = ""
    pet: PetStudyFacts | None = None
    pending_pet_date: dt.date | None = None
    unavailable_sources: tuple[str, ...] = ()
    site: SiteComparison | None = None
    order_basis: OrderBasis | None = None
    anti_her2: RecentAntiHer2 | None = None
    pet_index_stale: bool = False
    pet_index_updated_at: dt.datetime | None = None
