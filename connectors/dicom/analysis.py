"""The PET analysis entry point: one series' datasets (+ its SR and SEG) → ``SeriesAnalysis``.

Transports (files, DICOMweb, DIMSE, the C-STORE receiver) fetch the instances and call ``analyze_series``; the
result renders as the JSON of ``her2-cds pet analyze`` (issue 3 item 6) and as ``rules.domain.PetStudyFacts``.

Order of trust for lesions (spec/pet-dicom.md §9): the reader's TID 1500 reports first (matched to SEG
segments by referenced segment, tracking UID or tracking identifier, which adds SUVpeak, SUVmean and volume
measured on our SUV volume); else SEG lesion segments; else automated candidates, labelled automated and
unconfirmed (avid null). A series whose SUV cannot be computed gets ``error`` naming what is missing and no
SUVs: never an exception.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from connectors.dicom.headers import calibration_from_datasets, is_pet, recognise_tracer
from connectors.dicom.seg import SegmentKind, SegReads, read_segmentations
from connectors.dicom.sr import LesionRead, SrReads, read_measurement_reports, snomed_code
from connectors.dicom.values import first_item, number, parse_dt, text
from connectors.dicom.volume import sort_instances, stack_slices
from connectors.errors import InvalidSourceDataError
from connectors.pet.facts import build_facts, series_source
from connectors.pet.lesions import LesionDetector, ThresholdDetector, label_candidates, measure, overlaps
from connectors.pet.picture import LesionMark, mip_png
from connectors.pet.references import body_background_suv, pick, reference_from_mask
from connectors.pet.suv import suvbw_volume
from connectors.pet.types import LesionMask, PetVolume, ReferenceMeasurement, ReferenceRegion
from rules.domain import LesionOrigin, LesionSite, PetLesion, PetStudyFacts, ReaderCall, SourceRef, Tracer

BACKGROUND_DETECTOR = ThresholdDetector(factor=3.0)
"""Detector used when no blood-pool reference exists: 3 × the body-background median SUV."""

_SUV_DISAGREEMENT = 0.05

LIVER_SNOMED = "10200004"
"""SNOMED CT Liver structure: the coded site of an automated candidate inside the segmented liver."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class SeriesAnalysis:
    """The analysis of one PET series. ``error`` is set (and SUVs are None) when SUV cannot be computed or the
    series is not a HER2 PET series; ``volume`` and ``masks`` (lesion masks in lesion order, None where a
    lesion has none) feed the MIP picture."""

    study_uid: str | None
    series_uid: str | None
    patient_id: str | None
    tracer: Tracer | None = None
    radionuclide: str | None = None
    half_life_s: float | None = None
    injected_at: dt.datetime | None = None
    acquired_at: dt.datetime | None = None
    uptake_h: float | None = None
    suvbw_max: float | None = None
    lesions: tuple[PetLesion, ...] = ()
    references: tuple[ReferenceMeasurement, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    volume: PetVolume | None = None
    masks: tuple[LesionMask | None, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The per-series object of ``her2-cds pet analyze`` (issue 3 item 6)."""
        return {
            "studyInstanceUid": self.study_uid,
            "seriesInstanceUid": self.series_uid,
            "patientId": self.patient_id,
            "tracer": self.tracer.value if self.tracer else None,
            "radionuclide": self.radionuclide,
            "halfLifeSeconds": self.half_life_s,
            "injectionDateTime": self.injected_at.isoformat() if self.injected_at else None,
            "uptakeHours": _round(self.uptake_h, 3),
            "suvbwMax": _round(self.suvbw_max, 4),
            "lesions": [_lesion_json(lesion) for lesion in self.lesions],
            "warnings": list(self.warnings),
            "error": self.error,
        }

    def picture(self, *, suv_window: float | None = None) -> bytes | None:
        """The coronal MIP PNG with the lesions marked at their SUVmax voxel; None without a volume."""
        if self.volume is None:
            return None
        marks = [
            LesionMark(
                label=lesion.lesion_id,
                index=measure(self.volume, mask, peak=False).max_index,
                call=lesion.reader_call,
            )
            for lesion, mask in zip(self.lesions, self.masks, strict=False)
            if mask is not None
        ]
        return mip_png(self.volume, marks, suv_window=suv_window)

    def facts(self) -> PetStudyFacts | None:
        """PET facts for the rules; None when the series is not a recognised HER2 PET series."""
        if self.tracer is None or self.study_uid is None or self.series_uid is None:
            return None
        caveats = [*self.warnings, *([self.error] if self.error else [])]
        return build_facts(
            study_uid=self.study_uid,
            series_uid=self.series_uid,
            tracer=self.tracer,
            injected_at=self.injected_at,
            acquired_at=self.acquired_at,
            uptake_h=self.uptake_h,
            lesions=self.lesions,
            references=self.references,
            suvbw_max=self.suvbw_max,
            caveats=caveats,
        )


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _lesion_json(lesion: PetLesion) -> dict[str, Any]:
    avid = {ReaderCall.AVID: True, ReaderCall.NON_AVID: False}.get(lesion.reader_call)
    return {
        "id": lesion.lesion_id,
        "source": lesion.origin.value,
        "site": lesion.site.value,
        "suvMax": _round(lesion.suv_max, 4),
        "suvPeak": _round(lesion.suv_peak, 4),
        "avid": avid,
    }


def analyze_series(
    pet: Sequence[Dataset],
    *,
    sr: Sequence[Dataset] = (),
    seg: Sequence[Dataset] = (),
    injected_at: dt.datetime | None = None,
    lenient_units: bool = False,
    detector: LesionDetector | None = None,
) -> SeriesAnalysis:
    """Analyse one PET series. Never raises for data problems: they become ``error`` or ``warnings``.

    ``injected_at`` is an injection datetime from another source (recorded as a caveat); ``lenient_units``
    applies the IBSI unit corrections (reference objects only); ``detector`` replaces the default threshold
    detector.
    """
    images = [ds for ds in pet if is_pet(ds)]
    if not images:
        return SeriesAnalysis(study_uid=None, series_uid=None, patient_id=None, error="no PET instances")
    first = images[0]
    ids: dict[str, Any] = {
        "study_uid": text(first.get("StudyInstanceUID")),
        "series_uid": text(first.get("SeriesInstanceUID")),
        "patient_id": text(first.get("PatientID")),
    }
    if len({text(ds.get("SeriesInstanceUID")) for ds in images}) > 1:
        return SeriesAnalysis(**ids, error="instances of more than one series were given")
    recognition = recognise_tracer(first)
    nuclide = recognition.radionuclide.value if recognition.radionuclide else None
    if recognition.tracer is None:
        return SeriesAnalysis(**ids, radionuclide=nuclide, error=recognition.skip_reason)
    base: dict[str, Any] = {**ids, "tracer": recognition.tracer, "radionuclide": nuclide}
    warnings = list(recognition.caveats)
    sr_reads = read_measurement_reports(sr, ids["series_uid"]) if sr else SrReads()
    warnings.extend(sr_reads.warnings)
    try:
        ordered = sort_instances(images)
        calibration, caveats = calibration_from_datasets(
            ordered, lenient_units=lenient_units, injected_at_external=injected_at
        )
        raw, notes = stack_slices(ordered)
        volume, conversion = suvbw_volume(raw, calibration)
    except InvalidSourceDataError as exc:
        unmeasured = tuple(_sr_lesion(read, None, None, warnings, base) for read in sr_reads.lesions)
        half_life, injected = _header_times(first)
        return SeriesAnalysis(
            **base,
            half_life_s=half_life,
            injected_at=injected,
            lesions=unmeasured,
            warnings=tuple(warnings),
            error=str(exc),
        )
    warnings.extend((*caveats, *notes, *conversion.caveats))
    seg_reads = read_segmentations(seg, volume) if seg else SegReads()
    warnings.extend(seg_reads.warnings)
    references = _references(volume, sr_reads, seg_reads)
    lesions, masks = _lesions(volume, sr_reads, seg_reads, references, detector, warnings, base)
    return SeriesAnalysis(
        **base,
        half_life_s=calibration.half_life_s,
        injected_at=conversion.injected_at,
        acquired_at=calibration.earliest_acquisition,
        uptake_h=conversion.uptake_h,
        suvbw_max=float(np.max(volume.suv)),
        lesions=tuple(lesions),
        references=tuple(references),
        warnings=tuple(warnings),
        volume=volume,
        masks=tuple(masks),
    )


def _header_times(ds: Dataset) -> tuple[float | None, dt.datetime | None]:
    """Half-life and RadiopharmaceuticalStartDateTime as stated, for the report of a refused series."""
    info = first_item(ds, "RadiopharmaceuticalInformationSequence")
    if info is None:
        return None, None
    injected = parse_dt(
        info.get("RadiopharmaceuticalStartDateTime"), local_offset=ds.get("TimezoneOffsetFromUTC")
    )
    return number(info.get("RadionuclideHalfLife")), injected


def _references(volume: PetVolume, sr_reads: SrReads, seg_reads: SegReads) -> list[ReferenceMeasurement]:
    references = list(sr_reads.references)
    for kind, region in (
        (SegmentKind.BLOOD_POOL, ReferenceRegion.BLOOD_POOL),
        (SegmentKind.LIVER, ReferenceRegion.LIVER),
    ):
        for segment in seg_reads.by_kind(kind):
            assert segment.mask is not None
            references.append(
                reference_from_mask(
                    volume, segment.mask, region, f"SEG segment {segment.number} '{segment.label}'"
                )
            )
    return references


def _source(base: dict[str, Any], instance: str | None = None) -> SourceRef:
    ref = series_source(base["study_uid"] or "unknown", base["series_uid"] or "unknown")
    return (
        ref
        if instance is None
        else SourceRef(system="dicom", reference=f"{ref.reference}/instances/{instance}")
    )


def _sr_lesion(
    read: LesionRead,
    volume: PetVolume | None,
    mask: LesionMask | None,
    warnings: list[str],
    base: dict[str, Any],
) -> PetLesion:
    """A reader lesion; SUVs are measured on our volume when a matching segment exists, else taken from the SR
    (and dropped when our SUV could not be computed)."""
    suv_max, suv_peak, suv_mean, volume_ml = read.suv_max, read.suv_peak, read.suv_mean, read.volume_ml
    if volume is None:
        suv_max = suv_peak = suv_mean = None
    elif mask is not None:
        m = measure(volume, mask)
        if read.suv_max is not None and abs(read.suv_max - m.suv_max) > _SUV_DISAGREEMENT * m.suv_max:
            warnings.append(
                f"lesion {read.tracking_id}: reader SUVmax {read.suv_max:.2f} differs from "
                f"measured {m.suv_max:.2f}"
            )
        suv_max, suv_peak, suv_mean, volume_ml = m.suv_max, m.suv_peak, m.suv_mean, m.volume_ml
    if read.equivocal:
        warnings.append(f"lesion {read.tracking_id}: reader called uptake equivocal")
    return PetLesion(
        lesion_id=read.tracking_id,
        site=read.site,
        site_text=read.site_text,
        site_code=read.site_code,
        reader_suv_max=read.suv_max,
        reader_call=read.reader_call,
        origin=LesionOrigin.READER_SR,
        suv_max=suv_max,
        suv_peak=suv_peak,
        suv_mean=suv_mean,
        volume_ml=volume_ml,
        source=_source(base, read.sr_instance_uid),
    )


def _match_segment(read: LesionRead, seg_reads: SegReads) -> LesionMask | None:
    candidates = seg_reads.lesions()
    if read.segment is not None:
        found = seg_reads.find(*read.segment)
        if found is not None:
            return found.mask
    for segment in candidates:
        if read.tracking_uid and segment.tracking_uid == read.tracking_uid:
            return segment.mask
    for segment in candidates:
        if segment.tracking_id and segment.tracking_id == read.tracking_id:
            return segment.mask
    return None


def _site_from_mask(mask: LesionMask, liver: np.ndarray | None, site_text: str | None) -> LesionSite:
    text_value = (site_text or "").lower()
    if "liver" in text_value or "hepat" in text_value:
        return LesionSite.HEPATIC
    if site_text:
        return LesionSite.NON_HEPATIC
    if liver is not None:
        return LesionSite.HEPATIC if overlaps(mask, liver) else LesionSite.NON_HEPATIC
    return LesionSite.UNKNOWN


def _lesions(
    volume: PetVolume,
    sr_reads: SrReads,
    seg_reads: SegReads,
    references: list[ReferenceMeasurement],
    detector: LesionDetector | None,
    warnings: list[str],
    base: dict[str, Any],
) -> tuple[list[PetLesion], list[LesionMask | None]]:
    liver_segments = seg_reads.by_kind(SegmentKind.LIVER)
    liver = (
        liver_segments[0].mask.full(volume.suv.shape) if liver_segments and liver_segments[0].mask else None
    )
    if sr_reads.lesions:
        masks = [_match_segment(read, seg_reads) for read in sr_reads.lesions]
        lesions = [
            _sr_lesion(r, volume, m, warnings, base) for r, m in zip(sr_reads.lesions, masks, strict=True)
        ]
        return lesions, list(masks)
    segments = seg_reads.lesions()
    if segments:
        out = []
        for segment in segments:
            assert segment.mask is not None
            m = measure(volume, segment.mask)
            out.append(
                PetLesion(
                    lesion_id=segment.tracking_id or segment.label,
                    site=_site_from_mask(segment.mask, liver, segment.site_text),
                    site_text=segment.site_text,
                    site_code=snomed_code(segment.site_code),
                    origin=LesionOrigin.SEG,
                    suv_max=m.suv_max,
                    suv_peak=m.suv_peak,
                    suv_mean=m.suv_mean,
                    volume_ml=m.volume_ml,
                    source=_source(base, segment.seg_instance_uid),
                )
            )
        return out, [s.mask for s in segments]
    return _automated(volume, seg_reads, references, detector, liver, warnings, base)


def _automated(
    volume: PetVolume,
    seg_reads: SegReads,
    references: list[ReferenceMeasurement],
    detector: LesionDetector | None,
    liver: np.ndarray | None,
    warnings: list[str],
    base: dict[str, Any],
) -> tuple[list[PetLesion], list[LesionMask | None]]:
    blood = pick(references, ReferenceRegion.BLOOD_POOL)
    exclude = None
    for segment in seg_reads.by_kind(SegmentKind.BLOOD_POOL):
        assert segment.mask is not None
        full = segment.mask.full(volume.suv.shape)
        exclude = full if exclude is None else exclude | full
    if blood is not None:
        chosen: LesionDetector = detector or ThresholdDetector()
        reference = blood.suv_mean
    else:
        chosen = detector or BACKGROUND_DETECTOR
        reference = body_background_suv(volume)
        warnings.append("automated candidates relative to the body background (no blood-pool reference)")
    if reference <= 0:
        warnings.append("no automated candidates: empty volume")
        return [], []
    masks = label_candidates(chosen.detect(volume, reference_suv=reference, exclude=exclude))
    if masks:
        warnings.append(f"{len(masks)} automated candidate(s): unconfirmed, not reader findings")
    lesions = []
    for mask in masks:
        m = measure(volume, mask)
        site = _site_from_mask(mask, liver, None)
        lesions.append(
            PetLesion(
                lesion_id=mask.label,
                site=site,
                site_code=LIVER_SNOMED if site is LesionSite.HEPATIC else None,
                origin=LesionOrigin.AUTOMATED,
                suv_max=m.suv_max,
                suv_peak=m.suv_peak,
                suv_mean=m.suv_mean,
                volume_ml=m.volume_ml,
                source=_source(base),
            )
        )
    return lesions, list(masks)
