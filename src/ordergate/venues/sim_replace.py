"""The simulated venue's native replace: Binance spot's `order/cancelReplace` as
ordergate sends it (`cancelReplaceMode=STOP_ON_FAILURE`, `cancelRestrictions=ONLY_NEW`),
so that a replay exercises the same amend path, and the same refusals, as Binance.

In Binance's order:
1. the new order's filters (tick, lot, minimums) are checked before anything happens: a
   failure changes nothing (`ReplaceRefused`);
2. the cancel: an unknown or finished order, or one with anything filled, is refused and
   the new order is not attempted (`ReplaceCancelRefused`);
3. the old order is cancelled, then the new one placed as `place_order` would place it;
   a refusal now (funds, post-only that would take, a stop that would trigger, an open
   duplicate client order ID) leaves the old one cancelled (`ReplacePlaceRejected`).

Faults (operation "replace"): `TIMEOUT_BEFORE_ACCEPT` loses the request (nothing done),
`TIMEOUT_AFTER_ACCEPT` does the replace and loses the answer (both `ReplaceAmbiguous`),
`REJECT` refuses it whole; the outage and the other faults as for any call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordergate.venues.base import (
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    ReplaceAmbiguous,
    ReplaceCancelRefused,
    ReplacePlaceRejected,
    ReplaceRefused,
    ReplaceReport,
)
from ordergate.venues.faults import Fault
from ordergate.venues.sim_rules import check_filters

if TYPE_CHECKING:
    from ordergate.venues.simulated import SimulatedVenue


def replace_order(venue: SimulatedVenue, old_client_order_id: str,
                  old_venue_order_id: str | None, request: OrderRequest) -> ReplaceReport:
    fault = venue._fault("replace")
    if fault is Fault.TIMEOUT_BEFORE_ACCEPT:
        raise ReplaceAmbiguous("simulated timeout: the replace was lost before the venue")
    if fault is Fault.REJECT:
        raise ReplaceRefused("simulated: the replace was refused")
    venue.advance()  # fills due by now happen first: a fill can beat the replace
    instrument = venue._instruments.get(request.symbol)
    if instrument is None:
        raise ReplaceRefused(f"unknown symbol {request.symbol}")
    try:
        check_filters(instrument, request)
    except OrderRejected as exc:
        raise ReplaceRefused(f"the new order fails a filter, nothing was cancelled: {exc}") from None
    try:
        old = venue._find(old_client_order_id, old_venue_order_id)
    except OrderNotFound:
        raise ReplaceCancelRefused(f"cancel refused, new order not attempted: order "
                                   f"{old_client_order_id} is unknown") from None
    if old.request.symbol != request.symbol:
        raise ReplaceRefused(f"order {old_client_order_id} is on {old.request.symbol}, "
                             f"not {request.symbol}")
    if old.status.is_terminal:
        raise ReplaceCancelRefused(f"cancel refused, new order not attempted: order "
                                   f"{old_client_order_id} is {old.status}")
    if old.filled:
        raise ReplaceCancelRefused(f"cancel refused, new order not attempted: order "
                                   f"{old_client_order_id} has {old.filled} filled (the "
                                   "cancel is restricted to an order with nothing filled)")
    venue._cancel(old)
    cancelled = venue._report(old)
    existing = venue._by_client.get(request.client_order_id)
    if existing is not None and not existing.status.is_terminal:
        raise ReplacePlaceRejected(f"old order cancelled, new one refused: client order id "
                                   f"{request.client_order_id} is open", cancelled)
    try:
        new = venue._accept(request)
    except OrderRejected as exc:
        raise ReplacePlaceRejected(f"old order cancelled, new one refused: {exc}",
                                   cancelled) from None
    if fault is Fault.TIMEOUT_AFTER_ACCEPT:
        raise ReplaceAmbiguous("simulated timeout: the venue replaced the order, the reply "
                               "was lost")
    return ReplaceReport(cancelled, venue._report(new))
