"""The emulator's OCO order lists, driven over HTTP the way Binance is (hand-signed
requests): `POST /api/v3/orderList/oco`, `DELETE` and `GET /api/v3/orderList`, and the
legs as ordinary orders. Refusals first, with Binance's codes and messages."""

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
OCO = "/api/v3/orderList/oco"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    # Spot: 0.01 BTC to sell; the last price (no trade yet) is the book's mid, 50000.
    async with BinanceEmulator(balances={"USDT": D(100000), "BTC": D("0.01")}) as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _private(http: aiohttp.ClientSession, emu: BinanceEmulator, method: str, path: str,
                   params: dict[str, Any]) -> tuple[int, Any]:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    signed = query + "&signature=" + hmac.new(
        DEFAULT_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    headers = {"X-MBX-APIKEY": DEFAULT_API_KEY}
    url = f"{emu.base_url}{path}"
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = http.request(method, url, headers=headers, data=signed)
    else:
        request = http.request(method, f"{url}?{signed}", headers=headers)
    async with request as resp:
        return resp.status, json.loads(await resp.text())


def _sell_oco(**changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "listClientOrderId": "L1",
        "aboveType": "LIMIT_MAKER", "abovePrice": "51000.00", "aboveClientOrderId": "TP1",
        "belowType": "STOP_LOSS", "belowStopPrice": "49000.00", "belowClientOrderId": "SL1",
        "newOrderRespType": "RESULT"}
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(("changes", "code", "msg"), [
    ({"aboveType": "LIMIT"}, -1158, "Order type not supported in OCO."),
    ({"belowType": "LIMIT_MAKER", "belowPrice": "49000.00", "belowStopPrice": None},
     -1168, "At least one OCO order must be contingent."),
    ({"aboveType": "STOP_LOSS", "aboveStopPrice": "51000.00", "abovePrice": None,
      "belowType": "LIMIT_MAKER", "belowPrice": "49000.00", "belowStopPrice": None},
     -1166, "A limit order in a sell OCO must be above."),
    ({"aboveType": "STOP_LOSS", "aboveStopPrice": "51000.00", "abovePrice": None},
     -1197, "A stop loss order in a sell OCO must be below."),
    ({"belowPrice": "48000.00"}, -1106, "Parameter 'belowPrice' sent when not required."),
    ({"abovePrice": "51000.001"}, -1013, "Filter failure: PRICE_FILTER"),
    ({"quantity": "0.000015"}, -1013, "Filter failure: LOT_SIZE"),
    ({"belowStopPrice": "50500.00"}, -2010,
     "The relationship of the prices for the orders is not correct."),
    ({"quantity": "0.02"}, -2010, "Account has insufficient balance for requested action."),
])
async def test_a_refused_list_answers_as_binance_does_and_places_nothing(
        emu: BinanceEmulator, http: aiohttp.ClientSession, changes: dict[str, Any], code: int,
        msg: str) -> None:
    status, body = await _private(http, emu, "POST", OCO, _sell_oco(**changes))
    assert (status, body) == (400, {"code": code, "msg": msg})
    assert emu.orders == [] and emu.balances()["BTC"] == (D("0.01"), 0)


async def test_a_buy_list_has_its_limit_below_and_its_stop_above(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    wrong = {"side": "BUY"}  # the sell's layout: limit above, stop below
    assert (await _private(http, emu, "POST", OCO, _sell_oco(**wrong)))[1]["code"] == -1165
    right = _sell_oco(side="BUY", aboveType="STOP_LOSS", aboveStopPrice="51000.00",
                      abovePrice=None, aboveClientOrderId="SL2", belowType="LIMIT_MAKER",
                      belowPrice="49000.00", belowStopPrice=None, belowClientOrderId="TP2")
    status, body = await _private(http, emu, "POST", OCO, right)
    assert status == 200 and [r["type"] for r in body["orderReports"]] == ["STOP_LOSS", "LIMIT_MAKER"]


async def test_a_reused_client_order_id_is_a_duplicate_while_its_list_is_open(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.set_balance("BTC", "0.02")
    assert (await _private(http, emu, "POST", OCO, _sell_oco()))[0] == 200
    status, body = await _private(http, emu, "POST", OCO, _sell_oco(
        aboveClientOrderId="TP9", belowClientOrderId="SL9"))
    assert (status, body["msg"]) == (400, "Duplicate order sent.")  # the list's ID


async def test_a_new_list_answers_with_both_legs_and_locks_the_base_once(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _private(http, emu, "POST", OCO, _sell_oco())
    assert status == 200
    assert {k: body[k] for k in ("contingencyType", "listStatusType", "listOrderStatus",
                                 "listClientOrderId", "symbol")} == {
        "contingencyType": "OCO", "listStatusType": "EXEC_STARTED",
        "listOrderStatus": "EXECUTING", "listClientOrderId": "L1", "symbol": "BTCUSDT"}
    stop, maker = body["orderReports"]
    assert [o["clientOrderId"] for o in body["orders"]] == ["SL1", "TP1"]
    assert (stop["type"], stop["stopPrice"], stop["workingTime"]) == ("STOP_LOSS", "49000.00000000", -1)
    assert (maker["type"], maker["price"], maker["status"]) == ("LIMIT_MAKER", "51000.00000000", "NEW")
    assert stop["orderListId"] == maker["orderListId"] == body["orderListId"]
    assert emu.balances()["BTC"] == (0, D("0.01"))
    # Each leg is an ordinary order, found by its client order ID, showing its list.
    status, leg = await _private(http, emu, "GET", "/api/v3/order",
                                 {"symbol": "BTCUSDT", "origClientOrderId": "SL1"})
    assert status == 200 and leg["orderListId"] == body["orderListId"] and not leg["isWorking"]
    status, listed = await _private(http, emu, "GET", "/api/v3/orderList",
                                    {"origClientOrderId": "L1"})
    assert status == 200 and listed["orderListId"] == body["orderListId"]


async def test_the_limit_maker_filling_in_part_expires_the_stop(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    await _private(http, emu, "POST", OCO, _sell_oco())
    emu.trade_against_resting("BTCUSDT", "51000.00", "0.004")
    emu.trade_against_resting("BTCUSDT", "48000.00", "1")  # the stop would have triggered
    by_cid = {o.client_order_id: o for o in emu.orders}
    assert (by_cid["TP1"].status, by_cid["TP1"].executed_qty) == ("PARTIALLY_FILLED", D("0.004"))
    assert (by_cid["SL1"].status, by_cid["SL1"].executed_qty) == ("EXPIRED", 0)
    assert emu.balances()["BTC"] == (0, D("0.006"))


async def test_the_stop_triggering_expires_the_limit_maker_before_it_executes(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    await _private(http, emu, "POST", OCO, _sell_oco())
    emu.trade_against_resting("BTCUSDT", "48900.00", "1")
    by_cid = {o.client_order_id: o for o in emu.orders}
    assert (by_cid["SL1"].status, by_cid["SL1"].executed_qty) == ("FILLED", D("0.01"))
    assert by_cid["TP1"].status == "EXPIRED"
    assert emu.balances()["BTC"] == (0, 0)  # sold once: the lock went to the stop's sale


async def test_cancelling_a_leg_or_the_list_cancels_both(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    await _private(http, emu, "POST", OCO, _sell_oco())
    status, body = await _private(http, emu, "DELETE", "/api/v3/order",
                                  {"symbol": "BTCUSDT", "origClientOrderId": "TP1"})
    assert (status, body["status"], body["orderListId"] >= 0) == (200, "CANCELED", True)
    assert {o.client_order_id: o.status for o in emu.orders} == {"TP1": "CANCELED", "SL1": "CANCELED"}
    assert emu.balances()["BTC"] == (D("0.01"), 0)
    status, body = await _private(http, emu, "DELETE", "/api/v3/orderList",
                                  {"symbol": "BTCUSDT", "listClientOrderId": "L1"})
    assert (status, body) == (400, {"code": -2011, "msg": "Unknown order list sent."})
    await _private(http, emu, "POST", OCO, _sell_oco(listClientOrderId="L2",
                                                   aboveClientOrderId="TP2",
                                                   belowClientOrderId="SL2"))
    status, body = await _private(http, emu, "DELETE", "/api/v3/orderList",
                                  {"symbol": "BTCUSDT", "listClientOrderId": "L2"})
    assert status == 200 and body["listStatusType"] == "ALL_DONE"
    assert [(r["origClientOrderId"], r["status"]) for r in body["orderReports"]] == [
        ("SL2", "CANCELED"), ("TP2", "CANCELED")]
