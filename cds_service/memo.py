"""A bounded, short-lived, thread-safe memo of pure results, shared by the hook path's memos.

:class:`Memo` keeps at most ``max_entries`` values (the least recently stored dropped first), each for at
most ``ttl_s`` seconds after it was computed; ``max_entries=0`` turns it off. A computation that raises is not
kept. Values must be immutable (frozen dataclasses): threads share them. Expired entries are dropped by the
next call.
What uses it, and why each key is exact (the same key can only ever give the same value):

- ``hooks.mapping_cache.MappingCache``: the FHIR → domain pathology mapping, by a digest of the resources;
- ``hooks.mapping_cache.AssessMemo``: ``rules.assess.assess``, by its inputs and the date of the request;
- ``pet.jobs.stored_document``: a stored PET analysis decoded, by the stored row's identity.

Each holds one patient's data per entry in the worker's memory only (nothing written, nothing logged).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    """``get(key, compute)``: the value kept for ``key``, else ``compute()``, kept (see the module
    docstring)."""

    def __init__(
        self, *, max_entries: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 0 or ttl_s <= 0:
            raise ValueError("max_entries must be >= 0 and ttl_s positive")
        self._max = max_entries
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._max > 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        if not self._max:
            return compute()
        now = self._clock()
        with self._lock:
            self._drop_expired(now)
            found = self._entries.get(key)
            if found is not None:
                self.hits += 1
                return found[1]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now + self._ttl, value)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def _drop_expired(self, now: float) -> None:
        """Entries are kept in the order they were stored, so the expired ones are at the front."""
        while self._entries:
            first = next(iter(self._entries.values()))
            if first[0] > now:
                return
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
