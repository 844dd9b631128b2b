"""PET in the hook: the stored-analysis codec, patient linking, and the hook lookup within its budget.

The lookup runs against a real ``FilePetSource`` folder filled by the phantom generator; slow and failing
sources wrap or replace it. Timing assertions leave generous slack for two shared CPU cores but always stay
well below what a blocking implementation would take.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset

from cds_service.hooks.prefetch import Deadline
from cds_service.pet.codec import (
    AnalysisDocument,
    PetCodecError,
    document_from_json,
    document_to_json,
    facts_from_json,
    facts_to_json,
)
from cds_service.pet.jobs import PetJobs, analysis_version, run_analysis, stored_document
from cds_service.pet.link import dicom_patient_ids, study_uids_from_imaging
from cds_service.pet.lookup import HookPetLookup
from cds_service.storage.store import AnalysisStatus, Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom, write_phantom
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import SourceUnavailableError
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


class CountingSource:
    """Wraps a source: counts series retrievals and can delay them or fail every call."""

    def __init__(self, inner: PetStudySource, *, delay_s: float = 0.0) -> None:
        self.inner = inner
        self.delay_s = delay_s
        self.fetches = 0
        self.lock = threading.Lock()

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        return self.inner.find_pet_series(patient_id=patient_id, study_uid=study_uid)

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        with self.lock:
            self.fetches += 1
        time.sleep(self.delay_s)
        return self.inner.fetch_series(ref)

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        return self.inner.fetch_header(ref)

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        return self.inner.fetch_related(ref)


class DownSource:
    """A PACS that refuses (``hang_s`` 0) or hangs before refusing."""

    def __init__(self, hang_s: float = 0.0) -> None:
        self.hang_s = hang_s

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        time.sleep(self.hang_s)
        raise SourceUnavailableError("connection refused")

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        raise SourceUnavailableError("connection refused")

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        raise SourceUnavailableError("connection refused")

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        raise SourceUnavailableError("connection refused")


@pytest.fixture(scope="module")
def pet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pet")
    write_phantom(folder / "a", SPEC)
    return folder


def _lookup(source: PetStudySource, storage: Storage) -> tuple[HookPetLookup, PetJobs]:
    jobs = PetJobs(source, storage, io_workers=2, analysis_workers=1)
    return HookPetLookup(jobs, storage), jobs


def _timed(lookup: HookPetLookup, budget_s: float, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = lookup.lookup(
        kwargs.pop("patient_id", PATIENT), kwargs.pop("imaging", []), Deadline(budget_s), **kwargs
    )
    return result, time.monotonic() - started


def test_first_hook_analyses_within_a_generous_budget_then_reads_the_store(
    pet_folder: Path, storage: Storage
) -> None:
    source = CountingSource(FilePetSource(pet_folder))
    lookup, jobs = _lookup(source, storage)
    try:
        result, _ = _timed(lookup, 30.0)
        assert result.status is PetStatus.ANALYSED
        assert result.pet is not None
        assert result.pet.tracer is Tracer.ZR89_TRASTUZUMAB
        assert {lesion.reader_call for lesion in result.pet.lesions} == {ReaderCall.AVID, ReaderCall.NON_AVID}
        expected = {e.label: e for e in make_phantom(SPEC).expected.lesions}
        for lesion in result.pet.lesions:
            assert lesion.suv_max == pytest.approx(expected[lesion.lesion_id].suv_max, rel=1e-3)
            assert lesion.suv_peak == pytest.approx(expected[lesion.lesion_id].suv_peak, rel=1e-3)
        again, _ = _timed(lookup, 30.0)
        assert again.pet == result.pet
        assert source.fetches == 1  # the second hook used the stored analysis
        assert storage.get_picture(result.pet.series) is not None
    finally:
        jobs.shutdown()


def test_slow_source_gives_pending_within_the_deadline_and_the_analysis_is_stored(
    pet_folder: Path, storage: Storage
) -> None:
    source = CountingSource(FilePetSource(pet_folder), delay_s=1.5)
    lookup, jobs = _lookup(source, storage)
    try:
        result, elapsed = _timed(lookup, 0.4)
        assert elapsed < 0.4 + 0.15
        assert result.status is PetStatus.PENDING
        assert result.pending_date == make_phantom(SPEC).expected.acquired_at.date()
        ref = FilePetSource(pet_folder).find_pet_series(patient_id=PATIENT)[0]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = storage.get_analysis(ref.series_uid)
            if record is not None and record.status is AnalysisStatus.DONE:
                break
            time.sleep(0.1)
        record = storage.get_analysis(ref.series_uid)
        assert record is not None
        assert record.analysis_version == analysis_version(ref)
        document = stored_document(record)
        assert document is not None
        assert document.facts is not None
        source.delay_s = 0.0
        after, _ = _timed(lookup, 0.4)
        assert after.status is PetStatus.ANALYSED
        assert after.pet == document.facts
    finally:
        jobs.shutdown()


@pytest.mark.parametrize("hang_s", [0.0, 2.0], ids=["refused", "hanging"])
def test_unavailable_source_within_the_deadline(storage: Storage, hang_s: float) -> None:
    lookup, jobs = _lookup(DownSource(hang_s), storage)
    try:
        result, elapsed = _timed(lookup, 0.5)
        assert elapsed < 0.5 + 0.15
        assert result.status is PetStatus.UNAVAILABLE
        assert result.pet is None
    finally:
        jobs.shutdown(wait=False)


def test_stored_facts_survive_an_outage_and_name_the_source(pet_folder: Path, storage: Storage) -> None:
    lookup, jobs = _lookup(FilePetSource(pet_folder), storage)
    try:
        first, _ = _timed(lookup, 30.0)
    finally:
        jobs.shutdown()
    down, down_jobs = _lookup(DownSource(), storage)
    try:
        result, _ = _timed(down, 0.5)
        assert result.status is PetStatus.ANALYSED
        assert result.pet == first.pet
        assert result.source_unavailable
    finally:
        down_jobs.shutdown(wait=False)


class SlowListingSource(CountingSource):
    """A PACS that answers, but lists its series only after ``list_s`` seconds."""

    def __init__(self, inner: PetStudySource, *, list_s: float) -> None:
        super().__init__(inner)
        self.list_s = list_s

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        time.sleep(self.list_s)
        return super().find_pet_series(patient_id=patient_id, study_uid=study_uid)


def test_a_slow_series_search_keeps_the_stored_analysis(pet_folder: Path, storage: Storage) -> None:
    lookup, jobs = _lookup(FilePetSource(pet_folder), storage)
    try:
        first, _ = _timed(lookup, 30.0)
    finally:
        jobs.shutdown()
    slow, slow_jobs = _lookup(SlowListingSource(FilePetSource(pet_folder), list_s=1.5), storage)
    try:
        result, elapsed = _timed(slow, 0.5)
        assert elapsed < 0.5 + 0.15
        assert result.status is PetStatus.ANALYSED
        assert result.pet == first.pet
        assert not result.source_unavailable  # slow, not down: no data-unavailable card
    finally:
        slow_jobs.shutdown(wait=False)


def test_a_slow_series_search_with_nothing_stored_is_unavailable(pet_folder: Path, storage: Storage) -> None:
    slow, slow_jobs = _lookup(SlowListingSource(FilePetSource(pet_folder), list_s=1.5), storage)
    try:
        result, elapsed = _timed(slow, 0.5)
        assert elapsed < 0.5 + 0.15
        assert result.status is PetStatus.UNAVAILABLE
    finally:
        slow_jobs.shutdown(wait=False)


def test_two_replicas_analyse_a_series_once(pet_folder: Path, storage: Storage) -> None:
    source = CountingSource(FilePetSource(pet_folder), delay_s=0.8)
    first, first_jobs = _lookup(source, storage)
    second, second_jobs = _lookup(source, storage)  # another process: own pools, same database
    try:
        results = [_timed(first, 0.3)[0], _timed(second, 0.3)[0]]
        assert [r.status for r in results] == [PetStatus.PENDING, PetStatus.PENDING]
    finally:
        first_jobs.shutdown()
        second_jobs.shutdown()
    assert source.fetches == 1
    source.delay_s = 0.0
    third, third_jobs = _lookup(source, storage)
    try:
        assert _timed(third, 1.0)[0].status is PetStatus.ANALYSED
    finally:
        third_jobs.shutdown()
    assert source.fetches == 1


def test_non_her2_pet_is_ignored_and_remembered(tmp_path: Path, storage: Storage) -> None:
    fdg = replace(SPEC, variant=PhantomVariant.FDG, with_sr=False, with_seg=False, seed="pet-jobs-fdg")
    write_phantom(tmp_path / "fdg", fdg)
    source = CountingSource(FilePetSource(tmp_path / "fdg"))
    lookup, jobs = _lookup(source, storage)
    try:
        assert _timed(lookup, 30.0)[0].status is PetStatus.NONE
        ref = FilePetSource(tmp_path / "fdg").find_pet_series()[0]
        record = storage.get_analysis(ref.series_uid)
        assert record is not None
        assert record.status is AnalysisStatus.DONE
        assert _timed(lookup, 30.0)[0].status is PetStatus.NONE
        assert source.fetches == 0  # triaged by its header alone
    finally:
        jobs.shutdown()


def test_most_recent_her2_study_wins_and_imaging_study_links(tmp_path: Path, storage: Storage) -> None:
    older = replace(SPEC, seed="pet-jobs-old", injected_at=dt.datetime(2023, 5, 1, 9), with_seg=False)
    newer = replace(SPEC, seed="pet-jobs-new", injected_at=dt.datetime(2024, 9, 2, 9), with_seg=False)
    write_phantom(tmp_path / "old", older)
    write_phantom(tmp_path / "new", newer)
    lookup, jobs = _lookup(FilePetSource(tmp_path), storage)
    try:
        result, _ = _timed(lookup, 30.0)
        assert result.pet is not None
        assert result.pet.study == make_phantom(newer).pet[0].StudyInstanceUID
        # linked by ImagingStudy only (the EHR's patient id is unknown to the PACS)
        study_uid = make_phantom(older).pet[0].StudyInstanceUID
        imaging = [_study(f"urn:oid:{study_uid}")]
        by_study, _ = _timed(lookup, 30.0, patient_id="ehr-only-id", imaging=imaging)
        assert by_study.pet is not None
        assert by_study.pet.study == study_uid
    finally:
        jobs.shutdown()


def test_unlinked_patient_has_no_pet(pet_folder: Path, storage: Storage) -> None:
    lookup, jobs = _lookup(FilePetSource(pet_folder), storage)
    try:
        assert _timed(lookup, 5.0, patient_id="nobody")[0].status is PetStatus.NONE
    finally:
        jobs.shutdown()


def test_run_analysis_reads_the_folder(pet_folder: Path) -> None:
    source = FilePetSource(pet_folder)
    (ref,) = source.find_pet_series(patient_id=PATIENT)
    analysis = run_analysis(source, ref)
    assert analysis.error is None
    assert analysis.facts() is not None
