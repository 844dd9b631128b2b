"""connectors.fhir.mapping on the published synthetic and mCODE bundles, and on hand-made broken resources.

Expected values are those stated in ``testdata/fhir/SOURCES.md`` and in the bundles' own reports.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.errors import InvalidSourceDataError
from connectors.fhir.mapping import load_fhir_file, pathology_from_bundle, pathology_from_resources
from rules.domain import (
    DrugClass,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    Receptor,
    ReportedStatus,
    SpecimenSite,
)
from rules.her2 import synthesize
from rules.her2.classify import display_category

SYNTHETIC = Path("fhir/synthetic")
LOINC = "http://loinc.org"


def _bundle(testdata: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((testdata / SYNTHETIC / name).read_text(encoding="utf-8")))


# file, IHC score, zero subtype, ISH (ratio, HER2/cell, CEP17/cell, group, final), collected, ER %, PR %
CASES = [
    pytest.param(
        "bundle-her2-ihc3-positive.json", IhcScore.THREE_PLUS, None, None, dt.date(2025, 2, 3), 0, 0,
        ReportedStatus.POSITIVE, id="IHC3+",
    ),
    pytest.param(
        "bundle-her2-low-ihc1.json", IhcScore.ONE_PLUS, None, None, dt.date(2025, 3, 11), 95, 40,
        ReportedStatus.NEGATIVE, id="IHC1+",
    ),
    pytest.param(
        "bundle-her2-ihc2-ish-group5.json", IhcScore.TWO_PLUS, None,
        (1.30, 2.6, 2.0, 5, ReportedStatus.NEGATIVE), dt.date(2025, 4, 22), 80, 5,
        ReportedStatus.NEGATIVE, id="IHC2+_ISH-group5",
    ),
    pytest.param(
        "bundle-her2-ish-group2-ihc1.json", IhcScore.ONE_PLUS, None,
        (2.30, 3.4, 1.48, 2, ReportedStatus.NEGATIVE), dt.date(2025, 8, 1), 90, 15,
        ReportedStatus.NEGATIVE, id="ISH-group2_IHC1+",
    ),
    pytest.param(
        "bundle-her2-ish-group3-ihc2.json", IhcScore.TWO_PLUS, None,
        (1.60, 6.8, 4.25, 3, ReportedStatus.POSITIVE), dt.date(2025, 7, 15), 0, 0,
        ReportedStatus.POSITIVE, id="ISH-group3_IHC2+",
    ),
    pytest.param(
        "bundle-her2-ultralow.json", IhcScore.ZERO, IhcZeroSubtype.ULTRALOW, None, dt.date(2025, 6, 2),
        100, 70, ReportedStatus.NEGATIVE, id="IHC0-ultralow",
    ),
    pytest.param(
        "bundle-her2-null.json", IhcScore.ZERO, IhcZeroSubtype.NULL, None, dt.date(2025, 6, 9), 60, 0,
        ReportedStatus.NEGATIVE, id="IHC0-null",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "score", "subtype", "ish", "collected", "er", "pr", "status"), CASES)
def test_synthetic_structured_bundle(
    testdata: Path,
    name: str,
    score: IhcScore,
    subtype: IhcZeroSubtype | None,
    ish: tuple[float, float, float, int, ReportedStatus] | None,
    collected: dt.date,
    er: float,
    pr: float,
    status: ReportedStatus,
) -> None:
    data = load_fhir_file(testdata / SYNTHETIC / name)
    assert len(data.her2) == 1, "IHC and ISH of one specimen form one test occasion"
    result = data.her2[0]
    assert result.ihc is not None
    assert result.ihc.score is score
    assert result.ihc.assay == "4B5"
    if subtype is not None:
        assert result.ihc.zero_subtype is subtype
    if ish is None:
        assert result.ish is None
    else:
        assert result.ish is not None
        assert result.ish.probe is IshProbe.DUAL
        assert (result.ish.ratio, result.ish.her2_per_cell, result.ish.cep17_per_cell) == pytest.approx(
            ish[:3]
        )
        assert result.ish.reported_group == ish[3]
        assert result.ish.reported_final is ish[4]
    assert result.reported_status is status
    assert result.specimen.collected == collected
    assert result.specimen.site is SpecimenSite.PRIMARY
    assert result.specimen.id is not None
    assert result.specimen.id.endswith("-spec-a")
    assert result.reported == collected  # issued the same day
    assert result.source is not None
    assert result.source.reference.startswith("DiagnosticReport/")
    percents = {r.receptor: r.percent for r in data.receptors}
    assert percents == {Receptor.ER: er, Receptor.PR: pr}
    positives = {r.receptor: r.reported_positive for r in data.receptors}
    assert positives[Receptor.ER] is (er >= 1)
    assert all(r.source is not None and r.source.system == "fhir" for r in data.receptors)
    assert len(data.patient_ids) == 1
    assert data.skipped == ()


def test_group3_recount_is_read_from_report_only_when_stated(testdata: Path) -> None:
    bundle = _bundle(testdata, "bundle-her2-ish-group3-ihc2.json")
    ish_obs = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith("-ish"))
    ish_obs["note"].append({"text": "Recount by a second observer confirmed group 3."})
    result = pathology_from_bundle(bundle).her2[0]
    assert result.ish is not None
    assert result.ish.recount_confirmed is True


def test_context_bundle_metastatic_therapies_and_draft_order(testdata: Path) -> None:
    context = load_fhir_file(testdata / SYNTHETIC / "bundle-context-metastatic-hr-pos.json").context
    assert context.metastatic is True
    assert context.metastatic_since == dt.date(2024, 5, 10)  # bone, the earlier of bone and liver
    assert context.tdxd_draft_order is True
    assert context.pertuzumab_co_order is False
    assert [t.drug_class for t in context.therapies] == [DrugClass.ENDOCRINE]
    letrozole = context.therapies[0]
    assert (letrozole.start, letrozole.end) == (dt.date(2024, 6, 1), dt.date(2025, 2, 15))
    assert letrozole.source is not None
    assert letrozole.source.reference == "MedicationStatement/medstmt-letrozole"


def test_mcode_bundle(testdata: Path) -> None:
    data = load_fhir_file(testdata / "fhir/mcode/json/Bundle-mcode-jenny-m-her2-subset.json")
    assert len(data.her2) == 1
    assert data.her2[0].reported_status is ReportedStatus.NEGATIVE
    assert data.her2[0].ihc is None
    assert data.her2[0].specimen.site is SpecimenSite.PRIMARY  # SNOMED left breast structure
    calls = {r.receptor: r.reported_positive for r in data.receptors}
    assert calls == {Receptor.ER: True, Receptor.PR: False}
    assert [t.drug_class for t in data.context.therapies] == [DrugClass.ENDOCRINE]
    assert data.context.metastatic is None
    assert data.patient_ids == ("cancer-patient-jenny-m",)


def test_mcode_secondary_condition_is_metastatic(testdata: Path) -> None:
    folder = testdata / "fhir/mcode/json"
    resources = [json.loads(p.read_text()) for p in sorted(folder.glob("Condition-*.json"))]
    context = pathology_from_resources(resources).context
    assert context.metastatic is True
    assert context.metastatic_since == dt.date(2019, 5, 1)


def test_narrative_only_bundle_reads_the_binary(testdata: Path) -> None:
    data = load_fhir_file(testdata / SYNTHETIC / "bundle-narrative-only-binary-html.json")
    assert data.her2, "HER2 is only in the HTML Binary"
    result = data.her2[0]
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ZERO
    assert result.ihc.zero_subtype is IhcZeroSubtype.ULTRALOW
    assert result.specimen.id == "S25-00123", "provenance: the prior core biopsy named in the text"
    assert result.source is not None
    assert result.source.reference == "DiagnosticReport/pt-narrative-only-dr"
    assert {r.receptor: r.percent for r in data.receptors} == {Receptor.ER: 85, Receptor.PR: 20}


# ------------------------------------------------------------------------------------------------------------
# Broken and misused resources


def _obs(obs_id: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-05-01",
        **value,
    }


def test_values_that_do_not_fit_their_code_are_skipped_with_reason() -> None:
    resources = [
        _obs("ihc-qty", "85319-2", valueQuantity={"value": 4.2, "unit": "signals/cell"}),
        _obs("ratio-pct", "49683-6", valueQuantity={"value": 40, "unit": "%", "code": "%"}),
        _obs("serum", "32996-1", valueQuantity={"value": 12, "unit": "ng/mL"}),
        _obs("ok", "85319-2", valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA11841-6"}]}),
    ]
    data = pathology_from_resources(resources)
    reasons = {s.reference: s.reason for s in data.skipped}
    assert set(reasons) == {"Observation/ihc-qty", "Observation/ratio-pct", "Observation/serum"}
    assert "serum" in reasons["Observation/serum"]
    assert "%" in reasons["Observation/ratio-pct"]
    assert len(data.her2) == 1
    assert data.her2[0].ihc is not None
    assert data.her2[0].ihc.score is IhcScore.ONE_PLUS
    assert data.her2[0].source is not None
    assert data.her2[0].source.reference == "Observation/ok"


def test_ish_values_as_strings_are_read_and_grouped_by_specimen() -> None:
    spec = {"specimen": {"reference": "Specimen/s1"}}
    resources = [
        {
            "resourceType": "Specimen",
            "id": "s1",
            "collection": {"collectedDateTime": "2024-04-30", "bodySite": {"text": "Liver, core biopsy"}},
        },
        _obs("ratio", "49683-6", valueString="2.4", **spec),
        _obs("her2", "74860-8", valueString="5.1", **spec),
        _obs("cep17", "74861-6", valueString="2.1", **spec),
        _obs("ihc", "85319-2", valueString="1+", **spec),
    ]
    data = pathology_from_resources(resources)
    assert len(data.her2) == 1
    result = data.her2[0]
    assert result.ish is not None
    assert (result.ish.ratio, result.ish.her2_per_cell, result.ish.cep17_per_cell) == (2.4, 5.1, 2.1)
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert result.specimen.site is SpecimenSite.METASTASIS
    assert result.specimen.collected == dt.date(2024, 4, 30)


def test_ihc_range_is_kept_as_range() -> None:
    data = pathology_from_resources([_obs("r", "85319-2", valueString="0-1+")])
    ihc = data.her2[0].ihc
    assert ihc is not None
    assert ihc.is_range
    assert (ihc.score, ihc.range_to) == (IhcScore.ZERO, IhcScore.ONE_PLUS)


def test_invalid_resource_is_skipped_and_the_rest_maps(testdata: Path) -> None:
    bundle = _bundle(testdata, "bundle-her2-low-ihc1.json")
    bundle["entry"].append({"resource": {"resourceType": "Observation", "id": "bad", "status": {"x": 1}}})
    data = pathology_from_bundle(bundle)
    assert [s.reference for s in data.skipped] == ["Observation/bad"]
    assert "not a valid FHIR R4 Observation" in data.skipped[0].reason
    assert data.her2[0].ihc is not None
    assert data.her2[0].ihc.score is IhcScore.ONE_PLUS


def test_amended_report_replaces_earlier_version_per_specimen(testdata: Path) -> None:
    bundle = _bundle(testdata, "bundle-her2-ihc2-ish-group5.json")
    amended = copy.deepcopy(bundle)
    entries = []
    for entry in amended["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "DiagnosticReport":
            resource["id"] += "-amended"
            resource["status"] = "amended"
            resource["issued"] = "2025-05-02T10:00:00Z"
            resource["result"] = [{"reference": "Observation/amended-ihc"}]
            # The amendment codes a new score; the copied text (2+, ISH group 5) would contradict it across a
            # T-DXd category line, which leaves an occasion unclassified (spec §10): the amendment has none.
            resource.pop("presentedForm", None)
            resource.pop("conclusion", None)
            entries.append(entry)
    ihc = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith("-her2-ihc"))
    amended_ihc = copy.deepcopy(ihc) | {"id": "amended-ihc"}
    amended_ihc["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": "LA11843-2"}], "text": "3+"}
    entries.append({"resource": amended_ihc})
    bundle["entry"].extend(entries)
    data = pathology_from_bundle(bundle)
    assert len(data.her2) == 1
    result = data.her2[0]
    assert result.source is not None
    assert result.source.reference.endswith("-amended")
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.THREE_PLUS
    assert result.ish is not None
    assert result.ish.reported_group == 5, "ISH carried over from the original"
    assert any("replaces" in note for note in result.notes)


def _text_report(report_id: str, text: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": report_id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "60567-5"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-09-09",
        "issued": "2025-09-12T16:20:00Z",
        "conclusion": text,
        **fields,
    }


ORIGINAL_2PLUS = "HER2 IHC (4B5): 2+ (equivocal). Reflex HER2 ISH pending; an addendum will follow."
LATER_ISH = (
    "HER2 dual-probe ISH: HER2/CEP17 ratio 1.1, average HER2 2.2 signals/cell (Group 5). NOT AMPLIFIED."
)
ACCESSION = {"identifier": [{"system": "urn:oid:1.2.3", "value": "S25-33019"}]}


@pytest.mark.parametrize(
    "later_fields",
    [
        pytest.param({"status": "amended", **ACCESSION}, id="amended-same-accession"),
        pytest.param({"status": "final", "issued": "2025-09-19T11:00:00Z", **ACCESSION}, id="later-issued"),
        pytest.param(
            {"status": "corrected", "basedOn": [{"reference": "ServiceRequest/o1"}]},
            id="corrected-same-order",
        ),
    ],
)
def test_later_version_of_a_report_without_specimen_replaces_the_original(
    later_fields: dict[str, Any],
) -> None:
    original_fields = dict(ACCESSION) if "identifier" in later_fields else dict(later_fields, status="final")
    original_fields.pop("issued", None)
    later = {"issued": "2025-09-19T11:00:00Z", **later_fields}
    resources = [
        _text_report("late", LATER_ISH, **later),
        _text_report("orig", ORIGINAL_2PLUS, **original_fields),
    ]
    data = pathology_from_resources(resources)
    assert len(data.her2) == 1
    result = data.her2[0]
    assert result.source is not None
    assert result.source.reference == "DiagnosticReport/late"
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.TWO_PLUS, "IHC carried over"
    assert display_category(synthesize(data.her2, data.receptors).current) == "HER2-low"


def test_reports_with_different_accessions_stay_apart() -> None:
    resources = [
        _text_report("a", "HER2 IHC: 1+.", identifier=[{"value": "S25-1"}]),
        _text_report("b", "HER2 IHC: 3+.", identifier=[{"value": "S25-2"}], status="amended"),
    ]
    assert len(pathology_from_resources(resources).her2) == 2


V2_LINES = (
    ("HISTYPE", "Invasive carcinoma, no special type", None),
    ("ERSCR", "ER ALLRED 0/8 - NEGATIVE", None),
    ("HER2SCR", "HER2 IHC SCORE 2+ (BORDERLINE)", None),
    ("HER2ISHR", "HER2/CEP17 RATIO 2.26", None),
    ("HER2CN", "MEAN HER2 COPY NO 4.8 PER NUCLEUS", None),
    ("HER2STAT", "HER2 STATUS POSITIVE (AMPLIFIED)", "ISH performed at the referral laboratory on block A2."),
)


def _v2_observations() -> list[dict[str, Any]]:
    """One Observation per OBX line of an HL7 v2 result, under local codes, with text values and notes."""
    observations = []
    for code, value, note in V2_LINES:
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": code.lower(),
            "status": "final",
            "code": {"coding": [{"system": "urn:oid:1.2.3.4", "code": code}], "text": code},
            "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2024-07-22T10:05:00+01:00",
            "issued": "2024-08-01T09:40:00+01:00",
            "valueString": value,
        }
        if note:
            observation["note"] = [{"text": note}]
        observations.append(observation)
    return observations


@pytest.mark.parametrize("with_report", [True, False], ids=["report-without-text", "loose"])
def test_text_values_under_local_codes_are_read_as_the_report_text(with_report: bool) -> None:
    observations = _v2_observations()
    resources = list(observations)
    if with_report:
        refs = [{"reference": f"Observation/{o['id']}"} for o in observations]
        resources.insert(0, _text_report("v2", "", result=refs) | {"conclusion": None})
    data = pathology_from_resources(resources)
    assert len(data.her2) == 1
    result = data.her2[0]
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.TWO_PLUS
    assert result.ish is not None
    assert result.ish.ratio == pytest.approx(2.26)
    assert display_category(synthesize(data.her2, data.receptors).current) == "HER2-positive"


def test_text_values_beside_a_coded_result_of_the_same_date_are_left_to_it() -> None:
    coded = {
        "resourceType": "Observation",
        "id": "coded",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85319-2"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-07-22T10:05:00+01:00",
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA11841-6"}], "text": "1+"},
    }
    data = pathology_from_resources([coded, *_v2_observations()])
    assert len(data.her2) == 1
    assert data.her2[0].ihc is not None
    assert data.her2[0].ihc.score is IhcScore.ONE_PLUS


def test_load_fhir_file_rejects_unreadable_input(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"resourceType": "Patient", "id": "p"}))
    for path, message in (
        (bad_json, "not valid JSON"),
        (patient, "got Patient"),
        (tmp_path / "none", "cannot"),
    ):
        with pytest.raises(InvalidSourceDataError, match=message) as info:
            load_fhir_file(path)
        assert "\n" not in str(info.value)


def test_single_observation_file(testdata: Path) -> None:
    data = load_fhir_file(testdata / "fhir/mcode/json/Observation-tumor-marker-test-her2-jenny-m.json")
    assert data.her2[0].reported_status is ReportedStatus.NEGATIVE
    assert data.her2[0].specimen.collected == dt.date(2018, 3, 10)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_resource = st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["Observation", "DiagnosticReport", "Specimen", "Condition", "Binary"])},
    optional={
        "id": st.text(max_size=6),
        "code": _json,
        "valueCodeableConcept": _json,
        "valueQuantity": _json,
        "valueString": st.text(max_size=12),
        "result": _json,
        "presentedForm": _json,
        "specimen": _json,
        "status": _json,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_resource, max_size=4))
def test_mapping_never_raises_on_arbitrary_resources(resources: list[dict[str, Any]]) -> None:
    pathology_from_resources(resources)


def test_coded_result_its_own_text_contradicts_across_a_line_is_not_classified(testdata: Path) -> None:
    """spec §10: coded 1+ vs text 3+ is indeterminate, with both excerpts as evidence (was: coded wins)."""
    bundle = _bundle(testdata, "bundle-her2-ihc3-positive.json")
    ihc = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith("-her2-ihc"))
    ihc["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": "LA11841-6"}], "text": "1+"}
    result = pathology_from_bundle(bundle).her2[0]
    assert result.unparsed
    assert result.ihc is None
    assert result.ish is None
    assert result.reported_status is None
    assert result.excerpt is not None
    assert "coded: IHC 1+" in result.excerpt
    assert "3+" in result.excerpt.split("report text:", 1)[1]
    assert any("disagree across a T-DXd category line" in note for note in result.notes)


def test_coded_result_wins_over_its_text_within_one_category_line(testdata: Path) -> None:
    bundle = _bundle(testdata, "bundle-her2-ihc2-ish-group5.json")
    ihc = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].endswith("-her2-ihc"))
    ihc["valueCodeableConcept"] = {"coding": [{"system": LOINC, "code": "LA11841-6"}], "text": "1+"}
    result = pathology_from_bundle(bundle).her2[0]
    assert not result.unparsed
    assert result.ihc is not None
    assert result.ihc.score is IhcScore.ONE_PLUS
    assert any("report text states IHC 2+" in note for note in result.notes)


# ---------------------------------------------------------------------------------------------------------
# Coded body site of the biopsy (SpecimenRef.site_code): Specimen first, else the DiagnosticReport

SNOMED = "http://snomed.info/sct"
_IHC1 = {"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA11841-6"}]}}


def _site(code: str, system: str = SNOMED) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _coded_site_chart(
    specimen_site: dict[str, Any] | None = None,
    report_site: dict[str, Any] | None = None,
    observation_sites: tuple[dict[str, Any] | None, ...] = (None,),
) -> list[dict[str, Any]]:
    specimen: dict[str, Any] = {
        "resourceType": "Specimen",
        "id": "s1",
        "collection": {"collectedDateTime": "2024-04-30"},
    }
    if specimen_site is not None:
        specimen["collection"]["bodySite"] = specimen_site
    observations = [
        _obs(f"o{i}", "85319-2", specimen={"reference": "Specimen/s1"}, **_IHC1)
        | ({"bodySite": site} if site is not None else {})
        for i, site in enumerate(observation_sites)
    ]
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "status": "final",
        "code": {"text": "pathology"},
        "subject": {"reference": "Patient/p1"},
        "specimen": [{"reference": "Specimen/s1"}],
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
    }
    if report_site is not None:
        report["extension"] = [
            {"url": "http://hl7.org/fhir/StructureDefinition/bodySite", "valueCodeableConcept": report_site}
        ]
    return [specimen, report, *observations]


@pytest.mark.parametrize(
    ("chart", "site_code"),
    [
        pytest.param(_coded_site_chart(specimen_site=_site("10200004")), "10200004", id="specimen"),
        pytest.param(
            _coded_site_chart(specimen_site=_site("10200004"), report_site=_site("3138006")),
            "10200004",
            id="specimen-wins",
        ),
        pytest.param(_coded_site_chart(report_site=_site("3138006")), "3138006", id="report-extension"),
        pytest.param(
            _coded_site_chart(observation_sites=(_site("59441001"), _site("59441001"))),
            "59441001",
            id="observations-agree",
        ),
        pytest.param(
            _coded_site_chart(observation_sites=(_site("59441001"), _site("3138006"))),
            None,
            id="observations-disagree",
        ),
        pytest.param(
            _coded_site_chart(specimen_site={"text": "liver core", **_site("T-62000", "urn:local")}),
            None,
            id="not-snomed",
        ),
        pytest.param(_coded_site_chart(), None, id="not-coded"),
    ],
)
def test_biopsied_site_code(chart: list[dict[str, Any]], site_code: str | None) -> None:
    data = pathology_from_resources(chart)
    assert len(data.her2) == 1
    assert data.her2[0].specimen.site_code == site_code


def _component(name: str, **value: Any) -> dict[str, Any]:
    return {"code": {"text": name}, **value}


def _percent(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}


_ABSENT = {"coding": [{"system": "http://snomed.info/sct", "code": "2667000", "display": "Absent"}]}
_PRESENT = {"coding": [{"system": "http://snomed.info/sct", "code": "52101004", "display": "Present"}]}


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        # Weak or any membrane staining stated absent: null; present: ultralow.
        ([_component("Weak partial membrane staining (up to 10 %)", valueCodeableConcept=_ABSENT)], "null"),
        ([_component("HER2 ultralow staining", valueCodeableConcept=_PRESENT)], "ultralow"),
        ([_component("Any membrane staining", valueBoolean=False)], "null"),
        ([_component("Membrane staining", valueString="present")], "ultralow"),
        # A share of cells with any or faint staining: 0 % → null; above 0 and at most 10 % → ultralow.
        (
            [_component("Percent of tumour cells with any membrane staining", valueQuantity=_percent(0))],
            "null",
        ),
        ([_component("Faint incomplete staining (% of cells)", valueQuantity=_percent(5))], "ultralow"),
        ([_component("Cells with faint incomplete staining", valueInteger=0)], "null"),
        # Above 10 % is no IHC 0 detail; a share in another unit is not read.
        ([_component("Any membrane staining", valueQuantity=_percent(40))], "unspecified"),
        ([_component("Any membrane staining", valueQuantity={"value": 0, "unit": "cells"})], "unspecified"),
        # The membrane staining's pattern or intensity stated as none.
        ([_component("Membrane staining pattern", valueString="none")], "null"),
        ([_component("Membrane staining intensity", valueString="No staining")], "null"),
        (
            [
                _component("Any membrane staining (%)", valueQuantity=_percent(0)),
                _component("Membrane staining pattern", valueString="none"),
            ],
            "null",
        ),
        # Complete staining absent says nothing about weak incomplete staining.
        ([_component("Complete membrane staining", valueCodeableConcept=_ABSENT)], "unspecified"),
        # Two components that disagree leave the detail unstated.
        (
            [
                _component("Faint incomplete staining", valueCodeableConcept=_ABSENT),
                _component("Any membrane staining", valueCodeableConcept=_PRESENT),
            ],
            "unspecified",
        ),
    ],
)
def test_ihc_zero_detail_from_a_component(components: list[dict[str, Any]], expected: str) -> None:
    zero = {"coding": [{"system": LOINC, "code": "LA6111-4", "display": "0"}], "text": "0"}
    data = pathology_from_resources([_obs("z", "85319-2", valueCodeableConcept=zero, component=components)])
    ihc = data.her2[0].ihc
    assert ihc is not None
    assert ihc.score is IhcScore.ZERO
    assert ihc.zero_subtype.value == expected


def test_parts_of_one_accession_are_separate_specimens_and_the_highest_counts() -> None:
    """Two Specimens sharing an accession ("A: Left breast", "B: sentinel node"), one date: separate
    specimens (the highest category counts, §6), not one specimen's report versions."""

    def specimen(spec_id: str, text: str) -> dict[str, Any]:
        return {
            "resourceType": "Specimen",
            "id": spec_id,
            "accessionIdentifier": {"value": "SP25-21188"},
            "type": {"text": text},
            "collection": {"collectedDateTime": "2025-09-03"},
        }

    def on(spec_id: str) -> dict[str, Any]:
        return {"specimen": {"reference": f"Specimen/{spec_id}"}}

    two_plus = {"coding": [{"system": LOINC, "code": "LA11842-4"}]}
    three_plus = {"coding": [{"system": LOINC, "code": "LA11843-2"}]}
    resources = [
        specimen("spA", "A: Left breast, lumpectomy"),
        specimen("spB", "B: Left axillary sentinel lymph node #1"),
        _obs("ihcA", "85319-2", valueCodeableConcept=two_plus, **on("spA")),
        _obs("ratioA", "49683-6", valueQuantity={"value": 1.2}, **on("spA")),
        _obs("copiesA", "74860-8", valueQuantity={"value": 2.5}, **on("spA")),
        _obs("ihcB", "85319-2", valueCodeableConcept=three_plus, **on("spB")),
    ]
    data = pathology_from_resources(resources)
    assert sorted(r.specimen.id or "" for r in data.her2) == ["SP25-21188 part A", "SP25-21188 part B"]
    patient = synthesize(data.her2, data.receptors)
    assert patient.current is not None
    assert display_category(patient.current) == "HER2-positive"
