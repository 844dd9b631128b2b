"""What a corpus report states, and the label ASCO/CAP 2018/2023 gives it (this package's own reading).

A :class:`Case` is the laboratory's finding on one specimen: the IHC read (stated score, or only a staining
description, or a range), the ISH work-up (dual or single probe numbers, a stated group, a recount, the
laboratory's final call, or pending/failed), a legacy statement without a score, or a failed test.
:func:`label` turns it into one of the nine evaluation classes. It is written from the guideline text
(Wolff et al., J Clin Oncol 2018;36:2105 and 2023;41:3867) and the project's safety rule (a positive label
needs an explicit positive basis: IHC 3+ by score or staining criteria, ISH group 1 or a stated amplified
result), independently of ``rules.her2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Label(StrEnum):
    """The evaluation classes (what ``her2-cds eval-pathology`` reports per class)."""

    POSITIVE = "positive"
    LOW_1 = "low-1+"
    LOW_2 = "low-2+/ish-"
    EQUIVOCAL = "equivocal"
    ULTRALOW = "ultralow"
    NULL = "null"
    ZERO = "zero"
    UNSCORED = "unscored"
    INDETERMINATE = "indeterminate"


ZeroDetail = Literal["null", "ultralow", "unstated"]


@dataclass(frozen=True)
class Staining:
    """Share (percent) of invasive tumour cells per membrane-staining pattern, as a report describes it."""

    complete_intense: float = 0.0
    complete_weak_moderate: float = 0.0
    incomplete_moderate_intense: float = 0.0
    incomplete_faint: float = 0.0

    def score(self) -> tuple[int, ZeroDetail]:
        """ASCO/CAP 2018 IHC score from the pattern (thresholds strict: exactly 10 % is the ≤10 % branch)."""
        if self.complete_intense > 10:
            return 3, "unstated"
        if self.complete_intense + self.complete_weak_moderate > 10:
            return 2, "unstated"
        if 0 < self.complete_intense <= 10 or self.incomplete_moderate_intense > 0:
            return 2, "unstated"
        if self.incomplete_faint > 10:
            return 1, "unstated"
        if self.incomplete_faint > 0:
            return 0, "ultralow"
        # Weak-to-moderate complete staining in ≤10 % on its own is not a named pattern; the generator
        # never writes it without other staining.
        return 0, "null"


@dataclass(frozen=True)
class Ihc:
    """One IHC read. ``score`` None means the report only describes the staining (``staining``)."""

    score: int | None
    zero: ZeroDetail = "unstated"
    staining: Staining | None = None
    components: tuple[tuple[int, float], ...] = ()
    range_to: int | None = None
    assay: str | None = None

    def true_score(self) -> tuple[int, ZeroDetail]:
        if self.score is not None:
            return self.score, self.zero if self.score == 0 else "unstated"
        if self.staining is not None:
            return self.staining.score()
        return _components_score(self.components)


def _components_score(components: tuple[tuple[int, float], ...]) -> tuple[int, ZeroDetail]:
    """Heterogeneous staining written as per-score shares: "3+ in 15 %, 1+ in 70 %"."""
    share = {score: 0.0 for score in range(4)}
    for score, percent in components:
        share[score] += percent
    return Staining(
        complete_intense=share[3], complete_weak_moderate=share[2], incomplete_faint=share[1]
    ).score()


IshKind = Literal["dual", "single", "statement", "pending", "failed"]


@dataclass(frozen=True)
class Ish:
    """One ISH work-up. Numbers are the ones the report shows (already rounded as written)."""

    kind: IshKind
    ratio: float | None = None
    her2: float | None = None
    cep17: float | None = None
    group: int | None = None
    amplified: bool | None = None
    recount: Literal["same", "changed"] | None = None
    recount_group: int | None = None
    lab_final: Literal["positive", "negative"] | None = None


@dataclass(frozen=True)
class Case:
    """What one report states about the invasive carcinoma of its own specimen."""

    ihc: Ihc | None = None
    ish: Ish | None = None
    legacy: Literal["negative", "positive"] | None = None
    failure: str | None = None


def dual_group(ratio: float, her2: float) -> int:
    """ASCO/CAP 2018 dual-probe group from the ratio and mean HER2 signals per cell."""
    if ratio >= 2.0:
        return 1 if her2 >= 4.0 else 2
    if her2 >= 6.0:
        return 3
    return 4 if her2 >= 4.0 else 5


IshFinal = Literal["positive", "negative", "pending", "review"] | None


def _dual_final(ish: Ish, ihc: int | None) -> IshFinal:
    if ish.recount == "changed" and ish.recount_group is not None:
        group = ish.recount_group
    elif ish.ratio is not None and ish.her2 is not None:
        group = dual_group(ish.ratio, ish.her2)
    elif ish.group is not None:
        group = ish.group
    else:
        return _statement_final(ish)
    if group == 1:
        return "positive"
    if group == 5:
        return "negative"
    if ihc is None:
        return "review"
    if ihc == 3:
        return "positive"
    if ihc in (0, 1):
        return "negative"
    if ish.recount is not None:
        return "positive" if group == 3 else "negative"
    # Without a recount, the laboratory's final is taken only when it is the guideline's result for the group.
    guideline = "positive" if group == 3 else "negative"
    return ish.lab_final if ish.lab_final == guideline else "review"


def _single_final(ish: Ish, ihc: int | None) -> IshFinal:
    her2 = ish.her2
    if her2 is None:
        return _statement_final(ish)
    if her2 >= 6.0:
        return "positive"
    if her2 < 4.0:
        return "negative"
    if ihc == 3:
        return "positive"
    if ihc in (0, 1):
        return "negative"
    return "pending" if ihc == 2 else "review"


def _statement_final(ish: Ish) -> IshFinal:
    if ish.amplified is None:
        return None
    return "positive" if ish.amplified else "negative"


def ish_final(ish: Ish | None, ihc: int | None) -> IshFinal:
    """The final ISH result after the concurrent IHC work-up (ASCO/CAP 2018 §ISH)."""
    if ish is None or ish.kind == "failed":
        return None
    if ish.kind == "pending":
        return "pending"
    if ish.kind == "single":
        return _single_final(ish, ihc)
    if ish.kind == "statement":
        return _statement_final(ish)
    return _dual_final(ish, ihc)


def label(case: Case) -> Label:
    """The evaluation class of a case (ASCO/CAP 2018/2023; T-DXd label categories; safety rule)."""
    if case.ihc is not None and case.ihc.range_to is not None:
        return Label.INDETERMINATE
    score: int | None = None
    zero: ZeroDetail = "unstated"
    if case.ihc is not None:
        score, zero = case.ihc.true_score()
    final = ish_final(case.ish, score)
    if score == 3 or final == "positive":
        return Label.POSITIVE
    if final == "review":
        return Label.INDETERMINATE
    if score == 2 and final in (None, "pending"):
        return Label.EQUIVOCAL
    if score == 1:
        return Label.LOW_1
    if score == 2 and final == "negative":
        return Label.LOW_2
    if score == 0:
        return {"null": Label.NULL, "ultralow": Label.ULTRALOW, "unstated": Label.ZERO}[zero]
    if case.legacy == "negative" and case.ish is None:
        return Label.UNSCORED
    # A bare "positive", a failed test, ISH without IHC (negative, or groups 2–4), a pending test alone.
    return Label.INDETERMINATE


#: Order for "highest" among specimens of one date (spec §6): positive first; then a specimen whose
#: category is open (equivocal, indeterminate: it could be the highest); then HER2-low, ultralow, IHC 0
#: unspecified, null.
_SAME_DATE_ORDER = (
    Label.POSITIVE,
    Label.EQUIVOCAL,
    Label.INDETERMINATE,
    Label.LOW_2,
    Label.LOW_1,
    Label.ULTRALOW,
    Label.ZERO,
    Label.NULL,
    Label.UNSCORED,
)


def highest(labels: list[Label]) -> Label:
    """The class of several specimens of one date (two foci, a tumour and its node): the highest category."""
    return min(labels, key=_SAME_DATE_ORDER.index)
