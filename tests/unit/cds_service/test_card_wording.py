"""Cards say only reviewed wording, and only what the evidence supports.

Every scenario is rendered across generated assessments (``card_assessments``); every line a card emits must
be one template of ``card_texts`` with its fields filled (the closed set), the summaries must keep the wording
of ``spec/clinical-logic.md`` §15 (copied here, independently of the code), no template and no rendered card
may break the "never claim" rules (patterns written here, not taken from the code), and the claims a card
makes must follow from the assessment: "consistent"/"concordant" only when the biopsied site is the kind of
lesion the claim needs, no label row "met" without its criteria, every figure with a complete reference, the
assay, staining percentages and specimen site shown whenever the result carries them, no DICOM UID, summary <
140 and detail ≤ 2,000 characters. ``docs/card-wording.md`` must equal the render of the reviewed set.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.hooks import card_texts as texts
from cds_service.hooks.cards import DETAIL_MAX_CHARS, render_card, render_cards
from cds_service.settings import SiteConfig
from rules.domain import (
    Assessment,
    CardScenario,
    IndicationStatus,
    OrderBasis,
    SiteConcordance,
)
from tests.cds_lint import DICOM_UID, lint_card
from tests.unit.cds_service.card_assessments import UID, assessments

S = CardScenario
DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "card-wording.md"
SITE = SiteConfig(suggestions=True)
SOURCE_URL = "https://cds.test/clinical-basis"

# -- spec/clinical-logic.md §15 summaries, copied from the spec ---------------------------------------------

SPEC_SUMMARIES = {
    S.HER2_LOW_PET_AVID: (
        "HER2-low on pathology and HER2 PET shows avid lesion(s): consistent with HER2 expression. "
        "Review T-DXd eligibility per label."
    ),
    S.HER2_ZERO_PET_AVID: (
        "Pathology HER2-0/'negative' but HER2 PET shows avid lesion(s). Consider IHC re-review (0 vs "
        "1+/ultralow) or biopsy of an avid lesion."
    ),
    S.HER2_ULTRALOW: (
        "HER2-ultralow (IHC 0 with membrane staining). Labeled for HR+ disease after endocrine therapy; "
        "HER2 PET not validated for ultralow."
    ),
    S.HER2_POSITIVE_PET_AVID: (
        "HER2-positive on pathology with HER2-avid lesions: concordant. HER2-low pathway does not apply; "
        "follow HER2-positive guidance."
    ),
    S.HER2_ZERO_PET_NONAVID: (
        "Pathology HER2-0 and no HER2-avid lesions: concordant. A negative HER2 PET does not exclude "
        "HER2-low or ultralow disease."
    ),
    S.PET_AVID_NO_PATHOLOGY: (
        "HER2-avid lesion(s) on PET but no HER2 IHC/ISH on file. Locate or obtain pathology; PET alone "
        "cannot establish T-DXd eligibility."
    ),
    S.IHC2_ISH_PENDING: (
        "HER2 IHC 2+ with ISH pending: HER2-low vs HER2-positive unresolved. PET uptake (SUVmax) cannot "
        "resolve it; await ISH."
    ),
    S.PAIRING_OUT_OF_WINDOW: (
        "HER2 PET and HER2 pathology are >60 days apart, outside the window studied (≤2 months). "
        "Interpret the pairing with caution."
    ),
    S.HER2_LOW_NO_PET: (
        "HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review T-DXd eligibility per label."
    ),
    S.HER2_UNSCORED_NEGATIVE: (
        "HER2 reported 'negative' without an IHC score. HER2-low or ultralow may qualify for T-DXd: "
        "obtain the score or re-review."
    ),
    S.HER2_LOW_PET_NONAVID: (
        "HER2-low on pathology; no HER2-avid lesion on PET. Eligibility rests on pathology; a non-avid "
        "PET does not exclude HER2-low."
    ),
    S.HEPATIC_LESION: (
        "Avid lesion is in the liver, where background uptake is high. Lesion-level call is less "
        "reliable; confirm visually."
    ),
    S.RECENT_ANTI_HER2: (
        "Anti-HER2 antibody given within the configured window before HER2 PET. Tracer uptake may be "
        "altered; interpret with caution."
    ),
    S.OUTSIDE_UPTAKE_WINDOW: (
        "HER2 PET acquired outside the usual uptake window for this tracer. Quantitative values are not "
        "comparable with published data."
    ),
}
SPEC_F_VARIANT = (
    "HER2-avid lesion(s) on PET; the HER2 result on file could not be classified. Review the report; PET "
    "alone cannot establish eligibility."
)
SPEC_PENDING = re.compile(
    r"A HER2 PET study from \S+ is being analysed; PET findings will appear on the next chart opening\."
)

# -- "never claim" (clinical-logic.md §15), written here and not taken from card_texts ---------------------

GLOBAL_NEVER = [
    r"\b(?:suv\w*|uptake|pet|threshold)\b[^.]*\b(?:distinguishes|separates|discriminates|differentiates)\b",
    r"\bsuv\w*\s*(?:of\s+)?(?:[<>≥≤]=?|above|below|over|under|at least|greater than|less than)\s*\d",
    r"\bthreshold of\s*\d",
    r"\bpet\b[^.]*\b(?:establishes|confirms|excludes|rules out|substitutes|replaces|overrides|updates)\b",
    r"\b(?:confirms?|confirmed)\b[^.]*\bher2-(?:low|0|ultralow|null|positive)\b",
    r"\bher2-(?:low|0|ultralow|null) confirmed\b",
    r"\b(?:in)?eligible\b",
    r"\brules? out\b",
    r"(?<!not )(?<!cannot )\bexcludes? her2-(?:low|ultralow)",
    r"\bsuv\w*\b[^.]*\bdefines?\b",
    r"\b(?:higher|greater|more)\s+(?:uptake|suv\w*)\b[^.]*\b(?:predicts?|means?|indicates?)\b",
    r"\b(?:likely|greater|more)\s+benefit\b",
    r"\b(?:transfer|interchangeable|apply equally)\b[^.]*\btracers?\b",
    r"\bstandard of care\b",
    r"\b(?:pet|tracers?|radiopharmaceuticals?)\b[^.]*\b(?:is|are)\s+(?:fda[- ])?approved\b",
    r"\bultralow\b[^.]*\b(?:equivalent|equals?|same as)\b",
    r"\b(?:mann-whitney|wilcoxon|t-test|kruskal|chi-squared?|fisher's)\b",
]
CARD_NEVER: dict[CardScenario, list[str]] = {
    S.HER2_LOW_PET_AVID: [r"confirms her2-low", r"uptake[^.]*\b(?:reflects|predicts|indicates)\b"],
    S.HER2_ZERO_PET_AVID: [r"\b(?:is|patient is) her2-low\b", r"\bpet overrides\b"],
    S.HER2_ULTRALOW: [r"avidity[^.]*\b(?:confirms|excludes)\b", r"benefit equals"],
    S.HER2_POSITIVE_PET_AVID: [r"\bis her2-low\b", r"confirms amplification"],
    S.HER2_ZERO_PET_NONAVID: [r"her2-0 confirmed", r"\bnot eligible\b"],
    S.IHC2_ISH_PENDING: [r"\bsuv\w*\b[^.]*\bpredicts?\b", r"high suv\w* means"],
    S.PAIRING_OUT_OF_WINDOW: [r"older pathology reflects", r"\bpet updates?\b"],
    S.HER2_UNSCORED_NEGATIVE: [r"\b(?:is|patient is) her2-low\b"],
    S.HER2_LOW_PET_NONAVID: [r"\bpet excludes\b"],
}

CITATIONS = {
    "Yeh 2025": texts.REF_YEH,
    "Robbins 2023": texts.REF_ROBBINS,
    "Australian study 2024": texts.REF_AUSTRALIAN,
    "Miglietta 2021": texts.REF_MIGLIETTA,
    "Dehdashti 2018": texts.REF_DEHDASHTI,
    "Dijkers 2010": texts.REF_DIJKERS,
    "DESTINY-Breast04": texts.REF_DB04,
    "DESTINY-Breast06": texts.REF_DB06,
}
"""Short citations used in card text → the complete reference the card must list."""
FIGURE = re.compile(r"\d+(?:\.\d+)? %|\bp = \d|\bn = \d|\b\d+ of \d+\b|\b\d+ pathologists\b|\b\d+ patients\b")
COMPLETE_REFERENCE = re.compile(
    r"\d{4};\d+(?:\(\d+\))?:[\d–]+|PMCID PMC\d+|US Prescribing Information, BLA \d+, revised \w+ \d{4}"
)

# -- the closed set ------------------------------------------------------------------------------------------

SUMMARY_TEMPLATES = (
    [t.summary for t in texts.TEXTS.values()]
    + [v for t in texts.TEXTS.values() for v in t.variants.values()]
    + [o.summary for o in texts.ORDER_TEXTS.values()]
)
LINE_PATTERNS = [t.pattern for t in texts.all_templates()] + [
    re.compile(re.escape(f"- {r.text}")) for r in texts.REFERENCES
]


def unreviewed_lines(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    """Lines of ``text`` that are not a rendering of one reviewed template."""
    return [
        line for line in text.split("\n") if line.strip() and not any(p.fullmatch(line) for p in patterns)
    ]


def sample(template: texts.Template) -> str:
    """A template with plausible values in its fields, to check the wording itself."""
    values = {
        "date": "2025-01-10",
        "pet_date": "2025-02-05",
        "specimen_date": "2025-01-10",
        "biopsied": "breast",
        "avid_sites": "lymph node",
        "sources": "PACS",
        "current": "HER2-0",
        "highest": "HER2-low",
        "category": "HER2-low",
    }
    return template.text.format(**{f: values.get(f, "7") for f in template.fields})


def test_every_template_keeps_clear_of_the_never_claim_rules() -> None:
    for template in texts.all_templates():
        text = sample(template).lower()
        for pattern in GLOBAL_NEVER:
            assert not re.search(pattern, text), (template.text, pattern)
    for scenario, patterns in CARD_NEVER.items():
        wording = texts.TEXTS[scenario]
        for template in (wording.summary, *wording.variants.values(), *wording.paragraphs):
            for pattern in patterns:
                assert not re.search(pattern, sample(template).lower()), (scenario, template.text, pattern)


def test_summaries_keep_the_spec_wording() -> None:
    for scenario, summary in SPEC_SUMMARIES.items():
        assert texts.TEXTS[scenario].summary.render(window=60) == summary, scenario
    assert texts.TEXTS[S.PET_AVID_NO_PATHOLOGY].variants[texts.UNCLASSIFIABLE].render() == SPEC_F_VARIANT
    assert SPEC_PENDING.fullmatch(texts.TEXTS[S.PET_ANALYSIS_PENDING].summary.render(date="2025-03-01"))


def test_every_summary_template_fits_under_140_characters_with_its_longest_values() -> None:
    longest = {"window": "60", "date": "2025-12-31", "sources": "FHIR server and PACS"}
    longest |= {"current": "HER2-negative-unscored", "highest": "HER2-ultralow"}
    for template in SUMMARY_TEMPLATES:
        rendered = template.text.format(**{f: longest[f] for f in template.fields})
        assert len(rendered) < 140, rendered


def test_every_figure_names_a_source_the_card_lists_in_full() -> None:
    wordings = [(t.paragraphs, t.references) for t in texts.TEXTS.values()]
    wordings += [(o.paragraphs, o.references) for o in texts.ORDER_TEXTS.values()]
    for paragraphs, references in wordings:
        for paragraph in paragraphs:
            for sentence in re.split(r"(?<=\.) ", paragraph.text):
                if not FIGURE.search(sentence):
                    continue
                cited = [ref for short, ref in CITATIONS.items() if short in sentence]
                assert cited, f"figure without a citation: {sentence}"
                assert all(ref in references for ref in cited), (sentence, references)
    for reference in texts.REFERENCES:
        assert COMPLETE_REFERENCE.search(reference.text), reference.text


def test_the_hepatic_sentence_says_what_the_source_says() -> None:
    """Dehdashti 2018 (abstract): SUVmax did not differ between patients with HER2-positive and HER2-negative
    disease when only hepatic lesions were evaluated (p = 0.42); nothing about discrimination from
    background."""
    text = texts.HEPATIC_TEXT.text
    assert (
        "did not differ significantly between patients with HER2-positive and HER2-negative disease" in text
    )
    assert "p = 0.42" in text
    assert "background" not in text
    assert not any("not discriminated" in t.text for t in texts.all_templates())


def test_docs_page_is_the_reviewed_set() -> None:
    page = texts.wording_markdown()
    assert DOCS_PAGE.read_text(encoding="utf-8") == page, "regenerate docs/card-wording.md"


# -- rendered cards ------------------------------------------------------------------------------------------


def _claims_consistent(summary: str) -> bool:
    return "consistent with" in summary.lower() or "concordant" in summary.lower()


def check_card_claims(scenario: CardScenario, assessment: Assessment, summary: str, detail: str) -> None:
    """What a rendered card says must follow from ``assessment``."""
    site = assessment.site
    if scenario in (S.HER2_LOW_PET_AVID, S.HER2_POSITIVE_PET_AVID):
        assert _claims_consistent(summary) is (
            site is not None and site.outcome is SiteConcordance.BIOPSIED_AVID
        )
    elif scenario is S.HER2_ZERO_PET_NONAVID:
        assert _claims_consistent(summary) is (
            site is not None and site.outcome is SiteConcordance.BIOPSIED_NON_AVID
        )
    else:
        assert not _claims_consistent(summary + detail)
    for check in assessment.indications:
        met_line = f"- Row {check.row}, {check.short} ({check.basis}): criteria on file met."
        if met_line in detail:
            assert check.status is IndicationStatus.MET
            assert check.row != "TA"
            fda_test = [c for c in check.criteria if c.name == "FDA-approved test"]
            assert all(c.status is IndicationStatus.MET for c in fda_test)
    assert not DICOM_UID.search(summary + detail), (UID in detail, detail)


def check_pathology_shown(scenario: CardScenario, assessment: Assessment, detail: str) -> None:
    """Assay, staining percentages and specimen site reach the card that shows the pathology."""
    current = assessment.her2.current
    shows_pathology = "- Specimen: collected" in detail
    if current is None or not shows_pathology:
        return
    ihc = current.result.ihc
    if ihc is not None:
        assert f"; assay {ihc.assay or 'not stated'}." in detail
        pct = ihc.percentages
        if pct is not None and (
            pct.incomplete_faint is not None
            or pct.complete_any is not None
            or pct.complete_intense is not None
            or pct.incomplete_moderate_intense
        ):
            assert "- Membrane staining (invasive cells): " in detail
    site_words = texts.SITE_WORDS[current.result.specimen.site.value]
    assert f", {site_words}" in detail
    if current.result.specimen.description:
        assert f"({current.result.specimen.description})" in detail


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assessment=assessments(), scenario=st.sampled_from(list(CardScenario)))
def test_every_scenario_renders_only_reviewed_wording(assessment: Assessment, scenario: CardScenario) -> None:
    card = render_card(scenario, assessment, SITE, patient_id="pat-1", source_url=SOURCE_URL)
    body = card.dump()
    assert lint_card(body) == []
    assert any(t.pattern.fullmatch(card.summary) for t in SUMMARY_TEMPLATES), card.summary
    detail = card.detail or ""
    assert unreviewed_lines(detail, LINE_PATTERNS) == []
    assert len(card.summary) < 140
    assert len(detail) <= DETAIL_MAX_CHARS
    text = f"{card.summary}\n{detail}".lower()
    for pattern in GLOBAL_NEVER:
        assert not re.search(pattern, text), pattern
    check_card_claims(scenario, assessment, card.summary, detail)
    check_pathology_shown(scenario, assessment, detail)
    if scenario is S.TDXD_ORDER:
        assert (
            card.indicator is texts.ORDER_TEXTS[assessment.order_basis or OrderBasis.NO_PATHOLOGY].indicator
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(assessment=assessments())
def test_an_answer_never_repeats_the_basis(assessment: Assessment) -> None:
    cards = render_cards(assessment, SITE, patient_id="pat-1", source_url=SOURCE_URL)
    details = [card.detail or "" for card in cards]
    assert sum("- Specimen: collected" in d for d in details) <= 1
    assert sum("**FDA label rows" in d for d in details) <= 1
    for card, detail in zip(cards, details, strict=True):
        assert unreviewed_lines(detail, LINE_PATTERNS) == []
        if card.source.topic and card.source.topic.code in (
            "hepaticLesion",
            "recentAntiHer2",
            "outsideUptakeWindow",
        ):
            assert "**Basis**" not in detail


@pytest.mark.parametrize("scenario", list(CardScenario), ids=lambda s: s.value)
def test_each_scenario_has_reviewed_wording_and_a_title(scenario: CardScenario) -> None:
    wording = texts.TEXTS[scenario]
    assert wording.title
    assert wording.indicator.value in ("info", "warning")
    if scenario is S.TDXD_ORDER:
        assert set(texts.ORDER_TEXTS) == set(OrderBasis)
