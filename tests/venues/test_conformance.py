"""Adapter conformance: the `VenueAdapter` contract, stated once, held by every adapter.

Each case runs against the simulated venue, `CcxtVenue` (ccxt's real binance class against
the Binance emulator) and `PolymarketVenue` (against the CLOB emulator). The cases know
nothing of any venue: a `VenueHarness` (ordergate.testing.conformance) supplies an order
that rests, one that takes liquidity, one the venue refuses, a way to trade against a
resting order and a way to inject each failure. Unhappy paths first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.testing.conformance import HARNESSES, READS, FaultKind, Operation, VenueHarness
from ordergate.venues.base import (
    Balance,
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    OrderReport,
    PostOnlyUnsupported,
    PostOnlyWouldTake,
    RateLimited,
    StopOrdersUnsupported,
    StopWouldTrigger,
    TradeReport,
    UnknownSymbol,
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


# Genuine adapter bugs, pinned: (test name, harness id) -> what is wrong. Strict: a fix
# makes the test pass, the xfail then fails, and the entry must go.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@pytest.fixture(autouse=True)
def _known_bugs(request: pytest.FixtureRequest) -> None:
    callspec = getattr(request.node, "callspec", None)
    harness = callspec.params.get("venue") if callspec is not None else None
    reason = KNOWN_BUGS.get((request.node.originalname, str(harness)))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"BUG: {reason}"))


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
        assert fill.fee_currency and fill.ts.tzinfo is not None
    assert report.average_price is not None, "a report with a fill carries its average price"
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


async def test_an_unknown_symbol_is_unknown_symbol(venue: VenueHarness) -> None:
    with pytest.raises(UnknownSymbol) as info:
        await venue.adapter.place_order(replace(venue.resting("sym-1"), symbol=venue.unknown_symbol))
    assert not info.value.retryable and not info.value.ambiguous
    with pytest.raises(UnknownSymbol):
        await venue.adapter.fetch_ticker(venue.unknown_symbol)


# ---------------------------------------------------------------- rejections


async def test_an_order_below_the_minimum_is_rejected(venue: VenueHarness) -> None:
    with pytest.raises(OrderRejected) as info:
        await venue.adapter.place_order(venue.rejected("small-1"))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("small-1") == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    expected = OrderNotFound if venue.capabilities.finds_unknown_orders_by_client_id else VenueError
    with pytest.raises(expected) as lookup:
        await venue.adapter.fetch_order(venue.symbol, "small-1")
    assert not lookup.value.retryable


async def test_a_rejected_order_may_be_sent_again_under_the_same_id(venue: VenueHarness) -> None:
    venue.inject("reject")
    with pytest.raises(OrderRejected):
        await venue.adapter.place_order(venue.resting("again-1"))
    report = await place_resting(venue, "again-1")
    assert report.client_order_id == "again-1"
    assert venue.orders_at_venue("again-1") == 1


# ---------------------------------------------------------------- post-only


async def test_a_post_only_order_that_would_take_is_rejected_and_nothing_fills(
    venue: VenueHarness,
) -> None:
    # A buy at the ask: as a plain GTC limit it would take at once.
    request = replace(venue.too_big("po-take-1", TimeInForce.GTC), post_only=True)
    assert request.side is Side.BUY and request.order_type is OrderType.LIMIT
    balances = await venue.adapter.fetch_balances(venue.account_id)
    expected = PostOnlyWouldTake if venue.capabilities.post_only_orders else PostOnlyUnsupported
    with pytest.raises(expected) as info:
        await venue.adapter.place_order(request)
    assert isinstance(info.value, OrderRejected)
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("po-take-1") == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    assert await venue.adapter.fetch_balances(venue.account_id) == balances, "nothing locked"
    missing = OrderNotFound if venue.capabilities.finds_unknown_orders_by_client_id else VenueError
    with pytest.raises(missing):
        await venue.adapter.fetch_order(venue.symbol, "po-take-1")


async def test_a_post_only_order_refused_as_taker_is_refused_again_not_filled(
    venue: VenueHarness,
) -> None:
    # Sending the same post-only order again (a caller that retries anyway) cannot turn it
    # into a taker fill: the book has not moved, the venue refuses it the same way.
    request = replace(venue.too_big("po-take-2", TimeInForce.GTC), post_only=True)
    for _ in range(2):
        with pytest.raises(OrderRejected):
            await venue.adapter.place_order(request)
    assert venue.orders_at_venue("po-take-2") == 0


async def test_a_post_only_order_that_rests_fills_as_maker(venue: VenueHarness) -> None:
    if not venue.capabilities.post_only_orders:
        pytest.skip(f"{venue.name} has no post-only orders (refusal tested above)")
    request = replace(venue.resting("po-rest-1"), post_only=True)
    placed = await venue.adapter.place_order(request)
    assert placed.status is S.ACCEPTED and placed.filled_quantity == 0
    listed = await venue.adapter.fetch_open_orders(venue.symbol)
    assert [r.venue_order_id for r in listed] == [placed.venue_order_id]
    await venue.fill_resting(placed)
    report = await venue.adapter.fetch_order(venue.symbol, "po-rest-1")
    assert report.status is S.FILLED and report.filled_quantity == request.quantity
    fills = await venue.adapter.fetch_fills(venue.symbol, "po-rest-1")
    assert_fills_consistent(report, fills)
    assert {f.liquidity for f in fills} == {Liquidity.MAKER}
    assert {f.price for f in fills} == {request.price}, "a maker fills at its own price"


# ---------------------------------------------------------------- stop orders

STOPS = pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT],
                                ids=["stop_market", "stop_limit"])


def _needs_stops(venue: VenueHarness) -> None:
    if not venue.capabilities.stop_orders:
        pytest.skip(f"{venue.name} has no stop orders (refusal tested below)")


@STOPS
async def test_a_venue_without_stop_orders_refuses_one_unsent(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    if venue.capabilities.stop_orders:
        pytest.skip(f"{venue.name} has stop orders")
    balances = await venue.adapter.fetch_balances(venue.account_id)
    with pytest.raises(StopOrdersUnsupported) as info:
        await venue.adapter.place_order(venue.stop("st-none", order_type))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("st-none") == 0
    assert await venue.adapter.fetch_balances(venue.account_id) == balances


@STOPS
async def test_a_stop_that_would_trigger_at_once_is_refused_and_nothing_is_placed(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    _needs_stops(venue)
    balances = await venue.adapter.fetch_balances(venue.account_id)
    with pytest.raises(StopWouldTrigger) as info:
        await venue.adapter.place_order(venue.stop("st-now", order_type, crossed=True))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("st-now") == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    assert await venue.adapter.fetch_balances(venue.account_id) == balances, "nothing locked"


@STOPS
async def test_a_stop_whose_trigger_is_not_reached_rests_unfilled_and_can_be_cancelled(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    _needs_stops(venue)
    request = venue.stop("st-wait", order_type)
    placed = await venue.adapter.place_order(request)
    assert placed.status is S.ACCEPTED and placed.filled_quantity == 0
    (listed,) = await venue.adapter.fetch_open_orders(venue.symbol)
    assert (listed.client_order_id, listed.order_type, listed.trigger_price, listed.price) == (
        "st-wait", order_type, request.trigger_price, request.price)
    assert await venue.adapter.fetch_fills(venue.symbol, "st-wait") == []
    cancelled = await venue.adapter.cancel_order(venue.symbol, "st-wait", placed.venue_order_id)
    assert cancelled.status is S.CANCELLED and cancelled.filled_quantity == 0
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    await venue.cross_trigger()  # a cancelled stop never triggers
    assert await venue.adapter.fetch_fills(venue.symbol, "st-wait") == []
    assert venue.orders_at_venue("st-wait") == 1


@STOPS
async def test_a_stop_fills_once_the_market_crosses_its_trigger(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    _needs_stops(venue)
    request = venue.stop("st-fire", order_type)
    await venue.adapter.place_order(request)
    await venue.cross_trigger()
    report = await venue.adapter.fetch_order(venue.symbol, "st-fire")
    assert report.status is S.FILLED and report.filled_quantity == request.quantity
    assert (report.order_type, report.trigger_price) == (order_type, request.trigger_price)
    fills = await venue.adapter.fetch_fills(venue.symbol, "st-fire")
    assert_fills_consistent(report, fills)
    assert {f.liquidity for f in fills} == {Liquidity.TAKER}, "triggered, it took the book"
    if request.price is not None:
        assert all(f.price <= request.price for f in fills), "never above a buy's limit"
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


# ---------------------------------------------------------------- injected failures


async def call(venue: VenueHarness, operation: Operation, cid: str) -> object:
    """One call of `operation`; the order-specific ones act on the order `cid`."""
    adapter, symbol = venue.adapter, venue.symbol
    if operation == "place_order":
        return await adapter.place_order(venue.resting(cid))
    if operation == "cancel_order":
        return await adapter.cancel_order(symbol, cid)
    if operation == "fetch_order":
        return await adapter.fetch_order(symbol, cid)
    if operation == "fetch_open_orders":
        return await adapter.fetch_open_orders(symbol)
    if operation == "fetch_fills":
        return await adapter.fetch_fills(symbol, cid)
    if operation == "fetch_balances":
        return await adapter.fetch_balances(venue.account_id)
    return await adapter.fetch_ticker(symbol)


async def test_a_venue_reject_is_order_rejected_and_nothing_is_placed(venue: VenueHarness) -> None:
    venue.inject("reject")
    with pytest.raises(OrderRejected) as info:
        await venue.adapter.place_order(venue.resting("reject-1"))
    assert not info.value.retryable and not info.value.ambiguous
    assert venue.orders_at_venue("reject-1") == 0


@pytest.mark.parametrize("kind", ["unavailable", "rate_limited"])
async def test_a_failure_on_place_that_is_not_ambiguous_placed_nothing(
    venue: VenueHarness, kind: FaultKind,
) -> None:
    # A 5xx while placing may or may not have reached the matching engine: an adapter may
    # only call it unambiguous when it knows nothing was placed. A 429 never places.
    venue.inject(kind, "place_order")
    with pytest.raises(VenueError) as info:
        await venue.adapter.place_order(venue.resting("place-fail-1"))
    assert info.value.retryable
    assert not isinstance(info.value, OrderRejected)
    if kind == "rate_limited":
        assert isinstance(info.value, RateLimited) and not info.value.ambiguous
    if not info.value.ambiguous:
        assert venue.orders_at_venue("place-fail-1") == 0
    else:
        assert isinstance(info.value, VenueTimeout)


RETRYABLE: dict[FaultKind, type[VenueError]] = {
    "unavailable": VenueUnavailable,
    "rate_limited": RateLimited,
    "timeout": VenueTimeout,
}


@pytest.mark.parametrize("operation", [*READS, "cancel_order"])
@pytest.mark.parametrize("kind", ["unavailable", "rate_limited"])
async def test_a_transient_failure_on_a_read_or_cancel_is_retryable_never_not_found(
    venue: VenueHarness, kind: FaultKind, operation: Operation,
) -> None:
    placed = await place_resting(venue, "transient-1")
    venue.inject(kind, operation)
    with pytest.raises(VenueError) as info:
        await call(venue, operation, "transient-1")
    assert isinstance(info.value, RETRYABLE[kind]), (
        f"{type(info.value).__name__}: {info.value}")
    assert info.value.retryable and not info.value.ambiguous
    # The failure was transient: the same call now succeeds, and the order is untouched
    # unless the call was the cancel.
    await call(venue, operation, "transient-1")
    after = await venue.adapter.fetch_order(venue.symbol, "transient-1")
    assert after.venue_order_id == placed.venue_order_id
    assert after.status is (S.CANCELLED if operation == "cancel_order" else S.ACCEPTED)


@pytest.mark.parametrize("operation", ["fetch_order", "cancel_order"])
async def test_no_answer_in_time_is_a_timeout_never_not_found(
    venue: VenueHarness, operation: Operation,
) -> None:
    placed = await place_resting(venue, "late-1")
    venue.inject("timeout", operation)
    with pytest.raises(VenueTimeout) as info:
        await call(venue, operation, "late-1")
    assert info.value.retryable and info.value.ambiguous
    # Whatever happened, asking again resolves it; a cancel sent again is idempotent.
    report = await call(venue, operation, "late-1")
    assert isinstance(report, OrderReport) and report.venue_order_id == placed.venue_order_id
    assert report.status is (S.CANCELLED if operation == "cancel_order" else S.ACCEPTED)


async def test_a_failed_read_leaves_the_next_read_working(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "read-1")
    for kind in ("unavailable", "rate_limited"):
        venue.inject(kind, "fetch_open_orders")
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


async def test_an_order_whose_placement_timed_out_can_be_cancelled_by_client_order_id(
    venue: VenueHarness,
) -> None:
    venue.inject("timeout_after_accept")
    with pytest.raises(VenueTimeout):
        await venue.adapter.place_order(venue.resting("slow-cxl-1"))
    report = await venue.adapter.cancel_order(venue.symbol, "slow-cxl-1")
    assert report.status is S.CANCELLED and report.venue_order_id
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_timeout_after_acceptance_of_a_taking_order_then_lookup_finds_it_filled(
    venue: VenueHarness,
) -> None:
    request = venue.taking("slow-take-1")
    venue.inject("timeout_after_accept")
    with pytest.raises(VenueTimeout):
        await venue.adapter.place_order(request)
    found = await venue.adapter.fetch_order(venue.symbol, "slow-take-1")
    assert found.status is S.FILLED and found.filled_quantity == request.quantity
    assert venue.orders_at_venue("slow-take-1") == 1
    assert_fills_consistent(found, await venue.adapter.fetch_fills(venue.symbol, "slow-take-1"))


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
    assert listed[0].status is S.ACCEPTED and listed[0].client_order_id == "rest-1"
    assert listed[0].filled_quantity == 0
    assert await venue.adapter.fetch_fills(venue.symbol, "rest-1") == []
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
    assert {f.liquidity for f in fills} == {Liquidity.TAKER}
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []
    # The same trades when asked by venue order ID: trade IDs are stable.
    assert await venue.adapter.fetch_fills(venue.symbol, "take-1", report.venue_order_id) == fills


async def test_a_prepared_venue_order_id_is_the_id_the_order_gets_and_preparing_sends_nothing(
    venue: VenueHarness,
) -> None:
    request = venue.resting("prep-1")
    prepared = await venue.adapter.prepare_order(request)
    assert (prepared is not None) == venue.capabilities.order_ids_before_send
    assert venue.orders_at_venue("prep-1") == 0
    assert await venue.adapter.prepare_order(request) == prepared  # asked again: the same
    report = await venue.adapter.place_order(replace(request, venue_order_id=prepared))
    assert report.status is S.ACCEPTED and venue.orders_at_venue("prep-1") == 1
    if prepared is not None:
        assert report.venue_order_id == prepared
        found = await venue.adapter.fetch_order(venue.symbol, "prep-1", prepared)
        assert found.venue_order_id == prepared and found.status is S.ACCEPTED


async def test_trade_ids_are_unique_across_orders(venue: VenueHarness) -> None:
    first = await venue.adapter.place_order(venue.taking("uniq-1"))
    second = await venue.adapter.place_order(venue.taking("uniq-2"))
    assert first.venue_order_id != second.venue_order_id
    ids_1 = {f.trade_id for f in await venue.adapter.fetch_fills(venue.symbol, "uniq-1")}
    ids_2 = {f.trade_id for f in await venue.adapter.fetch_fills(venue.symbol, "uniq-2")}
    assert ids_1 and ids_2 and not ids_1 & ids_2


async def test_market_orders_are_filled_or_refused_as_unsupported(venue: VenueHarness) -> None:
    request = venue.taking("mkt-1")
    if venue.capabilities.market_orders:
        assert request.order_type is OrderType.MARKET
        assert (await venue.adapter.place_order(request)).status is S.FILLED
    else:
        market = replace(request, order_type=OrderType.MARKET, price=None)
        with pytest.raises(OrderRejected):
            await venue.adapter.place_order(market)
        assert venue.orders_at_venue("mkt-1") == 0


async def test_ioc_beyond_the_liquidity_fills_what_it_can_and_expires_the_rest(
    venue: VenueHarness,
) -> None:
    request = venue.too_big("ioc-1", TimeInForce.IOC)
    report = await venue.adapter.place_order(request)
    assert report.status is S.EXPIRED
    assert 0 < report.filled_quantity < request.quantity
    assert_fills_consistent(report, await venue.adapter.fetch_fills(venue.symbol, "ioc-1"))
    looked_up = await venue.adapter.fetch_order(venue.symbol, "ioc-1")
    assert (looked_up.status, looked_up.filled_quantity) == (S.EXPIRED, report.filled_quantity)
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_fok_beyond_the_liquidity_expires_unfilled(venue: VenueHarness) -> None:
    report = await venue.adapter.place_order(venue.too_big("fok-1", TimeInForce.FOK))
    assert report.status is S.EXPIRED and report.filled_quantity == 0
    assert await venue.adapter.fetch_fills(venue.symbol, "fok-1") == []
    assert (await venue.adapter.fetch_order(venue.symbol, "fok-1")).status is S.EXPIRED
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_a_partial_fill_is_partially_filled_with_consistent_trades(venue: VenueHarness) -> None:
    placed = await place_resting(venue, "part-1")
    await venue.fill_resting(placed, partially=True)
    report = await venue.adapter.fetch_order(venue.symbol, "part-1")
    assert report.status is S.PARTIALLY_FILLED
    assert 0 < report.filled_quantity < venue.resting("part-1").quantity
    assert report.filled_quantity + report.remaining_quantity == venue.resting("part-1").quantity
    fills = await venue.adapter.fetch_fills(venue.symbol, "part-1")
    assert_fills_consistent(report, fills)
    assert {(f.side, f.liquidity) for f in fills} == {(venue.resting("part-1").side, Liquidity.MAKER)}
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
    assert_fills_consistent(report, await venue.adapter.fetch_fills(venue.symbol, "cxl-3"))
    assert await venue.adapter.fetch_open_orders(venue.symbol) == []


async def test_cancelling_a_filled_order_returns_its_filled_report(venue: VenueHarness) -> None:
    placed = await venue.adapter.place_order(venue.taking("cxl-4"))
    assert placed.status is S.FILLED
    report = await venue.adapter.cancel_order(venue.symbol, "cxl-4")
    assert report.status is S.FILLED
    assert report.venue_order_id == placed.venue_order_id
    assert report.filled_quantity == placed.filled_quantity


# ---------------------------------------------------------------- lookups


@pytest.mark.parametrize("state", ["accepted", "partially_filled", "filled", "cancelled"])
async def test_lookup_by_client_order_id_and_by_venue_order_id_agree(
    venue: VenueHarness, state: str,
) -> None:
    if state == "filled":
        placed = await venue.adapter.place_order(venue.taking("look-1"))
    else:
        placed = await place_resting(venue, "look-1")
    if state == "partially_filled":
        await venue.fill_resting(placed, partially=True)
    if state == "cancelled":
        await venue.adapter.cancel_order(venue.symbol, "look-1")
    by_client = await venue.adapter.fetch_order(venue.symbol, "look-1")
    by_venue = await venue.adapter.fetch_order(venue.symbol, "look-1", placed.venue_order_id)
    assert by_client.status.value == state.upper()
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


async def test_a_resting_buy_reserves_its_cost_without_changing_the_total(venue: VenueHarness) -> None:
    quote = (await venue.adapter.load_instruments())[venue.symbol].quote
    before = (await venue.adapter.fetch_balances(venue.account_id))[quote]
    request = venue.resting("reserve-1")
    assert request.price is not None
    await place_resting(venue, "reserve-1")
    after = (await venue.adapter.fetch_balances(venue.account_id))[quote]
    assert after.total == before.total
    assert after.used - before.used >= request.price * request.quantity
    assert after.free <= before.free - request.price * request.quantity


async def test_resting_buys_cannot_commit_more_than_the_free_balance(venue: VenueHarness) -> None:
    instrument = (await venue.adapter.load_instruments())[venue.symbol]
    free = (await venue.adapter.fetch_balances(venue.account_id))[instrument.quote].free
    template = venue.resting("x")
    assert template.price is not None
    quantity = instrument.round_quantity(free * Decimal("0.6") / template.price)  # 60% each
    first = await venue.adapter.place_order(replace(template, client_order_id="big-1", quantity=quantity))
    assert first.status is S.ACCEPTED
    with pytest.raises(InsufficientFunds) as info:
        await venue.adapter.place_order(replace(template, client_order_id="big-2", quantity=quantity))
    assert not info.value.retryable and not info.value.ambiguous
    assert [r.client_order_id for r in await venue.adapter.fetch_open_orders(venue.symbol)] == ["big-1"]


async def test_health_is_ok_and_the_adapter_is_a_venue_adapter(venue: VenueHarness) -> None:
    health = await venue.adapter.health()
    assert health.ok and health.venue == venue.adapter.name
    assert isinstance(venue.adapter, VenueAdapter)


@pytest.mark.parametrize("kind", ["unavailable", "timeout"])
async def test_health_reports_a_failing_venue_as_not_ok_without_raising(
    venue: VenueHarness, kind: FaultKind,
) -> None:
    venue.inject(kind, "health")
    health = await venue.adapter.health()
    assert not health.ok and health.detail
    assert health.venue == venue.adapter.name
