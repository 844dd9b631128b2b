"""Card wording per scenario (``clinical-logic.md`` §15): summaries, indicators, paragraphs, citations.

Card wording changes only here and in ``cards.py`` (ARCHITECTURE §2). Summaries are templates rendered by
``cards.py`` and must stay under 140 characters once rendered (a unit test renders every scenario). Texts
avoid the phrases on the §15 "never claim" lists: no eligibility statements, no PET threshold or benefit
claims, no claim that PET confirms, excludes or overrides pathology, no approval claim for HER2 PET
tracers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cds_service.hooks.models import Indicator
from rules.domain import CardScenario as S
from rules.parameters import PAIRING_WINDOW_DAYS

INVESTIGATIONAL: Final = "HER2 PET tracers are investigational radiopharmaceuticals."
"""Shown on every card that mentions PET (§15)."""

REF_ASCO_CAP: Final = (
    "Wolff AC et al., J Clin Oncol 2018;36:2105–22; focused update J Clin Oncol 2023;41:3867–72 "
    "(ASCO/CAP HER2)."
)
REF_LABEL: Final = "ENHERTU (fam-trastuzumab deruxtecan-nxki) US Prescribing Information, BLA 761139."
REF_DB04: Final = "Modi S et al., N Engl J Med 2022;387:9–20 (DESTINY-Breast04)."
REF_DB06: Final = "Bardia A et al., N Engl J Med 2024 (DESTINY-Breast06)."
REF_YEH: Final = "Yeh R et al., J Nucl Med 2025;66(6):873–879 (doi 10.2967/jnumed.124.269227)."
REF_REPRO: Final = "Fernandez AI et al., JAMA Oncol 2022; Robbins CJ et al. (18 pathologists, 170 biopsies)."
REF_MIGLIETTA: Final = "Miglietta F et al., npj Breast Cancer 2021;7:137 (HER2-low evolution)."
REF_DEHDASHTI: Final = "Dehdashti F et al., Breast Cancer Res Treat 2018 (89Zr-trastuzumab, hepatic lesions)."
REF_DIJKERS: Final = "Dijkers EC et al., Clin Pharmacol Ther 2010 (89Zr-trastuzumab dose and uptake)."


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioText:
    """Fixed wording of one scenario. ``summary`` may hold ``{window}``, ``{date}`` or ``{sources}``
    fields."""

    title: str
    indicator: Indicator
    summary: str
    paragraphs: tuple[str, ...]
    references: tuple[str, ...]
    variant_summary: str | None = None


_LABEL_LOW = (
    "Labelled HER2-low settings (by an FDA-approved test): unresectable or metastatic disease of any HR "
    "status after "
    "prior chemotherapy in the metastatic setting or recurrence during or within 6 months of adjuvant "
    "chemotherapy "
    "(DESTINY-Breast04, FDA 2022); HR-positive disease after at least one endocrine therapy in the "
    "metastatic setting "
    "(DESTINY-Breast06, FDA 2025). Boxed warnings: interstitial lung disease/pneumonitis (12.1 % adjudicated "
    "drug-related ILD in DESTINY-Breast04) and embryo-fetal toxicity."
)

TEXTS: Final[dict[S, ScenarioText]] = {
    S.HER2_LOW_PET_AVID: ScenarioText(
        title="HER2-low with HER2-avid lesion(s)",
        indicator=Indicator.INFO,
        summary="HER2-low on pathology and HER2 PET shows avid lesion(s): consistent with HER2 expression. "
        "Review T-DXd eligibility per label.",
        paragraphs=(
            "Eligibility rests on the pathology result (IHC 1+ or 2+/ISH-negative) from an FDA-approved "
            "test, not on "
            "the PET. In a retrospective paired series (Yeh 2025) every avid lesion once called 'false "
            "positive' was "
            "HER2-low on pathology.",
            _LABEL_LOW,
        ),
        references=(REF_YEH, REF_LABEL, REF_DB04, REF_DB06, REF_ASCO_CAP),
    ),
    S.HER2_ZERO_PET_AVID: ScenarioText(
        title="HER2-0 or legacy 'negative' with HER2-avid lesion(s)",
        indicator=Indicator.WARNING,
        summary="Pathology HER2-0/'negative' but HER2 PET shows avid lesion(s). Consider IHC re-review (0 vs "
        "1+/ultralow) or biopsy of an avid lesion.",
        paragraphs=(
            "In Yeh 2025, avid lesions formerly called false positive (HER2-negative) were HER2-low on the "
            "original "
            "pathology. Legacy reports often lack the 0 vs 1+ distinction (14 % had no score in one "
            "community EMR "
            "review), and 0 vs 1+ reads are poorly reproducible (25 % overall agreement on IHC 0 among 18 "
            "pathologists; 7 of 17 local '0' cases reclassified low in the 2024 Australian consensus). HER2 "
            "status "
            "differs between primary and metastasis in 38–50 % of patients.",
            "Options: obtain the numeric IHC score; request re-review per ASCO/CAP 2023 0-vs-1+ practice; if "
            "HR-positive, ask about ultralow staining; consider biopsy of the most avid accessible lesion. "
            "The "
            "pathology result remains the basis of any T-DXd decision.",
        ),
        references=(REF_YEH, REF_REPRO, REF_MIGLIETTA, REF_ASCO_CAP),
    ),
    S.HER2_ULTRALOW: ScenarioText(
        title="HER2-ultralow",
        indicator=Indicator.INFO,
        summary="HER2-ultralow (IHC 0 with membrane staining). Labeled for HR+ disease after endocrine "
        "therapy; "
        "HER2 PET not validated for ultralow.",
        paragraphs=(
            "FDA (27 Jan 2025) labelled T-DXd for HR-positive HER2-ultralow unresectable or metastatic "
            "disease that "
            "progressed on at least one endocrine therapy in the metastatic setting, with HER2 status by an "
            "FDA-approved test. The DESTINY-Breast06 ultralow subgroup (n = 153) is exploratory.",
            "Yeh 2025 had no ultralow class and very few HER2-0 lesions; HER2 PET has not been studied for "
            "ultralow "
            "disease. Ultralow reads are less reproducible than HER2-low reads.",
        ),
        references=(REF_LABEL, REF_DB06, REF_YEH, REF_ASCO_CAP),
    ),
    S.HER2_POSITIVE_PET_AVID: ScenarioText(
        title="HER2-positive with HER2-avid lesions",
        indicator=Indicator.INFO,
        summary="HER2-positive on pathology with HER2-avid lesions: concordant. HER2-low pathway does not "
        "apply; "
        "follow HER2-positive guidance.",
        paragraphs=(
            "T-DXd has separate HER2-positive indications (US label). Uptake cannot grade HER2 expression: "
            "in "
            "Yeh 2025 HER2-low lesions did not show lower uptake than HER2-positive lesions.",
            "Non-avid lesions may indicate heterogeneity (35 % of lesions in HER2-positive patients were "
            "non-avid in "
            "ZEPHIR); consider biopsy if a decision depends on them.",
        ),
        references=(REF_LABEL, REF_YEH, REF_ASCO_CAP),
    ),
    S.HER2_ZERO_PET_NONAVID: ScenarioText(
        title="HER2-0 with no HER2-avid lesions",
        indicator=Indicator.INFO,
        summary="Pathology HER2-0 and no HER2-avid lesions: concordant. A negative HER2 PET does not exclude "
        "HER2-low "
        "or ultralow disease.",
        paragraphs=(
            "Separating HER2-0 from HER2-expressing disease with PET is hypothesis-generating only (very few "
            "HER2-0 "
            "lesions in Yeh 2025). Sensitivity is limited: liver lesions are not discriminated, a "
            "HER2-low-directed "
            "tracer found fewer lesions than FDG, and small lesions lose signal to partial-volume effects.",
            "If HR-positive, consider IHC re-review for ultralow staining; the pathology result remains the "
            "basis "
            "of any T-DXd decision.",
        ),
        references=(REF_YEH, REF_REPRO, REF_ASCO_CAP),
    ),
    S.PET_AVID_NO_PATHOLOGY: ScenarioText(
        title="HER2-avid lesion(s) without usable pathology",
        indicator=Indicator.WARNING,
        summary="HER2-avid lesion(s) on PET but no HER2 IHC/ISH on file. Locate or obtain pathology; PET "
        "alone "
        "cannot establish T-DXd eligibility.",
        variant_summary="HER2-avid lesion(s) on PET; the HER2 result on file could not be classified. Review "
        "the "
        "report; PET alone cannot establish eligibility.",
        paragraphs=(
            "The label requires HER2 status by an FDA-approved test. Retrieve the latest HER2 report (check "
            "scanned "
            "documents) or consider biopsy of an avid accessible lesion. Uptake did not separate HER2-low "
            "from "
            "HER2-positive lesions in Yeh 2025.",
        ),
        references=(REF_LABEL, REF_YEH, REF_ASCO_CAP),
    ),
    S.IHC2_ISH_PENDING: ScenarioText(
        title="HER2 IHC 2+ with ISH pending",
        indicator=Indicator.WARNING,
        summary="HER2 IHC 2+ with ISH pending: HER2-low vs HER2-positive unresolved. PET uptake (SUVmax) "
        "cannot "
        "resolve it; await ISH.",
        paragraphs=(
            "IHC 2+ is equivocal and goes to reflex ISH (ISH-negative: HER2-low; ISH-positive: "
            "HER2-positive); the "
            "two lead to different labelled indications. In Yeh 2025 SUVmax did not separate them.",
        ),
        references=(REF_ASCO_CAP, REF_LABEL, REF_YEH),
    ),
    S.PAIRING_OUT_OF_WINDOW: ScenarioText(
        title="HER2 PET and pathology far apart",
        indicator=Indicator.WARNING,
        summary="HER2 PET and HER2 pathology are >{window} days apart, outside the window studied (≤2 "
        "months). "
        "Interpret the pairing with caution.",
        paragraphs=(
            "Yeh 2025 paired studies within 2 months only. HER2-low status is unstable: 38–50 % discordance "
            "between "
            "primary and metastasis, and changes after therapy. Check therapy given between the two dates "
            "and "
            "whether the biopsied site matches an avid lesion; the most recent metastatic sample, or a "
            "re-biopsy if "
            "the decision depends on it, is the better basis.",
        ),
        references=(REF_YEH, REF_MIGLIETTA),
    ),
    S.HER2_LOW_NO_PET: ScenarioText(
        title="HER2-low on pathology",
        indicator=Indicator.INFO,
        summary="HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review T-DXd eligibility per label.",
        paragraphs=(_LABEL_LOW, "A HER2 PET is not needed for this review."),
        references=(REF_LABEL, REF_DB04, REF_DB06, REF_ASCO_CAP),
    ),
    S.HER2_UNSCORED_NEGATIVE: ScenarioText(
        title="Legacy 'HER2-negative' without an IHC score",
        indicator=Indicator.WARNING,
        summary="HER2 reported 'negative' without an IHC score. HER2-low or ultralow may qualify for T-DXd: "
        "obtain "
        "the score or re-review.",
        paragraphs=(
            "Since 2022, IHC 0 vs 1+ (and, for HR-positive disease, ultralow staining) decides which T-DXd "
            "labelled "
            "settings can apply; a bare 'negative' cannot be placed. Options: obtain the numeric IHC score; "
            "request "
            "re-review per ASCO/CAP 2023 practice.",
        ),
        references=(REF_ASCO_CAP, REF_LABEL, REF_DB04, REF_DB06, REF_REPRO),
    ),
    S.HER2_LOW_PET_NONAVID: ScenarioText(
        title="HER2-low with no HER2-avid lesion",
        indicator=Indicator.INFO,
        summary="HER2-low on pathology; no HER2-avid lesion on PET. Eligibility rests on pathology; a "
        "non-avid PET "
        "does not exclude HER2-low.",
        paragraphs=(
            "PET sensitivity for HER2-low disease is limited (partial-volume loss in small lesions, high "
            "liver "
            "background). The pathology result from an FDA-approved test remains the basis.",
            _LABEL_LOW,
        ),
        references=(REF_YEH, REF_LABEL, REF_DB04, REF_DB06),
    ),
    S.PET_ANALYSIS_PENDING: ScenarioText(
        title="HER2 PET analysis pending",
        indicator=Indicator.INFO,
        summary="A HER2 PET study from {date} is being analysed; PET findings will appear on the next chart "
        "opening.",
        paragraphs=("The PET study is analysed in the background so that the chart is not delayed.",),
        references=(),
    ),
    S.DATA_UNAVAILABLE: ScenarioText(
        title="Data source unavailable",
        indicator=Indicator.INFO,
        summary="{sources} could not be reached; this HER2 review is incomplete. Check the chart directly.",
        paragraphs=(
            "A source system did not answer in time. No clinical statement is made from partial data.",
        ),
        references=(),
    ),
    S.HEPATIC_LESION: ScenarioText(
        title="Avid lesion in the liver",
        indicator=Indicator.WARNING,
        summary="Avid lesion is in the liver, where background uptake is high. Lesion-level call is less "
        "reliable; "
        "confirm visually.",
        paragraphs=(
            "Hepatic lesions were not discriminated from background in a 89Zr-trastuzumab series (Dehdashti "
            "2018, "
            "p = 0.42); normal liver uptake is high (Dijkers).",
        ),
        references=(REF_DEHDASHTI, REF_DIJKERS),
    ),
    S.RECENT_ANTI_HER2: ScenarioText(
        title="Recent anti-HER2 antibody before PET",
        indicator=Indicator.WARNING,
        summary="Anti-HER2 antibody given within the configured window before HER2 PET. Tracer uptake may be "
        "altered; interpret with caution.",
        paragraphs=(
            "Circulating antibody changes tracer distribution (Dijkers: mass dose by therapy status; "
            "Mortimer: a cold "
            "pre-dose changes liver uptake). The effect size on lesion calls is not established.",
        ),
        references=(REF_DIJKERS,),
    ),
    S.OUTSIDE_UPTAKE_WINDOW: ScenarioText(
        title="PET outside the usual uptake window",
        indicator=Indicator.INFO,
        summary="HER2 PET acquired outside the usual uptake window for this tracer. Quantitative values are "
        "not "
        "comparable with published data.",
        paragraphs=(
            "Uptake changes with time after injection; published values refer to the tracer's usual window.",
        ),
        references=(),
    ),
}
"""Wording of every scenario; ``TEXTS[s].summary.format(window=…, date=…, sources=…)`` is the card summary.
"""

SUMMARY_FIELDS: Final = {"window": str(PAIRING_WINDOW_DAYS)}

OVERRIDE_REASON_SYSTEM: Final = "urn:her2-pet-cds:override-reason"
OVERRIDE_REASONS: Final[tuple[tuple[str, str], ...]] = (
    ("already-reviewed", "Already reviewed"),
    ("rereview-requested", "Pathology re-review already requested"),
    ("not-candidate", "Patient not a candidate for T-DXd"),
    ("not-relevant", "Not clinically relevant"),
)
"""CH-26 override reasons (code, display)."""

RE_REVIEW_SCENARIOS: Final = frozenset(
    {S.HER2_ZERO_PET_AVID, S.HER2_ZERO_PET_NONAVID, S.HER2_UNSCORED_NEGATIVE}
)
"""Cards that may offer a Task for HER2 IHC re-review (0 vs 1+/ultralow) when the site enables suggestions.
"""

TUMOUR_BOARD_SCENARIOS: Final = frozenset(
    {S.HER2_ZERO_PET_AVID, S.PET_AVID_NO_PATHOLOGY, S.PAIRING_OUT_OF_WINDOW, S.IHC2_ISH_PENDING}
)
"""Cards that may offer a Task for tumour-board review when the site enables suggestions."""
