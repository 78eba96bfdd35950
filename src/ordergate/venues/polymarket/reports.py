"""Translation of the CLOB's JSON into `OrderReport` and `TradeReport`, and what the
adapter remembers about each order it follows (`Tracked`).

Fills come from `/data/trades`. A fill where we were the taker is keyed by the venue's
trade ID; where we were a maker, by ``"<trade id>:<order id>"`` (one match can fill
several of our resting orders). Fees follow Polymarket's formula
``fee_rate_bps/10^4 * min(p, 1 - p) * size``, in USDC.

**A fill is booked only when its trade is final.** Polymarket matches off chain and
settles on chain: a trade is MATCHED, then MINED, then CONFIRMED, or RETRYING and then
FAILED (reverted; no tokens change hands). Only a CONFIRMED trade is a `TradeReport`
(`fetch_fills`); a FAILED one never is. Booking at MATCHED and reversing a failure later
would need a negative, audited correction of a journaled fill and of the position; not
booking until the venue's final word needs nothing undone, at the price of positions
that lag the match by the chain's confirmation time. Meanwhile an order's report counts
every match not failed (`filled_quantity`: booked + pending), so the reconciler's rule
"do not close an order whose fills we have not all seen" keeps following it until its
trades are final; and it is not final while the CLOB's `size_matched` says more than
its trades show (the trade feed can lag the order record). The CLOB itself never takes a
failed match back from `size_matched` (nor the status MATCHED of a fully matched order),
so an order the venue has finished with part of it failed is reported CANCELLED (EXPIRED
for FAK/FOK) with what really filled, once every trade of it is final.
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
_PENDING_TRADE = frozenset({"MATCHED", "MINED", "RETRYING"})


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
    post_only: bool = False  # sent with `postOnly`: the venue refuses it rather than take
    acknowledged: bool = False  # the venue answered the placement (yes or no)
    maybe_placed: bool = False  # an earlier attempt's outcome is unknown
    cancel_requested: bool = False
    terminal: OrderReport | None = None  # a final state the venue will not tell us later
    alias: str | None = None  # the computed ID, when the venue answered with another one
    created_at: int | None = None  # the venue's creation time: no trade of it is older

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
    created = str(raw.get("created_at") or "")
    if created.isdigit():
        tracked.created_at = int(created)


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
                average: Decimal | None, ts: datetime, reason: str = "",
                matched: Decimal | None = None) -> OrderReport:
    """`matched`: what the venue counts as matched (its `size_matched`), when it counts
    more than `filled`: the remaining quantity is what can still trade."""
    taken = filled if matched is None else max(matched, filled)
    remaining = ZERO if status.is_terminal else max(tracked.quantity - taken, ZERO)
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


@dataclasses.dataclass(slots=True)
class Executions:
    """One order's part in the account's trades, by settlement state."""

    booked: list[TradeReport] = dataclasses.field(default_factory=list)
    """CONFIRMED: final, the only ones that are fills; oldest first, each once."""
    pending: list[TradeReport] = dataclasses.field(default_factory=list)
    """Matched, not final yet (MATCHED, MINED, RETRYING, or a status we do not know)."""
    failed: Decimal = ZERO
    """Shares of this order in FAILED trades: matched once, never delivered."""

    @property
    def matched(self) -> Decimal:
        """What is filled or may still be: every match of the order not failed."""
        return sum((f.quantity for f in (*self.booked, *self.pending)), ZERO)

    @property
    def average(self) -> Decimal | None:
        quantity = self.matched
        if quantity == 0:
            return None
        return sum((f.price * f.quantity for f in (*self.booked, *self.pending)), ZERO) / quantity

    @property
    def seen(self) -> bool:
        """The venue has any trade of this order, whatever became of it."""
        return bool(self.booked or self.pending or self.failed)


def executions_of(tracked: Tracked, trades: list[dict[str, Any]]) -> Executions:
    """This order's executions among an account's trades, sorted by settlement state."""
    oid = tracked.venue_order_id
    parts: list[tuple[int, str, TradeReport]] = []
    for trade in trades:
        status = str(trade.get("status", "")).upper()
        match_time = int(dec(trade.get("match_time") or 0))
        ts = datetime.fromtimestamp(match_time, UTC)
        if trade.get("taker_order_id") == oid:
            parts.append((match_time, status, trade_report(
                tracked, trade, str(trade["id"]), dec(trade["size"]), Liquidity.TAKER, ts)))
            continue
        for maker in trade.get("maker_orders") or []:
            if maker.get("order_id") == oid:
                parts.append((match_time, status, trade_report(
                    tracked, maker, f"{trade['id']}:{oid}", dec(maker["matched_amount"]),
                    Liquidity.MAKER, ts)))
    parts.sort(key=lambda item: item[0])  # stable: ties keep the venue's order
    result, seen = Executions(), set()
    for _, status, fill in parts:
        if fill.trade_id in seen:
            continue
        seen.add(fill.trade_id)
        if status == "CONFIRMED":
            result.booked.append(fill)
        elif status == "FAILED":
            result.failed += fill.quantity
        else:
            if status not in _PENDING_TRADE:
                logger.warning("unknown trade status {!r} of {}: not final", status, fill.trade_id)
            result.pending.append(fill)
    return result


def order_report(name: str, tracked: Tracked, raw: dict[str, Any] | None, ex: Executions,
                 now: datetime) -> tuple[OrderReport, bool]:
    """The order as its record (`raw`; None: the venue no longer holds it) and its trades
    say; and whether that is final (no trade of it can still change). See the module
    docstring for what counts as filled."""
    note = f"; {ex.failed} failed on chain" if ex.failed else ""
    if raw is None:
        filled = ex.matched
        if tracked.quantity > 0 and filled >= tracked.quantity:
            status = OrderStatus.FILLED
        else:  # closed: the fills decide FILLED (the quantity may be unknown after a restart)
            status = OrderStatus.EXPIRED if tracked.kills_remainder else OrderStatus.CANCELLED
        return make_report(tracked, status, filled, ex.average, now,
                           "closed; from its trades" + note), not ex.pending
    read_order_json(tracked, raw)
    venue = venue_status(name, tracked, raw, now)
    size_matched = dec(raw.get("size_matched") or 0)
    if ex.matched + ex.failed < size_matched:  # its trades lag its record: not final
        filled, final = size_matched - ex.failed, False
    else:
        filled, final = ex.matched, not ex.pending
    if venue.is_working:
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    elif tracked.quantity > 0 and filled >= tracked.quantity:
        status = OrderStatus.FILLED
    elif venue is OrderStatus.FILLED:  # matched in full at the venue, part of it failed
        status = OrderStatus.EXPIRED if tracked.kills_remainder else OrderStatus.CANCELLED
    else:
        status = venue
    reason = str(raw.get("status", "")) + note
    return make_report(tracked, status, filled, ex.average, now, reason, size_matched), final


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
