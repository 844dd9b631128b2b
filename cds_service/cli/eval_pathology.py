"""``her2-cds eval-pathology CORPUS``: how well the pathology reader agrees with a labelled report set.

CORPUS is a folder holding FHIR R4 JSON files (Bundles, DiagnosticReports, Observations) and a manifest,
``labels.tsv``, with at least the columns ``file`` and ``label``; ``id`` is used in listings when present.
Each file is read as ``her2-cds classify`` reads it (FHIR mapping, narrative reader, ASCO/CAP rules), the
current test occasion's category is turned into one of the evaluation classes below, and the command prints
per-class precision, recall and F1, the accuracy, the number of false HER2-positive calls and a confusion
matrix (rows: label, columns: prediction).

Classes: ``positive``; ``low-1+`` and ``low-2+/ish-`` (HER2-low from IHC 1+, or IHC 2+ with negative ISH);
``equivocal`` (IHC 2+ awaiting ISH); ``ultralow``; ``null``; ``zero`` (IHC 0, staining not stated);
``unscored`` (a legacy "negative" without a score); ``indeterminate`` (anything that cannot be classified).

``--check`` makes the exit status 1 when a class with support falls below ``--min-f1`` (0.99) or any report
is wrongly called positive. Exit 2 for an unreadable corpus.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.errors import InvalidSourceDataError
from connectors.fhir.mapping import load_fhir_file
from rules.domain import Her2Assessment, IhcScore
from rules.her2 import display_category, synthesize
from rules.her2.classify import classify_with_trace
from rules.her2.ihc_tables import IHC_PERCENTAGES, IHC_SCORE, IhcReading, ScoreSource
from rules.parameters import RULES_VERSION

CLASSES: tuple[str, ...] = (
    "positive",
    "low-1+",
    "low-2+/ish-",
    "equivocal",
    "ultralow",
    "null",
    "zero",
    "unscored",
    "indeterminate",
)
"""The evaluation classes, in the order of the report."""

_SHORT = ("pos", "low1", "low2", "equiv", "ultra", "null", "zero", "unsc", "indet")
_DISPLAY_CLASS = {
    "HER2-positive": "positive",
    "HER2-equivocal": "equivocal",
    "HER2-ultralow": "ultralow",
    "HER2-null": "null",
    "HER2-0": "zero",
    "HER2-negative-unscored": "unscored",
    "indeterminate": "indeterminate",
}
MANIFEST = "labels.tsv"


class CorpusError(Exception):
    """The corpus folder or its manifest cannot be used (the message says what to fix)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One labelled report of the corpus and the class the reader and rules gave it."""

    id: str
    label: str
    predicted: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClassScore:
    """Precision, recall and F1 of one class (None when undefined: nothing predicted or no support)."""

    name: str
    support: int
    predicted: int
    precision: float | None
    recall: float | None
    f1: float | None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "eval-pathology",
        help="evaluate the pathology reader on a labelled corpus folder (FHIR files + labels.tsv)",
    )
    parser.add_argument("corpus", type=Path, help="folder with FHIR R4 JSON files and labels.tsv")
    parser.add_argument("--errors", type=int, default=20, help="list up to N misclassified reports (20)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--min-f1", type=float, default=0.99, help="per-class F1 target for --check (0.99)")
    parser.set_defaults(func=run)


def evaluation_class(assessment: Her2Assessment | None) -> str:
    """The evaluation class of one assessment (HER2-low split by the IHC score the rules used)."""
    display = display_category(assessment)
    if display != "HER2-low":
        return _DISPLAY_CLASS[display]
    assert assessment is not None
    return "low-2+/ish-" if _ihc_score_used(assessment) is IhcScore.TWO_PLUS else "low-1+"


def _ihc_score_used(assessment: Her2Assessment) -> IhcScore | None:
    """The IHC score the classification rested on: the stated one, or the one the percentages give."""
    _, decisions = classify_with_trace(assessment.result)
    by_table = {decision.table.id: decision for decision in decisions}
    derived = by_table.get(IHC_PERCENTAGES.id)
    choice = by_table.get(IHC_SCORE.id)
    if derived is not None and choice is not None and choice.outcome is ScoreSource.PERCENTAGES:
        reading: IhcReading = derived.outcome
        return reading.score
    ihc = assessment.result.ihc
    return ihc.score if ihc is not None else None


def read_manifest(corpus: Path) -> list[tuple[str, Path, str]]:
    """(id, file, label) rows of ``labels.tsv``; raises :class:`CorpusError` when unusable."""
    manifest = corpus / MANIFEST
    try:
        with manifest.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
    except OSError as exc:
        raise CorpusError(f"cannot read {manifest}: {exc.strerror or type(exc).__name__}") from exc
    entries = []
    for number, row in enumerate(rows, start=2):
        name, label = (row.get("file") or "").strip(), (row.get("label") or "").strip()
        if not name or label not in CLASSES:
            raise CorpusError(
                f"{MANIFEST} line {number}: needs a file and a label among {', '.join(CLASSES)}"
            )
        entries.append(((row.get("id") or name).strip(), corpus / name, label))
    if not entries:
        raise CorpusError(f"{MANIFEST} lists no reports")
    return entries


def predict(path: Path) -> str:
    """The evaluation class of one FHIR file (an unreadable file is ``indeterminate``)."""
    try:
        data = load_fhir_file(path)
    except InvalidSourceDataError:
        return "indeterminate"
    return evaluation_class(synthesize(data.her2, data.receptors).current)


def scores(cases: list[Case]) -> list[ClassScore]:
    """Per-class precision, recall and F1."""
    result = []
    for name in CLASSES:
        true_positive = sum(1 for c in cases if c.label == name and c.predicted == name)
        support = sum(1 for c in cases if c.label == name)
        predicted = sum(1 for c in cases if c.predicted == name)
        precision = true_positive / predicted if predicted else None
        recall = true_positive / support if support else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result.append(
            ClassScore(
                name=name, support=support, predicted=predicted, precision=precision, recall=recall, f1=f1
            )
        )
    return result


def false_positives(cases: list[Case]) -> list[Case]:
    return [c for c in cases if c.predicted == "positive" and c.label != "positive"]


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def report_text(corpus: Path, cases: list[Case], per_class: list[ClassScore], errors: int) -> str:
    correct = sum(1 for c in cases if c.label == c.predicted)
    lines = [
        f"Pathology reader evaluation: {len(cases)} reports in {corpus} (rules {RULES_VERSION})",
        "",
        f"{'class':<15}{'support':>8}{'predicted':>10}{'precision':>10}{'recall':>8}{'F1':>8}",
    ]
    for item in per_class:
        lines.append(
            f"{item.name:<15}{item.support:>8}{item.predicted:>10}{_fmt(item.precision):>10}"
            f"{_fmt(item.recall):>8}{_fmt(item.f1):>8}"
        )
    lines += [
        "",
        f"accuracy: {correct / len(cases):.3f} ({correct}/{len(cases)})",
        f"false HER2-positive calls: {len(false_positives(cases))}",
        "",
        "confusion matrix (rows: label, columns: prediction)",
        " " * 7 + "".join(f"{short:>7}" for short in _SHORT),
    ]
    pairs = Counter((c.label, c.predicted) for c in cases)
    for name, short in zip(CLASSES, _SHORT, strict=True):
        lines.append(f"{short:<7}" + "".join(f"{pairs[(name, other)]:>7}" for other in CLASSES))
    wrong = [c for c in cases if c.label != c.predicted]
    if wrong and errors > 0:
        lines += ["", f"misclassified ({len(wrong)}; first {min(errors, len(wrong))}):"]
        lines += [f"  {c.id}: label {c.label}, predicted {c.predicted}" for c in wrong[:errors]]
    return "\n".join(lines)


def report_json(cases: list[Case], per_class: list[ClassScore]) -> dict[str, Any]:
    pairs = Counter((c.label, c.predicted) for c in cases)
    return {
        "rulesVersion": RULES_VERSION,
        "reports": len(cases),
        "accuracy": sum(1 for c in cases if c.label == c.predicted) / len(cases),
        "falsePositives": [c.id for c in false_positives(cases)],
        "classes": {
            s.name: {
                "support": s.support,
                "predicted": s.predicted,
                "precision": s.precision,
                "recall": s.recall,
                "f1": s.f1,
            }
            for s in per_class
        },
        "confusion": {label: {other: pairs[(label, other)] for other in CLASSES} for label in CLASSES},
        "misclassified": [
            {"id": c.id, "label": c.label, "predicted": c.predicted} for c in cases if c.label != c.predicted
        ],
    }


def evaluate(corpus: Path) -> list[Case]:
    """Classify every report of the corpus; raises :class:`CorpusError` when the folder is unusable."""
    return [
        Case(id=ident, label=label, predicted=predict(path)) for ident, path, label in read_manifest(corpus)
    ]


def run(args: argparse.Namespace) -> int:
    try:
        cases = evaluate(args.corpus)
    except CorpusError as exc:
        print(f"her2-cds eval-pathology: {exc}", file=sys.stderr)
        return 2
    per_class = scores(cases)
    if args.json:
        json.dump(report_json(cases, per_class), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(report_text(args.corpus, cases, per_class, args.errors))
    missed = [s for s in per_class if s.support and (s.f1 is None or s.f1 < args.min_f1)]
    return 1 if args.check and (missed or false_positives(cases)) else 0
