"""ER/PR calls and HR status (ASCO/CAP 2020, Allison; spec/clinical-logic.md §9)."""

from __future__ import annotations

import datetime as dt

import pytest

from rules.domain import HrStatus, Receptor, ReceptorCall, ReceptorResult, SourceRef, SpecimenRef
from rules.hormone import HORMONE_TABLES, hr_status, receptor_call

ER, PR = Receptor.ER, Receptor.PR


def rec(
    receptor: Receptor,
    percent: float | None = None,
    stated: bool | None = None,
    *,
    collected: dt.date | None = None,
    ref: str = "Observation/er",
) -> ReceptorResult:
    return ReceptorResult(
        receptor=receptor,
        percent=percent,
        reported_positive=stated,
        specimen=SpecimenRef(collected=collected),
        source=SourceRef(system="fhir", reference=ref),
    )


CALLS = [
    pytest.param(rec(ER, 0.5), ReceptorCall.NEGATIVE, id="ER0.5%→negative"),
    pytest.param(rec(ER, 1.0), ReceptorCall.LOW_POSITIVE, id="ER1%→low-positive"),
    pytest.param(rec(ER, 10.0), ReceptorCall.LOW_POSITIVE, id="ER10%→low-positive"),
    pytest.param(rec(ER, 10.5), ReceptorCall.POSITIVE, id="ER10.5%→positive"),
    pytest.param(rec(PR, 5.0), ReceptorCall.POSITIVE, id="PR5%→positive(no-low-category)"),
    pytest.param(rec(PR, 0.9), ReceptorCall.NEGATIVE, id="PR0.9%→negative"),
    pytest.param(rec(ER, None, True), ReceptorCall.POSITIVE, id="ER-stated-positive"),
    pytest.param(rec(PR, None, False), ReceptorCall.NEGATIVE, id="PR-stated-negative"),
    pytest.param(rec(ER, 0.0, True), ReceptorCall.NEGATIVE, id="percentage-wins-over-statement"),
    pytest.param(rec(PR), ReceptorCall.UNKNOWN, id="nothing→unknown"),
]


@pytest.mark.parametrize(("result", "call"), CALLS)
def test_receptor_call(result: ReceptorResult, call: ReceptorCall) -> None:
    assert receptor_call(result) is call


STATUS = [
    pytest.param([rec(ER, 90.0), rec(PR, 0.0)], HrStatus.POSITIVE, id="ER+→HR+"),
    pytest.param([rec(ER, 0.0), rec(PR, 40.0)], HrStatus.POSITIVE, id="PR+→HR+"),
    pytest.param([rec(ER, 5.0), rec(PR, 0.0)], HrStatus.POSITIVE, id="ER-low→HR+_with_caveat"),
    pytest.param([rec(ER, 5.0), rec(PR, 20.0)], HrStatus.POSITIVE, id="ER-low_PR+→HR+"),
    pytest.param([rec(ER, 0.0), rec(PR, 0.0)], HrStatus.NEGATIVE, id="ER-PR-→HR-"),
    pytest.param([rec(ER, 0.0)], HrStatus.UNKNOWN, id="ER-_PR-missing→unknown"),
    pytest.param([], HrStatus.UNKNOWN, id="none→unknown"),
]


@pytest.mark.parametrize(("results", "status"), STATUS)
def test_hr_status(results: list[ReceptorResult], status: HrStatus) -> None:
    assert hr_status(results)[0] is status


def test_every_hormone_row_fires() -> None:
    fired: set[str] = set()
    for param in [*CALLS, *STATUS]:
        inputs = param.values[0]
        receptors = inputs if isinstance(inputs, list) else [inputs]
        _, evidence, _ = hr_status([r for r in receptors if isinstance(r, ReceptorResult)])
        fired |= {line.rule.rsplit("[", 1)[1].rstrip("]") for line in evidence if line.rule}
    every = {table.tag(row) for table in HORMONE_TABLES for row in table.rows}
    assert every - fired == set()


def test_newest_result_per_receptor_decides() -> None:
    old = rec(ER, 80.0, collected=dt.date(2019, 1, 1), ref="Observation/old")
    new = rec(ER, 0.0, collected=dt.date(2024, 1, 1), ref="Observation/new")
    pr = rec(PR, 0.0, collected=dt.date(2024, 1, 1))
    status, evidence, _ = hr_status([new, old, pr])
    assert status is HrStatus.NEGATIVE
    assert evidence[0].source == new.source


def test_er_low_positive_carries_a_caveat() -> None:
    _, _, caveats = hr_status([rec(ER, 5.0), rec(PR, 0.0)])
    assert any("ER Low Positive" in c for c in caveats)
    _, _, strong = hr_status([rec(ER, 90.0), rec(PR, 0.0)])
    assert not any("ER Low Positive" in c for c in strong)


def test_contradicting_statement_is_shown() -> None:
    _, _, caveats = hr_status([rec(ER, 0.0, True), rec(PR, 0.0)])
    assert any("reported positive but 0 %" in c for c in caveats)
