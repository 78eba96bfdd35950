"""Adapter conformance for stops: every adapter either takes stop orders natively or says
it does not, before anything is sent, so the engine knows to emulate them
(`pipeline/stop_emulator.py`); and what an emulated stop becomes once triggered is an order
every adapter takes. Run against each harness of `ordergate.testing.conformance`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import OrderType
from ordergate.pipeline.stop_emulator import triggered_request
from ordergate.testing.conformance import HARNESSES, VenueHarness
from ordergate.venues.base import StopOrdersUnsupported
from ordergate.venues.capabilities import market_orders, native_stop_orders
from ordergate.venues.guarded import GuardedVenue

STOPS = pytest.mark.parametrize("order_type", [OrderType.STOP_MARKET, OrderType.STOP_LIMIT],
                                ids=["stop_market", "stop_limit"])


@pytest.fixture(params=list(HARNESSES), ids=list(HARNESSES))
async def venue(request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[VenueHarness]:
    async with HARNESSES[request.param](monkeypatch.setenv) as harness:
        yield harness


async def test_an_adapter_declares_whether_it_takes_stops_and_market_orders(
    venue: VenueHarness,
) -> None:
    assert native_stop_orders(venue.adapter) is venue.capabilities.stop_orders
    assert market_orders(venue.adapter) is venue.capabilities.market_orders


async def test_the_declaration_is_seen_through_the_engines_guard(venue: VenueHarness) -> None:
    guarded = GuardedVenue.wrap(venue.adapter, SimulatedClock(datetime.now(UTC)))
    assert native_stop_orders(guarded) is venue.capabilities.stop_orders


@STOPS
async def test_an_adapter_that_declares_no_stops_refuses_one_before_anything_is_sent(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    if native_stop_orders(venue.adapter):
        pytest.skip(f"{venue.name} takes stops natively")
    request = venue.stop("st-undeclared", order_type)
    with pytest.raises(StopOrdersUnsupported):  # the executor prepares before it sends
        await venue.adapter.prepare_order(request)
    with pytest.raises(StopOrdersUnsupported):
        await venue.adapter.place_order(request)
    assert venue.orders_at_venue("st-undeclared") == 0


@STOPS
async def test_a_triggered_emulated_stop_is_an_order_the_adapter_takes(
    venue: VenueHarness, order_type: OrderType,
) -> None:
    """At its trigger (the market there, `crossed`), a stop_limit is a limit at its price
    and a stop_market a market order, or a protected IOC limit where there are none."""
    stop = venue.stop("st-fired", order_type, crossed=True)
    instruments = await venue.adapter.load_instruments()
    order = Order(stop.client_order_id, "sig", "st", stop.account_id, venue.name, stop.symbol,
                  stop.side, stop.order_type, stop.quantity, stop.price, stop.time_in_force,
                  datetime.now(UTC), trigger_price=stop.trigger_price)
    request = triggered_request(order, takes_market=market_orders(venue.adapter),
                                protection=Decimal("0.05"),
                                instrument=instruments.get(stop.symbol))
    assert request.trigger_price is None and not request.order_type.is_stop
    prepared = await venue.adapter.prepare_order(request)
    request = replace(request, venue_order_id=prepared)  # None where the venue numbers it
    report = await venue.adapter.place_order(request)
    assert report.status is not OrderStatus.REJECTED
    assert venue.orders_at_venue("st-fired") == 1

