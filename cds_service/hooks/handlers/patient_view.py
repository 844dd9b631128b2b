"""``patient-view``: every chart opening runs the assessment (CDS Hooks Library, patient-view 1.0)."""

from __future__ import annotations

import dataclasses
from typing import Final

from cds_service.hooks.handlers import HookPlan
from cds_service.hooks.models import Hook, PatientViewContext


@dataclasses.dataclass(frozen=True, slots=True)
class PatientViewHandler:
    """Runs for every patient; there are no draft orders."""

    hook: Hook = Hook.PATIENT_VIEW
    context_model: type[PatientViewContext] = PatientViewContext

    def plan(self, context: PatientViewContext) -> HookPlan:
        return HookPlan(run=True)


HANDLER: Final = PatientViewHandler()
