"""One reading of the series an SR or SEG instance describes, two questions with distinct answers."""

from __future__ import annotations

from pydicom import Dataset
from pydicom.sequence import Sequence

from connectors.dicom.series_refs import series_references
from tests.unit.connectors.dicom.builders import pet_series, seg_header, sr_header, uid


def test_an_sr_naming_the_series_in_its_evidence() -> None:
    pet = pet_series(1)[0]
    refs = series_references(sr_header(pet))
    assert refs.names(pet.SeriesInstanceUID)
    assert refs.may_describe(pet.SeriesInstanceUID)
    assert not refs.names(uid())
    assert not refs.may_describe(uid())


def test_an_instance_stating_no_series_may_describe_any_but_names_none() -> None:
    pet = pet_series(1)[0]
    sr = sr_header(pet)
    del sr.CurrentRequestedProcedureEvidenceSequence
    refs = series_references(sr)
    assert not refs.stated
    assert refs.may_describe(pet.SeriesInstanceUID)
    assert not refs.names(pet.SeriesInstanceUID)


def test_a_seg_of_another_series_neither_names_nor_may_describe() -> None:
    pet = pet_series(1)[0]
    refs = series_references(seg_header(pet, references=[uid()]))
    assert refs.stated
    assert not refs.may_describe(pet.SeriesInstanceUID)


def test_a_uidref_content_item_names_the_series() -> None:
    pet = pet_series(1)[0]
    sr = sr_header(pet, references=[uid()])
    source = Dataset()
    source.ValueType = "UIDREF"
    source.UID = pet.SeriesInstanceUID
    group = Dataset()
    group.ValueType = "CONTAINER"
    group.ContentSequence = Sequence([source])
    sr.ContentSequence = Sequence([group])
    refs = series_references(sr)
    assert refs.names(pet.SeriesInstanceUID)
    assert refs.may_describe(pet.SeriesInstanceUID)
