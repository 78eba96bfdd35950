"""Adapter conformance for native replace (`base.Replaceable`), the venue half of an amend.

The same cases on the simulated venue, `CcxtVenue` against the Binance emulator's
`order/cancelReplace`, and `PolymarketVenue` (whose CLOB has no replace: the adapter is
not `Replaceable`, and asking anyway is a clear `ReplaceUnsupported`, nothing sent). The
contract: the old order is cancelled only if nothing of it has filled, the new one is
attempted only if that cancel worked, and each outcome names what happened to each half.
Unhappy paths first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from ordergate.clock import WallClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import TimeInForce
from ordergate.testing.conformance import HARNESSES, VenueHarness
from ordergate.venues.base import (
    OrderNotFound,
    OrderReport,
    Replaceable,
    ReplaceAmbiguous,
    ReplaceCancelRefused,
    ReplacePlaceRejected,
    ReplaceRefused,
    ReplaceUnsupported,
    VenueError,
    replaceable,
)
from ordergate.venues.guarded import GuardedVenue

S = OrderStatus


@pytest.fixture(params=list(HARNESSES), ids=list(HARNESSES))
async def venue(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VenueHarness]:
    async with HARNESSES[request.param](monkeypatch.setenv) as harness:
        yield harness


def native(venue: VenueHarness) -> Replaceable:
    if not venue.capabilities.native_replace:
        pytest.skip(f"{venue.name} has no native replace (ReplaceUnsupported tested below)")
    found = replaceable(venue.adapter)
    assert found is not None
    return found


async def place_resting(venue: VenueHarness, cid: str) -> OrderReport:
    report = await venue.adapter.place_order(venue.resting(cid))
    assert report.status is S.ACCEPTED, report
    return report


async def assert_not_at_venue(venue: VenueHarness, cid: str) -> None:
    assert venue.orders_at_venue(cid) == 0
    with pytest.raises(OrderNotFound):
        await venue.adapter.fetch_order(venue.symbol, cid)


async def open_ids(venue: VenueHarness) -> list[str]:
    return [r.client_order_id for r in await venue.adapter.fetch_open_orders(venue.symbol)]


# ---------------------------------------------------------------- no native replace


async def test_a_venue_without_replace_is_not_replaceable_and_says_so_unsent(
    venue: VenueHarness,
) -> None:
    if venue.capabilities.native_replace:
        pytest.skip(f"{venue.name} has a native replace")
    assert replaceable(venue.adapter) is None
    guarded = GuardedVenue.wrap(venue.adapter, WallClock())
    assert replaceable(guarded) is None, "a guard does not make a venue replaceable"
    placed = await place_resting(venue, "nr-old")
    with pytest.raises(ReplaceUnsupported) as info:
        await guarded.replace_order("nr-old", placed.venue_order_id,
                                    replace(venue.resting("nr-new"), quantity=Decimal(20)))
    assert not info.value.retryable and not info.value.ambiguous
    assert (await venue.adapter.fetch_order(venue.symbol, "nr-old", placed.venue_order_id)
            ).status is S.ACCEPTED, "the old order works unchanged"
    assert venue.orders_at_venue("nr-old") == 1


# ---------------------------------------------------------------- refusals: nothing changes


async def test_replacing_an_order_the_venue_never_issued_is_refused_and_places_nothing(
    venue: VenueHarness,
) -> None:
    adapter = native(venue)
    with pytest.raises(ReplaceCancelRefused) as info:
        await adapter.replace_order("never-sent", None, venue.resting("unk-new"))
    assert isinstance(info.value, ReplaceRefused)
    assert not info.value.retryable and not info.value.ambiguous
    await assert_not_at_venue(venue, "unk-new")
    assert await open_ids(venue) == []


async def test_a_partly_filled_order_is_not_replaced_the_fill_stands_and_nothing_is_added(
    venue: VenueHarness,
) -> None:
    # The fill that races an amend: the cancel is restricted to an order with nothing
    # filled, so the venue refuses the replace rather than add a replacement on top.
    adapter = native(venue)
    placed = await place_resting(venue, "pf-old")
    await venue.fill_resting(placed, partially=True)
    with pytest.raises(ReplaceCancelRefused):
        await adapter.replace_order("pf-old", placed.venue_order_id, venue.resting("pf-new"))
    old = await venue.adapter.fetch_order(venue.symbol, "pf-old")
    assert old.status is S.PARTIALLY_FILLED and old.filled_quantity > 0
    await assert_not_at_venue(venue, "pf-new")
    assert await open_ids(venue) == ["pf-old"]


async def test_a_filled_order_is_not_replaced(venue: VenueHarness) -> None:
    adapter = native(venue)
    placed = await place_resting(venue, "ff-old")
    await venue.fill_resting(placed)
    with pytest.raises(ReplaceCancelRefused):
        await adapter.replace_order("ff-old", placed.venue_order_id, venue.resting("ff-new"))
    assert (await venue.adapter.fetch_order(venue.symbol, "ff-old")).status is S.FILLED
    await assert_not_at_venue(venue, "ff-new")


async def test_a_replacement_that_fails_a_filter_cancels_nothing(venue: VenueHarness) -> None:
    # Binance checks the new order's filters before the cancel: below the minimum, the
    # old order works on, unchanged.
    adapter = native(venue)
    placed = await place_resting(venue, "flt-old")
    with pytest.raises(ReplaceRefused) as info:
        await adapter.replace_order("flt-old", placed.venue_order_id, venue.rejected("flt-new"))
    assert not isinstance(info.value, ReplacePlaceRejected)
    assert (await venue.adapter.fetch_order(venue.symbol, "flt-old")).status is S.ACCEPTED
    await assert_not_at_venue(venue, "flt-new")
    assert await open_ids(venue) == ["flt-old"]


# ---------------------------------------------------------------- half done


async def test_a_replacement_refused_after_the_cancel_leaves_the_old_order_cancelled(
    venue: VenueHarness,
) -> None:
    # A post-only buy at the ask would take: the matching engine refuses it, after the
    # old order's cancel went through.
    adapter = native(venue)
    placed = await place_resting(venue, "pr-old")
    taker = replace(venue.too_big("pr-new", TimeInForce.GTC), post_only=True,
                    quantity=venue.resting("pr-new").quantity)
    with pytest.raises(ReplacePlaceRejected) as info:
        await adapter.replace_order("pr-old", placed.venue_order_id, taker)
    assert not info.value.retryable and not info.value.ambiguous
    if info.value.cancelled is not None:
        assert info.value.cancelled.status is S.CANCELLED
        assert info.value.cancelled.client_order_id == "pr-old"
    old = await venue.adapter.fetch_order(venue.symbol, "pr-old")
    assert old.status is S.CANCELLED and old.filled_quantity == 0
    await assert_not_at_venue(venue, "pr-new")
    assert await open_ids(venue) == []


# ---------------------------------------------------------------- replaced


@pytest.mark.parametrize("change", ["price", "quantity"])
async def test_replacing_a_resting_order_cancels_it_and_places_the_new_one_in_one_step(
    venue: VenueHarness, change: str,
) -> None:
    adapter = native(venue)
    placed = await place_resting(venue, "rp-old")
    template = venue.resting("rp-new")
    assert template.price is not None
    instrument = (await venue.adapter.load_instruments())[venue.symbol]
    new = (replace(template, price=template.price - 10 * instrument.tick_size)
           if change == "price" else replace(template, quantity=template.quantity * 2))
    report = await adapter.replace_order("rp-old", placed.venue_order_id, new)
    assert report.cancelled.status is S.CANCELLED and report.cancelled.filled_quantity == 0
    assert report.cancelled.client_order_id == "rp-old"
    assert report.placed.status is S.ACCEPTED and report.placed.client_order_id == "rp-new"
    assert report.placed.venue_order_id not in (None, placed.venue_order_id)
    old = await venue.adapter.fetch_order(venue.symbol, "rp-old", placed.venue_order_id)
    assert old.status is S.CANCELLED
    found = await venue.adapter.fetch_order(venue.symbol, "rp-new")
    assert (found.client_order_id, found.venue_order_id, found.status) == (
        "rp-new", report.placed.venue_order_id, S.ACCEPTED)
    assert found.remaining_quantity == new.quantity and found.price == new.price
    assert await open_ids(venue) == ["rp-new"]
    assert venue.orders_at_venue("rp-new") == 1


async def test_a_replace_whose_answer_is_lost_is_ambiguous_and_both_legs_can_be_looked_up(
    venue: VenueHarness,
) -> None:
    adapter = native(venue)
    placed = await place_resting(venue, "amb-old")
    venue.inject("timeout_after_accept", "replace_order")
    with pytest.raises(VenueError) as info:
        await adapter.replace_order("amb-old", placed.venue_order_id, venue.resting("amb-new"))
    assert isinstance(info.value, ReplaceAmbiguous) and info.value.ambiguous
    # The venue did it: the lookups by client order ID say so.
    assert (await venue.adapter.fetch_order(venue.symbol, "amb-old")).status is S.CANCELLED
    assert (await venue.adapter.fetch_order(venue.symbol, "amb-new")).status is S.ACCEPTED
