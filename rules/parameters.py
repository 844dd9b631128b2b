"""Clinical constants, each with its citation.

Clinical parameters are code, not configuration: any change here goes through review and tests and bumps
``RULES_VERSION`` (semantic version), which is echoed in every assessment, card ``source.label``, log line and
audit record. Sources are listed in ``docs/clinical-basis.md`` (from spec/clinical-logic.md §1).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from rules.domain import Tracer

RULES_VERSION: Final = "1.7.0"
"""Semantic version of the clinical rules; bump on any change of a constant or decision table."""

GUIDELINE: Final = "ASCO/CAP HER2 2018 (Wolff, JCO 2018;36:2105), affirmed 2023 (Wolff, JCO 2023;41:3867)"
"""The HER2 testing guideline the decision tables encode."""

# --- HER2 (ASCO/CAP 2018/2023) ------------------------------------------------------------------------------

IHC_PERCENT_THRESHOLD: Final = 10.0
"""Share of invasive cells (%) separating the IHC categories; strict '>' (exactly 10 % falls in the ≤10 %
branch)."""

ISH_RATIO_THRESHOLD: Final = 2.0
"""Dual-probe HER2/CEP17 ratio threshold (ASCO/CAP 2018, groups 1–5)."""

ISH_COPIES_LOW: Final = 4.0
"""HER2 signals per cell: lower threshold of groups 1 and 4 and of the single-probe equivocal band."""

ISH_COPIES_HIGH: Final = 6.0
"""HER2 signals per cell: threshold of group 3 and of single-probe positivity."""

ISH_RATIO_PLAUSIBLE: Final = (0.5, 30.0)
"""Plausible ratio range; outside it the result needs review (spec/clinical-logic.md §4 range checks)."""

ISH_COPIES_PLAUSIBLE: Final = (1.0, 50.0)
"""Plausible HER2 copies per cell; outside it the result needs review."""

COMPANION_DIAGNOSTIC_ASSAY: Final = "VENTANA PATHWAY anti-HER-2/neu (4B5)"
"""FDA companion diagnostic for the HER2-low (2022), HER2-ultralow (2025) and first-line HER2-positive with
pertuzumab (15 Dec 2025, with the HER2 Dual ISH DNA Probe Cocktail) T-DXd indications (ENHERTU USPI)."""

# --- ER/PR (ASCO/CAP 2020, Allison JCO 2020;38:1346) --------------------------------------------------------

RECEPTOR_POSITIVE_PERCENT: Final = 1.0
"""ER/PR positive at ≥1 % stained tumour nuclei."""

ER_LOW_POSITIVE_UPPER_PERCENT: Final = 10.0
"""ER 1–10 % is 'ER Low Positive' (counts as HR-positive, with a caveat)."""

# --- PET (spec/clinical-logic.md §13) -----------------------------------------------------------------------

AVID_DEFINITION: Final = "reader"
"""A lesion is avid when the reader calls its uptake visibly above local background and not explained by
physiological or blood-pool activity (ZEPHIR classes 3–4; Mortimer 2014; MSKCC trials)."""

SUVMAX_THRESHOLDS: Final[dict[Tracer, float]] = {}
"""Optional tracer-specific SUVmax thresholds; empty: no threshold is used (none validated for
(ss-)pertuzumab; an 89Zr-trastuzumab value of 3.2 for non-hepatic lesions at 5±2 d exists, Dehdashti 2018, but
is off by default)."""

UPTAKE_WINDOWS_H: Final[dict[Tracer, tuple[float, float]]] = {
    Tracer.ZR89_TRASTUZUMAB: (4 * 24.0, 7 * 24.0),
    Tracer.ZR89_PERTUZUMAB: (5 * 24.0, 8 * 24.0),
    Tracer.ZR89_SS_PERTUZUMAB: (5 * 24.0, 8 * 24.0),
    Tracer.CU64_TRASTUZUMAB: (24.0, 48.0),
    Tracer.GA68_ABY025: (2.0, 4.0),
    Tracer.GA68_NANOBODY: (1.0, 1.5),
}
"""Usual injection-to-acquisition windows in hours per tracer (spec/clinical-logic.md §12.2–13); tracers
without an entry have no window (explicit entry required)."""

PAIRING_WINDOW_DAYS: Final = 60
"""PET acquisition date vs specimen collection date (Yeh et al., J Nucl Med 2025: 'within 2 months')."""

RECENT_ANTI_HER2_DAYS: Final = 21
"""Anti-HER2 antibody given this many days or fewer before the PET → modifier (j) (Dijkers; effect size
unverified)."""

LEGACY_IHC0_BEFORE: Final = dt.date(2022, 1, 1)
"""IHC 0 results dated before this are escalated in scenario (e): DESTINY-Breast04 made 0 vs 1+ relevant in
2022."""
