"""Spec: the simulated venue behaves like a real one: filters, Binance-style duplicate
IDs, matching against recorded quotes, and the failures real venues produce."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.clock import SimulatedClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.venues.base import (
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    PostOnlyWouldTake,
    RateLimited,
    UnknownSymbol,
    VenueAdapter,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.faults import Fault
from ordergate.venues.market_data import MarketData, Quote
from ordergate.venues.simulated import InstrumentSpec, SimulatedVenue, SimulatedVenueSettings

D = Decimal
S = OrderStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SYMBOL = "BTC/USDT"
BTC = InstrumentSpec(symbol=SYMBOL, tick_size=D("0.01"), lot_size=D("0.001"),
                     min_notional=D("10"))


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def quote(seconds, bid, ask, bid_size="2", ask_size="2", symbol=SYMBOL):
    return Quote(at(seconds), symbol, D(bid), D(ask), D(bid_size), D(ask_size))


# The tape most tests run on. Prices fall, then jump up.
TAPE = [
    quote(0, "100.00", "100.10"),
    quote(10, "99.00", "99.20", ask_size="0.5"),
    quote(20, "98.00", "98.50", "5", "5"),
    quote(30, "101.00", "101.10", "0.25", "5"),
]


async def make_venue(quotes=TAPE, start=T0, on_inferred=None, **settings):
    settings.setdefault("instruments", [BTC])
    clock = SimulatedClock(start)
    venue = SimulatedVenue(SimulatedVenueSettings(**settings), clock, MarketData(list(quotes)),
                           on_inferred=on_inferred)
    await venue.load_instruments()
    return venue, clock


def req(cid="c-1", side=Side.BUY, order_type=OrderType.LIMIT, quantity="1", price="99.00",
        tif=TimeInForce.GTC, expires_at=None, symbol=SYMBOL, account="main", post_only=False):
    return OrderRequest(cid, account, symbol, side, order_type, D(quantity),
                        None if price is None else D(price), tif, expires_at,
                        post_only=post_only)


def market(cid="c-1", side=Side.BUY, quantity="1", tif=TimeInForce.GTC, **kw):
    return req(cid, side, OrderType.MARKET, quantity, None, tif, **kw)


async def move_to(venue, clock, seconds):
    clock.advance_to(at(seconds))
    venue.advance()


@pytest.fixture
async def venue_clock():
    return await make_venue()


@pytest.fixture
def venue(venue_clock):
    return venue_clock[0]


@pytest.fixture
def clock(venue_clock):
    return venue_clock[1]


async def test_simulated_venue_is_a_venue_adapter(venue):
    assert isinstance(venue, VenueAdapter)
    assert venue.name == "sim"


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (req(price="99.005"), "PRICE_FILTER"),
        (req(quantity="0.0015"), "LOT_SIZE"),
        (req(quantity="0.05", price="100.00"), "NOTIONAL"),
        (market(quantity="0.05"), "NOTIONAL"),
        (req(price=None), "PRICE_FILTER"),
    ],
    ids=["price-off-tick", "quantity-off-lot", "limit-below-min-notional",
         "market-below-min-notional", "limit-without-price"],
)
async def test_order_breaking_a_filter_is_rejected_and_never_exists(venue, request_, match):
    before = await venue.fetch_balances("main")
    with pytest.raises(OrderRejected, match=match):
        await venue.place_order(request_)
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, request_.client_order_id)
    assert await venue.fetch_balances("main") == before
    assert venue.orders_per_client_id == {}


async def test_quantity_below_minimum_or_above_maximum_is_rejected():
    spec = InstrumentSpec(symbol=SYMBOL, tick_size=D("0.01"), lot_size=D("0.001"),
                          min_quantity=D("0.01"), max_quantity=D("5"))
    venue, _ = await make_venue(instruments=[spec])
    with pytest.raises(OrderRejected, match="below minimum"):
        await venue.place_order(req(quantity="0.009"))
    with pytest.raises(OrderRejected, match="above maximum"):
        await venue.place_order(req(quantity="5.001"))


async def test_buy_beyond_the_quote_balance_is_insufficient_funds():
    venue, _ = await make_venue(balances={"main": {"USDT": D("99")}})
    with pytest.raises(InsufficientFunds, match="USDT"):
        await venue.place_order(req(quantity="1", price="99.00"))  # 99 * 1.0005 > 99
    with pytest.raises(InsufficientFunds):
        await venue.place_order(market(quantity="1"))
    assert issubclass(InsufficientFunds, OrderRejected)


async def test_unknown_account_has_no_funds(venue):
    with pytest.raises(InsufficientFunds):
        await venue.place_order(req(account="nobody"))


async def test_spot_sell_without_the_base_asset_is_insufficient_funds():
    venue, _ = await make_venue(allow_short=False)
    with pytest.raises(InsufficientFunds, match="BTC"):
        await venue.place_order(market(side=Side.SELL, quantity="0.5"))


async def test_margin_account_may_sell_what_it_does_not_hold(venue):
    report = await venue.place_order(market(side=Side.SELL, quantity="0.5"))
    assert report.status is S.FILLED
    assert (await venue.fetch_balances("main"))["BTC"].free == D("-0.5")


async def test_unknown_symbol_is_refused(venue):
    with pytest.raises(UnknownSymbol):
        await venue.place_order(req(symbol="DOGE/USDT"))
    with pytest.raises(UnknownSymbol):
        await venue.fetch_ticker("DOGE/USDT")


async def test_order_before_the_first_quote_is_rejected():
    venue, _ = await make_venue(start=at(-1))
    with pytest.raises(OrderRejected, match="no market"):
        await venue.place_order(market())
    with pytest.raises(VenueUnavailable):
        await venue.fetch_ticker(SYMBOL)


async def test_market_sell_below_min_notional_at_the_bid_is_rejected(venue):
    # 0.1 * bid 99.99 = 9.999 < 10 <= 0.1 * ask 100.10
    with pytest.raises(OrderRejected, match="NOTIONAL"):
        await venue.place_order(market(side=Side.SELL, quantity="0.1"))


async def test_market_buy_never_overdraws_the_quote_balance():
    # exactly enough for 1 @ ask 100.10 plus taker fee; it fills at 100.12
    venue, _ = await make_venue(balances={"main": {"USDT": D("100.10") * D("1.0005")}})
    try:
        await venue.place_order(market(quantity="1"))
    except InsufficientFunds:
        return
    assert (await venue.fetch_balances("main"))["USDT"].free >= 0


# ---------------------------------------------------------------- duplicate client IDs


async def test_client_order_id_of_an_open_order_is_refused(venue):
    first = await venue.place_order(req(price="95.00"))
    assert first.status is S.ACCEPTED
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(req(price="95.00"))
    assert venue.orders_per_client_id == {"c-1": 1}
    assert len(await venue.fetch_open_orders()) == 1


async def test_client_order_id_is_accepted_again_once_the_first_order_filled(venue):
    """Binance semantics: only *open* orders block a client order ID; a retried market
    order whose first attempt filled is accepted and fills twice."""
    first = await venue.place_order(market(quantity="0.5"))
    second = await venue.place_order(market(quantity="0.5"))
    assert first.status is second.status is S.FILLED
    assert first.venue_order_id != second.venue_order_id
    assert venue.orders_per_client_id == {"c-1": 2}
    assert (await venue.fetch_order(SYMBOL, "c-1")).venue_order_id == second.venue_order_id
    assert (await venue.fetch_balances("main"))["BTC"].free == D("1.0")


async def test_client_order_id_is_accepted_again_after_a_cancel(venue):
    await venue.place_order(req(price="95.00"))
    await venue.cancel_order(SYMBOL, "c-1")
    again = await venue.place_order(req(price="95.00"))
    assert again.status is S.ACCEPTED
    assert venue.orders_per_client_id["c-1"] == 2


# ---------------------------------------------------------------- market orders


async def test_market_buy_fills_at_the_ask_plus_slippage_rounded_up_against_the_taker(venue):
    report = await venue.place_order(market(quantity="1"))
    # 100.10 * (1 + 1 bp) = 100.11001 -> next tick up
    assert report.status is S.FILLED
    assert report.filled_quantity == D(1)
    assert report.remaining_quantity == 0
    assert report.average_price == D("100.12")
    (trade,) = await venue.fetch_fills(SYMBOL, "c-1")
    assert trade.price == D("100.12")
    assert trade.liquidity is Liquidity.TAKER


async def test_market_sell_fills_at_the_bid_minus_slippage_rounded_down(venue):
    report = await venue.place_order(market(side=Side.SELL, quantity="1"))
    assert report.average_price == D("99.99")


async def test_market_order_without_slippage_fills_at_the_touch():
    venue, _ = await make_venue(slippage_bps=D(0))
    report = await venue.place_order(market(quantity="1"))
    assert report.average_price == D("100.10")


async def test_market_order_larger_than_the_touch_fills_what_is_quoted_and_expires(venue):
    report = await venue.place_order(market(quantity="3"))
    assert report.status is S.EXPIRED
    assert report.filled_quantity == D(2)
    assert report.remaining_quantity == D(1)
    assert [t.quantity for t in await venue.fetch_fills(SYMBOL, "c-1")] == [D(2)]
    assert await venue.fetch_open_orders() == []


async def test_market_order_against_an_empty_touch_expires_unfilled():
    venue, _ = await make_venue(quotes=[quote(0, "100.00", "100.10", ask_size="0")])
    report = await venue.place_order(market(quantity="1"))
    assert report.status is S.EXPIRED
    assert report.filled_quantity == 0
    assert report.average_price is None


# ---------------------------------------------------------------- limit orders


async def test_limit_order_that_does_not_cross_rests_unfilled(venue):
    report = await venue.place_order(req(price="99.50"))
    assert report.status is S.ACCEPTED
    assert report.filled_quantity == 0
    assert [r.client_order_id for r in await venue.fetch_open_orders(SYMBOL)] == ["c-1"]
    assert await venue.fetch_open_orders("ETH/USDT") == []


async def test_limit_order_that_crosses_on_arrival_takes_at_the_touch(venue):
    report = await venue.place_order(req(price="101.00", quantity="1"))
    assert report.status is S.FILLED
    assert report.average_price == D("100.10")
    (trade,) = await venue.fetch_fills(SYMBOL, "c-1")
    assert trade.liquidity is Liquidity.TAKER


async def test_resting_limit_fills_as_maker_at_its_price_partially_on_a_thin_quote(venue, clock):
    await venue.place_order(req(price="99.50", quantity="1"))
    await move_to(venue, clock, 10)  # ask 99.20 x 0.5 crosses
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.status is S.PARTIALLY_FILLED
    assert report.filled_quantity == D("0.5")
    assert report.average_price == D("99.50")
    await move_to(venue, clock, 20)  # ask 98.50 x 5 crosses
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.status is S.FILLED
    assert report.filled_quantity == D("1.0")
    assert report.ts == at(20)
    trades = await venue.fetch_fills(SYMBOL, "c-1")
    assert [(t.price, t.quantity, t.liquidity, t.ts) for t in trades] == [
        (D("99.50"), D("0.5"), Liquidity.MAKER, at(10)),
        (D("99.50"), D("0.5"), Liquidity.MAKER, at(20)),
    ]
    assert await venue.fetch_open_orders() == []


async def test_resting_sell_fills_when_the_bid_rises_through_it(venue, clock):
    await venue.place_order(req(side=Side.SELL, price="100.50", quantity="0.2"))
    await move_to(venue, clock, 20)
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.ACCEPTED
    await move_to(venue, clock, 30)  # bid 101.00 x 0.25
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.status is S.FILLED
    assert report.average_price == D("100.50")


async def test_fetch_order_brings_resting_orders_up_to_the_clock(venue, clock):
    await venue.place_order(req(price="99.50", quantity="0.5"))
    clock.advance_to(at(10))
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.FILLED


async def test_resting_order_is_not_matched_against_quotes_before_it_arrived(venue, clock):
    clock.advance_to(at(15))  # quote in force: ask 99.20
    report = await venue.place_order(req(price="98.60", quantity="1"))
    assert report.status is S.ACCEPTED
    await move_to(venue, clock, 20)  # ask 98.50 crosses 98.60
    trades = await venue.fetch_fills(SYMBOL, "c-1")
    assert [(t.ts, t.price) for t in trades] == [(at(20), D("98.60"))]


async def test_quote_taken_on_arrival_is_not_matched_again_when_the_order_rests(venue, clock):
    await venue.place_order(req(cid="far", price="90.00"))  # keeps the book non-empty
    clock.advance_to(at(10))  # ask 99.20 x 0.5
    report = await venue.place_order(req(price="99.50", quantity="1"))
    assert report.filled_quantity == D("0.5")
    clock.advance_to(at(15))
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.filled_quantity == D("0.5")  # no new quote yet: nothing more to fill


# ---------------------------------------------------------------- time in force


async def test_fok_that_cannot_fill_entirely_expires_with_nothing_filled(venue):
    before = await venue.fetch_balances("main")
    report = await venue.place_order(req(price="101.00", quantity="3", tif=TimeInForce.FOK))
    assert report.status is S.EXPIRED
    assert report.filled_quantity == 0
    assert await venue.fetch_fills(SYMBOL, "c-1") == []
    assert await venue.fetch_balances("main") == before


@pytest.mark.parametrize(
    "request_",
    [req(price="99.00", tif=TimeInForce.FOK), market(quantity="3", tif=TimeInForce.FOK)],
    ids=["limit-not-crossing", "market-too-large"],
)
async def test_fok_that_cannot_fill_now_expires_unfilled(venue, request_):
    report = await venue.place_order(request_)
    assert report.status is S.EXPIRED
    assert report.filled_quantity == 0


async def test_fok_that_can_fill_entirely_fills(venue):
    report = await venue.place_order(req(price="101.00", quantity="2", tif=TimeInForce.FOK))
    assert report.status is S.FILLED
    assert report.filled_quantity == D(2)


async def test_ioc_fills_what_it_can_and_the_remainder_expires(venue):
    report = await venue.place_order(req(price="101.00", quantity="3", tif=TimeInForce.IOC))
    assert report.status is S.EXPIRED
    assert report.filled_quantity == D(2)
    assert report.remaining_quantity == D(1)
    assert await venue.fetch_open_orders() == []


async def test_ioc_that_does_not_cross_expires_unfilled(venue):
    report = await venue.place_order(req(price="99.00", tif=TimeInForce.IOC))
    assert report.status is S.EXPIRED
    assert report.filled_quantity == 0


async def test_gtd_order_expires_at_the_first_quote_after_its_expiry(venue, clock):
    await venue.place_order(req(price="95.00", tif=TimeInForce.GTD, expires_at=at(15)))
    await move_to(venue, clock, 10)
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.ACCEPTED
    await move_to(venue, clock, 20)
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.status is S.EXPIRED
    assert report.filled_quantity == 0
    assert await venue.fetch_open_orders() == []


async def test_gtd_order_fills_normally_before_its_expiry(venue, clock):
    await venue.place_order(req(price="99.50", quantity="0.5", tif=TimeInForce.GTD,
                                expires_at=at(15)))
    await move_to(venue, clock, 10)
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.FILLED


async def test_gtd_order_is_not_filled_by_a_quote_after_its_expiry(venue, clock):
    await venue.place_order(req(price="99.50", tif=TimeInForce.GTD, expires_at=at(5)))
    await move_to(venue, clock, 10)  # ask 99.20 crosses, but the order expired at 5 s
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.filled_quantity == 0
    assert report.status is S.EXPIRED


async def test_gtd_order_is_expired_once_the_clock_passes_expiry(venue, clock):
    await venue.place_order(req(price="95.00", tif=TimeInForce.GTD, expires_at=at(2)))
    clock.advance_to(at(5))
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.EXPIRED


# ---------------------------------------------------------------- cancel and lookup


async def test_cancel_of_a_resting_order_cancels_it(venue):
    await venue.place_order(req(price="95.00"))
    report = await venue.cancel_order(SYMBOL, "c-1")
    assert report.status is S.CANCELLED
    assert await venue.fetch_open_orders() == []
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.CANCELLED


async def test_cancel_of_a_partially_filled_order_keeps_what_filled(venue, clock):
    await venue.place_order(req(price="99.50", quantity="1"))
    await move_to(venue, clock, 10)
    report = await venue.cancel_order(SYMBOL, "c-1")
    assert report.status is S.CANCELLED
    assert report.filled_quantity == D("0.5")
    await move_to(venue, clock, 20)
    assert (await venue.fetch_order(SYMBOL, "c-1")).filled_quantity == D("0.5")


async def test_cancel_of_a_filled_order_returns_filled_without_raising(venue):
    await venue.place_order(market(quantity="1"))
    first = await venue.cancel_order(SYMBOL, "c-1")
    second = await venue.cancel_order(SYMBOL, "c-1")
    assert first.status is second.status is S.FILLED
    assert first.filled_quantity == D(1)


async def test_cancel_applies_fills_that_happened_before_it(venue, clock):
    await venue.place_order(req(price="99.50", quantity="0.5"))
    clock.advance_to(at(10))  # the order filled while the cancel travelled
    assert (await venue.cancel_order(SYMBOL, "c-1")).status is S.FILLED


async def test_unknown_order_is_not_found(venue):
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "nope")
    with pytest.raises(OrderNotFound):
        await venue.cancel_order(SYMBOL, "nope")
    with pytest.raises(OrderNotFound):
        await venue.fetch_fills(SYMBOL, "nope")


async def test_order_can_be_found_by_venue_order_id(venue):
    placed = await venue.place_order(req(price="95.00"))
    report = await venue.fetch_order(SYMBOL, "ignored", placed.venue_order_id)
    assert report.client_order_id == "c-1"


# ---------------------------------------------------------------- fills, fees, balances


async def test_trades_have_unique_ids_and_taker_or_maker_fees(venue, clock):
    await venue.place_order(req(cid="a", price="100.10", quantity="3"))  # 2 taker, 1 rests
    await venue.place_order(market(cid="b", side=Side.SELL, quantity="1"))
    await move_to(venue, clock, 20)
    trades = (await venue.fetch_fills(SYMBOL, "a")) + (await venue.fetch_fills(SYMBOL, "b"))
    assert len({t.trade_id for t in trades}) == len(trades) == 4
    for trade in trades:
        rate = D("0.0005") if trade.liquidity is Liquidity.TAKER else D("0.0002")
        assert trade.fee == trade.price * trade.quantity * rate
        assert trade.fee_currency == "USDT"
    a = await venue.fetch_fills(SYMBOL, "a")
    assert [t.liquidity for t in a] == [Liquidity.TAKER, Liquidity.MAKER, Liquidity.MAKER]
    assert [t.quantity for t in a] == [D(2), D("0.5"), D("0.5")]
    assert sum(t.quantity for t in a) == (await venue.fetch_order(SYMBOL, "a")).filled_quantity


async def test_balances_move_with_fills_including_fees(venue):
    await venue.place_order(market(quantity="1"))
    balances = await venue.fetch_balances("main")
    cost = D("100.12") * (1 + D("0.0005"))
    assert balances["BTC"].free == D(1)
    assert balances["USDT"].free == D(100000) - cost
    assert balances["USDT"].used == 0
    await venue.place_order(market(cid="c-2", side=Side.SELL, quantity="1"))
    balances = await venue.fetch_balances("main")
    assert balances["BTC"].free == 0
    assert balances["USDT"].free == D(100000) - cost + D("99.99") * (1 - D("0.0005"))


async def test_balances_of_an_unknown_account_are_empty(venue):
    assert await venue.fetch_balances("ghost") == {}


# ---------------------------------------------------------------- reservations


async def usdt(venue, account="main"):
    return (await venue.fetch_balances(account))["USDT"]


async def test_second_resting_buy_beyond_the_free_balance_is_insufficient_funds():
    venue, _ = await make_venue(balances={"main": {"USDT": D("1000")}})
    await venue.place_order(req(cid="a", quantity="6", price="95.00"))  # locks 570
    with pytest.raises(InsufficientFunds, match="USDT"):  # 570.285 needed, 430 free
        await venue.place_order(req(cid="b", quantity="6", price="95.00"))
    with pytest.raises(InsufficientFunds):
        await venue.place_order(market(cid="m", quantity="5"))  # 500.xx at the ask
    assert [r.client_order_id for r in await venue.fetch_open_orders()] == ["a"]
    assert venue.orders_per_client_id == {"a": 1}
    await venue.cancel_order(SYMBOL, "a")
    assert (await venue.place_order(req(cid="b", quantity="6", price="95.00"))).status is S.ACCEPTED


async def test_spot_sell_beyond_the_free_base_is_insufficient_funds():
    venue, _ = await make_venue(allow_short=False, balances={"main": {"USDT": D(0), "BTC": D(1)}})
    await venue.place_order(req(cid="a", side=Side.SELL, quantity="0.6", price="100.50"))
    with pytest.raises(InsufficientFunds, match="BTC"):
        await venue.place_order(req(cid="b", side=Side.SELL, quantity="0.6", price="100.50"))
    with pytest.raises(InsufficientFunds, match="BTC"):
        await venue.place_order(market(cid="m", side=Side.SELL, quantity="0.5"))


async def test_resting_buy_locks_its_cost_without_changing_the_total(venue):
    await venue.place_order(req(price="95.00", quantity="1"))
    balance = await usdt(venue)
    assert (balance.free, balance.used, balance.total) == (D("99905.00"), D("95.00"), D(100000))


async def test_order_that_takes_then_rests_locks_only_its_remainder(venue):
    await venue.place_order(req(price="100.10", quantity="3"))  # 2 taken at the ask, 1 rests
    balance = await usdt(venue)
    assert balance.used == D("100.10")
    assert balance.total == D(100000) - D("200.20") * (1 + D("0.0005"))


async def test_partial_fill_releases_the_filled_part_and_cancel_releases_the_rest(venue, clock):
    await venue.place_order(req(price="99.50", quantity="1"))
    await move_to(venue, clock, 10)  # ask 99.20 x 0.5: half fills as maker
    balance = await usdt(venue)
    assert balance.used == D("99.50") * D("0.5")
    assert balance.total == D(100000) - D("49.75") * (1 + D("0.0002"))
    await venue.cancel_order(SYMBOL, "c-1")
    after = await usdt(venue)
    assert (after.used, after.free) == (0, balance.total)


async def test_fill_releases_the_whole_lock(venue, clock):
    await venue.place_order(req(price="99.50", quantity="0.5"))
    await move_to(venue, clock, 10)
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.FILLED
    assert (await usdt(venue)).used == 0


@pytest.mark.parametrize("seconds", [20, 16], ids=["at-a-quote", "between-quotes"])
async def test_gtd_expiry_releases_the_lock(venue, clock, seconds):
    await venue.place_order(req(price="95.00", tif=TimeInForce.GTD, expires_at=at(15)))
    assert (await usdt(venue)).used == D("95.00")
    clock.advance_to(at(seconds))
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.EXPIRED
    balance = await usdt(venue)
    assert (balance.free, balance.used) == (D(100000), 0)


async def test_spot_sell_locks_its_base_until_it_fills():
    venue, clock = await make_venue(allow_short=False,
                                    balances={"main": {"USDT": D(0), "BTC": D(1)}})
    await venue.place_order(req(side=Side.SELL, quantity="0.6", price="100.50"))
    btc = (await venue.fetch_balances("main"))["BTC"]
    assert (btc.free, btc.used) == (D("0.4"), D("0.6"))
    assert (await usdt(venue)).used == 0
    await move_to(venue, clock, 30)  # bid 101.00 x 0.25
    btc = (await venue.fetch_balances("main"))["BTC"]
    assert (btc.free, btc.used, btc.total) == (D("0.4"), D("0.35"), D("0.75"))
    await venue.cancel_order(SYMBOL, "c-1")
    btc = (await venue.fetch_balances("main"))["BTC"]
    assert (btc.free, btc.used) == (D("0.75"), 0)


async def test_margin_sell_locks_nothing(venue):
    await venue.place_order(req(side=Side.SELL, quantity="0.6", price="100.50"))
    assert all(b.used == 0 for b in (await venue.fetch_balances("main")).values())


@pytest.mark.parametrize(
    "request_",
    [market(quantity="1"), market(quantity="3"), req(price="101.00", quantity="3", tif=TimeInForce.IOC),
     req(price="101.00", quantity="3", tif=TimeInForce.FOK)],
    ids=["market-filled", "market-expired", "ioc", "fok"],
)
async def test_order_that_never_rests_locks_nothing_once_it_finishes(venue, request_):
    report = await venue.place_order(request_)
    assert report.status.is_terminal
    balances = await venue.fetch_balances("main")
    assert all(b.used == 0 for b in balances.values())
    assert balances["USDT"].free == balances["USDT"].total


async def test_many_partial_fills_release_exactly_what_was_locked():
    sizes = ["0.013", "0.007", "0.031", "0.0", "0.111", "0.003", "0.029", "0.017"]
    tape = [quote(0, "99.00", "99.50")] + [
        quote(i + 1, "97.00", "97.37", ask_size=size) for i, size in enumerate(sizes)]
    venue, clock = await make_venue(tape, balances={"main": {"USDT": D("1000.01")}})
    await venue.place_order(req(price="97.43", quantity="0.337"))
    for i in range(1, len(sizes) + 1):
        await move_to(venue, clock, i)
        remaining = (await venue.fetch_order(SYMBOL, "c-1")).remaining_quantity
        assert (await usdt(venue)).used == D("97.43") * remaining
    assert (await venue.fetch_order(SYMBOL, "c-1")).filled_quantity == D("0.211")
    await venue.cancel_order(SYMBOL, "c-1")
    balance = await usdt(venue)
    fills = await venue.fetch_fills(SYMBOL, "c-1")
    assert balance.used == 0
    assert balance.free == D("1000.01") - sum(t.price * t.quantity + t.fee for t in fills)


async def test_fetch_fills_reports_trades_up_to_the_clock(venue, clock):
    await venue.place_order(req(price="99.50", quantity="0.5"))
    clock.advance_to(at(10))
    assert len(await venue.fetch_fills(SYMBOL, "c-1")) == 1


async def test_ticker_is_the_quote_in_force(venue, clock):
    clock.advance_to(at(12))
    ticker = await venue.fetch_ticker(SYMBOL)
    assert (ticker.bid, ticker.ask, ticker.ts) == (D("99.00"), D("99.20"), at(10))
    assert ticker.mid == D("99.10")


# ---------------------------------------------------------------- instruments


async def test_configured_instrument_keeps_its_rules(venue):
    instrument = (await venue.load_instruments())[SYMBOL]
    assert (instrument.base, instrument.quote) == ("BTC", "USDT")
    assert instrument.tick_size == D("0.01") and instrument.lot_size == D("0.001")
    assert instrument.min_quantity == D("0.001")  # defaults to the lot
    assert instrument.min_notional == D(10)
    assert instrument.venue == "sim"


async def test_symbol_absent_from_config_gets_an_inferred_instrument_once():
    inferred = []
    quotes = TAPE + [quote(0, "20.1", "20.125", symbol="SOL/USDT"),
                     quote(5, "20.13", "20.2", symbol="SOL/USDT")]
    venue, _ = await make_venue(quotes=quotes, on_inferred=inferred.append)
    instruments = await venue.load_instruments()
    await venue.load_instruments()
    assert [i.symbol for i in inferred] == ["SOL/USDT"]
    sol = instruments["SOL/USDT"]
    assert sol is inferred[0]
    assert sol.tick_size == D("0.001")  # the finest price increment in the data
    assert sol.lot_size == sol.min_quantity == D("0.0001")
    assert sol.min_notional == D(1)
    assert (sol.base, sol.quote) == ("SOL", "USDT")
    assert instruments[SYMBOL].tick_size == D("0.01")  # configured, not inferred
    report = await venue.place_order(market(symbol="SOL/USDT", quantity="1"))
    assert report.status is S.FILLED


async def test_inferred_lot_and_min_notional_follow_settings():
    venue, _ = await make_venue(instruments=[], inferred_lot_size=D("0.5"),
                                inferred_min_notional=D("50"))
    instrument = (await venue.load_instruments())[SYMBOL]
    assert instrument.tick_size == D("0.01")
    assert instrument.lot_size == D("0.5")
    assert instrument.min_notional == D("50")


# ---------------------------------------------------------------- latency


@pytest.mark.parametrize(("latency_ms", "price", "ts"),
                         [(0, "100.12", at(0)), (9_999, "100.12", at(9.999)),
                          (10_000, "99.21", at(10))])
async def test_market_order_uses_the_quote_in_force_when_it_arrives(latency_ms, price, ts):
    venue, _ = await make_venue(ack_latency_ms=latency_ms)
    report = await venue.place_order(market(quantity="0.5"))
    assert report.average_price == D(price)
    assert report.ts == ts


async def test_resting_order_only_matches_quotes_after_it_arrives():
    tape = [quote(0, "100.00", "100.10"), quote(2, "99.00", "99.20"),
            quote(4, "100.00", "100.10"), quote(10, "98.00", "98.50")]
    venue, clock = await make_venue(quotes=tape, ack_latency_ms=5_000)
    report = await venue.place_order(req(price="99.50", quantity="0.5"))  # arrives at 5 s
    assert report.status is S.ACCEPTED
    assert report.ts == at(5)
    await move_to(venue, clock, 9)  # the crossing quote at 2 s came before it arrived
    assert (await venue.fetch_order(SYMBOL, "c-1")).filled_quantity == 0
    await move_to(venue, clock, 10)
    trades = await venue.fetch_fills(SYMBOL, "c-1")
    assert [(t.ts, t.price, t.liquidity) for t in trades] == [
        (at(10), D("99.50"), Liquidity.MAKER)]


# ---------------------------------------------------------------- fault injection


async def test_timeout_after_accept_raises_but_the_order_exists(venue):
    venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
    with pytest.raises(VenueTimeout) as info:
        await venue.place_order(market(quantity="1"))
    assert info.value.ambiguous and info.value.retryable
    report = await venue.fetch_order(SYMBOL, "c-1")
    assert report.status is S.FILLED
    assert venue.orders_per_client_id == {"c-1": 1}


async def test_timeout_after_accept_of_a_resting_order_blocks_a_blind_resend(venue):
    venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
    with pytest.raises(VenueTimeout):
        await venue.place_order(req(price="95.00"))
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(req(price="95.00"))


async def test_timeout_before_accept_raises_and_no_order_exists(venue):
    venue.faults.inject("place", Fault.TIMEOUT_BEFORE_ACCEPT)
    with pytest.raises(VenueTimeout) as info:
        await venue.place_order(market(quantity="1"))
    assert info.value.ambiguous
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "c-1")
    retried = await venue.place_order(market(quantity="1"))  # the fault was consumed
    assert retried.status is S.FILLED
    assert venue.orders_per_client_id == {"c-1": 1}


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.UNAVAILABLE, VenueUnavailable), (Fault.RATE_LIMITED, RateLimited),
     (Fault.REJECT, OrderRejected)],
)
async def test_place_fault_raises_its_error_and_creates_no_order(venue, fault, error):
    venue.faults.inject("place", fault)
    with pytest.raises(error) as info:
        await venue.place_order(market())
    assert not info.value.ambiguous
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "c-1")
    assert venue.orders_per_client_id == {}


async def test_rate_limit_says_when_to_retry(venue):
    venue.faults.inject("place", Fault.RATE_LIMITED)
    with pytest.raises(RateLimited) as info:
        await venue.place_order(market())
    assert info.value.retry_after == 1.0
    assert info.value.retryable


async def test_injected_faults_are_consumed_one_call_each(venue):
    venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=2)
    await venue.place_order(req(price="95.00"))
    for _ in range(2):
        with pytest.raises(VenueUnavailable):
            await venue.fetch_order(SYMBOL, "c-1")
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.ACCEPTED


async def test_timeout_on_a_lookup_is_a_timeout_not_not_found(venue):
    await venue.place_order(req(price="95.00"))
    venue.faults.inject("fetch_order", Fault.TIMEOUT_BEFORE_ACCEPT)
    with pytest.raises(VenueTimeout):
        await venue.fetch_order(SYMBOL, "c-1")


async def test_faults_for_one_operation_do_not_affect_others(venue):
    venue.faults.inject("cancel", Fault.UNAVAILABLE)
    assert (await venue.place_order(req(price="95.00"))).status is S.ACCEPTED
    with pytest.raises(VenueUnavailable):
        await venue.cancel_order(SYMBOL, "c-1")
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.ACCEPTED


CALLS = {
    "place_order": lambda v: v.place_order(market()),
    "cancel_order": lambda v: v.cancel_order(SYMBOL, "c-1"),
    "fetch_order": lambda v: v.fetch_order(SYMBOL, "c-1"),
    "fetch_open_orders": lambda v: v.fetch_open_orders(),
    "fetch_fills": lambda v: v.fetch_fills(SYMBOL, "c-1"),
    "fetch_balances": lambda v: v.fetch_balances("main"),
    "fetch_ticker": lambda v: v.fetch_ticker(SYMBOL),
}


@pytest.mark.parametrize("call", list(CALLS))
async def test_outage_makes_every_call_unavailable(venue, call):
    await venue.place_order(req(price="95.00"))
    venue.faults.down = True
    with pytest.raises(VenueUnavailable):
        await CALLS[call](venue)


async def test_outage_is_reported_by_health_and_clears(venue):
    assert (await venue.health()).ok
    venue.faults.down = True
    health = await venue.health()
    assert not health.ok
    assert health.venue == "sim" and health.detail
    venue.faults.clear()
    assert (await venue.health()).ok
    assert (await venue.place_order(market())).status is S.FILLED


# ---------------------------------------------------------------- history retention


async def test_finished_orders_are_evicted_after_the_retention_period():
    venue, clock = await make_venue(history_retention_s=60)
    await venue.place_order(market(cid="old", quantity="0.5"))
    clock.advance_to(at(59))
    await venue.place_order(market(cid="mid", quantity="0.5"))
    assert (await venue.fetch_order(SYMBOL, "old")).status is S.FILLED  # within retention
    clock.advance_to(at(61))
    await venue.place_order(market(cid="new", quantity="0.5"))
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "old")
    assert (await venue.fetch_order(SYMBOL, "mid")).status is S.FILLED
    assert (await venue.fetch_order(SYMBOL, "new")).status is S.FILLED


async def test_open_orders_are_never_evicted():
    venue, clock = await make_venue(history_retention_s=1)
    await venue.place_order(req(cid="resting", price="90.00"))
    clock.advance_to(at(100))
    await venue.place_order(market(cid="other", quantity="0.5"))
    clock.advance_to(at(200))
    await venue.place_order(market(cid="another", quantity="0.5"))
    assert (await venue.fetch_order(SYMBOL, "resting")).status is S.ACCEPTED


async def test_eviction_of_an_old_order_keeps_a_newer_order_with_the_same_client_id():
    venue, clock = await make_venue(history_retention_s=60)
    await venue.place_order(market(cid="dup", quantity="0.5"))
    clock.advance_to(at(50))
    newer = await venue.place_order(market(cid="dup", quantity="0.5"))
    clock.advance_to(at(70))
    await venue.place_order(market(cid="trigger", quantity="0.5"))
    assert (await venue.fetch_order(SYMBOL, "dup")).venue_order_id == newer.venue_order_id


async def test_finished_order_is_forgotten_after_retention_even_when_nothing_else_happens():
    venue, clock = await make_venue(history_retention_s=60)
    await venue.place_order(market(cid="old", quantity="0.5"))
    clock.advance_to(at(120))
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "old")


async def test_per_client_id_counts_are_forgotten_with_the_history_but_a_duplicate_is_kept():
    venue, clock = await make_venue(history_retention_s=60)
    for i in range(50):
        await venue.place_order(market(cid=f"c-{i}", quantity="0.1"))
    await venue.place_order(market(cid="twice", quantity="0.1"))
    await venue.place_order(market(cid="twice", quantity="0.1"))  # a duplicate, as evidence
    assert len(venue.orders_per_client_id) == 51
    clock.advance_to(at(120))
    await venue.place_order(market(cid="late", quantity="0.1"))
    assert venue.orders_per_client_id == {"twice": 2, "late": 1}  # bounded by the history


# ---------------------------------------------------------------- post-only


@pytest.mark.parametrize(("side", "price"), [(Side.BUY, "100.10"), (Side.BUY, "101.00"),
                                             (Side.SELL, "100.00"), (Side.SELL, "99.00")],
                         ids=["buy-at-ask", "buy-above-ask", "sell-at-bid", "sell-below-bid"])
async def test_a_post_only_order_that_would_take_is_refused_and_never_exists(venue, side, price):
    before = await venue.fetch_balances("main")
    with pytest.raises(PostOnlyWouldTake, match="would immediately match and take") as info:
        await venue.place_order(req(side=side, price=price, post_only=True))
    assert not info.value.retryable and not info.value.ambiguous
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "c-1")
    assert await venue.fetch_balances("main") == before
    assert venue.orders_per_client_id == {}
    assert await venue.fetch_open_orders() == []


@pytest.mark.parametrize("request_", [req(order_type=OrderType.MARKET, price=None, post_only=True),
                                      req(tif=TimeInForce.IOC, price="99.50", post_only=True),
                                      req(tif=TimeInForce.FOK, price="99.50", post_only=True)],
                         ids=["market", "ioc", "fok"])
async def test_a_post_only_order_that_could_not_rest_is_refused_as_such(venue, request_):
    with pytest.raises(OrderRejected, match="post-only needs a limit order that can rest") as info:
        await venue.place_order(request_)
    assert not isinstance(info.value, PostOnlyWouldTake)
    assert venue.orders_per_client_id == {}


async def test_a_post_only_order_judged_on_the_touch_in_force_when_it_arrives():
    # Sent at 9.5 s with 1 s of latency: it arrives at 10.5 s, when the ask is 99.20. A buy
    # at 99.50 would take there, so it is refused, though the touch it was sent on (100.10)
    # was above it.
    venue, clock = await make_venue(ack_latency_ms=1000)
    clock.advance_to(at(9.5))
    with pytest.raises(PostOnlyWouldTake):
        await venue.place_order(req(price="99.50", post_only=True))


async def test_a_post_only_order_that_rests_fills_only_as_maker_at_its_price(venue, clock):
    report = await venue.place_order(req(price="99.50", quantity="1", post_only=True))
    assert report.status is S.ACCEPTED and report.filled_quantity == 0
    await move_to(venue, clock, 20)  # asks 99.20 x 0.5, then 98.50 x 5, cross it
    trades = await venue.fetch_fills(SYMBOL, "c-1")
    assert (await venue.fetch_order(SYMBOL, "c-1")).status is S.FILLED
    assert [(t.price, t.liquidity) for t in trades] == [(D("99.50"), Liquidity.MAKER)] * 2


_PRICES = st.integers(min_value=9_000, max_value=11_000).map(lambda cents: D(cents) / 100)


@st.composite
def _tape(draw):
    """A touch (bid below ask), then later quotes anywhere around it."""
    quotes = []
    for n in range(draw(st.integers(min_value=1, max_value=6))):
        bid = draw(_PRICES)
        ask = bid + draw(st.integers(min_value=1, max_value=50)) * D("0.01")
        size = draw(st.sampled_from(["0.3", "1", "5"]))
        quotes.append(quote(n * 10, str(bid), str(ask), size, size))
    return quotes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tape=_tape(), side=st.sampled_from([Side.BUY, Side.SELL]), price=_PRICES)
def test_property_a_post_only_order_never_produces_a_taker_fill(tape, side, price):
    """Over any touch and any quotes after it: a post-only order is refused exactly when it
    would take on arrival, and every fill of one that rests is a maker fill at its price."""

    async def scenario():
        venue, clock = await make_venue(quotes=tape, balances={"main": {"USDT": D("1000000"),
                                                                        "BTC": D("100")}})
        first = tape[0]
        would_take = first.ask <= price if side is Side.BUY else first.bid >= price
        try:
            await venue.place_order(req(side=side, price=str(price), post_only=True))
        except PostOnlyWouldTake:
            assert would_take
            assert venue.orders_per_client_id == {}
            return
        assert not would_take, "an order that would take was let through"
        clock.advance_to(at(len(tape) * 10))
        venue.advance()
        for trade in await venue.fetch_fills(SYMBOL, "c-1"):
            assert trade.liquidity is Liquidity.MAKER
            assert trade.price == price

    asyncio.run(scenario())
