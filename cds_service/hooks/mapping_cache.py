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

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from connectors.ports import PathologyData

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
        if max_entries < 0 or ttl_s <= 0:
            raise ValueError("max_entries must be >= 0 and ttl_s positive")
        self._map = map_fn
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[bytes, tuple[float, PathologyData]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __call__(self, resources: Iterable[Mapping[str, Any]]) -> PathologyData:
        items = list(resources)
        key = _key(items) if self._max else None
        if key is None:
            return self._map(items)
        now = self._clock()
        with self._lock:
            self._drop_expired(now)
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                return found[1]
            self.misses += 1
        result = self._map(items)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now + self._ttl, result)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return result

    def _drop_expired(self, now: float) -> None:
        """Entries are kept in the order they were mapped, so the expired ones are at the front."""
        while self._entries:
            first = next(iter(self._entries.values()))
            if first[0] > now:
                return
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _key(items: list[Mapping[str, Any]]) -> bytes | None:
    """The digest of the resources' JSON text; None when they are not plain JSON (then nothing is cached)."""
    try:
        text = json.dumps(items, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()
