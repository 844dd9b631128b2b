"""The decision-table engine: first match wins, exhaustiveness, fact checking, conditions, rendering."""

from __future__ import annotations

import pytest

from rules.domain import IhcScore
from rules.errors import RulesError
from rules.tables import (
    Condition,
    DecisionTable,
    Fact,
    Op,
    Row,
    absent,
    decide,
    eq,
    evaluate,
    ge,
    gt,
    le,
    lt,
    mentions,
    one_of,
    present,
    render_markdown,
    render_table,
)


def _table(*, exhaustive: bool = True) -> DecisionTable[str]:
    rows = [
        Row(id="R1", when=(gt("n", 10.0),), then="high", ref="ref one", caveat="check it"),
        Row(id="R2", when=(ge("n", 5.0), eq("flag", True)), then="mid-flagged", ref="ref two"),
        Row(id="R3", when=(ge("n", 5.0),), then="mid", ref="ref three"),
    ]
    if exhaustive:
        rows.append(Row(id="R4", when=(), then="otherwise", ref="ref four"))
    return DecisionTable(
        id="demo",
        title="Demo | table",
        purpose="for tests",
        facts=(Fact("n", "count", "%"), Fact("flag", "flag")),
        rows=tuple(rows),
        exhaustive=exhaustive,
    )


@pytest.mark.parametrize(
    ("n", "flag", "row_id", "outcome"),
    [
        pytest.param(11.0, True, "R1", "high", id="first-match-wins"),
        pytest.param(10.0, True, "R2", "mid-flagged", id="boundary-10-is-not->10"),
        pytest.param(5.0, False, "R3", "mid", id="ge-includes-boundary"),
        pytest.param(4.99, True, "R4", "otherwise", id="otherwise-row"),
        pytest.param(None, True, "R4", "otherwise", id="missing-number-meets-no-threshold"),
    ],
)
def test_evaluate_returns_outcome_and_row(n: float | None, flag: bool, row_id: str, outcome: str) -> None:
    decision = decide(_table(), {"n": n, "flag": flag})
    assert (decision.row.id, decision.outcome, decision.tag) == (row_id, outcome, f"demo#{row_id}")


def test_exhaustive_table_without_a_match_raises() -> None:
    table = DecisionTable(
        id="gap",
        title="gap",
        purpose="",
        facts=(Fact("n", "n"),),
        rows=(Row(id="A", when=(gt("n", 1.0),), then=1, ref="r"),),
    )
    with pytest.raises(RulesError, match="no row"):
        evaluate(table, {"n": 0.0})


def test_non_exhaustive_table_without_a_match_gives_none() -> None:
    assert evaluate(_table(exhaustive=False), {"n": 1.0, "flag": False}) is None
    with pytest.raises(RulesError, match="exhaustive"):
        decide(_table(exhaustive=False), {"n": 1.0, "flag": False})


@pytest.mark.parametrize(
    "facts",
    [pytest.param({"n": 1.0}, id="missing"), pytest.param({"n": 1.0, "flag": True, "typo": 1}, id="unknown")],
)
def test_facts_must_match_the_declaration(facts: dict[str, object]) -> None:
    with pytest.raises(RulesError, match="facts"):
        evaluate(_table(), facts)


def test_table_validation() -> None:
    row = Row(id="A", when=(), then=1, ref="r")
    with pytest.raises(RulesError, match="duplicate"):
        DecisionTable(id="t", title="t", purpose="", facts=(), rows=(row, row))
    with pytest.raises(RulesError, match="undeclared"):
        DecisionTable(
            id="t", title="t", purpose="", facts=(), rows=(Row(id="A", when=(eq("x", 1),), then=1, ref="r"),)
        )
    with pytest.raises(RulesError, match="no rows"):
        DecisionTable(id="t", title="t", purpose="", facts=(), rows=())
    with pytest.raises(RulesError, match="reference"):
        Row(id="A", when=(), then=1, ref=" ")
    with pytest.raises(RulesError, match="twice"):
        DecisionTable(id="t", title="t", purpose="", facts=(Fact("a", "a"), Fact("a", "b")), rows=(row,))


def test_condition_validation() -> None:
    with pytest.raises(RulesError, match="tuple"):
        Condition("x", Op.IN, 1)
    with pytest.raises(RulesError, match="number"):
        Condition("x", Op.GT, "10")


@pytest.mark.parametrize(
    ("condition", "value", "holds"),
    [
        pytest.param(eq("x", True), 1, False, id="true-is-not-1"),
        pytest.param(eq("x", 1), True, False, id="1-is-not-true"),
        pytest.param(eq("x", IhcScore.TWO_PLUS), IhcScore.TWO_PLUS, True, id="enum-eq"),
        pytest.param(one_of("x", IhcScore.ZERO, IhcScore.ONE_PLUS), IhcScore.ONE_PLUS, True, id="in"),
        pytest.param(one_of("x", 2, 3), 4, False, id="not-in"),
        pytest.param(lt("x", 2.0), 1.99, True, id="lt"),
        pytest.param(le("x", 10.0), 10.0, True, id="le-boundary"),
        pytest.param(gt("x", 10.0), True, False, id="bool-is-not-a-number"),
        pytest.param(gt("x", 1.0), "5", False, id="text-is-not-a-number"),
        pytest.param(absent("x"), None, True, id="absent"),
        pytest.param(present("x"), 0, True, id="zero-is-present"),
        pytest.param(present("x"), None, False, id="none-is-not-present"),
        pytest.param(mentions("x", "4B5"), "Ventana 4b5 clone", True, id="mentions-ignores-case"),
        pytest.param(mentions("x", "4B5"), "CB11", False, id="mentions-miss"),
        pytest.param(eq("x", None), None, False, id="none-never-equals"),
    ],
)
def test_condition_semantics(condition: Condition, value: object, holds: bool) -> None:
    assert condition.holds(value) is holds


def test_explain_lists_the_tested_facts() -> None:
    decision = decide(_table(), {"n": 7.0, "flag": True})
    assert decision.explain() == "Demo | table: count: 7.0 %, flag: yes → mid-flagged"
    assert decide(_table(), {"n": 1.0, "flag": False}).explain() == "Demo | table: otherwise → otherwise"


def test_render_table_shows_conditions_outcome_caveat_and_reference_per_row() -> None:
    text = render_table(_table())
    lines = text.splitlines()
    assert lines[0] == "## Demo | table"
    assert "| row | count | flag | → outcome | caveat shown | reference |" in lines
    assert "| `R1` | > 10.0 % | — | **high** | check it | ref one |" in lines
    assert "| `R2` | ≥ 5.0 % | yes | **mid-flagged** |  | ref two |" in lines
    assert "| `R4` | — | — | **otherwise** |  | ref four |" in lines


def test_render_markdown_is_a_whole_page() -> None:
    page = render_markdown([_table(), _table(exhaustive=False)], title="Tables", preface="Intro.")
    assert page.startswith("# Tables\n\nIntro.\n")
    assert page.count("## Demo | table") == 2
    assert "When no row applies, the table gives no outcome." in page
