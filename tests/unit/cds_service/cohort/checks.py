"""Checks of a ``her2-cds cohort`` output folder against the synthetic cohort's generated truth.

The expected figures are computed here from ``SyntheticCohort.expected`` (the values the generator put into
the PET series and FHIR charts), with numpy and scipy directly, never from the tool's own output, so the
comparison is independent of the code under test.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from cds_service.cohort.keys import PatientKeyer
from cds_service.cohort.model import EXCLUDED_HEADER, LESIONS_HEADER
from cds_service.cohort.synthetic import SyntheticCohort
from cds_service.cohort.synthetic_fhir import patient_resources

COHORT_KEY = "cohort-test-key-0123456789abcdefghijklmnopqrstuvwxyz"
"""The HER2CDS_COHORT_KEY of the tests (at least 32 characters)."""

OUTPUTS = ("lesions.csv", "excluded.csv", "summary.json", "summary.md", "suvmax_by_category.png")
SUV_TOLERANCE = 1e-3
"""SUVmax measured on the int16-stored series (SEG-only lesions) differs from the drawn value by the
rescale quantisation (< 0.0005 here); reader SR values are written with three decimals and read back
exactly."""


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def key_of(mrn: str) -> str:
    return PatientKeyer(COHORT_KEY)(mrn)


def independent_tests(cohort: SyntheticCohort) -> dict[str, dict[str, tuple[float, float]]]:
    """Mann–Whitney U (u, p) from the generated truth, pooled and per tracer where both groups exist."""
    rows = cohort.expected
    out: dict[str, dict[str, tuple[float, float]]] = {}
    comparisons = {
        "low_vs_positive": ({"HER2-low"}, {"HER2-positive"}),
        "expressing_vs_zero": ({"HER2-low", "HER2-positive"}, {"HER2-0"}),
    }
    tracers = sorted({r.tracer.value for r in rows})
    for name, (first, second) in comparisons.items():
        entry: dict[str, tuple[float, float]] = {}
        for label in ("pooled", *tracers):
            mine = [r for r in rows if label == "pooled" or r.tracer.value == label]
            x = [r.suvmax for r in mine if r.category.value in first]
            y = [r.suvmax for r in mine if r.category.value in second]
            if x and y:
                result = mannwhitneyu(x, y)
                entry[label] = (float(result.statistic), float(result.pvalue))
        out[name] = entry
    return out


def check_outputs(out: Path, cohort: SyntheticCohort) -> dict[str, Any]:
    """Assert every output against the truth; returns the summary document."""
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    header, rows = read_csv(out / "lesions.csv")
    assert tuple(header) == LESIONS_HEADER
    expected = {key_of(r.mrn): r for r in cohort.expected}
    got = {row["patient_key"]: row for row in rows}
    assert len(rows) == len(cohort.expected)
    assert set(got) == set(expected)
    for key, truth in expected.items():
        row = got[key]
        assert row["tracer"] == truth.tracer.value
        assert row["category"] == truth.category.value
        assert row["pet_date"] == truth.pet_date.isoformat()
        assert row["biopsy_date"] == truth.biopsy_date.isoformat()
        assert int(row["interval_days"]) == (truth.biopsy_date - truth.pet_date).days
        assert row["site"] == truth.site
        assert row["ihc_score"] == truth.ihc_score
        assert row["ish_group"] == ("" if truth.ish_group is None else str(truth.ish_group))
        assert row["lesion_source"] == truth.lesion_source.value
        assert float(row["suvmax"]) == pytest.approx(truth.suvmax, abs=SUV_TOLERANCE)

    summary: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == cohort.counts()
    for category in ("HER2-positive", "HER2-low", "HER2-0"):
        values = [r.suvmax for r in cohort.expected if r.category.value == category]
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        got_q = summary["suvmax"][category]
        assert got_q["n"] == len(values)
        assert got_q["median"] == pytest.approx(median, abs=SUV_TOLERANCE)
        assert got_q["q1"] == pytest.approx(q1, abs=SUV_TOLERANCE)
        assert got_q["q3"] == pytest.approx(q3, abs=SUV_TOLERANCE)
    truth_tests = independent_tests(cohort)
    for name, entry in truth_tests.items():
        tool = {k: v for k, v in summary["tests"][name].items() if v is not None}
        assert set(tool) == set(entry), name
        for label, (u, p) in entry.items():
            assert tool[label]["u"] == u, (name, label)
            assert tool[label]["p"] == pytest.approx(p, rel=1e-12), (name, label)

    excluded_header, excluded = read_csv(out / "excluded.csv")
    assert tuple(excluded_header) == EXCLUDED_HEADER
    reasons = [(row["patient_key"], row["reason"]) for row in excluded]
    for mrn, distractor in cohort.exclusions:
        assert any(k == key_of(mrn) and distractor.value in r for k, r in reasons), (mrn, distractor)
    assert len(reasons) == len(cohort.exclusions)
    return summary


def phi_strings(cohort: SyntheticCohort) -> set[str]:
    """Every name, MRN, birth date and FHIR id of the cohort, in the forms FHIR and DICOM write them."""
    found: set[str] = set()
    for p in cohort.patients:
        found |= {p.given, p.family, f"{p.family}^{p.given}", p.mrn}
        found |= {p.birth_date.isoformat(), p.birth_date.strftime("%Y%m%d")}
        found |= {str(r["id"]) for r in patient_resources(p)}
    return found


def assert_no_phi(out: Path, cohort: SyntheticCohort) -> None:
    """No output file (text or PNG bytes) contains a name, MRN, birth date or FHIR id of the cohort."""
    secrets = phi_strings(cohort)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert [f.name for f in files] == sorted(OUTPUTS)
    for path in files:
        data = path.read_bytes()
        lowered = data.lower()
        for secret in secrets:
            assert secret.lower().encode("utf-8") not in lowered, f"{path.name} contains {secret!r}"
