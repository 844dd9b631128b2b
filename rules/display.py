"""The display vocabulary: how categories and card scenarios are named to people, and which scenarios are
modifiers or carry no clinical basis. Cards, the evidence page, the command line and the decision-table
documentation all read these; nothing else names a category or lists modifier scenarios.

Wording follows ``spec/clinical-logic.md`` §2 (category names) and §14–15 (scenarios). ``indeterminate`` is
the one word shown for every category that is not a classification (no result, unknown, needs review).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from rules.domain import CardScenario, TdxdCategory

__all__ = [
    "CATEGORY_TERMS",
    "MODIFIERS",
    "NO_EVIDENCE_LINK",
    "PET_SCENARIOS",
    "TOPIC_CODES",
    "CategoryTerms",
    "category_description",
    "category_name",
    "scenario_for_topic",
    "topic_code",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryTerms:
    """A T-DXd category as shown: ``name`` in lists and tables, ``description`` in a card's basis."""

    name: str
    description: str


CATEGORY_TERMS: Final[Mapping[TdxdCategory, CategoryTerms]] = MappingProxyType(
    {
        TdxdCategory.HER2_POSITIVE: CategoryTerms(name="HER2-positive", description="HER2-positive"),
        TdxdCategory.HER2_LOW: CategoryTerms(name="HER2-low", description="HER2-low"),
        TdxdCategory.HER2_ULTRALOW: CategoryTerms(name="HER2-ultralow", description="HER2-ultralow"),
        TdxdCategory.HER2_NULL: CategoryTerms(
            name="HER2-null", description="HER2-null (IHC 0, no membrane staining)"
        ),
        TdxdCategory.HER2_ZERO_UNSPECIFIED: CategoryTerms(
            name="HER2-0", description="IHC 0 (null vs ultralow not stated)"
        ),
        TdxdCategory.NEGATIVE_UNSCORED: CategoryTerms(
            name="HER2-negative-unscored", description="reported negative without an IHC score"
        ),
        TdxdCategory.UNKNOWN: CategoryTerms(name="indeterminate", description="not determined"),
        TdxdCategory.NEEDS_REVIEW: CategoryTerms(
            name="indeterminate", description="could not be classified; needs review"
        ),
    }
)


def category_name(category: TdxdCategory) -> str:
    """``HER2-positive``, ``HER2-low``, ``HER2-ultralow``, ``HER2-null``, ``HER2-0``,
    ``HER2-negative-unscored`` or ``indeterminate``."""
    return CATEGORY_TERMS[category].name


def category_description(category: TdxdCategory) -> str:
    """The category as a card's basis states it (distinguishes the two indeterminate categories)."""
    return CATEGORY_TERMS[category].description


S = CardScenario


def _camel(code: str) -> str:
    head, *rest = code.split("-")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


TOPIC_CODES: Final[Mapping[CardScenario, str]] = MappingProxyType({s: _camel(s.value) for s in CardScenario})
"""The ``source.topic.code`` each card carries: the scenario's name of ``spec/clinical-logic.md`` §15 written
in camel case (``her2-low-pet-avid`` → ``her2LowPetAvid``). Epic accepts only alphanumeric topic codes of at
most 100 characters, stable per card (its feedback and override memory key on them); the hyphenated
scenario names stay the project's own identifiers (decision tables, evidence page, demo)."""

_SCENARIOS_BY_TOPIC: Final = MappingProxyType({code: s for s, code in TOPIC_CODES.items()})


def topic_code(scenario: CardScenario) -> str:
    """The alphanumeric ``source.topic.code`` of ``scenario`` (``TOPIC_CODES``)."""
    return TOPIC_CODES[scenario]


def scenario_for_topic(code: str) -> CardScenario | None:
    """The scenario a ``source.topic.code`` stands for; None for an unknown code."""
    return _SCENARIOS_BY_TOPIC.get(code)


MODIFIERS: Final[frozenset[CardScenario]] = frozenset(
    {S.HEPATIC_LESION, S.RECENT_ANTI_HER2, S.OUTSIDE_UPTAKE_WINDOW}
)
"""Modifier cards (i), (j), (w): shown after a PET-based main card, never alone."""

NO_EVIDENCE_LINK: Final[frozenset[CardScenario]] = frozenset(
    {S.DATA_UNAVAILABLE, S.PET_ANALYSIS_PENDING, S.OUTSIDE_UPTAKE_WINDOW}
)
"""Cards that make no statement the evidence page could support (a source outage, an analysis not done yet,
an uptake time outside the tracer's window)."""

PET_SCENARIOS: Final[frozenset[CardScenario]] = frozenset(
    {
        S.HER2_LOW_PET_AVID,
        S.HER2_ZERO_PET_AVID,
        S.HER2_POSITIVE_PET_AVID,
        S.HER2_ZERO_PET_NONAVID,
        S.PET_AVID_NO_PATHOLOGY,
        S.HER2_LOW_PET_NONAVID,
        S.PAIRING_OUT_OF_WINDOW,
        *MODIFIERS,
    }
)
"""Cards that rest on a HER2 PET read (their basis lists the PET study)."""
