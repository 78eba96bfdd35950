"""The engine's own duties: keeping each venue's trading rules current, and ending each
decision (its audit lines written, then its rows committed), deferred or not."""

import dataclasses
import sqlite3
from decimal import Decimal

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.engine import Engine
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_SYMBOLS, BinanceEmulator,
)
from ordergate.testing.scenario import BTC, T0, make_signal, quote
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings
from ordergate.venues.market_data import MarketData


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


async def test_a_venue_outage_opens_the_breaker_refuses_fast_and_recovers_on_the_clock(tmp_path):
    from ordergate.pipeline.reasons import ReasonCode as R
    from ordergate.venues.guarded import unwrap

    clock = SimulatedClock(T0)
    config = config_from_mapping({
        "executor": {"max_attempts": 2, "backoff_base_s": 0.01},
        "venues": {"sim": {"kind": "simulated", "instruments": [BTC.model_dump()],
                           "breaker": {"failure_threshold": 3, "recovery_timeout_s": 60}}}})
    engine = Engine(config, clock, market=MarketData([quote(0, "42000", "42001", "5")]),
                    journal_path=tmp_path / "j.sqlite", audit_path=tmp_path / "a.jsonl")
    venue = unwrap(engine.venues["sim"])
    try:
        await engine.start()
        venue.faults.down = True
        # every request fails (price, then the send): the breaker opens after 3 failures
        outcomes = [await engine.submit(make_signal(signal_id=f"o{i}", ts=clock.now()))
                    for i in range(4)]
        assert [o.code for o in outcomes[:3]] == [R.NO_REFERENCE_PRICE] * 3
        assert outcomes[-1].code is R.VENUE_CIRCUIT_OPEN
        assert "circuit open for sim" in outcomes[-1].reason
        venue.faults.down = False
        clock.advance(30)
        refused = await engine.submit(make_signal(signal_id="early", ts=clock.now()))
        assert refused.code is R.VENUE_CIRCUIT_OPEN
        clock.advance(31)
        recovered = await engine.submit(make_signal(signal_id="later", ts=clock.now()))
        assert recovered.admitted and recovered.order is not None
        assert recovered.order.status.value == "FILLED"
        engine.audit.flush()
        lines = (tmp_path / "a.jsonl").read_text()
        assert '"event":"venue_circuit","signal_id":null,"client_order_id":null,"handler":"venue","decision":"open"' in lines
        assert '"decision":"closed"' in lines
    finally:
        await engine.close()


def _deferral_engine(tmp_path):
    config = config_from_mapping({"venues": {"sim": {"kind": "simulated",
                                                     "instruments": [BTC.model_dump()]}}})
    return Engine(config, SimulatedClock(T0), market=MarketData([quote(0, "42000", "42001", "5")]),
                  journal_path=tmp_path / "j.sqlite", audit_path=tmp_path / "a.jsonl")


def _fills_committed(engine):
    with sqlite3.connect(engine.journal.path) as other:  # what another reader sees
        return other.execute("SELECT COUNT(*) FROM fills").fetchone()[0]


def _fill_lines(engine):
    return engine.audit.path.read_text().count('"event":"fill"')


async def test_a_deferred_decision_end_not_handed_over_comes_on_leaving_even_after_an_error(
        tmp_path):
    """The HTTP API defers a decision's end to its answer's barrier; an answer that is
    not stored (a 5xx) or a decision that raised must still have its lines written and
    its rows committed, the lines first."""
    engine = _deferral_engine(tmp_path)
    try:
        await engine.start()
        with pytest.raises(RuntimeError), engine.decision_end_deferred():
            outcome = await engine.submit(make_signal())
            assert outcome.admitted
            assert _fill_lines(engine) == 0 and _fills_committed(engine) == 0  # deferred
            raise RuntimeError("the answer could not be made")
        assert _fill_lines(engine) == 1 and _fills_committed(engine) == 1
    finally:
        await engine.close()


async def test_a_decision_end_handed_over_is_written_and_committed_by_the_next_barrier(
        tmp_path):
    engine = _deferral_engine(tmp_path)
    try:
        await engine.start()
        with engine.decision_end_deferred() as end:
            assert (await engine.submit(make_signal())).admitted
            end.handed_over = True  # an answer waits for the next barrier
        assert _fill_lines(engine) == 0 and _fills_committed(engine) == 0
        engine.ledger.barrier_now()  # as `WalSync` makes one when no send came
        assert _fill_lines(engine) == 1 and _fills_committed(engine) == 1
        assert engine.journal.wal_sync.synced == engine.journal.wal_sync.committed
        await engine.submit(make_signal(signal_id="s-2"))  # not deferred: ends at once
        assert _fill_lines(engine) == 2 and _fills_committed(engine) == 2
    finally:
        await engine.close()
