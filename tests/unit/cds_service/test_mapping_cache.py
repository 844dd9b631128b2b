"""The memo of the pathology mapping (``cds_service.hooks.mapping_cache``): same answer as the mapping,
keyed by content, bounded in size and time, never caching a failure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from cds_service.hooks.mapping_cache import AssessMemo, MappingCache
from connectors.errors import InvalidSourceDataError
from connectors.fhir.mapping import pathology_from_resources
from connectors.ports import PathologyData
from rules.assess import assess
from rules.domain import AssessInputs, Assessment, PetStatus


def _report(patient: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": f"rep-{patient}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "60570-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "issued": "2025-01-10T10:00:00Z",
        "conclusion": text,
    }


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, resources: Iterable[Mapping[str, Any]]) -> PathologyData:
        self.calls += 1
        return pathology_from_resources(resources)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hit_returns_what_the_mapping_returns_for_the_same_resources() -> None:
    counting = _Counting()
    cache = MappingCache(counting, max_entries=8, ttl_s=60.0)
    resources = [_report("p1", "HER2 (IHC): 3+ positive.")]
    first = cache(resources)
    second = cache([dict(r) for r in resources])  # equal content, other objects
    assert second is first
    assert first == pathology_from_resources(resources)
    assert first.her2  # the narrative was read: the memo holds a real mapping
    assert counting.calls == 1
    assert (cache.hits, cache.misses) == (1, 1)


def test_any_change_in_content_is_a_new_mapping() -> None:
    counting = _Counting()
    cache = MappingCache(counting, max_entries=8, ttl_s=60.0)
    positive = cache([_report("p1", "HER2 (IHC): 3+ positive.")])
    low = cache([_report("p1", "HER2 (IHC): 1+ (HER2-low).")])
    assert counting.calls == 2
    assert positive != low


def test_entries_expire_after_the_ttl() -> None:
    counting, clock = _Counting(), _Clock()
    cache = MappingCache(counting, max_entries=8, ttl_s=30.0, clock=clock)
    resources = [_report("p1", "HER2 (IHC): 2+.")]
    cache(resources)
    clock.now += 29.0
    cache(resources)
    assert counting.calls == 1
    clock.now += 2.0
    cache([_report("p2", "HER2 (IHC): 0.")])  # any call drops what expired
    assert len(cache) == 1
    cache(resources)
    assert counting.calls == 3


def test_the_oldest_entry_goes_first_beyond_the_bound() -> None:
    counting = _Counting()
    cache = MappingCache(counting, max_entries=2, ttl_s=60.0)
    for patient in ("p1", "p2", "p3"):
        cache([_report(patient, "HER2 (IHC): 0.")])
    assert len(cache) == 2
    cache([_report("p3", "HER2 (IHC): 0.")])
    assert counting.calls == 3
    cache([_report("p1", "HER2 (IHC): 0.")])
    assert counting.calls == 4


def test_zero_entries_turns_the_memo_off() -> None:
    counting = _Counting()
    cache = MappingCache(counting, max_entries=0, ttl_s=60.0)
    resources = [_report("p1", "HER2 (IHC): 0.")]
    cache(resources)
    cache(resources)
    assert counting.calls == 2
    assert len(cache) == 0


def test_a_failure_is_not_cached() -> None:
    calls = 0

    def failing(resources: Iterable[Mapping[str, Any]]) -> PathologyData:
        nonlocal calls
        calls += 1
        raise InvalidSourceDataError("broken")

    cache = MappingCache(failing, max_entries=8, ttl_s=60.0)
    for _ in range(2):
        with pytest.raises(InvalidSourceDataError):
            cache([_report("p1", "x")])
    assert calls == 2
    assert len(cache) == 0


def test_resources_that_are_not_plain_json_are_mapped_every_time() -> None:
    counting = _Counting()
    cache = MappingCache(counting, max_entries=8, ttl_s=60.0)
    odd = [{**_report("p1", "HER2 (IHC): 0."), "extra": object()}]
    cache(odd)
    cache(odd)
    assert counting.calls == 2


def _inputs(text: str) -> AssessInputs:
    pathology = pathology_from_resources([_report("p1", text)])
    return AssessInputs(
        her2_results=tuple(pathology.her2),
        receptors=tuple(pathology.receptors),
        context=pathology.context,
        pet=None,
        pet_status=PetStatus.NONE,
    )


def test_assess_memo_gives_what_assess_gives_per_inputs_and_date() -> None:
    calls: list[dt.datetime] = []

    def counting(inputs: AssessInputs, now: dt.datetime) -> Assessment:
        calls.append(now)
        return assess(inputs, now)

    memo = AssessMemo(counting, max_entries=8, ttl_s=60.0)
    morning = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    low, positive = _inputs("HER2 IHC 1+ (4B5)."), _inputs("HER2 IHC 3+ (4B5).")
    first = memo(low, morning)
    assert first == assess(low, morning)
    # Equal inputs later the same day: the same assessment, not computed again.
    assert memo(_inputs("HER2 IHC 1+ (4B5)."), morning + dt.timedelta(hours=9)) is first
    assert len(calls) == 1
    # Other inputs, or another date (the label-row check and future-dated data read the date): computed.
    assert memo(positive, morning) == assess(positive, morning)
    assert memo(positive, morning).her2.current != first.her2.current
    memo(low, morning + dt.timedelta(days=1))
    assert len(calls) == 3


def test_assess_memo_off_and_unhashable_inputs_computed_each_time() -> None:
    calls = 0

    def counting(inputs: AssessInputs, now: dt.datetime) -> Assessment:
        nonlocal calls
        calls += 1
        return assess(inputs, now)

    now = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    off = AssessMemo(counting, max_entries=0, ttl_s=60.0)
    off(_inputs("HER2 IHC 1+."), now)
    off(_inputs("HER2 IHC 1+."), now)
    assert calls == 2
    memo = AssessMemo(counting, max_entries=8, ttl_s=60.0)
    unhashable = _Unhashable(_inputs("HER2 IHC 1+."))
    memo(unhashable, now)
    memo(unhashable, now)
    assert calls == 4


class _Unhashable(AssessInputs):
    """Inputs whose hash fails (as a mutable member would make it)."""

    def __init__(self, inputs: AssessInputs) -> None:
        for name in AssessInputs.__dataclass_fields__:
            object.__setattr__(self, name, getattr(inputs, name))

    def __hash__(self) -> int:
        raise TypeError("unhashable")
