"""Spec: the simulated venue's resting orders are a price-time book. A quote reads only the
orders it crosses (the work per quote does not grow with the orders resting away from the
touch), fills them best price first and by arrival within a price, and whatever ends an
order (a fill, a cancel, an expiry) takes it out of the book for good."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.clock import SimulatedClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.venues.base import OrderRequest
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.sim_book import RestingBook
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

D = Decimal
S = OrderStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SYMBOL = "X/USDT"
UNIT = InstrumentSpec(symbol=SYMBOL, tick_size=D("1"), lot_size=D("1"), min_notional=D("0"))
RICH = {"main": {"USDT": D("1000000000000")}}


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def quote(seconds, bid, ask, bid_size="2", ask_size="2"):
    return Quote(at(seconds), SYMBOL, D(bid), D(ask), D(bid_size), D(ask_size))


async def make_venue(quotes, **settings):
    settings.setdefault("instruments", [UNIT])
    settings.setdefault("balances", RICH)
    clock = SimulatedClock(T0)
    venue = SimulatedVenue(SimulatedVenueSettings(**settings), clock, MarketData(list(quotes)))
    await venue.load_instruments()
    return venue, clock


def limit(cid, side, price, quantity="1", tif=TimeInForce.GTC, expires_at=None):
    return OrderRequest(cid, "main", SYMBOL, side, OrderType.LIMIT, D(quantity), D(price),
                        tif, expires_at)


def gtd(cid, side, price, expires_at, quantity="1"):
    return limit(cid, side, price, quantity, TimeInForce.GTD, expires_at)


async def trades_in_order(venue, cids):
    """Every trade of these orders, in the order the venue made them."""
    trades = [t for cid in cids for t in await venue.fetch_fills(SYMBOL, cid)]
    return sorted(trades, key=lambda t: int(t.trade_id.rsplit("-t", 1)[1]))


async def move_to(venue, clock, seconds):
    clock.advance_to(at(seconds))
    venue.advance()


QUIET = [quote(0, "100", "101")]  # the touch every order below arrives at: nothing crosses


# ---------------------------------------------------------------- what ends an order


@dataclass
class Order:
    """The least an order needs to rest in a `RestingBook`."""
    venue_order_id: str
    request: OrderRequest



def test_the_book_rests_only_limit_orders_and_each_only_once():
    book = RestingBook[Order]()
    with pytest.raises(ValueError, match="only a limit order"):
        book.add(Order("m", OrderRequest("m", "main", SYMBOL, Side.BUY, OrderType.MARKET, D(1),
                                         None, TimeInForce.GTC)))
    order = Order("a", limit("a", Side.BUY, "95"))
    book.add(order)
    with pytest.raises(ValueError, match="already rests"):
        book.add(order)
    assert book.remove(order) is True
    assert book.remove(order) is False  # a second cancel finds nothing to take out
    assert len(book) == 0 and book.held == 0


def test_orders_that_leave_the_book_leave_nothing_behind_in_it():
    """Lazy deletion in the expiry heap is compacted: a strategy that places and cancels
    far-dated orders all day does not grow the book."""
    book = RestingBook[Order]()
    kept = Order("kept", gtd("kept", Side.SELL, "200", at(86_400)))
    book.add(kept)
    for n in range(10_000):
        order = Order(f"o{n}", gtd(f"o{n}", Side.BUY, str(50 + n % 7), at(3_600 + n)))
        book.add(order)
        book.remove(order)
        assert book.held <= 2 * (len(book) + 1) + 2
    assert list(book) == [kept]
    assert book.expired(at(86_400)) == [kept]
    assert book.held == 0
