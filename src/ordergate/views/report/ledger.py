"""The fills walked in the order they were recorded, through the same `Position` the
engine keeps, so the report's realized PnL and fees are the engine's to the last digit.

One pass, memory bounded: the state is the positions; what is kept is the value at each
grid instant (realized and mark-to-market PnL per quote currency, the position per
symbol) and every k-th fill of each symbol and side for the fills chart, k chosen from a
count first so that at most `MAX_FILL_POINTS` of each are kept.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from ordergate.domain.fill import Fill
from ordergate.domain.position import Position
from ordergate.domain.values import ZERO, Liquidity, Side
from ordergate.venues.market_data import micros
from ordergate.views.report.sources import ReportError

MAX_FILL_POINTS = 1500
"""Fills drawn per symbol and side; more would not be told apart on the chart."""


def quote_currency(symbol: str) -> str:
    """What a symbol's prices are in: USDT for BTC/USDT and BTC/USDT:USDT; for a symbol
    without one (a Polymarket token) the report says "quote"."""
    _, slash, rest = symbol.partition("/")
    return rest.partition(":")[0] if slash and rest else "quote"


@dataclass(slots=True)
class FillPoints:
    """The fills of one symbol and side that the chart draws (every `stride`-th)."""
    stride: int
    total: int
    times: list[int] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)
    quantities: list[Decimal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Ledger:
    grid: list[int]
    realized: dict[str, list[Decimal]]
    """Per quote currency, realized PnL at each grid instant (gross of fees, as the engine)."""
    equity: dict[str, list[Decimal]]
    """Per quote currency: realized + unrealized at the mark − fees paid in that currency."""
    positions: dict[str, list[Decimal]]
    """Per symbol (all accounts and venues), the quantity held at each grid instant."""
    fills: dict[tuple[str, str], FillPoints]
    realized_total: Decimal
    unrealized: dict[str, Decimal]
    fees: dict[str, Decimal]
    turnover: dict[str, Decimal]
    fill_count: int


MarkFn = dict[str, list[Decimal | None]]


def walk(db: sqlite3.Connection, grid: list[int], marks: MarkFn) -> Ledger:
    """`marks[symbol][i]` is the mark at `grid[i]` (None before the first quote)."""
    counts = {(str(s), str(side)): int(n) for s, side, n in db.execute(
        "SELECT symbol, side, COUNT(*) FROM fills GROUP BY symbol, side")}
    points = {key: FillPoints(max(1, -(-n // MAX_FILL_POINTS)), n) for key, n in counts.items()}
    seen = dict.fromkeys(counts, 0)
    symbols = sorted({s for s, _ in counts})
    marks = {s: marks.get(s) or [None] * len(grid) for s in symbols}
    currencies = sorted({quote_currency(s) for s in symbols})
    positions: dict[tuple[str, str, str], Position] = {}
    last_price: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    turnover: dict[str, Decimal] = {}
    realized = {c: [] for c in currencies}  # type: dict[str, list[Decimal]]
    equity = {c: [] for c in currencies}  # type: dict[str, list[Decimal]]
    held = {s: [] for s in symbols}  # type: dict[str, list[Decimal]]
    g = 0

    def sample(index: int) -> None:
        gross = dict.fromkeys(currencies, ZERO)
        net = dict.fromkeys(currencies, ZERO)
        quantity = dict.fromkeys(symbols, ZERO)
        for (_, _, symbol), position in positions.items():
            currency = currency_of[symbol]
            mark = marks[symbol][index]
            mark = last_price[symbol] if mark is None else mark
            gross[currency] += position.realized_pnl
            net[currency] += position.realized_pnl + position.unrealized_pnl(mark)
            quantity[symbol] += position.quantity
        for currency in currencies:
            realized[currency].append(gross[currency])
            equity[currency].append(net[currency] - fees.get(currency, ZERO))
        for symbol in symbols:
            held[symbol].append(quantity[symbol])

    rows = db.execute("SELECT client_order_id, trade_id, account_id, venue, symbol, side, price,"
                      " quantity, fee, fee_currency, liquidity, ts FROM fills ORDER BY rowid")
    currency_of = {s: quote_currency(s) for s in symbols}
    text, at, ts = "", 0, datetime.min  # fills come a few to a timestamp: parse each once
    for row in rows:
        if row[11] != text:
            text = row[11]
            ts, at = _time(row)
        fill = _fill(row, ts)
        while g < len(grid) and grid[g] < at:
            sample(g)
            g += 1
        key = (fill.account_id, fill.venue, fill.symbol)
        position = positions.get(key)
        if position is None:
            position = positions[key] = Position(*key)
        position.apply(fill)
        last_price[fill.symbol] = fill.price
        currency = currency_of[fill.symbol]
        turnover[currency] = turnover.get(currency, ZERO) + fill.price * fill.quantity
        if fill.fee:
            fees[fill.fee_currency] = fees.get(fill.fee_currency, ZERO) + fill.fee
        side_key = (fill.symbol, row[5])
        kept = points[side_key]
        if seen[side_key] % kept.stride == 0:
            kept.times.append(at)
            kept.prices.append(fill.price)
            kept.quantities.append(fill.quantity)
        seen[side_key] += 1
    while g < len(grid):
        sample(g)
        g += 1
    unrealized = dict.fromkeys(currencies, ZERO)
    for (_, _, symbol), position in positions.items():
        mark = marks[symbol][-1]
        mark = last_price[symbol] if mark is None else mark
        unrealized[quote_currency(symbol)] += position.unrealized_pnl(mark)
    return Ledger(grid, realized, equity, held, points,
                  sum((p.realized_pnl for p in positions.values()), ZERO), unrealized,
                  dict(sorted(fees.items())), dict(sorted(turnover.items())),
                  sum(counts.values()))


_SIDES = {side.value: side for side in Side}
_LIQUIDITY = {kind.value: kind for kind in Liquidity}


def _fill(row: tuple[str, ...], ts: datetime) -> Fill:
    (client_order_id, trade_id, account_id, venue, symbol, side, price, quantity, fee,
     fee_currency, liquidity, _) = row
    try:
        return Fill(client_order_id, trade_id, account_id, venue, symbol, _SIDES[side],
                    Decimal(price), Decimal(quantity), Decimal(fee), fee_currency,
                    _LIQUIDITY[liquidity], ts)
    except (KeyError, InvalidOperation) as exc:
        raise ReportError(f"journal.sqlite: fill {trade_id} of {client_order_id} is unreadable:"
                          f" {exc!r}") from None


def _time(row: tuple[str, ...]) -> tuple[datetime, int]:
    try:
        ts = datetime.fromisoformat(row[11])
    except (TypeError, ValueError) as exc:
        raise ReportError(f"journal.sqlite: fill {row[1]} of {row[0]} has no readable time:"
                          f" {exc}") from None
    return ts, micros(ts)


def max_drawdown(values: list[Decimal]) -> Decimal:
    """The largest fall from a running peak, sampled on the grid (zero for none)."""
    peak: Decimal | None = None
    worst = ZERO
    for value in values:
        peak = value if peak is None or value > peak else peak
        worst = max(worst, peak - value)
    return worst
