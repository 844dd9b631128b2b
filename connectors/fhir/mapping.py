"""Pure mapping of FHIR R4 pathology and context resources to domain objects (spec/clinical-logic.md §10).

Input is JSON (dicts) as a server or a file gives it; each resource is parsed with ``fhir.resources.R4B``
(the package's default import is R5, which rejects R4 payloads). A resource that does not parse, or a value
that does not fit its code, is skipped with a stated reason; the rest still maps.

Grouping: the HER2 Observations of one DiagnosticReport and specimen (following ``DiagnosticReport.result``
and ``Observation.hasMember``) form one test occasion, so IHC and reflex ISH of the same specimen end up in
one :class:`Her2Result`; Observations outside any report are grouped by specimen, else by effective date.
The biopsied site's SNOMED CT code (``SpecimenRef.site_code``) is the Specimen's ``collection.bodySite``,
else the report's (its core ``bodySite`` extension, or the one site its result Observations code).

Order of sources: structured Observations win; the report narrative (``conclusion``, ``presentedForm``
inline or via a ``Binary``) is read when a report has no structured HER2 result. When it has both, the coded
result is checked against the report's own text (:mod:`connectors.fhir.mapping_crosscheck`): a contradiction
across a T-DXd category line leaves the occasion unclassified with both excerpts, and what the coded result
lacks (assay, percentages, IHC 0 detail, site) is taken from the text. Pathology DocumentReferences are read
like report narratives. Per specimen the latest report version (by ``issued``) replaces earlier ones, as
amendments and addenda do (spec §6); components the later version lacks are carried over with a note; a
result the text attributes to a prior specimen never outranks the report's own.

Bundles of any type are accepted; a transaction Bundle's ``urn:uuid:`` references are resolved
(:mod:`connectors.fhir.mapping_bundle`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.errors import InvalidSourceDataError
from connectors.fhir.mapping_bundle import bundle_resources
from connectors.fhir.mapping_context import clinical_context, context_facts
from connectors.fhir.mapping_crosscheck import crosscheck
from connectors.fhir.mapping_narrative import (
    MAX_NARRATIVE_CHARS,
    document_texts,
    is_pathology_document,
    report_texts,
    texts_to_results,
)
from connectors.fhir.mapping_observations import (
    ObservationMismatchError,
    ObsReading,
    component_readings,
    her2_from_readings,
    observation_kind,
    read_observation,
    receptors_from_readings,
)
from connectors.fhir.mapping_values import (
    reference_id,
    snomed_site_code,
    specimen_ref,
    to_date,
    to_sort_key,
    typed_reference,
)
from connectors.fhir.narrative import PRIOR_SPECIMEN_NOTE
from connectors.ports import PathologyData, SkippedItem
from rules.domain import Her2Result, ReceptorResult, SourceRef, SpecimenRef

__all__ = [
    "PathologyData",
    "SkippedItem",
    "load_fhir_file",
    "pathology_from_bundle",
    "pathology_from_resources",
]

#: Resource types the mapping reads; anything else in a bundle is ignored silently.
USED_TYPES = frozenset(
    {
        "Patient",
        "Observation",
        "DiagnosticReport",
        "DocumentReference",
        "Specimen",
        "Binary",
        "Condition",
        "Medication",
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationStatement",
    }
)
_PATIENT_LINKED = ("subject", "patient")

BODY_SITE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"
"""The core ``bodySite`` extension (valueCodeableConcept): a body site on a resource that has no element for
it, such as DiagnosticReport."""


@dataclass(slots=True)
class _Index:
    """Parsed resources by ``Type/id``, in input order, plus what was skipped."""

    resources: dict[str, Any] = field(default_factory=dict)
    skipped: list[SkippedItem] = field(default_factory=list)
    patients: set[str] = field(default_factory=set)
    max_narrative_chars: int = MAX_NARRATIVE_CHARS

    def of_type(self, resource_type: str) -> list[Any]:
        return [r for r in self.resources.values() if r.get_resource_type() == resource_type]

    def get(self, resource_type: str, resource_id: str | None) -> Any:
        return self.resources.get(f"{resource_type}/{resource_id}") if resource_id else None

    def skip(self, reference: str, reason: str) -> None:
        self.skipped.append(SkippedItem(reference=reference, reason=reason))


@dataclass(frozen=True, slots=True)
class _Occasion:
    """A mapped test occasion with the keys used to pick the latest version per specimen."""

    result: Her2Result
    specimen_key: str | None
    issued_key: str


def pathology_from_resources(
    resources: Iterable[Mapping[str, Any]], *, max_narrative_chars: int = MAX_NARRATIVE_CHARS
) -> PathologyData:
    """Map FHIR R4 resources (JSON objects) to :class:`PathologyData`; never raises on bad resources.

    A report text longer than ``max_narrative_chars`` characters is not read (it is listed in ``skipped``), so
    that the narrative parser's time stays bounded whatever a source sends.
    """
    index = _index(resources)
    index.max_narrative_chars = max_narrative_chars
    readings, claimed = _readings(index)
    occasions: list[_Occasion] = []
    receptors: list[tuple[str | None, str, ReceptorResult]] = []
    for report in index.of_type("DiagnosticReport"):
        _map_report(report, index, readings, occasions, receptors)
    for document in index.of_type("DocumentReference"):
        _map_document(document, index, occasions, receptors)
    _map_loose(index, readings, claimed, occasions, receptors)
    _map_text_observations(index, readings, claimed, occasions, receptors)
    medications = {m.id: m for m in index.of_type("Medication") if m.id}
    context = clinical_context(context_facts(index.resources.values(), medications))
    return PathologyData(
        her2=_latest_per_specimen(occasions),
        receptors=_latest_receptors(receptors),
        context=context,
        patient_ids=tuple(sorted(index.patients)),
        skipped=tuple(index.skipped),
    )


def pathology_from_bundle(bundle: Mapping[str, Any]) -> PathologyData:
    """Map the resources of a FHIR Bundle (any type: collection, searchset, transaction...)."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise InvalidSourceDataError("not a FHIR Bundle")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise InvalidSourceDataError("Bundle.entry is not a list")
    return pathology_from_resources(bundle_resources(entries))


def load_fhir_file(path: str | Path) -> PathologyData:
    """Read a FHIR R4 JSON file: a Bundle, or a single DiagnosticReport, DocumentReference or Observation.

    Raises :class:`InvalidSourceDataError` with a one-line message when the file cannot be read, is not JSON,
    or holds another kind of resource.
    """
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidSourceDataError(
            f"cannot read {file.name}: {exc.strerror or type(exc).__name__}"
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSourceDataError(f"{file.name} is not valid JSON") from exc
    kind = document.get("resourceType") if isinstance(document, dict) else None
    if kind == "Bundle":
        return pathology_from_bundle(document)
    if kind in ("DiagnosticReport", "DocumentReference", "Observation"):
        return pathology_from_resources([document])
    raise InvalidSourceDataError(
        f"{file.name}: expected a FHIR Bundle, DiagnosticReport, DocumentReference or Observation, "
        f"got {kind or 'no resourceType'}"
    )


# ----------------------------------------------------------------------------------------------------
# Parsing and indexing


def _index(resources: Iterable[Mapping[str, Any]]) -> _Index:
    from fhir.resources.R4B import get_fhir_model_class

    index = _Index()
    for number, raw in enumerate(resources, start=1):
        kind = raw.get("resourceType") if isinstance(raw, Mapping) else None
        if not isinstance(kind, str) or kind not in USED_TYPES:
            continue
        raw_id = raw.get("id")
        if raw_id is not None and raw_id != "":
            label = f"{kind}/{raw_id}"
        else:
            # A resource as written to a file or a create payload has no server id yet; the text is no
            # less readable. It is named by its place, as a Bundle entry without one is.
            raw = {**raw, "id": f"entry-{number}"}
            label = f"{kind}/entry-{number}"
        try:
            model: Any = get_fhir_model_class(kind).model_validate(dict(raw))
        except (ValidationError, ValueError, TypeError) as exc:
            index.skip(label, f"not a valid FHIR R4 {kind}: {_first_error(exc)}")
            continue
        index.resources[f"{kind}/{model.id}"] = model
        _note_patient(index, model)
    return index


def _first_error(exc: Exception) -> str:
    """One line naming the first invalid element (never the value, which may be PHI)."""
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('type', 'invalid')}"
    return type(exc).__name__


def _note_patient(index: _Index, model: Any) -> None:
    if model.get_resource_type() == "Patient":
        index.patients.add(model.id)
        return
    for name in _PATIENT_LINKED:
        ref = typed_reference(getattr(model, name, None))
        if ref and ref.startswith("Patient/"):
            index.patients.add(ref.split("/", 1)[1])


def _readings(index: _Index) -> tuple[dict[str, list[ObsReading]], set[str]]:
    """Normalised pathology Observations by id (the Observation's own value, then its coded components),
    and the ids any report or panel claims."""
    readings: dict[str, list[ObsReading]] = {}
    for observation in index.of_type("Observation"):
        kind = observation_kind(observation)
        found: list[ObsReading] = []
        if kind is not None:
            try:
                found.append(read_observation(observation, kind))
            except (ObservationMismatchError, ValueError, TypeError, AttributeError) as exc:
                index.skip(f"Observation/{observation.id}", str(exc) or type(exc).__name__)
        from_components, reasons = component_readings(observation, kind)
        found.extend(from_components)
        for reason in reasons:
            index.skip(f"Observation/{observation.id}", reason)
        if found:
            readings[observation.id] = found
    claimed = {m for group in readings.values() for r in group for m in r.members}
    for report in index.of_type("DiagnosticReport"):
        claimed.update(_report_observations(report, index))
    return readings, claimed


def _report_observations(report: Any, index: _Index) -> list[str]:
    """Observation ids of a report's results, following ``hasMember`` of panels (bounded depth)."""
    pending = [reference_id(r, "Observation") for r in report.result or ()]
    found: list[str] = []
    while pending and len(found) < 500:
        obs_id = pending.pop(0)
        if obs_id is None or obs_id in found:
            continue
        found.append(obs_id)
        observation = index.get("Observation", obs_id)
        if observation is not None:
            pending.extend(reference_id(m, "Observation") for m in observation.hasMember or ())
    return found


# ----------------------------------------------------------------------------------------------------
# Occasions


def _specimen(index: _Index, specimen_id: str | None, fallback_date: Any) -> SpecimenRef:
    return specimen_ref(index.get("Specimen", specimen_id), specimen_id, to_date(fallback_date))


def _map_report(
    report: Any,
    index: _Index,
    readings: Mapping[str, Sequence[ObsReading]],
    occasions: list[_Occasion],
    receptors: list[tuple[str | None, str, ReceptorResult]],
) -> None:
    source = SourceRef(system="fhir", reference=f"DiagnosticReport/{report.id}")
    if (report.status or "") in ("entered-in-error", "cancelled"):
        index.skip(source.reference, f"status {report.status}")
        return
    report_specimen = next((reference_id(s, "Specimen") for s in report.specimen or ()), None)
    first_new = len(occasions)
    _map_report_results(report, index, readings, occasions, receptors, report_specimen, source)
    _key_by_report_version(report, occasions, first_new)


def _map_report_results(
    report: Any,
    index: _Index,
    readings: Mapping[str, Sequence[ObsReading]],
    occasions: list[_Occasion],
    receptors: list[tuple[str | None, str, ReceptorResult]],
    report_specimen: str | None,
    source: SourceRef,
) -> None:
    issued_key = to_sort_key(report.issued) or to_sort_key(report.effectiveDateTime)
    reported = to_date(report.issued) or to_date(report.effectiveDateTime)
    observation_ids = _report_observations(report, index)
    members = [reading for i in observation_ids for reading in readings.get(i, ())]
    site_code = _report_site_code(report, [index.get("Observation", i) for i in observation_ids])
    structured_her2 = False
    structured_receptors: set[str] = set()
    for (specimen_id, collected), group in _occasion_groups(members, report_specimen).items():
        specimen = _with_site(_specimen(index, specimen_id, collected or report.effectiveDateTime), site_code)
        result = her2_from_readings(group, specimen=specimen, source=source, reported=reported)
        if result is not None:
            structured_her2 = True
            occasions.append(_Occasion(result, specimen_id, issued_key))
        for receptor in receptors_from_readings(group, specimen=specimen, reported=reported):
            structured_receptors.add(receptor.receptor.value)
            receptors.append((specimen_id, issued_key, receptor))
    texts = report_texts(report, index.get, index.skip, max_chars=index.max_narrative_chars)
    if not texts and not structured_her2:
        # A report whose results are text values under local codes (an HL7 v2 message, one OBX per line).
        values = _values_text([index.get("Observation", i) for i in observation_ids if i not in readings])
        texts = [values] if values else []
    if not texts:
        return
    # Without a collection date, the report's own specimen is dated by the report: a prior specimen the
    # text names with a date must never look newer than the specimen the report is about.
    period = getattr(report.effectivePeriod, "start", None) if report.effectivePeriod else None
    when = report.effectiveDateTime or period or report.issued
    specimen = _with_site(_specimen(index, report_specimen, when), site_code)
    her2, narrative_receptors = texts_to_results(texts, source=source, specimen=specimen, reported=reported)
    if structured_her2:
        _crosscheck(occasions, source, her2)
    else:
        occasions.extend(_Occasion(r, r.specimen.id or report_specimen, issued_key) for r in her2)
    for receptor in narrative_receptors:
        if receptor.receptor.value not in structured_receptors:
            receptors.append((receptor.specimen.id or report_specimen, issued_key, receptor))


#: Report statuses that mark a later version of a report (FHIR R4 ``DiagnosticReport.status``).
_REVISED_STATUSES = ("amended", "corrected", "appended")


def _report_version_keys(report: Any) -> list[str]:
    """What names one report across its versions: its identifiers (accession) and the orders it is based
    on. An amended, corrected or appended version keeps them."""
    keys = [
        f"id:{identifier.system or ''}|{identifier.value}"
        for identifier in report.identifier or ()
        if identifier.value
    ]
    keys += [f"order:{based.reference}" for based in report.basedOn or () if based.reference]
    return keys


def _key_by_report_version(report: Any, occasions: list[_Occasion], first_new: int) -> None:
    """A report that names no Specimen and gives one HER2 occasion is keyed by its identifier or order, so
    that a later version of the same report (amended, corrected, appended, or simply issued later with the
    same accession) replaces it, with what the later version lacks carried over. Reports with several
    occasions (parts, foci) keep theirs apart."""
    new = occasions[first_new:]
    keys = _report_version_keys(report)
    if len(new) != 1 or new[0].specimen_key is not None or not keys:
        return
    occasion = new[0]
    specimen = occasion.result.specimen
    where = f"{specimen.site.value}|{specimen.description or ''}|{specimen.collected or ''}"
    revised = "1" if (report.status or "") in _REVISED_STATUSES else "0"
    occasions[first_new] = _Occasion(
        occasion.result, f"report:{keys[0]}|{where}", f"{occasion.issued_key}|{revised}"
    )


def _occasion_groups(
    members: Sequence[ObsReading], report_specimen: str | None
) -> dict[tuple[str | None, dt.date | None], list[ObsReading]]:
    """A report's Observations by specimen. Those naming no Specimen stay one occasion, unless the same test
    is given on different days (a cumulative summary: "2025 core IHC 0", "2026 node metastasis 1+"): then
    each of those days is an occasion, and the other Observations join the latest such day not after their
    own (test dates of one work-up differ; collection days of the repeated test do not)."""
    groups: dict[tuple[str | None, dt.date | None], list[ObsReading]] = {}
    loose = [r for r in members if r.specimen_id is None]
    days_by_kind: dict[object, set[dt.date]] = {}
    for reading in loose:
        day = to_date(reading.effective)
        if day is not None:
            days_by_kind.setdefault(reading.kind, set()).add(day)
    anchors = sorted({day for days in days_by_kind.values() if len(days) > 1 for day in days})
    for reading in members:
        day = to_date(reading.effective) if reading.specimen_id is None and anchors else None
        if day is not None:
            day = max((a for a in anchors if a <= day), default=anchors[0])
        groups.setdefault((reading.specimen_id or report_specimen, day), []).append(reading)
    return groups


def _report_site_code(report: Any, observations: Sequence[Any]) -> str | None:
    """The SNOMED CT body site the DiagnosticReport codes: its ``bodySite`` extension, else the one site its
    result Observations agree on (``Observation.bodySite``); None when absent or when they disagree."""
    for extension in report.extension or ():
        if extension.url == BODY_SITE_EXTENSION:
            code = snomed_site_code(extension.valueCodeableConcept)
            if code is not None:
                return code
    sites = {snomed_site_code(o.bodySite) for o in observations if o is not None and o.bodySite is not None}
    sites.discard(None)
    return sites.pop() if len(sites) == 1 else None


def _with_site(specimen: SpecimenRef, site_code: str | None) -> SpecimenRef:
    """``specimen`` with the report's coded body site when the Specimen itself codes none."""
    if specimen.site_code is not None or site_code is None:
        return specimen
    return replace(specimen, site_code=site_code)


def _crosscheck(occasions: list[_Occasion], source: SourceRef, narrative: Sequence[Her2Result]) -> None:
    """Check each structured result of ``source`` against the report's own text (spec §10)."""
    for position, occasion in enumerate(occasions):
        structured = occasion.result
        if structured.source != source:
            continue
        checked = crosscheck(structured, narrative)
        if not checked.unparsed:
            notes = [note for reading in narrative for note in _disagreements(structured, reading)]
            checked = replace(checked, notes=tuple(dict.fromkeys(checked.notes + tuple(notes))))
        occasions[position] = _Occasion(checked, occasion.specimen_key, occasion.issued_key)


def _disagreements(structured: Her2Result, narrative: Her2Result) -> list[str]:
    notes = []
    s_score = structured.ihc.score if structured.ihc else None
    n_score = narrative.ihc.score if narrative.ihc else None
    if s_score is not None and n_score is not None and s_score != n_score:
        notes.append(f"report text states IHC {n_score}, coded Observation IHC {s_score}; coded result used")
    s_group = structured.ish.reported_group if structured.ish else None
    n_group = narrative.ish.reported_group if narrative.ish else None
    if s_group is not None and n_group is not None and s_group != n_group:
        notes.append(f"report text states ISH group {n_group}, coded group {s_group}; coded result used")
    return notes


def _map_document(
    document: Any,
    index: _Index,
    occasions: list[_Occasion],
    receptors: list[tuple[str | None, str, ReceptorResult]],
) -> None:
    """A pathology DocumentReference: its attachments are read as a report narrative."""
    source = SourceRef(system="fhir", reference=f"DocumentReference/{document.id}")
    if (document.status or "") == "entered-in-error" or not is_pathology_document(document):
        return
    texts = document_texts(document, index.get, index.skip, max_chars=index.max_narrative_chars)
    if not texts:
        return
    context = getattr(document, "context", None)
    period = getattr(context, "period", None)
    specimen_id = next(
        (
            reference_id(r, "Specimen")
            for r in getattr(context, "related", None) or ()
            if reference_id(r, "Specimen")
        ),
        None,
    )
    when = document.date or getattr(period, "start", None)
    specimen = _specimen(index, specimen_id, getattr(period, "start", None) or when)
    issued_key = to_sort_key(when)
    her2, narrative_receptors = texts_to_results(
        texts, source=source, specimen=specimen, reported=to_date(when)
    )
    occasions.extend(_Occasion(r, r.specimen.id or specimen_id, issued_key) for r in her2)
    receptors.extend((r.specimen.id or specimen_id, issued_key, r) for r in narrative_receptors)


def _map_loose(
    index: _Index,
    readings: Mapping[str, Sequence[ObsReading]],
    claimed: set[str],
    occasions: list[_Occasion],
    receptors: list[tuple[str | None, str, ReceptorResult]],
) -> None:
    """Observations outside any report: grouped by specimen, else by effective date (one occasion each)."""
    groups: dict[str, list[ObsReading]] = {}
    for obs_id, found in readings.items():
        if obs_id in claimed:
            continue
        for reading in found:
            date = to_date(reading.effective)
            key = (
                f"s:{reading.specimen_id}" if reading.specimen_id else f"d:{date}" if date else f"o:{obs_id}"
            )
            groups.setdefault(key, []).append(reading)
    for group in groups.values():
        first = group[0]
        specimen = _specimen(index, first.specimen_id, first.effective)
        reported = to_date(first.issued) or to_date(first.effective)
        issued_key = to_sort_key(first.issued) or to_sort_key(first.effective)
        main = next((r for r in group if r.is_her2 and r.kind.value == "her2_ihc"), None)
        main = main or next((r for r in group if r.is_her2), first)
        source = SourceRef(system="fhir", reference=main.reference)
        result = her2_from_readings(group, specimen=specimen, source=source, reported=reported)
        if result is not None:
            occasions.append(_Occasion(result, first.specimen_id, issued_key))
        for receptor in receptors_from_readings(group, specimen=specimen, reported=reported):
            receptors.append((first.specimen_id, issued_key, receptor))


def _values_text(observations: Sequence[Any]) -> str:
    """The text values of Observations and their notes, one line each, in their order (empty when none).
    Observations of a known HER2/ER/PR code are left out: a coded value that failed its checks stays
    unread."""
    lines: list[str] = []
    for observation in observations:
        value = getattr(observation, "valueString", None) if observation is not None else None
        if not value or not value.strip() or observation_kind(observation) is not None:
            continue
        lines.append(value.strip())
        lines.extend(note.text.strip() for note in observation.note or () if note.text and note.text.strip())
    return "\n".join(lines)


def _map_text_observations(
    index: _Index,
    readings: Mapping[str, Sequence[ObsReading]],
    claimed: set[str],
    occasions: list[_Occasion],
    receptors: list[tuple[str | None, str, ReceptorResult]],
) -> None:
    """Observations outside any report whose codes are local and whose values are text (an HL7 v2 result
    message converted one OBX line per Observation: "HER2 IHC SCORE 2+", "HER2/CEP17 RATIO 2.26", notes
    beside them): the values and notes of one specimen or date are read as one report text, in their order.
    A group whose date or specimen already has a coded HER2 result is left to it."""
    coded = {(o.specimen_key, o.result.specimen.collected) for o in occasions}
    groups: dict[str, list[Any]] = {}
    for observation in index.of_type("Observation"):
        if observation.id in readings or observation.id in claimed or not observation.valueString:
            continue
        specimen_id = reference_id(observation.specimen, "Specimen") if observation.specimen else None
        date = to_date(observation.effectiveDateTime) or to_date(observation.issued)
        key = f"s:{specimen_id}" if specimen_id else f"d:{date}" if date else f"o:{observation.id}"
        groups.setdefault(key, []).append(observation)
    for group in groups.values():
        first = group[0]
        specimen_id = reference_id(first.specimen, "Specimen") if first.specimen else None
        specimen = _specimen(index, specimen_id, first.effectiveDateTime or first.issued)
        if (specimen_id, specimen.collected) in coded:
            continue
        reported = to_date(first.issued) or to_date(first.effectiveDateTime)
        issued_key = to_sort_key(first.issued) or to_sort_key(first.effectiveDateTime)
        source = SourceRef(system="fhir", reference=f"Observation/{first.id}")
        her2, found = texts_to_results(
            [_values_text(group)], source=source, specimen=specimen, reported=reported
        )
        occasions.extend(_Occasion(r, r.specimen.id or specimen_id, issued_key) for r in her2)
        receptors.extend((r.specimen.id or specimen_id, issued_key, r) for r in found)


def _latest_per_specimen(occasions: Sequence[_Occasion]) -> tuple[Her2Result, ...]:
    """The latest version per specimen, with IHC/ISH the later version lacks carried over; newest first."""
    by_specimen: dict[str, list[_Occasion]] = {}
    kept: list[Her2Result] = []
    for occasion in occasions:
        if occasion.specimen_key is None:
            kept.append(occasion.result)
        else:
            by_specimen.setdefault(occasion.specimen_key, []).append(occasion)
    for versions in by_specimen.values():
        versions.sort(key=lambda o: o.issued_key)
        latest = versions[-1].result
        for earlier in reversed(versions[:-1]):
            latest = _carry_over(latest, earlier.result)
        kept.append(latest)
    kept.sort(
        key=lambda r: (
            r.specimen.collected or r.reported or dt.date.min,
            r.reported or dt.date.min,
            r.specimen.description != PRIOR_SPECIMEN_NOTE,
        )
    )
    return tuple(reversed(kept))


def _carry_over(latest: Her2Result, earlier: Her2Result) -> Her2Result:
    if latest.source == earlier.source:
        return latest
    notes = [f"replaces {earlier.source}"] if earlier.source else []
    ihc, ish = latest.ihc, latest.ish
    if ihc is None and earlier.ihc is not None:
        ihc = earlier.ihc
        notes.append(f"IHC carried over from {earlier.source}")
    if ish is None and earlier.ish is not None:
        ish = earlier.ish
        notes.append(f"ISH carried over from {earlier.source}")
    return replace(latest, ihc=ihc, ish=ish, notes=latest.notes + tuple(notes))


def _latest_receptors(
    entries: Sequence[tuple[str | None, str, ReceptorResult]],
) -> tuple[ReceptorResult, ...]:
    """Latest ER and PR per specimen (results without a specimen are all kept)."""
    latest: dict[tuple[str, str], tuple[str, ReceptorResult]] = {}
    loose: list[ReceptorResult] = []
    for specimen_key, issued_key, result in entries:
        if specimen_key is None:
            loose.append(result)
            continue
        key = (specimen_key, result.receptor.value)
        if key not in latest or latest[key][0] <= issued_key:
            latest[key] = (issued_key, result)
    return tuple([r for _k, r in latest.values()] + loose)
