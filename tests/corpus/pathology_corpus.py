"""Generate the labelled pathology corpus and write it to a folder.

Usage::

    python -m tests.corpus.pathology_corpus OUT [--seed 20260109] [--count 720]
    her2-cds eval-pathology OUT

``OUT`` receives one FHIR JSON file per report, the report texts under ``texts/``, and ``labels.tsv``
(columns ``id``, ``file``, ``label``, ``style``, ``shape``, ``traps``). Classes are drawn in turn so that each
has about ``count / 9`` reports; styles, distractors and FHIR shapes are drawn at random from the seed,
so one seed always gives the same corpus. Labels come from :func:`tests.corpus.truth.label` applied to the
case each report was written from (a contradiction between a coded value and the report's own text is labelled
indeterminate, the spec's rule for such an occasion).
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

from tests.corpus import fhir_shapes, reports, scenarios
from tests.corpus.truth import Case, Ihc, Label

DEFAULT_SEED = 20260109
DEFAULT_COUNT = 720
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
}
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
    written = reports.render(written_case, style, traps, rng)
    resource = fhir_shapes.shape(shape, written.text, case, rng, coded_case=coded_case)
    return Item(
        id=f"r{number:04d}",
        label=label,
        style=style,
        shape=shape,
        traps=traps,
        text=written.text,
        resource=resource,
    )


def generate(seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> list[Item]:
    """``count`` labelled reports, deterministic for a given seed."""
    rng = random.Random(seed)
    classes = list(Label)
    return [_item(number, classes[number % len(classes)], rng) for number in range(1, count + 1)]


def write_corpus(folder: Path, seed: int = DEFAULT_SEED, count: int = DEFAULT_COUNT) -> Path:
    """Write the corpus to ``folder`` (created if needed) and return the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts").mkdir(exist_ok=True)
    manifest = folder / MANIFEST
    with manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "file", "label", "style", "shape", "traps"])
        for item in generate(seed, count):
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
    args = parser.parse_args(argv)
    manifest = write_corpus(args.folder, args.seed, args.count)
    print(f"wrote {args.count} reports and {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
