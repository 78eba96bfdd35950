"""OCO conformance: a native one-cancels-the-other list, stated once, held by every adapter
whose venue has one (the simulated venue, `CcxtVenue` on Binance spot against the
emulator), and refused plainly by every adapter whose venue has none (Polymarket, a ccxt
exchange without order lists, the simulated venue with `native_oco` off).

Each harness is a spot account holding exactly the quantity its exits protect
(`ordergate.testing.conformance_oco`). Unhappy paths first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from ordergate.clock import WallClock
from ordergate.domain.order import OrderStatus
from ordergate.testing.conformance import HARNESSES
from ordergate.testing.conformance_oco import (
    OCO_HARNESSES,
    PARTIAL,
    QTY,
    OcoHarness,
    simulated_oco_harness,
)
from ordergate.venues.base import (
    InsufficientFunds,
    OcoLeg,
    OcoUnsupported,
    OrderRejected,
    OrderReport,
    VenueTimeout,
    oco_capable,
)
from ordergate.venues.guarded import GuardedVenue

S = OrderStatus
ZERO = Decimal(0)


@pytest.fixture(params=list(OCO_HARNESSES), ids=list(OCO_HARNESSES))
async def venue(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OcoHarness]:
    async with OCO_HARNESSES[request.param](monkeypatch.setenv) as harness:
        yield harness


async def place(venue: OcoHarness, tag: str) -> tuple[OrderReport, OrderReport]:
    capable = oco_capable(venue.adapter)
    assert capable is not None
    take_profit, stop = await capable.place_oco(venue.oco(tag))
    return take_profit, stop


async def look(venue: OcoHarness, cid: str) -> OrderReport:
    return await venue.adapter.fetch_order(venue.symbol, cid)


async def base_balance(venue: OcoHarness) -> tuple[Decimal, Decimal]:
    balance = (await venue.adapter.fetch_balances("main")).get(venue.base)
    return (ZERO, ZERO) if balance is None else (balance.free, balance.used)


# ---------------------------------------------------------------- venues without it


async def test_polymarket_has_no_native_oco(monkeypatch: pytest.MonkeyPatch) -> None:
    async with HARNESSES["polymarket"](monkeypatch.setenv) as harness:
        assert oco_capable(harness.adapter) is None
        guarded = GuardedVenue.wrap(harness.adapter, WallClock())
        assert oco_capable(guarded) is None and not guarded.supports_oco()
        with pytest.raises(OcoUnsupported) as info:  # asked anyway: refused, nothing sent
            await guarded.place_oco(replace(_any_request(), symbol=harness.symbol))
        assert not info.value.retryable and not info.value.ambiguous
        assert harness.orders_at_venue("a") == 0


async def test_a_ccxt_exchange_without_order_lists_refuses_an_oco_unsent() -> None:
    from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

    for exchange, market_type in (("kraken", "spot"), ("binance", "future")):
        adapter = CcxtVenue(CcxtVenueSettings(name="x", exchange=exchange,
                                              market_type=market_type), WallClock())
        try:
            assert oco_capable(adapter) is None
            with pytest.raises(OcoUnsupported) as info:
                await adapter.place_oco(replace(_any_request(), symbol="BTC/USD"))
            assert not info.value.retryable and not info.value.ambiguous
        finally:
            await adapter.close()


async def test_the_simulated_venue_with_native_oco_off_refuses_an_oco_unsent() -> None:
    async with simulated_oco_harness(native_oco=False) as harness:
        assert oco_capable(harness.adapter) is None
        with pytest.raises(OcoUnsupported):
            await harness.adapter.place_oco(harness.oco("off"))  # type: ignore[attr-defined]
        assert harness.orders_at_venue("off-tp") == harness.orders_at_venue("off-sl") == 0


def _any_request() -> object:
    from ordergate.domain.values import Side
    from ordergate.venues.base import OcoRequest
    return OcoRequest("l", "main", "BTC/USDT", Side.SELL, QTY, OcoLeg("a", Decimal(2)),
                      OcoLeg("b", Decimal(1)))


# ---------------------------------------------------------------- refusals


async def test_a_list_whose_stop_the_market_has_passed_is_refused_whole(venue: OcoHarness) -> None:
    capable = oco_capable(venue.adapter)
    assert capable is not None
    request = venue.oco("crossed")
    above_market = venue.take_profit_price - 1  # a sell stop above the market
    with pytest.raises(OrderRejected) as info:
        await capable.place_oco(replace(request, stop=OcoLeg("crossed-sl", above_market)))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("crossed-tp") == venue.orders_at_venue("crossed-sl") == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_a_list_for_more_than_the_account_holds_is_refused_for_funds(venue: OcoHarness) -> None:
    capable = oco_capable(venue.adapter)
    assert capable is not None
    with pytest.raises(InsufficientFunds):
        await capable.place_oco(venue.oco("big", QTY * 2))
    assert venue.orders_at_venue("big-tp") == venue.orders_at_venue("big-sl") == 0


# ---------------------------------------------------------------- the spot lock


async def test_a_spot_account_holds_both_exits_as_one_list(venue: OcoHarness) -> None:
    # As two single orders, the second exit is refused: the first locked the base.
    first, second = venue.separate("single")
    await venue.adapter.place_order(first)
    with pytest.raises(InsufficientFunds):
        await venue.adapter.place_order(second)
    await venue.adapter.cancel_order(venue.symbol, first.client_order_id)
    # As one list, both rest, and the base is locked once.
    take_profit, stop = await place(venue, "list")
    assert take_profit.status is S.ACCEPTED and stop.status is S.ACCEPTED
    assert take_profit.remaining_quantity == stop.remaining_quantity == QTY
    assert await base_balance(venue) == (ZERO, QTY)


async def test_the_legs_are_found_by_client_order_id(venue: OcoHarness) -> None:
    take_profit, stop = await place(venue, "find")
    assert take_profit.client_order_id == "find-tp" and stop.client_order_id == "find-sl"
    for report in (take_profit, stop):
        found = await look(venue, report.client_order_id)
        assert found.status is S.ACCEPTED and found.venue_order_id == report.venue_order_id
    assert (await look(venue, "find-sl")).trigger_price == venue.stop_price
    assert (await look(venue, "find-tp")).price == venue.take_profit_price
    open_ids = {r.venue_order_id for r in await venue.adapter.fetch_open_orders(venue.symbol)}
    assert open_ids == {take_profit.venue_order_id, stop.venue_order_id}


async def test_a_lost_answer_is_resolved_by_looking_the_legs_up(venue: OcoHarness) -> None:
    capable = oco_capable(venue.adapter)
    assert capable is not None
    venue.timeout_next_oco()
    with pytest.raises(VenueTimeout) as info:
        await capable.place_oco(venue.oco("lost"))
    assert info.value.ambiguous
    for cid in ("lost-tp", "lost-sl"):
        assert (await look(venue, cid)).status is S.ACCEPTED
        assert venue.orders_at_venue(cid) == 1


# ---------------------------------------------------------------- one cancels the other


async def test_the_take_profit_filling_ends_the_stop_at_the_venue(venue: OcoHarness) -> None:
    await place(venue, "tp")
    await venue.fill_take_profit()
    take_profit, stop = await look(venue, "tp-tp"), await look(venue, "tp-sl")
    assert take_profit.status is S.FILLED and take_profit.filled_quantity == QTY
    assert stop.status.is_terminal and stop.filled_quantity == 0
    fills = await venue.adapter.fetch_fills(venue.symbol, "tp-tp", take_profit.venue_order_id)
    assert sum((f.quantity for f in fills), ZERO) == QTY
    assert await base_balance(venue) == (ZERO, ZERO)


async def test_the_stop_triggering_ends_the_take_profit_at_the_venue(venue: OcoHarness) -> None:
    await place(venue, "sl")
    await venue.trigger_stop()
    take_profit, stop = await look(venue, "sl-tp"), await look(venue, "sl-sl")
    assert stop.status is S.FILLED and stop.filled_quantity == QTY
    assert take_profit.status.is_terminal and take_profit.filled_quantity == 0
    assert await base_balance(venue) == (ZERO, ZERO)  # sold once, never twice


async def test_a_partial_fill_of_the_take_profit_ends_the_stop(venue: OcoHarness) -> None:
    await place(venue, "part")
    await venue.fill_take_profit(partially=True)
    take_profit, stop = await look(venue, "part-tp"), await look(venue, "part-sl")
    assert take_profit.status is S.PARTIALLY_FILLED and take_profit.filled_quantity == PARTIAL
    assert stop.status.is_terminal and stop.filled_quantity == 0
    # The market then falls through the stop: it no longer exists, nothing more is sold.
    await venue.trigger_stop()
    assert (await look(venue, "part-sl")).filled_quantity == 0
    assert (await look(venue, "part-tp")).filled_quantity == PARTIAL
    assert await base_balance(venue) == (ZERO, QTY - PARTIAL)  # the rest still locked by the TP


@pytest.mark.parametrize("leg", ["tp", "sl"])
async def test_cancelling_either_leg_cancels_both(venue: OcoHarness, leg: str) -> None:
    await place(venue, "cx")
    cancelled = await venue.adapter.cancel_order(venue.symbol, f"cx-{leg}")
    assert cancelled.status is S.CANCELLED
    other = "sl" if leg == "tp" else "tp"
    assert (await look(venue, f"cx-{other}")).status is S.CANCELLED
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    assert await base_balance(venue) == (QTY, ZERO)


async def test_a_guarded_venue_sends_the_list_through_its_guards(venue: OcoHarness) -> None:
    guarded = GuardedVenue.wrap(venue.adapter, WallClock())
    capable = oco_capable(guarded)
    assert capable is guarded
    take_profit, stop = await capable.place_oco(venue.oco("guard"))
    assert take_profit.status is S.ACCEPTED and stop.status is S.ACCEPTED
