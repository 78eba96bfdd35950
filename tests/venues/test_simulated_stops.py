"""Spec: the simulated venue's native stop orders. A stop waits untriggered (ACCEPTED,
nothing filled) until a quote reaches its trigger (a buy stop: the ask at or above it; a
sell stop: the bid at or below it), then executes on that quote as a market order
(stop_market) or as a limit order at its price (stop_limit). A stop that would trigger on
arrival is refused and never exists. A quote reads only the stops it triggers."""

import asyncio
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.venues.base import OrderNotFound, OrderRejected, OrderRequest, StopWouldTrigger
from tests.venues.test_simulated_venue import SYMBOL, _PRICES, _tape, at, make_venue, move_to, quote

D = Decimal
S = OrderStatus
# TAPE of test_simulated_venue: 0 s 100.00/100.10, 10 s 99.00/99.20 (ask size 0.5),
# 20 s 98.00/98.50 (sizes 5), 30 s 101.00/101.10 (bid size 0.25, ask size 5).
FUNDED = {"main": {"USDT": D("1000000"), "BTC": D("10")}}


def stop(cid="s-1", side=Side.BUY, trigger="101.00", price=None, quantity="1",
         order_type=None, tif=TimeInForce.GTC, expires_at=None):
    kind = order_type or (OrderType.STOP_MARKET if price is None else OrderType.STOP_LIMIT)
    return OrderRequest(cid, "main", SYMBOL, side, kind, D(quantity),
                        None if price is None else D(price), tif, expires_at,
                        trigger_price=None if trigger is None else D(trigger))


@pytest.fixture
async def venue_clock():
    return await make_venue(balances=FUNDED, allow_short=False)


@pytest.fixture
def venue(venue_clock):
    return venue_clock[0]


@pytest.fixture
def clock(venue_clock):
    return venue_clock[1]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("side", "trigger"), [(Side.BUY, "100.10"), (Side.BUY, "100.05"),
                                               (Side.SELL, "100.00"), (Side.SELL, "100.05")],
                         ids=["buy-at-ask", "buy-below-ask", "sell-at-bid", "sell-above-bid"])
@pytest.mark.parametrize("limit", [None, "100.05"], ids=["stop_market", "stop_limit"])
async def test_a_stop_that_would_trigger_on_arrival_is_refused_and_never_exists(
        venue, side, trigger, limit):
    before = await venue.fetch_balances("main")
    with pytest.raises(StopWouldTrigger, match="Stop price would trigger immediately") as info:
        await venue.place_order(stop(side=side, trigger=trigger, price=limit))
    assert not info.value.retryable and not info.value.ambiguous
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(SYMBOL, "s-1")
    assert await venue.fetch_balances("main") == before
    assert venue.orders_per_client_id == {}


@pytest.mark.parametrize(("request_", "match"), [
    (stop(trigger=None), "stop price None"),
    (stop(trigger="101.005"), "PRICE_FILTER"),
    (stop(trigger="101.00", price="101.005"), "PRICE_FILTER"),
    (stop(order_type=OrderType.STOP_MARKET, price="101.00"), "takes no limit price"),
    (stop(order_type=OrderType.LIMIT, price="99.00"), "takes no trigger price"),
    (stop(trigger="101.00", quantity="0.05"), "NOTIONAL"),  # 0.05 x 101 < 10
], ids=["no-trigger", "trigger-off-tick", "limit-off-tick", "market-with-limit",
        "limit-with-trigger", "notional-at-trigger"])
async def test_a_malformed_stop_is_refused_naming_what_is_wrong(venue, request_, match):
    with pytest.raises(OrderRejected, match=match):
        await venue.place_order(request_)
    assert venue.orders_per_client_id == {}


async def test_a_stop_is_judged_on_the_touch_in_force_when_it_arrives():
    # Sent at 9.5 s with 1 s of latency, it arrives at 10.5 s (bid 99.00): a sell stop at
    # 99.50 would trigger there, though the bid it was sent on (100.00) was above it.
    venue, clock = await make_venue(balances=FUNDED, ack_latency_ms=1000)
    clock.advance_to(at(9.5))
    with pytest.raises(StopWouldTrigger):
        await venue.place_order(stop(side=Side.SELL, trigger="99.50"))


# ---------------------------------------------------------------- waiting, cancelling


async def test_an_untriggered_stop_rests_unfilled_and_locks_what_it_may_consume(venue, clock):
    buy = await venue.place_order(stop("b", Side.BUY, trigger="102.00", quantity="2"))
    sell = await venue.place_order(stop("s", Side.SELL, trigger="97.00", price="96.50",
                                        quantity="3"))
    assert buy.status is S.ACCEPTED and buy.filled_quantity == 0
    assert sell.status is S.ACCEPTED and sell.trigger_price == D("97.00")
    await move_to(venue, clock, 30)  # asks 99.20 .. 101.10, bids 101 .. 98: none reached
    balances = await venue.fetch_balances("main")
    assert balances["USDT"].used == D("204.00")  # 2 x the buy stop's trigger
    assert balances["BTC"].used == D("3")
    opened = {r.client_order_id: r for r in await venue.fetch_open_orders(SYMBOL)}
    assert {cid: (r.status, r.order_type, r.trigger_price, r.price) for cid, r in opened.items()} == {
        "b": (S.ACCEPTED, OrderType.STOP_MARKET, D("102.00"), None),
        "s": (S.ACCEPTED, OrderType.STOP_LIMIT, D("97.00"), D("96.50"))}
    assert await venue.fetch_fills(SYMBOL, "b") == [] == await venue.fetch_fills(SYMBOL, "s")


async def test_a_cancelled_stop_releases_its_lock_and_never_triggers():
    tape = [quote(0, "100.00", "100.10"), quote(10, "100.00", "100.10"),
            quote(20, "102.00", "102.10")]
    venue, clock = await make_venue(quotes=tape, balances=FUNDED)
    await venue.place_order(stop(trigger="101.00"))
    clock.advance_to(at(10))
    cancelled = await venue.cancel_order(SYMBOL, "s-1")
    assert cancelled.status is S.CANCELLED
    assert (await venue.fetch_balances("main"))["USDT"].used == 0
    await move_to(venue, clock, 20)  # would have triggered it
    assert (await venue.fetch_order(SYMBOL, "s-1")).status is S.CANCELLED
    assert await venue.fetch_fills(SYMBOL, "s-1") == []
    assert await venue.fetch_open_orders() == []


# ---------------------------------------------------------------- triggering


async def test_a_buy_stop_market_triggers_when_the_ask_reaches_it_and_takes(venue, clock):
    await venue.place_order(stop(trigger="101.00"))
    await move_to(venue, clock, 20)
    assert (await venue.fetch_order(SYMBOL, "s-1")).status is S.ACCEPTED
    await move_to(venue, clock, 30)  # ask 101.10 >= 101.00
    trades = await venue.fetch_fills(SYMBOL, "s-1")
    # the touch plus 1 bp of slippage, rounded against the taker: 101.10 x 1.0001 -> 101.12
    assert [(t.price, t.quantity, t.liquidity, t.ts) for t in trades] == [
        (D("101.12"), D("1"), Liquidity.TAKER, at(30))]
    report = await venue.fetch_order(SYMBOL, "s-1")
    assert report.status is S.FILLED
    assert (await venue.fetch_balances("main"))["USDT"].used == 0


async def test_a_sell_stop_market_takes_what_the_bid_offers_and_the_rest_expires(venue, clock):
    await venue.place_order(stop(side=Side.SELL, trigger="99.00", quantity="3"))
    await move_to(venue, clock, 30)  # bid 99.00 at 10 s triggers it: 2 there, no more after
    trades = await venue.fetch_fills(SYMBOL, "s-1")
    assert [(t.quantity, t.liquidity, t.ts) for t in trades] == [(D("2"), Liquidity.TAKER, at(10))]
    report = await venue.fetch_order(SYMBOL, "s-1")
    assert (report.status, report.filled_quantity) == (S.EXPIRED, D("2"))
    assert (await venue.fetch_balances("main"))["BTC"].used == 0


async def test_a_triggered_stop_limit_that_crosses_takes_at_the_touch(venue, clock):
    await venue.place_order(stop(side=Side.SELL, trigger="99.00", price="98.80"))
    await move_to(venue, clock, 10)
    trades = await venue.fetch_fills(SYMBOL, "s-1")
    assert [(t.price, t.liquidity) for t in trades] == [(D("99.00"), Liquidity.TAKER)]
    assert (await venue.fetch_order(SYMBOL, "s-1")).status is S.FILLED


async def test_a_triggered_stop_limit_that_does_not_cross_rests_and_fills_later_as_maker(
        venue, clock):
    await venue.place_order(stop(side=Side.SELL, trigger="99.00", price="99.10", quantity="1"))
    await move_to(venue, clock, 20)  # triggered at 10 s (bid 99.00), a sell at 99.10 rests
    report = await venue.fetch_order(SYMBOL, "s-1")
    assert (report.status, report.filled_quantity) == (S.ACCEPTED, 0)
    assert [r.client_order_id for r in await venue.fetch_open_orders()] == ["s-1"]
    assert (await venue.fetch_balances("main"))["BTC"].used == D("1")
    await move_to(venue, clock, 30)  # bid 101.00 x 0.25 crosses it
    trades = await venue.fetch_fills(SYMBOL, "s-1")
    assert [(t.price, t.quantity, t.liquidity) for t in trades] == [
        (D("99.10"), D("0.25"), Liquidity.MAKER)]
    assert (await venue.fetch_order(SYMBOL, "s-1")).status is S.PARTIALLY_FILLED
    assert (await venue.fetch_balances("main"))["BTC"].used == D("0.75")


async def test_a_triggered_ioc_stop_limit_that_does_not_cross_expires(venue, clock):
    await venue.place_order(stop(side=Side.SELL, trigger="99.00", price="99.10",
                                 tif=TimeInForce.IOC))
    await move_to(venue, clock, 30)
    report = await venue.fetch_order(SYMBOL, "s-1")
    assert (report.status, report.filled_quantity) == (S.EXPIRED, 0)


async def test_a_gtd_stop_expires_untriggered_at_its_deadline(venue, clock):
    await venue.place_order(stop(trigger="101.00", tif=TimeInForce.GTD, expires_at=at(25)))
    await move_to(venue, clock, 30)  # the ask reaches 101.10 at 30 s, after the deadline
    report = await venue.fetch_order(SYMBOL, "s-1")
    assert (report.status, report.filled_quantity) == (S.EXPIRED, 0)
    assert (await venue.fetch_balances("main"))["USDT"].used == 0


async def test_a_quote_reads_only_the_stops_it_triggers():
    # 200 stops far from the market and one that the last quote triggers: matching the
    # quotes reads the triggered one plus one per side, not the 200.
    tape = [quote(n, "100.00", "100.10") for n in range(50)] + [quote(50, "100.50", "100.60")]
    venue, clock = await make_venue(quotes=tape, balances=FUNDED)
    for n in range(100):
        await venue.place_order(stop(f"b{n}", Side.BUY, trigger=str(D("110.00") + D(n) / 10)))
        await venue.place_order(stop(f"s{n}", Side.SELL, trigger=str(D("90.00") - D(n) / 10)))
    await venue.place_order(stop("near", Side.BUY, trigger="100.50"))
    clock.advance_to(at(49))
    venue.advance()
    per_quote = venue.orders_examined / 49
    assert per_quote <= 2  # the first buy stop and the first sell stop, each quote
    await move_to(venue, clock, 50)
    assert (await venue.fetch_order(SYMBOL, "near")).status is S.FILLED
    assert len(await venue.fetch_open_orders()) == 200


# ---------------------------------------------------------------- property


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tape=_tape(), side=st.sampled_from([Side.BUY, Side.SELL]), trigger=_PRICES,
       limit=st.one_of(st.none(), _PRICES))
def test_property_a_stop_never_fills_before_its_trigger_is_crossed(tape, side, trigger, limit):
    """Over any touch and any quotes after it: a stop is refused exactly when its trigger
    is reached on arrival; otherwise no fill comes before the first quote that reaches it,
    and none at all if no quote does."""

    def reaches(q):
        return q.ask >= trigger if side is Side.BUY else q.bid <= trigger

    async def scenario():
        venue, clock = await make_venue(quotes=tape, balances=FUNDED)
        try:
            await venue.place_order(stop(side=side, trigger=str(trigger),
                                         price=None if limit is None else str(limit)))
        except StopWouldTrigger:
            assert reaches(tape[0])
            return
        except OrderRejected as exc:  # below the minimum notional at a low limit price
            assert "NOTIONAL" in str(exc)
            return
        assert not reaches(tape[0]), "a stop that would trigger at once was let through"
        clock.advance_to(at(len(tape) * 10))
        venue.advance()
        first = next((q.ts for q in tape[1:] if reaches(q)), None)
        trades = await venue.fetch_fills(SYMBOL, "s-1")
        if first is None:
            assert trades == []
            assert (await venue.fetch_order(SYMBOL, "s-1")).status is S.ACCEPTED
        for trade in trades:
            assert first is not None and trade.ts >= first
            if limit is not None:  # a stop_limit never trades through its limit
                assert trade.price <= limit if side is Side.BUY else trade.price >= limit

    asyncio.run(scenario())
