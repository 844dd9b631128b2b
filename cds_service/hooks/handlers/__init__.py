"""Hook handlers: one module per CDS hook, each exposing the handler object the registry lists.

A handler names its hook, the pydantic model of its ``context`` and a ``plan`` that decides, from the context
alone, whether the hook runs the assessment and with which draft-order findings. Everything after that
(prefetch, mapping, PET lookup, rules, cards) is shared by :class:`cds_service.hooks.service.HookService`.
Adding a hook is one module here and one ``ServiceSpec`` in :mod:`cds_service.hooks.registry`.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from cds_service.hooks.models import Hook, PatientViewContext
from cds_service.hooks.orders import DraftOrderFindings

__all__ = ["HookHandler", "HookPlan"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HookPlan:
    """What a handler decided from the context: run the assessment (or answer with no cards), and the
    draft-order findings of an order hook (``None`` for hooks without orders)."""

    run: bool
    orders: DraftOrderFindings | None = None


class HookHandler(Protocol):
    """One CDS hook: its name, its context model and the decision to run."""

    @property
    def hook(self) -> Hook: ...

    @property
    def context_model(self) -> type[PatientViewContext]: ...

    def plan(self, context: PatientViewContext) -> HookPlan: ...
