"""The records that cross the seam between the engine and a venue.

An order as it leaves (`OrderRequest`), and what every adapter translates its venue's
replies into before anything shared is touched (`OrderReport`, `TradeReport`, `Balance`,
`Ticker`, `VenueHealth`), so the engine never reads a venue's raw JSON. All of them are
importable from `venues.base` too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.records import record


@record
class OrderRequest:
    """An order as it leaves: already rounded to the instrument's tick and lot."""

    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    expires_at: datetime | None = None
    venue_order_id: str | None = None
    """The ID `prepare_order` computed and the journal holds, on venues whose IDs are
    known before the send (Polymarket); None elsewhere. An adapter that has to build the
    order again (after a restart) must send one with this ID or refuse to send at all, so
    that what the journal names is what the venue gets."""
    post_only: bool = False
    """Limit orders only: refused by the venue (`PostOnlyWouldTake`) rather than filled as
    taker, in part or in full. An adapter whose venue cannot honour it refuses the
    request before sending anything."""
    trigger_price: Decimal | None = None
    """Stop orders only (STOP_MARKET, STOP_LIMIT): the order rests untriggered until the
    market reaches it, then executes at market or as a limit at `price`. An adapter whose
    venue has no native stop orders refuses the request (`StopOrdersUnsupported`)."""


@record
class OrderReport:
    """What the venue says about one order, at one moment.

    `status` is one of ACCEPTED, PARTIALLY_FILLED, FILLED, CANCELLED, REJECTED, EXPIRED.
    `filled_quantity` is cumulative; trust it (and the trades) over the status word."""

    client_order_id: str
    venue_order_id: str | None
    symbol: str
    status: OrderStatus
    filled_quantity: Decimal
    remaining_quantity: Decimal
    average_price: Decimal | None
    ts: datetime
    reason: str = ""
    side: Side | None = None
    order_type: OrderType | None = None
    price: Decimal | None = None
    """What the order is, when the venue says: a cold start adopts open orders it has no
    journal record of from these (`reconciliation/cold_start.py`)."""
    trigger_price: Decimal | None = None
    """A stop order's trigger, when the venue says (Binance's `stopPrice`)."""


@record
class TradeReport:
    """One execution of one order. `trade_id` is the venue's, unique within the venue and
    `symbol` (Binance numbers trades per symbol): the two together name a fill."""

    trade_id: str
    client_order_id: str
    venue_order_id: str | None
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    ts: datetime


@record
class Balance:
    currency: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


@record
class Ticker:
    symbol: str
    bid: Decimal
    ask: Decimal
    ts: datetime

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@record
class VenueHealth:
    venue: str
    ok: bool
    detail: str = ""
