"""FHIR R4 shapes a pathology report arrives in, built as plain JSON (no FHIR library, no project code).

Shapes: a DiagnosticReport with the text in ``conclusion`` (also with HL7 v2 escapes, as v2 interfaces
convert it); in ``presentedForm`` as text/plain, text/html or RTF; behind a ``Binary``; a DocumentReference;
coded Observations (LOINC HER2 codes and LA answers, alone or as components of one panel Observation) with or
without the narrative; a coded value contradicted by the report's own text; and a transaction Bundle whose
entries refer to each other by ``urn:uuid:`` full URLs (as Synthea and many EHR exports write them); and
a searchset holding two versions of one report (:func:`report_versions`); and an HL7 v2 result message
converted one OBX line per Observation (:func:`v2_observations`).
"""

from __future__ import annotations

import base64
import html
import random
import re
import uuid
from typing import Any

from tests.corpus.truth import Case, Ihc, Ish, dual_group

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SHAPES = (
    "conclusion",
    "presented_plain",
    "presented_html",
    "binary",
    "docref",
    "transaction",
    "coded",
    "coded_narrative",
    "coded_contradiction",
    "presented_rtf",
    "conclusion_v2",
    "report_versions",
    "v2_observations",
)
#: The line opening an addendum ("ADDENDUM #1 …", "*** ADDENDUM ***").
_ADDENDUM_LINE_RE = re.compile(r"\s*[*#=\-\s]*addendum\b", re.IGNORECASE)
IHC_ANSWERS = {0: ("LA6111-4", "0"), 1: ("LA11841-6", "1+"), 2: ("LA11842-4", "2+"), 3: ("LA11843-2", "3+")}
PRESENCE = {True: ("LA6576-8", "Positive"), False: ("LA6577-6", "Negative")}

Json = dict[str, Any]


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def to_html(text: str, rng: random.Random) -> str:
    """The report as a pathology system might render it: ``<pre>``, paragraphs, or tables for pipe rows."""
    if rng.random() < 0.3:
        return f"<html><body><pre>{html.escape(text)}</pre></body></html>"
    out: list[str] = []
    table: list[str] = []
    for line in text.split("\n"):
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                table.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if table:
            out.append("<table>" + "".join(table) + "</table>")
            table = []
        if not line.strip():
            continue
        tag = "h3" if line.isupper() and len(line) < 60 else "p"
        out.append(f"<{tag}>{html.escape(line)}</{tag}>")
    if table:
        out.append("<table>" + "".join(table) + "</table>")
    joiner = "\n" if rng.random() < 0.5 else ""
    return (
        "<!DOCTYPE html><html><head><title>Report</title></head><body>" + joiner.join(out) + "</body></html>"
    )


class Ids:
    """The ids and dates of one patient's report."""

    def __init__(self, rng: random.Random) -> None:
        self.patient = new_id(rng)
        self.specimen = new_id(rng)
        self.report = new_id(rng)
        day = rng.randint(5, 25)
        self.collected = f"2026-01-{day - 3:02d}"
        self.issued = f"2026-01-{day:02d}T10:30:00Z"


def patient(ids: Ids) -> Json:
    return {"resourceType": "Patient", "id": ids.patient, "gender": "female"}


def specimen(ids: Ids) -> Json:
    return {
        "resourceType": "Specimen",
        "id": ids.specimen,
        "subject": {"reference": f"Patient/{ids.patient}"},
        "type": {"text": "Core needle biopsy"},
        "collection": {"collectedDateTime": ids.collected, "bodySite": {"text": "Left breast"}},
    }


def report(ids: Ids, **content: Any) -> Json:
    resource: Json = {
        "resourceType": "DiagnosticReport",
        "id": ids.report,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "SP"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": "60567-5", "display": "Comprehensive pathology report"}]
        },
        "subject": {"reference": f"Patient/{ids.patient}"},
        "effectiveDateTime": ids.collected,
        "issued": ids.issued,
        "specimen": [{"reference": f"Specimen/{ids.specimen}"}],
    }
    resource.update(content)
    return resource


def collection(*resources: Json) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in resources
        ],
    }


# ----------------------------------------------------------------------------------------------------
# Coded Observations


def codable(case: Case) -> bool:
    """Whether the case can be sent as coded Observations (a stated score; simple ISH work-ups)."""
    if case.legacy or case.failure or case.ihc is None:
        return False
    if case.ihc.score is None or case.ihc.range_to is not None:
        return False
    ish = case.ish
    if ish is None:
        return True
    if ish.kind != "dual" or ish.ratio is None or ish.her2 is None or ish.recount is not None:
        return False
    return dual_group(ish.ratio, ish.her2) in (1, 5) or case.ihc.score != 2


def observation(ids: Ids, code: str, display: str, **value: Any) -> Json:
    return {
        "resourceType": "Observation",
        "id": new_id(random.Random(f"{ids.report}{code}")),
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{ids.patient}"},
        "specimen": {"reference": f"Specimen/{ids.specimen}"},
        "effectiveDateTime": ids.collected,
        **value,
    }


def zero_text(ihc: Ihc) -> str:
    return {
        "null": "0 (no membrane staining)",
        "ultralow": "0 with faint incomplete membrane staining in 5% of cells (ultralow)",
        "unstated": "0",
    }[ihc.zero]


def zero_components(ihc: Ihc, rng: random.Random) -> list[Json]:
    """The IHC 0 detail as the Observation's components: the share of cells with any (or faint incomplete)
    membrane staining as a valueQuantity in %, and at times the staining pattern as a string."""
    share = 0 if ihc.zero == "null" else rng.choice([1, 2, 5, 8, 10])
    name = rng.choice(
        [
            "Percent invasive tumour cells with any membrane staining",
            "Faint incomplete membrane staining (% of tumour cells)",
            "Cells with any HER2 membrane staining",
        ]
    )
    found: list[Json] = [
        {"code": {"text": name}, "valueQuantity": {"value": share, "unit": "%", "system": UCUM, "code": "%"}}
    ]
    if rng.random() < 0.5:
        pattern = "none" if ihc.zero == "null" else "faint, incomplete"
        found.append({"code": {"text": "Membrane staining pattern"}, "valueString": pattern})
    return found


def ihc_observation(ids: Ids, ihc: Ihc, *, with_components: bool = True) -> Json:
    assert ihc.score is not None
    code, display = IHC_ANSWERS[ihc.score]
    text = zero_text(ihc) if ihc.score == 0 else display
    # An IHC 0 detail stated in components instead of the value's text, at times (own seed, so the other
    # choices of the case stay as they were).
    detail = random.Random(f"{ids.report}zero")
    components = []
    if with_components and ihc.score == 0 and ihc.zero != "unstated" and detail.random() < 0.4:
        text, components = display, zero_components(ihc, detail)
    concept = {"coding": [{"system": LOINC, "code": code, "display": display}], "text": text}
    value: Json = {"valueCodeableConcept": concept}
    if components:
        value["component"] = components
    return observation(ids, "85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain", **value)


def ish_observations(ids: Ids, ish: Ish) -> list[Json]:
    assert ish.ratio is not None
    assert ish.her2 is not None
    group = dual_group(ish.ratio, ish.her2)
    found = [
        observation(
            ids,
            "49683-6",
            "ERBB2/CEP17 ratio",
            valueQuantity={"value": ish.ratio, "unit": "{ratio}", "system": UCUM, "code": "{ratio}"},
        ),
        observation(
            ids,
            "74860-8",
            "ERBB2 copies/nucleus",
            valueQuantity={
                "value": ish.her2,
                "unit": "{copies}/{nucleus}",
                "system": UCUM,
                "code": "{copies}/{nucleus}",
            },
        ),
    ]
    if group in (1, 5):
        code, display = PRESENCE[group == 1]
        concept = {
            "coding": [{"system": LOINC, "code": code, "display": display}],
            "text": f"{display} (group {group})",
        }
        found.append(
            observation(ids, "85318-4", "ERBB2 gene duplication by FISH", valueCodeableConcept=concept)
        )
    return found


def coded(case: Case, ids: Ids, *, in_panel: bool = False) -> list[Json]:
    """The case as coded Observations (in a panel, whose components cannot have components of their own,
    the IHC 0 detail stays in the value's text)."""
    assert case.ihc is not None
    found = [ihc_observation(ids, case.ihc, with_components=not in_panel)]
    if case.ish is not None:
        found += ish_observations(ids, case.ish)
    return found


# ----------------------------------------------------------------------------------------------------
# Shapes


def to_rtf(text: str, rng: random.Random) -> str:
    """The text as an RTF document (one paragraph per line; non-ASCII as \\u escapes)."""

    def escape(line: str) -> str:
        line = line.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        return "".join(c if ord(c) < 128 else f"\\u{ord(c)}?" for c in line)

    font = rng.choice(["Arial", "Times New Roman", "Courier New"])
    body = "\\par\n".join(escape(line) for line in text.split("\n"))
    return "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 " + font + ";}}\\f0\\fs20 " + body + "\\par\n}"


def to_v2(text: str) -> str:
    """The text with HL7 v2 escapes, as an interface converting a v2 OBX keeps it (lines as \\.br\\)."""
    escapes = {"\\": "\\E\\", "&": "\\T\\", "|": "\\F\\", "^": "\\S\\", "~": "\\R\\"}
    escaped = "".join(escapes.get(c, c) for c in text)
    return escaped.replace("\n", "\\.br\\")


def panel(ids: Ids, observations: list[Json]) -> Json:
    """One panel Observation carrying the coded results as its components."""
    components = []
    for observation in observations:
        component = {"code": observation["code"]}
        component.update({k: v for k, v in observation.items() if k.startswith("value")})
        components.append(component)
    return {
        "resourceType": "Observation",
        "id": new_id(random.Random(f"{ids.report}panel")),
        "status": "final",
        "code": {"text": "Breast cancer biomarker panel"},
        "subject": {"reference": f"Patient/{ids.patient}"},
        "specimen": {"reference": f"Specimen/{ids.specimen}"},
        "effectiveDateTime": ids.collected,
        "component": components,
    }


def presented(text: str, kind: str, rng: random.Random) -> Json:
    if kind == "text/html":
        return {"contentType": "text/html", "data": b64(to_html(text, rng))}
    if kind == "application/rtf":
        return {"contentType": "application/rtf", "data": b64(to_rtf(text, rng))}
    return {"contentType": "text/plain; charset=utf-8", "data": b64(text)}


def shape(name: str, text: str, case: Case, rng: random.Random, *, coded_case: Case | None = None) -> Json:
    """The FHIR JSON (a resource or a Bundle) carrying ``text`` (and ``case`` coded, for coded shapes)."""
    ids = Ids(rng)
    base = [patient(ids), specimen(ids)]
    if name == "conclusion":
        dr = report(ids, conclusion=text)
        return as_file(dr) if rng.random() < 0.5 else collection(*base, dr)
    if name == "conclusion_v2":
        return collection(*base, report(ids, conclusion=to_v2(text)))
    if name == "presented_rtf":
        # RTF as a document type, or pasted into a text/plain body.
        kind = rng.choice(["application/rtf", "text/plain"])
        form = {"contentType": kind, "data": b64(to_rtf(text, rng))}
        return collection(*base, report(ids, presentedForm=[form]))
    if name in ("presented_plain", "presented_html"):
        dr = report(
            ids, presentedForm=[presented(text, "text/html" if name.endswith("html") else "text/plain", rng)]
        )
        return as_file(dr) if rng.random() < 0.3 else collection(*base, dr)
    if name == "binary":
        kind = rng.choice(["text/html", "text/plain"])
        body = to_html(text, rng) if kind == "text/html" else text
        binary = {"resourceType": "Binary", "id": new_id(rng), "contentType": kind, "data": b64(body)}
        dr = report(ids, presentedForm=[{"contentType": kind, "url": f"Binary/{binary['id']}"}])
        return collection(*base, dr, binary)
    if name == "docref":
        return collection(*base, document_reference(ids, text, rng))
    if name == "transaction":
        return transaction(ids, text, rng)
    in_panel = rng.random() < 0.3
    observations = coded(coded_case or case, ids, in_panel=in_panel)
    if in_panel:
        observations = [panel(ids, observations)]
    refs = [{"reference": f"Observation/{o['id']}"} for o in observations]
    if name == "coded":
        dr = report(ids, result=refs)
    else:
        dr = report(
            ids, result=refs, presentedForm=[presented(text, rng.choice(["text/plain", "text/html"]), rng)]
        )
    return collection(*base, dr, *observations)


def as_file(resource: Json) -> Json:
    """A report on its own, as exported to a file; one in four has no id (never given one by a server)."""
    if int(str(resource["id"])[-1], 16) % 4 == 0:
        return {key: value for key, value in resource.items() if key != "id"}
    return resource


def document_reference(ids: Ids, text: str, rng: random.Random) -> Json:
    """A DocumentReference; a plain-text report with an addendum sends, one time in two (by the text, so
    that the generator's draws stay as they were), the addendum as a second attachment."""
    kind = rng.choice(["text/plain", "text/html"])
    body = to_html(text, rng) if kind == "text/html" else text
    lines = text.split("\n")
    cut = next((i for i, line in enumerate(lines) if i and _ADDENDUM_LINE_RE.match(line)), None)
    parts = [body]
    if kind == "text/plain" and cut is not None and len(text) % 2 == 0:
        parts = ["\n".join(lines[:cut]), "\n".join(lines[cut:])]
    attachments = [{"attachment": {"contentType": kind, "data": b64(part)}} for part in parts]
    return {
        "resourceType": "DocumentReference",
        "id": ids.report,
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11526-1", "display": "Pathology study"}]},
        "category": [{"coding": [{"system": LOINC, "code": "LP7839-6", "display": "Pathology"}]}],
        "subject": {"reference": f"Patient/{ids.patient}"},
        "date": ids.issued,
        "content": attachments,
        "context": {"related": [{"reference": f"Specimen/{ids.specimen}"}]},
    }


def transaction(ids: Ids, text: str, rng: random.Random) -> Json:
    """A transaction Bundle whose references are ``urn:uuid:`` full URLs; some resources carry no id."""
    urls = {
        key: f"urn:uuid:{value}"
        for key, value in (("p", ids.patient), ("s", ids.specimen), ("r", ids.report))
    }
    keep_ids = rng.random() < 0.5
    pat = patient(ids)
    spec = specimen(ids)
    spec["subject"] = {"reference": urls["p"]}
    form = presented(text, rng.choice(["text/plain", "text/html"]), rng)
    dr = report(ids, presentedForm=[form])
    dr["subject"] = {"reference": urls["p"]}
    dr["specimen"] = [{"reference": urls["s"]}]
    entries = []
    for key, resource in (("p", pat), ("s", spec), ("r", dr)):
        if not keep_ids:
            resource.pop("id")
        entries.append(
            {
                "fullUrl": urls[key],
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def report_versions(original: str, later: str, rng: random.Random) -> Json:
    """A searchset with two versions of one report naming no Specimen: the original (final) and a later
    version (amended, corrected, appended, or final issued later) sharing its accession number or order."""
    ids = Ids(rng)
    accession = f"S26-{rng.randint(10000, 99999)}"
    link: Json = (
        {"identifier": [{"system": "urn:oid:2.16.840.1.113883.3.0000.1", "value": accession}]}
        if rng.random() < 0.7
        else {"basedOn": [{"reference": f"ServiceRequest/{new_id(rng)}"}]}
    )
    first = report(ids, presentedForm=[presented(original, "text/plain", rng)], **link)
    first.pop("specimen")
    second = report(
        ids, presentedForm=[presented(later, rng.choice(["text/plain", "text/html"]), rng)], **link
    )
    second.pop("specimen")
    second["id"] = new_id(rng)
    second["status"] = rng.choice(["amended", "corrected", "appended", "final"])
    day = int(ids.issued[8:10])
    second["issued"] = f"2026-02-{day:02d}T09:00:00Z"
    versions = [first, second]
    rng.shuffle(versions)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (patient(ids), *versions)
        ],
    }


def v2_observations(text: str, rng: random.Random) -> Json:
    """The report as an HL7 v2 result message converted to FHIR: one Observation per text line, under local
    codes, with the line as ``valueString``; a line starting "Note:" becomes the previous Observation's NTE
    note. A DiagnosticReport without text lists them, or (sometimes) they come without a report."""
    ids = Ids(rng)
    system = "urn:oid:2.16.840.1.113883.2.1.3.2.4.17.1042"
    observations: list[Json] = []
    for number, line in enumerate(x.strip() for x in text.split("\n") if x.strip()):
        if line.lower().startswith("note:") and observations:
            observations[-1].setdefault("note", []).append({"text": line})
            continue
        code = f"L{number + 1:02d}"
        observations.append(
            {
                "resourceType": "Observation",
                "id": new_id(rng),
                "status": "final",
                "code": {"coding": [{"system": system, "code": code, "display": code}], "text": code},
                "subject": {"reference": f"Patient/{ids.patient}"},
                "effectiveDateTime": ids.collected,
                "issued": ids.issued,
                "valueString": line,
            }
        )
    if rng.random() < 0.3:
        return collection(patient(ids), *observations)
    refs = [{"reference": f"Observation/{o['id']}"} for o in observations]
    dr = report(
        ids, result=refs, identifier=[{"system": f"{system}.1", "value": f"H26.{rng.randint(10000, 99999)}"}]
    )
    dr.pop("specimen")
    return collection(patient(ids), dr, *observations)
