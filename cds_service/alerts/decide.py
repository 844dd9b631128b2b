"""When a re-assessment becomes an alert: the state machine over a patient's card scenario.

A patient's last *settled* assessment (main scenario and card topics, ``Storage.get_alert_state``) is
compared with the new one. An alert is raised only when the scenario changes to one that asks for a T-DXd
eligibility review (``docs/alerts.md``):

=====================================  ================================================================
reason                                 when
=====================================  ================================================================
``review-scenario``                    the main scenario is now (a) HER2-low + avid, (b) HER2-0 + avid,
                                       (c) HER2-ultralow or (f) avid without usable pathology, and was
                                       something else (or the patient was never assessed)
``pairing-in-window``                  the scenario is one of those and stays so, but the PET–pathology
                                       pairing was out of window (card (h)) and is now within it
``ish-resolved``                       the scenario was (g) IHC 2+ awaiting ISH and the ISH result has
                                       resolved it into any classified scenario
=====================================  ================================================================

An assessment is *settled* only when every source answered and nothing is pending: an outage (card (u),
``unavailable_sources``) or a PET analysis still running (card (p)) neither raises an alert nor replaces the
stored state, so a recovering source never looks like a change. The alert key is the SHA-256 of patient id,
scenario and a digest of the basis (the pathology results and PET series the scenario rests on, the pairing
interval), so the same change seen twice, by two triggers or two replicas, makes one alert.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from rules.display import MODIFIERS
from rules.domain import Assessment, CardScenario

__all__ = [
    "REVIEW_SCENARIOS",
    "AlertReason",
    "Decision",
    "PriorState",
    "alert_key",
    "basis_digest",
    "decide",
    "is_settled",
]

S = CardScenario

REVIEW_SCENARIOS: Final[frozenset[CardScenario]] = frozenset(
    {S.HER2_LOW_PET_AVID, S.HER2_ZERO_PET_AVID, S.HER2_ULTRALOW, S.PET_AVID_NO_PATHOLOGY}
)
"""Main scenarios that ask for a T-DXd eligibility review: (a), (b), (c), (f)."""

UNSETTLED: Final[frozenset[CardScenario]] = frozenset({S.DATA_UNAVAILABLE, S.PET_ANALYSIS_PENDING})
"""Cards that mean the assessment is not final yet: a source outage (u) or an analysis still running (p)."""


class AlertReason(StrEnum):
    """Why an alert was raised (stored with it and shown on the worklist)."""

    REVIEW_SCENARIO = "review-scenario"
    PAIRING_IN_WINDOW = "pairing-in-window"
    ISH_RESOLVED = "ish-resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class PriorState:
    """The stored last settled assessment: main scenario code (None: no card) and every card topic code."""

    scenario: str | None
    cards: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What to do with one assessment: ``record`` the new state (False: unsettled, leave the state alone),
    and raise an alert for ``reason`` under ``key`` when both are set."""

    record: bool
    scenario: CardScenario | None = None
    reason: AlertReason | None = None
    key: str | None = None


def is_settled(assessment: Assessment) -> bool:
    """Whether every source answered and no analysis is pending (the assessment may replace the state)."""
    return not assessment.unavailable_sources and not (set(assessment.cards) & UNSETTLED)


def basis_digest(assessment: Assessment) -> str:
    """A digest of what the scenario rests on: the T-DXd category and source of each pathology occasion, the
    PET series and its uptake call, the pairing interval and the non-modifier card topics. Stable across
    re-assessments of unchanged data (no clock, no ordering effects)."""
    her2 = assessment.her2
    occasions = sorted(
        f"{o.category.value}@{o.result.source.reference if o.result.source else o.result.specimen.id}"
        for o in her2.occasions
    )
    uptake = assessment.uptake
    basis = {
        "occasions": occasions,
        "current": her2.current.category.value if her2.current else None,
        "pet": assessment.pet.series if assessment.pet else None,
        "avid": sorted(lesion.lesion_id for lesion in uptake.avid_lesions) if uptake else None,
        "gap": assessment.pairing_gap_days,
        "cards": sorted(c.value for c in assessment.cards if c not in MODIFIERS),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def alert_key(patient_id: str, scenario: CardScenario, digest: str) -> str:
    """The stable key of one alert (64 hex characters): the same patient, scenario and basis give the same
    key, so delivery (``Task.identifier``) and
    storage are idempotent; the patient id cannot be read from it."""
    return hashlib.sha256(f"{patient_id}\x1f{scenario.value}\x1f{digest}".encode()).hexdigest()


def _reason(prior: PriorState | None, assessment: Assessment) -> AlertReason | None:
    scenario = assessment.scenario
    if scenario is None:
        return None
    out_of_window = S.PAIRING_OUT_OF_WINDOW in assessment.cards
    if scenario in REVIEW_SCENARIOS:
        if prior is None or prior.scenario != scenario.value:
            return AlertReason.REVIEW_SCENARIO
        if S.PAIRING_OUT_OF_WINDOW.value in prior.cards and not out_of_window:
            return AlertReason.PAIRING_IN_WINDOW
        return None
    if (
        prior is not None
        and prior.scenario == S.IHC2_ISH_PENDING.value
        and scenario is not S.IHC2_ISH_PENDING
    ):
        return AlertReason.ISH_RESOLVED
    return None


def decide(patient_id: str, prior: PriorState | None, assessment: Assessment) -> Decision:
    """The decision for one re-assessment of ``patient_id`` given its stored ``prior`` state."""
    if not is_settled(assessment):
        return Decision(record=False)
    scenario = assessment.scenario
    reason = _reason(prior, assessment)
    if reason is None or scenario is None:
        return Decision(record=True, scenario=scenario)
    return Decision(
        record=True,
        scenario=scenario,
        reason=reason,
        key=alert_key(patient_id, scenario, basis_digest(assessment)),
    )
