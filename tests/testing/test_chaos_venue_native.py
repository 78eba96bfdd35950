"""The chaos venue over the venue's native replace and OCO lists: offered only when the
venue underneath has them, never bypassed by a wrapper looking through it, and hit by the
faults whose answer must be a lookup by client order ID (a lost request, a lost answer, a
delayed request, an order the queries do not show yet, a kill mid-send)."""

from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.testing.chaos_venue import Chaos, ChaosVenue, ProcessKilled
from ordergate.testing.scenario import BTC, T0, quote
from ordergate.venues.base import (
    OcoLeg,
    OcoRequest,
    OcoUnsupported,
    OrderNotFound,
    OrderRequest,
    ReplaceAmbiguous,
    ReplaceUnsupported,
    VenueTimeout,
    oco_capable,
    replaceable,
)
from ordergate.venues.guarded import GuardedVenue
from ordergate.venues.market_data import MarketData
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings

D = Decimal
SYMBOL = "BTC/USDT"
QUOTES = [quote(0, "42000", "42010", "5"), quote(60, "42000", "42010", "5")]
# A buy list: take-profit below the ask (it rests), stop above it (not reached).
LIST = OcoRequest("l-1", "main", SYMBOL, Side.BUY, D("0.010"), OcoLeg("tp-1", D("41000")),
                  OcoLeg("sl-1", D("43000")))


def _limit(cid: str, price: str = "41500") -> OrderRequest:
    return OrderRequest(cid, "main", SYMBOL, Side.BUY, OrderType.LIMIT, D("0.010"), D(price),
                        TimeInForce.GTC)


def _world(native: bool = True) -> tuple[SimulatedClock, SimulatedVenue, ChaosVenue]:
    clock = SimulatedClock(T0)
    sim = SimulatedVenue(SimulatedVenueSettings(
        name="sim", instruments=[BTC], slippage_bps=D(0), native_replace=native,
        native_oco=native), clock, MarketData(QUOTES))
    return clock, sim, ChaosVenue(sim, clock, context=lambda r: {"id": r.client_order_id})


async def _resting(native: bool = True) -> tuple[SimulatedClock, SimulatedVenue, ChaosVenue]:
    clock, sim, chaos = _world(native)
    await chaos.load_instruments()
    await chaos.place_order(_limit("old"))
    return clock, sim, chaos


async def _status(sim: SimulatedVenue, cid: str) -> S | None:
    try:
        return (await sim.fetch_order(SYMBOL, cid)).status
    except OrderNotFound:
        return None


# ---------------------------------------------------------------- offered only when there

async def test_without_native_features_underneath_none_is_offered_and_nothing_is_sent() -> None:
    clock, sim, chaos = await _resting(native=False)
    guard = GuardedVenue.wrap(chaos, clock)
    assert replaceable(guard) is None and oco_capable(guard) is None
    with pytest.raises(ReplaceUnsupported):
        await chaos.replace_order("old", None, _limit("new"))
    with pytest.raises(OcoUnsupported):
        await chaos.place_oco(LIST)
    assert sim.orders_per_client_id == {"old": 1}
    assert [s.request.client_order_id for s in chaos.sent] == ["old"]


async def test_a_guard_over_it_replaces_and_lists_through_it_not_around_it() -> None:
    clock, sim, chaos = await _resting()
    guard = GuardedVenue.wrap(chaos, clock)
    assert replaceable(guard) is guard and oco_capable(guard) is guard
    chaos.inject("replace", Chaos.LOST_IN_TRANSIT)
    chaos.inject("place_oco", Chaos.LOST_IN_TRANSIT)
    with pytest.raises(ReplaceAmbiguous):  # the chaos hit: the call went through it
        await guard.replace_order("old", None, _limit("new"))
    with pytest.raises(VenueTimeout):
        await guard.place_oco(LIST)
    assert [s.request.client_order_id for s in chaos.sent] == ["old", "new", "tp-1", "sl-1"]


# ---------------------------------------------------------------- replace

async def test_a_replace_lost_before_the_venue_changed_nothing() -> None:
    clock, sim, chaos = await _resting()
    chaos.inject("replace", Chaos.LOST_IN_TRANSIT)
    with pytest.raises(ReplaceAmbiguous):
        await chaos.replace_order("old", None, _limit("new"))
    assert (await _status(sim, "old"), await _status(sim, "new")) == (S.ACCEPTED, None)


async def test_a_replace_whose_answer_was_lost_was_carried_out() -> None:
    clock, sim, chaos = await _resting()
    chaos.inject("replace", Chaos.REPLY_LOST)
    with pytest.raises(ReplaceAmbiguous):
        await chaos.replace_order("old", None, _limit("new"))
    assert (await _status(sim, "old"), await _status(sim, "new")) == (S.CANCELLED, S.ACCEPTED)


async def test_a_delayed_replace_is_carried_out_when_it_arrives() -> None:
    clock, sim, chaos = await _resting()
    chaos.inject("replace", Chaos.DELAYED_SEND)
    with pytest.raises(ReplaceAmbiguous):
        await chaos.replace_order("old", None, _limit("new"))
    clock.advance(7.9)
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "new")
    clock.advance(0.1)
    assert (await chaos.fetch_order(SYMBOL, "new")).status is S.ACCEPTED
    assert await _status(sim, "old") is S.CANCELLED and chaos.in_transit == 0


async def test_a_replacement_not_found_yet_is_hidden_from_queries_for_a_while() -> None:
    clock, sim, chaos = await _resting()
    chaos.inject("replace", Chaos.NOT_FOUND_YET)
    report = await chaos.replace_order("old", None, _limit("new"))
    assert (report.cancelled.status, report.placed.status) == (S.CANCELLED, S.ACCEPTED)
    with pytest.raises(OrderNotFound):
        await chaos.fetch_order(SYMBOL, "new")
    assert [r.client_order_id for r in await chaos.fetch_open_orders()] == []
    clock.advance(3)
    assert (await chaos.fetch_order(SYMBOL, "new")).status is S.ACCEPTED


@pytest.mark.parametrize(("kind", "old", "new"), [
    (Chaos.CRASH_BEFORE_SEND, S.ACCEPTED, None), (Chaos.CRASH_AFTER_SEND, S.CANCELLED, S.ACCEPTED)])
async def test_a_kill_mid_replace_is_before_or_after_the_venue(kind, old, new) -> None:
    clock, sim, chaos = await _resting()
    chaos.inject("replace", kind)
    with pytest.raises(ProcessKilled):
        await chaos.replace_order("old", None, _limit("new"))
    assert (await _status(sim, "old"), await _status(sim, "new")) == (old, new)


# ---------------------------------------------------------------- OCO lists

async def test_a_list_is_recorded_leg_by_leg_like_placements() -> None:
    clock, sim, chaos = _world()
    await chaos.load_instruments()
    reports = await chaos.place_oco(LIST)
    assert [r.client_order_id for r in reports] == ["tp-1", "sl-1"]
    assert [(s.request.client_order_id, s.context) for s in chaos.sent] == [
        ("tp-1", {"id": "tp-1"}), ("sl-1", {"id": "sl-1"})]


@pytest.mark.parametrize(("kind", "exists"), [
    (Chaos.LOST_IN_TRANSIT, None), (Chaos.REPLY_LOST, S.ACCEPTED)])
async def test_a_list_without_an_answer_exists_whole_or_not_at_all(kind, exists) -> None:
    clock, sim, chaos = _world()
    await chaos.load_instruments()
    chaos.inject("place_oco", kind)
    with pytest.raises(VenueTimeout):
        await chaos.place_oco(LIST)
    assert [await _status(sim, cid) for cid in ("tp-1", "sl-1")] == [exists, exists]


async def test_a_delayed_list_arrives_whole_later() -> None:
    clock, sim, chaos = _world()
    await chaos.load_instruments()
    chaos.inject("place_oco", Chaos.DELAYED_SEND)
    with pytest.raises(VenueTimeout):
        await chaos.place_oco(LIST)
    assert chaos.in_transit == 1 and sim.orders_per_client_id == {}
    clock.advance(8)
    await chaos.deliver_due()
    assert sim.orders_per_client_id == {"tp-1": 1, "sl-1": 1}


async def test_both_legs_of_a_list_not_found_yet_are_hidden_for_a_while() -> None:
    clock, sim, chaos = _world()
    await chaos.load_instruments()
    chaos.inject("place_oco", Chaos.NOT_FOUND_YET)
    await chaos.place_oco(LIST)
    for cid in ("tp-1", "sl-1"):
        with pytest.raises(OrderNotFound):
            await chaos.fetch_order(SYMBOL, cid)
    clock.advance(3)
    assert [(await chaos.fetch_order(SYMBOL, c)).status for c in ("tp-1", "sl-1")] == [
        S.ACCEPTED, S.ACCEPTED]


@pytest.mark.parametrize(("kind", "at_venue"), [
    (Chaos.CRASH_BEFORE_SEND, {}), (Chaos.CRASH_AFTER_SEND, {"tp-1": 1, "sl-1": 1})])
async def test_a_kill_mid_list_is_before_or_after_the_venue(kind, at_venue) -> None:
    clock, sim, chaos = _world()
    await chaos.load_instruments()
    chaos.inject("place_oco", kind)
    with pytest.raises(ProcessKilled):
        await chaos.place_oco(LIST)
    assert sim.orders_per_client_id == at_venue
