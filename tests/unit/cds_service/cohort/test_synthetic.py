"""The synthetic cohort mirrors the published counts and SUVmax medians/IQRs, and its charts and series say
what its truth table says."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from cds_service.cohort.model import CohortCategory
from cds_service.cohort.synthetic import (
    PAPER_COUNTS,
    SUVMAX_TARGETS,
    Distractor,
    SyntheticCohort,
    matched_draws,
    patient_datasets,
    synthetic_cohort,
)
from cds_service.cohort.synthetic_fhir import patient_bundle
from connectors.fhir.mapping import pathology_from_bundle
from rules.domain import TdxdCategory

ENGINE_CATEGORIES = {
    CohortCategory.POSITIVE: {TdxdCategory.HER2_POSITIVE},
    CohortCategory.LOW: {TdxdCategory.HER2_LOW},
    CohortCategory.ZERO: {TdxdCategory.HER2_ULTRALOW, TdxdCategory.HER2_NULL},
}


@pytest.fixture(scope="module")
def cohort() -> SyntheticCohort:
    return synthetic_cohort()


def test_counts_are_the_published_ones(cohort: SyntheticCohort) -> None:
    assert cohort.counts() == {
        tracer.value: {category.value: n for category, n in per.items()}
        for tracer, per in PAPER_COUNTS.items()
    }
    assert len({row.mrn for row in cohort.expected}) == 24


@pytest.mark.parametrize("category", [CohortCategory.POSITIVE, CohortCategory.LOW, CohortCategory.ZERO])
def test_suvmax_median_and_iqr_match_the_targets(cohort: SyntheticCohort, category: CohortCategory) -> None:
    values = [r.suvmax for r in cohort.expected if r.category is category]
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    target_median, target_iqr = SUVMAX_TARGETS[category]
    assert median == pytest.approx(target_median, abs=0.002)
    assert q3 - q1 == pytest.approx(target_iqr, abs=0.002)
    assert min(values) >= 1.5


def test_matched_draws_for_any_size() -> None:
    rng = np.random.default_rng(1)
    for n in (2, 5, 9, 30):
        values = matched_draws(rng, n, 10.0, 4.0)
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        assert (median, q3 - q1) == (pytest.approx(10.0, abs=0.002), pytest.approx(4.0, abs=0.002))


def test_every_distractor_is_present(cohort: SyntheticCohort) -> None:
    kinds = Counter(d for _, d in cohort.exclusions)
    assert set(kinds) == set(Distractor)
    assert kinds[Distractor.OUTSIDE_WINDOW] == 2  # one patient, one extra biopsy of a paired patient


def test_deterministic() -> None:
    assert synthetic_cohort() == synthetic_cohort()
    assert synthetic_cohort(seed=14).expected != synthetic_cohort().expected


def test_each_chart_maps_to_the_truth_category_and_site(cohort: SyntheticCohort) -> None:
    from rules.her2 import classify

    by_mrn = {p.mrn: p for p in cohort.patients}
    for row in cohort.expected:
        data = pathology_from_bundle(patient_bundle(by_mrn[row.mrn]))
        paired = [r for r in data.her2 if r.specimen.collected == row.biopsy_date]
        assert len(paired) == 1
        assert paired[0].specimen.site_code == row.site
        assert classify(paired[0]).category in ENGINE_CATEGORIES[row.category]


def test_the_series_carry_the_identity_and_the_lesion(cohort: SyntheticCohort) -> None:
    patient = next(p for p in cohort.patients if p.pet is not None and p.pet.with_sr)
    datasets = patient_datasets(patient)
    assert {str(ds.PatientID) for ds in datasets} == {patient.mrn}
    assert str(datasets[0].PatientName) == f"{patient.family}^{patient.given}"
    assert str(datasets[0].PatientBirthDate) == patient.birth_date.strftime("%Y%m%d")
    assert {str(ds.Modality) for ds in datasets} >= {"PT", "SR"}
