"""FHIR mapping of report texts: DocumentReferences, Bundle references, and coded results checked against
their own report text (spec/clinical-logic.md §10)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from connectors.fhir.mapping import pathology_from_bundle, pathology_from_resources
from connectors.fhir.mapping_bundle import bundle_resources
from rules.domain import IhcScore, IhcZeroSubtype, SpecimenSite

LOINC = "http://loinc.org"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def document(text: str, *, code: str = "11526-1", content_type: str = "text/plain") -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": "doc-1",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "date": "2026-01-10T09:00:00Z",
        "content": [{"attachment": {"contentType": content_type, "data": b64(text)}}],
        "context": {"related": [{"reference": "Specimen/s1"}]},
    }


SPECIMEN = {
    "resourceType": "Specimen",
    "id": "s1",
    "accessionIdentifier": {"value": "S26-00123"},
    "collection": {"collectedDateTime": "2026-01-04", "bodySite": {"text": "Liver"}},
}


def test_pathology_document_reference_is_read_as_a_report() -> None:
    data = pathology_from_resources([SPECIMEN, document("HER2 (4B5): Negative (Score 1+)\nER: 90%")])
    (result,) = data.her2
    assert result.source is not None
    assert result.source.reference == "DocumentReference/doc-1"
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert result.specimen.id == "S26-00123"
    assert result.specimen.collected == dt.date(2026, 1, 4)
    assert result.specimen.site is SpecimenSite.METASTASIS
    assert [r.percent for r in data.receptors] == [90.0]


def test_html_document_table_is_read() -> None:
    html = (
        "<table><tr><th>Marker</th><th>Result</th></tr><tr><td>HER2</td><td>0 (no staining)</td></tr></table>"
    )
    (result,) = pathology_from_resources([document(html, content_type="text/html")]).her2
    assert result.ihc is not None
    assert (result.ihc.score, result.ihc.zero_subtype) == (IhcScore.ZERO, IhcZeroSubtype.NULL)


def test_a_document_that_is_not_a_pathology_report_is_not_read() -> None:
    note = document("Assessment: HER2-positive (3+) breast cancer, on trastuzumab.", code="11506-3")
    assert pathology_from_resources([note]).her2 == ()


def test_bundle_references_by_full_url_are_resolved_and_ids_filled() -> None:
    entries = [
        {"fullUrl": "urn:uuid:aaaa-1", "resource": {"resourceType": "Specimen"}},
        {
            "fullUrl": "urn:uuid:bbbb-2",
            "resource": {
                "resourceType": "DiagnosticReport",
                "specimen": [{"reference": "urn:uuid:aaaa-1"}],
                "presentedForm": [{"url": "urn:uuid:cccc-3"}],
            },
        },
        {"fullUrl": "urn:uuid:cccc-3", "resource": {"resourceType": "Binary", "id": "bin"}},
        {"request": {"method": "DELETE", "url": "Observation/x"}},
    ]
    specimen, report, binary = bundle_resources(entries)
    assert specimen["id"] == "aaaa-1"
    assert report["specimen"] == [{"reference": "Specimen/aaaa-1"}]
    assert report["presentedForm"] == [{"url": "Binary/bin"}]
    assert binary["id"] == "bin"
    assert "id" not in entries[0]["resource"], "the input is not modified"


def _coded_report(ihc_code: str, text: str) -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "id": "ihc",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85319-2"}]},
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": ihc_code}]},
        "specimen": {"reference": "Specimen/s1"},
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr",
        "status": "final",
        "code": {"text": "Surgical pathology"},
        "issued": "2026-01-08T10:00:00Z",
        "specimen": [{"reference": "Specimen/s1"}],
        "result": [{"reference": "Observation/ihc"}],
        "presentedForm": [{"contentType": "text/plain", "data": b64(text)}],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in (SPECIMEN, observation, report)],
    }


@pytest.mark.parametrize(
    ("ihc_code", "text"),
    [
        pytest.param("LA6111-4", "HER2: POSITIVE 3+", id="coded-0-text-3+"),
        pytest.param("LA11841-6", "HER2 (4B5): 3+, positive", id="coded-1+-text-3+"),
        pytest.param("LA11843-2", "HER2 IHC: 0 (no staining)", id="coded-3+-text-0"),
        pytest.param("LA6111-4", "HER2 IHC: 1+ (negative)", id="coded-0-text-1+"),
        pytest.param("LA11843-2", "HER2: negative", id="coded-3+-text-bare-negative"),
    ],
)
def test_coded_result_contradicted_across_a_line_is_not_classified(ihc_code: str, text: str) -> None:
    (result,) = pathology_from_bundle(_coded_report(ihc_code, text)).her2
    assert result.unparsed
    assert (result.ihc, result.ish, result.reported_status) == (None, None, None)
    assert result.excerpt is not None
    assert result.excerpt.startswith("coded: IHC")
    assert text.split(":")[0] in result.excerpt


def test_what_the_coded_result_lacks_is_taken_from_its_text() -> None:
    text = "HER2 (clone 4B5): 0 with faint incomplete membrane staining in 5% of tumour cells (ultralow)."
    (result,) = pathology_from_bundle(_coded_report("LA6111-4", text)).her2
    assert not result.unparsed
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ZERO
    assert result.ihc.assay == "4B5"
    assert result.ihc.zero_subtype is IhcZeroSubtype.ULTRALOW
    assert result.ihc.percentages is not None
    assert result.ihc.percentages.incomplete_faint == 5.0
    assert any("assay 4B5 taken from the report text" in note for note in result.notes)


def test_a_prior_specimen_named_in_the_text_never_outranks_the_reports_own() -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "dr",
        "status": "final",
        "code": {"text": "Surgical pathology"},
        "issued": "2026-01-08T10:00:00Z",
        "conclusion": "Previous biopsy S23-0001 (2025-12-30): HER2 3+. "
        "Current specimen: HER2 IHC 0 (no staining).",
    }
    data = pathology_from_resources([report])
    assert [r.ihc.score if r.ihc else None for r in data.her2] == [IhcScore.ZERO, IhcScore.THREE_PLUS]
    assert data.her2[0].specimen.collected == dt.date(2026, 1, 8)


@pytest.mark.parametrize("kind", ["DiagnosticReport", "DocumentReference"])
def test_a_resource_without_an_id_is_read_and_named_by_its_place(kind: str) -> None:
    """A report as written to a file or a create payload has no server id; its text is read all the same."""
    text = "Invasive ductal carcinoma. HER2 (4B5) immunohistochemistry: score 1+ (negative)."
    if kind == "DocumentReference":
        resource = document(text)
    else:
        resource = {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "Surgical pathology report"},
            "effectiveDateTime": "2026-01-05",
            "issued": "2026-01-07T09:00:00Z",
            "conclusion": text,
        }
    resource.pop("id", None)
    mapped = pathology_from_resources([{"resourceType": "Observation"}, resource])
    (result,) = mapped.her2
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert result.source is not None
    assert result.source.reference == f"{kind}/entry-2"
    assert not [s for s in mapped.skipped if s.reference.startswith(kind)]
