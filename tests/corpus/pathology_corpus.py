"""Generate the labelled pathology corpus and write it to a folder.

Usage::

    python -m tests.corpus.pathology_corpus OUT [--seed 20260109] [--count 720] [--per-cause 8]
    her2-cds eval-pathology OUT

``OUT`` receives one FHIR JSON file per report, the report texts under ``texts/``, and ``labels.tsv``
(columns ``id``, ``file``, ``label``, ``style``, ``shape``, ``traps``); the reports in the shapes of outside
laboratories (:mod:`tests.corpus.outside`, style ``outside:<cause>``) follow the main ones. Classes are
drawn in turn so that each has about ``count / 9`` reports; styles, distractors and FHIR shapes are drawn at
random from the seed, so one seed always gives the same corpus. Labels come from
:func:`tests.corpus.truth.label` applied to the case each report was written from (a contradiction between a
coded value and the report's own text is labelled indeterminate, the spec's rule for such an occasion).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.corpus import fhir_shapes, outside, reports, scenarios
from tests.corpus.truth import Case, Ihc, Label

DEFAULT_SEED = 20260109
DEFAULT_COUNT = 720
#: Reports per outside cause (:mod:`tests.corpus.outside`) added after the main ones.
DEFAULT_PER_CAUSE = 8
MANIFEST = "labels.tsv"
_SHAPE_WEIGHTS = {
    "conclusion": 10,
    "presented_plain": 24,
    "presented_html": 14,
    "binary": 10,
    "docref": 10,
    "transaction": 10,
    "coded": 8,
    "coded_narrative": 8,
    "coded_contradiction": 6,
    "presented_rtf": 6,
    "conclusion_v2": 6,
}
#: Item variants beside the traps: a resection without residual invasive carcinoma that only quotes the
#: pre-treatment core's result (labelled indeterminate: the specimen has no result of its own).
VARIANTS = ("post_neoadjuvant",)
_POST_NEOADJUVANT_SHARE = 0.04
_TRAP_COUNTS = (0, 1, 1, 2, 2, 3)
#: A coded IHC score and a score in the report's own text on the other side of a T-DXd category line.
_CONTRADICTING = {0: (1, 3), 1: (3,), 3: (0, 1)}


@dataclass(frozen=True)
class Item:
    """One labelled report: its FHIR JSON, its text, and how it was made."""

    id: str
    label: Label
    style: str
    shape: str
    traps: tuple[str, ...]
    text: str
    resource: dict[str, Any]


def _style(case: Case, rng: random.Random) -> str:
    choices = [s for s in reports.STYLES if s != "addendum" or case.ish is not None]
    return rng.choice(choices)


def _shape(case: Case, rng: random.Random) -> str:
    names = [n for n in _SHAPE_WEIGHTS if not n.startswith("coded") or fhir_shapes.codable(case)]
    if "coded_contradiction" in names and (case.ish is not None or case.ihc is None or case.ihc.score == 2):
        names.remove("coded_contradiction")
    return rng.choices(names, weights=[_SHAPE_WEIGHTS[n] for n in names])[0]


def _item(number: int, target: Label, rng: random.Random) -> Item:
    case = scenarios.build(target, rng)
    style = _style(case, rng)
    traps = tuple(sorted(rng.sample(reports.TRAPS, rng.choice(_TRAP_COUNTS))))
    shape = _shape(case, rng)
    label = target
    written_case, coded_case = case, None
    if shape == "coded_contradiction":
        assert case.ihc is not None
        assert case.ihc.score is not None
        other = rng.choice(_CONTRADICTING[case.ihc.score])
        written_case = Case(ihc=Ihc(score=other, assay=case.ihc.assay))
        coded_case, label = case, Label.INDETERMINATE
    text = reports.render(written_case, style, traps, rng).text
    if (
        rng.random() < _POST_NEOADJUVANT_SHARE
        and coded_case is None
        and case.ihc is not None
        and case.ihc.score is not None
        and not shape.startswith("coded")
    ):
        text, label, traps = reports.post_neoadjuvant(case, rng), Label.INDETERMINATE, (*traps, *VARIANTS)
    resource = fhir_shapes.shape(shape, text, case, rng, coded_case=coded_case)
    return Item(
        id=f"r{number:04d}",
        label=label,
        style=style,
        shape=shape,
        traps=traps,
        text=text,
        resource=resource,
    )


def _outside_item(number: int, cause: str, rng: random.Random) -> Item:
    text, truth = outside.BUILDERS[cause](rng)
    if outside.VERSION_BREAK in text:
        original, later = text.split(outside.VERSION_BREAK)
        shape, resource = "report_versions", fhir_shapes.report_versions(original, later, rng)
    else:
        shape = rng.choice(
            ["conclusion", "presented_plain", "presented_plain", "transaction", "v2_observations"]
        )
        if "   " in text or (shape == "v2_observations" and text.startswith("{\\rtf")):
            # A space-aligned table keeps its columns only as plain text; an RTF body is a document.
            shape = "presented_plain"
        if shape == "v2_observations":
            resource = fhir_shapes.v2_observations(text, rng)
        else:
            resource = fhir_shapes.shape(shape, text, Case(), rng)
    return Item(
        id=f"r{number:04d}",
        label=truth,
        style=f"outside:{cause}",
        shape=shape,
        traps=(),
        text=text,
        resource=resource,
    )


def generate(
    seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT, per_cause: int = DEFAULT_PER_CAUSE
) -> list[Item]:
    """``count`` labelled reports in the main styles, then ``per_cause`` reports per outside cause;
    deterministic for a given seed (the outside reports draw from their own generator, so the main ones do
    not change with them)."""
    rng = random.Random(seed)
    classes = list(Label)
    items = [_item(number, classes[number % len(classes)], rng) for number in range(1, count + 1)]
    other = random.Random(seed + 1)
    for cause in outside.CAUSES:
        for _ in range(per_cause):
            items.append(_outside_item(len(items) + 1, cause, other))
    return items


def write_corpus(
    folder: Path, seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT, per_cause: int = DEFAULT_PER_CAUSE
) -> Path:
    """Write the corpus to ``folder`` (created if needed) and return the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts").mkdir(exist_ok=True)
    manifest = folder / MANIFEST
    with manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "file", "label", "style", "shape", "traps"])
        for item in generate(seed, count, per_cause):
            name = f"{item.id}.json"
            (folder / name).write_text(json.dumps(item.resource, indent=1), encoding="utf-8")
            (folder / "texts" / f"{item.id}.txt").write_text(item.text, encoding="utf-8")
            writer.writerow([item.id, name, item.label.value, item.style, item.shape, ",".join(item.traps)])
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.pathology_corpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("folder", type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--per-cause", type=int, default=DEFAULT_PER_CAUSE, help="reports per outside cause")
    args = parser.parse_args(argv)
    manifest = write_corpus(args.folder, args.seed, args.count, args.per_cause)
    total = args.count + args.per_cause * len(outside.CAUSES)
    print(f"wrote {total} reports and {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
