"""CcxtVenue against the Binance emulator on 127.0.0.1: ccxt's real binance class signs,
parses and maps errors; nothing of ccxt is mocked."""

from __future__ import annotations

import io
import logging
import re
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from loguru import logger

from ordergate.clock import SimulatedClock, WallClock
from ordergate.domain.order import OrderStatus
from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce
from ordergate.events import InstrumentRulesChanged, VenueClockResynced
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_SYMBOLS,
    BinanceEmulator,
    SymbolSpec,
)
from ordergate.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    PostOnlyUnsupported,
    PostOnlyWouldTake,
    RateLimited,
    StopOrdersUnsupported,
    StopWouldTrigger,
    UnknownSymbol,
    VenueAdapter,
    VenueError,
    VenueTimeout,
    VenueUnavailable,
)
from ordergate.venues.ccxt.errors import FilterRejected
from ordergate.venues.ccxt.translation import supports_post_only, supports_stops
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

D = Decimal
BTC = "BTC/USDT"
KEY_ENV, SECRET_ENV = "OG_TEST_BINANCE_KEY", "OG_TEST_BINANCE_SECRET"

VenueFactory = Callable[..., CcxtVenue]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_API_SECRET)
    yield


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        yield emulator


@pytest.fixture
async def make_venue(emu: BinanceEmulator, credentials: None) -> AsyncIterator[VenueFactory]:
    made: list[CcxtVenue] = []

    def factory(clock: SimulatedClock | WallClock | None = None,
                on_event: Callable[[object], None] | None = None, **overrides: object) -> CcxtVenue:
        fields: dict[str, object] = {
            "name": "binance", "exchange": "binance", "api_key_env": KEY_ENV,
            "secret_env": SECRET_ENV, "api_url": emu.base_url, "timeout_s": 1.0,
        }
        fields.update(overrides)
        venue = CcxtVenue(CcxtVenueSettings.model_validate(fields), clock or WallClock(),
                          on_event=on_event)
        made.append(venue)
        return venue

    yield factory
    for venue in made:
        await venue.close()


@pytest.fixture
async def venue(make_venue: VenueFactory) -> CcxtVenue:
    v = make_venue()
    await v.load_instruments()
    return v


def limit(cid: str, side: Side, qty: str, price: str, tif: TimeInForce = TimeInForce.GTC,
          symbol: str = BTC) -> OrderRequest:
    return OrderRequest(cid, "main", symbol, side, OrderType.LIMIT, D(qty), D(price), tif)


def market(cid: str, side: Side, qty: str, symbol: str = BTC) -> OrderRequest:
    return OrderRequest(cid, "main", symbol, side, OrderType.MARKET, D(qty), None, TimeInForce.GTC)


# ---------------------------------------------------------------- authentication


async def test_bad_signature_is_authentication_failed(make_venue: VenueFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    venue = make_venue()
    with pytest.raises(AuthenticationFailed) as info:
        await venue.fetch_balances("main")
    assert "-1022" in str(info.value)
    assert not info.value.retryable and not info.value.ambiguous


async def test_bad_api_key_is_authentication_failed(make_venue: VenueFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "not-the-key")
    venue = make_venue()
    await venue.load_instruments()  # public: fine
    with pytest.raises(AuthenticationFailed):
        await venue.place_order(market("auth-1", Side.BUY, "0.01"))


async def test_missing_credential_env_is_refused_naming_only_the_variable(emu: BinanceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OG_TEST_MISSING", raising=False)
    settings = CcxtVenueSettings(name="b", exchange="binance", api_key_env="OG_TEST_MISSING",
                                 api_url=emu.base_url)
    with pytest.raises(ValueError, match="OG_TEST_MISSING"):
        CcxtVenue(settings, WallClock())


# ---------------------------------------------------------------- rejections


async def test_lot_size_failure_from_the_venue_is_rejected(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # The venue changed its lot after we loaded markets: its LOT_SIZE filter says no.
    emu.add_symbol(replace(DEFAULT_SYMBOLS[0], step_size=D("0.001"), min_qty=D("0.001")))
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("lot-1", Side.BUY, "0.01234", "49000.00"))
    assert "LOT_SIZE" in str(info.value) and type(info.value) is FilterRejected
    assert emu.orders == []


async def test_tick_failure_from_the_venue_is_rejected(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.add_symbol(replace(DEFAULT_SYMBOLS[0], tick_size=D("0.10"), min_price=D("0.10")))
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("tick-1", Side.BUY, "0.01", "49000.01"))
    assert "PRICE_FILTER" in str(info.value)


async def test_off_tick_price_is_refused_before_sending(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # ccxt would round it to the nearest tick (up, for this buy); the adapter refuses instead.
    with pytest.raises(OrderRejected, match="not on tick"):
        await venue.place_order(limit("tick-2", Side.BUY, "0.01", "49000.006"))
    assert not any(path == "/api/v3/order" for _, path, _ in emu.requests)


async def test_a_filter_rejection_reloads_the_symbols_rules_and_says_what_changed(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    events: list[object] = []
    clock = SimulatedClock(datetime.now(UTC))
    venue = make_venue(clock=clock, on_event=events.append)
    await venue.load_instruments()

    def reloads() -> int:
        return sum(1 for _, path, _ in emu.requests if path == "/api/v3/exchangeInfo")

    emu.set_filters("BTCUSDT", tick_size="0.10", min_price="0.10")
    with pytest.raises(FilterRejected) as info:
        await venue.place_order(limit("rules-1", Side.BUY, "0.01", "49000.05"))
    assert info.value.filter_name == "PRICE_FILTER" and not info.value.retryable
    assert reloads() == 2 and venue.instruments[BTC].tick_size == D("0.1")
    [changed] = events
    assert isinstance(changed, InstrumentRulesChanged) and changed.symbol == BTC
    assert (changed.old.tick_size, changed.new.tick_size) == (D("0.01"), D("0.1"))
    assert "PRICE_FILTER" in changed.why
    # Rate-limited per symbol: another refusal within the interval reloads nothing...
    emu.set_filters("BTCUSDT", step_size="0.001", min_qty="0.001")
    with pytest.raises(FilterRejected):
        await venue.place_order(limit("rules-2", Side.BUY, "0.01234", "49000.00"))
    assert reloads() == 2 and len(events) == 1
    # ... past it, the next one does.
    clock.advance(venue.settings.rules_reload_min_interval_s)
    with pytest.raises(FilterRejected):
        await venue.place_order(limit("rules-3", Side.BUY, "0.01234", "49000.00"))
    assert reloads() == 3 and venue.instruments[BTC].lot_size == D("0.001")
    assert [type(e) for e in events] == [InstrumentRulesChanged] * 2


async def test_a_filter_rejection_with_unchanged_rules_announces_nothing(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    events: list[object] = []
    venue = make_venue(on_event=events.append)
    await venue.load_instruments()
    # Below the minimum notional, the adapter sending it anyway: the rules are the same.
    with pytest.raises(FilterRejected) as info:
        await venue.place_order(limit("rules-4", Side.BUY, "0.00001", "49000.00"))
    assert info.value.filter_name == "NOTIONAL" and events == []


async def test_a_refusal_on_another_filter_is_a_plain_rejection(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    venue = make_venue()
    await venue.load_instruments()
    emu.fail_next("POST", "/api/v3/order", 400,
                  body='{"code":-1013,"msg":"Filter failure: PERCENT_PRICE_BY_SIDE"}')
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("rules-5", Side.BUY, "0.01", "49000.00"))
    assert type(info.value) is OrderRejected
    assert sum(1 for _, path, _ in emu.requests if path == "/api/v3/exchangeInfo") == 1


async def test_min_notional_failure_is_rejected(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("notional-1", Side.BUY, "0.00001", "49000.00"))
    assert "NOTIONAL" in str(info.value)
    assert not info.value.ambiguous


async def test_insufficient_balance(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.set_balance("USDT", "10")
    with pytest.raises(InsufficientFunds):
        await venue.place_order(limit("poor-1", Side.BUY, "0.01", "49000.00"))
    with pytest.raises(InsufficientFunds):
        await venue.place_order(market("poor-2", Side.BUY, "0.01"))


async def test_unknown_symbol(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    with pytest.raises(UnknownSymbol):
        await venue.place_order(market("sym-1", Side.BUY, "1", symbol="NOPE/USDT"))
    # Delisted at the venue after we loaded the markets: the venue's -1121.
    emu.remove_symbol("ETHUSDT")
    with pytest.raises(UnknownSymbol):
        await venue.place_order(market("sym-2", Side.BUY, "0.01", symbol="ETH/USDT"))
    with pytest.raises(UnknownSymbol):
        await venue.fetch_ticker("ETH/USDT")


async def test_unknown_order_is_order_not_found(venue: CcxtVenue) -> None:
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(BTC, "never-sent")
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(BTC, "never-sent", "123456")
    with pytest.raises(OrderNotFound):
        await venue.cancel_order(BTC, "never-sent")


async def test_duplicate_client_order_id_while_open_then_accepted_after_fill(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    first = await venue.place_order(limit("dup-1", Side.BUY, "0.01", "49000.00"))
    assert first.status is OrderStatus.ACCEPTED
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(limit("dup-1", Side.BUY, "0.01", "49000.00"))
    with pytest.raises(DuplicateClientOrderId):
        await venue.place_order(market("dup-1", Side.BUY, "0.01"))
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.01")
    # Binance semantics: once the first is no longer open, the same ID is accepted again.
    second = await venue.place_order(market("dup-1", Side.BUY, "0.01"))
    assert second.status is OrderStatus.FILLED and second.venue_order_id != first.venue_order_id
    assert emu.client_order_id_counts() == {"dup-1": 2}


async def test_insufficient_balance_is_not_taken_for_a_duplicate(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # Both are -2010 at Binance; only the "Duplicate order sent." one is a duplicate.
    emu.set_balance("BTC", "0")
    with pytest.raises(InsufficientFunds):
        await venue.place_order(market("dup-2", Side.SELL, "0.01"))


# ---------------------------------------------------------------- transport faults


async def test_5xx_on_reads_is_venue_unavailable(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("GET", "/api/v3/account", 503)
    with pytest.raises(VenueUnavailable) as info:
        await venue.fetch_balances("main")
    assert info.value.retryable and not info.value.ambiguous
    emu.fail_next("GET", "/api/v3/order", 500)  # {"code":-1001}: ccxt's OperationFailed
    with pytest.raises(VenueUnavailable):
        await venue.fetch_order(BTC, "whatever")
    emu.fail_next("DELETE", "/api/v3/order", 503)
    with pytest.raises(VenueUnavailable):
        await venue.cancel_order(BTC, "whatever")
    emu.fail_next("GET", "/api/v3/openOrders", 502)
    with pytest.raises(VenueUnavailable):
        await venue.fetch_open_orders(BTC)


async def test_5xx_on_place_is_ambiguous(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("POST", "/api/v3/order", 503)
    with pytest.raises(VenueTimeout) as info:
        await venue.place_order(market("5xx-1", Side.BUY, "0.01"))
    assert info.value.ambiguous


async def test_429_with_retry_after_is_rate_limited(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("GET", "/api/v3/account", 429, retry_after=7)
    with pytest.raises(RateLimited) as info:
        await venue.fetch_balances("main")
    assert info.value.retry_after == 7.0 and info.value.retryable
    emu.fail_next("POST", "/api/v3/order", 429, retry_after=2)
    with pytest.raises(RateLimited) as info:
        await venue.place_order(market("429-1", Side.BUY, "0.01"))
    assert info.value.retry_after == 2.0 and not info.value.ambiguous


async def test_418_is_rate_limited(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("GET", "/api/v3/ticker/24hr", 418, retry_after=120)
    with pytest.raises(RateLimited) as info:
        await venue.fetch_ticker(BTC)
    assert info.value.retry_after == 120.0
    emu.fail_next("GET", "/api/v3/ticker/24hr", 418)
    with pytest.raises(RateLimited) as info:
        await venue.fetch_ticker(BTC)
    assert info.value.retry_after is None


async def test_a_venue_clock_behind_ours_is_resynced_once_and_the_order_placed_once(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    events: list[object] = []
    venue = make_venue(on_event=events.append)
    await venue.load_instruments()
    emu.set_clock_offset(-5000)  # the venue's clock 5 s behind ours: -1021 "ahead"
    report = await venue.place_order(market("clock-1", Side.BUY, "0.01"))
    assert report.status is OrderStatus.FILLED
    assert emu.client_order_id_counts() == {"clock-1": 1}
    assert [(m, p, st) for m, p, st in emu.requests if p != "/api/v3/exchangeInfo"] == [
        ("POST", "/api/v3/order", 400), ("GET", "/api/v3/time", 200), ("POST", "/api/v3/order", 200)]
    [resynced] = events
    assert isinstance(resynced, VenueClockResynced) and resynced.venue == "binance"
    assert 4000 < resynced.offset_ms < 6000 and "place_order" in resynced.reason
    # From then on requests are signed on the venue's time: no refusal, no resync.
    await venue.fetch_balances("main")
    assert len(events) == 1 and emu.requests[-1] == ("GET", "/api/v3/account", 200)


async def test_a_timestamp_refused_again_after_the_resync_is_a_failure(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    events: list[object] = []
    venue = make_venue(on_event=events.append)
    await venue.load_instruments()
    emu.fail_next("POST", "/api/v3/order", 400, count=2, body='{"code":-1021,'
                  '"msg":"Timestamp for this request is outside of the recvWindow."}')
    with pytest.raises(VenueUnavailable) as info:
        await venue.place_order(market("clock-2", Side.BUY, "0.01"))
    assert info.value.retryable and not info.value.ambiguous  # refused: nothing was placed
    assert [(m, p) for m, p, _ in emu.requests if p != "/api/v3/exchangeInfo"] == [
        ("POST", "/api/v3/order"), ("GET", "/api/v3/time"), ("POST", "/api/v3/order")]
    assert len(events) == 1 and emu.orders == []


async def test_timeout_after_acceptance_then_lookup_finds_exactly_one(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    venue = make_venue(timeout_s=0.3)
    await venue.load_instruments()
    emu.delay_next("POST", "/api/v3/order", 1.5)
    with pytest.raises(VenueTimeout) as info:
        await venue.place_order(market("slow-1", Side.BUY, "0.01"))
    assert info.value.ambiguous and info.value.retryable
    found = await venue.fetch_order(BTC, "slow-1")
    assert found.status is OrderStatus.FILLED and found.filled_quantity == D("0.01")
    assert emu.client_order_id_counts() == {"slow-1": 1}
    assert [o.order_id for o in emu.orders_by_client_id("slow-1")] == [int(found.venue_order_id or 0)]
    # A read that times out is a timeout too: retryable, and never "not found".
    emu.delay_next("GET", "/api/v3/order", 1.0)
    with pytest.raises(VenueTimeout):
        await venue.fetch_order(BTC, "slow-1")


async def test_dropped_connection_on_place_is_ambiguous(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.drop_next("POST", "/api/v3/order", after_processing=True)
    with pytest.raises(VenueTimeout) as info:
        await venue.place_order(limit("drop-1", Side.BUY, "0.01", "49000.00"))
    assert info.value.ambiguous
    found = await venue.fetch_order(BTC, "drop-1")
    assert found.status is OrderStatus.ACCEPTED
    emu.drop_next("POST", "/api/v3/order", after_processing=False)
    with pytest.raises(VenueTimeout):
        await venue.place_order(limit("drop-2", Side.BUY, "0.01", "49000.00"))
    with pytest.raises(OrderNotFound):
        await venue.fetch_order(BTC, "drop-2")


async def test_unreadable_200_on_place_is_ambiguous(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("POST", "/api/v3/order", 200, body="<html>ok</html>")
    with pytest.raises(VenueTimeout):
        await venue.place_order(market("garbled-1", Side.BUY, "0.01"))


async def test_cancel_whose_answer_was_lost_returns_the_cancelled_order(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    placed = await venue.place_order(limit("lost-cancel", Side.BUY, "0.01", "49000.00"))
    assert placed.status is OrderStatus.ACCEPTED
    # The cancel takes effect, then the connection drops: the HTTP client silently re-sends
    # the DELETE on a fresh connection and gets -2011 "Unknown order sent." (peers.md).
    # The adapter must look the order up rather than report "not found".
    emu.drop_next("DELETE", "/api/v3/order", after_processing=True)
    report = await venue.cancel_order(BTC, "lost-cancel")
    assert report.status is OrderStatus.CANCELLED
    assert report.client_order_id == "lost-cancel"
    assert report.venue_order_id == placed.venue_order_id
    assert emu.requests[-3:] == [("DELETE", "/api/v3/order", 200), ("DELETE", "/api/v3/order", 400),
                                 ("GET", "/api/v3/order", 200)]


# ---------------------------------------------------------------- fills, cancels, reports


async def test_order_quantities_are_the_venues_exact_decimals_not_ccxts_floats(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # 123456789.12345601 has 17 significant digits: ccxt's float of it reads back as
    # 123456789.12345602. The venue's own strings (info: origQty, executedQty, ...) do not.
    emu.add_symbol(SymbolSpec(symbol="PEPEUSDT", base="PEPE", quote="USDT", tick_size=D("1"),
                              step_size=D("0.00000001"), min_qty=D("0.00000001"),
                              max_qty=D("10000000000"), min_notional=D("1"), min_price=D("1")))
    emu.set_balance("USDT", "1000000000")
    await venue.load_instruments()
    qty = D("123456789.12345601")
    placed = await venue.place_order(limit("exact-1", Side.BUY, str(qty), "1", symbol="PEPE/USDT"))
    assert (placed.filled_quantity, placed.remaining_quantity, placed.price) == (0, qty, D(1))
    emu.trade_against_resting("PEPEUSDT", "1", "123456788.12345601")
    for report in (await venue.fetch_order("PEPE/USDT", "exact-1"),
                   (await venue.fetch_open_orders("PEPE/USDT"))[0]):
        assert report.status is OrderStatus.PARTIALLY_FILLED
        assert report.filled_quantity == D("123456788.12345601")
        assert report.remaining_quantity == D(1)
        assert report.average_price == D(1)
    cancelled = await venue.cancel_order("PEPE/USDT", "exact-1")
    assert cancelled.status is OrderStatus.CANCELLED
    assert (cancelled.filled_quantity, cancelled.remaining_quantity) == (
        D("123456788.12345601"), D(1))


async def test_the_venues_order_status_word_decides_with_the_filled_quantity(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    placed = await venue.place_order(limit("word-1", Side.BUY, "0.3", "49000.00"))
    assert placed.status is OrderStatus.ACCEPTED
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.1")
    assert (await venue.fetch_order(BTC, "word-1")).status is OrderStatus.PARTIALLY_FILLED
    [order] = emu.orders_by_client_id("word-1")
    order.status = "EXPIRED_IN_MATCH"  # expired by self-trade prevention, with its fill
    report = await venue.fetch_order(BTC, "word-1")
    assert report.status is OrderStatus.EXPIRED and report.filled_quantity == D("0.1")


async def test_market_order_in_several_trades_with_exact_average_and_fees(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    report = await venue.place_order(market("mkt-1", Side.BUY, "0.7"))
    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == D("0.7") and report.remaining_quantity == 0
    fills = await venue.fetch_fills(BTC, "mkt-1")
    assert [(f.price, f.quantity) for f in fills] == [(D("50001"), D("0.5")), (D("50002"), D("0.2"))]
    assert all(isinstance(f.price, Decimal) and isinstance(f.fee, Decimal) for f in fills)
    assert [f.fee for f in fills] == [D("0.0005"), D("0.0002")]
    assert {f.fee_currency for f in fills} == {"BTC"}
    assert {f.liquidity for f in fills} == {Liquidity.TAKER}
    assert len({f.trade_id for f in fills}) == 2
    assert all(f.client_order_id == "mkt-1" and f.venue_order_id == report.venue_order_id for f in fills)
    notional = sum((f.price * f.quantity for f in fills), D(0))
    assert notional == D("35000.9")
    assert report.average_price == notional / D("0.7")
    # The same trades, asked by venue id, are the same (stable IDs).
    again = await venue.fetch_fills(BTC, "mkt-1", report.venue_order_id)
    assert again == fills


async def test_an_order_with_more_trades_than_a_page_is_read_to_its_last_trade(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # Binance answers myTrades 500 at a time by default (1000 at most), the most recent
    # first: 1100 trades of one order are only all read by paging with fromId.
    emu.set_book("BTCUSDT", [(D("49999"), D("1"))],
                 [(D(50001 + i), D("0.001")) for i in range(1100)])
    report = await venue.place_order(market("many-1", Side.BUY, "1.1"))
    assert report.status is OrderStatus.FILLED and report.filled_quantity == D("1.1")
    fills = await venue.fetch_fills(BTC, "many-1", report.venue_order_id)
    assert len(fills) == len({f.trade_id for f in fills}) == 1100
    assert sum((f.quantity for f in fills), D(0)) == report.filled_quantity
    assert [f.trade_id for f in fills] == [str(i) for i in range(1, 1101)]
    pages = [status for method, path, status in emu.requests if path == "/api/v3/myTrades"]
    assert pages == [200, 200]  # 1000, then the last 100


async def test_market_order_out_of_liquidity_is_expired_with_partial_fill(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.set_book("BTCUSDT", [(D("49999"), D("0.1")), (D("49990"), D("0.1"))], [(D("50001"), D("1"))])
    report = await venue.place_order(market("mkt-2", Side.SELL, "0.5"))
    assert report.status is OrderStatus.EXPIRED
    assert report.filled_quantity == D("0.2") and report.remaining_quantity == D("0.3")
    fills = await venue.fetch_fills(BTC, "mkt-2")
    assert sum((f.quantity for f in fills), D(0)) == D("0.2")
    assert [f.fee_currency for f in fills] == ["USDT", "USDT"]


async def test_limit_order_rests_then_fills_later(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    report = await venue.place_order(limit("rest-1", Side.BUY, "0.3", "49500.00"))
    assert report.status is OrderStatus.ACCEPTED and report.filled_quantity == 0
    assert [r.client_order_id for r in await venue.fetch_open_orders(BTC)] == ["rest-1"]
    emu.trade_against_resting("BTCUSDT", "49500.00", "0.1")
    partial = await venue.fetch_order(BTC, "rest-1")
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert (partial.filled_quantity, partial.remaining_quantity) == (D("0.1"), D("0.2"))
    emu.trade_against_resting("BTCUSDT", "49400.00", "5")
    done = await venue.fetch_order(BTC, "rest-1", report.venue_order_id)
    assert done.status is OrderStatus.FILLED and done.average_price == D("49500")
    fills = await venue.fetch_fills(BTC, "rest-1")
    assert [(f.quantity, f.liquidity) for f in fills] == [(D("0.1"), Liquidity.MAKER), (D("0.2"), Liquidity.MAKER)]
    assert await venue.fetch_open_orders() == []


async def test_crossing_limit_order_partially_fills_and_rests(venue: CcxtVenue) -> None:
    report = await venue.place_order(limit("cross-1", Side.BUY, "0.8", "50001.00"))
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert (report.filled_quantity, report.remaining_quantity) == (D("0.5"), D("0.3"))


async def test_cancel(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    await venue.place_order(limit("cxl-1", Side.SELL, "0.2", "50500.00"))
    report = await venue.cancel_order(BTC, "cxl-1")
    assert report.status is OrderStatus.CANCELLED and report.client_order_id == "cxl-1"
    assert emu.balances()["BTC"] == (D("10"), D("0"))
    # Cancelling again: already terminal, its report comes back instead of an error.
    assert (await venue.cancel_order(BTC, "cxl-1")).status is OrderStatus.CANCELLED


async def test_cancel_of_partially_filled_order_is_cancelled_with_its_fill(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    placed = await venue.place_order(limit("cxl-2", Side.BUY, "0.3", "49000.00"))
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.1")
    report = await venue.cancel_order(BTC, "cxl-2", placed.venue_order_id)
    assert report.status is OrderStatus.CANCELLED and report.filled_quantity == D("0.1")


async def test_cancel_of_filled_order_returns_its_filled_report(venue: CcxtVenue) -> None:
    placed = await venue.place_order(market("filled-1", Side.BUY, "0.1"))
    report = await venue.cancel_order(BTC, "filled-1")
    assert report.status is OrderStatus.FILLED
    assert report.venue_order_id == placed.venue_order_id and report.filled_quantity == D("0.1")


async def test_ioc_remainder_is_expired(venue: CcxtVenue) -> None:
    report = await venue.place_order(limit("ioc-1", Side.BUY, "1", "50001.00", TimeInForce.IOC))
    assert report.status is OrderStatus.EXPIRED and report.filled_quantity == D("0.5")


# ---------------------------------------------------------------- instruments, balances, ticker


async def test_instruments_are_exact_decimals(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    emu.add_symbol(SymbolSpec(symbol="DOGEUSDT", base="DOGE", quote="USDT", tick_size=D("0.00001"),
                              step_size=D("1"), min_qty=D("1"), max_qty=D("9000000"),
                              min_notional=D("1")))
    venue = make_venue()
    instruments = await venue.load_instruments()
    btc = instruments[BTC]
    assert (btc.tick_size, btc.lot_size, btc.min_quantity, btc.max_quantity) == (
        D("0.01"), D("0.00001"), D("0.00001"), D("9000"))
    assert (btc.min_notional, btc.min_price, btc.max_price) == (D("5"), D("0.01"), D("1000000"))
    assert (btc.base, btc.quote, btc.venue) == ("BTC", "USDT", "binance")
    doge = instruments["DOGE/USDT"]
    assert (doge.tick_size, doge.lot_size, doge.min_notional) == (D("0.00001"), D("1"), D("1"))
    for value in (btc.tick_size, btc.lot_size, btc.min_quantity, btc.min_notional, doge.tick_size):
        assert isinstance(value, Decimal)
    assert format(doge.tick_size, "f") == "0.00001"


async def test_markets_refresh_when_stale(make_venue: VenueFactory, emu: BinanceEmulator) -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    venue = make_venue(clock=clock, markets_refresh_s=60)

    def loads() -> int:
        return sum(1 for _, path, _ in emu.requests if path == "/api/v3/exchangeInfo")

    await venue.fetch_ticker(BTC)  # lazily loads
    assert loads() == 1
    await venue.fetch_ticker(BTC)
    assert loads() == 1
    emu.add_symbol(replace(DEFAULT_SYMBOLS[0], tick_size=D("0.1"), min_price=D("0.1")))
    clock.advance(61)
    await venue.fetch_ticker(BTC)
    assert loads() == 2
    assert venue.instruments[BTC].tick_size == D("0.1")
    await venue.refresh_instruments()
    assert loads() == 3


async def test_balances_open_orders_ticker_health(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    await venue.place_order(limit("bal-1", Side.BUY, "1", "40000.00"))
    balances = await venue.fetch_balances("main")
    assert balances["USDT"].free == D("960000") and balances["USDT"].used == D("40000")
    assert balances["USDT"].total == D("1000000")
    assert balances["BTC"].free == D("10")
    with pytest.raises(VenueError):
        await venue.fetch_balances("someone-else")
    ticker = await venue.fetch_ticker(BTC)
    assert (ticker.bid, ticker.ask) == (D("49999"), D("50001"))
    assert (await venue.health()).ok
    emu.fail_next("GET", "/api/v3/time", 503)
    health = await venue.health()
    assert not health.ok and health.venue == "binance"
    assert isinstance(venue, VenueAdapter)


# ---------------------------------------------------------------- credentials stay secret


async def test_credentials_never_in_logs_exceptions_or_reprs(
    make_venue: VenueFactory, emu: BinanceEmulator, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    venue = make_venue(timeout_s=0.3)
    texts: list[str] = [repr(venue), str(venue), repr(venue.settings), str(venue.settings.model_dump()),
                        repr(vars(venue))]
    await venue.load_instruments()
    await venue.place_order(market("sec-1", Side.BUY, "0.01"))
    await venue.fetch_fills(BTC, "sec-1")
    faults: list[Callable[[], object]] = [
        lambda: emu.fail_next("POST", "/api/v3/order", 503),
        lambda: emu.drop_next("POST", "/api/v3/order"),
        lambda: emu.delay_next("POST", "/api/v3/order", 1.0),
        lambda: emu.fail_next("POST", "/api/v3/order", 429, retry_after=1),
        lambda: None,
    ]
    for i, arm in enumerate(faults):
        arm()
        try:
            await venue.place_order(limit("sec-dup" if i == 4 else f"sec-{i}", Side.BUY, "0.01", "49000.00"))
            await venue.place_order(limit("sec-dup", Side.BUY, "0.01", "49000.00"))
        except VenueError as exc:
            texts += [str(exc), repr(exc), str(exc.__cause__), repr(exc.__cause__)]
    for call in (venue.fetch_order(BTC, "nope"), venue.cancel_order(BTC, "nope")):
        try:
            await call
        except VenueError as exc:
            texts += [str(exc), repr(exc), str(exc.__cause__)]
    out, err = capfd.readouterr()
    texts += [caplog.text, out, err]
    # ccxt did log its requests (headers included), so the check below is not vacuous.
    assert "X-MBX-APIKEY" in caplog.text
    assert len(texts) > 10
    for text in texts:
        assert DEFAULT_API_KEY not in text
        assert DEFAULT_API_SECRET not in text
    secret_settings = venue.settings.model_dump()
    assert secret_settings["api_key_env"] == KEY_ENV


_SIGNED = re.compile(r"signature=[0-9a-f]{64}")


async def _adapter_errors(venue: CcxtVenue, emu: BinanceEmulator) -> list[VenueError]:
    """Every kind of error the adapter raises, each from a real ccxt failure: the fault
    tests' faults on placing and on every read, refusals, and bad credentials."""
    order = "/api/v3/order"
    cases: list[tuple[Callable[[], object], Callable[[], Awaitable[object]]]] = [
        (lambda: emu.fail_next("POST", order, 503), lambda: venue.place_order(market("tb-1", Side.BUY, "0.01"))),
        (lambda: emu.fail_next("POST", order, 500), lambda: venue.place_order(market("tb-2", Side.BUY, "0.01"))),
        (lambda: emu.drop_next("POST", order), lambda: venue.place_order(market("tb-3", Side.BUY, "0.01"))),
        (lambda: emu.delay_next("POST", order, 1.0), lambda: venue.place_order(market("tb-4", Side.BUY, "0.01"))),
        (lambda: emu.fail_next("POST", order, 429, retry_after=1), lambda: venue.place_order(market("tb-5", Side.BUY, "0.01"))),
        (lambda: emu.fail_next("POST", order, 200, body="<html>ok</html>"), lambda: venue.place_order(market("tb-6", Side.BUY, "0.01"))),
        (lambda: None, lambda: venue.place_order(limit("tb-7", Side.BUY, "0.00001", "49000.00"))),
        (lambda: emu.set_balance("USDT", "1"), lambda: venue.place_order(market("tb-8", Side.BUY, "0.01"))),
        # Signed GETs and DELETEs: ccxt's message holds the URL, the signature in its query.
        (lambda: emu.fail_next("GET", order, 503), lambda: venue.fetch_order(BTC, "tb-1")),
        (lambda: emu.drop_next("GET", order), lambda: venue.fetch_order(BTC, "tb-1")),
        (lambda: emu.delay_next("GET", order, 1.0), lambda: venue.fetch_order(BTC, "tb-1")),
        (lambda: None, lambda: venue.fetch_order(BTC, "never-sent")),
        (lambda: None, lambda: venue.cancel_order(BTC, "never-sent")),
        (lambda: emu.fail_next("DELETE", order, 503), lambda: venue.cancel_order(BTC, "never-sent")),
        (lambda: emu.fail_next("GET", "/api/v3/openOrders", 502), lambda: venue.fetch_open_orders(BTC)),
        (lambda: emu.fail_next("GET", "/api/v3/myTrades", 503), lambda: venue.fetch_fills(BTC, "x", "1")),
        (lambda: emu.fail_next("GET", "/api/v3/account", 418), lambda: venue.fetch_balances("main")),
        (lambda: emu.fail_next("GET", "/api/v3/ticker/24hr", 500), lambda: venue.fetch_ticker(BTC)),
        (lambda: None, lambda: venue.fetch_ticker("NOPE/USDT")),
    ]
    errors: list[VenueError] = []
    for arm, call in cases:
        arm()
        with pytest.raises(VenueError) as info:
            await call()
        errors.append(info.value)
        emu.clear_faults()
    return errors


async def test_no_traceback_of_an_adapter_error_shows_a_credential_or_a_signature(
    make_venue: VenueFactory, emu: BinanceEmulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    venue = make_venue(timeout_s=0.3)
    await venue.load_instruments()
    # Not vacuous: what ccxt itself raises for a failed signed GET holds the signature.
    emu.fail_next("GET", "/api/v3/order", 503)
    with pytest.raises(Exception) as raw:
        await venue._exchange.fetch_order(None, BTC, {"origClientOrderId": "x"})
    assert _SIGNED.search(str(raw.value))
    errors = await _adapter_errors(venue, emu)
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")  # -1022: an authentication failure too
    bad = make_venue()
    with pytest.raises(VenueError) as auth:
        await bad.fetch_balances("main")
    errors.append(auth.value)
    assert len({type(e) for e in errors}) >= 6
    texts = ["".join(traceback.format_exception(error)) for error in errors]
    leaks = [t for t in texts if DEFAULT_API_KEY in t or DEFAULT_API_SECRET in t or _SIGNED.search(t)]
    assert leaks == []
    # Nothing of ccxt's exception rides along for someone else to print.
    assert [e for e in errors if e.__cause__ is not None or e.__context__ is not None] == []


async def test_loguru_with_diagnose_and_backtrace_shows_no_credential_or_signature(
    make_venue: VenueFactory, emu: BinanceEmulator,
) -> None:
    # diagnose=True prints the value of every variable on each line of the traceback.
    venue = make_venue(timeout_s=0.3)
    await venue.load_instruments()
    out = io.StringIO()
    sink = logger.add(out, diagnose=True, backtrace=True, colorize=False, level="ERROR",
                      format="{message}\n{exception}")
    try:
        for arm, call in [
            (lambda: emu.fail_next("GET", "/api/v3/order", 503), lambda: venue.fetch_order(BTC, "x")),
            (lambda: emu.fail_next("DELETE", "/api/v3/order", 503), lambda: venue.cancel_order(BTC, "x")),
            (lambda: None, lambda: venue.cancel_order(BTC, "never-sent")),
            (lambda: emu.fail_next("POST", "/api/v3/order", 503),
             lambda: venue.place_order(market("lg-1", Side.BUY, "0.01"))),
            (lambda: emu.fail_next("GET", "/api/v3/myTrades", 503), lambda: venue.fetch_fills(BTC, "x", "1")),
        ]:
            arm()
            try:
                await call()
            except VenueError:
                logger.exception("venue call failed")
    finally:
        logger.remove(sink)
    text = out.getvalue()
    assert text.count("venue call failed") == 5 and "VenueUnavailable" in text
    assert DEFAULT_API_KEY not in text and DEFAULT_API_SECRET not in text
    assert not _SIGNED.search(text), text


async def test_settings_validate(emu: BinanceEmulator) -> None:
    settings = CcxtVenueSettings(name="binance", exchange="binance", api_url=emu.base_url)
    assert (settings.kind, settings.market_type, settings.timeout_s) == ("ccxt", "spot", 10)
    assert settings.markets_refresh_s == 3600 and settings.account_id == "main"
    with pytest.raises(ValueError):
        CcxtVenueSettings(name="x", exchange="binance", api_key="literal-key")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        CcxtVenueSettings(name="x", exchange="binance", timeout_s=0)
    with pytest.raises(ValueError):
        CcxtVenue(CcxtVenueSettings(name="x", exchange="no-such-exchange"), WallClock())


async def test_api_url_keeps_ccxt_on_that_host(venue: CcxtVenue, emu: BinanceEmulator) -> None:
    urls = venue._exchange.urls["api"]
    assert urls["public"] == f"{emu.base_url}/api/v3" and urls["private"] == f"{emu.base_url}/api/v3"
    assert all(u.startswith(emu.base_url) for u in urls.values() if isinstance(u, str))
    assert {path for _, path, _ in emu.requests} == {"/api/v3/exchangeInfo"}


async def test_simulated_time_is_used_when_venue_gives_none(venue: CcxtVenue) -> None:
    # Sanity of the timestamp plumbing: venue timestamps are timezone-aware UTC.
    report = await venue.place_order(market("ts-1", Side.BUY, "0.01"))
    assert report.ts.tzinfo is not None
    assert abs(report.ts - datetime.now(UTC)) < timedelta(minutes=1)


# ---------------------------------------------------------------- post-only


def post_only(cid: str, side: Side, qty: str, price: str,
              tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    return replace(limit(cid, side, qty, price, tif), post_only=True)


async def test_a_post_only_sell_at_the_bid_is_post_only_would_take_and_nothing_is_placed(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    before = emu.balances()
    with pytest.raises(PostOnlyWouldTake) as info:
        await venue.place_order(post_only("po-1", Side.SELL, "0.1", "49999.00"))
    assert "Order would immediately match and take" in str(info.value)
    assert not info.value.retryable and not info.value.ambiguous
    assert emu.client_order_id_counts() == {} and emu.balances() == before


async def test_the_same_refusal_of_an_order_that_is_not_post_only_is_a_plain_rejection(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    # ccxt raises OrderImmediatelyFillable for "would trigger immediately" too: only a
    # post-only request's refusal is read as POST_ONLY_WOULD_TAKE.
    emu.fail_next("POST", "/api/v3/order", 400,
                  body='{"code":-2010,"msg":"Order would immediately match and take."}')
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("plain-1", Side.BUY, "0.1", "49000.00"))
    assert not isinstance(info.value, PostOnlyWouldTake)


async def test_a_post_only_order_goes_out_as_limit_maker_and_reads_back_as_a_limit(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    report = await venue.place_order(post_only("po-2", Side.BUY, "0.3", "49500.00"))
    assert report.status is OrderStatus.ACCEPTED
    (sent,) = emu.orders_by_client_id("po-2")
    assert (sent.type, sent.time_in_force) == ("LIMIT_MAKER", "GTC")
    # What a cold start adopts from: the order's type and price, though ccxt calls it
    # "limit_maker".
    (listed,) = await venue.fetch_open_orders(BTC)
    assert (listed.order_type, listed.price) == (OrderType.LIMIT, D("49500.00"))
    emu.trade_against_resting("BTCUSDT", "49400.00", "5")
    fills = await venue.fetch_fills(BTC, "po-2")
    assert [(f.price, f.quantity, f.liquidity) for f in fills] == [
        (D("49500.00"), D("0.3"), Liquidity.MAKER)]


async def test_a_post_only_market_order_is_refused_before_sending(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    with pytest.raises(OrderRejected, match="only a limit order can be post-only"):
        await venue.place_order(replace(market("po-m", Side.BUY, "0.01"), post_only=True))
    assert emu.client_order_id_counts() == {}


async def test_an_exchange_without_post_only_refuses_it_unsent_rather_than_drop_the_flag(
        venue: CcxtVenue, emu: BinanceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # ccxt's features say which exchanges take postOnly (34 of its spot exchanges do not):
    # an exchange that ignored the flag would fill the order as taker.
    monkeypatch.setattr(venue._exchange, "features", {"spot": {"createOrder": {
        "timeInForce": {"IOC": True, "FOK": True, "PO": False}}}})
    with pytest.raises(PostOnlyUnsupported, match="does not support post-only"):
        await venue.place_order(post_only("po-3", Side.BUY, "0.1", "49500.00"))
    assert emu.client_order_id_counts() == {}


@pytest.mark.parametrize(("features", "market_type", "expected"), [
    ({"spot": {"createOrder": {"timeInForce": {"PO": True}}}}, "spot", True),
    ({"spot": {"createOrder": {"timeInForce": {"PO": False}}}}, "spot", False),
    ({"spot": {"createOrder": None}}, "spot", False),
    (None, "spot", False),
    ({"swap": {"linear": {"createOrder": {"timeInForce": {"PO": True}}}}}, "future", True),
    ({"future": {"linear": {"createOrder": {"timeInForce": {"PO": True}}}}}, "future", True),
    ({"spot": {"createOrder": {"timeInForce": {"PO": True}}}}, "future", False),
])
def test_post_only_support_is_read_from_ccxts_features(features, market_type, expected) -> None:
    assert supports_post_only(features, market_type) is expected


def test_binance_spot_in_this_ccxt_takes_post_only() -> None:
    import ccxt

    assert supports_post_only(ccxt.binance().features, "spot")


# ---------------------------------------------------------------- stop orders
# The emulator's default book is 49999.00 / 50001.00; its last price, before any trade, 50000.


def stop(cid: str, side: Side, qty: str, trigger: str, price: str | None = None,
         tif: TimeInForce = TimeInForce.GTC) -> OrderRequest:
    kind = OrderType.STOP_MARKET if price is None else OrderType.STOP_LIMIT
    return OrderRequest(cid, "main", BTC, side, kind, D(qty), None if price is None else D(price),
                        tif, trigger_price=D(trigger))


@pytest.mark.parametrize(("request_", "binance_type"), [
    (stop("st-1", Side.SELL, "0.1", "49500.00"), "STOP_LOSS"),
    (stop("st-2", Side.BUY, "0.1", "50500.00", "50600.00"), "STOP_LOSS_LIMIT"),
], ids=["stop_market", "stop_limit"])
async def test_a_stop_goes_out_as_binances_stop_loss_and_reads_back_as_the_same_stop(
        venue: CcxtVenue, emu: BinanceEmulator, request_: OrderRequest, binance_type: str) -> None:
    report = await venue.place_order(request_)
    assert report.status is OrderStatus.ACCEPTED and report.filled_quantity == 0
    (sent,) = emu.orders_by_client_id(request_.client_order_id)
    assert (sent.type, sent.stop_price, sent.working) == (binance_type, request_.trigger_price, False)
    assert sent.time_in_force == "GTC"
    # What a cold start adopts from: ccxt says "market" / "limit" with a triggerPrice.
    (listed,) = await venue.fetch_open_orders(BTC)
    assert (listed.order_type, listed.trigger_price, listed.price) == (
        request_.order_type, request_.trigger_price, request_.price)
    fetched = await venue.fetch_order(BTC, request_.client_order_id)
    assert (fetched.order_type, fetched.trigger_price) == (request_.order_type, request_.trigger_price)


async def test_a_stop_market_fills_at_market_once_the_last_price_reaches_it(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    await venue.place_order(stop("st-3", Side.SELL, "0.3", "49500.00"))
    emu.trade_against_resting("BTCUSDT", "49600.00", "1")
    assert (await venue.fetch_order(BTC, "st-3")).status is OrderStatus.ACCEPTED
    emu.trade_against_resting("BTCUSDT", "49500.00", "1")
    report = await venue.fetch_order(BTC, "st-3")
    fills = await venue.fetch_fills(BTC, "st-3")
    assert (report.status, report.order_type) == (OrderStatus.FILLED, OrderType.STOP_MARKET)
    assert [(f.price, f.quantity, f.liquidity) for f in fills] == [
        (D("49999.00"), D("0.3"), Liquidity.TAKER)]


async def test_a_stop_that_would_trigger_immediately_is_stop_would_trigger_and_nothing_is_placed(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    before = emu.balances()
    with pytest.raises(StopWouldTrigger) as info:
        await venue.place_order(stop("st-4", Side.BUY, "0.1", "49900.00"))
    assert "Stop price would trigger immediately" in str(info.value)
    assert not info.value.retryable and not info.value.ambiguous
    assert emu.client_order_id_counts() == {} and emu.balances() == before


async def test_the_same_refusal_of_a_post_only_order_is_not_a_stop_refusal(
        venue: CcxtVenue, emu: BinanceEmulator) -> None:
    emu.fail_next("POST", "/api/v3/order", 400,
                  body='{"code":-2010,"msg":"Stop price would trigger immediately."}')
    with pytest.raises(OrderRejected) as info:
        await venue.place_order(limit("plain-2", Side.BUY, "0.1", "49000.00"))
    assert not isinstance(info.value, StopWouldTrigger)


@pytest.mark.parametrize(("request_", "match"), [
    (stop("st-5", Side.SELL, "0.1", "49500.005"), "not on tick"),
    (replace(stop("st-6", Side.SELL, "0.1", "49500.00"), price=D("49400.00")),
     "takes no limit price"),
    (replace(limit("st-7", Side.BUY, "0.1", "49000.00"), trigger_price=D("50500.00")),
     "takes no trigger price"),
    (replace(stop("st-8", Side.BUY, "0.1", "50500.00", "50600.00"), post_only=True),
     "only a limit order can be post-only"),
], ids=["trigger-off-tick", "stop-market-with-price", "limit-with-trigger", "post-only-stop"])
async def test_a_malformed_stop_is_refused_before_sending(
        venue: CcxtVenue, emu: BinanceEmulator, request_: OrderRequest, match: str) -> None:
    with pytest.raises(OrderRejected, match=match):
        await venue.place_order(request_)
    assert emu.client_order_id_counts() == {}


async def test_an_exchange_without_trigger_orders_refuses_a_stop_unsent(
        venue: CcxtVenue, emu: BinanceEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(venue._exchange, "features", {"spot": {"createOrder": {
        "triggerPrice": False}}})
    with pytest.raises(StopOrdersUnsupported, match="does not support stop"):
        await venue.place_order(stop("st-9", Side.SELL, "0.1", "49500.00"))
    assert emu.client_order_id_counts() == {}


@pytest.mark.parametrize(("features", "market_type", "expected"), [
    ({"spot": {"createOrder": {"triggerPrice": True}}}, "spot", True),
    ({"spot": {"createOrder": {"triggerPrice": False}}}, "spot", False),
    ({"spot": {"createOrder": {}}}, "spot", False),
    (None, "spot", False),
    ({"swap": {"linear": {"createOrder": {"triggerPrice": True}}}}, "future", True),
])
def test_stop_support_is_read_from_ccxts_features(features, market_type, expected) -> None:
    assert supports_stops(features, market_type) is expected


def test_binance_spot_in_this_ccxt_takes_trigger_orders() -> None:
    import ccxt

    assert supports_stops(ccxt.binance().features, "spot")
