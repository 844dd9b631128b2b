"""``her2-cds eval-pathology``: the reader on the generated corpus meets the targets; the command's contract.

Targets (pathology-reader issue): F1 ≥ 0.99 for every class and no false HER2-positive call. The corpus is
written by ``tests/corpus`` (labels from the case each report was written from, never from the reader).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cds_service.cli import main
from cds_service.cli.eval_pathology import CLASSES, Case, false_positives, scores
from tests.corpus.pathology_corpus import MANIFEST, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pathology-corpus")
    write_corpus(folder)
    return folder


def read_manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / MANIFEST).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def write_manifest(folder: Path, rows: list[dict[str, str]]) -> None:
    with (folder / MANIFEST).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def sample(corpus: Path, folder: Path, per_label: int) -> list[dict[str, str]]:
    """A smaller corpus in ``folder``: the first ``per_label`` reports of every label (the command's contract
    does not need all of them read again)."""
    folder.mkdir()
    taken: dict[str, int] = {}
    rows = []
    for row in read_manifest(corpus):
        if taken.get(row["label"], 0) < per_label:
            taken[row["label"]] = taken.get(row["label"], 0) + 1
            shutil.copy(corpus / row["file"], folder / row["file"])
            rows.append(row)
    write_manifest(folder, rows)
    return rows


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["eval-pathology", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_reader_meets_the_targets_on_the_corpus(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(corpus), "--json", "--check")
    figures: dict[str, Any] = json.loads(out)
    assert figures["reports"] >= 500
    assert figures["falsePositives"] == []
    low = {name: c["f1"] for name, c in figures["classes"].items() if c["support"] and c["f1"] < 0.99}
    assert low == {}, figures["misclassified"][:20]
    assert all(figures["classes"][name]["support"] >= 50 for name in CLASSES)
    assert code == 0


def test_text_report_lists_every_class_and_the_confusion_matrix(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample(corpus, tmp_path / "sample", per_label=3)
    code, out, _ = run(capsys, str(tmp_path / "sample"))
    assert code == 0
    lines = out.splitlines()
    for name in CLASSES:
        assert any(line.startswith(f"{name} ") for line in lines), name
    assert "confusion matrix (rows: label, columns: prediction)" in lines
    assert any(line.startswith("false HER2-positive calls: ") for line in lines)


def test_check_fails_when_a_label_disagrees(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corpus whose labels are wrong misses the targets: --check exits 1 and names the reports."""
    copy = tmp_path / "relabelled"
    rows = sample(corpus, copy, per_label=8)
    wrong = [row for row in rows if row["label"] == "low-1+"][:5]
    for row in wrong:
        row["label"] = "positive"
    write_manifest(copy, rows)
    code, out, _ = run(capsys, str(copy), "--json", "--check")
    figures = json.loads(out)
    assert code == 1
    assert {m["id"] for m in figures["misclassified"]} == {row["id"] for row in wrong}
    assert figures["classes"]["positive"]["recall"] < 1.0


def test_unusable_corpus_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(tmp_path))
    assert code == 2
    assert out == ""
    assert "labels.tsv" in err
    (tmp_path / MANIFEST).write_text("id\tfile\tlabel\nr1\tr1.json\tHER2-maybe\n", encoding="utf-8")
    code, _, err = run(capsys, str(tmp_path))
    assert code == 2
    assert "line 2" in err


def test_per_class_figures_follow_their_definitions() -> None:
    cases = [
        Case(id="a", label="positive", predicted="positive"),
        Case(id="b", label="positive", predicted="indeterminate"),
        Case(id="c", label="low-1+", predicted="positive"),
        Case(id="d", label="low-1+", predicted="low-1+"),
    ]
    by_name = {s.name: s for s in scores(cases)}
    positive = by_name["positive"]
    assert (positive.support, positive.predicted) == (2, 2)
    assert positive.precision == pytest.approx(0.5)
    assert positive.recall == pytest.approx(0.5)
    assert positive.f1 == pytest.approx(0.5)
    assert by_name["indeterminate"].precision == 0.0
    assert by_name["indeterminate"].recall is None
    assert by_name["null"].f1 is None
    assert [c.id for c in false_positives(cases)] == ["c"]
