"""The Binance emulator, driven over HTTP the way Binance is (hand-signed requests), through
ccxt's real binance class, from a thread, and as its own process."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt.async_support as ccxt
import pytest

from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    BinanceEmulator,
    BinanceEmulatorThread,
    SymbolSpec,
)
from ordergate.testing.binance_market import fmt
from ordergate.testing.binance_faults import Fault

D = Decimal


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _sign(params: dict[str, Any], secret: str = DEFAULT_API_SECRET) -> str:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


async def _private(
    http: aiohttp.ClientSession, emu: BinanceEmulator, method: str, path: str,
    params: dict[str, Any], *, key: str | None = DEFAULT_API_KEY,
    secret: str = DEFAULT_API_SECRET,
) -> tuple[int, Any]:
    signed = _sign(params, secret)
    headers = {} if key is None else {"X-MBX-APIKEY": key}
    url = f"{emu.base_url}{path}"
    if method in ("GET", "DELETE"):
        kwargs: dict[str, Any] = {"params": None}
        url = f"{url}?{signed}"
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        kwargs = {"data": signed}
    async with http.request(method, url, headers=headers, **kwargs) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


async def _order(http: aiohttp.ClientSession, emu: BinanceEmulator, **params: Any) -> tuple[int, Any]:
    return await _private(http, emu, "POST", "/api/v3/order", params)


# ---------------------------------------------------------------- authentication (unhappy first)


async def test_missing_api_key_is_2014(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _private(http, emu, "GET", "/api/v3/account", {}, key=None)
    assert (status, body["code"]) == (401, -2014)


async def test_wrong_api_key_is_2015(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _private(http, emu, "GET", "/api/v3/account", {}, key="nope")
    assert (status, body) == (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."})


async def test_bad_signature_is_1022(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _private(http, emu, "GET", "/api/v3/account", {}, secret="wrong")
    assert (status, body) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})


async def test_stale_timestamp_is_1021(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    query = urlencode({"timestamp": int(time.time() * 1000) - 60_000, "recvWindow": 5000})
    sig = hmac.new(DEFAULT_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    async with http.get(f"{emu.base_url}/api/v3/account?{query}&signature={sig}",
                        headers={"X-MBX-APIKEY": DEFAULT_API_KEY}) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == -1021


async def _signed_at(http: aiohttp.ClientSession, emu: BinanceEmulator, timestamp: int,
                     recv_window: str | None = None) -> tuple[int, Any]:
    params: dict[str, Any] = {"timestamp": timestamp}
    if recv_window is not None:
        params["recvWindow"] = recv_window
    query = urlencode(params)
    sig = hmac.new(DEFAULT_API_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
    async with http.get(f"{emu.base_url}/api/v3/account?{query}&signature={sig}",
                        headers={"X-MBX-APIKEY": DEFAULT_API_KEY}) as resp:
        return resp.status, await resp.json()


async def test_timestamps_are_judged_by_the_venues_own_clock(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    # The venue's clock 5 s behind ours: our "now" is 5 s in its future.
    emu.set_clock_offset(-5000)
    ours = int(time.time() * 1000)
    status, body = await _signed_at(http, emu, ours)
    assert (status, body) == (400, {"code": -1021, "msg": "Timestamp for this request was 1000ms ahead of the server's time."})
    async with http.get(f"{emu.base_url}/api/v3/time") as resp:
        server = (await resp.json())["serverTime"]
    assert abs(server - (ours - 5000)) < 1000
    status, _ = await _signed_at(http, emu, server)  # stamped with the venue's time: fine
    assert status == 200
    # Binance processes only if timestamp < serverTime + 1000 and within recvWindow.
    status, body = await _signed_at(http, emu, emu.server_time_ms() - 3000, recv_window="2000.5")
    assert (status, body["msg"]) == (400, "Timestamp for this request is outside of the recvWindow.")
    status, _ = await _signed_at(http, emu, emu.server_time_ms() - 3000, recv_window="6000.346")
    assert status == 200


async def test_admin_sets_the_venues_clock(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emu.base_url}/_admin/clock", json={"offset_ms": 7000}) as resp:
        assert (await resp.json())["offset_ms"] == 7000
    assert emu.clock_offset_ms == 7000 and emu.state()["clock_offset_ms"] == 7000
    _, placed = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                             quantity="0.01", recvWindow=10000)  # our time: 7 s behind it
    assert placed["transactTime"] - int(time.time() * 1000) > 5000  # stamped on its clock


async def test_filters_changed_while_running_are_published_and_enforced(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emu.base_url}/_admin/filters",
                         json={"symbol": "BTCUSDT", "tick_size": "0.10", "min_price": "0.10"}) as resp:
        assert resp.status == 200
        published = {f["filterType"]: f for f in (await resp.json())["filters"]}
    assert published["PRICE_FILTER"]["tickSize"] == "0.10000000"
    async with http.get(f"{emu.base_url}/api/v3/exchangeInfo?symbol=BTCUSDT") as resp:
        [info] = (await resp.json())["symbols"]
    assert {f["filterType"]: f for f in info["filters"]}["PRICE_FILTER"]["tickSize"] == "0.10000000"
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT",
                                timeInForce="GTC", price="49000.05", quantity="0.01")
    assert (status, body) == (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"})
    status, _ = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT",
                             timeInForce="GTC", price="49000.10", quantity="0.01")
    assert status == 200
    emu.set_filters("BTCUSDT", step_size="0.001", min_qty="0.001")
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.0105")
    assert body == {"code": -1013, "msg": "Filter failure: LOT_SIZE"}
    with pytest.raises(ValueError, match="maker_fee"):
        emu.set_filters("BTCUSDT", maker_fee="0")
    async with http.post(f"{emu.base_url}/_admin/filters", json={"symbol": "NOPEUSDT", "tick_size": "1"}) as resp:
        assert (resp.status, (await resp.json())["code"]) == (400, -1121)


async def test_signed_body_and_query_are_both_covered(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.001")
    assert status == 200 and body["status"] == "FILLED"


# ---------------------------------------------------------------- order errors


@pytest.mark.parametrize(
    ("params", "msg"),
    [
        ({"price": "49000.005", "quantity": "0.01"}, "Filter failure: PRICE_FILTER"),
        ({"price": "49000.00", "quantity": "0.000015"}, "Filter failure: LOT_SIZE"),
        ({"price": "49000.00", "quantity": "0.00001"}, "Filter failure: NOTIONAL"),
    ],
)
async def test_filter_failures_are_1013(emu: BinanceEmulator, http: aiohttp.ClientSession,
                                        params: dict[str, str], msg: str) -> None:
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT",
                                timeInForce="GTC", **params)
    assert (status, body) == (400, {"code": -1013, "msg": msg})
    assert emu.orders == []


async def test_insufficient_balance_is_2010(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.set_balance("USDT", "100")
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT",
                                timeInForce="GTC", price="49000.00", quantity="0.01")
    assert (status, body) == (400, {"code": -2010, "msg": "Account has insufficient balance for requested action."})


async def test_invalid_symbol_is_1121(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _order(http, emu, symbol="NOPEUSDT", side="BUY", type="MARKET", quantity="1")
    assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})


async def test_unknown_order_query_2013_and_cancel_2011(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _private(http, emu, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 42})
    assert (status, body) == (400, {"code": -2013, "msg": "Order does not exist."})
    status, body = await _private(http, emu, "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "x"})
    assert (status, body) == (400, {"code": -2011, "msg": "Unknown order sent."})


async def test_duplicate_client_order_id_refused_only_while_open(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "49000.00", "quantity": "0.01", "newClientOrderId": "dup-1"}
    status, first = await _order(http, emu, **limit)
    assert status == 200 and first["status"] == "NEW"
    status, body = await _order(http, emu, **limit)
    assert (status, body) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    # A market order reusing it is refused too while the first is open.
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                                quantity="0.01", newClientOrderId="dup-1")
    assert body["msg"] == "Duplicate order sent."
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.01")
    status, second = await _order(http, emu, **limit)
    assert status == 200 and second["orderId"] != first["orderId"]
    assert emu.client_order_id_counts()["dup-1"] == 2
    # Looking it up by client order ID finds the most recent one.
    _, found = await _private(http, emu, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "dup-1"})
    assert found["orderId"] == second["orderId"]


async def test_cancel_of_filled_order_is_2011(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, order = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    status, body = await _private(http, emu, "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": order["orderId"]})
    assert (status, body["code"]) == (400, -2011)


# ---------------------------------------------------------------- matching model


async def test_each_symbol_numbers_its_own_orders_and_trades_from_one(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    # Binance's order and trade IDs are sequences per symbol: two symbols share IDs.
    _, btc = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                          quantity="0.7", newOrderRespType="FULL")
    _, eth = await _order(http, emu, symbol="ETHUSDT", side="BUY", type="MARKET",
                          quantity="1", newOrderRespType="FULL")
    _, btc2 = await _order(http, emu, symbol="BTCUSDT", side="SELL", type="MARKET",
                           quantity="0.1", newOrderRespType="FULL")
    assert (btc["orderId"], eth["orderId"], btc2["orderId"]) == (1, 1, 2)
    assert [f["tradeId"] for f in btc["fills"]] == [1, 2]
    assert [f["tradeId"] for f in eth["fills"]] == [1]
    assert [f["tradeId"] for f in btc2["fills"]] == [3]
    # An order ID names an order only together with its symbol.
    _, found = await _private(http, emu, "GET", "/api/v3/order", {"symbol": "ETHUSDT", "orderId": 1})
    assert found["clientOrderId"] == eth["clientOrderId"] != btc["clientOrderId"]
    _, trades = await _private(http, emu, "GET", "/api/v3/myTrades", {"symbol": "ETHUSDT"})
    assert [(t["id"], t["orderId"], t["symbol"]) for t in trades] == [(1, 1, "ETHUSDT")]
    btc_order = emu.order("BTCUSDT", 1)
    assert btc_order is not None and [t.trade_id for t in emu.trades_of(btc_order)] == [1, 2]


def _thin_asks(levels: int) -> list[tuple[Decimal, Decimal]]:
    """An ask side of `levels` levels of 0.001 BTC, one dollar apart: a market buy of
    levels/1000 BTC fills in `levels` trades."""
    return [(D(50001 + i), D("0.001")) for i in range(levels)]


async def test_my_trades_serves_the_most_recent_500_by_default_and_at_most_1000(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.set_book("BTCUSDT", [(D("49999"), D("1"))], _thin_asks(1100))
    _, order = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="1.1")
    assert order["status"] == "FILLED"
    query = {"symbol": "BTCUSDT", "orderId": order["orderId"]}

    async def ids(**extra: Any) -> list[int]:
        status, page = await _private(http, emu, "GET", "/api/v3/myTrades", {**query, **extra})
        assert status == 200, page
        return [t["id"] for t in page]

    # Without fromId, the most recent trades: the first 600 of this order are not there.
    assert await ids() == list(range(601, 1101))
    assert await ids(limit=5000) == list(range(101, 1101))  # 1000 at most
    # With fromId, from that trade on, oldest first: how a client reads them all.
    assert await ids(fromId=0, limit=1000) == list(range(1, 1001))
    assert await ids(fromId=1001, limit=1000) == list(range(1001, 1101))
    assert await ids(fromId=1101, limit=1000) == []


@pytest.mark.parametrize(("params", "code"), [
    ({"orderId": 1, "startTime": 0}, -1128),
    ({"fromId": 1, "startTime": 0}, -1128),
    ({"startTime": 0, "endTime": 24 * 3600 * 1000 + 1}, -1127),
    ({"limit": 0}, -1130),
    ({"fromId": "x"}, -1100),
])
async def test_my_trades_refuses_what_binance_refuses(emu: BinanceEmulator, http: aiohttp.ClientSession,
                                                     params: dict[str, Any], code: int) -> None:
    status, body = await _private(http, emu, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", **params})
    assert (status, body["code"]) == (400, code)


async def test_market_order_walks_levels_in_several_trades(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                                quantity="0.70000", newOrderRespType="FULL")
    assert status == 200 and body["status"] == "FILLED"
    assert [(f["price"], f["qty"]) for f in body["fills"]] == [
        ("50001.00000000", "0.50000000"), ("50002.00000000", "0.20000000")]
    assert body["cummulativeQuoteQty"] == "35000.90000000"
    order = emu.order("BTCUSDT", body["orderId"])
    assert order is not None
    trades = emu.trades_of(order)
    assert [t.commission for t in trades] == [D("0.0005"), D("0.0002")]
    assert len({t.trade_id for t in emu.trades}) == len(emu.trades)
    free_btc, _ = emu.balances()["BTC"]
    assert free_btc == D("10") + D("0.7") - D("0.0007")
    assert emu.balances()["USDT"][0] == D("1000000") - D("35000.9")
    # The book lost that liquidity.
    assert emu.book("BTCUSDT")[1][0] == (D("50002.00"), D("0.8"))


BNBUSDT = SymbolSpec(symbol="BNBUSDT", base="BNB", quote="USDT", tick_size=D("0.01"),
                     step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("90000"),
                     min_notional=D("5"))


async def test_an_account_paying_fees_in_bnb_is_charged_bnb_at_a_discount(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.add_symbol(BNBUSDT)
    emu.set_book("BNBUSDT", [(D("599"), D("100"))], [(D("601"), D("100"))])  # mid 600
    emu.set_balance("BNB", "1")
    async with http.post(f"{emu.base_url}/_admin/account", json={"pay_fees_in_bnb": True}) as resp:
        assert (await resp.json()) == {"pay_fees_in_bnb": True}
    _, buy = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                          quantity="0.3", newOrderRespType="FULL")
    # 0.3 x 50001 = 15000.3 USDT; 0.1% of it, 25% off, at 600 USDT a BNB.
    fee = (D("15000.3") * D("0.001") * D("0.75") / D("600")).quantize(D("0.00000001"))
    assert [(f["commission"], f["commissionAsset"]) for f in buy["fills"]] == [(fmt(fee), "BNB")]
    assert emu.balances()["BTC"][0] == D("10.3")  # the whole quantity: no BTC commission
    assert emu.balances()["BNB"][0] == D("1") - fee
    _, sell = await _order(http, emu, symbol="ETHUSDT", side="SELL", type="MARKET",
                           quantity="1", newOrderRespType="FULL")
    assert sell["fills"][0]["commissionAsset"] == "BNB"
    assert emu.balances()["USDT"][0] == D("1000000") - D("15000.3") + D("2999")
    # Not enough BNB left for a commission: charged the usual way.
    emu.set_balance("BNB", "0")
    _, last = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                           quantity="0.01", newOrderRespType="FULL")
    assert [f["commissionAsset"] for f in last["fills"]] == ["BTC"]
    assert emu.state()["pay_fees_in_bnb"] is True


async def test_market_order_out_of_liquidity_expires_partially_filled(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.set_book("BTCUSDT", [(D("49999"), D("1"))], [(D("50001"), D("0.1")), (D("50003"), D("0.2"))])
    _, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="1")
    assert body["status"] == "EXPIRED"
    assert body["executedQty"] == "0.30000000"
    assert len(body["fills"]) == 2


async def test_limit_order_fills_what_crosses_and_rests(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                           price="50001.00", quantity="0.8")
    assert body["status"] == "PARTIALLY_FILLED" and body["executedQty"] == "0.50000000"
    _, locked = emu.balances()["USDT"]
    assert locked == D("0.3") * D("50001.00")
    trades = emu.trade_against_resting("BTCUSDT", "50000.00", "1")
    assert [(t.price, t.qty, t.is_maker) for t in trades] == [(D("50001.00"), D("0.3"), True)]
    _, after = await _private(http, emu, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": body["orderId"]})
    assert after["status"] == "FILLED" and after["executedQty"] == "0.80000000"
    assert emu.balances()["USDT"] == (D("1000000") - D("0.8") * D("50001.00"), D(0))


async def test_resting_order_filled_by_moving_the_book(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await _order(http, emu, symbol="BTCUSDT", side="SELL", type="LIMIT", timeInForce="GTC",
                           price="50100.00", quantity="0.5")
    assert body["status"] == "NEW"
    trades = emu.set_book("BTCUSDT", [(D("50150"), D("0.2")), (D("50100"), D("1"))], [(D("50200"), D("1"))])
    assert sum((t.qty for t in trades), D(0)) == D("0.5")
    assert emu.orders[-1].status == "FILLED"


async def test_ioc_and_fok(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, fok = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="FOK",
                          price="50002.00", quantity="5")
    assert fok["status"] == "EXPIRED" and fok["executedQty"] == "0.00000000"
    _, ioc = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="IOC",
                          price="50001.00", quantity="1")
    assert ioc["status"] == "EXPIRED" and ioc["executedQty"] == "0.50000000"
    assert emu.balances()["USDT"][1] == D(0)


async def test_limit_maker_with_a_time_in_force_is_1106(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER",
                                timeInForce="GTC", price="49000.00", quantity="0.1")
    assert (status, body["code"]) == (400, -1106) and "timeInForce" in body["msg"]
    assert emu.orders == []


@pytest.mark.parametrize(("side", "price"), [("BUY", "50001.00"), ("BUY", "50500.00"),
                                             ("SELL", "49999.00"), ("SELL", "49000.00")])
async def test_limit_maker_that_would_take_is_2010_and_never_exists(
        emu: BinanceEmulator, http: aiohttp.ClientSession, side: str, price: str) -> None:
    before = emu.balances()
    status, body = await _order(http, emu, symbol="BTCUSDT", side=side, type="LIMIT_MAKER",
                                price=price, quantity="0.1", newClientOrderId="mk-1")
    assert (status, body) == (400, {"code": -2010, "msg": "Order would immediately match and take."})
    assert emu.orders == [] and emu.trades == [] and emu.balances() == before
    assert emu.client_order_id_counts() == {}


async def test_limit_maker_that_rests_is_a_limit_order_filled_as_maker(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER",
                           price="50000.00", quantity="0.2", newOrderRespType="FULL")
    assert (body["status"], body["type"], body["fills"]) == ("NEW", "LIMIT_MAKER", [])
    assert emu.balances()["USDT"][1] == D("0.2") * D("50000.00")  # locked like a LIMIT
    trades = emu.trade_against_resting("BTCUSDT", "49990.00", "1")
    assert [(t.price, t.qty, t.is_maker) for t in trades] == [(D("50000.00"), D("0.2"), True)]
    _, after = await _private(http, emu, "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": body["orderId"]})
    assert (after["status"], after["type"]) == ("FILLED", "LIMIT_MAKER")
    assert emu.balances()["USDT"] == (D("1000000") - D("0.2") * D("50000.00"), D(0))


# ---------------------------------------------------------------- stop orders
# The default book is 49999.00 / 50001.00: before any trade the last price is the mid, 50000.


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"type": "STOP_LOSS"}, -1102, "'stopPrice'"),
    ({"type": "STOP_LOSS_LIMIT", "stopPrice": "49000.00", "price": "48900.00"}, -1102,
     "'timeInForce'"),
    ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "49000.00", "timeInForce": "GTC"}, -1102,
     "'price'"),
    ({"type": "STOP_LOSS", "stopPrice": "49000.00", "price": "48900.00"}, -1106, "'price'"),
    ({"type": "LIMIT", "stopPrice": "49000.00", "price": "48900.00", "timeInForce": "GTC"},
     -1106, "'stopPrice'"),
    ({"type": "STOP_LOSS", "stopPrice": "49000.005"}, -1013, "PRICE_FILTER"),
], ids=["no-stop-price", "limit-without-tif", "limit-without-price", "market-with-price",
        "limit-with-stop-price", "stop-off-tick"])
async def test_a_malformed_stop_order_is_refused_as_binance_refuses_it(
        emu: BinanceEmulator, http: aiohttp.ClientSession, params: dict[str, str], code: int,
        words: str) -> None:
    status, body = await _order(http, emu, symbol="BTCUSDT", side="SELL", quantity="0.1", **params)
    assert (status, body["code"]) == (400, code) and words in body["msg"]
    assert emu.orders == []


@pytest.mark.parametrize(("otype", "side", "stop"), [
    ("STOP_LOSS", "BUY", "50000.00"), ("STOP_LOSS", "BUY", "49500.00"),
    ("STOP_LOSS_LIMIT", "SELL", "50000.00"), ("STOP_LOSS", "SELL", "50500.00"),
    ("TAKE_PROFIT", "BUY", "50500.00"), ("TAKE_PROFIT_LIMIT", "SELL", "49500.00")])
async def test_a_stop_that_would_trigger_immediately_is_2010_and_never_exists(
        emu: BinanceEmulator, http: aiohttp.ClientSession, otype: str, side: str, stop: str) -> None:
    before = emu.balances()
    limit = {"price": stop, "timeInForce": "GTC"} if otype.endswith("_LIMIT") else {}
    status, body = await _order(http, emu, symbol="BTCUSDT", side=side, type=otype,
                                stopPrice=stop, quantity="0.1", **limit)
    assert (status, body) == (400, {"code": -2010, "msg": "Stop price would trigger immediately."})
    assert emu.orders == [] and emu.trades == [] and emu.balances() == before


async def test_a_stop_loss_waits_unworking_and_locked_then_sells_at_market_once_the_last_price_falls_to_it(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await _order(http, emu, symbol="BTCUSDT", side="SELL", type="STOP_LOSS",
                           stopPrice="49500.00", quantity="0.3", newOrderRespType="FULL")
    assert (body["status"], body["type"], body["stopPrice"], body["fills"]) == (
        "NEW", "STOP_LOSS", "49500.00000000", [])
    assert emu.balances()["BTC"] == (D("9.7"), D("0.3"))
    assert emu.trade_against_resting("BTCUSDT", "49600.00", "1") == []  # not reached
    query = {"symbol": "BTCUSDT", "orderId": body["orderId"]}
    _, waiting = await _private(http, emu, "GET", "/api/v3/order", query)
    assert (waiting["status"], waiting["isWorking"], waiting["workingTime"]) == ("NEW", False, -1)
    trades = emu.trade_against_resting("BTCUSDT", "49500.00", "1")  # the last price reaches it
    assert [(t.price, t.qty, t.is_maker) for t in trades] == [(D("49999.00"), D("0.3"), False)]
    _, after = await _private(http, emu, "GET", "/api/v3/order", query)
    assert (after["status"], after["isWorking"], after["executedQty"]) == ("FILLED", True, "0.30000000")
    assert emu.balances()["BTC"] == (D("9.7"), D(0))


async def test_a_triggered_stop_loss_limit_rests_as_a_limit_and_fills_as_maker(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    # A buy stop at 50500 with a limit of 50000: triggered by a print at 50600, it does not
    # reach the ask of 50001, so it rests as a LIMIT buy at 50000 until a seller comes.
    _, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="STOP_LOSS_LIMIT",
                           stopPrice="50500.00", price="50000.00", timeInForce="GTC",
                           quantity="0.2")
    assert emu.balances()["USDT"][1] == D("0.2") * D("50000.00")
    assert emu.trade_against_resting("BTCUSDT", "50600.00", "1") == []
    query = {"symbol": "BTCUSDT", "orderId": body["orderId"]}
    _, working = await _private(http, emu, "GET", "/api/v3/order", query)
    assert (working["status"], working["isWorking"]) == ("NEW", True)
    trades = emu.trade_against_resting("BTCUSDT", "49990.00", "1")
    assert [(t.price, t.qty, t.is_maker) for t in trades] == [(D("50000.00"), D("0.2"), True)]
    assert emu.balances()["USDT"] == (D("1000000") - D("0.2") * D("50000.00"), D(0))


async def test_a_take_profit_sell_triggers_on_a_rise_and_its_trade_ids_continue_per_symbol(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.1")
    _, body = await _order(http, emu, symbol="BTCUSDT", side="SELL", type="TAKE_PROFIT",
                           stopPrice="50400.00", quantity="0.1")
    assert emu.trade_against_resting("BTCUSDT", "50300.00", "1") == []
    trades = emu.trade_against_resting("BTCUSDT", "50400.00", "1")
    assert [(t.trade_id, t.side, t.is_maker) for t in trades] == [(2, "SELL", False)]
    assert {o.order_id: o.status for o in emu.orders} == {1: "FILLED", 2: "FILLED"}


async def test_a_cancelled_stop_releases_its_lock_and_never_triggers(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="STOP_LOSS",
                           stopPrice="50500.00", quantity="0.1")
    assert emu.balances()["USDT"][1] == D("5050.00")
    status, _ = await _private(http, emu, "DELETE", "/api/v3/order",
                               {"symbol": "BTCUSDT", "orderId": body["orderId"]})
    assert status == 200 and emu.balances()["USDT"] == (D("1000000"), D(0))
    assert emu.trade_against_resting("BTCUSDT", "50600.00", "1") == []
    assert emu.trades == []


async def test_new_order_resp_types(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    _, ack = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                          newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    _, result = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                             newOrderRespType="RESULT")
    assert result["status"] == "FILLED" and "fills" not in result


# ---------------------------------------------------------------- faults


async def test_status_fault_answers_without_processing(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.fail_next("POST", "/api/v3/order", 503)
    status, _ = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert status == 503 and emu.orders == []
    status, _ = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert status == 200 and len(emu.orders) == 1


async def test_a_fault_with_skip_lets_that_many_matching_requests_through_first(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    # The crash test holds a bracket's first exit, the order request after its entry's.
    fault = emu.inject_fault(Fault.from_json({"method": "POST", "path": "/api/v3/order",
                                              "kind": "status", "status": 503, "skip": 1}))
    first, _ = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    second, _ = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert (first, second) == (200, 503) and len(emu.orders) == 1
    assert (fault.hits, fault.skip, fault.to_json()["skip"]) == (1, 0, 0)


async def test_429_carries_retry_after(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.fail_next("GET", "/api/v3/time", 429, retry_after=3)
    async with http.get(f"{emu.base_url}/api/v3/time") as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "3"
        assert (await resp.json())["code"] == -1003


async def test_drop_after_processing_leaves_the_order(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.drop_next("POST", "/api/v3/order", after_processing=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                     newClientOrderId="dropped")
    assert emu.client_order_id_counts() == {"dropped": 1}


async def test_drop_before_processing_leaves_nothing(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.drop_next("POST", "/api/v3/order")
    with pytest.raises(aiohttp.ClientConnectionError):
        await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    assert emu.orders == []


async def test_order_requests_refusals_and_absent_lookups_are_logged_by_client_order_id(
        emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    # What the crash test checks "look it up before any resend" against: a request is
    # logged as it arrives, before any fault (dropped, the client cannot tell it never
    # got here); an outright refusal (4xx, 429 included) and a -2013 lookup clear a
    # resend; a 503 does not (Binance: the outcome is unknown).
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    emu.drop_next("POST", "/api/v3/order")
    with pytest.raises(aiohttp.ClientConnectionError):
        await _order(http, emu, **market, newClientOrderId="a")
    status, _ = await _private(http, emu, "GET", "/api/v3/order",
                               {"symbol": "BTCUSDT", "origClientOrderId": "a"})
    assert status == 400
    emu.fail_next("POST", "/api/v3/order", 503)
    assert (await _order(http, emu, **market, newClientOrderId="a"))[0] == 503
    emu.fail_next("POST", "/api/v3/order", 429)
    assert (await _order(http, emu, **market, newClientOrderId="b"))[0] == 429
    assert (await _order(http, emu, **market, newClientOrderId="b"))[0] == 200
    assert (await _order(http, emu, **(market | {"quantity": "0.0000001"}), newClientOrderId="c"))[0] == 400
    assert emu.sends.to_json() == [
        ["sent", "a"], ["absent", "a"], ["sent", "a"], ["sent", "b"], ["refused", "b"],
        ["sent", "b"], ["sent", "c"], ["refused", "c"]]
    assert emu.sends.resent_unlooked() == []
    assert (await _order(http, emu, **market, newClientOrderId="a"))[0] == 200  # unlooked
    assert emu.sends.resent_unlooked() == ["a"]
    assert emu.state()["sends"][-1] == ["sent", "a"]


async def test_delay_after_acceptance(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    emu.delay_next("POST", "/api/v3/order", 2.0)
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.3):
            await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                         newClientOrderId="slow")
    assert emu.client_order_id_counts() == {"slow": 1}


async def _hang_up_during(coro: Any, after_s: float) -> None:
    """Start a request and give up on it (closing its connection) after `after_s`."""
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(after_s):
            await coro


async def test_client_hanging_up_during_a_delay_before_processing_cancels_the_request(
        emu: BinanceEmulator) -> None:
    emu.delay_next("POST", "/api/v3/order", 0.5, after_processing=False)
    async with aiohttp.ClientSession() as http:
        await _hang_up_during(_order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                                     quantity="0.01", newClientOrderId="gone"), 0.2)
    await asyncio.sleep(0.6)
    assert emu.orders == [] and emu.state()["faults"][0]["hits"] == 1


async def test_detached_delay_executes_the_request_after_the_client_hung_up(
        emu: BinanceEmulator) -> None:
    """A request the venue has taken in runs to the end: the late original of peers.md."""
    emu.delay_next("POST", "/api/v3/order", 0.5, after_processing=False, detached=True)
    async with aiohttp.ClientSession() as http:
        await _hang_up_during(_order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                                     quantity="0.01", newClientOrderId="late"), 0.2)
    assert emu.orders == []  # not yet: still in the venue's pipeline
    await asyncio.sleep(0.6)
    assert emu.client_order_id_counts() == {"late": 1}
    assert [o.status for o in emu.orders] == ["FILLED"]


async def test_detached_fault_over_http(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emu.base_url}/_admin/faults",
                         json={"method": "POST", "path": "/api/v3/order", "kind": "delay",
                               "delay_s": 0.1, "after_processing": False, "detached": True}) as resp:
        assert (await resp.json())["detached"] is True
    status, body = await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET",
                                quantity="0.01", newClientOrderId="slow-but-answered")
    assert status == 200 and body["status"] == "FILLED"  # a client that waits gets the answer


async def test_admin_http_endpoints(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{emu.base_url}/_admin/faults",
                         json={"method": "GET", "path": "/api/v3/ping", "kind": "status", "status": 418}) as resp:
        assert resp.status == 200
    async with http.get(f"{emu.base_url}/api/v3/ping") as resp:
        assert resp.status == 418
    async with http.post(f"{emu.base_url}/_admin/book",
                         json={"symbol": "ETHUSDT", "bids": [["2900", "1"]], "asks": [["2901", "1"]]}) as resp:
        assert resp.status == 200
    await _order(http, emu, symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                 price="2800.00", quantity="0.5", newClientOrderId="rest")
    async with http.post(f"{emu.base_url}/_admin/trade",
                         json={"symbol": "ETHUSDT", "price": "2800", "qty": "0.2"}) as resp:
        assert len((await resp.json())["trades"]) == 1
    async with http.delete(f"{emu.base_url}/_admin/faults") as resp:
        assert resp.status == 200
    async with http.get(f"{emu.base_url}/_admin/state") as resp:
        state = await resp.json()
    assert state["client_order_id_counts"] == {"rest": 1}
    assert state["orders"][0]["status"] == "PARTIALLY_FILLED"
    assert state["trades"][0]["clientOrderId"] == "rest"
    assert state["books"]["ETHUSDT"]["asks"] == [["2901.00000000", "1.00000000"]]
    assert state["faults"] == []


async def test_public_market_data(emu: BinanceEmulator, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{emu.base_url}/api/v3/exchangeInfo") as resp:
        info = await resp.json()
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    async with http.get(f"{emu.base_url}/api/v3/ticker/bookTicker", params={"symbol": "BTCUSDT"}) as resp:
        assert (await resp.json())["askPrice"] == "50001.00000000"
    async with http.get(f"{emu.base_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "2"}) as resp:
        assert len((await resp.json())["bids"]) == 2
    async with http.get(f"{emu.base_url}/api/v3/ticker/24hr", params={"symbol": "XXX"}) as resp:
        assert resp.status == 400 and (await resp.json())["code"] == -1121


async def test_state_file_is_written(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    async with BinanceEmulator(state_file=path) as emu, aiohttp.ClientSession() as http:
        await _order(http, emu, symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01",
                     newClientOrderId="persisted")
    state = json.loads(path.read_text())
    assert state["client_order_id_counts"] == {"persisted": 1}
    assert len(state["trades"]) == 1


# ---------------------------------------------------------------- ccxt's real binance class


async def test_ccxt_binance_runs_unchanged_against_it(emu: BinanceEmulator) -> None:
    emu.add_symbol(SymbolSpec(symbol="SOLUSDT", base="SOL", quote="USDT", tick_size=D("0.001"),
                              step_size=D("0.01"), min_qty=D("0.01"), max_qty=D("100000"),
                              min_notional=D("1")))
    exchange = ccxt.binance(emu.ccxt_config(timeout=2000))
    try:
        markets = await exchange.load_markets()
        assert markets["SOL/USDT"]["precision"]["price"] == 0.001
        order = await exchange.create_order("BTC/USDT", "market", "sell", 0.6, None,
                                            {"newClientOrderId": "ccxt-1"})
        assert order["status"] == "closed" and order["filled"] == 0.6
        trades = await exchange.fetch_my_trades("BTC/USDT", params={"orderId": order["id"]})
        assert [t["price"] for t in trades] == [49999.0, 49998.0]
        balance = await exchange.fetch_balance()
        assert balance["BTC"]["free"] == pytest.approx(9.4)
        ticker = await exchange.fetch_ticker("BTC/USDT")
        assert ticker["bid"] == 49998.0
        book = await exchange.fetch_order_book("BTC/USDT")
        assert book["asks"][0] == [50001.0, 0.5]
        await exchange.fetch_time()
    finally:
        await exchange.close()
    paths = {path for _, path, _ in emu.requests}
    assert paths <= {"/api/v3/exchangeInfo", "/api/v3/order", "/api/v3/myTrades", "/api/v3/account",
                     "/api/v3/ticker/24hr", "/api/v3/depth", "/api/v3/time"}
    assert all(status == 200 for _, _, status in emu.requests)


async def test_ccxt_raises_what_peers_md_says(emu: BinanceEmulator) -> None:
    """The emulator makes ccxt behave as peers.md records for real Binance."""
    exchange = ccxt.binance(emu.ccxt_config(timeout=300))
    try:
        await exchange.load_markets()
        limit_args = ("BTC/USDT", "limit", "buy", "0.01", "49000.00")
        cases: list[tuple[Any, type[Exception]]] = [
            (lambda: emu.fail_next("GET", "/api/v3/account", 429, retry_after=1), ccxt.DDoSProtection),
            (lambda: emu.fail_next("GET", "/api/v3/account", 418), ccxt.DDoSProtection),
            (lambda: emu.fail_next("GET", "/api/v3/account", 503), ccxt.ExchangeNotAvailable),
            (lambda: emu.delay_next("GET", "/api/v3/account", 1.0), ccxt.RequestTimeout),
        ]
        for arm, expected in cases:
            arm()
            with pytest.raises(expected):
                await exchange.fetch_balance()
        emu.fail_next("GET", "/api/v3/account", 500)
        with pytest.raises(ccxt.OperationFailed) as info:
            await exchange.fetch_balance()
        assert not isinstance(info.value, ccxt.NetworkError)
        await exchange.create_order(*limit_args, {"newClientOrderId": "peer-dup"})
        with pytest.raises(ccxt.InvalidOrder, match="Duplicate order sent.") as dup:
            await exchange.create_order(*limit_args, {"newClientOrderId": "peer-dup"})
        assert not isinstance(dup.value, ccxt.DuplicateOrderId)
        with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):
            await exchange.create_order("BTC/USDT", "limit", "buy", "0.00001", "49000.00")
        emu.add_symbol(SymbolSpec(symbol="BTCUSDT", base="BTC", quote="USDT", tick_size=D("1"),
                                  step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("9000"),
                                  min_notional=D("5"), min_price=D("1")))
        with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
            await exchange.create_order("BTC/USDT", "limit", "buy", "0.01", "49000.50")
        with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
            await exchange.create_order("BTC/USDT", "limit", "buy", "0.0105", "49000")
        emu.fail_next("POST", "/api/v3/order", 200, body="<html>ok</html>")
        garbled = await exchange.create_order("BTC/USDT", "market", "buy", "0.01")
        assert garbled["id"] is None
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.fetch_order("999", "BTC/USDT")
        with pytest.raises(ccxt.OrderNotFound):
            await exchange.cancel_order("999", "BTC/USDT")
        with pytest.raises(ccxt.BadSymbol):
            await exchange.fetch_ticker("NOPE/USDT")
        # Market data through other ccxt calls.
        bids_asks = await exchange.fetch_bids_asks(["BTC/USDT", "ETH/USDT"])
        assert set(bids_asks) == {"BTC/USDT", "ETH/USDT"}
        tickers = await exchange.fetch_tickers()
        assert {"BTC/USDT", "ETH/USDT"} <= set(tickers)
    finally:
        await exchange.close()


# ---------------------------------------------------------------- thread and process


def test_thread_helper_serves_sync_callers() -> None:
    with BinanceEmulatorThread() as emu:
        with urllib.request.urlopen(f"{emu.base_url}/api/v3/ping", timeout=5) as resp:
            assert json.load(resp) == {}
        emu.set_book("BTCUSDT", [(D("1"), D("1"))], [(D("2"), D("1"))])
        with urllib.request.urlopen(f"{emu.base_url}/_admin/state", timeout=5) as resp:
            assert json.load(resp)["books"]["BTCUSDT"]["asks"] == [["2.00000000", "1.00000000"]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runs_as_its_own_process(tmp_path: Path) -> None:
    port = _free_port()
    state_file = tmp_path / "emu-state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.testing.binance_emulator", "--port", str(port),
         "--state-file", str(state_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 15
        state: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_admin/state", timeout=1) as resp:
                    state = json.load(resp)
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
        assert state is not None, proc.stderr.read().decode() if proc.stderr else ""
        assert state["base_url"] == f"http://127.0.0.1:{port}"
        assert state["orders"] == [] and "USDT" in state["balances"]
        assert state_file.exists()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_process_with_starting_balances_stops_when_its_stdin_closes() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.testing.binance_emulator", "--port", "0",
         "--balance", "BTC=0", "--balance", "usdt=250000.5", "--stop-on-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        assert line.startswith("binance emulator listening on http://127.0.0.1:"), line
        base_url = line.rsplit(" ", 1)[1].strip()
        with urllib.request.urlopen(f"{base_url}/_admin/state", timeout=5) as resp:
            balances = json.load(resp)["balances"]
        assert balances["BTC"]["free"] == "0.00000000"
        assert balances["USDT"]["free"] == "250000.50000000"
        assert balances["ETH"]["free"] == "100.00000000"  # untouched default
        proc.stdin.close()  # the parent going away
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_process_refuses_a_malformed_balance() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ordergate.testing.binance_emulator", "--balance", "BTC=-1"],
        capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "ASSET=AMOUNT" in result.stderr
