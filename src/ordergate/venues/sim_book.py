"""`RestingBook`: the simulated venue's resting limit orders of one symbol, indexed so that
a quote costs O(log n + crossed) instead of a look at every order that rests.

Bids are kept best (highest) price first, asks best (lowest) first, and within a price
level by arrival: price-time priority, as an exchange's book. A quote crosses a buy whose
price is at or above its ask and a sell at or below its bid; those are a prefix of each
side, so finding them reads only them (and the first order that does not cross).

GTD expiries are a heap by expiry time, with lazy deletion: an order that leaves the book
some other way (filled, cancelled) leaves its heap entry behind, skipped when it comes to
the top. The stale entries are counted and the heap is rebuilt when they outnumber the
live ones, so what the book holds stays bounded by twice what rests, even for a strategy
that places and cancels far-dated orders all day.

The same structure holds the untriggered stop orders (`RestingBook(by_trigger=True)`),
keyed by trigger price instead: buy stops lowest trigger first, sell stops highest first.
A quote triggers the buy stops at or below its ask and the sell stops at or above its bid:
again a prefix of each side, so a quote reads only the stops it triggers (and one more
per side), however many wait further away.

The book only indexes; filling, expiring and releasing funds stay with the venue, so the
rules of a fill are written once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from sortedcontainers import SortedList

from ordergate.domain.values import Side, TimeInForce
from ordergate.venues.base import OrderRequest


class Resting(Protocol):
    """What the book needs of an order: its venue ID, and its request's side, limit price
    and expiry (a request is immutable, so its place in the book never moves)."""

    @property
    def venue_order_id(self) -> str: ...

    @property
    def request(self) -> OrderRequest: ...


OrderT = TypeVar("OrderT", bound=Resting)

_Key = tuple[Decimal, int]
"""(sort price, arrival): a bid's price negated (exactly: `copy_negate`, no rounding), so
both sides sort best first."""


class RestingBook(Generic[OrderT]):
    def __init__(self, *, by_trigger: bool = False) -> None:
        self._by_trigger = by_trigger
        self._bids: SortedList[_Key] = SortedList()
        self._asks: SortedList[_Key] = SortedList()
        self._by_arrival: dict[int, OrderT] = {}   # arrival -> order, in arrival order
        self._arrival_of: dict[str, int] = {}  # venue order id -> arrival
        self._expiries: list[tuple[datetime, int]] = []  # heap of (expires_at, arrival)
        self._stale = 0  # heap entries whose order has left the book
        self._arrivals = 0
        self.examined = 0
        """Orders the book has looked at to answer `crossed_by` and `expired`, ever: the
        work per quote, counted, so a test or the benchmark can show that it does not
        grow with the orders that rest away from the touch."""

    def __len__(self) -> int:
        return len(self._by_arrival)

    def __iter__(self) -> Iterator[OrderT]:
        """The resting orders in arrival order (as `fetch_open_orders` lists them)."""
        return iter(self._by_arrival.values())

    @property
    def held(self) -> int:
        """Entries the indexes hold, live or awaiting lazy deletion: never more than
        about twice what rests, whatever has come and gone."""
        return len(self._bids) + len(self._asks) + len(self._expiries)

    def add(self, order: OrderT) -> None:
        """Rest a limit order behind everything already at its price (a stop behind
        everything at its trigger)."""
        request = order.request
        if (request.trigger_price if self._by_trigger else request.price) is None:
            raise ValueError(f"order {order.venue_order_id}: only a "
                             f"{'stop' if self._by_trigger else 'limit'} order rests here")
        if order.venue_order_id in self._arrival_of:
            raise ValueError(f"order {order.venue_order_id} already rests")
        self._arrivals += 1
        arrival = self._arrivals
        self._by_arrival[arrival] = order
        self._arrival_of[order.venue_order_id] = arrival
        self._side(request).add(self._key(request, arrival))
        if request.time_in_force is TimeInForce.GTD and request.expires_at is not None:
            heapq.heappush(self._expiries, (request.expires_at, arrival))

    def remove(self, order: OrderT) -> bool:
        """Take an order out (filled, cancelled); False if it was not resting."""
        arrival = self._arrival_of.pop(order.venue_order_id, None)
        if arrival is None:
            return False
        del self._by_arrival[arrival]
        request = order.request
        self._side(request).remove(self._key(request, arrival))
        if request.time_in_force is TimeInForce.GTD and request.expires_at is not None:
            self._stale += 1
            if self._stale > len(self._expiries) // 2:
                self._compact()
        return True

    def crossed_by(self, bid: Decimal, ask: Decimal) -> list[OrderT]:
        """The orders a quote crosses, best price first and by arrival within a price:
        the buys at or above `ask`, then the sells at or below `bid`. A list, so the caller
        can remove what fills while it goes through them.

        In a book of stops: the buy stops whose trigger is at or below `ask`, lowest
        trigger first, then the sell stops whose trigger is at or above `bid`, highest
        first (by arrival within a trigger)."""
        if self._by_trigger:
            crossed = self._prefix(self._bids, ask)
            crossed.extend(self._prefix(self._asks, bid.copy_negate()))
            return crossed
        crossed = self._prefix(self._bids, ask.copy_negate())
        crossed.extend(self._prefix(self._asks, bid))
        return crossed

    def expired(self, ts: datetime) -> list[OrderT]:
        """Take out and return the GTD orders due at `ts` (expiry at or before it), by
        expiry then arrival."""
        due: list[OrderT] = []
        heap = self._expiries
        while heap and heap[0][0] <= ts:
            _, arrival = heapq.heappop(heap)
            self.examined += 1
            order = self._by_arrival.get(arrival)
            if order is None:  # left the book before it was due
                self._stale -= 1
                continue
            del self._by_arrival[arrival], self._arrival_of[order.venue_order_id]
            self._side(order.request).remove(self._key(order.request, arrival))
            due.append(order)
        return due

    def _prefix(self, side: SortedList[_Key], bound: Decimal) -> list[OrderT]:
        """The orders of one side whose sort price is at or below `bound`: a prefix, read
        up to the first order beyond it."""
        orders: list[OrderT] = []
        for price, arrival in side:
            self.examined += 1
            if price > bound:
                break
            orders.append(self._by_arrival[arrival])
        return orders

    def _compact(self) -> None:
        """Rebuild the expiry heap from the orders still resting: linear, and due only after
        as many removals as half the heap, so it costs O(1) per removal."""
        self._expiries = [entry for entry in self._expiries if entry[1] in self._by_arrival]
        heapq.heapify(self._expiries)
        self._stale = 0

    def _side(self, request: OrderRequest) -> SortedList[_Key]:
        return self._bids if request.side is Side.BUY else self._asks

    def _key(self, request: OrderRequest, arrival: int) -> _Key:
        if self._by_trigger:  # buy stops lowest trigger first, sell stops highest first
            trigger = request.trigger_price
            assert trigger is not None  # `add` rests stops only
            return (trigger if request.side is Side.BUY else trigger.copy_negate(), arrival)
        price = request.price
        assert price is not None  # `add` rests limit orders only
        return (price.copy_negate() if request.side is Side.BUY else price, arrival)
