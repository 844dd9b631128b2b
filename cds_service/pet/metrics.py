"""PACS calls timed for Prometheus: a :class:`PetStudySource` wrapper per transport (DICOMweb, DIMSE).

Every call of the wrapped port (a search, a header triage, a retrieval with its analysis) is one
``her2cds_upstream_request_seconds{target}`` observation; a ``SourceUnavailableError`` (outage, timeout,
failed DIMSE status) also counts in ``her2cds_upstream_errors_total{target}``. ``NotFoundError`` and
undecodable data are answers, not outages. A
source that can list new series keeps that ability (:class:`TimedPollingPetSource`), so ``isinstance``
checks against ``PollingPetStudySource`` still tell the two kinds apart.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from connectors.dicom.ports import PetStudySource, PollingPetStudySource, SeriesRef
from connectors.errors import SourceUnavailableError

if TYPE_CHECKING:
    from cds_service.observability import Metrics, UpstreamTarget
    from connectors.dicom.analysis import SeriesAnalysis
    from connectors.dicom.headers import TracerRecognition

_T = TypeVar("_T")


class TimedPetSource:
    """``source`` with each call timed as an upstream call to ``target``."""

    def __init__(self, source: PetStudySource, target: UpstreamTarget, metrics: Metrics) -> None:
        self._source, self._target, self._metrics = source, target, metrics

    def _timed(self, call: Callable[[], _T]) -> _T:
        started = time.perf_counter()
        failed = False
        try:
            return call()
        except SourceUnavailableError:
            failed = True
            raise
        finally:
            self._metrics.observe_upstream(self._target, time.perf_counter() - started, failed=failed)

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        return self._timed(lambda: self._source.find_pet_series(patient_id, study_uid))

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        return self._timed(lambda: self._source.triage(ref))

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        return self._timed(lambda: self._source.analyse(ref))


class TimedPollingPetSource(TimedPetSource):
    """A timed source that can also list series that arrived since a time (DICOMweb)."""

    def __init__(self, source: PollingPetStudySource, target: UpstreamTarget, metrics: Metrics) -> None:
        super().__init__(source, target, metrics)
        self._polling = source

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        return self._timed(lambda: self._polling.find_new_series(since))


def timed_source(source: PetStudySource, target: UpstreamTarget, metrics: Metrics) -> PetStudySource:
    """``source`` wrapped so that each of its calls is measured (keeping its polling ability)."""
    if isinstance(source, PollingPetStudySource):
        return TimedPollingPetSource(source, target, metrics)
    return TimedPetSource(source, target, metrics)
