"""The Polymarket CLOB emulator, driven by the official py-clob-client (synchronously,
with the emulator in a background thread). Unhappy paths first."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from py_clob_client.client import ClobClient
from py_clob_client.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OpenOrderParams,
    OrderArgs,
    OrderType,
    PartialCreateOrderOptions,
    TradeParams,
)
from py_clob_client.config import get_contract_config
from py_clob_client.exceptions import PolyApiException
from py_order_utils.builders import OrderBuilder as UtilsOrderBuilder  # type: ignore[import-untyped]
from py_order_utils.model import BUY, OrderData  # type: ignore[import-untyped]
from py_order_utils.signer import Signer as UtilsSigner  # type: ignore[import-untyped]

from ordergate.testing.polymarket_emulator import (
    EmuAccount,
    EmulatorThread,
    PolymarketEmulator,
    order_struct_hash,
)

CID = "0x" + "ab" * 32
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"


@pytest.fixture
def emu() -> Iterator[PolymarketEmulator]:
    runner = EmulatorThread(PolymarketEmulator())
    emulator = runner.start()
    emulator.add_market(CID, [(YES, "Yes"), (NO, "No")], tick_size="0.01", min_order_size="5")
    yield emulator
    runner.stop()


@pytest.fixture
def wallet() -> LocalAccount:
    created: LocalAccount = Account.create()  # a throwaway key, never a real one
    return created


@pytest.fixture
def account(emu: PolymarketEmulator, wallet: LocalAccount) -> EmuAccount:
    return emu.add_account(wallet.address, collateral="100", tokens={YES: "50"})


@pytest.fixture
def client(emu: PolymarketEmulator, wallet: LocalAccount, account: EmuAccount) -> ClobClient:
    creds = ApiCreds(account.api_key, account.secret, account.passphrase)
    return ClobClient(emu.base_url, chain_id=137, key=wallet.key.hex(), creds=creds)


def raw_order(
    wallet: LocalAccount,
    *,
    side: int,
    maker_amount: int,
    taker_amount: int,
    token: str = YES,
    salt: int = 12345,
    expiration: int = 0,
    signer_key: str | None = None,
) -> Any:
    """A signed order with exact amounts, bypassing the client's own price checks."""
    builder = UtilsOrderBuilder(
        get_contract_config(137, False).exchange,
        137,
        UtilsSigner(key=signer_key or wallet.key.hex()),
        salt_generator=lambda: salt,
    )
    signer_address = Account.from_key(signer_key).address if signer_key else wallet.address
    data = OrderData(
        maker=wallet.address,
        tokenId=token,
        makerAmount=str(maker_amount),
        takerAmount=str(taker_amount),
        side=side,
        feeRateBps="0",
        nonce="0",
        signer=signer_address,
        expiration=str(expiration),
        signatureType=0,
    )
    return builder.build_signed_order(data)


def status_of(exc: pytest.ExceptionInfo[PolyApiException]) -> int | None:
    code: int | None = exc.value.status_code
    return code


# ------------------------------------------------------------------ unhappy paths


def test_wrong_secret_is_refused(emu: PolymarketEmulator, wallet: LocalAccount,
                                 account: EmuAccount) -> None:
    other = emu.add_account("0x" + "11" * 20)  # a valid secret of someone else
    bad = ClobClient(
        emu.base_url, chain_id=137, key=wallet.key.hex(),
        creds=ApiCreds(account.api_key, other.secret, account.passphrase),
    )
    with pytest.raises(PolyApiException) as exc:
        bad.get_orders()
    assert status_of(exc) == 401


def test_unknown_api_key_wrong_passphrase_and_wrong_address_are_refused(
    emu: PolymarketEmulator, wallet: LocalAccount, account: EmuAccount
) -> None:
    for creds, key in [
        (ApiCreds("nope", account.secret, account.passphrase), wallet.key.hex()),
        (ApiCreds(account.api_key, account.secret, "wrong"), wallet.key.hex()),
        (ApiCreds(account.api_key, account.secret, account.passphrase), Account.create().key.hex()),
    ]:
        bad = ClobClient(emu.base_url, chain_id=137, key=key, creds=creds)
        with pytest.raises(PolyApiException) as exc:
            bad.get_trades()
        assert status_of(exc) == 401


def test_tampered_body_fails_hmac(client: ClobClient, emu: PolymarketEmulator,
                                  account: EmuAccount, wallet: LocalAccount) -> None:
    from py_clob_client.http_helpers import helpers
    from py_clob_client.clob_types import RequestArgs
    from py_clob_client.headers.headers import create_level_2_headers

    signed_body = '{"orderID":"0xaaa"}'
    headers = create_level_2_headers(
        client.signer, client.creds,
        RequestArgs(method="DELETE", request_path="/order", serialized_body=signed_body),
    )
    with pytest.raises(PolyApiException) as exc:
        helpers.delete(f"{emu.base_url}/order", headers=headers, data='{"orderID":"0xbbb"}')
    assert status_of(exc) == 401


def test_price_off_tick_is_rejected(client: ClobClient, wallet: LocalAccount) -> None:
    # 10 shares at 0.555 with a 0.01 tick
    order = raw_order(wallet, side=BUY, maker_amount=5_550_000, taker_amount=10_000_000)
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order, OrderType.GTC)
    assert status_of(exc) == 400
    assert "tick size" in str(exc.value.error_msg)


def test_price_outside_range_is_rejected(client: ClobClient, wallet: LocalAccount) -> None:
    # 10 shares at 0.995 and at 1.00 with a 0.01 tick: above 1 - tick
    for maker in (9_950_000, 10_000_000):
        order = raw_order(wallet, side=BUY, maker_amount=maker, taker_amount=10_000_000,
                          salt=maker)
        with pytest.raises(PolyApiException) as exc:
            client.post_order(order, OrderType.GTC)
        assert status_of(exc) == 400
        assert "invalid price" in str(exc.value.error_msg)


def test_size_below_minimum_is_rejected(client: ClobClient) -> None:
    order = client.create_order(OrderArgs(token_id=YES, price=0.5, size=4.99, side="BUY"))
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert status_of(exc) == 400
    assert "lower than the minimum" in str(exc.value.error_msg)


def test_unknown_token_is_refused(client: ClobClient, wallet: LocalAccount) -> None:
    with pytest.raises(PolyApiException) as exc:
        client.get_tick_size("999")
    assert status_of(exc) == 404
    order = raw_order(wallet, side=BUY, maker_amount=5_000_000, taker_amount=10_000_000,
                      token="999")
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert status_of(exc) == 400


def test_order_signed_by_another_key_is_refused(client: ClobClient, wallet: LocalAccount) -> None:
    order = raw_order(wallet, side=BUY, maker_amount=5_000_000, taker_amount=10_000_000)
    order.signature = raw_order(
        wallet, side=BUY, maker_amount=5_000_000, taker_amount=10_000_000,
        signer_key=Account.create().key.hex(),
    ).signature
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert status_of(exc) == 400
    assert "signature" in str(exc.value.error_msg)


def test_not_enough_balance(client: ClobClient) -> None:
    order = client.create_order(OrderArgs(token_id=YES, price=0.5, size=300, side="BUY"))
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert "not enough balance" in str(exc.value.error_msg)


def test_duplicate_order_is_refused(client: ClobClient, emu: PolymarketEmulator,
                                    wallet: LocalAccount) -> None:
    order = raw_order(wallet, side=BUY, maker_amount=2_500_000, taker_amount=5_000_000)
    client.post_order(order)
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert "already exists" in str(exc.value.error_msg)
    assert len(emu.orders) == 1


def test_unknown_order_answers_null(client: ClobClient) -> None:
    assert client.get_order("0x" + "00" * 32) is None


def test_gtd_expiration_too_soon_is_rejected(client: ClobClient) -> None:
    soon = int(time.time()) + 30
    order = client.create_order(
        OrderArgs(token_id=YES, price=0.4, size=5, side="BUY", expiration=soon)
    )
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order, OrderType.GTD)
    assert "expiration" in str(exc.value.error_msg)


def test_fok_on_thin_book_is_killed(client: ClobClient, emu: PolymarketEmulator) -> None:
    emu.set_book(YES, asks=[("0.5", "6")])
    order = client.create_order(OrderArgs(token_id=YES, price=0.5, size=10, side="BUY"))
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order, OrderType.FOK)
    assert "FOK" in str(exc.value.error_msg)
    assert emu.orders == {}
    assert emu.books[YES]["asks"] == [(Decimal("0.5"), Decimal("6"))]


def test_injected_5xx_429_and_dropped_connection(client: ClobClient,
                                                 emu: PolymarketEmulator) -> None:
    emu.inject_fault("status", "GET", "/tick-size", status=503)
    with pytest.raises(PolyApiException) as exc:
        client.get_tick_size(YES)
    assert status_of(exc) == 503
    emu.inject_fault("status", "GET", "/data/orders", status=429, retry_after=1)
    with pytest.raises(PolyApiException) as exc:
        client.get_orders()
    assert status_of(exc) == 429
    emu.inject_fault("drop_before", "GET", "/time")
    with pytest.raises(PolyApiException) as exc:
        client.get_server_time()
    assert status_of(exc) is None  # the client saw no answer at all
    assert isinstance(client.get_server_time(), int)  # one-shot faults


def test_dropped_after_acceptance_leaves_the_order_in_place(
    client: ClobClient, emu: PolymarketEmulator
) -> None:
    emu.inject_fault("drop_after", "POST", "/order")
    order = client.create_order(OrderArgs(token_id=YES, price=0.4, size=5, side="BUY"))
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert status_of(exc) is None
    assert len(emu.orders) == 1
    assert client.get_orders()[0]["status"] == "LIVE"


def test_delayed_answer_after_acceptance(client: ClobClient, emu: PolymarketEmulator) -> None:
    emu.inject_fault("delay_response", "POST", "/order", delay_s=0.3)
    order = client.create_order(OrderArgs(token_id=YES, price=0.4, size=5, side="BUY"))
    started = time.monotonic()
    client.post_order(order)
    assert time.monotonic() - started >= 0.3
    assert len(emu.orders) == 1


# ------------------------------------------------------------------ happy paths


def test_markets_tick_neg_risk_fee_and_book(client: ClobClient, emu: PolymarketEmulator) -> None:
    assert client.get_market(CID)["tokens"][0]["token_id"] == YES
    assert [m["condition_id"] for m in client.get_markets()["data"]] == [CID]
    assert client.get_tick_size(YES) == "0.01"
    assert client.get_neg_risk(YES) is False
    assert client.get_fee_rate_bps(YES) == 0
    emu.set_book(YES, bids=[("0.45", "10"), ("0.44", "5")], asks=[("0.55", "7")])
    book = client.get_order_book(YES)
    assert [b.price for b in book.bids] == ["0.44", "0.45"]  # best last, as on the venue
    assert book.asks[-1].price == "0.55"
    assert client.get_midpoint(YES) == {"mid": "0.5"}
    assert client.get_price(YES, "BUY") == {"price": "0.45"}


def test_tick_size_change_while_running(client: ClobClient, emu: PolymarketEmulator) -> None:
    assert client.get_tick_size(YES) == "0.01"
    emu.set_tick_size(YES, "0.001")
    client.clear_tick_size_cache()
    assert client.get_tick_size(NO) == "0.001"
    # now 0.555 is on tick
    order = client.create_order(OrderArgs(token_id=YES, price=0.555, size=10, side="BUY"))
    assert client.post_order(order)["status"] == "live"
    # and back: a cached 0.001 client sends 0.555 again, which is now off tick
    emu.set_tick_size(YES, "0.01")
    order = client.create_order(OrderArgs(token_id=YES, price=0.555, size=11, side="BUY"))
    with pytest.raises(PolyApiException) as exc:
        client.post_order(order)
    assert "tick size" in str(exc.value.error_msg)


def test_gtc_partial_fill_rests_then_fills_as_maker(client: ClobClient, emu: PolymarketEmulator,
                                                    account: EmuAccount) -> None:
    emu.set_book(YES, asks=[("0.50", "3"), ("0.52", "2"), ("0.60", "100")])
    order = client.create_order(OrderArgs(token_id=YES, price=0.52, size=10, side="BUY"))
    answer = client.post_order(order, OrderType.GTC)
    assert answer["success"] is True
    assert answer["orderID"] == order_struct_hash(order.dict(), 137, False)
    assert answer["takingAmount"] == "5"  # shares received
    assert answer["makingAmount"] == "2.54"  # 3 x 0.50 + 2 x 0.52
    live = client.get_order(answer["orderID"])
    assert live["status"] == "LIVE" and live["size_matched"] == "5"
    trades = client.get_trades(TradeParams(asset_id=YES))
    assert [(t["price"], t["size"], t["trader_side"]) for t in trades] == [
        ("0.5", "3", "TAKER"), ("0.52", "2", "TAKER")
    ]
    # a seller arrives at 0.51: our resting 0.52 bid fills as maker at its own price
    made = emu.set_book(YES, asks=[("0.51", "20")])
    assert len(made) == 1
    done = client.get_order(answer["orderID"])
    assert done["status"] == "MATCHED" and done["size_matched"] == "10"
    maker = client.get_trades(TradeParams(asset_id=YES))[-1]
    assert maker["trader_side"] == "MAKER"
    assert maker["maker_orders"][0]["order_id"] == answer["orderID"]
    assert maker["maker_orders"][0]["matched_amount"] == "5"
    assert account.collateral == Decimal("100") - Decimal("2.54") - Decimal("2.60")
    assert account.tokens[YES] == Decimal("60")


def test_fok_fak_and_cancel(client: ClobClient, emu: PolymarketEmulator) -> None:
    emu.set_book(YES, bids=[("0.40", "8")])
    fok = client.create_order(OrderArgs(token_id=YES, price=0.40, size=6, side="SELL"))
    assert client.post_order(fok, OrderType.FOK)["status"] == "matched"
    fak = client.create_order(OrderArgs(token_id=YES, price=0.40, size=5, side="SELL"))
    answer = client.post_order(fak, OrderType.FAK)
    assert answer["makingAmount"] == "2"  # only two shares were bid
    assert client.get_order(answer["orderID"])["status"] == "CANCELED"
    with pytest.raises(PolyApiException) as exc:
        client.post_order(
            client.create_order(OrderArgs(token_id=YES, price=0.40, size=5, side="SELL")),
            OrderType.FAK,
        )
    assert "FAK" in str(exc.value.error_msg)
    resting = client.post_order(
        client.create_order(OrderArgs(token_id=YES, price=0.70, size=5, side="SELL"))
    )
    assert client.cancel(resting["orderID"]) == {"canceled": [resting["orderID"]],
                                                  "not_canceled": {}}
    again = client.cancel(resting["orderID"])
    assert again["canceled"] == [] and resting["orderID"] in again["not_canceled"]
    assert client.get_orders(OpenOrderParams(asset_id=YES)) == []


def test_gtd_expires(client: ClobClient, emu: PolymarketEmulator) -> None:
    expiration = int(time.time()) + 60 + 30
    order = client.create_order(
        OrderArgs(token_id=YES, price=0.4, size=5, side="BUY", expiration=expiration)
    )
    answer = client.post_order(order, OrderType.GTD)
    assert client.get_order(answer["orderID"])["status"] == "LIVE"
    emu.advance(31)
    assert client.get_order(answer["orderID"])["status"] == "CANCELED"
    assert client.get_orders() == []


# ------------------------------------------------------------------ settlement on chain


def balance(client: ClobClient, token: str | None = None) -> str:
    params = (BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=token) if token
              else BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    return str(client.get_balance_allowance(params)["balance"])


def buy_now(client: ClobClient, size: float = 10, price: float = 0.5) -> str:
    order = client.create_order(OrderArgs(token_id=YES, price=price, size=size, side="BUY"))
    answer = client.post_order(order, OrderType.FOK)
    assert answer["status"] == "matched"
    return str(answer["orderID"])


def test_a_failed_trade_never_moves_a_balance_while_the_order_still_reads_matched(
    client: ClobClient, emu: PolymarketEmulator,
) -> None:
    emu.chain.mine_delay_s, emu.chain.confirm_delay_s = 5, 10
    emu.set_book(YES, asks=[("0.50", "100")])
    order_id = buy_now(client)
    [trade] = client.get_trades(TradeParams(asset_id=YES))
    emu.fail_trade(trade["id"])
    assert client.get_trades(TradeParams(asset_id=YES))[0]["status"] == "MATCHED"
    emu.advance(5)
    assert client.get_trades(TradeParams(asset_id=YES))[0]["status"] == "RETRYING"
    emu.advance(10)
    failed = client.get_trades(TradeParams(asset_id=YES))[0]
    assert failed["status"] == "FAILED" and int(failed["last_update"]) > int(failed["match_time"])
    assert (balance(client), balance(client, YES)) == ("100000000", "50000000")
    # What the CLOB says of the order does not take the match back ("ghost fills").
    order = client.get_order(order_id)
    assert (order["status"], order["size_matched"]) == ("MATCHED", "10")
    with pytest.raises(ValueError, match="already FAILED"):
        emu.fail_trade(trade["id"])


def test_a_reorg_after_the_trade_was_mined_takes_its_balance_change_back(
    client: ClobClient, emu: PolymarketEmulator,
) -> None:
    emu.chain.mine_delay_s, emu.chain.confirm_delay_s = 5, 10
    emu.set_book(YES, asks=[("0.50", "100")])
    buy_now(client)
    emu.advance(5)
    [trade] = client.get_trades(TradeParams(asset_id=YES))
    assert trade["status"] == "MINED" and balance(client, YES) == "60000000"
    emu.fail_trade(trade["id"])
    assert client.get_trades(TradeParams(asset_id=YES))[0]["status"] == "RETRYING"
    assert (balance(client), balance(client, YES)) == ("100000000", "50000000")


def test_a_trade_is_matched_then_mined_then_confirmed_and_balances_move_when_mined(
    client: ClobClient, emu: PolymarketEmulator,
) -> None:
    emu.chain.mine_delay_s, emu.chain.confirm_delay_s = 5, 10
    emu.set_book(YES, asks=[("0.50", "100")])
    order_id = buy_now(client)
    assert client.get_order(order_id)["size_matched"] == "10"  # the match counts at once
    [trade] = client.get_trades(TradeParams(asset_id=YES))
    assert trade["status"] == "MATCHED"
    assert (balance(client), balance(client, YES)) == ("100000000", "50000000")
    # ...and what it will spend already counts against the next order (95 of 100 free)
    with pytest.raises(PolyApiException, match="balance"):
        client.post_order(client.create_order(
            OrderArgs(token_id=YES, price=0.40, size=240, side="BUY")), OrderType.GTC)
    emu.advance(5)
    assert client.get_trades(TradeParams(asset_id=YES))[0]["status"] == "MINED"
    assert (balance(client), balance(client, YES)) == ("95000000", "60000000")
    emu.advance(10)
    assert client.get_trades(TradeParams(asset_id=YES))[0]["status"] == "CONFIRMED"
    assert (balance(client), balance(client, YES)) == ("95000000", "60000000")


def test_with_no_settlement_delay_trades_are_confirmed_at_once(
    client: ClobClient, emu: PolymarketEmulator,
) -> None:
    emu.set_book(YES, asks=[("0.50", "100")])
    buy_now(client)
    assert [t["status"] for t in client.get_trades(TradeParams(asset_id=YES))] == ["CONFIRMED"]
    emu.fail_next_trades(1)
    buy_now(client)
    statuses = [t["status"] for t in client.get_trades(TradeParams(asset_id=YES))]
    assert statuses == ["CONFIRMED", "FAILED"]
    assert balance(client, YES) == "60000000"  # the failed one never arrived


def test_balance_allowance(client: ClobClient) -> None:
    usdc = client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
    assert usdc["balance"] == "100000000"
    shares = client.get_balance_allowance(
        BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=YES)
    )
    assert shares["balance"] == "50000000"


def test_async_start_stop() -> None:
    import asyncio

    async def run() -> None:
        async with PolymarketEmulator() as emulator:
            assert emulator.base_url.startswith("http://127.0.0.1:")
            client = ClobClient(emulator.base_url)
            assert isinstance(await asyncio.to_thread(client.get_server_time), int)

    asyncio.run(run())


def test_a_client_tick_option_finer_than_the_market_is_refused_client_side(
    client: ClobClient,
) -> None:
    with pytest.raises(Exception, match="invalid tick size"):
        client.create_order(
            OrderArgs(token_id=YES, price=0.5, size=5, side="BUY"),
            PartialCreateOrderOptions(tick_size="0.001"),
        )
