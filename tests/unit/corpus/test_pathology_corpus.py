"""The corpus generator: deterministic, labelled from its own cases, covering the styles and FHIR shapes."""

from __future__ import annotations

import ast
import random
from collections import Counter
from pathlib import Path

import pytest

from tests.corpus import fhir_shapes, outside, reports, scenarios
from tests.corpus.pathology_corpus import VARIANTS, generate
from tests.corpus.truth import Case, Ihc, Ish, Label, Staining, dual_group, highest, label

CORPUS_PACKAGE = Path(__file__).resolve().parents[2] / "corpus"


def test_same_seed_same_corpus_and_another_seed_another() -> None:
    first, again, other = (
        generate(seed=11, count=40),
        generate(seed=11, count=40),
        generate(seed=12, count=40),
    )
    assert [(i.text, i.resource, i.label) for i in first] == [(i.text, i.resource, i.label) for i in again]
    assert [i.text for i in first] != [i.text for i in other]


def test_every_class_style_and_shape_is_covered() -> None:
    items = generate()
    assert len(items) >= 500
    assert min(Counter(i.label for i in items).values()) >= 50
    assert {i.style for i in items} == set(reports.STYLES) | {f"outside:{c}" for c in outside.CAUSES}
    assert {i.shape for i in items} == set(fhir_shapes.SHAPES)
    assert {t for i in items for t in i.traps} == set(reports.TRAPS) | set(VARIANTS)


def test_the_generator_shares_no_code_with_the_reader() -> None:
    for path in CORPUS_PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        assert not {m for m in imported if m.split(".")[0] in ("connectors", "rules", "cds_service")}, (
            path.name
        )


@pytest.mark.parametrize("target", list(Label))
def test_each_builder_writes_cases_of_its_own_class(target: Label) -> None:
    rng = random.Random(5)
    for _ in range(40):
        assert label(scenarios.build(target, rng)) is target


def stained(**shares: float) -> Case:
    return Case(ihc=Ihc(score=None, staining=Staining(**shares)))


def dual(score: int | None, ratio: float, her2: float, **recount: str) -> Case:
    ihc = Ihc(score=score) if score is not None else None
    return Case(ihc=ihc, ish=Ish(kind="dual", ratio=ratio, her2=her2, **recount))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param(stained(complete_intense=15), Label.POSITIVE, id="15%-intense"),
        pytest.param(stained(complete_intense=10), Label.EQUIVOCAL, id="10%-intense"),
        pytest.param(stained(incomplete_faint=10), Label.ULTRALOW, id="10%-faint"),
        pytest.param(stained(incomplete_faint=11), Label.LOW_1, id="11%-faint"),
        pytest.param(stained(), Label.NULL, id="no-staining"),
        pytest.param(
            Case(ihc=Ihc(score=None, components=((3, 15.0), (1, 85.0)))), Label.POSITIVE, id="3+15%"
        ),
        pytest.param(dual(2, 1.5, 6.4, recount="same"), Label.POSITIVE, id="g3-2+-recount"),
        pytest.param(dual(2, 1.5, 6.4), Label.INDETERMINATE, id="g3-2+-no-recount"),
        pytest.param(dual(1, 2.3, 3.6), Label.LOW_1, id="g2-1+"),
        pytest.param(dual(None, 1.2, 2.4), Label.INDETERMINATE, id="g5-no-ihc"),
        pytest.param(
            Case(ihc=Ihc(score=2), ish=Ish(kind="single", her2=4.8)), Label.EQUIVOCAL, id="single-2+"
        ),
        pytest.param(Case(legacy="positive"), Label.INDETERMINATE, id="bare-positive"),
        pytest.param(Case(legacy="negative"), Label.UNSCORED, id="bare-negative"),
        pytest.param(Case(ihc=Ihc(score=0, range_to=1)), Label.INDETERMINATE, id="range"),
    ],
)
def test_labels_follow_asco_cap(case: Case, expected: Label) -> None:
    assert label(case) is expected


def test_dual_groups_at_the_thresholds() -> None:
    assert [
        dual_group(2.0, 4.0),
        dual_group(2.0, 3.9),
        dual_group(1.9, 6.0),
        dual_group(1.9, 4.0),
        dual_group(1.9, 3.9),
    ] == [
        1,
        2,
        3,
        4,
        5,
    ]


def test_outside_reports_follow_the_main_ones_unchanged() -> None:
    main_only = generate(seed=11, count=40, per_cause=0)
    both = generate(seed=11, count=40, per_cause=2)
    assert [i.text for i in both[:40]] == [i.text for i in main_only]
    assert len(both) == 40 + 2 * len(outside.CAUSES)
    assert Counter(i.style for i in both[40:]) == {f"outside:{c}": 2 for c in outside.CAUSES}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([Label.LOW_1, Label.POSITIVE], Label.POSITIVE),
        ([Label.NULL, Label.LOW_1], Label.LOW_1),
        ([Label.LOW_1, Label.EQUIVOCAL], Label.EQUIVOCAL),
        ([Label.ZERO, Label.ULTRALOW], Label.ULTRALOW),
        ([Label.INDETERMINATE, Label.POSITIVE], Label.POSITIVE),
    ],
)
def test_same_date_specimens_take_the_highest_class(labels: list[Label], expected: Label) -> None:
    assert highest(labels) is expected
