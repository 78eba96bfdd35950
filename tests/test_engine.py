"""The engine's own duties: keeping each venue's trading rules current."""

import dataclasses
from decimal import Decimal

from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.engine import Engine
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_SYMBOLS, BinanceEmulator,
)
from ordergate.testing.scenario import T0
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings


async def test_instruments_are_reloaded_on_schedule_so_a_new_tick_size_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_KEY", DEFAULT_API_KEY)
    monkeypatch.setenv("TEST_SECRET", DEFAULT_API_SECRET)
    clock = SimulatedClock(T0)
    async with BinanceEmulator() as emu:
        config = config_from_mapping({"venues": {"binance": {
            "kind": "ccxt", "exchange": "binance", "api_url": emu.base_url,
            "api_key_env": "TEST_KEY", "secret_env": "TEST_SECRET",
            "instruments_refresh_s": 60}}})
        venue = CcxtVenue(CcxtVenueSettings.model_validate(
            {"name": "binance", **config.venues["binance"].adapter_fields()}), clock)
        engine = Engine(config, clock, venues={"binance": venue}, journal_path=tmp_path / "j.sqlite",
                        audit_path=tmp_path / "a.jsonl")
        try:
            await engine.start()
            assert engine.market.instrument("binance", "BTC/USDT").tick_size == Decimal("0.01")
            emu.add_symbol(dataclasses.replace(DEFAULT_SYMBOLS[0], tick_size=Decimal("0.1")))
            clock.advance(30)
            await engine.tick()
            assert engine.market.instrument("binance", "BTC/USDT").tick_size == Decimal("0.01")
            clock.advance(31)
            await engine.tick()
            assert engine.market.instrument("binance", "BTC/USDT").tick_size == Decimal("0.1")
        finally:
            await engine.close()
