"""Pure: paired lesion rows → the summary of ``summary.json`` (counts, SUVmax quartiles, Mann–Whitney U).

- ``counts``: lesions per tracer and category (every category listed, zeros included).
- ``suvmax``: per category, pooled over tracers, ``median``, ``q1``, ``q3`` (``numpy.percentile``, linear
  interpolation, its default) and ``n``; ``suvmax_by_tracer`` the same per tracer.
- ``tests``: two-sided Mann–Whitney U (``scipy.stats.mannwhitneyu`` with its default method, ``auto``:
  exact for small samples without ties) of HER2-low vs HER2-positive (``low_vs_positive``) and of
  HER2-expressing (positive and low) vs HER2-0 (``expressing_vs_zero``), per tracer where both groups have
  lesions, and ``pooled`` over tracers (null when a group is empty). ``u`` is the statistic of the first
  group named (HER2-low; HER2-expressing).

Pooling tracers mixes antibodies with different kinetics and uptake windows; ``summary.md`` says so next to
every pooled figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np
from scipy.stats import mannwhitneyu

from cds_service.cohort.model import CATEGORIES, CohortCategory, LesionRow
from rules.domain import Tracer
from rules.parameters import RULES_VERSION

LOW_VS_POSITIVE: Final = "low_vs_positive"
EXPRESSING_VS_ZERO: Final = "expressing_vs_zero"
POOLED: Final = "pooled"

COMPARISONS: Final[dict[str, tuple[frozenset[CohortCategory], frozenset[CohortCategory]]]] = {
    LOW_VS_POSITIVE: (frozenset({CohortCategory.LOW}), frozenset({CohortCategory.POSITIVE})),
    EXPRESSING_VS_ZERO: (
        frozenset({CohortCategory.POSITIVE, CohortCategory.LOW}),
        frozenset({CohortCategory.ZERO}),
    ),
}
"""Each test: (first group, second group) of categories."""


def tracers_in(rows: Iterable[LesionRow]) -> list[Tracer]:
    """The tracers of ``rows`` in ``Tracer`` order (the published three first)."""
    present = {row.tracer for row in rows}
    return [t for t in Tracer if t in present]


def quartiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """``{"median", "q1", "q3", "n"}`` of ``values`` (None for an empty group)."""
    if not values:
        return {"median": None, "q1": None, "q3": None, "n": 0}
    q1, median, q3 = np.percentile(np.asarray(values, dtype=float), [25.0, 50.0, 75.0])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "n": len(values)}


def mann_whitney(first: Sequence[float], second: Sequence[float]) -> dict[str, float] | None:
    """Two-sided Mann–Whitney U of ``first`` vs ``second`` (scipy defaults); None when a group is empty."""
    if not first or not second:
        return None
    result = mannwhitneyu(first, second, alternative="two-sided")
    return {"u": float(result.statistic), "p": float(result.pvalue)}


def _values(rows: Iterable[LesionRow], categories: frozenset[CohortCategory]) -> list[float]:
    return [row.suvmax for row in rows if row.category in categories]


def _tests(rows: Sequence[LesionRow], tracers: Sequence[Tracer]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, (first, second) in COMPARISONS.items():
        entry: dict[str, Any] = {POOLED: mann_whitney(_values(rows, first), _values(rows, second))}
        for tracer in tracers:
            mine = [row for row in rows if row.tracer is tracer]
            result = mann_whitney(_values(mine, first), _values(mine, second))
            if result is not None:
                entry[tracer.value] = result
        out[name] = entry
    return out


def summarise(rows: Sequence[LesionRow], *, window_days: int, excluded: int) -> dict[str, Any]:
    """The ``summary.json`` document of ``rows`` (see the module docstring)."""
    tracers = tracers_in(rows)
    counts = {
        tracer.value: {
            category.value: sum(1 for r in rows if r.tracer is tracer and r.category is category)
            for category in CATEGORIES
        }
        for tracer in tracers
    }
    suvmax = {c.value: quartiles(_values(rows, frozenset({c}))) for c in CATEGORIES}
    by_tracer = {
        tracer.value: {
            c.value: quartiles(_values([r for r in rows if r.tracer is tracer], frozenset({c})))
            for c in CATEGORIES
        }
        for tracer in tracers
    }
    return {
        "counts": counts,
        "suvmax": suvmax,
        "suvmax_by_tracer": by_tracer,
        "tests": _tests(rows, tracers),
        "lesions": len(rows),
        "patients": len({row.patient_key for row in rows}),
        "excluded": excluded,
        "parameters": {"window_days": window_days, "rules_version": RULES_VERSION},
    }
