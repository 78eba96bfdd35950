"""An amend as the venue's own atomic replace (`base.Replaceable`: Binance spot's
`cancelReplace`, the simulated venue's), for a working leg nothing of which has filled.

Why only then: the venue cancels the old leg only while nothing of it has filled
(`ONLY_NEW`), so the replacement, sized from the fills recorded before the request (the
new total minus what earlier legs filled), can never sit on top of a fill nobody sized it
for. A leg with fills is amended the explicit way (`amend.py`), which sizes the
replacement after its cancel is confirmed.

1. The replacement is journaled first (the lineage's next leg, its client order ID
   derived from the root's and the leg), the old leg moves to PENDING_UPDATE, the
   replacement to SUBMITTED, and the journal is committed: then the one request.
2. Replaced: the old leg CANCELLED (nothing filled), the replacement ACCEPTED and
   followed by the reconciler like any order; `OrderUpdated`.
3. Refused whole (`ReplaceRefused`: a fill raced it, the order is unknown or finished,
   the new order fails a filter; or the request was never processed): the replacement
   REJECTED, the old leg looked up and, still working, back to ACCEPTED unchanged
   (AMEND_REFUSED_BY_VENUE), or FILLED (AMEND_TOO_LATE).
4. Old cancelled, new refused (`ReplacePlaceRejected`): AMEND_REPLACEMENT_REJECTED.
5. No answer (ambiguous): both legs looked up by client order ID. The replacement found:
   replaced. Not found: it is never resent (the old leg may still be working); it is
   followed until the venue shows it, or no request of it can still land (then FAILED,
   and the old leg is working again: `run`).

A restart between the journal write and the answer (`restore`, after recovery has
looked both legs up): a replacement still unresolved is waited for as in 5 (recovery
never resends an amendment); one that never reached the venue leaves the old leg
working again (AMEND_INTERRUPTED).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.clock import Clock
from ordergate.domain.order import Order, OrderStatus
from ordergate.events import OrderModifyRejected, OrderTransitioned, OrderUnresolved, OrderUpdated
from ordergate.pipeline.amend_legs import AmendOutcome, Asked, filled, lineage, open_next_leg
from ordergate.pipeline.execute import Executor, order_request
from ordergate.pipeline.order_ledger import OrderLedger
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.pipeline.reconcile import Reconciler
from ordergate.venues.base import (
    OrderReport,
    Replaceable,
    ReplacePlaceRejected,
    VenueAdapter,
    VenueError,
)

S = OrderStatus
_NEVER_PLACED = (S.FAILED, S.REJECTED)


class NativeAmender:
    def __init__(self, ledger: OrderLedger, executor: Executor, reconciler: Reconciler,
                 bus: EventBus, clock: Clock) -> None:
        self._ledger, self._executor, self._reconciler = ledger, executor, reconciler
        self._bus, self._clock = bus, clock
        # replacement's ID -> the amend it answers, and the code if it never reaches the venue
        self._unresolved: dict[str, tuple[Asked, R]] = {}
        self._ended: list[str] = []
        bus.subscribe(OrderTransitioned, self._transitioned)

    @property
    def pending(self) -> bool:
        return bool(self._ended)

    async def amend(self, asked: Asked, legs: list[Order], native: Replaceable,
                    intended: Decimal) -> AmendOutcome:
        old, venue, ledger = asked.old, asked.venue, self._ledger
        rest = asked.total - filled(legs)
        new = await open_next_leg(ledger, self._executor, asked, legs, rest, self._clock.now())
        if isinstance(new, AmendOutcome):
            return new
        at = f" @ {asked.price}" if asked.price is not None else ""
        was = f" @ {old.price}" if old.price is not None else ""
        ledger.transition(old, S.PENDING_UPDATE, f"amend asked: total {asked.total}{at} (was "
                          f"{intended}{was}); replacing this leg with amendment {new.leg} "
                          f"({new.client_order_id}) in one request to {venue.name}, which "
                          "cancels it only if nothing of it has filled")
        ledger.transition(new, S.SUBMITTED, f"amendment {new.leg} of {legs[0].client_order_id}: "
                          f"sending {rest}{at} as the venue's atomic replace of "
                          f"{old.client_order_id}, the rest of the new total {asked.total}")
        await ledger.commit_before_send()
        try:
            report = await native.replace_order(old.client_order_id, old.venue_order_id,
                                                order_request(new))
        except ReplacePlaceRejected as exc:
            return await self._replacement_rejected(asked, new, exc)
        except VenueError as exc:
            if exc.ambiguous:
                return await self._resolve(asked, new, rest, exc)
            return await self._refused(asked, new, exc)
        await self._reconciler.sync(venue, old, report.cancelled)
        await self._reconciler.sync(venue, new, report.placed)
        return self._replaced(asked, new, rest)

    async def run(self) -> None:
        """The old legs of replacements that ended without reaching the venue: working
        again (a replacement that was placed ended with the old leg cancelled)."""
        ended, self._ended = self._ended, []
        for client_order_id in ended:
            waited = self._unresolved.pop(client_order_id, None)
            new = self._ledger.get(client_order_id)
            if waited is not None and new is not None and new.status in _NEVER_PLACED:
                asked, code = waited
                await self._look_up(asked.venue, asked.old)
                self._old_back(asked, code, f"the replacement {client_order_id} never "
                               f"reached the venue ({new.status})")

    def restore(self, venues: Mapping[str, VenueAdapter], skip: Collection[str] = ()) -> int:
        """After recovery: every leg still PENDING_UPDATE waits for its replacement's
        answer, or (none was sent, or it never reached the venue) works again. `skip`:
        the old legs of explicit amends, which `Amender.restore` finishes."""
        restored = 0
        for old in self._ledger.live_orders():
            venue = venues.get(old.venue)
            if old.status is not S.PENDING_UPDATE or venue is None or old.client_order_id in skip:
                continue
            restored += 1
            asked = Asked(old, venue, old.quantity, old.price)
            later = [leg for leg in lineage(self._ledger, old) if leg.leg > old.leg]
            replacement = later[-1] if later else None
            if replacement is not None and not replacement.status.is_terminal:
                self._unresolved[replacement.client_order_id] = (asked, R.AMEND_INTERRUPTED)
            elif replacement is None or replacement.status in _NEVER_PLACED:
                self._old_back(asked, R.AMEND_INTERRUPTED, "a restart interrupted the amend "
                               "before its replacement reached the venue")
        return restored

    # ------------------------------------------------------------------ outcomes

    def _replaced(self, asked: Asked, new: Order, rest: Decimal) -> AmendOutcome:
        old, at = asked.old, f" @ {asked.price}" if asked.price is not None else ""
        if not new.status.is_terminal:
            self._reconciler.follow(asked.venue, new)
        self._bus.publish(OrderUpdated(
            self._clock.now(), old.client_order_id, new.client_order_id, old.signal_id,
            asked.total, asked.price, f"replaced natively by amendment {new.leg}: {rest}{at} "
            f"({new.status}); {asked.total - rest} filled before"))
        return AmendOutcome(True, None, f"order {new.client_order_id} {new.status}", new)

    async def _refused(self, asked: Asked, new: Order, exc: VenueError) -> AmendOutcome:
        why = f"the venue refused the replace, nothing changed: {type(exc).__name__}: {exc}"
        self._ledger.transition(new, S.REJECTED, f"{R.AMEND_REFUSED_BY_VENUE}: not placed: "
                                f"{why}", R.AMEND_REFUSED_BY_VENUE)
        await self._look_up(asked.venue, asked.old)
        return self._old_back(asked, R.AMEND_REFUSED_BY_VENUE, why)

    async def _replacement_rejected(self, asked: Asked, new: Order,
                                    exc: ReplacePlaceRejected) -> AmendOutcome:
        old = asked.old
        why = (f"the venue cancelled order {old.client_order_id} and refused its replacement "
               f"{new.client_order_id}: {exc}")
        self._ledger.transition(new, S.REJECTED, f"{R.AMEND_REPLACEMENT_REJECTED}: {why}",
                                R.AMEND_REPLACEMENT_REJECTED)
        if exc.cancelled is not None:
            await self._reconciler.sync(asked.venue, old, exc.cancelled)
        if old.status.is_working:  # no report of the cancel: asked (and else followed)
            await self._look_up(asked.venue, old)
        self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                              old.signal_id, R.AMEND_REPLACEMENT_REJECTED, why))
        return AmendOutcome(False, R.AMEND_REPLACEMENT_REJECTED, why, old)

    async def _resolve(self, asked: Asked, new: Order, rest: Decimal,
                       exc: VenueError) -> AmendOutcome:
        """No answer: both legs looked up by client order ID before anything else."""
        old, venue = asked.old, asked.venue
        found = await self._executor.lookup(venue, new)
        await self._look_up(venue, old)
        if isinstance(found, OrderReport):
            await self._reconciler.sync(venue, new, found)
            if old.status.is_working:
                # The replacement exists and the old leg still shows working: a lagging
                # answer, or a replace that broke its own rule. It must not work on beside
                # its replacement: cancelled, and followed until it is.
                await self._reconciler.cancel(venue, old, f"replaced by {new.client_order_id} "
                                              "(the replace's answer was lost): cancelling")
            return self._replaced(asked, new, rest)
        self._unresolved[new.client_order_id] = (asked, R.AMEND_REFUSED_BY_VENUE)
        self._reconciler.follow(venue, new)
        why = (f"the replace's answer was lost ({type(exc).__name__}: {exc}) and the venue "
               f"does not show {new.client_order_id} yet: never resent; followed until the "
               "venue shows it or no request of it can still land")
        self._ledger.publish(OrderUnresolved(self._clock.now(), new.client_order_id,
                                             new.signal_id, why))
        return AmendOutcome(True, None, why, new, pending=True)

    def _old_back(self, asked: Asked, code: R, why: str) -> AmendOutcome:
        """Nothing was replaced: the old leg works on (or ended on its own meanwhile)."""
        old = asked.old
        if old.status is S.FILLED:
            code, why = R.AMEND_TOO_LATE, f"order {old.client_order_id} filled: {why}"
        elif old.status is S.PENDING_UPDATE:
            to = S.PARTIALLY_FILLED if old.filled_quantity > 0 else S.ACCEPTED
            self._ledger.transition(old, to, f"amend not done ({why}); the order works "
                                    f"unchanged at {old.venue}")
        self._bus.publish(OrderModifyRejected(self._clock.now(), old.client_order_id,
                                              old.signal_id, code, why))
        return AmendOutcome(False, code, why, old)

    async def _look_up(self, venue: VenueAdapter, order: Order) -> None:
        """The venue's word on one leg, applied; no answer: it stays followed."""
        try:
            report = await venue.fetch_order(order.symbol, order.client_order_id,
                                             order.venue_order_id)
        except VenueError:  # not silent: the guard counts and reports venue failures, and
            return          # the leg stays followed by the reconciler, which asks again
        await self._reconciler.sync(venue, order, report)

    def _transitioned(self, event: OrderTransitioned) -> None:
        if event.client_order_id in self._unresolved and event.to_status.is_terminal:
            self._ended.append(event.client_order_id)
