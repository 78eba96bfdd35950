"""Emulated stops on a ccxt exchange whose `features` list no trigger price: with the
venue's `stops = "auto"` the engine holds the stop (the adapter declares it has none) and
sends a market order through ccxt's real code when the touch crosses the trigger; with
`stops = "native"` the stop is refused unsent, as before. Against the Binance emulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ordergate.domain.order import OrderStatus as S
from ordergate.pipeline.reasons import ReasonCode as R
from tests.integration.test_binance_pipeline import (  # noqa: F401 - fixtures
    ORDER_PATH, Harness, credentials, emu, make_harness,
)

D = Decimal
NO_TRIGGERS = {"spot": {"createOrder": {"triggerPrice": False}}}
SELL_STOP = {"side": "sell", "order_type": "stop_market", "trigger_price": D("49500.00"),
             "stop_loss": D("51000"), "take_profit": D("45000")}


async def _harness(make_harness: Any, monkeypatch: pytest.MonkeyPatch, **sections: Any) -> Harness:
    h: Harness = await make_harness(**sections)
    monkeypatch.setattr(h.venue._exchange, "features", NO_TRIGGERS)
    h.emu.set_book("BTCUSDT", [(D("49999"), D("1"))], [(D("50001"), D("1"))])
    return h


async def test_native_mode_on_an_exchange_without_triggers_refuses_the_stop_unsent(
        make_harness: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    h = await _harness(make_harness, monkeypatch, venue={"stops": "native"})
    order = (await h.submit("nat-1", **SELL_STOP)).order
    assert order is not None and order.status is S.REJECTED  # refused by the adapter
    assert order.transitions[-1].reason.startswith(R.STOP_ORDERS_UNSUPPORTED)
    assert h.order_posts() == []  # nothing reached the exchange


async def test_auto_mode_holds_the_stop_and_sends_a_market_order_once_the_bid_crosses(
        make_harness: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    h = await _harness(make_harness, monkeypatch)
    order = (await h.submit("emu-1", **SELL_STOP)).order
    assert order is not None and order.status is S.HELD
    await h.advance(1)
    assert order.status is S.HELD and h.order_posts() == []
    h.emu.set_book("BTCUSDT", [(D("49400"), D("1"))], [(D("49410"), D("1"))])
    await h.advance(1)
    await h.advance(1)
    assert h.order_posts() == [200]
    (venue_order,) = h.emu.orders_by_client_id(order.client_order_id)
    assert venue_order.type == "MARKET"
    assert order.status is S.FILLED and order.average_price == D("49400")
