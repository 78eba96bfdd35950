"""What the Binance emulator's market (`binance_market.py`) holds and answers with: a
symbol's rules (`SymbolSpec`) and the default symbols, books and balances; an order, a
trade, a book, an account's wallet; the groups of order types; and the two conventions
every answer follows, Binance's error (`BinanceApiError`: HTTP status, code, msg) and its
amounts printed with eight decimals (`fmt`). Apart from the market so that the records
are read in one place and the matching in another; the endpoints and the order lists
use them as much as the market does. Money is `Decimal` throughout.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ordergate.testing.binance_stops import STOP_LIMIT_TYPES, STOP_MARKET_TYPES

ZERO = Decimal(0)
_EIGHT = Decimal("0.00000001")

Level = tuple[Decimal, Decimal]

LIMIT_TYPES = ("LIMIT", "LIMIT_MAKER")
"""Order types with a limit price that rest and lock funds."""
PRICED_TYPES = LIMIT_TYPES + STOP_LIMIT_TYPES
"""Order types with a limit price: what they lock is released at it as they fill."""
MARKET_LIKE = ("MARKET", *STOP_MARKET_TYPES)
"""Order types that execute at market: what the book cannot fill expires."""


DEFAULT_ACCOUNT = "default"


class BinanceApiError(Exception):
    """An error answered the way Binance answers it: HTTP status + {"code", "msg"}."""

    def __init__(self, http_status: int, code: int, msg: str) -> None:
        super().__init__(f"{http_status} {code} {msg}")
        self.http_status = http_status
        self.code = code
        self.msg = msg


def fmt(value: Decimal) -> str:
    """Binance prints amounts with eight decimals: "0.01000000"."""
    return format(value.quantize(_EIGHT), "f")


def dec(value: Decimal | str | int) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One spot symbol's rules, as exchangeInfo publishes them."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal
    min_price: Decimal = Decimal("0.01")
    max_price: Decimal = Decimal(1000000)
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    status: str = "TRADING"


DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    SymbolSpec(
        symbol="BTCUSDT", base="BTC", quote="USDT", tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"), max_qty=Decimal(9000),
        min_notional=Decimal(5),
    ),
    SymbolSpec(
        symbol="ETHUSDT", base="ETH", quote="USDT", tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"), max_qty=Decimal(9000),
        min_notional=Decimal(5),
    ),
)

DEFAULT_BOOKS: dict[str, tuple[list[Level], list[Level]]] = {
    "BTCUSDT": (
        [(Decimal("49999.00"), Decimal("0.5")), (Decimal("49998.00"), Decimal(1)),
         (Decimal("49990.00"), Decimal(2))],
        [(Decimal("50001.00"), Decimal("0.5")), (Decimal("50002.00"), Decimal(1)),
         (Decimal("50010.00"), Decimal(2))],
    ),
    "ETHUSDT": (
        [(Decimal("2999.00"), Decimal(5)), (Decimal("2998.00"), Decimal(10))],
        [(Decimal("3001.00"), Decimal(5)), (Decimal("3002.00"), Decimal(10))],
    ),
}

DEFAULT_BALANCES: dict[str, Decimal] = {
    "USDT": Decimal(1000000),
    "BTC": Decimal(10),
    "ETH": Decimal(100),
}


# ---------------------------------------------------------------- state records


@dataclass(slots=True)
class EmulatedOrder:
    order_id: int
    client_order_id: str
    symbol: str
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER / MARKET / STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT)
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    time_ms: int
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cummulative_quote_qty: Decimal = ZERO
    update_time_ms: int = 0
    locked: Decimal = ZERO  # still reserved for this order (quote for a buy, base for a sell)
    trade_ids: list[int] = field(default_factory=list)
    stop_price: Decimal = ZERO  # a stop order's trigger; zero otherwise, as Binance shows it
    working: bool = True  # False while a stop order waits for its trigger (`isWorking`)
    working_time_ms: int = -1  # when it started working (placed, or triggered); -1 until then
    order_list_id: int = -1  # the order list (OCO, `binance_oco`) it is a leg of; -1: none
    account: str = DEFAULT_ACCOUNT  # whose order (the API key's account, `Wallet`)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    @property
    def remaining(self) -> Decimal:
        return self.orig_qty - self.executed_qty

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": self.order_list_id,
            "clientOrderId": self.client_order_id,
            "price": fmt(self.price),
            "origQty": fmt(self.orig_qty),
            "executedQty": fmt(self.executed_qty),
            "cummulativeQuoteQty": fmt(self.cummulative_quote_qty),
            "status": self.status,
            "timeInForce": self.time_in_force,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt(self.stop_price),
            "icebergQty": fmt(ZERO),
            "time": self.time_ms,
            "updateTime": self.update_time_ms or self.time_ms,
            "isWorking": self.working,
            "workingTime": self.working_time_ms if self.working else -1,
            "origQuoteOrderQty": fmt(ZERO),
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


@dataclass(frozen=True, slots=True)
class EmulatedTrade:
    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time_ms: int
    is_maker: bool
    account: str = DEFAULT_ACCOUNT

    def to_json(self) -> dict[str, Any]:
        """The shape of one `/api/v3/myTrades` entry."""
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": fmt(self.price),
            "qty": fmt(self.qty),
            "quoteQty": fmt(self.quote_qty),
            "commission": fmt(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time_ms,
            "isBuyer": self.side == "BUY",
            "isMaker": self.is_maker,
            "isBestMatch": True,
        }


class Book:
    def __init__(self, bids: Sequence[Level], asks: Sequence[Level]) -> None:
        # Each level is [price, qty]; bids best (highest) first, asks best (lowest) first.
        self.bids: list[list[Decimal]] = sorted(
            ([dec(p), dec(q)] for p, q in bids), key=lambda lv: lv[0], reverse=True)
        self.asks: list[list[Decimal]] = sorted(
            ([dec(p), dec(q)] for p, q in asks), key=lambda lv: lv[0])
        self.prune()

    def prune(self) -> None:
        self.bids = [lv for lv in self.bids if lv[1] > 0]
        self.asks = [lv for lv in self.asks if lv[1] > 0]


@dataclass(slots=True)
class Wallet:
    """One account's own state: balances, how many orders each of its client order IDs
    made, and its "use BNB to pay for fees" setting. Client order IDs are the account's
    own, as on Binance: the same ID under two keys is two orders."""

    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    client_id_counts: dict[str, int] = field(default_factory=dict)
    pay_fees_in_bnb: bool = False

    @classmethod
    def opening(cls, balances: Mapping[str, Decimal | str | int]) -> Wallet:
        free = {a: dec(v) for a, v in balances.items()}
        return cls(free, {a: ZERO for a in free})
