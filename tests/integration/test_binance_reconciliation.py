"""Reconciliation, cold start and good-till-date through ccxt's real `binance` class
against the Binance emulator on 127.0.0.1: what the venue holds is adopted on an empty
journal, drift is found from the venue's own answers, and a GTD order (which Binance
spot does not know) is cancelled at the venue by the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.domain.values import OrderType, Side, TimeInForce
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    BinanceEmulator,
    SymbolSpec,
)
from ordergate.venues.base import OrderRequest
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

D = Decimal
BTC = "BTC/USDT"
KEY_ENV, SECRET_ENV = "OG_REC_BINANCE_KEY", "OG_REC_BINANCE_SECRET"
MakeEngine = Callable[..., Any]


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator(balances={"USDT": 1_000_000, "BTC": 2}) as emulator:
        yield emulator


@pytest.fixture
async def make_engine(emu: BinanceEmulator, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MakeEngine]:
    """Engines on one journal, as successive runs of one deployment."""
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_API_SECRET)
    made: list[Engine] = []
    clock = SimulatedClock(datetime.now(UTC))

    async def factory(**sections: dict[str, Any]) -> Engine:
        raw: dict[str, Any] = {
            "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "jitter_seed": 7},
            "reconciler": {"poll_interval_s": 0.5, "fill_timeout_s": 600},
            "reconciliation": {"interval_s": 5},
            "audit": {"path": str(tmp_path / f"audit-{len(made)}.jsonl")},
            "venues": {"binance": {"kind": "ccxt", "exchange": "binance", "api_key_env": KEY_ENV,
                                   "secret_env": SECRET_ENV, "api_url": emu.base_url,
                                   "timeout_s": 1.0}},
            **sections,
        }
        engine = Engine(config_from_mapping(raw), clock, journal_path=tmp_path / "journal.sqlite")
        made.append(engine)
        await engine.start()
        return engine

    try:
        yield factory
    finally:
        for engine in made:
            await engine.close()


async def _place_by_hand(emu: BinanceEmulator, client_order_id: str, price: str) -> None:
    """Another client on the same API key places a resting buy."""
    settings = CcxtVenueSettings(name="binance", exchange="binance", api_key_env=KEY_ENV,
                                 secret_env=SECRET_ENV, api_url=emu.base_url, timeout_s=1.0)
    other = CcxtVenue(settings, SimulatedClock(datetime.now(UTC)))
    try:
        await other.load_instruments()
        await other.place_order(OrderRequest(client_order_id, "main", BTC, Side.BUY,
                                             OrderType.LIMIT, D("0.1"), D(price), TimeInForce.GTC))
    finally:
        await other.close()


def _signal(engine: Engine, signal_id: str, **fields: Any) -> TradingSignalGenerated:
    values: dict[str, Any] = {"signal_id": signal_id, "ts": engine.clock.now(), "strategy_id": "rec",
                              "account_id": "main", "venue": "binance", "symbol": BTC, "side": "buy",
                              "order_type": "market", "quantity": D("0.01"), **fields}
    return TradingSignalGenerated.model_validate(values)


def _venue_btc(emu: BinanceEmulator) -> Decimal:
    return _venue_held(emu, "BTC")


def _venue_held(emu: BinanceEmulator, asset: str) -> Decimal:
    free, locked = emu.balances()[asset]
    return free + locked


def _list_bnb(emu: BinanceEmulator) -> None:
    """BNBUSDT listed (its mid 600 USDT): BNB is then an asset positions are held in."""
    emu.add_symbol(SymbolSpec(symbol="BNBUSDT", base="BNB", quote="USDT", tick_size=D("0.01"),
                              step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("90000"),
                              min_notional=D("5")))
    emu.set_book("BNBUSDT", [(D("599"), D("100"))], [(D("601"), D("100"))])


def emu_audit_paths(engine: Engine) -> list[Path]:
    return sorted(engine.audit.path.parent.glob("audit-*.jsonl"))


async def _tick(engine: Engine, seconds: float) -> None:
    assert isinstance(engine.clock, SimulatedClock)
    engine.clock.advance(seconds)
    await engine.tick()


async def test_cold_start_adopts_the_accounts_btc_and_a_resting_order_placed_elsewhere(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    await _place_by_hand(emu, "by-hand-1", "49000.00")
    engine = await make_engine()
    order = engine.ledger.get("by-hand-1")
    assert order is not None and order.status is S.ACCEPTED and order.quantity == D("0.1")
    assert order.price == D("49000") and order.side is Side.BUY
    assert engine.positions.quantity("main", "binance", BTC) == D(2) == _venue_btc(emu)
    assert engine.risk.trading_state == "ACTIVE"
    # The adopted order fills at the venue: followed like our own, position = the account.
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.1")
    await _tick(engine, 1)
    assert order.status is S.FILLED
    assert engine.positions.quantity("main", "binance", BTC) == _venue_btc(emu) == D("2.0999")
    assert emu.client_order_id_counts() == {"by-hand-1": 1}


async def test_cold_start_adopts_a_resting_stop_placed_elsewhere_as_a_stop_with_its_trigger(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    settings = CcxtVenueSettings(name="binance", exchange="binance", api_key_env=KEY_ENV,
                                 secret_env=SECRET_ENV, api_url=emu.base_url, timeout_s=1.0)
    other = CcxtVenue(settings, SimulatedClock(datetime.now(UTC)))
    try:
        await other.load_instruments()
        await other.place_order(OrderRequest(
            "by-hand-stop", "main", BTC, Side.SELL, OrderType.STOP_LIMIT, D("0.1"),
            D("49400.00"), TimeInForce.GTC, trigger_price=D("49500.00")))
    finally:
        await other.close()
    engine = await make_engine()
    order = engine.ledger.get("by-hand-stop")
    assert order is not None and order.status is S.ACCEPTED
    assert (order.order_type, order.trigger_price, order.price, order.side) == (
        OrderType.STOP_LIMIT, D("49500.00"), D("49400.00"), Side.SELL)
    row = engine.journal.order("by-hand-stop")
    assert row is not None and D(row["trigger_price"]) == D("49500")  # Binance's own string
    # Triggered at the venue, it is followed like our own: filled, the position follows.
    emu.trade_against_resting("BTCUSDT", "49500.00", "1")
    await _tick(engine, 1)
    assert order.status is S.FILLED
    assert engine.positions.quantity("main", "binance", BTC) == _venue_btc(emu) == D("1.9")


async def test_a_warm_restart_after_trading_keeps_positions_equal_to_the_venues(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    first = await make_engine()
    await first.submit(_signal(first, "w-1", quantity=D("0.3")))
    await first.submit(_signal(first, "w-2", side="sell", quantity=D("0.1")))
    second = await make_engine()  # the first one is never closed: a crash
    assert second.positions.quantity("main", "binance", BTC) == _venue_btc(emu) == D("2.1997")
    assert second.risk.trading_state == "ACTIVE"
    assert not second.journal.adopted_positions()[1:]  # adopted once, on the first start


async def test_commission_paid_in_bnb_is_no_drift_before_or_after_a_restart(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    # BNB/USDT is a loaded instrument, so the BNB balance is compared with our BNB position;
    # a BTC/USDT trade paying its commission in BNB (Binance's discount) moves that balance
    # without moving any position.
    _list_bnb(emu)
    emu.set_balance("BNB", "10")
    emu.pay_fees_in_bnb()
    first = await make_engine()  # a cold start: adopts 2 BTC and 10 BNB
    assert first.positions.quantity("main", "binance", "BNB/USDT") == D(10)
    buy = await first.submit(_signal(first, "bnb-1", quantity=D("0.3")))
    sell = await first.submit(_signal(first, "bnb-2", side="sell", quantity=D("0.1")))
    assert buy.order is not None and sell.order is not None
    assert {f["fee_currency"] for f in first.journal.fills()} == {"BNB"}
    fees = sum((D(f["fee"]) for f in first.journal.fills()), D(0))
    assert D(0) < fees == D(10) - _venue_held(emu, "BNB")
    assert await first.reconcile() == [] and first.risk.trading_state == "ACTIVE"
    assert first.positions.quantity("main", "binance", BTC) == _venue_btc(emu) == D("2.2")
    second = await make_engine()  # a warm restart on the same journal
    assert second.risk.trading_state == "ACTIVE"
    assert second.positions.fees_paid_in("main", "binance", "BNB") == fees
    await _tick(second, 5)
    assert second.risk.trading_state == "ACTIVE"
    audits = emu_audit_paths(second)
    assert len(audits) == 2 and "reconciliation_drift" not in "".join(p.read_text() for p in audits)


async def test_a_cold_start_adopting_an_order_that_paid_bnb_fees_reconciles(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    _list_bnb(emu)
    emu.set_balance("BNB", "10")
    emu.pay_fees_in_bnb()
    await _place_by_hand(emu, "by-hand-bnb", "49000.00")
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.05")  # its commission in BNB
    engine = await make_engine()
    order = engine.ledger.get("by-hand-bnb")
    assert order is not None and order.filled_quantity == D("0.05") and order.fees.keys() == {"BNB"}
    # The BNB the venue holds, and the BNB that fill's commission took: both adopted as ours.
    fee = order.fees["BNB"]
    assert engine.positions.quantity("main", "binance", "BNB/USDT") == _venue_held(emu, "BNB") + fee
    assert engine.positions.fees_paid_in("main", "binance", "BNB") == fee
    assert engine.risk.trading_state == "ACTIVE" and await engine.reconcile() == []
    emu.trade_against_resting("BTCUSDT", "49000.00", "0.05")  # the rest fills, paying BNB too
    await _tick(engine, 5)
    assert order.status is S.FILLED and engine.risk.trading_state == "ACTIVE"


async def test_btc_moved_at_the_venue_behind_our_back_is_drift_and_halts(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    engine = await make_engine()
    emu.set_balance("BTC", "1.5")  # withdrawn, or sold by hand
    await _tick(engine, 5)
    assert engine.risk.trading_state == "HALTED"
    outcome = await engine.submit(_signal(engine, "after-1"))
    assert not outcome.admitted and outcome.code == "TRADING_HALTED"
    assert emu.client_order_id_counts() == {}
    assert 'kind="position_mismatch",venue="binance"} 1.0' in engine.metrics.render()


async def test_an_order_placed_by_hand_while_we_run_is_drift(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    engine = await make_engine()
    await _place_by_hand(emu, "by-hand-2", "48000.00")
    found = await engine.reconcile()
    assert [(d.kind, d.subject) for d in found] == [("unknown_venue_order", "by-hand-2")]
    assert engine.risk.trading_state == "HALTED"


async def test_a_good_till_date_order_is_cancelled_at_the_venue_when_its_date_passes(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    engine = await make_engine()
    expires = engine.clock.now() + timedelta(seconds=30)
    outcome = await engine.submit(_signal(engine, "gtd-1", order_type="limit",
                                          limit_price=D("49000"), stop_loss=D("48000"),
                                          time_in_force="GTD", expires_at=expires))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    [at_venue] = emu.orders_by_client_id(order.client_order_id)
    assert at_venue.time_in_force == "GTC"  # Binance spot has no GTD
    await _tick(engine, 20)
    assert order.status is S.ACCEPTED
    await _tick(engine, 11)
    assert order.status is S.CANCELLED and "good-till-date" in order.transitions[-2].reason
    assert not emu.orders_by_client_id(order.client_order_id)[0].is_open


async def test_cancel_is_idempotent_and_a_cancel_of_a_finished_order_sends_nothing(
        emu: BinanceEmulator, make_engine: MakeEngine) -> None:
    engine = await make_engine()
    outcome = await engine.submit(_signal(engine, "c-1", order_type="limit",
                                          limit_price=D("49000"), stop_loss=D("48000")))
    order = outcome.order
    assert order is not None
    assert await engine.cancel(order.client_order_id, "operator") is True
    assert order.status is S.CANCELLED
    deletes = sum(1 for m, p, _ in emu.requests if m == "DELETE")
    assert await engine.cancel(order.client_order_id, "operator again") is False
    assert sum(1 for m, p, _ in emu.requests if m == "DELETE") == deletes
    assert client_order_id_for("rec", "main", "c-1") == order.client_order_id
