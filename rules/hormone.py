"""Hormone-receptor (ER/PR) calls and HR status, as decision tables.

ASCO/CAP ER/PR guideline (Allison KH et al., J Clin Oncol 2020;38:1346–66): ER or PR is positive when ≥1 % of
tumour nuclei stain; ER 1–10 % is reported as "ER Low Positive" with a comment; <1 % is negative. HR-positive
means ER- and/or PR-positive; an ER-low-positive result counts as HR-positive here, with a caveat
(spec/clinical-logic.md §9). The HER2-ultralow T-DXd indication (DESTINY-Breast06) needs HR-positive disease,
which is why HR status travels with the HER2 synthesis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rules.domain import Evidence, HrStatus, Receptor, ReceptorCall, ReceptorResult
from rules.parameters import ER_LOW_POSITIVE_UPPER_PERCENT, RECEPTOR_POSITIVE_PERCENT
from rules.tables import Decision, DecisionTable, Fact, Row, absent, decide, eq, ge, le, lt, one_of

ASCO_CAP_2020 = "ASCO/CAP ER/PR 2020 (Allison, JCO 2020;38:1346)"

ER_LOW_CAVEAT = (
    "ER Low Positive (1–10 % of nuclei): counted as HR-positive, but such tumours may behave like "
    "ER-negative disease (ASCO/CAP 2020 comment)."
)

RECEPTOR_CALL: DecisionTable[ReceptorCall] = DecisionTable(
    id="receptor-call",
    title="ER/PR call from the stained nuclei",
    purpose="ER or PR positive at ≥1 % of tumour nuclei; ER 1–10 % is “ER Low Positive”; <1 % negative.",
    facts=(
        Fact("receptor", "receptor"),
        Fact("percent", "stained nuclei", "%"),
        Fact("reported_positive", "reported positive"),
    ),
    rows=(
        Row(
            id="E1",
            when=(
                eq("receptor", Receptor.ER),
                ge("percent", RECEPTOR_POSITIVE_PERCENT),
                le("percent", ER_LOW_POSITIVE_UPPER_PERCENT),
            ),
            then=ReceptorCall.LOW_POSITIVE,
            ref=f"{ASCO_CAP_2020}: ER 1–10 % is ER Low Positive",
            caveat=ER_LOW_CAVEAT,
        ),
        Row(
            id="E2",
            when=(ge("percent", RECEPTOR_POSITIVE_PERCENT),),
            then=ReceptorCall.POSITIVE,
            ref=f"{ASCO_CAP_2020}: positive at ≥1 % of nuclei",
        ),
        Row(
            id="E3",
            when=(lt("percent", RECEPTOR_POSITIVE_PERCENT),),
            then=ReceptorCall.NEGATIVE,
            ref=f"{ASCO_CAP_2020}: negative below 1 % of nuclei",
        ),
        Row(
            id="E4",
            when=(absent("percent"), eq("reported_positive", True)),
            then=ReceptorCall.POSITIVE,
            ref=f"{ASCO_CAP_2020}: the laboratory's stated result (no percentage given)",
        ),
        Row(
            id="E5",
            when=(absent("percent"), eq("reported_positive", False)),
            then=ReceptorCall.NEGATIVE,
            ref=f"{ASCO_CAP_2020}: the laboratory's stated result (no percentage given)",
        ),
        Row(id="E6", when=(), then=ReceptorCall.UNKNOWN, ref="engine rule: no usable ER/PR result"),
    ),
)

_POS = (ReceptorCall.POSITIVE, ReceptorCall.LOW_POSITIVE)

HR_STATUS: DecisionTable[HrStatus] = DecisionTable(
    id="hr-status",
    title="Hormone-receptor status",
    purpose="HR-positive = ER- and/or PR-positive, using the newest ER and the newest PR result.",
    facts=(Fact("er", "ER"), Fact("pr", "PR")),
    rows=(
        Row(
            id="H1",
            when=(eq("er", ReceptorCall.POSITIVE),),
            then=HrStatus.POSITIVE,
            ref=f"{ASCO_CAP_2020}: ER positive",
        ),
        Row(
            id="H2", when=(one_of("pr", *_POS),), then=HrStatus.POSITIVE, ref=f"{ASCO_CAP_2020}: PR positive"
        ),
        Row(
            id="H3",
            when=(eq("er", ReceptorCall.LOW_POSITIVE),),
            then=HrStatus.POSITIVE,
            ref=f"{ASCO_CAP_2020}: ER Low Positive counts as positive, with a comment",
            caveat="HR-positive rests on an ER Low Positive result (1–10 %) with PR not positive: "
            "interpret the HR-positive indications with caution.",
        ),
        Row(
            id="H4",
            when=(eq("er", ReceptorCall.NEGATIVE), eq("pr", ReceptorCall.NEGATIVE)),
            then=HrStatus.NEGATIVE,
            ref=f"{ASCO_CAP_2020}: ER and PR negative",
        ),
        Row(id="H5", when=(), then=HrStatus.UNKNOWN, ref="engine rule: ER or PR missing or unknown"),
    ),
)

HORMONE_TABLES: tuple[DecisionTable[Any], ...] = (RECEPTOR_CALL, HR_STATUS)
"""The ER/PR tables, for the documentation page."""


def _decide_call(r: ReceptorResult) -> Decision[ReceptorCall]:
    facts: dict[str, object] = {
        "receptor": r.receptor,
        "percent": r.percent,
        "reported_positive": r.reported_positive,
    }
    return decide(RECEPTOR_CALL, facts)


def receptor_call(r: ReceptorResult) -> ReceptorCall:
    """The ER/PR call of one result: the percentage decides when given, else the laboratory's statement."""
    return _decide_call(r).outcome


def _newest(results: Sequence[ReceptorResult], receptor: Receptor) -> ReceptorResult | None:
    """The newest result for ``receptor``: by collection date, then report date; later input wins ties."""
    chosen: ReceptorResult | None = None
    best: tuple[int, int] = (-1, -1)
    for r in results:
        if r.receptor is not receptor:
            continue
        key = (
            r.specimen.collected.toordinal() if r.specimen.collected else 0,
            r.reported.toordinal() if r.reported else 0,
        )
        if key >= best:
            chosen, best = r, key
    return chosen


def _evidence(decision: Decision[Any], source: ReceptorResult | None) -> Evidence:
    return Evidence(
        statement=decision.explain(),
        value=decision.table.describe_outcome(decision.outcome),
        unit=None,
        source=source.source if source else None,
        rule=f"{decision.row.ref} [{decision.tag}]",
    )


def hr_status(receptors: Sequence[ReceptorResult]) -> tuple[HrStatus, tuple[Evidence, ...], tuple[str, ...]]:
    """HR status from the newest ER and newest PR result, with evidence lines and caveats.

    A percentage that contradicts a stated positive/negative result is shown as a caveat; the percentage
    decides.
    """
    evidence: list[Evidence] = []
    caveats: list[str] = []
    calls: dict[Receptor, ReceptorCall | None] = {}
    for receptor in (Receptor.ER, Receptor.PR):
        newest = _newest(receptors, receptor)
        if newest is None:
            calls[receptor] = None
            continue
        decision = _decide_call(newest)
        calls[receptor] = decision.outcome
        evidence.append(_evidence(decision, newest))
        if decision.row.caveat:
            caveats.append(decision.row.caveat)
        stated = newest.reported_positive
        if newest.percent is not None and stated is not None and stated != (decision.outcome in _POS):
            caveats.append(
                f"{receptor} reported {'positive' if stated else 'negative'} but {newest.percent:g} % of "
                f"nuclei stained: the percentage is used ({decision.outcome})."
            )
    status = decide(HR_STATUS, {"er": calls[Receptor.ER], "pr": calls[Receptor.PR]})
    evidence.append(_evidence(status, None))
    if status.row.caveat:
        caveats.append(status.row.caveat)
    return status.outcome, tuple(evidence), tuple(dict.fromkeys(caveats))
