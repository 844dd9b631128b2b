"""Cases per evaluation class: what the laboratory found, varied at random (seeded by the caller).

Each builder returns a :class:`~tests.corpus.truth.Case` whose :func:`~tests.corpus.truth.label` is the
class the builder is named after; :func:`build` checks that, so a builder that drifts from the guideline fails
loudly instead of mislabelling the corpus. ISH numbers are drawn away from the 2.0 / 4.0 / 6.0 thresholds by
a margin so that rounding as written never crosses a group boundary.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from tests.corpus.truth import Case, Ihc, Ish, Label, Staining, dual_group, label

ASSAYS = ("4B5", "4B5", "4B5", "HercepTest", "CB11", "SP3", None)


def assay(rng: random.Random) -> str | None:
    return rng.choice(ASSAYS)


def share(rng: random.Random, low: float, high: float) -> float:
    """A percentage between ``low`` and ``high`` as pathologists write them (whole numbers, often by 5)."""
    value = rng.randint(int(low), int(high))
    if value > 10 and rng.random() < 0.6:
        value = max(int(low), min(int(high), 5 * round(value / 5)))
    return float(value)


def dual_numbers(rng: random.Random, group: int) -> tuple[float, float, float]:
    """(ratio, HER2/cell, CEP17/cell) of a dual-probe count in ``group``, away from the thresholds."""
    while True:
        her2 = round(
            rng.uniform(*{1: (4.4, 14.0), 2: (2.2, 3.8), 3: (6.3, 9.5), 4: (4.2, 5.8), 5: (1.4, 3.8)}[group]),
            1,
        )
        ratio_range = {1: (2.2, 6.0), 2: (2.1, 3.2), 3: (1.1, 1.9), 4: (1.1, 1.9), 5: (0.8, 1.9)}[group]
        cep17 = round(her2 / rng.uniform(*ratio_range), 2)
        ratio = round(her2 / cep17, 2)
        clear = abs(ratio - 2.0) >= 0.06 and abs(her2 - 4.0) >= 0.15 and abs(her2 - 6.0) >= 0.15
        if clear and dual_group(ratio, her2) == group and 0.5 <= ratio <= 30 and cep17 >= 1.0:
            return ratio, her2, cep17


def dual(
    rng: random.Random,
    group: int,
    *,
    recount: str | None = None,
    lab_final: str | None = None,
    numbers: bool = True,
    show_group: bool | None = None,
) -> Ish:
    ratio, her2, cep17 = dual_numbers(rng, group)
    if show_group is None:
        show_group = rng.random() < 0.6 or not numbers
    amplified = {1: True, 5: False}.get(group) if rng.random() < 0.7 else None
    return Ish(
        kind="dual",
        ratio=ratio if numbers else None,
        her2=her2 if numbers else None,
        cep17=cep17 if numbers and rng.random() < 0.7 else None,
        group=group if show_group else None,
        amplified=amplified,
        recount=recount,  # type: ignore[arg-type]
        lab_final=lab_final,  # type: ignore[arg-type]
    )


def stated(score: int, rng: random.Random, *, describe: bool = False) -> Ihc:
    staining = None
    if describe:
        staining = {
            3: Staining(complete_intense=share(rng, 30, 100)),
            2: Staining(complete_weak_moderate=share(rng, 15, 80)),
            1: Staining(incomplete_faint=share(rng, 15, 90)),
        }.get(score)
    return Ihc(score=score, staining=staining, assay=assay(rng))


# ----------------------------------------------------------------------------------------------------
# Builders per class


def positive(rng: random.Random) -> Case:
    kind = rng.randrange(9)
    if kind == 0:
        return Case(ihc=stated(3, rng, describe=rng.random() < 0.5))
    if kind == 1:
        return Case(
            ihc=Ihc(score=None, staining=Staining(complete_intense=share(rng, 15, 95)), assay=assay(rng))
        )
    if kind == 2:
        first = share(rng, 12, 40)
        return Case(ihc=Ihc(score=None, components=((3, first), (1, 100 - first)), assay=assay(rng)))
    if kind == 3:
        return Case(ihc=stated(2, rng), ish=dual(rng, 1))
    if kind == 4:
        return Case(ihc=stated(2, rng), ish=dual(rng, 3, recount="same"))
    if kind == 5:
        return Case(ish=dual(rng, 1, show_group=rng.random() < 0.5))
    if kind == 6:
        return Case(ish=Ish(kind="statement", amplified=True))
    if kind == 7:
        her2 = round(rng.uniform(6.3, 12.0), 1)
        return Case(ihc=stated(rng.choice([2, 3]), rng), ish=Ish(kind="single", her2=her2, amplified=True))
    return Case(ihc=stated(3, rng), ish=dual(rng, rng.choice([2, 4])))


def low_one(rng: random.Random) -> Case:
    kind = rng.randrange(6)
    if kind == 0:
        return Case(ihc=stated(1, rng, describe=rng.random() < 0.5))
    if kind == 1:
        return Case(
            ihc=Ihc(score=None, staining=Staining(incomplete_faint=share(rng, 15, 90)), assay=assay(rng))
        )
    if kind == 2:
        return Case(
            ihc=Ihc(score=None, components=((2, share(rng, 2, 8)), (1, share(rng, 30, 80))), assay=assay(rng))
        )
    if kind == 3:
        return Case(ihc=stated(1, rng), ish=dual(rng, 2))
    if kind == 4:
        return Case(ihc=stated(1, rng), ish=dual(rng, rng.choice([4, 5])))
    return Case(ihc=stated(1, rng))


def low_two(rng: random.Random) -> Case:
    kind = rng.randrange(6)
    ihc = stated(2, rng, describe=rng.random() < 0.3)
    if kind == 0:
        return Case(ihc=ihc, ish=dual(rng, 5))
    if kind == 1:
        return Case(ihc=ihc, ish=Ish(kind="statement", amplified=False))
    if kind == 2:
        return Case(ihc=ihc, ish=dual(rng, rng.choice([2, 4]), recount="same"))
    if kind == 3:
        return Case(ihc=ihc, ish=dual(rng, rng.choice([2, 4]), lab_final="negative"))
    if kind == 4:
        described = Ihc(
            score=None, staining=Staining(complete_weak_moderate=share(rng, 20, 70)), assay=assay(rng)
        )
        return Case(ihc=described, ish=dual(rng, 5))
    return Case(ihc=ihc, ish=replace(dual(rng, 4, recount="changed", show_group=True), recount_group=5))


def equivocal(rng: random.Random) -> Case:
    kind = rng.randrange(6)
    if kind == 0:
        return Case(ihc=stated(2, rng), ish=Ish(kind="pending"))
    if kind == 1:
        return Case(ihc=stated(2, rng, describe=rng.random() < 0.5))
    if kind == 2:
        return Case(
            ihc=Ihc(score=None, staining=Staining(complete_intense=share(rng, 3, 9)), assay=assay(rng))
        )
    if kind == 3:
        staining = Staining(incomplete_moderate_intense=share(rng, 15, 50))
        return Case(ihc=Ihc(score=None, staining=staining, assay=assay(rng)))
    if kind == 4:
        return Case(ihc=stated(2, rng), ish=Ish(kind="failed"))
    her2 = round(rng.uniform(4.2, 5.8), 1)
    return Case(ihc=stated(2, rng), ish=Ish(kind="single", her2=her2))


def zero(rng: random.Random, detail: str) -> Case:
    if detail == "unstated" or rng.random() < 0.6:
        staining = (
            Staining(incomplete_faint=share(rng, 1, 10))
            if detail == "ultralow" and rng.random() < 0.5
            else None
        )
        return Case(ihc=Ihc(score=0, zero=detail, staining=staining, assay=assay(rng)))  # type: ignore[arg-type]
    staining = Staining(incomplete_faint=share(rng, 1, 10)) if detail == "ultralow" else Staining()
    return Case(ihc=Ihc(score=None, staining=staining, assay=assay(rng)))


def ultralow(rng: random.Random) -> Case:
    return zero(rng, "ultralow")


def null(rng: random.Random) -> Case:
    return zero(rng, "null")


def zero_unstated(rng: random.Random) -> Case:
    case = zero(rng, "unstated")
    if rng.random() < 0.3:
        return Case(ihc=case.ihc, ish=dual(rng, 5))
    return case


def unscored(rng: random.Random) -> Case:
    return Case(legacy="negative")


FAILURES = (
    "HER2 IHC could not be evaluated due to extensive crush artefact; repeat testing on the excision is "
    "recommended.",
    "Insufficient invasive carcinoma in the cell block for HER2 testing.",
    "HER2: not assessable (decalcified bone biopsy).",
    "HER2 testing not performed - insufficient tumour.",
    "HER2 immunohistochemistry: uninterpretable (internal and external controls failed).",
    "HER2 IHC: indeterminate due to poor fixation.",
    "HER2 IHC: 3+ cannot be excluded (edge artefact); repeat staining on block B2 requested.",
    "HER2: possibly 3+ on a small focus; the result will be confirmed on the excision.",
)


def indeterminate(rng: random.Random) -> Case:
    kind = rng.randrange(8)
    if kind == 0:
        low = rng.choice([0, 1])
        return Case(ihc=Ihc(score=low, range_to=low + 1, assay=assay(rng)))
    if kind == 1:
        return Case(failure=rng.choice(FAILURES))
    if kind == 2:
        return Case(legacy="positive")
    if kind == 3:
        return Case(ish=rng.choice([dual(rng, 5), Ish(kind="statement", amplified=False)]))
    if kind == 4:
        return Case(ish=dual(rng, rng.choice([2, 3, 4]), show_group=True))
    if kind == 5:
        return Case(ihc=stated(2, rng), ish=dual(rng, rng.choice([2, 3, 4]), show_group=True))
    if kind == 6:
        return Case(
            ish=Ish(kind="pending"), failure="HER2 testing is pending; results will be reported separately."
        )
    return Case(ish=Ish(kind="single", her2=round(rng.uniform(4.2, 5.8), 1)))


BUILDERS: dict[Label, Callable[[random.Random], Case]] = {
    Label.POSITIVE: positive,
    Label.LOW_1: low_one,
    Label.LOW_2: low_two,
    Label.EQUIVOCAL: equivocal,
    Label.ULTRALOW: ultralow,
    Label.NULL: null,
    Label.ZERO: zero_unstated,
    Label.UNSCORED: unscored,
    Label.INDETERMINATE: indeterminate,
}


def build(target: Label, rng: random.Random) -> Case:
    """A case of class ``target``; raises when a builder produced another class (a generator bug)."""
    case = BUILDERS[target](rng)
    got = label(case)
    if got is not target:
        raise AssertionError(f"builder for {target} produced {got}: {case}")
    return case
