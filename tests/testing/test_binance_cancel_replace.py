"""The Binance emulator's `POST /api/v3/order/cancelReplace`, driven over HTTP with
hand-signed requests, against what Binance documents: both modes, both cancel
restrictions, filters before anything, and the -2021 (409) / -2022 (400) bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator

D = Decimal
PATH = "/api/v3/order/cancelReplace"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _post(http: aiohttp.ClientSession, emu: BinanceEmulator, path: str,
                params: dict[str, Any]) -> tuple[int, Any]:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    signature = hmac.new(DEFAULT_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    async with http.post(f"{emu.base_url}{path}", data=f"{query}&signature={signature}",
                         headers={"X-MBX-APIKEY": DEFAULT_API_KEY,
                                  "Content-Type": "application/x-www-form-urlencoded"}) as resp:
        return resp.status, json.loads(await resp.text())


async def _rest(http: aiohttp.ClientSession, emu: BinanceEmulator, cid: str) -> dict[str, Any]:
    status, body = await _post(http, emu, "/api/v3/order", {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.03", "price": "49000.00", "newClientOrderId": cid})
    assert status == 200, body
    return dict(body)


def _replace(cid: str, new_cid: str, **extra: Any) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.02", "price": "48900.00", "cancelReplaceMode": "STOP_ON_FAILURE",
            "cancelOrigClientOrderId": cid, "newClientOrderId": new_cid, **extra}


def _status(emu: BinanceEmulator, cid: str) -> list[str]:
    return [o.status for o in emu.orders_by_client_id(cid)]


async def test_an_unknown_order_with_stop_on_failure_is_2022_and_nothing_is_placed(emu, http) -> None:
    status, body = await _post(http, emu, PATH, _replace("nope", "new-1"))
    assert status == 400
    assert body == {"code": -2022, "msg": "Order cancel-replace failed.", "data": {
        "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
        "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
        "newOrderResponse": None}}
    assert _status(emu, "new-1") == []


async def test_only_new_refuses_a_partly_filled_order_and_keeps_it_working(emu, http) -> None:
    await _rest(http, emu, "old-1")
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.01")
    status, body = await _post(http, emu, PATH, _replace("old-1", "new-1",
                                                         cancelRestrictions="ONLY_NEW"))
    assert status == 400 and body["code"] == -2022
    assert body["data"]["cancelResponse"] == {
        "code": -2011, "msg": "Order was not canceled due to cancel restrictions."}
    assert _status(emu, "old-1") == ["PARTIALLY_FILLED"] and _status(emu, "new-1") == []


async def test_only_partially_filled_refuses_an_order_with_nothing_filled(emu, http) -> None:
    await _rest(http, emu, "old-1")
    status, body = await _post(http, emu, PATH, _replace(
        "old-1", "new-1", cancelRestrictions="ONLY_PARTIALLY_FILLED"))
    assert status == 400 and body["data"]["cancelResult"] == "FAILURE"
    assert _status(emu, "old-1") == ["NEW"]


async def test_an_invalid_cancel_restriction_is_1145(emu, http) -> None:
    await _rest(http, emu, "old-1")
    status, body = await _post(http, emu, PATH, _replace("old-1", "new-1",
                                                         cancelRestrictions="ALWAYS"))
    assert (status, body) == (400, {"code": -1145, "msg": "Invalid cancelRestrictions"})
    assert _status(emu, "old-1") == ["NEW"]


async def test_a_new_order_failing_a_filter_is_refused_before_the_cancel(emu, http) -> None:
    await _rest(http, emu, "old-1")
    status, body = await _post(http, emu, PATH, _replace("old-1", "new-1", quantity="0.00001"))
    assert (status, body) == (400, {"code": -1013, "msg": "Filter failure: NOTIONAL"})
    assert _status(emu, "old-1") == ["NEW"] and _status(emu, "new-1") == []


async def test_cancelled_then_refused_is_2021_with_the_cancel_response(emu, http) -> None:
    old = await _rest(http, emu, "old-1")
    # A LIMIT_MAKER (no timeInForce) at the ask would take: refused after the cancel.
    params = _replace("old-1", "new-1", type="LIMIT_MAKER", price="50001.00")
    params.pop("timeInForce")
    status, body = await _post(http, emu, PATH, params)
    assert status == 409 and body["code"] == -2021
    assert body["msg"] == "Order cancel-replace partially failed."
    data = body["data"]
    assert (data["cancelResult"], data["newOrderResult"]) == ("SUCCESS", "FAILURE")
    assert data["cancelResponse"]["origClientOrderId"] == "old-1"
    assert data["cancelResponse"]["orderId"] == old["orderId"]
    assert data["cancelResponse"]["status"] == "CANCELED"
    assert data["newOrderResponse"] == {"code": -2010,
                                        "msg": "Order would immediately match and take."}
    assert _status(emu, "old-1") == ["CANCELED"] and _status(emu, "new-1") == []


async def test_allow_failure_places_the_new_order_even_if_the_cancel_fails(emu, http) -> None:
    status, body = await _post(http, emu, PATH, _replace(
        "nope", "new-1", cancelReplaceMode="ALLOW_FAILURE"))
    assert status == 409 and body["code"] == -2021
    assert (body["data"]["cancelResult"], body["data"]["newOrderResult"]) == ("FAILURE", "SUCCESS")
    assert body["data"]["newOrderResponse"]["clientOrderId"] == "new-1"
    assert _status(emu, "new-1") == ["NEW"]


async def test_allow_failure_with_both_failing_is_2022(emu, http) -> None:
    params = _replace("nope", "new-1", cancelReplaceMode="ALLOW_FAILURE",
                      type="LIMIT_MAKER", price="50001.00")
    params.pop("timeInForce")
    status, body = await _post(http, emu, PATH, params)
    assert status == 400 and body["code"] == -2022
    assert (body["data"]["cancelResult"], body["data"]["newOrderResult"]) == ("FAILURE", "FAILURE")


async def test_both_halves_done_is_200_with_both_responses(emu, http) -> None:
    old = await _rest(http, emu, "old-1")
    status, body = await _post(http, emu, PATH, _replace(
        "old-1", "new-1", cancelOrderId=old["orderId"], cancelRestrictions="ONLY_NEW",
        cancelNewClientOrderId="cxl-1"))
    assert status == 200
    assert (body["cancelResult"], body["newOrderResult"]) == ("SUCCESS", "SUCCESS")
    assert body["cancelResponse"]["clientOrderId"] == "cxl-1"
    assert body["newOrderResponse"]["clientOrderId"] == "new-1"
    assert D(body["newOrderResponse"]["price"]) == D("48900")
    assert _status(emu, "old-1") == ["CANCELED"] and _status(emu, "new-1") == ["NEW"]


async def test_an_order_id_and_a_client_id_that_disagree_cancel_nothing(emu, http) -> None:
    old = await _rest(http, emu, "old-1")
    await _rest(http, emu, "other")
    status, body = await _post(http, emu, PATH, _replace("other", "new-1",
                                                         cancelOrderId=old["orderId"]))
    assert status == 400 and body["code"] == -2022
    assert _status(emu, "old-1") == ["NEW"] and _status(emu, "other") == ["NEW"]
