"""SEG and TID 1500 SR objects for the synthetic phantom, written with highdicom.

The SEG holds one BINARY segment per lesion (category Morphologically Abnormal Structure SCT 49755003, type
Lesion SCT 52988006, with tracking identifier and UID), plus the liver (SCT 10200004) and the descending aorta
blood pool (SCT 281130003). The SR follows the convention of ``docs/reader-sr-convention.md``: one measurement
group per lesion with SUVbw maximum and the reader's HER2-uptake call (99HER2CDS), and one group each for the
liver and blood pool with their SUVbw mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

if TYPE_CHECKING:
    from connectors.dicom.phantom import ExpectedLesion, PhantomSpec

UidMaker = Callable[..., str]

PRIVATE_SCHEME = "99HER2CDS"
UPTAKE_NAME = hd.sr.CodedConcept("her2-uptake", PRIVATE_SCHEME, "HER2-targeted tracer uptake")
CALLS = {
    True: hd.sr.CodedConcept("avid", PRIVATE_SCHEME, "Avid"),
    False: hd.sr.CodedConcept("non-avid", PRIVATE_SCHEME, "Non-avid"),
    None: hd.sr.CodedConcept("equivocal", PRIVATE_SCHEME, "Equivocal"),
}
SUVBW_UNIT = hd.sr.CodedConcept("{SUVbw}g/ml", "UCUM", "Standardized Uptake Value body weight")
ABNORMAL = hd.sr.CodedConcept("49755003", "SCT", "Morphologically Abnormal Structure")
ANATOMY = hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure")
LESION = hd.sr.CodedConcept("52988006", "SCT", "Lesion")
LIVER = hd.sr.CodedConcept("10200004", "SCT", "Liver")
AORTA = hd.sr.CodedConcept("281130003", "SCT", "Descending aorta")


def _segments(spec: PhantomSpec, uid: UidMaker) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for number, lesion in enumerate(spec.lesions, start=1):
        regions = [LIVER] if lesion.hepatic else [hd.sr.CodedConcept(*lesion.site)]
        out.append(
            (
                lesion.label,
                hd.seg.SegmentDescription(
                    segment_number=number,
                    segment_label=lesion.label,
                    segmented_property_category=ABNORMAL,
                    segmented_property_type=LESION,
                    algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                    tracking_uid=uid(spec, "tracking", lesion.label),
                    tracking_id=lesion.label,
                    anatomic_regions=regions,
                ),
            )
        )
    base = len(spec.lesions)
    for offset, (name, concept) in enumerate((("liver", LIVER), ("aorta", AORTA)), start=1):
        out.append(
            (
                name,
                hd.seg.SegmentDescription(
                    segment_number=base + offset,
                    segment_label=concept.meaning,
                    segmented_property_category=ANATOMY,
                    segmented_property_type=concept,
                    algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                ),
            )
        )
    return out


def make_seg(
    spec: PhantomSpec,
    pet: Sequence[Dataset],
    masks: dict[str, np.ndarray],
    uid: UidMaker,
) -> Dataset:
    """A BINARY SEG of the lesions, liver and blood pool over the phantom's PET instances."""
    described = _segments(spec, uid)
    pixels = np.stack([masks[name] for name, _ in described], axis=-1).astype(np.uint8)
    seg = hd.seg.Segmentation(
        source_images=list(pet),
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[d for _, d in described],
        series_instance_uid=uid(spec, "seg-series"),
        series_number=2,
        sop_instance_uid=uid(spec, "seg"),
        instance_number=1,
        manufacturer="her2-pet-cds phantom",
        manufacturer_model_name="phantom",
        software_versions="1",
        device_serial_number="1",
    )
    result: Dataset = seg
    return result


def _group(
    spec: PhantomSpec,
    uid: UidMaker,
    seg: Dataset | None,
    number: int,
    label: str,
    finding: Any,
    site: Any,
    measurement: Any,
    evaluation: Any | None,
) -> Any:
    tracking = hd.sr.TrackingIdentifier(uid=uid(spec, "tracking", label), identifier=label)
    common: dict[str, Any] = {
        "tracking_identifier": tracking,
        "finding_type": finding,
        "finding_sites": [hd.sr.FindingSite(site)] if site is not None else None,
        "measurements": [measurement],
        "qualitative_evaluations": [evaluation] if evaluation is not None else None,
    }
    if seg is None:
        return hd.sr.MeasurementsAndQualitativeEvaluations(**common)
    referenced = hd.sr.ReferencedSegment(
        sop_class_uid=seg.SOPClassUID,
        sop_instance_uid=seg.SOPInstanceUID,
        segment_number=number,
        source_series=hd.sr.SourceSeriesForSegmentation(seg.ReferencedSeriesSequence[0].SeriesInstanceUID),
    )
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(referenced_segment=referenced, **common)


def make_sr(
    spec: PhantomSpec,
    pet: Sequence[Dataset],
    seg: Sequence[Dataset],
    uid: UidMaker,
    expected: Sequence[ExpectedLesion],
) -> Dataset:
    """A Comprehensive 3D SR TID 1500 report of the reader's lesion reads and reference regions."""
    seg_ds = seg[0] if seg else None
    groups = []
    for number, (lesion, truth) in enumerate(zip(spec.lesions, expected, strict=True), start=1):
        measurement = hd.sr.Measurement(
            name=codes.DCM.Suvbw, value=round(truth.suv_max, 3), unit=SUVBW_UNIT, derivation=codes.SCT.Maximum
        )
        evaluation = hd.sr.QualitativeEvaluation(name=UPTAKE_NAME, value=CALLS[lesion.avid])
        site = LIVER if lesion.hepatic else hd.sr.CodedConcept(*lesion.site)
        groups.append(_group(spec, uid, seg_ds, number, lesion.label, LESION, site, measurement, evaluation))
    base = len(spec.lesions)
    for offset, (label, concept, value) in enumerate(
        (("liver", LIVER, spec.liver_suv), ("blood-pool", AORTA, spec.blood_pool_suv)), start=1
    ):
        measurement = hd.sr.Measurement(
            name=codes.DCM.Suvbw, value=value, unit=SUVBW_UNIT, derivation=codes.SCT.Mean
        )
        groups.append(_group(spec, uid, seg_ds, base + offset, label, concept, None, measurement, None))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name="Reader^Phantom"),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=observer),
        procedure_reported=hd.sr.CodedConcept("82918005", "SCT", "PET whole body"),
        imaging_measurements=groups,
    )
    evidence = [*pet, *seg]
    sr = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=report,
        series_instance_uid=uid(spec, "sr-series"),
        series_number=3,
        sop_instance_uid=uid(spec, "sr"),
        instance_number=1,
        manufacturer="her2-pet-cds phantom",
        is_complete=True,
        is_final=True,
    )
    scheme = Dataset()
    scheme.CodingSchemeDesignator = PRIVATE_SCHEME
    scheme.CodingSchemeName = "her2-pet-cds PET read codes"
    scheme.CodingSchemeResponsibleOrganization = "her2-pet-cds"
    sr.CodingSchemeIdentificationSequence = [scheme]
    result: Dataset = sr
    return result
