"""The shape of a venue harness for the adapter conformance suite (`conformance.py`):
`VenueHarness`, what a venue-agnostic case asks of any venue (an order that rests, one
that takes, one refused, one too big, a stop, a fill by another participant, a fault,
the count of venue orders per client order ID), `Capabilities`, where adapters
legitimately differ, the faults and operations a case may name (`FaultKind`,
`Operation`, `READS`), and the order requests every harness builds (`_request`,
`_stop_maker`). Apart from the harnesses so that each venue's is read on its own against
one shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.venues.base import OrderReport, OrderRequest, VenueAdapter

D = Decimal

FaultKind = Literal["timeout_after_accept", "reject", "unavailable", "rate_limited", "timeout"]
"""`timeout_after_accept` and `reject` arm the next `place_order`; `unavailable` (a 5xx or
an outage), `rate_limited` (429 or the venue's throttle) and `timeout` (no answer in time)
arm the next call of any operation."""

Operation = Literal["place_order", "cancel_order", "fetch_order", "fetch_open_orders",
                    "fetch_fills", "fetch_balances", "fetch_ticker", "health", "replace_order"]

READS: tuple[Operation, ...] = ("fetch_order", "fetch_open_orders", "fetch_fills",
                                "fetch_balances", "fetch_ticker")

SetEnv = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Capabilities:
    market_orders: bool = True
    """The venue takes market orders; without them, `taking` is a marketable FOK limit."""
    finds_unknown_orders_by_client_id: bool = True
    """Looking up a never-seen client order ID (no venue order ID) asks the venue and gets
    `OrderNotFound`. Polymarket orders carry no client order ID at the venue: its adapter
    can only resolve IDs it placed (or is told the venue ID of), and refuses the rest."""
    order_ids_before_send: bool = False
    """`prepare_order` knows the venue order ID before the send (Polymarket: the hash of
    the signed order); elsewhere it answers None and the venue assigns the ID."""
    post_only_orders: bool = True
    """The venue has post-only limit orders (refused rather than filled as taker). Without
    them the adapter refuses a post-only request with `PostOnlyUnsupported`, unsent. The
    simulated venue, Binance (LIMIT_MAKER) and Polymarket (`postOnly`) all have them."""
    stop_orders: bool = True
    """The venue has native stop orders (stop_market, stop_limit). Without them the
    adapter refuses a stop with `StopOrdersUnsupported`, unsent: Polymarket's CLOB."""
    native_replace: bool = True
    """The adapter is `Replaceable` (an atomic cancel-and-place: Binance spot's
    cancelReplace, the simulated venue's). Polymarket's CLOB has none."""


@dataclass(slots=True)
class VenueHarness:
    name: str
    adapter: VenueAdapter
    symbol: str
    account_id: str
    unknown_venue_order_id: str
    """Well-formed for this venue, never issued."""
    unknown_symbol: str
    _resting: Callable[[str], OrderRequest]
    _too_big: Callable[[str, TimeInForce], OrderRequest]
    _taking: Callable[[str], OrderRequest]
    _rejected: Callable[[str], OrderRequest]
    _fill: Callable[[OrderReport, bool], Awaitable[None]]
    _inject: Callable[[FaultKind, Operation], None]
    _count: Callable[[str], int]
    capabilities: Capabilities = field(default_factory=Capabilities)
    _stop: Callable[[str, OrderType, bool], OrderRequest] | None = None
    _cross_trigger: Callable[[], Awaitable[None]] | None = None

    def stop(self, cid: str, order_type: OrderType, *, crossed: bool = False) -> OrderRequest:
        """A buy stop whose trigger the market has not reached (or, `crossed`, has)."""
        assert self._stop is not None, f"{self.name} harness has no stop orders"
        return self._stop(cid, order_type, crossed)

    async def cross_trigger(self) -> None:
        """The market rises through the trigger of `stop(...)` and stays there."""
        assert self._cross_trigger is not None, f"{self.name} harness cannot move its market"
        await self._cross_trigger()

    def resting(self, cid: str) -> OrderRequest:
        return self._resting(cid)

    def taking(self, cid: str) -> OrderRequest:
        return self._taking(cid)

    def rejected(self, cid: str) -> OrderRequest:
        return self._rejected(cid)

    def too_big(self, cid: str, time_in_force: TimeInForce) -> OrderRequest:
        """A marketable limit order (IOC or FOK) for more than the liquidity at its price."""
        return self._too_big(cid, time_in_force)

    async def fill_resting(self, report: OrderReport, *, partially: bool = False) -> None:
        """Trade against a resting order: all of it, or a part that leaves some resting."""
        await self._fill(report, partially)

    def inject(self, kind: FaultKind, operation: Operation = "place_order") -> None:
        """Make the next call of `operation` fail with `kind`."""
        if kind in ("timeout_after_accept", "reject") and operation not in (
                "place_order", "replace_order"):
            raise ValueError(f"{kind} is a fault of a send, not of {operation}")
        self._inject(kind, operation)

    def orders_at_venue(self, client_order_id: str) -> int:
        return self._count(client_order_id)


def _request(cid: str, account: str, symbol: str, side: Side, order_type: OrderType,
             qty: str, price: str | None, tif: TimeInForce = TimeInForce.GTC,
             trigger: str | None = None) -> OrderRequest:
    return OrderRequest(cid, account, symbol, side, order_type, D(qty),
                        None if price is None else D(price), tif,
                        trigger_price=None if trigger is None else D(trigger))


def _stop_maker(account: str, symbol: str, qty: str, trigger: str, crossed_trigger: str,
                limit: str) -> Callable[[str, OrderType, bool], OrderRequest]:
    """Buy stops: at `trigger` (above the market) or `crossed_trigger` (reached by it); a
    stop_limit's limit at `limit`, above the trigger, so that it fills once triggered."""
    def stop(cid: str, order_type: OrderType, crossed: bool) -> OrderRequest:
        price = limit if order_type is OrderType.STOP_LIMIT else None
        return _request(cid, account, symbol, Side.BUY, order_type, qty, price,
                        trigger=crossed_trigger if crossed else trigger)
    return stop
