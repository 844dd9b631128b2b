"""A short-lived, bounded memo of the FHIR → domain pathology mapping, keyed by the resources' content.

An EHR sends the same prefetch again and again while a chart stays open (every patient-view of the same
patient, every order-select and order-sign that follows); mapping it (parsing each resource with
``fhir.resources`` and reading the report narratives) is the largest CPU cost of a hook. The mapping
(``connectors.fhir.mapping.pathology_from_resources``) is a pure function of the resources: no clock, no I/O,
no PET, no settings other than the narrative limit fixed at construction. So a result can be reused for the
very same resources without changing any answer:

- **key**: a BLAKE2b digest of the resources' JSON text (as received, in order); a resource that differs in
  any byte is a different key. The digest is not reversible and is all that identifies an entry.
- **bounded**: at most ``max_entries`` results per process (the oldest evicted first), each served for at
  most ``ttl_s`` seconds after it was mapped; ``max_entries=0`` turns the memo off.
- **PHI in memory**: an entry holds the mapped pathology of one patient (HER2 and receptor results, report
  excerpts, clinical context), the same data the request itself brought, in the worker's memory only. Expired
  entries are dropped by the next call of any patient (an idle worker keeps at most ``max_entries`` until its
  next hook or its exit). Nothing is written anywhere and nothing is logged. The PET side is never cached
  here (it is read from the database on every hook), so a new PET analysis shows at the very next hook.
- a mapping that raises is not cached; results are immutable (frozen dataclasses), so threads share them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from cds_service.memo import Memo
from connectors.ports import PathologyData
from rules.domain import AssessInputs, Assessment

MapFn = Callable[[Iterable[Mapping[str, Any]]], PathologyData]


class MappingCache:
    """``map_fn`` memoised by content (see the module docstring). Thread-safe; call it like ``map_fn``."""

    def __init__(
        self,
        map_fn: MapFn,
        *,
        max_entries: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._map = map_fn
        self._memo: Memo[PathologyData] = Memo(max_entries=max_entries, ttl_s=ttl_s, clock=clock)

    @property
    def hits(self) -> int:
        return self._memo.hits

    @property
    def misses(self) -> int:
        return self._memo.misses

    def __len__(self) -> int:
        return len(self._memo)

    def __call__(self, resources: Iterable[Mapping[str, Any]]) -> PathologyData:
        items = list(resources)
        key = _key(items) if self._memo.enabled else None
        if key is None:
            return self._map(items)
        return self._memo.get(key, lambda: self._map(items))

    def clear(self) -> None:
        self._memo.clear()


class AssessMemo:
    """``rules.assess.assess`` memoised by its inputs and the request's date: ``assess`` is pure and reads
    ``now`` only as a date (the label-row check, future-dated data), so equal inputs on the same date give
    the same assessment. Inputs that cannot be hashed are assessed without the memo."""

    def __init__(
        self,
        assess_fn: Callable[[AssessInputs, dt.datetime], Assessment],
        *,
        max_entries: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._assess = assess_fn
        self._memo: Memo[Assessment] = Memo(max_entries=max_entries, ttl_s=ttl_s, clock=clock)

    def __call__(self, inputs: AssessInputs, now: dt.datetime) -> Assessment:
        try:
            key = _HashedKey((inputs, now.date(), now.tzinfo is not None))
        except TypeError:
            return self._assess(inputs, now)
        return self._memo.get(key, lambda: self._assess(inputs, now))


class _HashedKey:
    """A key whose hash is computed once: the inputs are nested frozen dataclasses, whose hash walks them all
    (the memo's dictionary would otherwise hash them again after the check that they can be hashed)."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self._hash = hash(value)  # raises TypeError when a part cannot be hashed

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HashedKey) and self._hash == other._hash and self.value == other.value


def _key(items: list[Mapping[str, Any]]) -> bytes | None:
    """The digest of the resources' JSON text; None when they are not plain JSON (then nothing is cached)."""
    try:
        text = json.dumps(items, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
