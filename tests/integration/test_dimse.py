"""DimsePetSource against a real Orthanc: C-FIND, C-GET and C-MOVE of a phantom with its SR and SEG."""

from __future__ import annotations

import time

import pytest

from connectors.dicom.analysis import analyze_series
from connectors.dicom.dimse import DimsePetSource, MoveDestination, RetrieveMethod
from connectors.dicom.phantom import PhantomSeries, PhantomSpec, make_phantom
from connectors.errors import SourceUnavailableError
from connectors.http import Timeouts
from tests.integration.orthanc import CDS_AET, OrthancServer

pytestmark = pytest.mark.integration

TIMEOUTS = Timeouts(connect_s=2.0, read_s=10.0)


@pytest.fixture(scope="module")
def phantom() -> PhantomSeries:
    return make_phantom(PhantomSpec(with_sr=True, with_seg=True, patient_id="IT-DIMSE"))


@pytest.fixture
def stored(orthanc: OrthancServer, phantom: PhantomSeries) -> OrthancServer:
    orthanc.clear()
    orthanc.upload([*phantom.pet, *phantom.seg, *phantom.sr])
    return orthanc


def _source(server: OrthancServer, method: RetrieveMethod, calling: str = CDS_AET) -> DimsePetSource:
    move = MoveDestination(ae_title=server.move_aet, port=server.move_port)
    port = server.dicom_port
    return DimsePetSource(calling, server.aet, "127.0.0.1", port, TIMEOUTS, move, retrieve=method)


@pytest.mark.parametrize("method", [RetrieveMethod.GET, RetrieveMethod.MOVE])
def test_find_and_retrieve_give_the_phantom_answers(
    stored: OrthancServer, phantom: PhantomSeries, method: RetrieveMethod
) -> None:
    source = _source(stored, method)
    (ref,) = source.find_pet_series(patient_id="IT-DIMSE")
    assert ref.series_uid == phantom.pet[0].SeriesInstanceUID
    assert ref.instance_count == len(phantom.pet)
    assert ref.related_sr == (phantom.sr[0].SeriesInstanceUID,)
    assert ref.related_seg == (phantom.seg[0].SeriesInstanceUID,)

    pet = source.fetch_series(ref)
    assert len(pet) == len(phantom.pet)
    header = source.fetch_header(ref)
    assert "RadiopharmaceuticalInformationSequence" in header
    assert "PixelData" not in header
    sr, seg = source.fetch_related(ref)
    assert [ds.SOPInstanceUID for ds in sr] == [phantom.sr[0].SOPInstanceUID]
    assert [ds.SOPInstanceUID for ds in seg] == [phantom.seg[0].SOPInstanceUID]

    analysis = analyze_series(pet, sr=sr, seg=seg)
    assert analysis.error is None
    assert analysis.suvbw_max == pytest.approx(phantom.expected.suvbw_max, rel=1e-3)
    calls = {lesion.lesion_id: lesion.reader_call.value for lesion in analysis.lesions}
    assert calls == {e.label: ("avid" if e.avid else "non_avid") for e in phantom.expected.lesions}


def test_find_by_study_uid(stored: OrthancServer, phantom: PhantomSeries) -> None:
    source = _source(stored, RetrieveMethod.GET)
    assert len(source.find_pet_series(study_uid=phantom.pet[0].StudyInstanceUID)) == 1
    assert source.find_pet_series(patient_id="NOBODY") == []


def test_unregistered_calling_aet_is_refused(stored: OrthancServer) -> None:
    with pytest.raises(SourceUnavailableError, match=r"rejected|no valid response"):
        _source(stored, RetrieveMethod.GET, calling="STRANGER").find_pet_series()


def test_wrong_called_aet_is_rejected(stored: OrthancServer) -> None:
    # Orthanc answers A-ASSOCIATE-RJ and closes the socket; on a busy machine the close can reach pynetdicom
    # before the rejection is processed, which it reports as an abort. Either is the PACS refusing us.
    source = DimsePetSource(CDS_AET, "NOTORTHANC", "127.0.0.1", stored.dicom_port, TIMEOUTS)
    with pytest.raises(SourceUnavailableError, match=r"association (rejected|aborted)"):
        source.find_pet_series()


def test_stopped_pacs_is_unavailable_quickly(orthanc_factory: object, phantom: PhantomSeries) -> None:
    server: OrthancServer = orthanc_factory()  # type: ignore[operator]
    server.upload(phantom.pet[:1])
    source = _source(server, RetrieveMethod.GET)
    assert len(source.find_pet_series()) == 1
    server.stop()
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError, match="association"):
        source.find_pet_series()
    assert time.monotonic() - started < 3.0
