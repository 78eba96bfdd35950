"""PolymarketVenue against the local CLOB emulator (same event loop; the adapter's
py-clob-client calls run in its thread pool). Unhappy paths first."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ordergate.clock import SimulatedClock, WallClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.testing.polymarket_emulator import EmuAccount, PolymarketEmulator
from ordergate.venues.base import (
    AuthenticationFailed,
    BalanceScoped,
    DuplicateClientOrderId,
    InsufficientFunds,
    NoQuote,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    PostOnlyWouldTake,
    StopOrdersUnsupported,
    RateLimited,
    UnknownSymbol,
    VenueAdapter,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.polymarket import (
    PolymarketPlacementTimeout,
    PolymarketVenue,
    PolymarketVenueSettings,
    VenueOrderIdUnknown,
)

CID = "0x" + "cd" * 32
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
ANY_TS = datetime(2000, 1, 1, tzinfo=UTC)
ENV = {
    "private_key_env": "TEST_PM_KEY",
    "api_key_env": "TEST_PM_API_KEY",
    "api_secret_env": "TEST_PM_SECRET",
    "api_passphrase_env": "TEST_PM_PASSPHRASE",
    "funder_env": "TEST_PM_FUNDER",
}


@pytest.fixture
async def emu() -> AsyncIterator[PolymarketEmulator]:
    emulator = PolymarketEmulator()
    emulator.add_market(CID, [(YES, "Yes"), (NO, "No")], tick_size="0.01", min_order_size="5")
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def wallet() -> LocalAccount:
    created: LocalAccount = Account.create()  # a throwaway key, never a real one
    return created


@pytest.fixture
def account(emu: PolymarketEmulator, wallet: LocalAccount) -> EmuAccount:
    return emu.add_account(wallet.address, collateral="100", tokens={YES: "50"})


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, wallet: LocalAccount, account: EmuAccount) -> None:
    monkeypatch.setenv("TEST_PM_KEY", wallet.key.hex())
    monkeypatch.setenv("TEST_PM_API_KEY", account.api_key)
    monkeypatch.setenv("TEST_PM_SECRET", account.secret)
    monkeypatch.setenv("TEST_PM_PASSPHRASE", account.passphrase)
    monkeypatch.delenv("TEST_PM_FUNDER", raising=False)


def settings(emu: PolymarketEmulator, **over: Any) -> PolymarketVenueSettings:
    values: dict[str, Any] = {
        "name": "polymarket",
        "host": emu.base_url,
        "timeout_s": 0.5,
        "account_id": "pm-1",
        "condition_ids": (CID,),
        "tick_refresh_s": 0,
        **ENV,
    }
    values.update(over)
    return PolymarketVenueSettings(**values)


@pytest.fixture
async def venue(emu: PolymarketEmulator, env: None) -> AsyncIterator[PolymarketVenue]:
    adapter = PolymarketVenue(settings(emu), WallClock())
    await adapter.load_instruments()
    yield adapter
    await adapter.close()


def req(
    cid: str,
    side: Side = Side.BUY,
    qty: str = "10",
    price: str | None = "0.50",
    tif: TimeInForce = TimeInForce.GTC,
    order_type: OrderType = OrderType.LIMIT,
    symbol: str = YES,
    expires_at: datetime | None = None,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        account_id="pm-1",
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=Decimal(qty),
        price=Decimal(price) if price is not None else None,
        time_in_force=tif,
        expires_at=expires_at,
    )


# ------------------------------------------------------------------ unhappy paths


async def test_missing_credentials_fail_without_leaking(
    emu: PolymarketEmulator, env: None, monkeypatch: pytest.MonkeyPatch, account: EmuAccount
) -> None:
    monkeypatch.delenv("TEST_PM_PASSPHRASE")
    with pytest.raises(AuthenticationFailed) as exc:
        PolymarketVenue(settings(emu), WallClock())
    assert "TEST_PM_PASSPHRASE" in str(exc.value)
    assert account.secret not in str(exc.value)


async def test_secrets_stay_out_of_repr(venue: PolymarketVenue, account: EmuAccount,
                                        wallet: LocalAccount) -> None:
    text = repr(venue) + repr(venue.settings) + repr(venue._secrets)
    for secret in (account.secret, account.passphrase, wallet.key.hex()):
        assert secret not in text


async def test_bad_auth_is_authentication_failed(
    emu: PolymarketEmulator, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = emu.add_account("0x" + "22" * 20)
    monkeypatch.setenv("TEST_PM_SECRET", other.secret)
    adapter = PolymarketVenue(settings(emu), WallClock())
    try:
        with pytest.raises(AuthenticationFailed):
            await adapter.place_order(req("auth-1"))
        with pytest.raises(AuthenticationFailed):
            await adapter.fetch_open_orders()
        assert emu.orders == {}
    finally:
        await adapter.close()


async def test_unknown_token_is_unknown_symbol(venue: PolymarketVenue) -> None:
    with pytest.raises(UnknownSymbol):
        await venue.place_order(req("unk-1", symbol="424242"))


async def test_price_out_of_range_is_rejected_before_sending(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    for i, price in enumerate(["0.995", "1", "0.004", "0"]):
        side = Side.SELL if Decimal(price) > Decimal("0.5") else Side.BUY
        with pytest.raises(OrderRejected):
            await venue.place_order(req(f"range-{i}", side=side, price=price))
    assert emu.post_order_attempts == 0


async def test_market_order_and_gtd_without_expiry_are_rejected(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    with pytest.raises(OrderRejected):
        await venue.place_order(req("mkt-1", price=None, order_type=OrderType.MARKET,
                                    tif=TimeInForce.IOC))
    with pytest.raises(OrderRejected):
        await venue.place_order(req("gtd-1", tif=TimeInForce.GTD))
    assert emu.post_order_attempts == 0


async def test_size_below_minimum_is_rejected(venue: PolymarketVenue) -> None:
    with pytest.raises(OrderRejected):
        await venue.place_order(req("small-1", qty="4.99"))


async def test_insufficient_funds(venue: PolymarketVenue) -> None:
    with pytest.raises(InsufficientFunds):
        await venue.place_order(req("big-1", qty="500", price="0.50"))


async def test_a_rejected_order_may_be_sent_again_under_the_same_id(
    venue: PolymarketVenue, emu: PolymarketEmulator, account: EmuAccount
) -> None:
    with pytest.raises(InsufficientFunds):
        await venue.place_order(req("funds-1", qty="300", price="0.50"))
    account.collateral = Decimal("1000")
    report = await venue.place_order(req("funds-1", qty="300", price="0.50"))
    assert report.status is OrderStatus.ACCEPTED


async def test_timeout_while_reading_the_tick_is_not_ambiguous(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.inject_fault("delay_request", "GET", "/tick-size", delay_s=1.0)
    with pytest.raises(VenueUnavailable) as exc:
        await venue.place_order(req("pre-1"))
    assert not exc.value.ambiguous
    assert emu.post_order_attempts == 0


async def test_a_rejection_after_an_ambiguous_attempt_keeps_the_first_order(
    venue: PolymarketVenue, emu: PolymarketEmulator, account: EmuAccount
) -> None:
    emu.inject_fault("drop_after", "POST", "/order")
    with pytest.raises(VenueTimeout):
        await venue.place_order(req("amb-1", qty="150", price="0.50"))  # reserves 75 of 100
    account.collateral = Decimal("80")  # the retry would now be refused for funds...
    emu.inject_fault("status", "POST", "/order", status=400)
    with pytest.raises(OrderRejected):
        await venue.place_order(req("amb-1", qty="150", price="0.50"))
    # ...but the adapter still knows where the first attempt went
    assert (await venue.fetch_order(YES, "amb-1")).status is OrderStatus.ACCEPTED
    assert len(emu.orders) == 1


async def test_tick_size_change_mid_run_re_rounds_in_the_safe_direction(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    assert venue.instrument(YES) is not None
    assert venue.instrument(YES).tick_size == Decimal("0.01")  # type: ignore[union-attr]
    emu.set_tick_size(YES, "0.1")
    buy = await venue.place_order(req("tick-buy", price="0.57"))
    sell = await venue.place_order(req("tick-sell", side=Side.SELL, price="0.57"))
    assert emu.orders[buy.venue_order_id or ""].price == Decimal("0.5")  # down
    assert emu.orders[sell.venue_order_id or ""].price == Decimal("0.6")  # up
    instrument = venue.instrument(YES)
    assert instrument is not None
    assert instrument.tick_size == Decimal("0.1")
    assert instrument.max_price == Decimal("0.9")
    # and the scheduled refresh sees the next change
    emu.set_tick_size(YES, "0.001")
    assert (await venue.refresh_tick_sizes())[YES] == Decimal("0.001")  # NO shares the market


async def test_tick_change_can_push_a_price_out_of_range(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.set_tick_size(YES, "0.1")
    with pytest.raises(OrderRejected):
        await venue.place_order(req("edge-1", side=Side.SELL, price="0.95"))  # up to 1.0


async def test_timeout_after_acceptance_then_lookup_finds_exactly_one_order(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.inject_fault("delay_response", "POST", "/order", delay_s=1.0)
    with pytest.raises(VenueTimeout) as exc:
        await venue.place_order(req("slow-1"))
    assert exc.value.ambiguous
    assert isinstance(exc.value, PolymarketPlacementTimeout)
    oid = exc.value.venue_order_id
    report = await venue.fetch_order(YES, "slow-1")
    assert report.venue_order_id == oid
    assert report.status is OrderStatus.ACCEPTED
    # a retry re-sends the identical signed order: the venue refuses the copy
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(req("slow-1"))
    assert len(emu.orders) == 1
    assert [r.client_order_id for r in await venue.fetch_open_orders(YES)] == ["slow-1"]


async def test_timeout_before_the_venue_saw_it_then_retry_places_once(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.inject_fault("drop_before", "POST", "/order")
    with pytest.raises(VenueTimeout):
        await venue.place_order(req("drop-1"))
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(YES, "drop-1")
    report = await venue.place_order(req("drop-1"))
    assert report.status is OrderStatus.ACCEPTED
    assert len(emu.orders) == 1


async def test_connection_dropped_after_acceptance_is_ambiguous(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.inject_fault("drop_after", "POST", "/order")
    with pytest.raises(VenueTimeout) as exc:
        await venue.place_order(req("dropped-1"))
    assert exc.value.ambiguous
    assert (await venue.fetch_order(YES, "dropped-1")).status is OrderStatus.ACCEPTED


async def test_5xx(venue: PolymarketVenue, emu: PolymarketEmulator) -> None:
    emu.inject_fault("status", "POST", "/order", status=502)
    with pytest.raises(VenueTimeout) as placing:
        await venue.place_order(req("5xx-1"))
    assert placing.value.ambiguous and placing.value.retryable
    emu.inject_fault("status", "GET", "/data/orders", status=503)
    with pytest.raises(VenueUnavailable) as reading:
        await venue.fetch_open_orders()
    assert reading.value.retryable and not reading.value.ambiguous
    emu.inject_fault("status", "GET", "/time", status=500)
    health = await venue.health()
    assert not health.ok and "VenueUnavailable" in health.detail


async def test_429_is_rate_limited(venue: PolymarketVenue, emu: PolymarketEmulator) -> None:
    emu.inject_fault("status", "GET", "/data/trades", status=429, retry_after=2)
    placed = await venue.place_order(req("rl-1", price="0.40"))
    with pytest.raises(RateLimited):
        await venue.fetch_fills(YES, "rl-1", placed.venue_order_id)


async def test_order_not_found_only_on_an_answer(venue: PolymarketVenue,
                                                 emu: PolymarketEmulator) -> None:
    ghost = "0x" + "00" * 32
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(YES, "ghost-1", ghost)
    emu.inject_fault("status", "GET", "/data/order/*", status=503)
    with pytest.raises(VenueUnavailable):
        await venue.fetch_order(YES, "ghost-1", ghost)
    emu.inject_fault("delay_request", "GET", "/data/order/*", delay_s=1.0)
    with pytest.raises(VenueTimeout):
        await venue.fetch_order(YES, "ghost-1", ghost)
    with pytest.raises(VenueOrderIdUnknown):
        await venue.fetch_order(YES, "never-seen")


async def test_cancel_unknown_order_is_not_found(venue: PolymarketVenue) -> None:
    with pytest.raises(OrderNotFound):
        await venue.cancel_order(YES, "ghost-2", "0x" + "01" * 32)


async def test_fok_on_thin_book_is_expired_not_raised(venue: PolymarketVenue,
                                                      emu: PolymarketEmulator) -> None:
    emu.set_book(YES, asks=[("0.50", "6")])
    report = await venue.place_order(req("fok-1", tif=TimeInForce.FOK))
    assert report.status is OrderStatus.EXPIRED and report.filled_quantity == 0
    assert (await venue.fetch_order(YES, "fok-1")).status is OrderStatus.EXPIRED
    assert emu.books[YES]["asks"] == [(Decimal("0.50"), Decimal("6"))]


# ------------------------------------------------------------------ happy paths


async def test_is_a_venue_adapter(venue: PolymarketVenue) -> None:
    assert isinstance(venue, VenueAdapter)


async def test_load_instruments(venue: PolymarketVenue) -> None:
    instruments = await venue.load_instruments()
    assert set(instruments) == {YES, NO}
    yes = instruments[YES]
    assert (yes.symbol, yes.quote, yes.tick_size, yes.lot_size, yes.min_quantity) == (
        YES, "USDC", Decimal("0.01"), Decimal("0.01"), Decimal("5")
    )
    assert (yes.min_price, yes.max_price) == (Decimal("0.01"), Decimal("0.99"))


async def test_load_all_markets_when_none_configured(emu: PolymarketEmulator, env: None) -> None:
    adapter = PolymarketVenue(settings(emu, condition_ids=()), WallClock())
    try:
        assert set(await adapter.load_instruments()) == {YES, NO}
    finally:
        await adapter.close()


async def test_place_rest_list_cancel_and_cancel_again(venue: PolymarketVenue,
                                                       emu: PolymarketEmulator) -> None:
    placed = await venue.place_order(req("rest-1", price="0.40"))
    assert placed.status is OrderStatus.ACCEPTED
    assert placed.remaining_quantity == Decimal("10")
    assert [o.venue_order_id for o in await venue.fetch_open_orders()] == [placed.venue_order_id]
    cancelled = await venue.cancel_order(YES, "rest-1")
    assert cancelled.status is OrderStatus.CANCELLED
    again = await venue.cancel_order(YES, "rest-1")
    assert again.status is OrderStatus.CANCELLED
    assert await venue.fetch_open_orders(YES) == []
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(req("rest-1", price="0.40"))


async def test_partial_fill_then_maker_fill_keyed_by_trade_id(venue: PolymarketVenue,
                                                              emu: PolymarketEmulator) -> None:
    emu.set_book(YES, asks=[("0.48", "3"), ("0.50", "2"), ("0.60", "50")])
    placed = await venue.place_order(req("part-1", qty="10", price="0.50"))
    assert placed.status is OrderStatus.PARTIALLY_FILLED
    assert placed.filled_quantity == Decimal("5")
    assert placed.average_price == Decimal("2.44") / 5
    report = await venue.fetch_order(YES, "part-1")
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert report.average_price == Decimal("2.44") / 5

    emu.set_book(YES, asks=[("0.49", "100")])  # crosses our resting 0.50 bid
    fills = await venue.fetch_fills(YES, "part-1")
    assert [(f.price, f.quantity, f.liquidity) for f in fills] == [
        (Decimal("0.48"), Decimal("3"), Liquidity.TAKER),
        (Decimal("0.5"), Decimal("2"), Liquidity.TAKER),
        (Decimal("0.5"), Decimal("5"), Liquidity.MAKER),
    ]
    trade_ids = {t.id for t in emu.trades}
    assert fills[0].trade_id in trade_ids and fills[1].trade_id in trade_ids
    assert fills[2].trade_id.split(":")[0] in trade_ids
    assert fills[2].trade_id.endswith(placed.venue_order_id or "")
    assert len({f.trade_id for f in fills}) == 3
    assert all(f.side is Side.BUY and f.fee == 0 and f.fee_currency == "USDC" for f in fills)
    assert all(isinstance(f.price, Decimal) for f in fills)

    done = await venue.fetch_order(YES, "part-1")
    assert done.status is OrderStatus.FILLED
    assert done.filled_quantity == Decimal("10") and done.remaining_quantity == 0
    # cancelling a filled order returns its terminal report
    assert (await venue.cancel_order(YES, "part-1")).status is OrderStatus.FILLED


async def test_full_fill_sell(venue: PolymarketVenue, emu: PolymarketEmulator) -> None:
    emu.set_book(YES, bids=[("0.55", "20")])
    report = await venue.place_order(req("sell-1", side=Side.SELL, qty="10", price="0.52"))
    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == Decimal("10")
    assert report.average_price == Decimal("0.55")
    fills = await venue.fetch_fills(YES, "sell-1")
    assert [(f.side, f.price, f.quantity) for f in fills] == [
        (Side.SELL, Decimal("0.55"), Decimal("10"))
    ]


async def test_ioc_is_fak_and_kills_the_rest(venue: PolymarketVenue,
                                             emu: PolymarketEmulator) -> None:
    emu.set_book(YES, asks=[("0.50", "7")])
    report = await venue.place_order(req("ioc-1", qty="10", tif=TimeInForce.IOC))
    assert report.status is OrderStatus.EXPIRED
    assert report.filled_quantity == Decimal("7")
    assert (await venue.fetch_order(YES, "ioc-1")).status is OrderStatus.EXPIRED


async def test_gtd_order_expires(emu: PolymarketEmulator, env: None) -> None:
    clock = SimulatedClock(datetime.now(UTC))
    adapter = PolymarketVenue(settings(emu), clock)
    try:
        expires = clock.now() + timedelta(seconds=30)
        placed = await adapter.place_order(req("gtd-2", tif=TimeInForce.GTD, price="0.30",
                                                expires_at=expires))
        assert placed.status is OrderStatus.ACCEPTED
        order = emu.orders[placed.venue_order_id or ""]
        assert order.expiration == int(expires.timestamp()) + 60
        emu.advance(31)
        clock.advance(31)
        assert (await adapter.fetch_order(YES, "gtd-2")).status is OrderStatus.EXPIRED
    finally:
        await adapter.close()


async def test_order_id_is_deterministic_across_a_restart(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    request = req("det-1", price="0.45")
    computed = await venue.order_id_for(request)
    placed = await venue.place_order(request)
    assert placed.venue_order_id == computed
    # a fresh adapter (a restart: empty memory) recomputes the same ID from the request
    restarted = PolymarketVenue(venue.settings, WallClock())
    try:
        assert await restarted.order_id_for(request) == computed
        report = await restarted.fetch_order(YES, "det-1")
        assert report.status is OrderStatus.ACCEPTED
        assert report.venue_order_id == computed
        # resubmitting after the restart cannot create a second order
        with pytest.raises(DuplicateClientOrderId):
            await restarted.place_order(request)
    finally:
        await restarted.close()
    assert len(emu.orders) == 1
    assert venue.salt_for("det-1") != venue.salt_for("det-2")


async def test_after_a_restart_an_order_that_would_sign_to_another_id_is_refused_unsent(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    request = req("resign-1", price="0.45")
    journaled = await venue.prepare_order(request)  # journaled by the engine, then a kill
    assert journaled is not None and emu.post_order_attempts == 0
    emu.set_tick_size(YES, "0.1")  # the resend would now be re-rounded to 0.4
    restarted = PolymarketVenue(venue.settings, WallClock())
    try:
        with pytest.raises(OrderRejected) as refused:
            await restarted.place_order(dataclasses.replace(request, venue_order_id=journaled))
        assert journaled in str(refused.value) and "not sent" in str(refused.value)
        assert emu.post_order_attempts == 0
        emu.set_tick_size(YES, "0.01")  # the same rules again: the same order, sent
        placed = await restarted.place_order(dataclasses.replace(request, venue_order_id=journaled))
        assert placed.venue_order_id == journaled
    finally:
        await restarted.close()


async def test_lookup_by_venue_order_id_only(venue: PolymarketVenue) -> None:
    placed = await venue.place_order(req("by-id-1", price="0.41"))
    restarted = PolymarketVenue(venue.settings, WallClock())
    try:
        report = await restarted.fetch_order(YES, "by-id-1", placed.venue_order_id)
        assert report.status is OrderStatus.ACCEPTED
        assert report.remaining_quantity == Decimal("10")
        cancelled = await restarted.cancel_order(YES, "by-id-1", placed.venue_order_id)
        assert cancelled.status is OrderStatus.CANCELLED
    finally:
        await restarted.close()


# ------------------------------------------------------------------ trades settle on chain


async def test_a_trade_is_a_fill_only_once_confirmed_and_never_once_failed(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.chain.mine_delay_s, emu.chain.confirm_delay_s = 5, 10
    emu.set_book(YES, asks=[("0.50", "4"), ("0.51", "6")])
    placed = await venue.place_order(req("chain-1", qty="10", price="0.51", tif=TimeInForce.FOK))
    assert placed.status is OrderStatus.FILLED and placed.filled_quantity == Decimal("10")
    first, second = emu.trades
    emu.fail_trade(second.id)
    # matched, not final: nothing is a fill yet, and the report keeps the order open
    assert await venue.fetch_fills(YES, "chain-1") == []
    pending = await venue.fetch_order(YES, "chain-1")
    assert pending.filled_quantity == Decimal("10") and pending.status is OrderStatus.FILLED
    emu.advance(5)  # the first mined, the second retrying
    assert await venue.fetch_fills(YES, "chain-1") == []
    emu.advance(10)  # the first confirmed, the second failed
    fills = await venue.fetch_fills(YES, "chain-1")
    assert [(f.trade_id, f.quantity) for f in fills] == [(first.id, Decimal("4"))]
    final = await venue.fetch_order(YES, "chain-1")
    assert final.status is OrderStatus.EXPIRED  # a FOK the venue matched, 6 of it failed
    assert (final.filled_quantity, final.remaining_quantity) == (Decimal("4"), 0)
    assert final.average_price == Decimal("0.50") and "failed on chain" in final.reason
    assert (await venue.cancel_order(YES, "chain-1")).status is OrderStatus.EXPIRED


async def test_an_order_is_not_final_while_its_record_counts_more_than_its_trades_show(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.set_book(YES, asks=[("0.50", "10")])
    placed = await venue.place_order(req("lag-1", qty="10", tif=TimeInForce.FOK))
    lagging = emu.trades.pop()  # the trade feed has not caught up with the order record
    report = await venue.fetch_order(YES, "lag-1")
    assert report.filled_quantity == Decimal("10") and await venue.fetch_fills(YES, "lag-1") == []
    emu.trades.append(lagging)
    assert [f.trade_id for f in await venue.fetch_fills(YES, "lag-1")] == [lagging.id]
    assert (await venue.fetch_order(YES, "lag-1")).venue_order_id == placed.venue_order_id


async def test_open_orders_count_a_failed_maker_trade_out_of_the_filled_quantity(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    placed = await venue.place_order(req("open-1", qty="10", price="0.40"))
    assert placed.venue_order_id is not None
    emu.fail_next_trades(1)
    emu.fill_resting(placed.venue_order_id, "4")
    emu.fill_resting(placed.venue_order_id, "2")
    [listed] = await venue.fetch_open_orders(YES)
    assert listed.status is OrderStatus.PARTIALLY_FILLED
    assert (listed.filled_quantity, listed.remaining_quantity) == (Decimal("2"), Decimal("4"))
    looked_up = await venue.fetch_order(YES, "open-1")
    assert dataclasses.replace(looked_up, ts=ANY_TS) == dataclasses.replace(listed, ts=ANY_TS)


async def test_following_an_order_reads_only_the_trades_since_it_was_created(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    placed = await venue.place_order(req("since-1", qty="10", price="0.40"))
    assert placed.venue_order_id is not None
    emu.fill_resting(placed.venue_order_id, "4")
    await venue.fetch_order(YES, "since-1")
    await venue.fetch_fills(YES, "since-1")
    created = emu.orders[placed.venue_order_id].created_at
    reads = [q for m, p, q in emu.queries if p == "/data/trades"]
    assert len(reads) == 2 and all(f"after={created - 60}" in q for q in reads)


# ------------------------------------------------------------------ bounded memory


async def test_finished_orders_are_dropped_after_the_grace_window_and_still_answer_by_id(
    emu: PolymarketEmulator, env: None
) -> None:
    clock = SimulatedClock(datetime.now(UTC))
    adapter = PolymarketVenue(settings(emu, finished_order_grace_s=60), clock)
    try:
        await adapter.load_instruments()
        emu.set_book(YES, asks=[("0.50", "1000")], bids=[("0.30", "1000")])
        placed = {}
        for n in range(40):
            taking = n % 2 == 0
            request = req(f"many-{n}", qty="5", price="0.50" if taking else "0.40",
                          tif=TimeInForce.FOK if taking else TimeInForce.GTC)
            placed[request.client_order_id] = await adapter.place_order(request)
            if not taking:
                await adapter.cancel_order(YES, request.client_order_id)
            else:
                await adapter.fetch_order(YES, request.client_order_id)  # final: all confirmed
            clock.advance(1)
        assert len(adapter.orders) == 40 and len(adapter.orders.by_cid) == 40
        assert await adapter.refresh_tick_sizes() == {YES: Decimal("0.01"), NO: Decimal("0.01")}
        clock.advance(61)
        assert await adapter.fetch_open_orders() == []  # any call lets the old ones go
        assert len(adapter.orders) == 0 and len(adapter.orders.by_cid) == 0
        # what a late question needs is the venue order ID (journaled), not our memory
        late = placed["many-0"]
        assert late.venue_order_id is not None
        report = await adapter.fetch_order(YES, "many-0", late.venue_order_id)
        assert (report.status, report.filled_quantity) == (OrderStatus.FILLED, Decimal("5"))
        assert [f.quantity for f in await adapter.fetch_fills(YES, "many-0", late.venue_order_id)
                ] == [Decimal("5")]
        cancelled = placed["many-1"]
        assert cancelled.venue_order_id is not None
        again = await adapter.cancel_order(YES, "many-1", cancelled.venue_order_id)
        assert again.status is OrderStatus.CANCELLED
        assert len(adapter.orders) == 2  # asked about again: kept for one more window
        clock.advance(61)
        await adapter.fetch_open_orders()
        assert len(adapter.orders) == 0
        # a lookup of an ID the venue never issued leaves nothing behind
        with pytest.raises(OrderNotFound):
            await adapter.fetch_order(YES, "ghost-9", "0x" + "09" * 32)
        assert len(adapter.orders) == 0
        # balances still cover the token we hold, with no order of it followed any more
        assert (await adapter.fetch_balances("pm-1"))[YES].total == Decimal("150")
    finally:
        await adapter.close()


async def test_balances(venue: PolymarketVenue, emu: PolymarketEmulator) -> None:
    await venue.place_order(req("bal-1", qty="10", price="0.40"))  # reserves 4 USDC
    await venue.place_order(req("bal-2", side=Side.SELL, qty="6", price="0.90"))  # 6 YES
    balances = await venue.fetch_balances("pm-1")
    assert balances["USDC"].total == Decimal("100")
    assert balances["USDC"].used == Decimal("4")
    assert balances[YES].total == Decimal("50")
    assert balances[YES].free == Decimal("44")


async def test_with_every_market_loaded_balances_cover_the_tokens_it_is_told_are_held(
    emu: PolymarketEmulator, env: None
) -> None:
    adapter = PolymarketVenue(settings(emu, condition_ids=()), WallClock())  # as after a restart
    try:
        await adapter.load_instruments()
        assert set(await adapter.fetch_balances("pm-1")) == {"USDC"}  # YES unknown: not read
        assert isinstance(adapter, BalanceScoped)
        adapter.watch_symbols([YES, NO])
        balances = await adapter.fetch_balances("pm-1")
        assert set(balances) == {"USDC", YES} and balances[YES].total == Decimal("50")
        # NO read 0 with no order of it: no longer asked for (absent reads as 0 anyway)
        asked = emu.count_requests("GET", "/balance-allowance")
        await adapter.fetch_balances("pm-1")
        assert emu.count_requests("GET", "/balance-allowance") == asked + 2  # USDC, YES
    finally:
        await adapter.close()


async def test_an_empty_side_of_the_book_is_no_quote_rather_than_0_or_1(
    venue: PolymarketVenue, emu: PolymarketEmulator
) -> None:
    emu.set_book(YES, bids=[("0.45", "3")], asks=[])
    with pytest.raises(NoQuote) as no_ask:
        await venue.fetch_ticker(YES)
    assert "no asks" in str(no_ask.value) and YES in str(no_ask.value)
    assert not no_ask.value.retryable and not no_ask.value.ambiguous
    emu.set_book(YES, bids=[], asks=[("0.47", "5")])
    with pytest.raises(NoQuote, match="no bids"):
        await venue.fetch_ticker(YES)


async def test_ticker_and_health(venue: PolymarketVenue, emu: PolymarketEmulator) -> None:
    emu.set_book(YES, bids=[("0.44", "10"), ("0.45", "3")], asks=[("0.47", "5"), ("0.49", "9")])
    ticker = await venue.fetch_ticker(YES)
    assert (ticker.bid, ticker.ask, ticker.mid) == (
        Decimal("0.45"), Decimal("0.47"), Decimal("0.46")
    )
    assert (await venue.health()).ok


async def test_scheduled_tick_refresh(emu: PolymarketEmulator, env: None) -> None:
    adapter = PolymarketVenue(settings(emu, tick_refresh_s=0.05), WallClock())
    try:
        await adapter.load_instruments()
        emu.set_tick_size(YES, "0.001")
        for _ in range(40):
            await asyncio.sleep(0.025)
            instrument = adapter.instrument(YES)
            if instrument is not None and instrument.tick_size == Decimal("0.001"):
                break
        instrument = adapter.instrument(YES)
        assert instrument is not None and instrument.tick_size == Decimal("0.001")
    finally:
        await adapter.close()


# ------------------------------------------------------------------ post-only


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
async def test_a_post_only_order_that_cannot_rest_is_refused_before_sending(
    venue: PolymarketVenue, emu: PolymarketEmulator, tif: TimeInForce
) -> None:
    # py-clob-client would raise a bare Exception for it; it is refused as an order instead.
    with pytest.raises(OrderRejected, match="post-only order is GTC or GTD"):
        await venue.place_order(dataclasses.replace(req("po-ioc", tif=tif), post_only=True))
    assert emu.post_order_attempts == 0


async def test_a_post_only_sell_at_the_bid_is_post_only_would_take_and_may_be_sent_later(
    venue: PolymarketVenue, emu: PolymarketEmulator, account: EmuAccount
) -> None:
    emu.set_book(YES, bids=[("0.45", "100")], asks=[("0.55", "100")])
    order = dataclasses.replace(req("po-sell", side=Side.SELL, price="0.45"), post_only=True)
    with pytest.raises(PostOnlyWouldTake, match="crosses book") as info:
        await venue.place_order(order)
    assert not info.value.retryable and not info.value.ambiguous
    assert emu.orders_of(account.api_key) == []
    # Nothing was placed, so the same order is free to go once the book has moved.
    emu.set_book(YES, bids=[("0.40", "100")], asks=[("0.55", "100")])
    report = await venue.place_order(order)
    assert report.status is OrderStatus.ACCEPTED and len(emu.orders_of(account.api_key)) == 1


# ------------------------------------------------------------------ stop orders


@pytest.mark.parametrize(("order_type", "price"), [(OrderType.STOP_MARKET, None),
                                                   (OrderType.STOP_LIMIT, "0.60")])
async def test_a_stop_order_is_refused_unsigned_and_unsent_the_clob_has_none(
    venue: PolymarketVenue, emu: PolymarketEmulator, account: EmuAccount,
    order_type: OrderType, price: str | None,
) -> None:
    order = dataclasses.replace(req("stop-1", price=price, order_type=order_type),
                                trigger_price=Decimal("0.58"))
    for call in (venue.prepare_order, venue.place_order):
        with pytest.raises(StopOrdersUnsupported, match="has no stop orders") as info:
            await call(order)
        assert not info.value.retryable and not info.value.ambiguous
    assert emu.post_order_attempts == 0 and emu.orders_of(account.api_key) == []
