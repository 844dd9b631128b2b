"""The prefetch keys bring what the cards show, and each is documented with its scopes (docs/prefetch.md)."""

from __future__ import annotations

import re
from pathlib import Path

from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from cds_service.hooks.prefetch import PREFETCH_KEYS
from connectors.fhir.mapping import pathology_from_resources
from rules.domain import SpecimenSite

DOC = Path(__file__).resolve().parents[3] / "docs" / "prefetch.md"


def _table_rows(heading: str) -> dict[str, str]:
    """First-column code names → whole row, from the Markdown table under ``heading``."""
    section = DOC.read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            for name in re.findall(r"`([a-z0-9]+)`", line.split("|")[1]):
                rows[name] = line
    return rows


def test_every_key_is_documented_with_what_it_brings() -> None:
    rows = _table_rows("## The keys")
    assert set(rows) == {k.name for k in PREFETCH_KEYS}
    for key in PREFETCH_KEYS:
        assert ("| yes |" in rows[key.name]) is key.required, key.name


def test_every_key_names_the_scopes_its_fallback_needs() -> None:
    rows = _table_rows("## FHIR scopes for the fallback")
    for key in PREFETCH_KEYS:
        resource_type = key.template.split("?", 1)[0].split("/", 1)[0]
        assert f"user/{resource_type}.read" in rows[key.name], key.name
        assert f"user/{resource_type}.rs" in rows[key.name], key.name
    assert "user/Specimen.read" in rows["specimens"]


def _resources(keys: tuple[str, ...]) -> list[dict[str, object]]:
    patient = next(p for p in DEMO_PATIENTS if p.has_pathology)
    chart = patient_resources(patient)
    out: list[dict[str, object]] = []
    for key in keys:
        value = as_prefetch_value(key, chart[key])
        assert value is not None
        is_bundle = value["resourceType"] == "Bundle"
        out += [e["resource"] for e in value.get("entry", [])] if is_bundle else [value]
    return out


def test_specimens_key_gives_the_specimen_site_the_pathology_key_lacks() -> None:
    without = pathology_from_resources(_resources(("patient", "her2", "pathology")))
    with_specimens = pathology_from_resources(_resources(("patient", "her2", "pathology", "specimens")))
    assert without.her2
    assert with_specimens.her2
    assert {r.specimen.site for r in without.her2} == {SpecimenSite.UNKNOWN}
    assert {r.specimen.site for r in with_specimens.her2} == {SpecimenSite.PRIMARY}


def test_demo_sends_specimens_as_include_results() -> None:
    patient = next(p for p in DEMO_PATIENTS if p.has_pathology)
    bundle = as_prefetch_value("specimens", patient_resources(patient)["specimens"])
    assert bundle is not None
    modes = {e["resource"]["resourceType"]: e["search"]["mode"] for e in bundle["entry"]}
    assert modes == {"DiagnosticReport": "match", "Specimen": "include"}
    assert bundle["total"] == 1
