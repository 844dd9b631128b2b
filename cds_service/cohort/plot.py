"""The figure of ``suvmax_by_category.png``: lesion SUVmax per HER2 category, one panel per tracer plus the
pooled panel, each category a box (median, quartiles, whiskers at 1.5 IQR) with every lesion drawn on top
(a strip plot with a small fixed horizontal jitter, applied to the values in sorted order, so the picture
depends on the values only: the same on every run, whatever the patient keys and row order).

matplotlib's object-oriented API on the Agg canvas (``FigureCanvasAgg``): no display, no pyplot global state,
so it is safe in any process or thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np

from cds_service.cohort.model import CATEGORIES, CohortCategory, LesionRow
from cds_service.cohort.statistics import tracers_in

if TYPE_CHECKING:
    from matplotlib.axes import Axes

COLOURS: Final[dict[CohortCategory, str]] = {
    CohortCategory.POSITIVE: "#c0392b",
    CohortCategory.LOW: "#2874a6",
    CohortCategory.ZERO: "#7f8c8d",
}
POOLED_TITLE: Final = "All tracers (pooled)"
_JITTER_SEED: Final = 20250601


def suvmax_figure_png(rows: Sequence[LesionRow]) -> bytes:
    """The PNG bytes of the box + strip plot of ``rows`` (an explanatory empty figure without rows)."""
    tracers = tracers_in(rows)
    panels: list[tuple[str, list[LesionRow]]] = [
        (t.value, [r for r in rows if r.tracer is t]) for t in tracers
    ]
    if len(tracers) != 1:
        panels.append((POOLED_TITLE, list(rows)))
    # matplotlib is imported here, not at module load: every her2-cds command imports this module's package,
    # and matplotlib's import wants a writable config folder that a read-only container does not have.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2 * len(panels) + 0.8, 4.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)
    rng = np.random.default_rng(_JITTER_SEED)
    for ax, (title, mine) in zip(axes[0], panels, strict=True):
        _panel(ax, title, mine, rng)
    axes[0][0].set_ylabel("Lesion SUVmax (SUVbw, g/ml)")
    figure.suptitle("HER2 PET lesion SUVmax by HER2 category of the paired biopsy", fontsize=11)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def _panel(ax: Axes, title: str, rows: Sequence[LesionRow], rng: np.random.Generator) -> None:
    positions = np.arange(1, len(CATEGORIES) + 1)
    groups = [sorted(r.suvmax for r in rows if r.category is c) for c in CATEGORIES]
    present = [(p, g, c) for p, g, c in zip(positions, groups, CATEGORIES, strict=True) if g]
    if present:
        boxes = ax.boxplot(
            [g for _, g, _ in present],
            positions=[p for p, _, _ in present],
            widths=0.55,
            showfliers=False,
            patch_artist=True,
            medianprops={"color": "black", "linewidth": 1.6},
        )
        for patch, (_, _, category) in zip(boxes["boxes"], present, strict=True):
            patch.set_facecolor(COLOURS[category])
            patch.set_alpha(0.25)
    for position, values, category in zip(positions, groups, CATEGORIES, strict=True):
        if not values:
            continue
        jitter = rng.uniform(-0.12, 0.12, size=len(values))
        ax.scatter(
            position + jitter,
            values,
            s=22,
            color=COLOURS[category],
            edgecolors="black",
            linewidths=0.4,
            zorder=3,
        )
    ax.set_xticks(
        positions, [f"{c.value}\nn={len(g)}" for c, g in zip(CATEGORIES, groups, strict=True)], fontsize=8
    )
    ax.set_xlim(0.4, len(CATEGORIES) + 0.6)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(bottom=0.0)
    if not rows:
        ax.text(0.5, 0.5, "no paired lesions", transform=ax.transAxes, ha="center", va="center")
