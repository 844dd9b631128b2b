"""Write the five outputs of ``her2-cds cohort`` into the output folder.

``lesions.csv`` and ``excluded.csv`` (headers in ``cds_service.cohort.model``), ``summary.json``
(``cds_service.cohort.statistics``), ``summary.md`` (the paper's layout: counts per tracer and category,
SUVmax median and IQR, Mann–Whitney tests, pooled figures marked) and ``suvmax_by_category.png``
(``cds_service.cohort.plot``). Each file is written under a temporary name and renamed, so a reader never
sees half a file. Nothing written names a patient: rows carry the keyed ``patient_key`` only.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from cds_service.cohort.model import (
    CATEGORIES,
    EXCLUDED_HEADER,
    LESIONS_HEADER,
    CohortCategory,
    CohortResult,
)
from cds_service.cohort.plot import suvmax_figure_png
from cds_service.cohort.statistics import COMPARISONS, EXPRESSING_VS_ZERO, LOW_VS_POSITIVE, POOLED

LESIONS_CSV: Final = "lesions.csv"
EXCLUDED_CSV: Final = "excluded.csv"
SUMMARY_JSON: Final = "summary.json"
SUMMARY_MD: Final = "summary.md"
FIGURE_PNG: Final = "suvmax_by_category.png"
OUTPUT_FILES: Final = (LESIONS_CSV, EXCLUDED_CSV, SUMMARY_JSON, SUMMARY_MD, FIGURE_PNG)

REFERENCE: Final = (
    "Yeh et al., J Nucl Med 2025;66:873: HER2-low median SUVmax 12.7 (IQR 8.05) vs HER2-positive 6.4 "
    "(IQR 1.98), P = 0.01; 89Zr-trastuzumab 3 HER2-positive / 6 HER2-low, 89Zr-pertuzumab 2 / 5, "
    "89Zr-ss-pertuzumab 1 / 5 / 2 HER2-0."
)
_TEST_TITLES: Final = {
    LOW_VS_POSITIVE: "HER2-low vs HER2-positive",
    EXPRESSING_VS_ZERO: "HER2-expressing (positive + low) vs HER2-0",
}


def write_outputs(out: Path, result: CohortResult, summary: Mapping[str, Any]) -> list[Path]:
    """Write every output file into ``out`` (created when missing); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    lesions = _csv(LESIONS_HEADER, [row.csv_values() for row in result.rows])
    excluded = _csv(EXCLUDED_HEADER, [(e.patient_key, e.reason) for e in result.excluded])
    files: list[tuple[str, bytes]] = [
        (LESIONS_CSV, lesions.encode("utf-8")),
        (EXCLUDED_CSV, excluded.encode("utf-8")),
        (SUMMARY_JSON, (json.dumps(summary, indent=2) + "\n").encode("utf-8")),
        (SUMMARY_MD, summary_markdown(summary).encode("utf-8")),
        (FIGURE_PNG, suvmax_figure_png(result.rows)),
    ]
    return [_write(out / name, data) for name, data in files]


def _csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def _fmt(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2e}"


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """``summary.md``: the paper's layout, from the ``summary.json`` document."""
    counts: Mapping[str, Mapping[str, int]] = summary["counts"]
    window = summary["parameters"]["window_days"]
    lines = [
        "# Paired HER2 PET and biopsy analysis",
        "",
        f"Biopsied lesions paired with the PET lesion at the same coded site, PET and biopsy within {window} "
        f"days: **{summary['lesions']} lesions** of {summary['patients']} patients; "
        f"{summary['excluded']} patients or lesions left out (see `excluded.csv`). HER2 categories by the "
        f"rules engine (rules version {summary['parameters']['rules_version']}); HER2-ultralow, HER2-null "
        "and IHC 0 count as HER2-0.",
        "",
        "## Lesions per tracer and HER2 category",
        "",
        "| Tracer | " + " | ".join(c.value for c in CATEGORIES) + " | Total |",
        "|---|" + "---:|" * (len(CATEGORIES) + 1),
    ]
    totals = dict.fromkeys(CATEGORIES, 0)
    for tracer, row in counts.items():
        values = [row.get(c.value, 0) for c in CATEGORIES]
        for category, value in zip(CATEGORIES, values, strict=True):
            totals[category] += value
        lines.append(f"| {tracer} | " + " | ".join(map(str, values)) + f" | {sum(values)} |")
    lines.append(
        "| **All tracers (pooled)** | "
        + " | ".join(str(totals[c]) for c in CATEGORIES)
        + f" | {sum(totals.values())} |"
    )
    lines += ["", "## Lesion SUVmax by HER2 category", ""]
    lines += _quartile_table(summary)
    lines += ["", "## Mann–Whitney U tests (two-sided)", ""]
    lines += _test_table(summary, counts)
    lines += [
        "",
        "\\* Pooled: lesions of different tracers taken together. The tracers differ in kinetics and uptake "
        "window, so pooled figures mix measurements that are not on one scale; read them next to the "
        "per-tracer figures.",
        "",
        f"Published reference: {REFERENCE}",
        "",
        f"![Lesion SUVmax by HER2 category]({FIGURE_PNG})",
        "",
    ]
    return "\n".join(lines)


def _quartile_table(summary: Mapping[str, Any]) -> list[str]:
    lines = [
        "| Tracer | Category | n | Median | Q1 | Q3 | IQR |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    groups: list[tuple[str, Mapping[str, Any]]] = [
        (tracer, values) for tracer, values in summary["suvmax_by_tracer"].items()
    ]
    groups.append(("All tracers (pooled)\\*", summary["suvmax"]))
    for name, by_category in groups:
        for category in CATEGORIES:
            q = by_category[category.value]
            if not q["n"]:
                continue
            iqr = None if q["q1"] is None else q["q3"] - q["q1"]
            lines.append(
                f"| {name} | {category.value} | {q['n']} | {_fmt(q['median'])} | {_fmt(q['q1'])} | "
                f"{_fmt(q['q3'])} | {_fmt(iqr)} |"
            )
    return lines


def _group_size(counts: Mapping[str, int], categories: frozenset[CohortCategory]) -> int:
    return sum(counts.get(c.value, 0) for c in categories)


def _test_table(summary: Mapping[str, Any], counts: Mapping[str, Mapping[str, int]]) -> list[str]:
    lines = ["| Comparison | Tracer | n | U | p |", "|---|---|---|---:|---:|"]
    pooled_counts = {c.value: sum(row.get(c.value, 0) for row in counts.values()) for c in CATEGORIES}
    for name, (first, second) in COMPARISONS.items():
        results: Mapping[str, Any] = summary["tests"][name]
        for tracer, result in results.items():
            if result is None:
                continue
            mine = pooled_counts if tracer == POOLED else counts[tracer]
            label = "All tracers (pooled)\\*" if tracer == POOLED else tracer
            sizes = f"{_group_size(mine, first)} vs {_group_size(mine, second)}"
            lines.append(
                f"| {_TEST_TITLES[name]} | {label} | {sizes} | {result['u']:.1f} | {_p(result['p'])} |"
            )
    if len(lines) == 2:
        lines.append("| – | – | – | – | no comparison has lesions in both groups |")
    return lines
