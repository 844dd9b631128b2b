"""A synthetic paired cohort with known answers, for the tests and ``her2-cds cohort --demo``.

It mirrors the published series (Yeh et al., J Nucl Med 2025;66:873): per tracer, 89Zr-trastuzumab 3
HER2-positive / 6 HER2-low, 89Zr-pertuzumab 2 / 5, 89Zr-ss-pertuzumab 1 / 5 / 2 HER2-0, one patient per
biopsied lesion. The biopsied lesions' SUVmax values are drawn (seeded log-normal) and then shifted and
scaled within each category so that the sample median and IQR (``numpy.percentile``, linear) equal the
published ones, HER2-low 12.7 (IQR 8.05) and HER2-positive 6.4 (IQR 1.98), to the 0.001 rounding of the
reader's SR; the HER2-0 values (not published) are illustrative. Each patient is a small phantom PET series
(``connectors.dicom.phantom``) with the reader's SR and/or a SEG, and a FHIR chart (Patient, Specimen,
DiagnosticReport, HER2 Observations) whose coded body site is the biopsied lesion's.

Distractors that must be left out, each with its reason: a biopsy outside the 60-day window, an FDG-only
PET, a biopsied site without a PET lesion, no HER2 result, an equivocal and an unscored HER2 result, a PET
without reader reads (automated candidates carry no coded site), and a PET patient absent from FHIR; one
paired patient also has an older biopsy outside the window.

Every name, identifier and date is invented; nothing here reads a clock or the environment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Final

import numpy as np
from pydicom import Dataset

from cds_service.cohort.model import CohortCategory
from connectors.dicom.phantom import PhantomLesion, PhantomSpec, PhantomVariant, make_phantom, write_phantom
from rules.domain import LesionOrigin, Tracer

PAPER_COUNTS: Final[dict[Tracer, dict[CohortCategory, int]]] = {
    Tracer.ZR89_TRASTUZUMAB: {CohortCategory.POSITIVE: 3, CohortCategory.LOW: 6, CohortCategory.ZERO: 0},
    Tracer.ZR89_PERTUZUMAB: {CohortCategory.POSITIVE: 2, CohortCategory.LOW: 5, CohortCategory.ZERO: 0},
    Tracer.ZR89_SS_PERTUZUMAB: {CohortCategory.POSITIVE: 1, CohortCategory.LOW: 5, CohortCategory.ZERO: 2},
}
"""Biopsied lesions per tracer and category in the published series."""

SUVMAX_TARGETS: Final[dict[CohortCategory, tuple[float, float]]] = {
    CohortCategory.POSITIVE: (6.4, 1.98),
    CohortCategory.LOW: (12.7, 8.05),
    CohortCategory.ZERO: (4.0, 1.2),
}
"""(median, IQR) of SUVmax per category: published for HER2-positive and HER2-low, illustrative for HER2-0."""

_VARIANTS: Final[dict[Tracer, PhantomVariant]] = {
    Tracer.ZR89_TRASTUZUMAB: PhantomVariant.TRASTUZUMAB,
    Tracer.ZR89_PERTUZUMAB: PhantomVariant.PERTUZUMAB,
    Tracer.ZR89_SS_PERTUZUMAB: PhantomVariant.SS_PERTUZUMAB,
}
SHAPE: Final = (12, 32, 32)
"""Phantom size (slices, rows, columns) at 4 mm: small, so a whole cohort loads into a PACS in seconds."""
LIVER_SUV: Final = 1.5
BLOOD_POOL_SUV: Final = 1.4
"""Reference-region SUVs at or below the smallest lesion SUVmax drawn (1.5), so no lesion is colder than its
surroundings and SUVpeak never exceeds SUVmax."""
FIRST_PET: Final = dt.date(2023, 1, 9)
MRN_SYSTEM: Final = "urn:oid:2.16.840.1.113883.3.9999.13"
"""An invented identifier system for the synthetic medical record numbers (= DICOM PatientID)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """A SNOMED CT body structure with a voxel centre (z, y, x) in the phantom for its lesion."""

    code: str
    meaning: str
    centre: tuple[int, int, int]


SITES: Final = (
    Site(code="59441001", meaning="Lymph node structure", centre=(3, 11, 24)),
    Site(code="10200004", meaning="Liver structure", centre=(6, 15, 9)),
    Site(code="3138006", meaning="Bone structure", centre=(3, 22, 23)),
    Site(code="39607008", meaning="Lung structure", centre=(9, 10, 24)),
    Site(code="76752008", meaning="Breast structure", centre=(6, 17, 26)),
)
"""Biopsy and lesion sites; the centres lie in the phantom's body, apart from each other, and outside the
liver and the aorta (except the liver lesion), so each lesion's surroundings are background."""
LIVER: Final = SITES[1]


class Her2Spec(StrEnum):
    """What a synthetic pathology report says about HER2 (and what the rules engine makes of it)."""

    IHC3 = "ihc3"  # HER2-positive
    IHC2_AMPLIFIED = "ihc2-ish-amplified"  # HER2-positive, ISH group 1
    IHC1 = "ihc1"  # HER2-low
    IHC2_NOT_AMPLIFIED = "ihc2-ish-not-amplified"  # HER2-low, ISH group 5
    IHC0_ULTRALOW = "ihc0-ultralow"  # HER2-ultralow → HER2-0
    IHC0_NULL = "ihc0-null"  # HER2-null → HER2-0
    IHC2_ISH_PENDING = "ihc2-ish-pending"  # equivocal: left out
    NEGATIVE_UNSCORED = "negative-unscored"  # unscored: left out
    NONE = "none"  # ER only: no HER2 result


class Distractor(StrEnum):
    """Patients or biopsies that a correct tool leaves out; the value is a fragment of the expected reason."""

    OUTSIDE_WINDOW = "days from the biopsy"
    FDG_ONLY = "no HER2-targeted PET series"
    SITE_WITHOUT_LESION = "no PET lesion coded at the biopsied site"
    NO_HER2 = "no HER2 result on file"
    EQUIVOCAL = "HER2 equivocal"
    UNSCORED = "unscored"
    NO_READER_LESIONS = "without a coded site not paired"
    NOT_IN_FHIR = "no FHIR Patient"


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticBiopsy:
    """One biopsy: collection date, coded site (None: not coded), HER2 report, and whether the site is coded
    on the DiagnosticReport (``bodySite`` extension) rather than on the Specimen."""

    collected: dt.date
    site: Site | None
    her2: Her2Spec
    site_on_report: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticPatient:
    """One synthetic patient: identity (invented), PET phantom (None: no PET), biopsies, FHIR presence."""

    number: int
    given: str
    family: str
    birth_date: dt.date
    pet: PhantomSpec | None
    biopsies: tuple[SyntheticBiopsy, ...]
    in_fhir: bool = True
    distractor: Distractor | None = None

    @property
    def fhir_id(self) -> str:
        return f"cohort-{self.number:03d}"

    @property
    def mrn(self) -> str:
        """Medical record number = DICOM PatientID."""
        return f"COH-{self.number:04d}"

    @property
    def folder(self) -> str:
        """The folder name of the patient's DICOM files (no identifier in it)."""
        return f"p{self.number:03d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedRow:
    """The row ``lesions.csv`` must hold for one paired biopsy (``mrn`` instead of the key)."""

    mrn: str
    tracer: Tracer
    pet_date: dt.date
    biopsy_date: dt.date
    site: str
    category: CohortCategory
    ihc_score: str
    ish_group: int | None
    suvmax: float
    lesion_source: LesionOrigin


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticCohort:
    """The patients, the rows a correct analysis yields, and the exclusions it must list (MRN, reason)."""

    patients: tuple[SyntheticPatient, ...]
    expected: tuple[ExpectedRow, ...]
    exclusions: tuple[tuple[str, Distractor], ...] = field(default=())

    def counts(self) -> dict[str, dict[str, int]]:
        """Expected lesions per tracer and category (the shape of ``summary.json`` ``counts``)."""
        out: dict[str, dict[str, int]] = {}
        for row in self.expected:
            per = out.setdefault(row.tracer.value, {c.value: 0 for c in CohortCategory})
            per[row.category.value] += 1
        return out


_GIVEN: Final = (
    "Marisol", "Henrike", "Odalys", "Ingeborg", "Ysolde", "Theodora", "Perpetua", "Wilhelmina", "Zenobia",
    "Leocadia", "Rosalind", "Ottilie", "Seraphine", "Ermengarde", "Gwendolyn", "Philippa",
)  # fmt: skip
_FAMILY: Final = (
    "Quenneville", "Abernathy", "Strzelecki", "Vandermolen", "Oyelaran", "Kristiansen", "Thistlewood",
    "Marchetti", "Haverkamp", "Delacroix-Byrne", "Nakashima", "Fairweather", "Lindqvist", "Montgomerie",
)  # fmt: skip


def matched_draws(rng: np.random.Generator, n: int, median: float, iqr: float) -> list[float]:
    """``n`` log-normal draws shifted and scaled so that their median and IQR are ``median`` and ``iqr``
    (linear percentiles), rounded to 0.001; redrawn until every value is at least 1.5 (a visible lesion)."""
    for _attempt in range(1000):
        raw = rng.lognormal(0.0, 0.4, size=n)
        q1, centre, q3 = np.percentile(raw, [25.0, 50.0, 75.0])
        if q3 <= q1:
            continue
        values = [round(float(median + (v - centre) * iqr / (q3 - q1)), 3) for v in raw]
        if min(values) >= 1.5:
            return values
    raise RuntimeError("no draw satisfied the constraints")  # pragma: no cover - 1000 tries


def _her2_for(category: CohortCategory, index: int) -> Her2Spec:
    if category is CohortCategory.POSITIVE:
        return Her2Spec.IHC3 if index % 2 == 0 else Her2Spec.IHC2_AMPLIFIED
    if category is CohortCategory.LOW:
        return Her2Spec.IHC1 if index % 2 == 0 else Her2Spec.IHC2_NOT_AMPLIFIED
    return Her2Spec.IHC0_ULTRALOW if index % 2 == 0 else Her2Spec.IHC0_NULL


EXPECTED_IHC: Final[dict[Her2Spec, tuple[str, int | None]]] = {
    Her2Spec.IHC3: ("3+", None),
    Her2Spec.IHC2_AMPLIFIED: ("2+", 1),
    Her2Spec.IHC1: ("1+", None),
    Her2Spec.IHC2_NOT_AMPLIFIED: ("2+", 5),
    Her2Spec.IHC0_ULTRALOW: ("0", None),
    Her2Spec.IHC0_NULL: ("0", None),
}
"""IHC score and ISH group each paired report yields (``lesions.csv`` columns ihc_score, ish_group)."""


def _lesion(site: Site, suv_max: float) -> PhantomLesion:
    return PhantomLesion(
        label=f"lesion-{site.code}",
        centre=site.centre,
        radius_mm=8.0,
        suv=round(0.7 * suv_max, 3),
        suv_max=suv_max,
        hepatic=site is LIVER,
        avid=suv_max >= 5.0,
        site=(site.code, "SCT", site.meaning),
    )


def _pet(
    patient: int,
    tracer: Tracer | None,
    pet_date: dt.date,
    lesions: tuple[PhantomLesion, ...],
    *,
    with_sr: bool,
    with_seg: bool,
    identity: tuple[str, str, dt.date],
) -> PhantomSpec:
    given, family, birth = identity
    acquired = dt.datetime.combine(pet_date, dt.time(9, 30))
    return PhantomSpec(
        variant=_VARIANTS[tracer] if tracer is not None else PhantomVariant.FDG,
        shape=SHAPE,
        injected_at=acquired - dt.timedelta(hours=120.0),
        uptake_h=120.0,
        liver_suv=LIVER_SUV,
        blood_pool_suv=BLOOD_POOL_SUV,
        lesions=lesions,
        with_sr=with_sr,
        with_seg=with_seg,
        seed=f"her2cds-cohort-{patient}",
        patient_id=f"COH-{patient:04d}",
        patient_name=f"{family}^{given}",
        birth_date=birth.strftime("%Y%m%d"),
    )


class _Builder:
    """Numbers patients, draws identities and dates from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.patients: list[SyntheticPatient] = []
        self.expected: list[ExpectedRow] = []
        self.exclusions: list[tuple[str, Distractor]] = []

    def identity(self) -> tuple[str, str, dt.date]:
        number = len(self.patients)
        birth = dt.date(1948, 1, 1) + dt.timedelta(days=int(self.rng.integers(0, 30 * 365)))
        return _GIVEN[number % len(_GIVEN)], _FAMILY[(number * 5) % len(_FAMILY)], birth

    def pet_date(self) -> dt.date:
        return FIRST_PET + dt.timedelta(days=9 * len(self.patients))

    def other_lesions(self, biopsied: Site) -> tuple[PhantomLesion, ...]:
        others = [s for s in SITES if s is not biopsied]
        count = int(self.rng.integers(0, 3))
        picked = self.rng.choice(len(others), size=count, replace=False)
        return tuple(
            _lesion(others[int(i)], round(float(self.rng.uniform(2.0, 16.0)), 3)) for i in sorted(picked)
        )

    def add(self, patient: SyntheticPatient) -> SyntheticPatient:
        self.patients.append(patient)
        if patient.distractor is not None:
            self.exclusions.append((patient.mrn, patient.distractor))
        return patient


def _paired(builder: _Builder, tracer: Tracer, category: CohortCategory, index: int, suv: float) -> None:
    number = len(builder.patients) + 1
    identity = builder.identity()
    pet_date = builder.pet_date()
    site = SITES[(number * 3) % len(SITES)]
    lesions = (_lesion(site, suv), *builder.other_lesions(site))
    kind = number % 4  # 0: reader SR only, 1-2: SR and SEG, 3: SEG only
    spec = _pet(number, tracer, pet_date, lesions, with_sr=kind != 3, with_seg=kind != 0, identity=identity)
    her2 = _her2_for(category, index)
    collected = pet_date + dt.timedelta(days=int(builder.rng.integers(-55, 56)))
    biopsies = [SyntheticBiopsy(collected=collected, site=site, her2=her2, site_on_report=number % 5 == 2)]
    patient = SyntheticPatient(
        number=number,
        given=identity[0],
        family=identity[1],
        birth_date=identity[2],
        pet=spec,
        biopsies=tuple(biopsies),
    )
    if number == 1:  # an older biopsy of another site, outside the window: a lesion-level exclusion
        old = SyntheticBiopsy(collected=pet_date - dt.timedelta(days=150), site=LIVER, her2=Her2Spec.IHC1)
        patient = SyntheticPatient(
            number=number,
            given=identity[0],
            family=identity[1],
            birth_date=identity[2],
            pet=spec,
            biopsies=(old, *biopsies),
        )
        builder.exclusions.append((patient.mrn, Distractor.OUTSIDE_WINDOW))
    builder.add(patient)
    score, group = EXPECTED_IHC[her2]
    builder.expected.append(
        ExpectedRow(
            mrn=patient.mrn,
            tracer=tracer,
            pet_date=pet_date,
            biopsy_date=collected,
            site=site.code,
            category=category,
            ihc_score=score,
            ish_group=group,
            suvmax=suv,
            lesion_source=LesionOrigin.READER_SR if spec.with_sr else LesionOrigin.SEG,
        )
    )


def _distractor(
    builder: _Builder,
    kind: Distractor,
    *,
    tracer: Tracer | None = Tracer.ZR89_TRASTUZUMAB,
    biopsy_days: int = 20,
    her2: Her2Spec = Her2Spec.IHC1,
    biopsied: Site = SITES[0],
    lesion_site: Site = SITES[0],
    reads: bool = True,
    in_fhir: bool = True,
) -> None:
    number = len(builder.patients) + 1
    identity = builder.identity()
    pet_date = builder.pet_date()
    spec = _pet(
        number,
        tracer,
        pet_date,
        (_lesion(lesion_site, 9.5),),
        with_sr=reads,
        with_seg=reads,
        identity=identity,
    )
    biopsy = SyntheticBiopsy(collected=pet_date + dt.timedelta(days=biopsy_days), site=biopsied, her2=her2)
    builder.add(
        SyntheticPatient(
            number=number,
            given=identity[0],
            family=identity[1],
            birth_date=identity[2],
            pet=spec,
            biopsies=(biopsy,),
            in_fhir=in_fhir,
            distractor=kind,
        )
    )


def synthetic_cohort(seed: int = 13) -> SyntheticCohort:
    """The synthetic cohort (deterministic for a given ``seed``): paired patients, then the distractors."""
    builder = _Builder(seed)
    pooled = {
        category: iter(matched_draws(builder.rng, sum(c[category] for c in PAPER_COUNTS.values()), *target))
        for category, target in SUVMAX_TARGETS.items()
    }
    for tracer, per_category in PAPER_COUNTS.items():
        for category, n in per_category.items():
            for index in range(n):
                _paired(builder, tracer, category, index, next(pooled[category]))
    _distractor(builder, Distractor.OUTSIDE_WINDOW, biopsy_days=95)
    _distractor(builder, Distractor.FDG_ONLY, tracer=None)
    _distractor(
        builder,
        Distractor.SITE_WITHOUT_LESION,
        tracer=Tracer.ZR89_PERTUZUMAB,
        biopsied=SITES[2],
        lesion_site=SITES[0],
    )
    _distractor(builder, Distractor.NO_HER2, her2=Her2Spec.NONE)
    _distractor(
        builder, Distractor.EQUIVOCAL, tracer=Tracer.ZR89_SS_PERTUZUMAB, her2=Her2Spec.IHC2_ISH_PENDING
    )
    _distractor(builder, Distractor.UNSCORED, her2=Her2Spec.NEGATIVE_UNSCORED)
    _distractor(builder, Distractor.NO_READER_LESIONS, reads=False)
    _distractor(builder, Distractor.NOT_IN_FHIR, in_fhir=False)
    return SyntheticCohort(
        patients=tuple(builder.patients),
        expected=tuple(builder.expected),
        exclusions=tuple(builder.exclusions),
    )


def patient_datasets(patient: SyntheticPatient) -> list[Dataset]:
    """The PET instances, SEG and SR of one patient (none without PET), ready to store in a PACS."""
    if patient.pet is None:
        return []
    series = make_phantom(patient.pet)
    return [*series.pet, *series.seg, *series.sr]


def all_datasets(cohort: SyntheticCohort) -> Iterator[Dataset]:
    """Every instance of the cohort, patient by patient."""
    for patient in cohort.patients:
        yield from patient_datasets(patient)


def write_dicom(cohort: SyntheticCohort, folder: Path) -> None:
    """Write every patient's DICOM files below ``folder`` (one sub-folder per patient)."""
    for patient in cohort.patients:
        if patient.pet is not None:
            write_phantom(folder / patient.folder, patient.pet)
