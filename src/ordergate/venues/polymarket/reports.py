"""Translation of the CLOB's JSON into `OrderReport` and `TradeReport`, and what the
adapter remembers about each order it follows (`Tracked`).

Fills come from `/data/trades`. A fill where we were the taker is keyed by the venue's
trade ID; where we were a maker, by ``"<trade id>:<order id>"`` (one match can fill
several of our resting orders). Fees follow Polymarket's formula
``fee_rate_bps/10^4 * min(p, 1 - p) * size``, in USDC.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from loguru import logger
from py_clob_client.clob_types import OrderType as ClobOrderType

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.venues.base import OrderReport, TradeReport
from ordergate.venues.polymarket.signing import GTD_THRESHOLD_S

ZERO = Decimal(0)
ONE = Decimal(1)
COLLATERAL = "USDC"
_KILLING_TYPES = (ClobOrderType.FAK, ClobOrderType.FOK)


@dataclasses.dataclass(slots=True)
class Tracked:
    """What this session knows about one order it placed (or was told the ID of)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    time_in_force: TimeInForce
    body: Any = None  # the SignedOrder, to re-send identical bytes
    clob_order_type: str = ClobOrderType.GTC
    acknowledged: bool = False  # the venue answered the placement (yes or no)
    maybe_placed: bool = False  # an earlier attempt's outcome is unknown
    cancel_requested: bool = False
    terminal: OrderReport | None = None  # a final state the venue will not tell us later

    @property
    def kills_remainder(self) -> bool:
        """FAK/FOK: what does not match at once is killed, never rests."""
        return self.clob_order_type in _KILLING_TYPES


def dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def read_order_json(tracked: Tracked, raw: dict[str, Any]) -> None:
    """Correct what we know of an order from the venue's own record of it."""
    tracked.side = Side.BUY if str(raw.get("side", "")).upper() == "BUY" else Side.SELL
    tracked.quantity = dec(raw.get("original_size") or 0)
    tracked.price = dec(raw.get("price") or 0)
    kind = str(raw.get("order_type", "")).upper()
    if kind in ("FAK", "FOK", "GTD", "GTC"):
        tracked.clob_order_type = kind


def venue_status(name: str, tracked: Tracked, raw: dict[str, Any], now: datetime) -> OrderStatus:
    """The status the venue's order record says, before its trades are looked at."""
    word = str(raw.get("status", "")).upper()
    matched = dec(raw.get("size_matched") or 0)
    if word == "MATCHED" or (matched >= tracked.quantity > 0):
        return OrderStatus.FILLED
    if word in ("LIVE", "DELAYED", "UNMATCHED"):
        return OrderStatus.PARTIALLY_FILLED if matched > 0 else OrderStatus.ACCEPTED
    if word.startswith(("CANCELED", "CANCELLED")):
        if tracked.kills_remainder:
            return OrderStatus.EXPIRED
        expiration = int(raw.get("expiration") or 0)
        if (
            expiration > 0
            and not tracked.cancel_requested
            and now.timestamp() >= expiration - GTD_THRESHOLD_S
        ):
            return OrderStatus.EXPIRED
        return OrderStatus.CANCELLED
    if word == "INVALID":
        return OrderStatus.REJECTED
    logger.warning("{}: unknown order status {!r}", name, word)
    return OrderStatus.PARTIALLY_FILLED if matched > 0 else OrderStatus.ACCEPTED


def make_report(tracked: Tracked, status: OrderStatus, filled: Decimal,
                average: Decimal | None, ts: datetime, reason: str = "") -> OrderReport:
    remaining = ZERO if status.is_terminal else max(tracked.quantity - filled, ZERO)
    return OrderReport(
        client_order_id=tracked.client_order_id,
        venue_order_id=tracked.venue_order_id,
        symbol=tracked.symbol,
        status=status,
        filled_quantity=filled,
        remaining_quantity=remaining,
        average_price=average,
        ts=ts,
        reason=reason,
        side=tracked.side,
        order_type=OrderType.LIMIT,
        price=tracked.price or None,
    )


def fills_from(tracked: Tracked, trades: list[dict[str, Any]]) -> list[TradeReport]:
    """This order's executions among an account's trades, oldest first, each once."""
    oid = tracked.venue_order_id
    fills: list[tuple[int, TradeReport]] = []
    for trade in trades:
        if str(trade.get("status", "")).upper() == "FAILED":
            continue  # reverted on chain: no fill
        match_time = int(dec(trade.get("match_time") or 0))
        ts = datetime.fromtimestamp(match_time, UTC)
        if trade.get("taker_order_id") == oid:
            fills.append((match_time, trade_report(
                tracked, trade, str(trade["id"]), dec(trade["size"]), Liquidity.TAKER, ts)))
            continue
        for maker in trade.get("maker_orders") or []:
            if maker.get("order_id") == oid:
                fills.append((match_time, trade_report(
                    tracked, maker, f"{trade['id']}:{oid}", dec(maker["matched_amount"]),
                    Liquidity.MAKER, ts)))
    fills.sort(key=lambda item: item[0])  # stable: ties keep the venue's order
    unique: dict[str, TradeReport] = {}
    for _, fill in fills:
        unique.setdefault(fill.trade_id, fill)
    return list(unique.values())


def trade_report(tracked: Tracked, entry: dict[str, Any], trade_id: str, quantity: Decimal,
                 liquidity: Liquidity, ts: datetime) -> TradeReport:
    """One of our executions in a CLOB trade: the taker side, or one maker order's part.
    The fee follows Polymarket's formula: bps * min(p, 1 - p) * size, in USDC."""
    price = dec(entry["price"])
    bps = dec(entry.get("fee_rate_bps") or 0)
    side = Side.BUY if str(entry.get("side", "")).upper() == "BUY" else Side.SELL
    return TradeReport(
        trade_id=trade_id, client_order_id=tracked.client_order_id,
        venue_order_id=tracked.venue_order_id, symbol=tracked.symbol, side=side, price=price,
        quantity=quantity, fee=bps / 10_000 * min(price, ONE - price) * quantity,
        fee_currency=COLLATERAL, liquidity=liquidity, ts=ts,
    )
