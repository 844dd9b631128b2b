"""``order-select`` and ``order-sign``: the assessment runs only when the draft orders contain T-DXd.

One handler class serves both hooks (two registry entries, two service ids: a CDS Hooks service has exactly
one hook, and clients key services by id). For order-select only the newly selected orders (``selections``)
count as T-DXd triggers; for order-sign every draft order does (``cds_service.hooks.orders``).
"""

from __future__ import annotations

import dataclasses
from typing import Final

from cds_service.hooks.handlers import HookPlan
from cds_service.hooks.models import Hook, OrderSelectContext, OrderSignContext, PatientViewContext
from cds_service.hooks.orders import inspect_draft_orders


@dataclasses.dataclass(frozen=True, slots=True)
class OrderHandler:
    """An order hook: runs the assessment when a T-DXd order is among the (selected) draft orders."""

    hook: Hook
    context_model: type[PatientViewContext]

    def plan(self, context: PatientViewContext) -> HookPlan:
        if not isinstance(context, OrderSignContext):
            raise TypeError(f"{self.hook} needs an order context, got {type(context).__name__}")
        selections = context.selections if isinstance(context, OrderSelectContext) else None
        orders = inspect_draft_orders(context.draftOrders.resources(), selections)
        return HookPlan(run=orders.tdxd, orders=orders)


ORDER_SELECT: Final = OrderHandler(hook=Hook.ORDER_SELECT, context_model=OrderSelectContext)
ORDER_SIGN: Final = OrderHandler(hook=Hook.ORDER_SIGN, context_model=OrderSignContext)
