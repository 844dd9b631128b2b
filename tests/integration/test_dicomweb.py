"""DicomwebPetSource against a real Orthanc with its DICOMweb plugin: STOW-RS in, QIDO-RS and WADO-RS out."""

from __future__ import annotations

import argparse
import json
import time

import pytest
from dicomweb_client import DICOMwebClient

from cds_service.cli import pet as pet_command
from connectors.dicom.analysis import analyze_series
from connectors.dicom.factory import dicomweb_source
from connectors.dicom.phantom import PhantomSeries, PhantomSpec, make_phantom
from connectors.errors import SourceUnavailableError
from connectors.http import NO_RETRY, Timeouts
from tests.integration.orthanc import OrthancServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def phantom() -> PhantomSeries:
    return make_phantom(PhantomSpec(with_sr=True, with_seg=True, patient_id="IT-DICOMWEB"))


@pytest.fixture
def stored(orthanc: OrthancServer, phantom: PhantomSeries) -> OrthancServer:
    """The phantom's PET, SEG and SR stored with STOW-RS into an otherwise empty Orthanc."""
    orthanc.clear()
    instances = [*phantom.pet, *phantom.seg, *phantom.sr]
    for ds in instances:
        ds.preamble = b"\0" * 128  # STOW bodies are Part 10 files; WADO-RS returns them as stored
    DICOMwebClient(orthanc.dicomweb_url).store_instances(instances)
    return orthanc


def test_qido_wado_round_trip_gives_the_phantom_answers(
    stored: OrthancServer, phantom: PhantomSeries
) -> None:
    source = dicomweb_source(stored.dicomweb_url, retry=NO_RETRY)
    (ref,) = source.find_pet_series(patient_id="IT-DICOMWEB")
    assert ref.series_uid == phantom.pet[0].SeriesInstanceUID
    assert ref.instance_count == len(phantom.pet)
    assert ref.related_sr == (phantom.sr[0].SeriesInstanceUID,)
    assert ref.related_seg == (phantom.seg[0].SeriesInstanceUID,)

    header = source.fetch_header(ref)
    assert "RadiopharmaceuticalInformationSequence" in header  # QIDO cannot give it; metadata does
    pet = source.fetch_series(ref)
    sr, seg = source.fetch_related(ref)
    assert [ds.SOPInstanceUID for ds in sr] == [phantom.sr[0].SOPInstanceUID]
    assert [ds.SOPInstanceUID for ds in seg] == [phantom.seg[0].SOPInstanceUID]

    analysis = analyze_series(pet, sr=sr, seg=seg)
    assert analysis.error is None
    assert analysis.suvbw_max == pytest.approx(phantom.expected.suvbw_max, rel=1e-3)
    by_id = {lesion.lesion_id: lesion for lesion in analysis.lesions}
    for expected in phantom.expected.lesions:
        assert by_id[expected.label].suv_max == pytest.approx(expected.suv_max, rel=1e-3)
        assert by_id[expected.label].origin.value == "sr"


def test_other_patient_and_unknown_study_find_nothing(stored: OrthancServer) -> None:
    source = dicomweb_source(stored.dicomweb_url, retry=NO_RETRY)
    assert source.find_pet_series(patient_id="SOMEONE-ELSE") == []
    assert source.find_pet_series(study_uid="1.2.3.4.5.6.7") == []


def test_pet_analyze_command_over_dicomweb(
    stored: OrthancServer, phantom: PhantomSeries, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    pet_command.register(parser.add_subparsers())
    study = phantom.pet[0].StudyInstanceUID
    args = parser.parse_args(["pet", "analyze", "--dicomweb", stored.dicomweb_url, "--study", study])
    assert args.func(args) == 0
    (series,) = json.loads(capsys.readouterr().out)["series"]
    assert series["seriesInstanceUid"] == phantom.pet[0].SeriesInstanceUID
    assert series["suvbwMax"] == pytest.approx(phantom.expected.suvbw_max, rel=1e-3)
    assert series["tracer"] == "89Zr-trastuzumab"


def test_basic_auth(orthanc_factory: object, phantom: PhantomSeries) -> None:
    server: OrthancServer = orthanc_factory(users={"it": "it-secret"})  # type: ignore[operator]
    server.upload(phantom.pet[:2])
    with pytest.raises(SourceUnavailableError, match="HTTP 401"):
        dicomweb_source(server.dicomweb_url, retry=NO_RETRY).find_pet_series()
    (ref,) = dicomweb_source(server.dicomweb_url, auth=("it", "it-secret"), retry=NO_RETRY).find_pet_series()
    assert ref.instance_count == 2


def test_stopped_pacs_is_unavailable_quickly(orthanc_factory: object, phantom: PhantomSeries) -> None:
    server: OrthancServer = orthanc_factory()  # type: ignore[operator]
    server.upload(phantom.pet[:1])
    source = dicomweb_source(server.dicomweb_url, timeouts=Timeouts(connect_s=1.0, read_s=2.0))
    assert len(source.find_pet_series()) == 1
    server.stop()
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match="connection failed"):
        source.find_pet_series()
    assert time.monotonic() - started < 3.0
