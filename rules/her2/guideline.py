"""The ASCO/CAP HER2 guideline as decision tables (data only; evaluation lives in :mod:`rules.her2.classify`).

Source: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med 2018;142:1364–82 (focused
update), affirmed unchanged by Wolff AC et al., J Clin Oncol 2023;41:3867–72. The T-DXd categories (HER2-low,
HER2-ultralow, HER2-null) are therapy-eligibility labels from the ENHERTU prescribing information
(DESTINY-Breast04 and -06), not ASCO/CAP result categories. Table by table, the encoding follows
spec/clinical-logic.md §3–§8.

Rows marked "engine rule" are this service's handling of data the guideline does not cover (missing,
out-of-range or contradictory data); they never produce a positive or HER2-low call on their own.

The tables live in three modules and share one vocabulary (:mod:`rules.her2.vocabulary`):
:mod:`rules.her2.ihc_tables` (spec §3), :mod:`rules.her2.ish_tables` (spec §4–§5) and
:mod:`rules.her2.status_tables` (spec §6, §8). This module assembles them in evaluation order; import a table
from its own module.
"""

from __future__ import annotations

from typing import Any

from rules.her2.ihc_tables import IHC_PERCENTAGES, IHC_RANGE, IHC_SCORE
from rules.her2.ish_tables import (
    ISH_COUNTS,
    ISH_DUAL,
    ISH_GROUP,
    ISH_GROUP_SOURCE,
    ISH_SINGLE,
    ISH_STATEMENT,
)
from rules.her2.status_tables import ASSAY, CATEGORY, LAB_CHECK, STATUS
from rules.tables import DecisionTable

__all__ = ["HER2_TABLES"]

HER2_TABLES: tuple[DecisionTable[Any], ...] = (
    IHC_PERCENTAGES,
    IHC_SCORE,
    IHC_RANGE,
    ISH_COUNTS,
    ISH_GROUP,
    ISH_GROUP_SOURCE,
    ISH_DUAL,
    ISH_SINGLE,
    ISH_STATEMENT,
    LAB_CHECK,
    STATUS,
    CATEGORY,
    ASSAY,
)
"""All HER2 tables in evaluation order, for the documentation page and the row-coverage test."""
