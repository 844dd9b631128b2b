"""Shared vocabulary of the HER2 decision tables: citation prefixes, IHC score shorthands, the ISH result.

Source of the citations: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med
2018;142:1364–82 (focused update), affirmed unchanged by Wolff AC et al., J Clin Oncol 2023;41:3867–72.
Rows cited as :data:`ENGINE` are this service's handling of data the guideline does not cover (missing,
out-of-range or contradictory data; spec/clinical-logic.md §4/§6).
"""

from __future__ import annotations

from rules.domain import IhcScore, StrEnum

ASCO_CAP_2018 = "ASCO/CAP 2018 (affirmed 2023)"
ENGINE = "engine rule (spec §4/§6)"

ZERO, ONE, TWO, THREE = IhcScore.ZERO, IhcScore.ONE_PLUS, IhcScore.TWO_PLUS, IhcScore.THREE_PLUS

ZERO_OR_ONE = (ZERO, ONE)
"""IHC 0 and 1+: the scores that are negative on their own (ASCO/CAP 2018)."""


class IshFinal(StrEnum):
    """The ISH result after the concurrent IHC work-up (ASCO/CAP 2018 has no 'ISH equivocal')."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEEDS_REVIEW = "needs review"
    PENDING = "pending"
    NONE = "none"
