"""Compare the reader's own assertion grammar with medspaCy (ConText + sectionizer) on the corpus.

The narrative reader takes its section kinds and the historical/hypothetical context of each clause from an
``AssertionReader`` (``connectors.fhir.narrative_context``). This script runs the reader twice on the same
reports — once with the service's grammar, once with medspaCy's ConText and sectionizer (default rules, and
default rules plus this project's section names) — and prints per-class F1, accuracy and false-positive
counts for each. Reports: the corpus's narrative reports as written, the same reports rewritten (case,
wrapping, whitespace, decimal separator, synonyms), and the hand-written style cases of
``tests/unit/connectors/fhir/test_narrative_styles.py`` and ``test_narrative_reports.py``.

medspaCy is not a dependency of the project; run this in an environment that has it::

    python -m tests.tools.compare_assertions [--count 720]

medspaCy loads a blank English pipeline (no model download). The HER2-specific contexts (eligibility
comments, guideline criteria, controls, "not performed") are read by the project's grammar in both runs;
only sections and historical, hypothetical and uncertain context differ.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from cds_service.cli.eval_pathology import CLASSES, Case, false_positives, scores
from cds_service.cli.eval_pathology import evaluation_class as _evaluation_class
from connectors.fhir.narrative import parse_report_text
from connectors.fhir.narrative_context import Assertion, AssertionReader, GrammarAssertions, domain_assertions
from connectors.fhir.narrative_sections import Section
from rules.domain import SpecimenRef
from rules.her2 import synthesize
from tests.corpus.pathology_corpus import generate
from tests.corpus.perturbations import CASES, perturb

_SPECIMEN = SpecimenRef(id="S26-00007", collected=dt.date(2026, 1, 6))
_NARRATIVE_SHAPES = frozenset(
    {"conclusion", "presented_plain", "presented_html", "binary", "docref", "transaction"}
)
#: medspaCy section categories that are never this specimen's result (their default rules).
_MEDSPACY_HISTORY = frozenset(
    {
        "past_medical_history",
        "history_of_present_illness",
        "family_history",
        "social_history",
        "chief_complaint",
        "reason_for_examination",
    }
)
#: This project's section headers, given to medspaCy's sectionizer as literal rules in the second run.
_PROJECT_SECTIONS = {
    Section.HISTORY: ("clinical history", "history", "clinical information", "indication"),
    Section.CRITERIA: ("interpretive criteria", "scoring criteria", "scoring guideline", "legend"),
    Section.METHOD: ("methods", "method", "methodology"),
    Section.COMMENT: ("comment", "comments", "note", "notes", "footnote"),
    Section.ADDENDUM: ("addendum", "amended report", "corrected report"),
    Section.IN_SITU: ("ductal carcinoma in situ", "dcis", "in situ component"),
}
_TARGETS = (
    "HER2", "HER-2", "HER2/neu", "HER-2/neu", "Her2", "her2", "ERBB2", "c-erbB-2",
    "IHC", "ISH", "FISH", "SISH", "score", "ratio", "group", "amplified", "amplification",
)  # fmt: skip


class MedspacyAssertions:
    """An ``AssertionReader`` backed by medspaCy's sectionizer and ConText (blank English pipeline)."""

    def __init__(self, *, project_sections: bool) -> None:
        import medspacy
        from loguru import logger
        from medspacy.section_detection import SectionRule

        logger.remove()  # PyRuSH logs every sentence boundary at DEBUG level
        from medspacy.target_matcher import TargetRule

        self.nlp = medspacy.load(
            medspacy_enable=[
                "medspacy_pyrush",
                "medspacy_target_matcher",
                "medspacy_context",
                "medspacy_sectionizer",
            ]
        )
        self.nlp.get_pipe("medspacy_target_matcher").add([TargetRule(t, "HER2_RESULT") for t in _TARGETS])
        if project_sections:
            rules = [
                SectionRule(literal=name, category=kind.value)
                for kind, names in _PROJECT_SECTIONS.items()
                for name in names
            ]
            self.nlp.get_pipe("medspacy_sectionizer").add(rules)

    def sections(self, lines: Sequence[str]) -> list[Section]:
        text = "\n".join(lines)
        doc = self.nlp(text)
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        kinds = [Section.BODY] * len(lines)
        for span in doc._.section_spans:
            kind = _section_kind(span._.section_category or "")
            begin, end = span.start_char, span.end_char
            for index, start in enumerate(starts):
                if begin <= start < end and lines[index].strip():
                    kinds[index] = kind
        return kinds

    def clause(self, clause: str) -> frozenset[Assertion]:
        found = set(domain_assertions(clause))
        for entity in self.nlp(clause).ents:
            if entity._.is_historical:
                found.add(Assertion.HISTORICAL)
            if entity._.is_hypothetical:
                found.add(Assertion.HYPOTHETICAL)
            if entity._.is_uncertain:
                found.add(Assertion.UNCERTAIN)
        return frozenset(found)


def _section_kind(category: str) -> Section:
    if category in _MEDSPACY_HISTORY:
        return Section.HISTORY
    if category == "addendum":
        return Section.ADDENDUM
    try:
        return Section(category)
    except ValueError:
        return Section.BODY


def classify_text(text: str, reader: AssertionReader) -> str:
    reading = parse_report_text(text, specimen=_SPECIMEN, reported=dt.date(2026, 1, 9), assertions=reader)
    return _evaluation_class(synthesize(reading.her2, reading.receptors).current)


def style_cases() -> list[tuple[str, str]]:
    from tests.unit.connectors.fhir.test_narrative_reports import REPORTS
    from tests.unit.connectors.fhir.test_narrative_styles import CASES as STYLE_CASES

    names = {
        "HER2-positive": "positive",
        "HER2-equivocal": "equivocal",
        "HER2-ultralow": "ultralow",
        "HER2-null": "null",
        "HER2-0": "zero",
        "HER2-negative-unscored": "unscored",
        "indeterminate": "indeterminate",
    }
    cases = []
    for text, expected in [*STYLE_CASES, *REPORTS]:
        label = names.get(expected)
        if label is None:  # HER2-low: 1+ or 2+/ISH- is decided by the text
            two = bool(re.search(r"2\+|\(\+\+\)|borderline|equivocal|\b2\s*\(", text, re.IGNORECASE))
            label = "low-2+/ish-" if two and "1+" not in text else "low-1+"
        cases.append((text, label))
    return cases


def evaluate(items: Sequence[tuple[str, str, str]], reader: AssertionReader) -> list[Case]:
    return [
        Case(id=ident, label=label, predicted=classify_text(text, reader)) for ident, text, label in items
    ]


def summary(name: str, cases: list[Case], seconds: float) -> str:
    per_class = scores(cases)
    correct = sum(1 for c in cases if c.label == c.predicted)
    worst = min((s.f1 for s in per_class if s.support and s.f1 is not None), default=0.0)
    f1s = " ".join(
        f"{s.name}={s.f1:.3f}" if s.f1 is not None else f"{s.name}=—" for s in per_class if s.support
    )
    return (
        f"{name}: accuracy {correct / len(cases):.3f} ({correct}/{len(cases)}), lowest F1 {worst:.3f}, "
        f"false positives {len(false_positives(cases))}, {seconds:.1f} s\n    {f1s}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tools.compare_assertions")
    parser.add_argument("--count", type=int, default=720)
    parser.add_argument("--seed", type=int, default=20260109)
    args = parser.parse_args(argv)
    try:
        readers: dict[str, Callable[[], Any]] = {
            "own grammar": GrammarAssertions,
            "medspaCy (default rules)": lambda: MedspacyAssertions(project_sections=False),
            "medspaCy (+ project section names)": lambda: MedspacyAssertions(project_sections=True),
        }
        built = {name: make() for name, make in readers.items()}
    except ImportError:
        print("medspaCy is not installed in this environment", file=sys.stderr)
        return 2
    items = [i for i in generate(args.seed, args.count) if i.shape in _NARRATIVE_SHAPES]
    rng = random.Random(args.seed)
    sets = {
        "corpus narratives": [(i.id, i.text, i.label.value) for i in items],
        "corpus narratives rewritten": [
            (
                i.id,
                perturb(
                    i.text,
                    rng,
                    case=rng.choice([None, *sorted(CASES)]),
                    width=rng.choice([None, rng.randint(40, 100)]),
                    spaces=rng.random() < 0.5,
                    words=rng.random() < 0.5,
                ),
                i.label.value,
            )
            for i in items
        ],
        "hand-written styles and reports": [
            (f"s{n}", text, label) for n, (text, label) in enumerate(style_cases())
        ],
    }
    for set_name, set_items in sets.items():
        print(f"{set_name} ({len(set_items)} reports)")
        for name, reader in built.items():
            start = time.perf_counter()
            cases = evaluate(set_items, reader)
            print("  " + summary(name, cases, time.perf_counter() - start))
            wrong = Counter((c.label, c.predicted) for c in cases if c.label != c.predicted)
            if wrong:
                print("    errors: " + ", ".join(f"{a}→{b} ×{n}" for (a, b), n in wrong.most_common(6)))
    print("classes: " + ", ".join(CLASSES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
