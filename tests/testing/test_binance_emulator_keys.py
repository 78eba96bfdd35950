"""The Binance emulator with several API keys, each its own account as on Binance: its own
balances, orders, open orders, trades, order lists and client order IDs, scoped by the
key that signed the request; the symbols, the books and the ID sequences are the venue's.

Unhappy paths first. Driven over HTTP with hand-signed requests, through ccxt's real
binance class, as its own process (`--account`), and a Hypothesis invariant on the market:
an account's holdings move by its own trades alone, whoever moved the market.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import ccxt.async_support as ccxt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_SYMBOLS,
    BinanceEmulator,
    SymbolSpec,
)
from ordergate.testing.binance_market import BinanceApiError, BinanceMarket

D = Decimal
KEY_B, SECRET_B = "key-b-0123456789", "secret-b-0123456789"
CID = "og-same-id-1"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        emulator.add_account(KEY_B, SECRET_B, {"USDT": "1000", "BTC": "0"})
        yield emulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, emu: BinanceEmulator, method: str, path: str,
               params: dict[str, Any], key: str = DEFAULT_API_KEY,
               secret: str = DEFAULT_API_SECRET) -> tuple[int, Any]:
    query = urlencode({**params, "timestamp": int(time.time() * 1000)})
    signed = f"{query}&signature={hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()}"
    headers = {"X-MBX-APIKEY": key}
    if method in ("GET", "DELETE"):
        url, kwargs = f"{emu.base_url}{path}?{signed}", {}
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        url, kwargs = f"{emu.base_url}{path}", {"data": signed}
    async with http.request(method, url, headers=headers, **kwargs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text.startswith(("{", "[")) else text


async def as_b(http: aiohttp.ClientSession, emu: BinanceEmulator, method: str, path: str,
               params: dict[str, Any]) -> tuple[int, Any]:
    return await call(http, emu, method, path, params, KEY_B, SECRET_B)


def buy(cid: str = CID, **extra: Any) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
            "newClientOrderId": cid, **extra}


def resting_buy(cid: str = CID) -> dict[str, Any]:
    return buy(cid, type="LIMIT", price="49000.00", timeInForce="GTC")


# ---------------------------------------------------------------- keys (unhappy first)


async def test_an_unknown_key_is_401_2015_however_many_keys_are_served(emu, http):
    status, body = await call(http, emu, "GET", "/api/v3/account", {}, "key-c", SECRET_B)
    assert (status, body) == (401, {"code": -2015,
                                    "msg": "Invalid API-key, IP, or permissions for action."})


async def test_a_key_signed_with_another_keys_secret_is_1022(emu, http):
    status, body = await call(http, emu, "GET", "/api/v3/account", {}, KEY_B, DEFAULT_API_SECRET)
    assert (status, body["code"]) == (400, -1022)


def test_a_key_cannot_be_served_twice():
    emu = BinanceEmulator()
    emu.add_account(KEY_B, SECRET_B)
    with pytest.raises(ValueError, match="served already"):
        emu.add_account(KEY_B, "other")
    with pytest.raises(ValueError, match="served already"):
        emu.add_account(DEFAULT_API_KEY, "other")


def test_the_test_facing_api_refuses_a_key_it_does_not_serve():
    emu = BinanceEmulator()
    with pytest.raises(KeyError):
        emu.balances("key-c")
    with pytest.raises(KeyError):
        emu.set_balance("USDT", "1", api_key="key-c")


# ---------------------------------------------------------------- balances


async def test_each_key_sees_and_spends_its_own_balances(emu, http):
    status, body = await as_b(http, emu, "GET", "/api/v3/account", {})
    assert status == 200
    assert {b["asset"]: b["free"] for b in body["balances"]} == {
        "BTC": "0.00000000", "USDT": "1000.00000000"}
    status, _ = await as_b(http, emu, "POST", "/api/v3/order", buy())
    assert status == 200
    free_b = emu.balances(KEY_B)
    assert free_b["BTC"][0] == D("0.01") - D("0.00001")  # the buyer's commission, in BTC
    assert free_b["USDT"][0] == D(1000) - D("500.01")
    assert emu.balances() == {"BTC": (D(10), D(0)), "ETH": (D(100), D(0)),
                              "USDT": (D(1000000), D(0))}  # the default key's, untouched


async def test_a_key_short_of_funds_is_refused_while_another_key_could_pay(emu, http):
    status, body = await as_b(http, emu, "POST", "/api/v3/order", buy(quantity="0.1"))
    assert (status, body["code"]) == (400, -2010)  # B has 1000 USDT, 0.1 BTC costs 5000
    assert emu.orders == []
    status, _ = await call(http, emu, "POST", "/api/v3/order", buy(quantity="0.1"))
    assert status == 200


async def test_a_resting_order_filled_by_the_market_pays_its_own_account(emu, http):
    await as_b(http, emu, "POST", "/api/v3/order", resting_buy())
    assert emu.balances(KEY_B)["USDT"] == (D(510), D(490))  # locked at B, not the default
    emu.trade_against_resting("BTCUSDT", "49000.00", "1")
    assert emu.balances(KEY_B)["USDT"] == (D(510), D(0))
    assert emu.balances(KEY_B)["BTC"][0] == D("0.01") - D("0.00001")
    assert emu.balances()["BTC"] == (D(10), D(0))
    (trade,) = emu.trades
    assert trade.account == KEY_B


async def test_fees_in_bnb_are_one_accounts_setting(emu, http):
    emu.add_symbol(SymbolSpec(symbol="BNBUSDT", base="BNB", quote="USDT", tick_size=D("0.01"),
                              step_size=D("0.01"), min_qty=D("0.01"), max_qty=D(9000),
                              min_notional=D(5)))
    emu.set_book("BNBUSDT", [(D("499.00"), D(100))], [(D("501.00"), D(100))])
    emu.set_balance("BNB", "10", api_key=KEY_B)
    emu.set_balance("BNB", "10")
    emu.pay_fees_in_bnb(api_key=KEY_B)
    await call(http, emu, "POST", "/api/v3/order", buy("a-1"))
    await as_b(http, emu, "POST", "/api/v3/order", buy("b-1"))
    fee_a, fee_b = emu.trades
    assert (fee_a.account, fee_a.commission_asset) == (DEFAULT_API_KEY, "BTC")
    assert (fee_b.account, fee_b.commission_asset) == (KEY_B, "BNB")
    assert emu.balances(KEY_B)["BNB"][0] == D(10) - fee_b.commission
    assert emu.balances()["BNB"][0] == D(10)
    state = emu.state()
    assert state["accounts"][KEY_B]["pay_fees_in_bnb"] is True
    assert state["pay_fees_in_bnb"] is False  # the default key's


# ---------------------------------------------------------------- client order IDs and orders


async def test_the_same_client_order_id_under_two_keys_is_two_orders(emu, http):
    status_a, a = await call(http, emu, "POST", "/api/v3/order", resting_buy())
    status_b, b = await as_b(http, emu, "POST", "/api/v3/order", resting_buy())
    assert (status_a, status_b) == (200, 200)
    assert a["orderId"] != b["orderId"]  # one sequence per symbol, the venue's
    assert emu.client_order_id_counts() == {CID: 1}
    assert emu.client_order_id_counts(KEY_B) == {CID: 1}
    assert emu.client_order_id_counts_by_key() == {DEFAULT_API_KEY: {CID: 1}, KEY_B: {CID: 1}}
    assert [o.account for o in emu.orders_by_client_id(CID)] == [DEFAULT_API_KEY, KEY_B]
    # ... and each key still refuses its own duplicate while its order is open
    status, body = await as_b(http, emu, "POST", "/api/v3/order", resting_buy())
    assert (status, body) == (400, {"code": -2010, "msg": "Duplicate order sent."})


async def test_a_key_looks_up_its_own_order_by_client_order_id(emu, http):
    await call(http, emu, "POST", "/api/v3/order", resting_buy())
    await as_b(http, emu, "POST", "/api/v3/order", buy())  # B's is filled, A's rests
    _, mine = await as_b(http, emu, "GET", "/api/v3/order",
                         {"symbol": "BTCUSDT", "origClientOrderId": CID})
    _, theirs = await call(http, emu, "GET", "/api/v3/order",
                           {"symbol": "BTCUSDT", "origClientOrderId": CID})
    assert (mine["status"], theirs["status"]) == ("FILLED", "NEW")


async def test_another_keys_order_does_not_exist_for_a_key(emu, http):
    _, a = await call(http, emu, "POST", "/api/v3/order", resting_buy("only-a"))
    for params in ({"orderId": a["orderId"]}, {"origClientOrderId": "only-a"}):
        status, body = await as_b(http, emu, "GET", "/api/v3/order",
                                  {"symbol": "BTCUSDT", **params})
        assert (status, body["code"]) == (400, -2013)
        status, body = await as_b(http, emu, "DELETE", "/api/v3/order",
                                  {"symbol": "BTCUSDT", **params})
        assert (status, body["code"]) == (400, -2011)
    status, body = await as_b(http, emu, "POST", "/api/v3/order/cancelReplace", {
        **resting_buy("b-new"), "cancelReplaceMode": "STOP_ON_FAILURE",
        "cancelOrderId": a["orderId"]})
    assert (status, body["code"]) == (400, -2022)
    assert emu.order("BTCUSDT", a["orderId"]).status == "NEW"  # A's order was not touched


async def test_open_orders_and_trades_are_the_keys_own(emu, http):
    await call(http, emu, "POST", "/api/v3/order", resting_buy("a-rest"))
    await call(http, emu, "POST", "/api/v3/order", buy("a-fill"))
    await as_b(http, emu, "POST", "/api/v3/order", resting_buy("b-rest"))
    _, open_b = await as_b(http, emu, "GET", "/api/v3/openOrders", {})
    assert [o["clientOrderId"] for o in open_b] == ["b-rest"]
    _, open_a = await call(http, emu, "GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert [o["clientOrderId"] for o in open_a] == ["a-rest"]
    _, trades_b = await as_b(http, emu, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    _, trades_a = await call(http, emu, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    assert (len(trades_a), trades_b) == (1, [])
    emu.trade_against_resting("BTCUSDT", "49000.00", "1")  # the market fills both resting
    _, trades_b = await as_b(http, emu, "GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    assert [t["orderId"] for t in trades_b] == [emu.orders_of(KEY_B)[0].order_id]


async def test_an_order_list_is_its_keys_own(emu, http):
    emu.set_balance("BTC", "1", api_key=KEY_B)
    status, lst = await as_b(http, emu, "POST", "/api/v3/orderList/oco", {
        "symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
        "abovePrice": "51000.00", "belowType": "STOP_LOSS", "belowStopPrice": "48000.00",
        "listClientOrderId": "list-1"})
    assert status == 200
    assert emu.balances(KEY_B)["BTC"] == (D("0.99"), D("0.01"))
    for params in ({"orderListId": lst["orderListId"]}, {"origClientOrderId": "list-1"}):
        status, body = await call(http, emu, "GET", "/api/v3/orderList", params)
        assert (status, body["code"]) == (400, -2011)
    status, body = await call(http, emu, "DELETE", "/api/v3/orderList",
                              {"symbol": "BTCUSDT", "orderListId": lst["orderListId"]})
    assert (status, body["code"]) == (400, -2011)
    status, body = await as_b(http, emu, "DELETE", "/api/v3/orderList",
                              {"symbol": "BTCUSDT", "listClientOrderId": "list-1"})
    assert (status, body["listStatusType"]) == (200, "ALL_DONE")
    assert emu.balances(KEY_B)["BTC"] == (D(1), D(0))


# ---------------------------------------------------------------- admin, state, ccxt, process


async def test_admin_adds_a_key_and_sets_its_balance(emu, http):
    async with http.post(f"{emu.base_url}/_admin/accounts", json={
            "api_key": "key-c", "api_secret": "secret-c", "balances": {"USDT": "5"}}) as resp:
        assert resp.status == 200 and "key-c" in (await resp.json())["api_keys"]
    assert emu.balances("key-c")["USDT"] == (D(5), D(0))
    assert emu.balances("key-c")["BTC"] == (D(10), D(0))  # the defaults but for those given
    async with http.post(f"{emu.base_url}/_admin/balance",
                         json={"api_key": "key-c", "asset": "USDT", "free": "7"}) as resp:
        assert resp.status == 200
    async with http.post(f"{emu.base_url}/_admin/balance",
                         json={"api_key": "nope", "asset": "USDT", "free": "7"}) as resp:
        assert resp.status == 400
    state = emu.state()
    assert state["accounts"]["key-c"]["balances"]["USDT"]["free"] == "7.00000000"
    assert state["balances"]["USDT"]["free"] == "1000000.00000000"  # the default key's


async def test_the_state_says_whose_each_order_and_trade_is(emu, http):
    await as_b(http, emu, "POST", "/api/v3/order", buy())
    state = emu.state()
    assert [o["account"] for o in state["orders"]] == [KEY_B]
    assert [t["account"] for t in state["trades"]] == [KEY_B]
    assert state["client_order_id_counts"] == {}  # the default key placed nothing
    assert state["accounts"][KEY_B]["client_order_id_counts"] == {CID: 1}


async def test_ccxt_with_two_keys_trades_two_accounts(emu):
    a = ccxt.binance(emu.ccxt_config(timeout=2000))
    b = ccxt.binance(emu.ccxt_config(KEY_B, timeout=2000))
    try:
        await a.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": CID})
        await b.create_order("BTC/USDT", "market", "buy", 0.01, None, {"newClientOrderId": CID})
        with pytest.raises(ccxt.InsufficientFunds):
            await b.create_order("BTC/USDT", "market", "buy", 0.01, None,
                                 {"newClientOrderId": "too-much"})
        balance_b = await b.fetch_balance()
        assert balance_b["USDT"]["free"] == pytest.approx(1000 - 500.01)
        assert (await a.fetch_balance())["USDT"]["free"] == pytest.approx(1000000 - 500.01)
        order_b = await b.fetch_order("", "BTC/USDT", {"origClientOrderId": CID})
        assert order_b["clientOrderId"] == CID and order_b["filled"] == 0.01
    finally:
        await a.close()
        await b.close()
    assert emu.client_order_id_counts_by_key() == {DEFAULT_API_KEY: {CID: 1}, KEY_B: {CID: 1}}


def test_runs_as_its_own_process_with_several_keys(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ordergate.testing.binance_emulator", "--port", "0",
         "--account", f"{KEY_B}:{SECRET_B}:USDT=12,BTC=0", "--stop-on-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on" in line, proc.stderr.read() if proc.stderr else ""
        url = line.split()[-1]
        with urllib.request.urlopen(f"{url}/_admin/state", timeout=5) as resp:
            state = json.load(resp)
        assert sorted(state["accounts"]) == sorted([DEFAULT_API_KEY, KEY_B])
        balances_b = state["accounts"][KEY_B]["balances"]
        assert (balances_b["USDT"]["free"], balances_b["BTC"]["free"], balances_b["ETH"]["free"]) == (
            "12.00000000", "0.00000000", "100.00000000")
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


async def test_a_fault_can_name_the_key_whose_requests_it_hits(emu, http):
    fault = emu.fail_next("POST", "/api/v3/order", 503, api_key=KEY_B)
    status_a, _ = await call(http, emu, "POST", "/api/v3/order", buy("a-1"))
    status_b, _ = await as_b(http, emu, "POST", "/api/v3/order", buy("b-1"))
    status_b2, _ = await as_b(http, emu, "POST", "/api/v3/order", buy("b-2"))
    assert (status_a, status_b, status_b2) == (200, 503, 200)  # once, and only B's
    assert fault.hits == 1
    assert [o.client_order_id for o in emu.orders] == ["a-1", "b-2"]
    async with http.post(f"{emu.base_url}/_admin/faults", json={
            "method": "GET", "path": "/api/v3/account", "kind": "status", "status": 500,
            "api_key": KEY_B}) as resp:
        assert (await resp.json())["api_key"] == KEY_B
    status_a, _ = await call(http, emu, "GET", "/api/v3/account", {})
    status_b, _ = await as_b(http, emu, "GET", "/api/v3/account", {})
    assert (status_a, status_b) == (200, 500)


# ---------------------------------------------------------------- an invariant

_OPS = st.lists(st.one_of(
    st.tuples(st.just("order"), st.sampled_from("AB"), st.sampled_from(["BUY", "SELL"]),
              st.sampled_from(["MARKET", "LIMIT"]), st.integers(1, 300),
              st.integers(-30, 30), st.sampled_from(["c1", "c2", "c3"])),
    st.tuples(st.just("trade"), st.integers(-30, 30), st.integers(1, 300)),
    st.tuples(st.just("cancel"), st.sampled_from("AB"), st.sampled_from(["c1", "c2", "c3"])),
), max_size=25)


@settings(max_examples=60, deadline=None)
@given(_OPS)
def test_each_account_s_balances_move_only_by_its_own_trades(ops: list[tuple[Any, ...]]) -> None:
    """Whoever moves the market, an account's holdings change by its own trades alone,
    and each account counts its own client order IDs."""
    market = BinanceMarket(DEFAULT_SYMBOLS, None, {"USDT": "100000", "BTC": "1"}, account="A")
    market.add_account("B", {"USDT": "100000", "BTC": "1"})
    placed = {"A": 0, "B": 0}
    for op in ops:
        if op[0] == "order":
            _, who, side, otype, lots, ticks, cid = op
            market.account = who
            params = {"symbol": "BTCUSDT", "side": side, "type": otype,
                      "quantity": str(D("0.001") * lots), "newClientOrderId": cid}
            if otype == "LIMIT":
                params |= {"price": str(D(50000) + 100 * ticks), "timeInForce": "GTC"}
            try:
                market.new_order(params)
                placed[who] += 1
            except BinanceApiError:
                pass
        elif op[0] == "trade":
            market.account = "A"
            market.trade_against_resting("BTCUSDT", D(50000) + 100 * op[1], D("0.001") * op[2])
        else:
            market.account = op[1]
            order = market.find_order({"symbol": "BTCUSDT", "origClientOrderId": op[2]})
            if order is not None and order.is_open:
                market.cancel(order)
    for who in "AB":
        own = [t for t in market.trades if t.account == who]
        btc = D(1) + sum(((t.qty if t.side == "BUY" else -t.qty)
                          - (t.commission if t.commission_asset == "BTC" else 0)
                          for t in own), D(0))
        usdt = D(100000) + sum(((-t.quote_qty if t.side == "BUY" else t.quote_qty)
                                - (t.commission if t.commission_asset == "USDT" else 0)
                                for t in own), D(0))
        free, locked = market.balances(who)["BTC"]
        assert free + locked == btc
        free, locked = market.balances(who)["USDT"]
        assert free + locked == usdt
        open_locked = sum((o.locked for o in market.orders.values()
                           if o.account == who and o.is_open and o.side == "BUY"), D(0))
        assert locked == open_locked  # what it has locked is its own open buys'
        assert sum(market.wallet(who).client_id_counts.values()) == placed[who]
