"""The chaos venue: each distortion does what it says, and only to the call it was
queued for; what the venue underneath does is never changed by a distortion."""

from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.chaos_venue import APPLIES_TO, Chaos, ChaosVenue, ProcessKilled
from ordergate.testing.scenario import BTC, T0, quote
from ordergate.testing.send_log import Seen
from ordergate.venues.base import (
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRequest,
    VenueAdapter,
    VenueTimeout,
)
from ordergate.venues.market_data import MarketData
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings

D = Decimal
SYMBOL = "BTC/USDT"
# A buy limit at 41990 rests, fills 0.004 at 5 s and the rest at 20 s: two trades.
QUOTES = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "0.004"),
          quote(20, "41970", "41985", "5")]


def _request(client_order_id="c-1", order_type=OrderType.LIMIT, price="41990"):
    return OrderRequest(client_order_id, "main", SYMBOL, Side.BUY, order_type, D("0.010"),
                        D(price) if order_type is OrderType.LIMIT else None, TimeInForce.GTC)


@pytest.fixture
def world():
    clock = SimulatedClock(T0)
    sim = SimulatedVenue(SimulatedVenueSettings(name="sim", instruments=[BTC], slippage_bps=D(0)),
                         clock, MarketData(QUOTES))
    return clock, sim, ChaosVenue(sim, clock, context=lambda r: {"id": r.client_order_id})


async def _two_trades(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    await chaos.place_order(_request())
    clock.advance(25)
    sim.advance()
    return await sim.fetch_fills(SYMBOL, "c-1")


def test_it_is_a_venue_adapter(world):
    assert isinstance(world[2], VenueAdapter)


@pytest.mark.parametrize(("operation", "chaos"), [
    ("fetch_fills", Chaos.STALE_REPORT), ("place", Chaos.DUPLICATE_FILLS),
    ("cancel", Chaos.DELAYED_SEND), ("fetch_order", Chaos.NOT_FOUND_YET)])
def test_chaos_queued_for_an_operation_it_cannot_apply_to_is_refused(world, operation, chaos):
    with pytest.raises(ValueError, match="does not apply"):
        world[2].inject(operation, chaos)


def test_every_kind_of_chaos_applies_somewhere():
    assert set(APPLIES_TO) == set(Chaos) and all(APPLIES_TO.values())


async def test_duplicate_fills_report_every_trade_twice_once(world):
    trades = await _two_trades(world)
    chaos = world[2]
    chaos.inject("fetch_fills", Chaos.DUPLICATE_FILLS)
    assert await chaos.fetch_fills(SYMBOL, "c-1") == [trades[0], trades[0], trades[1], trades[1]]
    assert await chaos.fetch_fills(SYMBOL, "c-1") == trades


async def test_reordered_fills_come_newest_first(world):
    trades = await _two_trades(world)
    world[2].inject("fetch_fills", Chaos.REORDERED_FILLS)
    assert await world[2].fetch_fills(SYMBOL, "c-1") == trades[::-1]


async def test_lagging_fills_hide_the_latest_trade_while_the_report_counts_it(world):
    trades = await _two_trades(world)
    chaos = world[2]
    chaos.inject("fetch_fills", Chaos.LAGGING_FILLS)
    assert await chaos.fetch_fills(SYMBOL, "c-1") == trades[:1]
    assert (await chaos.fetch_order(SYMBOL, "c-1")).filled_quantity == D("0.010")


async def test_a_stale_report_is_the_first_one_given(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    first = await chaos.place_order(_request())
    clock.advance(25)
    chaos.inject("fetch_order", Chaos.STALE_REPORT)
    assert await chaos.fetch_order(SYMBOL, "c-1") == first
    assert (await chaos.fetch_order(SYMBOL, "c-1")).status is S.FILLED
    assert chaos.distorted == [(clock.now(), "c-1", Chaos.STALE_REPORT)]


async def test_a_stale_report_without_history_is_the_bare_acknowledgement(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", Chaos.STALE_REPORT)
    report = await chaos.place_order(_request(order_type=OrderType.MARKET))
    assert (report.status, report.filled_quantity, report.remaining_quantity,
            report.average_price) == (S.ACCEPTED, 0, D("0.010"), None)
    assert (await sim.fetch_order(SYMBOL, "c-1")).status is S.FILLED


async def test_status_lags_fills_reports_accepted_with_the_fills_counted(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", Chaos.STATUS_LAGS_FILLS)
    report = await chaos.place_order(_request(order_type=OrderType.MARKET))
    assert (report.status, report.filled_quantity) == (S.ACCEPTED, D("0.010"))


async def test_a_lost_reply_still_takes_effect(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    await chaos.place_order(_request())
    chaos.inject("cancel", Chaos.REPLY_LOST)
    with pytest.raises(VenueTimeout):
        await chaos.cancel_order(SYMBOL, "c-1")
    assert (await sim.fetch_order(SYMBOL, "c-1")).status is S.CANCELLED


async def test_not_found_yet_hides_a_placed_order_from_queries_for_a_while(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", Chaos.NOT_FOUND_YET)
    assert (await chaos.place_order(_request())).status is S.ACCEPTED
    clock.advance(2.9)
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "c-1")
    assert await chaos.fetch_open_orders() == []
    assert len(await sim.fetch_open_orders()) == 1
    clock.advance(0.1)
    assert (await chaos.fetch_order(SYMBOL, "c-1")).status is S.ACCEPTED
    assert [r.client_order_id for r in await chaos.fetch_open_orders()] == ["c-1"]


async def test_a_delayed_request_times_out_then_executes_inside_the_window(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", Chaos.DELAYED_SEND)
    with pytest.raises(VenueTimeout):
        await chaos.place_order(_request(order_type=OrderType.MARKET))
    chaos.clear()  # the queued chaos goes; the request in transit does not
    clock.advance(7.9)
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "c-1")
    assert chaos.in_transit == 1
    clock.advance(0.1)
    report = await chaos.fetch_order(SYMBOL, "c-1")  # executed now, on the quote of 5 s
    assert (report.status, report.filled_quantity) == (S.EXPIRED, D("0.004"))
    assert chaos.in_transit == 0 and sim.orders_per_client_id == {"c-1": 1}


@pytest.mark.parametrize(("chaos_kind", "at_venue"), [(Chaos.CRASH_BEFORE_SEND, {}),
                                                      (Chaos.CRASH_AFTER_SEND, {"c-1": 1})])
async def test_a_crash_mid_send_is_a_base_exception_before_or_after_the_venue(
        world, chaos_kind, at_venue):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", chaos_kind)
    with pytest.raises(ProcessKilled):
        await chaos.place_order(_request())
    assert not isinstance(ProcessKilled(), Exception)
    assert sim.orders_per_client_id == at_venue


async def test_every_order_that_reaches_it_is_recorded_with_its_context(world):
    clock, sim, chaos = world
    await chaos.load_instruments()
    chaos.inject("place", Chaos.CRASH_BEFORE_SEND)
    with pytest.raises(ProcessKilled):
        await chaos.place_order(_request("c-1"))
    await chaos.place_order(_request("c-2"))
    assert [(s.request.client_order_id, s.context, s.ts) for s in chaos.sent] == [
        ("c-1", {"id": "c-1"}, T0), ("c-2", {"id": "c-2"}, T0)]


async def test_sends_refusals_and_absent_lookups_are_logged_in_the_order_they_happened(world):
    # What "look it up before any resend" is checked against (`send_log.py`): a lost
    # reply is a send and nothing else; the venue refusing a duplicate outright, and a
    # lookup answered "not found" (at the venue, or hidden by NOT_FOUND_YET), are noted.
    clock, sim, chaos = world
    await chaos.load_instruments()
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "c-1")
    chaos.inject("place", Chaos.REPLY_LOST)
    with pytest.raises(VenueTimeout):
        await chaos.place_order(_request("c-1"))
    with pytest.raises(DuplicateClientOrderId):
        await chaos.place_order(_request("c-1"))
    chaos.inject("place", Chaos.NOT_FOUND_YET)
    await chaos.place_order(_request("c-2"))
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "c-2")
    assert chaos.sends.entries == [
        (Seen.ABSENT, "c-1"), (Seen.SENT, "c-1"), (Seen.SENT, "c-1"), (Seen.REFUSED, "c-1"),
        (Seen.SENT, "c-2"), (Seen.ABSENT, "c-2")]
    assert chaos.sends.resent_unlooked() == ["c-1"]
