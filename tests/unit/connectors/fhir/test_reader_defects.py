"""Each reading defect the pathology-reader issue names, as a test (the earlier reader failed every one).

Expected categories follow ASCO/CAP 2018/2023 (``spec/clinical-logic.md`` §3–§8) and §10 for coded results
contradicted by their own report text.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from connectors.fhir.mapping import pathology_from_bundle
from connectors.fhir.narrative import parse_report_text
from rules.domain import IshResult, SpecimenRef
from rules.her2 import synthesize
from rules.her2.classify import display_category
from tests.unit.connectors.fhir.categories import category_of

SPECIMEN = SpecimenRef(id="S26-00099", collected=dt.date(2026, 1, 5))


def category(text: str) -> str:
    return category_of(text, SPECIMEN, dt.date(2026, 1, 8))


def ish(text: str) -> IshResult:
    reading = parse_report_text(text, specimen=SPECIMEN)
    result = next(r for r in reading.her2 if r.specimen == SPECIMEN)
    assert result.ish is not None
    return result.ish


# Decimal commas (European laboratories) were read as integers: "2,3" → 2.00 and "3,6" → 6.0, group 1.


def test_decimal_commas_are_decimals_not_a_false_positive() -> None:
    text = "HER2 IHC 1+. SISH: ratio 2,3; HER2 3,6 copies per cell."
    numbers = ish(text)
    assert (numbers.ratio, numbers.her2_per_cell) == (2.3, 3.6)
    assert category(text) == "HER2-low"


def test_paired_decimal_comma_values_give_group_4_not_3() -> None:
    text = (
        "HER2 IHC 2+.\nHER2/CEP17 ratio / mean HER2 copies per cell: 1,6 / 5,7\n"
        "Recount by a second observer confirmed the result."
    )
    numbers = ish(text)
    assert (numbers.ratio, numbers.her2_per_cell) == (1.6, 5.7)
    assert category(text) == "HER2-low"


# A HER2-positive tumour was lost: >10 % complete intense staining with 1+ elsewhere read as two scores.


def test_complete_intense_staining_in_15_percent_is_3_plus() -> None:
    text = "HER2 (4B5): complete, intense membrane staining in ~15% of invasive tumour cells, 1+ elsewhere."
    assert category(text) == "HER2-positive"


# Descriptive criteria were not turned into the score they define.


def test_no_cell_with_any_membrane_staining_is_null() -> None:
    assert category("HER2 IHC: 0 % of cells with any membrane staining.") == "HER2-null"


# Guideline criterion text quoted in a report was taken as a score range.


def test_quoted_criterion_is_not_a_score_range() -> None:
    text = "HER2 (4B5): 1+ (negative).\nPer ASCO/CAP 2018, negative: group 3 with IHC 0-1+."
    assert category(text) == "HER2-low"


# Recount wording was not recognised.


def test_recount_in_other_words_settles_group_3_with_ihc_2_plus() -> None:
    text = (
        "HER2 IHC 2+ (equivocal). HER2 dual ISH: ratio 1.6, HER2 6.8 signals/cell (group 3). "
        "A blinded recount by a second observer gave the same result."
    )
    assert ish(text).recount_confirmed is True
    assert category(text) == "HER2-positive"


# Styles that failed.


def test_plus_signs_in_brackets_are_a_score() -> None:
    assert category("c-erbB-2 (+++)") == "HER2-positive"


def test_leading_plus_sign_is_a_score() -> None:
    assert category("HER2: +1") == "HER2-low"


def test_invasive_zero_beside_dcis_3_plus() -> None:
    assert category("HER2 IHC: 0 (invasive), 3+ (in situ component).") == "HER2-0"


def test_zero_no_staining_beside_the_2023_eligibility_footnote() -> None:
    text = (
        "HER2 (4B5): 0, no staining\n"
        "* 2023 ASCO/CAP: HER2-low = IHC 1+ or 2+/ISH-negative; HER2-ultralow = IHC 0 with faint, incomplete "
        "staining in ≤10% of cells; both may qualify for trastuzumab deruxtecan."
    )
    assert category(text) == "HER2-null"


def test_a_definition_beside_the_result_is_not_read_as_the_result() -> None:
    text = (
        "HER2 (4B5): 0, no staining\n"
        "Note (ASCO/CAP 2023): tumours with IHC 0 and faint staining in ≤10% of cells are HER2-ultralow."
    )
    assert category(text) == "HER2-null"


def test_numbers_only_ish_with_ihc_2_plus_and_a_recount() -> None:
    text = (
        "HER2 IHC: 2+\nHER2 ISH: 4.6 HER2 signals per cell, CEP17 2.9 per cell, ratio 1.59\n"
        "Recount by a second observer: same."
    )
    assert category(text) == "HER2-low"


# A transaction Bundle with urn:uuid references was indeterminate: the references were not resolved.


def _resource_without_id(resource: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in resource.items() if key != "id"}


def test_transaction_bundle_with_urn_uuid_references_is_read() -> None:
    patient, specimen, report = (f"urn:uuid:00000000-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
    text = base64.b64encode(b"HER2 (4B5): Negative (Score 1+)").decode()
    entries = [
        {"fullUrl": patient, "resource": {"resourceType": "Patient"}},
        {
            "fullUrl": specimen,
            "resource": {
                "resourceType": "Specimen",
                "subject": {"reference": patient},
                "collection": {"collectedDateTime": "2026-01-02", "bodySite": {"text": "Liver"}},
            },
        },
        {
            "fullUrl": report,
            "resource": {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"text": "Surgical pathology"},
                "subject": {"reference": patient},
                "specimen": [{"reference": specimen}],
                "issued": "2026-01-05T10:00:00Z",
                "presentedForm": [{"contentType": "text/plain", "data": text}],
            },
        },
    ]
    data = pathology_from_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{**e, "request": {"method": "POST"}} for e in entries],
        }
    )
    patient_view = synthesize(data.her2, data.receptors)
    assert display_category(patient_view.current) == "HER2-low"
    assert patient_view.current is not None
    assert patient_view.current.result.specimen.collected == dt.date(2026, 1, 2)
    assert data.patient_ids == ("00000000-0000-4000-8000-000000000001",)


def _coded_ish_bundle(text: str, *, ratio: float, copies: float, final: str) -> dict[str, Any]:
    """A report with coded IHC 2+, ISH ratio and copies and a coded final call, and its narrative."""

    def observation(ident: str, loinc: str, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-0000000001{ident}",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                "effectiveDateTime": "2026-02-01",
                "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
                **value,
            },
        }

    observations = [
        observation("01", "85319-2", {"valueCodeableConcept": {"text": "2+"}}),
        observation("02", "49683-6", {"valueQuantity": {"value": ratio, "unit": "{ratio}"}}),
        observation("03", "74860-8", {"valueQuantity": {"value": copies, "unit": "{copies}/{nucleus}"}}),
        observation("04", "48676-1", {"valueCodeableConcept": {"text": final}}),
    ]
    report = {
        "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003",
        "resource": {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "Surgical pathology"},
            "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
            "issued": "2026-02-02T10:00:00Z",
            "result": [{"reference": o["fullUrl"]} for o in observations],
            "conclusion": text,
        },
    }
    patient = {
        "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "resource": {"resourceType": "Patient"},
    }
    return {"resourceType": "Bundle", "type": "collection", "entry": [patient, report, *observations]}


def test_coded_ish_numbers_take_the_recount_and_final_from_their_own_report_text() -> None:
    # Coded IHC 2+ and group 2 numbers; the text adds the blinded recount and the final call (ASCO/CAP 2018:
    # group 2 with IHC 2+ and a confirming recount is negative, hence HER2-low).
    text = (
        "HER2 IHC 2+.\nFirst observer: HER2/CEP17 ratio 2.3, HER2 3.3 signals per cell (group 2).\n"
        "Blinded recount (second observer): ratio 2.2, HER2 3.5 signals per cell - remains group 2.\n"
        "Final: HER2 negative."
    )
    data = pathology_from_bundle(_coded_ish_bundle(text, ratio=2.3, copies=3.3, final="Negative"))
    assert display_category(synthesize(data.her2, data.receptors).current) == "HER2-low"


def test_coded_ish_numbers_are_not_completed_from_text_about_another_count() -> None:
    text = (
        "HER2 IHC 2+. ISH: ratio 1.6, HER2 6.6 signals per cell (group 3); recount confirmed. "
        "Final: positive."
    )
    data = pathology_from_bundle(_coded_ish_bundle(text, ratio=2.3, copies=3.3, final="Positive"))
    current = synthesize(data.her2, data.receptors).current
    assert display_category(current) == "indeterminate"


# A sequencing report's copy-number call was read as ISH: "ERBB2 amplification detected" → HER2-positive.


def test_a_sequencing_reports_amplification_is_not_an_ish_result() -> None:
    text = (
        "Comprehensive genomic profiling (NGS, 300-gene panel)\n"
        "Specimen: liver metastasis, breast primary.\n"
        "Findings: ERBB2 amplification detected (estimated copy number 11). PIK3CA H1047R.\n"
        "HER2 protein and ISH status were not assessed by this assay."
    )
    assert category(text) == "indeterminate"


def test_an_ish_result_in_a_report_that_also_names_sequencing_is_read() -> None:
    text = (
        "HER2 IHC (4B5): 2+.\nHER2 FISH: HER2/CEP17 ratio 3.1, mean HER2 copies 7.2 per cell; amplified.\n"
        "Tumour sent for next-generation sequencing; results to follow."
    )
    assert category(text) == "HER2-positive"
    bare = "HER2 IHC 2+.\nHER2 gene amplified.\nSequencing panel sent."
    assert category(bare) != "HER2-positive"


# A cut-off in brackets was added to the staining: "5 % (under the 10 % threshold for 1+)" read as 15 % → 1+.


def test_a_bracketed_cut_off_is_not_a_second_percentage() -> None:
    text = (
        "HER2 (4B5) IHC: 0. Faint, incomplete membrane staining in 5% of invasive tumour cells "
        "(under the 10% threshold for a score of 1+)."
    )
    assert category(text) == "HER2-ultralow"
    unscored = "HER2 (4B5): faint incomplete membrane staining in 6% of tumour cells (cut-off for 1+: >10%)."
    assert category(unscored) == "HER2-ultralow"
