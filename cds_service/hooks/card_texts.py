"""Every sentence a card can say, as reviewed wording: templates whose ``{fields}`` are filled with values.

Card wording changes only here (ARCHITECTURE §2). ``cards.py`` assembles cards from these templates and adds
nothing of its own: every line of a summary or a detail is exactly one :class:`Template` rendered with values
(dates, scores, counts, names from the display vocabulary, or data read from the chart such as an assay or a
FHIR reference). A unit test renders cards for every scenario across generated assessments and checks every
emitted line against this closed set (``Template.pattern``), against the wording of
``spec/clinical-logic.md`` §15 and against the "never claim" rules; ``docs/card-wording.md`` lists the set for
review and is compared with :func:`wording_markdown` by a test, so a change of wording shows in review.

Figures carry their source: every number a template states is followed by a short citation whose complete
reference is in the card's reference list (``ScenarioText.references``). No card names a statistical test,
says "eligible", or claims that PET confirms, excludes or overrides pathology (§15 "never claim").
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from cds_service.hooks.models import Indicator
from rules.domain import CardScenario as S
from rules.domain import OrderBasis as O
from rules.domain import SiteConcordance
from rules.parameters import PAIRING_WINDOW_DAYS, RECENT_ANTI_HER2_DAYS

# ------------------------------------------------------------------------------------------------------------
# Templates and their fields

_NUMBER = r"(?:\d+(?:\.\d+)?|n/a)"
_DATE = r"(?:\d{4}-\d{2}-\d{2}|date unknown)"
_DATA = r"[^\n]{1,160}?"
_PERCENT = r"\d+(?:\.\d+)? %"
_STAINING_PART = (
    rf"(?:complete intense {_PERCENT}|complete {_PERCENT}|incomplete faint {_PERCENT}"
    r"|incomplete moderate-to-intense staining present)"
)
_SCORE = r"(?:0|1\+|2\+|3\+|not stated)(?: to (?:0|1\+|2\+|3\+) \(range\))?(?: \((?:null|ultralow)\))?"

FIELD_PATTERNS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "date": _DATE,
        "pet_date": _DATE,
        "specimen_date": _DATE,
        "days": r"\d+",
        "count": r"\d+",
        "hours": r"\d+",
        "window": r"\d+",
        "version": r"\d+\.\d+\.\d+",
        "ratio": _NUMBER,
        "her2": _NUMBER,
        "cep17": _NUMBER,
        "group": r"(?:; group [1-5])?",
        "score": _SCORE,
        "probe": r"(?:dual|single)",
        "status": r"(?:positive|negative|equivocal|indeterminate|pending)",
        "hr": r"(?:positive|negative|unknown)",
        "site": r"(?:primary tumour|metastasis|site not stated)(?: \([^\n]{1,120}\))?",
        "staining": rf"{_STAINING_PART}(?:, {_STAINING_PART})*",
        "lesions": r"[^\n]{1,300}",
        "assay": _DATA,
        "ref": _DATA,
        "tracer": _DATA,
        "category": _DATA,
        "current": _DATA,
        "highest": _DATA,
        "biopsied": _DATA,
        "avid_sites": _DATA,
        "row": r"(?:A|B|C|D|TA)",
        "short": _DATA,
        "basis": _DATA,
        "names": _DATA,
        "titles": r"[^\n]{1,400}",
        "title": _DATA,
        "sources": _DATA,
        "drug": _DATA,
        "reference": _DATA,
    }
)
"""What each field may hold: the test builds each template's pattern from these. Fields filled from the
display vocabulary (category, tracer, row names, titles) or from the chart (assay, FHIR reference, lesion
sites) accept text; every other field accepts a date, a number or one word of a fixed set."""


@dataclass(frozen=True, slots=True)
class Template:
    """One reviewed sentence (or markdown line) with ``{field}`` slots named in ``FIELD_PATTERNS``."""

    text: str

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.text) if name)

    def render(self, **values: object) -> str:
        """The sentence with its fields filled; raises ``KeyError`` for a missing field."""
        return self.text.format(**{k: values[k] for k in self.fields})

    @property
    def pattern(self) -> re.Pattern[str]:
        """A regular expression that matches exactly the renderings of this template."""
        parts: list[str] = []
        for literal, name, _, _ in string.Formatter().parse(self.text):
            parts.append(re.escape(literal))
            if name:
                parts.append(f"(?:{FIELD_PATTERNS[name]})")
        return re.compile("".join(parts))


T = Template

# ------------------------------------------------------------------------------------------------------------
# References (complete; every figure on a card cites one of these)

REF_ASCO_CAP: Final = T(
    "Wolff AC et al. J Clin Oncol 2018;36(20):2105–22; Wolff AC et al. J Clin Oncol 2023;41(22):3867–72 "
    "(ASCO/CAP HER2 testing)."
)
REF_LABEL: Final = T(
    "ENHERTU (fam-trastuzumab deruxtecan-nxki) US Prescribing Information, BLA 761139, revised December 2025."
)
REF_DB04: Final = T("Modi S et al. N Engl J Med 2022;387(1):9–20 (DESTINY-Breast04).")
REF_DB06: Final = T("Bardia A et al. N Engl J Med 2024;391(22):2110–22 (DESTINY-Breast06).")
REF_YEH: Final = T("Yeh R et al. J Nucl Med 2025;66(6):873–9.")
REF_ROBBINS: Final = T("Robbins CJ et al. Mod Pathol 2023;36(1):100032.")
REF_AUSTRALIAN: Final = T(
    "Australian HER2-Low Breast Cancer Concordance Study. Mod Pathol 2024;37(8):100535."
)
REF_MIGLIETTA: Final = T("Miglietta F et al. NPJ Breast Cancer 2021;7:137.")
REF_DEHDASHTI: Final = T(
    "Dehdashti F et al. Evaluation of [89Zr]trastuzumab-PET/CT in differentiating HER2-positive from "
    "HER2-negative breast cancer. Breast Cancer Res Treat 2018 (PMCID PMC5955803)."
)
REF_DIJKERS: Final = T("Dijkers EC et al. Clin Pharmacol Ther 2010;87(5):586–92.")

REFERENCES: Final = (
    REF_ASCO_CAP,
    REF_LABEL,
    REF_DB04,
    REF_DB06,
    REF_YEH,
    REF_ROBBINS,
    REF_AUSTRALIAN,
    REF_MIGLIETTA,
    REF_DEHDASHTI,
    REF_DIJKERS,
)
"""Every reference a card can list, also shown on the ``/clinical-basis`` page."""

# ------------------------------------------------------------------------------------------------------------
# Shared sentences

INVESTIGATIONAL: Final = "HER2 PET tracers are investigational radiopharmaceuticals."
"""Shown on every card that mentions PET (§15)."""
INVESTIGATIONAL_LINE: Final = T(INVESTIGATIONAL)
VERSION_LINE: Final = T(
    "_Rules version {version}. Supports review; the decision remains with the clinician._"
)
HEADING_BASIS: Final = T("**Basis**")
HEADING_ROWS: Final = T("**FDA label rows (ENHERTU US Prescribing Information)**")
HEADING_REFERENCES: Final = T("**References**")

LABEL_LOW: Final = T(
    "Labelled HER2-low settings: any HR status after chemotherapy for metastatic disease or recurrence "
    "within 6 months of adjuvant chemotherapy (DESTINY-Breast04); HR-positive after at least one endocrine "
    "therapy in the metastatic setting (DESTINY-Breast06). Boxed warnings: ILD/pneumonitis (adjudicated "
    "drug-related ILD 12.1 % in DESTINY-Breast04) and embryo-fetal toxicity."
)
LABEL_POSITIVE: Final = T(
    "Labelled HER2-positive settings (IHC 3+ or ISH-positive): with pertuzumab as first-line treatment, by "
    "an FDA-approved test (DESTINY-Breast09, FDA 15 Dec 2025); after a prior anti-HER2 regimen for "
    "metastatic disease, or recurrence during or within 6 months of (neo)adjuvant therapy (DESTINY-Breast03, "
    "FDA May 2022). Boxed warnings: interstitial lung disease/pneumonitis and embryo-fetal toxicity."
)
LABEL_ULTRALOW: Final = T(
    "FDA (27 Jan 2025) approved T-DXd for HR-positive HER2-ultralow unresectable or metastatic breast cancer "
    "that progressed on at least one endocrine therapy in the metastatic setting, with HER2 status by an "
    "FDA-approved test. The DESTINY-Breast06 ultralow subgroup (n = 153) is exploratory."
)
REREVIEW_OPTIONS: Final = T(
    "Options: obtain the numeric IHC score; request re-review per ASCO/CAP 2023 0-vs-1+ practice; if "
    "HR-positive, ask about ultralow staining; consider biopsy of the most avid accessible lesion. The "
    "pathology result remains the basis of any T-DXd decision."
)
ISH_PENDING_TEXT: Final = T(
    "IHC 2+ is equivocal and goes to reflex ISH (ISH-negative: HER2-low; ISH-positive: HER2-positive); the "
    "two lead to different labelled indications."
)
UNSCORED_TEXT: Final = T(
    "Since 2022, IHC 0 vs 1+ (and, for HR-positive disease, ultralow staining) decides which T-DXd labelled "
    "settings can apply; a bare 'negative' cannot be placed. Options: obtain the numeric IHC score; request "
    "re-review per ASCO/CAP 2023 practice."
)
HEPATIC_TEXT: Final = T(
    "In hepatic lesions, 89Zr-trastuzumab SUVmax did not differ significantly between patients with "
    "HER2-positive and HER2-negative disease (Dehdashti 2018, p = 0.42); normal liver takes up the tracer "
    "(Dijkers 2010)."
)
MIGLIETTA_TEXT: Final = (
    "HER2 class changed between primary tumour and relapse in 38 % of 547 patients (Miglietta 2021)"
)

ZERO_NONAVID_UNPAIRED: Final = T(
    "Pathology HER2-0 and no HER2-avid lesions on PET. A negative HER2 PET does not exclude HER2-low or "
    "ultralow disease."
)
"""Card (e) when the biopsied site is not shown to be a lesion read not avid ("concordant" is not claimed)."""

# ------------------------------------------------------------------------------------------------------------
# Scenario wording


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioText:
    """Fixed wording of one scenario: title (topic display), indicator, summary template, paragraphs and the
    complete references of every figure the card can state. ``variants`` hold alternative summaries keyed by
    the variant they express (a site comparison, a report that could not be classified, an order basis)."""

    title: str
    indicator: Indicator
    summary: Template
    paragraphs: tuple[Template, ...]
    references: tuple[Template, ...]
    variants: Mapping[str, Template] = field(default_factory=dict)


SITE_MISMATCH = "site-mismatch"
SITE_UNKNOWN = "site-unknown"
UNCLASSIFIABLE = "unclassifiable"
UNDATED = "undated"

TEXTS: Final[Mapping[S, ScenarioText]] = MappingProxyType(
    {
        S.HER2_LOW_PET_AVID: ScenarioText(
            title="HER2-low with HER2-avid lesion(s)",
            indicator=Indicator.INFO,
            summary=T(
                "HER2-low on pathology and HER2 PET shows avid lesion(s): consistent with HER2 expression. "
                "Review T-DXd eligibility per label."
            ),
            variants={
                SITE_MISMATCH: T(
                    "HER2-low on pathology; the avid lesion(s) on HER2 PET were not biopsied. Review T-DXd "
                    "eligibility per label."
                ),
                SITE_UNKNOWN: T(
                    "HER2-low on pathology; HER2 PET shows avid lesion(s), not matched to the biopsied site. "
                    "Review T-DXd eligibility per label."
                ),
            },
            paragraphs=(
                T(
                    "Eligibility rests on the pathology result (IHC 1+ or 2+/ISH-negative) from an "
                    "FDA-approved test, not on the PET. In a retrospective paired series (Yeh 2025), every "
                    "avid lesion once called 'false positive' was HER2-low on pathology."
                ),
                LABEL_LOW,
            ),
            references=(REF_YEH, REF_LABEL, REF_DB04, REF_DB06),
        ),
        S.HER2_ZERO_PET_AVID: ScenarioText(
            title="HER2-0 or legacy 'negative' with HER2-avid lesion(s)",
            indicator=Indicator.WARNING,
            summary=T(
                "Pathology HER2-0/'negative' but HER2 PET shows avid lesion(s). Consider IHC re-review (0 vs "
                "1+/ultralow) or biopsy of an avid lesion."
            ),
            paragraphs=(
                T(
                    "In Yeh 2025, avid lesions formerly called false positive (HER2-negative) were HER2-low "
                    "on the original pathology. Reads of 0 vs 1+ are poorly reproducible: 25 % overall "
                    "agreement on IHC 0 among 18 pathologists (Robbins 2023); 7 of 17 local IHC 0 cases were "
                    "HER2-low on "
                    "consensus review (Australian study 2024). " + MIGLIETTA_TEXT + "."
                ),
                REREVIEW_OPTIONS,
            ),
            references=(REF_YEH, REF_ROBBINS, REF_AUSTRALIAN, REF_MIGLIETTA, REF_ASCO_CAP),
        ),
        S.HER2_ULTRALOW: ScenarioText(
            title="HER2-ultralow",
            indicator=Indicator.INFO,
            summary=T(
                "HER2-ultralow (IHC 0 with membrane staining). Labeled for HR+ disease after endocrine "
                "therapy; HER2 PET not validated for ultralow."
            ),
            paragraphs=(
                LABEL_ULTRALOW,
                T(
                    "Yeh 2025 had no ultralow class and very few HER2-0 lesions; HER2 PET has not been "
                    "studied for ultralow disease. Ultralow reads are less reproducible than HER2-low reads."
                ),
            ),
            references=(REF_LABEL, REF_DB06, REF_YEH, REF_ASCO_CAP),
        ),
        S.HER2_POSITIVE_PET_AVID: ScenarioText(
            title="HER2-positive with HER2-avid lesions",
            indicator=Indicator.INFO,
            summary=T(
                "HER2-positive on pathology with HER2-avid lesions: concordant. HER2-low pathway does not "
                "apply; follow HER2-positive guidance."
            ),
            variants={
                SITE_MISMATCH: T(
                    "HER2-positive on pathology; the HER2-avid lesions were not biopsied. HER2-low pathway "
                    "does not apply; follow HER2-positive guidance."
                ),
                SITE_UNKNOWN: T(
                    "HER2-positive on pathology; HER2-avid lesions not matched to the biopsied site. Follow "
                    "HER2-positive guidance."
                ),
            },
            paragraphs=(
                T(
                    "T-DXd has separate HER2-positive labelled indications (rows A and B). Uptake cannot "
                    "grade HER2 expression: in Yeh 2025, HER2-low lesions did not show lower uptake than "
                    "HER2-positive lesions."
                ),
                T(
                    "Non-avid lesions may reflect heterogeneity: uptake differed between lesions of one "
                    "patient in 20 % of patients with several lesions (Dehdashti 2018). Consider biopsy if a "
                    "decision depends on them."
                ),
            ),
            references=(REF_LABEL, REF_YEH, REF_DEHDASHTI),
        ),
        S.HER2_ZERO_PET_NONAVID: ScenarioText(
            title="HER2-0 with no HER2-avid lesions",
            indicator=Indicator.INFO,
            summary=T(
                "Pathology HER2-0 and no HER2-avid lesions: concordant. A negative HER2 PET does not exclude "
                "HER2-low or ultralow disease."
            ),
            variants={SITE_MISMATCH: ZERO_NONAVID_UNPAIRED, SITE_UNKNOWN: ZERO_NONAVID_UNPAIRED},
            paragraphs=(
                T(
                    "Separating HER2-0 from HER2-expressing disease with PET is hypothesis-generating only "
                    "(very few HER2-0 lesions in Yeh 2025). Sensitivity is limited: in hepatic lesions, "
                    "89Zr-trastuzumab SUVmax did not differ significantly between patients with "
                    "HER2-positive and HER2-negative disease (Dehdashti 2018, p = 0.42), and small lesions "
                    "lose signal to partial-volume effects."
                ),
                T(
                    "If HR-positive, consider IHC re-review for ultralow staining; the pathology result "
                    "remains the basis of any T-DXd decision."
                ),
            ),
            references=(REF_YEH, REF_DEHDASHTI, REF_ASCO_CAP),
        ),
        S.PET_AVID_NO_PATHOLOGY: ScenarioText(
            title="HER2-avid lesion(s) without usable pathology",
            indicator=Indicator.WARNING,
            summary=T(
                "HER2-avid lesion(s) on PET but no HER2 IHC/ISH on file. Locate or obtain pathology; PET "
                "alone cannot establish T-DXd eligibility."
            ),
            variants={
                UNCLASSIFIABLE: T(
                    "HER2-avid lesion(s) on PET; the HER2 result on file could not be classified. Review the "
                    "report; PET alone cannot establish eligibility."
                ),
            },
            paragraphs=(
                T(
                    "The label requires HER2 status by an FDA-approved test. Retrieve the latest HER2 report "
                    "(check scanned documents) or consider biopsy of an avid accessible lesion. Uptake did "
                    "not separate HER2-low from HER2-positive lesions in Yeh 2025."
                ),
            ),
            references=(REF_LABEL, REF_YEH),
        ),
        S.IHC2_ISH_PENDING: ScenarioText(
            title="HER2 IHC 2+ with ISH pending",
            indicator=Indicator.WARNING,
            summary=T(
                "HER2 IHC 2+ with ISH pending: HER2-low vs HER2-positive unresolved. PET uptake (SUVmax) "
                "cannot resolve it; await ISH."
            ),
            paragraphs=(T(ISH_PENDING_TEXT.text + " In Yeh 2025, SUVmax did not separate them."),),
            references=(REF_ASCO_CAP, REF_LABEL, REF_YEH),
        ),
        S.PAIRING_OUT_OF_WINDOW: ScenarioText(
            title="HER2 PET and pathology far apart",
            indicator=Indicator.WARNING,
            summary=T(
                "HER2 PET and HER2 pathology are >{window} days apart, outside the window studied (≤2 "
                "months). Interpret the pairing with caution."
            ),
            paragraphs=(
                T(
                    "Yeh 2025 paired PET and biopsy within 2 months only. " + MIGLIETTA_TEXT + ", and it may "
                    "change after therapy. The most recent metastatic sample, or a re-biopsy if the decision "
                    "depends on it, is the better basis."
                ),
            ),
            references=(REF_YEH, REF_MIGLIETTA),
        ),
        S.HER2_LOW_NO_PET: ScenarioText(
            title="HER2-low on pathology",
            indicator=Indicator.INFO,
            summary=T(
                "HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review T-DXd eligibility per label."
            ),
            paragraphs=(LABEL_LOW, T("A HER2 PET is not needed for this review.")),
            references=(REF_LABEL, REF_DB04, REF_DB06),
        ),
        S.HER2_UNSCORED_NEGATIVE: ScenarioText(
            title="Legacy 'HER2-negative' without an IHC score",
            indicator=Indicator.WARNING,
            summary=T(
                "HER2 reported 'negative' without an IHC score. HER2-low or ultralow may qualify for T-DXd: "
                "obtain the score or re-review."
            ),
            paragraphs=(UNSCORED_TEXT,),
            references=(REF_ASCO_CAP, REF_LABEL),
        ),
        S.HER2_LOW_PET_NONAVID: ScenarioText(
            title="HER2-low with no HER2-avid lesion",
            indicator=Indicator.INFO,
            summary=T(
                "HER2-low on pathology; no HER2-avid lesion on PET. Eligibility rests on pathology; a "
                "non-avid PET does not exclude HER2-low."
            ),
            paragraphs=(
                T(
                    "PET sensitivity for HER2-low disease is limited (partial-volume loss in small lesions, "
                    "high liver background). The pathology result from an FDA-approved test remains the "
                    "basis."
                ),
                LABEL_LOW,
            ),
            references=(REF_LABEL, REF_DB04, REF_DB06),
        ),
        S.PET_ANALYSIS_PENDING: ScenarioText(
            title="HER2 PET analysis pending",
            indicator=Indicator.INFO,
            summary=T(
                "A HER2 PET study from {date} is being analysed; PET findings will appear on the next chart "
                "opening."
            ),
            variants={
                UNDATED: T(
                    "A HER2 PET study is being analysed; PET findings will appear on the next chart opening."
                )
            },
            paragraphs=(T("The PET study is analysed in the background so that the chart is not delayed."),),
            references=(),
        ),
        S.DATA_UNAVAILABLE: ScenarioText(
            title="Data source unavailable",
            indicator=Indicator.INFO,
            summary=T(
                "{sources} could not be reached; this HER2 review is incomplete. Check the chart directly."
            ),
            paragraphs=(
                T("A source system did not answer in time. No clinical statement is made from partial data."),
            ),
            references=(),
        ),
        S.HEPATIC_LESION: ScenarioText(
            title="Avid lesion in the liver",
            indicator=Indicator.WARNING,
            summary=T(
                "Avid lesion is in the liver, where background uptake is high. Lesion-level call is less "
                "reliable; confirm visually."
            ),
            paragraphs=(HEPATIC_TEXT,),
            references=(REF_DEHDASHTI, REF_DIJKERS),
        ),
        S.RECENT_ANTI_HER2: ScenarioText(
            title="Recent anti-HER2 antibody before PET",
            indicator=Indicator.WARNING,
            summary=T(
                "Anti-HER2 antibody given within the configured window before HER2 PET. Tracer uptake may be "
                "altered; interpret with caution."
            ),
            paragraphs=(
                T(
                    "Circulating anti-HER2 antibody changes tracer distribution: the 89Zr-trastuzumab "
                    "antibody dose needed for imaging differed between patients on and off trastuzumab "
                    "(Dijkers 2010). The effect size on lesion calls is not established."
                ),
            ),
            references=(REF_DIJKERS,),
        ),
        S.OUTSIDE_UPTAKE_WINDOW: ScenarioText(
            title="PET outside the usual uptake window",
            indicator=Indicator.INFO,
            summary=T(
                "HER2 PET acquired outside the usual uptake window for this tracer. Quantitative values are "
                "not comparable with published data."
            ),
            paragraphs=(
                T(
                    "Uptake changes with time after injection; published values refer to the tracer's usual "
                    "window."
                ),
            ),
            references=(),
        ),
        S.TDXD_ORDER: ScenarioText(
            title="T-DXd order: HER2 basis for the labelled indications",
            indicator=Indicator.INFO,
            summary=T("T-DXd order: HER2 basis on file. Review against the labelled indications."),
            paragraphs=(),
            references=(REF_LABEL,),
        ),
    }
)
"""Wording of every scenario (card (o) takes its summary and paragraphs from ``ORDER_TEXTS``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderText:
    """Card (o) for one HER2 basis: indicator, summary, paragraphs and references."""

    indicator: Indicator
    summary: Template
    paragraphs: tuple[Template, ...]
    references: tuple[Template, ...]


ORDER_TEXTS: Final[Mapping[O, OrderText]] = MappingProxyType(
    {
        O.HER2_POSITIVE: OrderText(
            indicator=Indicator.INFO,
            summary=T(
                "T-DXd order: HER2-positive on pathology. Review against the HER2-positive labelled "
                "indications (rows A and B)."
            ),
            paragraphs=(LABEL_POSITIVE,),
            references=(REF_LABEL,),
        ),
        O.HER2_LOW: OrderText(
            indicator=Indicator.INFO,
            summary=T(
                "T-DXd order: HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review against the HER2-low "
                "labelled indications."
            ),
            paragraphs=(LABEL_LOW,),
            references=(REF_LABEL, REF_DB04, REF_DB06),
        ),
        O.HER2_ULTRALOW: OrderText(
            indicator=Indicator.INFO,
            summary=T(
                "T-DXd order: HER2-ultralow on pathology. Labelled only for HR+ disease after endocrine "
                "therapy; review per label."
            ),
            paragraphs=(LABEL_ULTRALOW,),
            references=(REF_LABEL, REF_DB06),
        ),
        O.HER2_NULL: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: HER2-null on pathology; no labelled breast indication on file. Consider IHC "
                "re-review (0 vs 1+/ultralow)."
            ),
            paragraphs=(
                T(
                    "No FDA-labelled T-DXd breast indication covers HER2-null (IHC 0 without membrane "
                    "staining); the HER2-low and HER2-ultralow settings need IHC 1+, 2+/ISH-negative, or 0 "
                    "with membrane staining. Options: request IHC re-review per ASCO/CAP 2023 0-vs-1+ "
                    "practice; if HR-positive, ask about ultralow staining; consider a new biopsy if the "
                    "decision depends on it."
                ),
            ),
            references=(REF_LABEL, REF_ASCO_CAP),
        ),
        O.HER2_ZERO_UNSPECIFIED: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: IHC 0 with no staining statement; no labelled breast indication on file. "
                "Consider re-review for ultralow or 1+."
            ),
            paragraphs=(
                T(
                    "IHC 0 without a statement on membrane staining cannot be placed: HER2-ultralow (IHC 0 "
                    "with membrane staining) is labelled for HR-positive disease after endocrine therapy; "
                    "HER2-null is not labelled. Options: ask the laboratory whether membrane staining was "
                    "present; request re-review per ASCO/CAP 2023 practice."
                ),
            ),
            references=(REF_LABEL, REF_ASCO_CAP),
        ),
        O.ZERO_EARLIER_HIGHER: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: latest HER2 result {current}; an earlier specimen was {highest}. Review which "
                "specimen the decision rests on."
            ),
            paragraphs=(
                T(
                    "The ASCO/CAP 2023 update asks to consider prior or concurrent samples before concluding "
                    "IHC 0. Which specimen the label decision rests on is a clinical judgement; re-review or "
                    "a new biopsy may settle it."
                ),
            ),
            references=(REF_ASCO_CAP, REF_LABEL),
        ),
        O.NEGATIVE_UNSCORED: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: HER2 'negative' without an IHC score; no labelled indication can be placed. "
                "Obtain the score or re-review."
            ),
            paragraphs=(UNSCORED_TEXT,),
            references=(REF_ASCO_CAP, REF_LABEL),
        ),
        O.ISH_PENDING: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: HER2 IHC 2+ with ISH pending; HER2-low vs HER2-positive unresolved. Await ISH "
                "before review per label."
            ),
            paragraphs=(ISH_PENDING_TEXT,),
            references=(REF_ASCO_CAP, REF_LABEL),
        ),
        O.UNCLASSIFIABLE: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: the HER2 result on file could not be classified. The label requires HER2 "
                "status by an FDA-approved test."
            ),
            paragraphs=(
                T(
                    "Review the HER2 report on file; the text it was read from is on the evidence page. No "
                    "labelled indication can be placed until the HER2 class is known."
                ),
            ),
            references=(REF_LABEL,),
        ),
        O.NO_PATHOLOGY: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: no HER2 IHC/ISH result on file. The label requires HER2 status by an "
                "FDA-approved test."
            ),
            paragraphs=(
                T(
                    "No HER2 IHC or ISH result was found in the chart; check scanned documents and outside "
                    "reports. No labelled indication can be placed until the HER2 class is known."
                ),
            ),
            references=(REF_LABEL,),
        ),
        O.SOURCE_UNREACHABLE: OrderText(
            indicator=Indicator.WARNING,
            summary=T(
                "T-DXd order: no HER2 result could be read (a source was unreachable). Check the pathology "
                "directly."
            ),
            paragraphs=(T("No statement about the labelled indications is made from partial data."),),
            references=(),
        ),
    }
)
"""Card (o), one wording per HER2 basis (``rules.scenarios.ORDER_BASIS_TABLE``)."""

# ------------------------------------------------------------------------------------------------------------
# Detail lines

HR_NEGATIVE_ULTRALOW: Final = T(
    "HR status on file is negative: the HER2-ultralow labelled setting (HR-positive disease) does not apply."
)

NO_PATHOLOGY_LINE: Final = T("- Pathology: no HER2 IHC/ISH result on file.")
SPECIMEN_LINE: Final = T("- Specimen: collected {date}, {site}.")
IHC_LINE: Final = T("- HER2 IHC {score}; assay {assay}.")
STAINING_LINE: Final = T("- Membrane staining (invasive cells): {staining}.")
ISH_LINE: Final = T(
    "- HER2 ISH ({probe}-probe): HER2/CEP17 ratio {ratio}, HER2 {her2} and CEP17 {cep17} signals/cell{group}."
)
ISH_PENDING_LINE: Final = T("- HER2 ISH: pending.")
LAB_STATEMENT_LINE: Final = T("- Laboratory statement: {status}.")
CATEGORY_LINE: Final = T("- HER2 class for T-DXd: {category}.")
EARLIER_LINE: Final = T("- Earlier specimen (collected {date}): {category}.")
SOURCE_LINE: Final = T("- Source: {ref}, reported {date}.")
SOURCE_UNDATED_LINE: Final = T("- Source: {ref}.")
HR_LINE: Final = T("- HR status: {hr}.")
PET_LINE: Final = T("- HER2 PET: {date}, {tracer}, {hours} h after injection.")
PET_NO_UPTAKE_LINE: Final = T("- HER2 PET: {date}, {tracer}.")
AVID_LINE: Final = T("- Avid lesions (reader call): {lesions}.")
AVID_MORE: Final = T("{count} more on the evidence page")
AVID_COUNT: Final = T("{count}, listed on the evidence page")
NONAVID_LINE: Final = T("- No lesion read as avid ({count} read).")
UNCONFIRMED_LINE: Final = T("- Automated candidates without a reader call: {count} (never counted as avid).")
NO_SUV_LINE: Final = T("- SUV not computable from this series (see the evidence page).")
INTERVAL_LINE: Final = T("- PET–pathology interval: {days} days.")
PAIRING_DATES_LINE: Final = T(
    "- HER2 PET {pet_date}; specimen collected {specimen_date}: {days} days apart (window {window} days)."
)
HEPATIC_LESIONS_LINE: Final = T("- Avid liver lesion(s): {lesions}.")
ANTI_HER2_LINE: Final = T(
    "- Anti-HER2 antibody {days} day(s) before the HER2 PET (window {window} days): {drug}."
)
UPTAKE_LINE: Final = T(
    "- Uptake time: {hours} h after injection ({tracer}); usual window on the evidence page."
)
UNREACHABLE_LINE: Final = T("- Unreachable: {sources}.")
MAIN_CARD_LINE: Final = T("- Basis: see the card “{title}”.")
PATHOLOGY_ON_ORDER_LINE: Final = T("- Pathology, HR status and label rows: see the card “{title}”.")
EXTRA_CARDS_LINE: Final = T("- Shown as separate cards: {titles}.")
PET_INDEX_STALE_LINE: Final = T(
    "- HER2 PET index last updated {date}: PET studies stored since then are not included."
)
PET_INDEX_NEW_LINE: Final = T("- HER2 PET index not updated yet: HER2 PET studies may be missing.")
CAVEATS_LINE: Final = T("- Caveats recorded: {count}; see the evidence page.")
EVIDENCE_PAGE_LINE: Final = T("- Every lesion, the evidence trail and the sources are on the evidence page.")

SITE_LINES: Final[Mapping[tuple[SiteConcordance, bool], Template]] = MappingProxyType(
    {
        (SiteConcordance.BIOPSIED_AVID, True): T(
            "- Biopsied site ({biopsied}) is an avid lesion on HER2 PET."
        ),
        (SiteConcordance.BIOPSIED_NON_AVID, True): T(
            "- Biopsied site ({biopsied}) was read not avid; the avid lesion(s) ({avid_sites}) were not "
            "biopsied."
        ),
        (SiteConcordance.NOT_AMONG_READ, True): T(
            "- Biopsied site ({biopsied}) is not among the lesions read; the avid lesion(s) ({avid_sites}) "
            "were not biopsied."
        ),
        (SiteConcordance.UNKNOWN, True): T(
            "- Whether the biopsied site is an avid lesion cannot be told: sites not coded."
        ),
        (SiteConcordance.BIOPSIED_NON_AVID, False): T(
            "- Biopsied site ({biopsied}) was read not avid on HER2 PET."
        ),
        (SiteConcordance.NOT_AMONG_READ, False): T(
            "- Biopsied site ({biopsied}) is not among the lesions read on HER2 PET."
        ),
        (SiteConcordance.UNKNOWN, False): T(
            "- Whether the biopsied site was read on HER2 PET cannot be told: sites not coded."
        ),
    }
)
"""The biopsied site against the PET read, keyed by (outcome, any avid lesion)."""

ROW_MET: Final = T("- Row {row}, {short} ({basis}): criteria on file met.")
ROW_UNKNOWN: Final = T("- Row {row}, {short} ({basis}): not determinable from the chart: {names}.")
ROW_NOT_MET: Final = T("- Row {row}, {short} ({basis}): not met: {names}.")
ROWS_NONE_OPEN: Final = T("- No labelled row is open for this HER2 class; every row is on the evidence page.")
ROWS_ELSEWHERE: Final = T("- The label rows and their criteria are on the evidence page.")

STAINING_PARTS: Final[Mapping[str, Template]] = MappingProxyType(
    {
        "complete_intense": T("complete intense {count} %"),
        "complete_any": T("complete {count} %"),
        "incomplete_faint": T("incomplete faint {count} %"),
        "incomplete_moderate_intense": T("incomplete moderate-to-intense staining present"),
    }
)
"""Fragments of ``STAINING_LINE`` (joined with ", ")."""

SITE_WORDS: Final = MappingProxyType(
    {"primary": "primary tumour", "metastasis": "metastasis", "unknown": "site not stated"}
)
"""How a specimen site is named on a card."""

NOT_STATED: Final = "not stated"

# ------------------------------------------------------------------------------------------------------------
# Suggestions and override reasons

OVERRIDE_REASON_SYSTEM: Final = "urn:her2-pet-cds:override-reason"
OVERRIDE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("already-reviewed", "Already reviewed"),
    ("rereview-requested", "Pathology re-review already requested"),
    ("not-candidate", "Patient not a candidate for T-DXd"),
    ("not-relevant", "Not clinically relevant"),
)
"""CH-26 override reasons (code, display)."""

SUGGESTION_REREVIEW: Final = ("her2-ihc-rereview", "Request HER2 IHC re-review (0 vs 1+/ultralow)")
SUGGESTION_TUMOUR_BOARD: Final = ("tumour-board-review", "Request tumour-board review")

RE_REVIEW_SCENARIOS: Final = frozenset(
    {S.HER2_ZERO_PET_AVID, S.HER2_ZERO_PET_NONAVID, S.HER2_UNSCORED_NEGATIVE}
)
"""Cards that may offer a Task for HER2 IHC re-review (0 vs 1+/ultralow) when the site enables suggestions."""

RE_REVIEW_ORDER_BASES: Final = frozenset(
    {O.HER2_NULL, O.HER2_ZERO_UNSPECIFIED, O.NEGATIVE_UNSCORED, O.ZERO_EARLIER_HIGHER}
)
"""Card (o) variants that offer the re-review Task (the "re-review option" of a HER2-0 basis)."""

TUMOUR_BOARD_SCENARIOS: Final = frozenset(
    {S.HER2_ZERO_PET_AVID, S.PET_AVID_NO_PATHOLOGY, S.PAIRING_OUT_OF_WINDOW, S.IHC2_ISH_PENDING}
)
"""Cards that may offer a Task for tumour-board review when the site enables suggestions."""

SUMMARY_FIELDS: Final = MappingProxyType(
    {"window": str(PAIRING_WINDOW_DAYS), "anti_her2_window": str(RECENT_ANTI_HER2_DAYS)}
)

# ------------------------------------------------------------------------------------------------------------
# The closed set


def all_templates() -> tuple[Template, ...]:
    """Every template a card can render, once each (the closed set the wording test checks against)."""
    found: dict[str, Template] = {}

    def add(items: Iterable[Template]) -> None:
        for item in items:
            found.setdefault(item.text, item)

    for text in TEXTS.values():
        add((text.summary, *text.variants.values(), *text.paragraphs, *text.references))
    for order in ORDER_TEXTS.values():
        add((order.summary, *order.paragraphs, *order.references))
    add(v for k, v in globals().items() if isinstance(v, Template) and k.isupper())
    add(SITE_LINES.values())
    add(STAINING_PARTS.values())
    return tuple(found.values())


def wording_markdown() -> str:
    """``docs/card-wording.md``: every summary, paragraph, detail line and reference a card can emit."""
    parts = [
        "# Card wording\n",
        "Generated from `cds_service/hooks/card_texts.py` by `card_texts.wording_markdown()`; do not edit by "
        "hand (a unit test compares this page with the render). Every line a card can emit is one of these "
        "templates with its `{fields}` filled by values (dates, scores, counts, vocabulary, or data read "
        "from the chart). Changing wording changes this page, so the change shows in review.\n",
    ]
    for scenario, text in TEXTS.items():
        parts.append(f"## `{scenario.value}` — {text.title}\n")
        parts.append(f"Indicator `{text.indicator.value}`. Summary:\n\n> {text.summary.text}\n")
        for name, variant in text.variants.items():
            parts.append(f"Summary variant *{name}*:\n\n> {variant.text}\n")
        parts += [f"> {p.text}\n" for p in text.paragraphs]
        if text.references:
            parts.append("References:\n\n" + "\n".join(f"- {r.text}" for r in text.references) + "\n")
    parts.append("## Card (o) by HER2 basis\n")
    for basis, order in ORDER_TEXTS.items():
        parts.append(f"### `{basis.value}` — indicator `{order.indicator.value}`\n\n> {order.summary.text}\n")
        parts += [f"> {p.text}\n" for p in order.paragraphs]
    scenario_texts = {
        t.text for s in TEXTS.values() for t in (s.summary, *s.variants.values(), *s.paragraphs)
    }
    order_texts = {t.text for o in ORDER_TEXTS.values() for t in (o.summary, *o.paragraphs)}
    shared = [
        t
        for t in all_templates()
        if t.text not in scenario_texts and t.text not in order_texts and t not in REFERENCES
    ]
    parts.append("## Detail lines and shared sentences\n")
    parts.append("\n".join(f"- `{t.text}`" for t in shared) + "\n")
    parts.append("## References\n")
    parts.append("\n".join(f"- {r.text}" for r in REFERENCES) + "\n")
    return "\n".join(parts)
