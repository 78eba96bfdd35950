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


async def test_a_cancelled_order_never_fills():
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91")])
    await venue.place_order(limit("gone", Side.BUY, "95"))
    await venue.place_order(limit("kept", Side.BUY, "95"))
    await venue.cancel_order(SYMBOL, "gone")
    await move_to(venue, clock, 10)  # ask 91 crosses both prices
    assert await venue.fetch_fills(SYMBOL, "gone") == []
    assert (await venue.fetch_order(SYMBOL, "gone")).status is S.CANCELLED
    assert (await venue.fetch_order(SYMBOL, "kept")).status is S.FILLED


async def test_a_gtd_order_due_at_a_quotes_time_expires_before_it_can_trade_on_it():
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91")])
    await venue.place_order(gtd("due", Side.BUY, "95", expires_at=at(10)))
    await move_to(venue, clock, 10)
    report = await venue.fetch_order(SYMBOL, "due")
    assert (report.status, report.filled_quantity, report.ts) == (S.EXPIRED, 0, at(10))


async def test_a_gtd_order_due_before_a_quote_expires_at_its_own_time_not_the_quotes():
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91")])
    await venue.place_order(gtd("due", Side.BUY, "95", expires_at=at(7)))
    await venue.place_order(gtd("later", Side.BUY, "95", expires_at=at(11)))
    await move_to(venue, clock, 10)
    due = await venue.fetch_order(SYMBOL, "due")
    assert (due.status, due.filled_quantity, due.ts) == (S.EXPIRED, 0, at(7))
    assert (await venue.fetch_order(SYMBOL, "later")).status is S.FILLED  # not due yet at 10


async def test_a_gtd_order_expires_on_time_with_no_quote_to_carry_it():
    venue, clock = await make_venue(QUIET)
    await venue.place_order(gtd("due", Side.BUY, "95", expires_at=at(5)))
    await move_to(venue, clock, 4)
    assert (await venue.fetch_order(SYMBOL, "due")).status is S.ACCEPTED
    await move_to(venue, clock, 5)
    report = await venue.fetch_order(SYMBOL, "due")
    assert (report.status, report.ts) == (S.EXPIRED, at(5))
    assert await venue.fetch_open_orders() == []


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


async def test_a_filled_or_expired_order_leaves_the_open_orders_and_the_book():
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91")])
    await venue.place_order(limit("fills", Side.BUY, "95"))
    await venue.place_order(gtd("expires", Side.SELL, "120", expires_at=at(10)))
    await venue.place_order(limit("rests", Side.SELL, "120"))
    await move_to(venue, clock, 10)
    assert [r.client_order_id for r in await venue.fetch_open_orders()] == ["rests"]


# ---------------------------------------------------------------- the work per quote


async def work_per_quote(resting_far_away):
    """Orders examined per quote with `resting_far_away` orders nowhere near the touch and
    three near buys that every quote crosses."""
    quotes = QUIET + [quote(s, "98", "99") for s in range(1, 21)]
    venue, clock = await make_venue(quotes)
    for n in range(resting_far_away):
        side, price = (Side.BUY, "50") if n % 2 else (Side.SELL, "200")
        await venue.place_order(limit(f"far-{n}", side, price))
    for n in range(3):
        await venue.place_order(limit(f"near-{n}", Side.BUY, "99", quantity="1000"))
    before = venue.orders_examined
    await move_to(venue, clock, 20)
    filled = [t.client_order_id for t in await trades_in_order(venue, ["near-0"])]
    assert len(filled) == 20  # every quote crossed the near buys
    return (venue.orders_examined - before) / 20


async def test_the_work_per_quote_does_not_grow_with_the_orders_resting_away_from_the_touch():
    assert await work_per_quote(10) == await work_per_quote(10_000)
    # three crossed buys, and the first order on each side that the quote does not cross
    assert await work_per_quote(10) == 5


# ---------------------------------------------------------------- priority


async def test_crossed_orders_fill_best_price_first_then_by_arrival():
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91")])
    for cid, price in [("a-95", "95"), ("b-97", "97"), ("c-95", "95"), ("d-99", "99"),
                       ("e-97", "97"), ("f-92", "92")]:
        await venue.place_order(limit(cid, Side.BUY, price))
    await move_to(venue, clock, 10)
    trades = await trades_in_order(venue, ["a-95", "b-97", "c-95", "d-99", "e-97", "f-92"])
    assert [(t.client_order_id, t.price, t.liquidity, t.ts) for t in trades] == [
        ("d-99", D("99"), Liquidity.MAKER, at(10)),
        ("b-97", D("97"), Liquidity.MAKER, at(10)),
        ("e-97", D("97"), Liquidity.MAKER, at(10)),
        ("a-95", D("95"), Liquidity.MAKER, at(10)),
        ("c-95", D("95"), Liquidity.MAKER, at(10)),
        ("f-92", D("92"), Liquidity.MAKER, at(10)),
    ]


async def test_each_crossed_order_sees_the_whole_quoted_size():
    """The quote is not used up order by order: each crossed order fills up to its size."""
    venue, clock = await make_venue(QUIET + [quote(10, "90", "91", ask_size="3")])
    await venue.place_order(limit("a", Side.BUY, "95", quantity="2"))
    await venue.place_order(limit("b", Side.BUY, "95", quantity="2"))
    await move_to(venue, clock, 10)
    assert [t.quantity for t in await trades_in_order(venue, ["a", "b"])] == [D(2), D(2)]


async def test_on_a_quote_that_crosses_both_sides_the_buys_fill_before_the_sells():
    venue, clock = await make_venue([quote(0, "99", "106"), quote(10, "101", "102")])
    await venue.place_order(limit("sell-101", Side.SELL, "101"))
    await venue.place_order(limit("sell-100", Side.SELL, "100"))
    await venue.place_order(limit("buy-103", Side.BUY, "103"))
    await move_to(venue, clock, 10)  # bid 101 crosses both sells, ask 102 the buy
    trades = await trades_in_order(venue, ["sell-101", "sell-100", "buy-103"])
    assert [(t.client_order_id, t.price) for t in trades] == [
        ("buy-103", D("103")), ("sell-100", D("100")), ("sell-101", D("101"))]


async def test_a_partly_filled_order_keeps_its_place_at_its_price():
    quotes = QUIET + [quote(10, "90", "91", ask_size="1"), quote(20, "90", "91", ask_size="1")]
    venue, clock = await make_venue(quotes)
    await venue.place_order(limit("first", Side.BUY, "95", quantity="2"))
    await venue.place_order(limit("second", Side.BUY, "95", quantity="2"))
    await move_to(venue, clock, 10)
    assert (await venue.fetch_order(SYMBOL, "first")).status is S.PARTIALLY_FILLED
    await move_to(venue, clock, 20)
    trades = await trades_in_order(venue, ["first", "second"])
    assert [(t.client_order_id, t.ts) for t in trades] == [
        ("first", at(10)), ("second", at(10)), ("first", at(20)), ("second", at(20))]
    assert (await venue.fetch_order(SYMBOL, "first")).status is S.FILLED


# ---------------------------------------------------------------- against a brute-force scan


@dataclass
class Order:
    """The least an order needs to rest in a `RestingBook`."""
    venue_order_id: str
    request: OrderRequest


@dataclass
class Naive:
    """A resting order in the reference model."""
    cid: str
    side: Side
    price: Decimal
    remaining: Decimal
    active_from: datetime
    expires_at: datetime | None
    arrival: int
    status: OrderStatus = S.ACCEPTED
    filled: Decimal = D(0)


class NaiveVenue:
    """The old matching, written as plainly as possible: at every quote, look at every
    resting order; then fill the crossed ones in price-time priority (buys, then sells)."""

    def __init__(self, quotes, latency):
        self.quotes, self.latency = quotes, latency
        self.orders: dict[str, Naive] = {}
        self.resting: list[Naive] = []
        self.fills: list[tuple] = []
        self.matched_to = T0  # quotes up to here have been matched

    def in_force(self, ts):
        return [q for q in self.quotes if q.ts <= ts][-1]

    def place(self, now, cid, side, price, quantity, expires_at):
        active = now + self.latency
        order = Naive(cid, side, price, quantity, active, expires_at, len(self.orders))
        self.orders[cid] = order
        q = self.in_force(active)
        touch, size = (q.ask, q.ask_size) if side is Side.BUY else (q.bid, q.bid_size)
        if (touch <= price if side is Side.BUY else touch >= price) and size > 0:
            self.fill(order, touch, min(size, quantity), Liquidity.TAKER, active)
        if order.remaining:
            self.resting.append(order)

    def fill(self, order, price, quantity, liquidity, ts):
        order.remaining -= quantity
        order.filled += quantity
        order.status = S.FILLED if order.remaining == 0 else S.PARTIALLY_FILLED
        self.fills.append((order.cid, price, quantity, liquidity, ts))

    def advance(self, now):
        for q in [q for q in self.quotes if self.matched_to < q.ts <= now]:
            live = [o for o in self.resting if o.active_from < q.ts]
            for o in live:
                if o.expires_at is not None and o.expires_at <= q.ts:
                    o.status = S.EXPIRED
            crossed = sorted((o for o in live if o.status is not S.EXPIRED and (
                q.ask <= o.price if o.side is Side.BUY else q.bid >= o.price)),
                key=lambda o: (o.side is not Side.BUY,
                               -o.price if o.side is Side.BUY else o.price, o.arrival))
            for o in crossed:
                size = q.ask_size if o.side is Side.BUY else q.bid_size
                if size > 0:
                    self.fill(o, o.price, min(size, o.remaining), Liquidity.MAKER, q.ts)
            self.resting = [o for o in self.resting if o.status in (S.ACCEPTED, S.PARTIALLY_FILLED)]
        self.matched_to = max(self.matched_to, now)
        for o in self.resting:
            if o.expires_at is not None and o.expires_at <= now:
                o.status = S.EXPIRED
        self.resting = [o for o in self.resting if o.status is not S.EXPIRED]

    def cancel(self, now, cid):
        self.advance(now)
        order = self.orders[cid]
        if order.status in (S.ACCEPTED, S.PARTIALLY_FILLED):
            order.status = S.CANCELLED
            self.resting.remove(order)


prices = st.integers(95, 105)
tapes = st.lists(st.tuples(prices, st.integers(1, 3), st.integers(0, 3), st.integers(0, 3)),
                 min_size=1, max_size=12)
steps = st.lists(st.one_of(
    st.tuples(st.just("place"), st.sampled_from([Side.BUY, Side.SELL]), prices,
              st.integers(1, 4), st.none() | st.integers(-1, 8)),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("wait"), st.sampled_from([0.5, 1, 1, 2, 3])),
), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tape=tapes, script=steps, latency_ms=st.sampled_from([0, 1_000, 1_500]))
def test_the_book_fills_what_a_scan_of_every_resting_order_would(tape, script, latency_ms):
    quotes = [quote(0, "99", "101")] + [
        quote(n + 1, str(bid), str(bid + spread), str(bid_size), str(ask_size))
        for n, (bid, spread, bid_size, ask_size) in enumerate(tape)]
    asyncio.run(_compare(quotes, script, latency_ms))


async def _compare(quotes, script, latency_ms):
    venue, clock = await make_venue(quotes, ack_latency_ms=latency_ms)
    naive = NaiveVenue(quotes, timedelta(milliseconds=latency_ms))
    now, cids = 0.0, []
    for step in script:
        if step[0] == "place":
            _, side, price, quantity, expires_in = step
            cid = f"o{len(cids)}"
            expires = None if expires_in is None else at(int(now) + expires_in)
            request = (limit(cid, side, str(price), str(quantity)) if expires is None
                       else gtd(cid, side, str(price), expires, str(quantity)))
            await venue.place_order(request)
            naive.place(at(now), cid, side, D(price), D(quantity), expires)
            cids.append(cid)
        elif step[0] == "cancel" and cids:
            cid = cids[step[1] % len(cids)]
            await venue.cancel_order(SYMBOL, cid)
            naive.cancel(at(now), cid)
        elif step[0] == "wait":
            now += step[1]
            await move_to(venue, clock, now)
            naive.advance(at(now))
    naive.advance(at(now))
    venue_fills = [(t.client_order_id, t.price, t.quantity, t.liquidity, t.ts)
                   for t in await trades_in_order(venue, cids)]
    assert venue_fills == naive.fills
    for cid in cids:
        report = await venue.fetch_order(SYMBOL, cid)
        assert (report.status, report.filled_quantity) == (naive.orders[cid].status,
                                                           naive.orders[cid].filled)
    open_orders = [r.client_order_id for r in await venue.fetch_open_orders()]
    assert open_orders == [o.cid for o in naive.resting]
