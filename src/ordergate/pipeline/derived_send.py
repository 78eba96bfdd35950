"""Sending an order derived from another (a bracket's exit, a TWAP slice, an amendment):
the same steps as a signal's own order after the executor has journaled and prepared it,
in one place so that every derived order keeps the same write-before-send discipline."""

from __future__ import annotations

from ordergate.domain.order import Order, OrderStatus
from ordergate.pipeline.execute import Executor
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reconcile import Reconciler
from ordergate.venues.base import VenueAdapter


async def send_derived(ledger: OrderLedger, executor: Executor, reconciler: Reconciler,
                       venue: VenueAdapter, order: Order, reason: str) -> None:
    """`order` is journaled (`ledger.open`) and prepared (`executor.prepare`): SUBMITTED
    with `reason`, the barrier (journal and audit on disk), the send with its retries and
    lookups, the venue's answer applied, and followed until it ends. A stop its venue
    does not take natively is held instead (`executor.hold`): nothing is sent now."""
    if order.order_type.is_stop and executor.hold(
            order, f"held by ordergate until the price reaches {order.trigger_price}; "
            f"then {reason}"):
        return
    ledger.transition(order, OrderStatus.SUBMITTED, reason)
    await ledger.commit_before_send()
    report = await executor.submit(venue, order)
    if report is not None:
        await reconciler.sync(venue, order, report)
    if not order.status.is_terminal:
        reconciler.follow(venue, order)
