"""PET in the hook: the stored-analysis codec, patient linking, and the hook lookup over the series index.

The lookup reads the database only: the index is filled by ``PetIndexer`` passes over a real
``FilePetSource`` folder written by the phantom generator; slow, blocked and failing sources wrap or replace
it. "Never waits" is shown without clocks: a source blocked until the test releases it cannot delay a lookup
that answers while it is blocked.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cds_service.hooks.service import PetLookupResult
from cds_service.pet.codec import (
    AnalysisDocument,
    PetCodecError,
    document_from_json,
    document_to_json,
    facts_from_json,
    facts_to_json,
)
from cds_service.pet.index import PetIndexer
from cds_service.pet.jobs import PetJobs, analysis_version, stored_document
from cds_service.pet.link import dicom_patient_ids, study_uids_from_imaging
from cds_service.pet.wiring import PetSide, pet_side_for
from cds_service.storage.series_index import SeriesIndex
from cds_service.storage.store import AnalysisStatus, Storage
from connectors.dicom.analysis import SeriesAnalysis
from connectors.dicom.files import FilePetSource
from connectors.dicom.headers import TracerRecognition
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom, write_phantom
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import ConnectorError, SourceUnavailableError
from connectors.http import Deadline
from rules.domain import (
    LesionOrigin,
    LesionSite,
    PetLesion,
    PetStatus,
    PetStudyFacts,
    ReaderCall,
    ReferenceUptake,
    SourceRef,
    Tracer,
)

PATIENT = "PET-PAT-1"
SPEC = PhantomSpec(with_sr=True, with_seg=True, patient_id=PATIENT, seed="pet-jobs-1")


# -- codec -----------------------------------------------------------------------------------------------


def _facts(tz: dt.tzinfo | None) -> PetStudyFacts:
    return PetStudyFacts(
        study="1.2.3",
        series="1.2.3.4",
        tracer=Tracer.ZR89_SS_PERTUZUMAB,
        injected_at=dt.datetime(2025, 2, 1, 9, 0, 0, 123456, tzinfo=tz),
        acquired_at=dt.datetime(2025, 2, 7, 10, 30, tzinfo=tz),
        uptake_h=145.5,
        lesions=(
            PetLesion(
                lesion_id="L1",
                site=LesionSite.HEPATIC,
                site_text="Liver",
                site_code="10200004",
                reader_suv_max=0.3,
                reader_call=ReaderCall.AVID,
                origin=LesionOrigin.READER_SR,
                suv_max=0.1 + 0.2,  # a float without a short decimal form
                suv_peak=5.1,
                suv_mean=4.025,
                volume_ml=11.49,
                source=SourceRef(system="dicom", reference="study/1.2.3/series/1.2.3.4/instances/9"),
            ),
            PetLesion(lesion_id="auto-1"),
        ),
        references=ReferenceUptake(
            blood_pool_suvmean=2.5, blood_pool_method="reader SR", liver_suvmean=None, liver_method=None
        ),
        suv_available=True,
        suvbw_max=13.0,
        caveats=("uptake time from series time",),
        source=SourceRef(system="dicom", reference="study/1.2.3/series/1.2.3.4"),
    )


@pytest.mark.parametrize(
    "tz",
    [
        pytest.param(None, id="naive-local-DICOM-times"),
        pytest.param(dt.UTC, id="UTC"),
        pytest.param(dt.timezone(dt.timedelta(hours=-5)), id="offset"),
    ],
)
def test_facts_round_trip_losslessly(tz: dt.tzinfo | None) -> None:
    facts = _facts(tz)
    encoded = facts_to_json(facts)

    assert facts_from_json(json.loads(json.dumps(encoded))) == facts


def test_phantom_analysis_round_trips_through_the_document() -> None:
    phantom = make_phantom(SPEC)
    from connectors.dicom.analysis import analyze_series

    analysis = analyze_series(phantom.pet, sr=phantom.sr, seg=phantom.seg)
    facts = analysis.facts()
    assert facts is not None
    document = AnalysisDocument(facts=facts, analysis=analysis.to_json(), picture=True)

    back = document_from_json(json.loads(json.dumps(document_to_json(document))))
    assert back == document


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(lambda d: d.pop("series"), "'series' is missing", id="missing-series"),
        pytest.param(lambda d: d.update(tracer="FDG"), "unknown value", id="foreign-tracer"),
        pytest.param(lambda d: d.update(uptakeHours="5"), "wrong type", id="text-number"),
        pytest.param(lambda d: d.update(acquiredAt="yesterday"), "ISO 8601", id="bad-datetime"),
        pytest.param(lambda d: d["lesions"][0].update(readerCall="maybe"), "unknown value", id="bad-call"),
        pytest.param(lambda d: d.update(suvAvailable="yes"), "true or false", id="bad-flag"),
    ],
)
def test_malformed_facts_are_refused_naming_the_member(mutate: Any, message: str) -> None:
    data = facts_to_json(_facts(None))
    mutate(data)
    with pytest.raises(PetCodecError, match=message):
        facts_from_json(data)


def test_other_document_format_is_refused() -> None:
    with pytest.raises(PetCodecError, match="format"):
        document_from_json({"format": 99, "facts": None})


# -- linking ---------------------------------------------------------------------------------------------


def _study(
    uid_value: str, system: str = "urn:dicom:uid", started: str = "", modality: str = "PT"
) -> dict[str, Any]:
    return {
        "resourceType": "ImagingStudy",
        "started": started,
        "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": modality}],
        "identifier": [
            {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:x"},
            {"system": system, "value": uid_value},
        ],
    }


def test_study_uids_from_imaging_accepts_the_identifier_forms_newest_first() -> None:
    resources = [
        _study("urn:oid:1.2.840.1", started="2024-01-01"),
        _study("1.2.840.2", started="2025-01-01"),  # bare value under urn:dicom:uid
        _study("urn:oid:1.2.840.3", system="http://pacs.example/uid", started="2023-01-01"),
        _study("urn:oid:1.2.840.4", modality="CT"),  # not PET
        _study("not-a-uid"),
        {
            "resourceType": "Bundle",
            "entry": [{"resource": _study("urn:oid:1.2.840.5", started="2022-06-01")}],
        },
        {"resourceType": "Patient", "id": "x"},
    ]
    assert study_uids_from_imaging(resources) == ("1.2.840.2", "1.2.840.1", "1.2.840.3", "1.2.840.5")


def test_patient_ids_by_configured_system_or_any_value() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "fhir-7",
        "identifier": [
            {"system": "urn:oid:1.2.3.4.5", "value": "MRN-77"},
            {"system": "http://hospital/ssn", "value": "123-45"},
        ],
    }
    other = {"resourceType": "Patient", "id": "someone-else", "identifier": [{"value": "LEAK"}]}
    assert dicom_patient_ids("fhir-7", [patient, other], "urn:oid:1.2.3.4.5") == ("MRN-77",)
    assert dicom_patient_ids("fhir-7", [patient, other], None) == ("fhir-7", "MRN-77", "123-45")
    assert dicom_patient_ids("fhir-7", [], "urn:oid:1.2.3.4.5") == ()


# -- the hook lookup -------------------------------------------------------------------------------------

SOURCE = "test://pacs"
WAIT_S = 60.0
"""Generous bound on background work (an analysis on two busy cores); a bound, never a measured time."""


class CountingSource:
    """Wraps a source: counts triages and analyses; analyses can be held until ``release`` is set."""

    def __init__(self, inner: PetStudySource, *, hold: bool = False) -> None:
        self.inner = inner
        self.analyses = 0
        self.triages = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        return self.inner.find_pet_series(patient_id=patient_id, study_uid=study_uid)

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        with self.lock:
            self.triages += 1
        return self.inner.triage(ref)

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        with self.lock:
            self.analyses += 1
        if not self.release.wait(WAIT_S):
            raise SourceUnavailableError("held too long")
        return self.inner.analyse(ref)


class DownSource:
    """A PACS that refuses every call."""

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        raise SourceUnavailableError("connection refused")

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        raise SourceUnavailableError("connection refused")

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        raise SourceUnavailableError("connection refused")


class BlockedListing(CountingSource):
    """A PACS that answers, but lists its series only once ``listing`` is set."""

    def __init__(self, inner: PetStudySource) -> None:
        super().__init__(inner)
        self.listing = threading.Event()

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        self.listing.wait(WAIT_S)
        return super().find_pet_series(patient_id=patient_id, study_uid=study_uid)


@pytest.fixture(scope="module")
def pet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pet")
    write_phantom(folder / "a", SPEC)
    return folder


@pytest.fixture
def sides() -> Iterator[list[PetSide]]:
    """PET sides a test builds, shut down after it."""
    built: list[PetSide] = []
    yield built
    for side in built:
        side.shutdown()


def _side(sides: list[PetSide], source: Any, storage: Storage, **kwargs: Any) -> PetSide:
    """The service's PET side over ``source`` without a background indexer (tests run passes themselves)."""
    side = pet_side_for(source, storage, name=SOURCE, interval_s=0, max_age_s=900.0, **kwargs)
    sides.append(side)
    return side


def _pass(source: Any, storage: Storage) -> None:
    """One index pass over ``source`` (as the background indexer or ``her2-cds sync`` would run it)."""
    PetIndexer(source, SeriesIndex(storage), name=SOURCE).run_pass()


def _ask(
    side: PetSide, patient_id: str = PATIENT, imaging: list[dict[str, Any]] | None = None
) -> PetLookupResult:
    return side.lookup.lookup(patient_id, imaging or [], Deadline(1.0))


def _until_analysed(side: PetSide, **kwargs: Any) -> PetLookupResult:
    """Hooks until the background analysis is stored (bounded by ``WAIT_S``)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        result = _ask(side, **kwargs)
        if result.status is not PetStatus.PENDING or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_first_hook_is_pending_then_the_background_analysis_is_read(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    source = CountingSource(FilePetSource(pet_folder))
    _pass(source, storage)
    side = _side(sides, source, storage)
    first = _ask(side)
    assert first.status is PetStatus.PENDING
    assert first.pending_date == make_phantom(SPEC).expected.acquired_at.date()
    assert not first.source_unavailable
    assert not first.index_stale
    result = _until_analysed(side)
    assert result.status is PetStatus.ANALYSED
    assert result.pet is not None
    assert result.pet.tracer is Tracer.ZR89_TRASTUZUMAB
    assert {lesion.reader_call for lesion in result.pet.lesions} == {ReaderCall.AVID, ReaderCall.NON_AVID}
    expected = {e.label: e for e in make_phantom(SPEC).expected.lesions}
    for lesion in result.pet.lesions:
        assert lesion.suv_max == pytest.approx(expected[lesion.lesion_id].suv_max, rel=1e-3)
        assert lesion.suv_peak == pytest.approx(expected[lesion.lesion_id].suv_peak, rel=1e-3)
    assert _ask(side).pet == result.pet
    assert source.analyses == 1  # later hooks read the stored analysis
    assert source.triages == 1  # the index pass triaged it once; the analysis did not triage again
    assert storage.get_picture(result.pet.series) is not None


def test_the_hook_never_waits_for_a_running_analysis(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    source = CountingSource(FilePetSource(pet_folder), hold=True)
    _pass(source, storage)
    side = _side(sides, source, storage)
    try:
        first = _ask(side)  # queues the analysis, which is held: the answer comes while it is blocked
        deadline = time.monotonic() + WAIT_S
        while source.analyses == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.analyses == 1
        again = _ask(side)
    finally:
        source.release.set()
    assert first.status is again.status is PetStatus.PENDING
    assert again.pending_date == first.pending_date
    assert _until_analysed(side).status is PetStatus.ANALYSED
    ref = FilePetSource(pet_folder).find_pet_series(patient_id=PATIENT)[0]
    record = storage.get_analysis(ref.series_uid)
    assert record is not None
    assert record.analysis_version == analysis_version(ref)
    assert source.analyses == 1


def test_failed_source_with_nothing_stored_is_unavailable(storage: Storage, sides: list[PetSide]) -> None:
    with pytest.raises(ConnectorError):
        _pass(DownSource(), storage)
    side = _side(sides, DownSource(), storage)
    for patient_id in (PATIENT, "someone-without-pet"):
        result = _ask(side, patient_id)
        assert result.status is PetStatus.UNAVAILABLE
        assert result.pet is None
        assert not result.index_stale  # failed, not merely old: the card names the outage


def test_stored_facts_survive_an_outage_and_name_the_source(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    source = FilePetSource(pet_folder)
    _pass(source, storage)
    first = _until_analysed(_side(sides, source, storage))
    assert first.status is PetStatus.ANALYSED
    with pytest.raises(ConnectorError):
        _pass(DownSource(), storage)
    result = _ask(_side(sides, DownSource(), storage))
    assert result.status is PetStatus.ANALYSED
    assert result.pet == first.pet
    assert result.source_unavailable
    _pass(source, storage)  # the source is back: the outage is over
    back = _ask(_side(sides, source, storage))
    assert (back.status, back.source_unavailable) == (PetStatus.ANALYSED, False)


def test_a_pass_still_listing_is_not_an_outage(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    source = FilePetSource(pet_folder)
    _pass(source, storage)
    first = _until_analysed(_side(sides, source, storage))
    slow = BlockedListing(source)
    passing = threading.Thread(target=_pass, args=(slow, storage))
    passing.start()
    try:
        result = _ask(_side(sides, slow, storage))  # while the next pass waits for the PACS to list
    finally:
        slow.listing.set()
        passing.join(WAIT_S)
    assert result.status is PetStatus.ANALYSED
    assert result.pet == first.pet
    assert not result.source_unavailable  # slow, not down: no data-unavailable card


def test_a_pending_series_of_a_failed_source_is_unavailable(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    _pass(FilePetSource(pet_folder), storage)  # indexed, never analysed
    with pytest.raises(ConnectorError):
        _pass(DownSource(), storage)
    down = CountingSource(DownSource())  # type: ignore[arg-type]
    result = _ask(_side(sides, down, storage))
    assert result.status is PetStatus.UNAVAILABLE  # it cannot be analysed while the PACS is down
    assert down.analyses == 0  # and is not queued against it


def test_an_outage_met_by_an_analysis_is_recorded(
    pet_folder: Path, storage: Storage, sides: list[PetSide]
) -> None:
    _pass(FilePetSource(pet_folder), storage)  # the PACS listed the series, then went down
    side = _side(sides, DownSource(), storage)
    assert _ask(side).status is PetStatus.PENDING
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        state = SeriesIndex(storage).state(SOURCE)
        if state is not None and state.failed:
            break
        time.sleep(0.05)
    assert _ask(side).status is PetStatus.UNAVAILABLE


def test_two_replicas_analyse_a_series_once(pet_folder: Path, storage: Storage, sides: list[PetSide]) -> None:
    source = CountingSource(FilePetSource(pet_folder), hold=True)
    _pass(source, storage)
    first, second = _side(sides, source, storage), _side(sides, source, storage)  # own pools, same database
    try:
        assert [_ask(first).status, _ask(second).status] == [PetStatus.PENDING, PetStatus.PENDING]
        deadline = time.monotonic() + WAIT_S
        while source.analyses == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _ask(second).status is PetStatus.PENDING
    finally:
        source.release.set()
    assert _until_analysed(first).status is PetStatus.ANALYSED
    assert _until_analysed(second).status is PetStatus.ANALYSED
    assert source.analyses == 1


def test_non_her2_pet_is_ignored_and_never_retrieved(
    tmp_path: Path, storage: Storage, sides: list[PetSide]
) -> None:
    fdg = replace(SPEC, variant=PhantomVariant.FDG, with_sr=False, with_seg=False, seed="pet-jobs-fdg")
    write_phantom(tmp_path / "fdg", fdg)
    source = CountingSource(FilePetSource(tmp_path / "fdg"))
    _pass(source, storage)
    side = _side(sides, source, storage)
    assert _ask(side).status is PetStatus.NONE
    assert _ask(side).status is PetStatus.NONE
    assert source.analyses == 0  # triaged by its header alone, when it was indexed
    (row,) = SeriesIndex(storage).of_source(SOURCE).values()
    assert row.triage.value == "other"


def test_most_recent_her2_study_wins_and_imaging_study_links(
    tmp_path: Path, storage: Storage, sides: list[PetSide]
) -> None:
    older = replace(SPEC, seed="pet-jobs-old", injected_at=dt.datetime(2023, 5, 1, 9), with_seg=False)
    newer = replace(SPEC, seed="pet-jobs-new", injected_at=dt.datetime(2024, 9, 2, 9), with_seg=False)
    write_phantom(tmp_path / "dicom" / "old", older)
    write_phantom(tmp_path / "dicom" / "new", newer)
    source = FilePetSource(tmp_path / "dicom")
    _pass(source, storage)
    side = _side(sides, source, storage)
    result = _until_analysed(side)
    assert result.pet is not None
    assert result.pet.study == make_phantom(newer).pet[0].StudyInstanceUID
    # linked by ImagingStudy only (the EHR's patient id is unknown to the PACS)
    study_uid = make_phantom(older).pet[0].StudyInstanceUID
    imaging = [_study(f"urn:oid:{study_uid}")]
    by_study = _until_analysed(side, patient_id="ehr-only-id", imaging=imaging)
    assert by_study.pet is not None
    assert by_study.pet.study == study_uid


def test_a_reader_report_arriving_later_makes_the_analysis_pending_again(
    tmp_path: Path, storage: Storage, sides: list[PetSide]
) -> None:
    spec = replace(SPEC, seed="pet-jobs-late-sr")
    phantom = make_phantom(spec)
    write_phantom(tmp_path / "dicom" / "pet", replace(spec, with_sr=False))
    source = CountingSource(FilePetSource(tmp_path / "dicom"))
    _pass(source, storage)
    side = _side(sides, source, storage)
    before = _until_analysed(side)
    assert before.pet is not None
    assert {lesion.origin for lesion in before.pet.lesions} != {LesionOrigin.READER_SR}
    phantom.sr[0].save_as(tmp_path / "dicom" / "pet" / "sr_1.dcm", enforce_file_format=True)
    _pass(source, storage)
    assert _ask(side).status is PetStatus.PENDING  # the stored analysis predates the reader's report
    after = _until_analysed(side)
    assert after.pet is not None
    assert {lesion.origin for lesion in after.pet.lesions} == {LesionOrigin.READER_SR}
    assert source.analyses == 2


def test_unlinked_patient_has_no_pet(pet_folder: Path, storage: Storage, sides: list[PetSide]) -> None:
    _pass(FilePetSource(pet_folder), storage)
    assert _ask(_side(sides, FilePetSource(pet_folder), storage), "nobody").status is PetStatus.NONE


def test_a_stale_index_is_stated_with_its_last_update(
    pet_folder: Path, tmp_path: Path, sides: list[PetSide]
) -> None:
    url = f"sqlite:///{tmp_path / 'clocked.sqlite'}"
    storage = Storage(url)
    storage.migrate()
    try:
        never = _ask(_side(sides, FilePetSource(pet_folder), storage))
        assert (never.status, never.index_stale, never.index_updated_at) == (PetStatus.NONE, True, None)
        long_ago = dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)
        index = SeriesIndex(storage, clock=lambda: long_ago)
        PetIndexer(FilePetSource(pet_folder), index, name=SOURCE, clock=lambda: long_ago).run_pass()
        stale = _ask(_side(sides, FilePetSource(pet_folder), storage))
        assert stale.status is PetStatus.PENDING  # what the index holds is still used
        assert stale.index_stale
        assert stale.index_updated_at == long_ago
        _pass(FilePetSource(pet_folder), storage)
        assert not _ask(_side(sides, FilePetSource(pet_folder), storage)).index_stale
    finally:
        storage.dispose()


def test_the_analysis_through_the_port(pet_folder: Path) -> None:
    source = FilePetSource(pet_folder)
    (ref,) = source.find_pet_series(patient_id=PATIENT)
    assert source.triage(ref).tracer is Tracer.ZR89_TRASTUZUMAB
    analysis = source.analyse(ref)
    assert analysis.error is None
    assert analysis.facts() is not None


def test_stored_document_of_a_done_analysis(pet_folder: Path, storage: Storage) -> None:
    source = FilePetSource(pet_folder)
    (ref,) = source.find_pet_series(patient_id=PATIENT)
    jobs = PetJobs(source, storage)
    try:
        job = jobs.process(ref)
        document = job.document.result(timeout=WAIT_S)
    finally:
        jobs.shutdown()
    record = storage.get_analysis(ref.series_uid)
    assert record is not None
    assert record.status is AnalysisStatus.DONE
    assert stored_document(record) == document


def test_stored_document_decoded_once_per_row_version(pet_folder: Path, storage: Storage) -> None:
    source = FilePetSource(pet_folder)
    (ref,) = source.find_pet_series(patient_id=PATIENT)
    jobs = PetJobs(source, storage)
    try:
        document = jobs.process(ref).document.result(timeout=WAIT_S)
    finally:
        jobs.shutdown()
    record = storage.get_analysis(ref.series_uid)
    assert record is not None
    assert record.facts is not None
    first = stored_document(record)
    assert first == document
    # The same row read again: the decoded document is reused, not rebuilt.
    assert stored_document(storage.get_analysis(ref.series_uid)) is first
    # A row written again (here: other facts under a later updated_at) is decoded afresh.
    facts = json.loads(json.dumps(record.facts))
    facts["picture"] = not facts.get("picture", False)
    rewritten = replace(record, facts=facts, updated_at=record.updated_at + dt.timedelta(microseconds=1))
    again = stored_document(rewritten)
    assert first is not None
    assert again is not None
    assert again.picture is not first.picture


def test_a_hook_queues_a_series_again_only_when_it_changed_since_its_last_job(
    pet_folder: Path, storage: Storage
) -> None:
    """Hooks asking for a series just analysed start no new job; one whose references changed since (a
    reader's SR arrived) is analysed again at once, without waiting out the re-queue interval."""
    source = CountingSource(FilePetSource(pet_folder))
    (ref,) = source.find_pet_series(patient_id=PATIENT)
    jobs = PetJobs(source, storage)
    try:
        jobs.process(ref).document.result(timeout=WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while ref.series_uid in jobs._jobs and time.monotonic() < deadline:  # the done callback runs last
            time.sleep(0.01)
        jobs.queue(ref)
        jobs.queue(ref)
        jobs.queue(replace(ref, related_sr=(*ref.related_sr, "1.2.826.0.1.3680043.10.511.9")))
    finally:
        jobs.shutdown()
    assert (source.triages, source.analyses) == (2, 2)
