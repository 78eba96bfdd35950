"""Adapter conformance: the `VenueAdapter` contract, stated once, held by every adapter.

Each case runs against the simulated venue, `CcxtVenue` (ccxt's real binance class against
the Binance emulator) and `PolymarketVenue` (against the CLOB emulator). The cases know
nothing of any venue: a `VenueHarness` (ordergate.testing.conformance) supplies an order
that rests, one that takes liquidity, one the venue refuses, a way to trade against a
resting order and a way to inject each failure. Unhappy paths first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import OrderType
from ordergate.testing.conformance import FAULT_OPERATION, HARNESSES, FaultKind, VenueHarness
from ordergate.venues.base import (
    Balance,
    DuplicateClientOrderId,
    OrderNotFound,
    OrderRejected,
    OrderReport,
    RateLimited,
    TradeReport,
    VenueAdapter,
    VenueError,
    VenueTimeout,
    VenueUnavailable,
)

S = OrderStatus
ZERO = Decimal(0)


@pytest.fixture(params=list(HARNESSES), ids=list(HARNESSES))
async def venue(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VenueHarness]:
    async with HARNESSES[request.param](monkeypatch.setenv) as harness:
        yield harness


async def place_resting(venue: VenueHarness, cid: str) -> OrderReport:
    report = await venue.adapter.place_order(venue.resting(cid))
    assert report.status is S.ACCEPTED, report
    return report


def assert_fills_consistent(report: OrderReport, fills: list[TradeReport]) -> None:
    """The trades of one order explain its report: same order, exact decimals, unique IDs."""
    assert fills, "an order with a filled quantity has trades"
    assert sum((f.quantity for f in fills), ZERO) == report.filled_quantity
    assert len({f.trade_id for f in fills}) == len(fills)
    for fill in fills:
        assert isinstance(fill.price, Decimal) and fill.price > 0
        assert isinstance(fill.quantity, Decimal) and fill.quantity > 0
        assert isinstance(fill.fee, Decimal) and fill.fee >= 0
        assert fill.venue_order_id == report.venue_order_id
        assert fill.client_order_id == report.client_order_id
        assert fill.symbol == report.symbol
    if report.average_price is not None:
        notional = sum((f.price * f.quantity for f in fills), ZERO)
        assert report.average_price == notional / report.filled_quantity


# ---------------------------------------------------------------- unknown orders


async def test_looking_up_an_order_the_venue_never_issued_is_order_not_found(venue: VenueHarness) -> None:
    with pytest.raises(OrderNotFound) as info:
        await venue.adapter.fetch_order(venue.symbol, "never-sent", venue.unknown_venue_order_id)
    assert not info.value.retryable and not info.value.ambiguous


async def test_cancelling_an_order_the_venue_never_issued_is_order_not_found(venue: VenueHarness) -> None:
    with pytest.raises(OrderNotFound):
        await venue.adapter.cancel_order(venue.symbol, "never-sent", venue.unknown_venue_order_id)


async def test_an_unknown_client_order_id_is_never_reported_as_found(venue: VenueHarness) -> None:
    if venue.capabilities.finds_unknown_orders_by_client_id:
        with pytest.raises(OrderNotFound):
            await venue.adapter.fetch_order(venue.symbol, "never-sent")
    else:
        # The venue cannot be asked by client order ID: a fatal, non-ambiguous refusal,
        # and never a claim that the venue said "no such order".
        with pytest.raises(VenueError) as info:
            await venue.adapter.fetch_order(venue.symbol, "never-sent")
        assert not isinstance(info.value, OrderNotFound)
        assert not info.value.retryable and not info.value.ambiguous


# ---------------------------------------------------------------- rejections


async def test_an_order_below_the_minimum_is_rejected(venue: VenueHarness) -> None:
    with pytest.raises(OrderRejected) as info:
        await venue.adapter.place_order(venue.rejected("small-1"))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("small-1") == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_a_rejected_order_may_be_sent_again_under_the_same_id(venue: VenueHarness) -> None:
    venue.inject("reject")
    with pytest.raises(OrderRejected):
        await venue.adapter.place_order(venue.resting("again-1"))
    report = await place_resting(venue, "again-1")
    assert report.client_order_id == "again-1"
    assert venue.orders_at_venue("again-1") == 1


# ---------------------------------------------------------------- injected failures

EXPECTED: dict[FaultKind, tuple[type[VenueError], bool, bool]] = {
    # kind: (error class, retryable, ambiguous)
    "timeout_after_accept": (VenueTimeout, True, True),
    "unavailable": (VenueUnavailable, True, False),
    "rate_limited": (RateLimited, True, False),
    "reject": (OrderRejected, False, False),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
async def test_each_failure_maps_to_its_venue_error(venue: VenueHarness, kind: FaultKind) -> None:
    error, retryable, ambiguous = EXPECTED[kind]
    venue.inject(kind)
    with pytest.raises(VenueError) as info:
        if FAULT_OPERATION[kind] == "place_order":
            await venue.adapter.place_order(venue.resting(f"fault-{kind}"))
        else:
            await venue.adapter.fetch_open_orders(venue.symbol)
    assert isinstance(info.value, error), f"{type(info.value).__name__}: {info.value}"
    assert (info.value.retryable, info.value.ambiguous) == (retryable, ambiguous)


async def test_a_failed_read_leaves_the_next_read_working(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "read-1")
    for kind in ("unavailable", "rate_limited"):
        venue.inject(kind)  # type: ignore[arg-type]
        with pytest.raises((VenueUnavailable, RateLimited)):
            await venue.adapter.fetch_open_orders(venue.symbol)
    open_ids = [r.venue_order_id for r in await venue.adapter.fetch_open_orders(venue.symbol)]
    assert open_ids == [placed.venue_order_id]


async def test_timeout_after_acceptance_is_ambiguous_and_lookup_finds_exactly_one_order(
    venue: VenueHarness,
) -> None:
    venue.inject("timeout_after_accept")
    with pytest.raises(VenueTimeout) as info:
        await venue.adapter.place_order(venue.resting("slow-1"))
    assert info.value.ambiguous and info.value.retryable
    found = await venue.adapter.fetch_order(venue.symbol, "slow-1")
    assert found.client_order_id == "slow-1"
    assert found.status is S.ACCEPTED and found.venue_order_id
    assert venue.orders_at_venue("slow-1") == 1
    # Sending it again cannot make a second order: the venue holds the first one.
    with pytest.raises(DuplicateClientOrderId):
        await venue.adapter.place_order(venue.resting("slow-1"))
    assert venue.orders_at_venue("slow-1") == 1
    assert [r.venue_order_id for r in await venue.adapter.fetch_open_orders(venue.symbol)] == [
        found.venue_order_id]


async def test_duplicate_client_order_id_while_open_is_refused(venue: VenueHarness) -> None:
    first = await place_resting(venue, "dup-1")
    with pytest.raises(DuplicateClientOrderId) as info:
        await venue.adapter.place_order(venue.resting("dup-1"))
    assert not info.value.ambiguous
    assert venue.orders_at_venue("dup-1") == 1
    still = await venue.adapter.fetch_order(venue.symbol, "dup-1")
    assert still.venue_order_id == first.venue_order_id and still.status is S.ACCEPTED


# ---------------------------------------------------------------- placing and filling


async def test_a_resting_order_is_accepted_and_listed_as_open(venue: VenueHarness) -> None:
    request = venue.resting("rest-1")
    report = await venue.adapter.place_order(request)
    assert report.status is S.ACCEPTED
    assert report.venue_order_id
    assert report.client_order_id == "rest-1" and report.symbol == venue.symbol
    assert report.filled_quantity == 0 and report.remaining_quantity == request.quantity
    assert report.average_price is None
    assert report.ts.tzinfo is not None
    listed = await venue.adapter.fetch_open_orders(venue.symbol)
    assert [r.venue_order_id for r in listed] == [report.venue_order_id]
    assert listed[0].status is S.ACCEPTED
    assert [r.venue_order_id for r in await venue.adapter.fetch_open_orders()] == [
        report.venue_order_id]


async def test_an_order_that_takes_liquidity_is_filled_with_consistent_trades(venue: VenueHarness) -> None:
    request = venue.taking("take-1")
    report = await venue.adapter.place_order(request)
    assert report.status is S.FILLED
    assert report.filled_quantity == request.quantity and report.remaining_quantity == 0
    assert isinstance(report.average_price, Decimal) and report.average_price > 0
    fills = await venue.adapter.fetch_fills(venue.symbol, "take-1")
    assert_fills_consistent(report, fills)
    assert {f.side for f in fills} == {request.side}
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    # The same trades when asked by venue order ID: trade IDs are stable.
    assert await venue.adapter.fetch_fills(venue.symbol, "take-1", report.venue_order_id) == fills


async def test_market_orders_are_filled_or_refused_as_unsupported(venue: VenueHarness) -> None:
    request = venue.taking("mkt-1")
    if venue.capabilities.market_orders:
        assert request.order_type is OrderType.MARKET
        assert (await venue.adapter.place_order(request)).status is S.FILLED
    else:
        from dataclasses import replace
        market = replace(request, order_type=OrderType.MARKET, price=None)
        with pytest.raises(OrderRejected):
            await venue.adapter.place_order(market)
        assert venue.orders_at_venue("mkt-1") == 0


async def test_a_partial_fill_is_partially_filled_with_consistent_trades(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "part-1")
    await venue.fill_resting(placed, partially=True)
    report = await venue.adapter.fetch_order(venue.symbol, "part-1")
    assert report.status is S.PARTIALLY_FILLED
    assert 0 < report.filled_quantity < venue.resting("part-1").quantity
    assert report.filled_quantity + report.remaining_quantity == venue.resting("part-1").quantity
    fills = await venue.adapter.fetch_fills(venue.symbol, "part-1")
    assert_fills_consistent(report, fills)
    listed = await venue.adapter.fetch_open_orders(venue.symbol)
    assert [(r.venue_order_id, r.status) for r in listed] == [(placed.venue_order_id, S.PARTIALLY_FILLED)]


async def test_a_resting_order_filled_in_full_is_filled_and_leaves_the_open_orders(
    venue: VenueHarness,
) -> None:
    placed = await place_resting(venue, "full-1")
    await venue.fill_resting(placed)
    report = await venue.adapter.fetch_order(venue.symbol, "full-1")
    assert report.status is S.FILLED
    assert report.filled_quantity == venue.resting("full-1").quantity
    assert report.remaining_quantity == 0
    assert_fills_consistent(report, await venue.adapter.fetch_fills(venue.symbol, "full-1"))
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


# ---------------------------------------------------------------- cancelling


async def test_cancelling_a_resting_order_cancels_it_and_removes_it_from_open_orders(
    venue: VenueHarness,
) -> None:
    placed = await place_resting(venue, "cxl-1")
    report = await venue.adapter.cancel_order(venue.symbol, "cxl-1")
    assert report.status is S.CANCELLED
    assert report.client_order_id == "cxl-1" and report.venue_order_id == placed.venue_order_id
    assert report.filled_quantity == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    assert (await venue.adapter.fetch_order(venue.symbol, "cxl-1")).status is S.CANCELLED


async def test_cancel_is_idempotent(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "cxl-2")
    first = await venue.adapter.cancel_order(venue.symbol, "cxl-2")
    second = await venue.adapter.cancel_order(venue.symbol, "cxl-2", placed.venue_order_id)
    assert first.status is S.CANCELLED and second.status is S.CANCELLED
    assert second.venue_order_id == placed.venue_order_id


async def test_cancelling_a_partially_filled_order_keeps_its_fill(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "cxl-3")
    await venue.fill_resting(placed, partially=True)
    filled = (await venue.adapter.fetch_order(venue.symbol, "cxl-3")).filled_quantity
    report = await venue.adapter.cancel_order(venue.symbol, "cxl-3")
    assert report.status is S.CANCELLED and report.filled_quantity == filled > 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_cancelling_a_filled_order_returns_its_filled_report(venue: VenueHarness) -> None:
    placed = await venue.adapter.place_order(venue.taking("cxl-4"))
    assert placed.status is S.FILLED
    report = await venue.adapter.cancel_order(venue.symbol, "cxl-4")
    assert report.status is S.FILLED
    assert report.venue_order_id == placed.venue_order_id
    assert report.filled_quantity == placed.filled_quantity


# ---------------------------------------------------------------- lookups


async def test_lookup_by_client_order_id_and_by_venue_order_id_agree(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "look-1")
    await venue.fill_resting(placed, partially=True)
    by_client = await venue.adapter.fetch_order(venue.symbol, "look-1")
    by_venue = await venue.adapter.fetch_order(venue.symbol, "look-1", placed.venue_order_id)
    fields = ("client_order_id", "venue_order_id", "symbol", "status", "filled_quantity",
              "remaining_quantity", "average_price")
    assert [getattr(by_client, f) for f in fields] == [getattr(by_venue, f) for f in fields]
    assert by_client.venue_order_id == placed.venue_order_id
    assert await venue.adapter.fetch_fills(venue.symbol, "look-1") == await venue.adapter.fetch_fills(
        venue.symbol, "look-1", placed.venue_order_id)


# ---------------------------------------------------------------- instruments, market, account


async def test_instruments_are_exact_decimals(venue: VenueHarness) -> None:
    instruments = await venue.adapter.load_instruments()
    instrument = instruments[venue.symbol]
    assert instrument.symbol == venue.symbol
    for value in (instrument.tick_size, instrument.lot_size, instrument.min_quantity):
        assert isinstance(value, Decimal) and value > 0
    assert isinstance(instrument.min_notional, Decimal) and instrument.min_notional >= 0
    assert instrument.is_on_tick(venue.resting("x").price or ZERO)
    assert instrument.is_on_lot(venue.resting("x").quantity)


async def test_ticker_is_decimal_with_bid_at_or_below_ask(venue: VenueHarness) -> None:
    ticker = await venue.adapter.fetch_ticker(venue.symbol)
    assert ticker.symbol == venue.symbol
    assert isinstance(ticker.bid, Decimal) and isinstance(ticker.ask, Decimal)
    assert 0 < ticker.bid <= ticker.ask
    assert ticker.ts.tzinfo is not None


async def test_balances_are_decimal(venue: VenueHarness) -> None:
    balances = await venue.adapter.fetch_balances(venue.account_id)
    assert balances
    for currency, balance in balances.items():
        assert isinstance(balance, Balance) and balance.currency == currency
        assert isinstance(balance.free, Decimal) and isinstance(balance.used, Decimal)
        assert balance.free >= 0 and balance.used >= 0


async def test_health_is_ok_and_the_adapter_is_a_venue_adapter(venue: VenueHarness) -> None:
    health = await venue.adapter.health()
    assert health.ok and health.venue == venue.adapter.name
    assert isinstance(venue.adapter, VenueAdapter)
