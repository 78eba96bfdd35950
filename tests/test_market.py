"""The engine's market view: a signal's reference price is the venue's mid, asked for
every signal unless the venue's `reference_max_age_s` lets the last one serve.

Through ccxt's real `binance` class against the emulator: the ticker requests it counts
are the round trips a live decision waits for before its order leaves."""

from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.engine import Engine
from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator
from ordergate.testing.scenario import T0, make_signal
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings

TICKER = ("GET", "/api/v3/ticker/24hr")


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("TEST_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("TEST_SECRET", DEFAULT_API_SECRET)


def _engine(tmp_path, emu, clock, **venue):
    config = config_from_mapping({
        "validator": {"max_signal_age_s": 3600},
        "venues": {"binance": {
            "kind": "ccxt", "exchange": "binance", "api_url": emu.base_url,
            "api_key_env": "TEST_KEY", "secret_env": "TEST_SECRET",
            "rate_limit": {"rate_per_s": 1000, "burst": 1000}, **venue}}})
    adapter = CcxtVenue(CcxtVenueSettings.model_validate(
        {"name": "binance", **config.venues["binance"].adapter_fields()}), clock)
    return Engine(config, clock, venues={"binance": adapter},
                  journal_path=tmp_path / "j.sqlite", audit_path=tmp_path / "a.jsonl")


async def _buy(engine, clock, n):
    outcome = await engine.submit(make_signal(
        signal_id=f"s{n}", ts=clock.now(), venue="binance", quantity=Decimal("0.001"),
        stop_loss=Decimal("45000"), take_profit=Decimal("60000")))
    assert outcome.admitted and outcome.order is not None, outcome.reason
    return outcome.order.expected_price


def _tickers(emu):
    return sum(1 for method, path, _ in emu.requests if (method, path) == TICKER)


async def test_by_default_every_signal_asks_the_venue_for_its_mid(tmp_path, keys):
    clock = SimulatedClock(T0)
    async with BinanceEmulator() as emu:
        engine = _engine(tmp_path, emu, clock)
        try:
            await engine.start()
            before = _tickers(emu)
            for n in range(3):
                await _buy(engine, clock, n)
                clock.advance(0.01)
            assert _tickers(emu) - before == 3
        finally:
            await engine.close()


async def test_a_mark_younger_than_the_max_age_serves_and_an_older_one_is_fetched_again(
        tmp_path, keys):
    clock = SimulatedClock(T0)
    async with BinanceEmulator() as emu:
        engine = _engine(tmp_path, emu, clock, reference_max_age_s=0.5)
        try:
            await engine.start()
            before = _tickers(emu)
            first = await _buy(engine, clock, 0)  # no mark yet: fetched
            emu.set_book("BTCUSDT", [(Decimal("50999"), Decimal(5))],
                         [(Decimal("51001"), Decimal(5))])  # the market moves
            clock.advance(0.25)
            assert await _buy(engine, clock, 1) == first  # 0.25 s old: it serves
            assert _tickers(emu) - before == 1
            clock.advance(0.3)  # 0.55 s since the fetch: too old
            assert await _buy(engine, clock, 2) == Decimal("51000")
            assert _tickers(emu) - before == 2
        finally:
            await engine.close()


def test_the_max_age_is_bounded_and_never_negative():
    from ordergate.config import ConfigError

    for bad in (-0.1, 61):
        with pytest.raises((ConfigError, ValueError), match="reference_max_age_s"):
            config_from_mapping({"venues": {"sim": {"kind": "simulated",
                                                    "reference_max_age_s": bad}}})
