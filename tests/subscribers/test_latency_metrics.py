"""Spec: `/metrics` shows the latencies an operator watches (each venue request by method
and outcome, signal in to request out, send to first fill, journal commits) and gauges
read from the engine when scraped (working orders, positions, the kill switch, breakers,
rate-limit tokens), with labels only from configuration and closed vocabularies."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings, config_from_mapping
from ordergate.engine import Engine
from ordergate.venues.faults import Fault
from ordergate.venues.guarded import GuardedVenue
from ordergate.venues.market_data import MarketData
from ordergate.venues.simulated import SimulatedVenue, SimulatedVenueSettings
from ordergate.testing.scenario import BTC, T0, Scenario, make_signal, quote

QUOTES = [quote(0, "42000", "42001", "5"), quote(3, "41980", "41990", "5")]


def _engine(tmp: Path, guarded: bool = True,
            durable: bool = True) -> tuple[Engine, SimulatedVenue, SimulatedClock]:
    clock = SimulatedClock(T0)
    config = config_from_mapping({"journal": {"durable": durable}}).model_copy(update={
        "audit": AuditSettings(path=tmp / "audit.jsonl", rotation=None, retention=None)})
    venue = SimulatedVenue(SimulatedVenueSettings.model_validate({
        "name": "sim", "instruments": [BTC], "slippage_bps": Decimal(0),
        "balances": {"main": {"USDT": Decimal("100000")}}}), clock, MarketData(list(QUOTES)))
    adapter = GuardedVenue.wrap(venue, clock) if guarded else venue
    return Engine(config, clock, venues={"sim": adapter}, journal_path=tmp / "journal.sqlite"), venue, clock


def _samples(engine: Engine, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(engine.metrics.render())
            for s in family.samples if s.name == name}


def _count(engine: Engine, name: str, **labels: str) -> float:
    return sum(value for key, value in _samples(engine, name + "_count").items()
               if all((k, v) in key for k, v in labels.items()))


async def _submit(engine: Engine, clock: SimulatedClock, **fields: Any) -> None:
    await engine.submit(make_signal(**{"ts": clock.now(), **fields}))


async def test_a_refused_order_request_is_timed_under_its_own_outcome(tmp_path: Path) -> None:
    engine, venue, clock = _engine(tmp_path)
    await engine.start()
    try:
        venue.faults.inject("place", Fault.REJECT)
        await _submit(engine, clock)
        assert _count(engine, "ordergate_venue_request_seconds", method="place_order",
                      outcome="refused_by_venue") == 1
        assert _count(engine, "ordergate_venue_request_seconds", method="place_order", outcome="ok") == 0
    finally:
        await engine.close()


async def test_a_venue_that_cannot_be_reached_is_timed_as_a_retryable_error(tmp_path: Path) -> None:
    engine, venue, clock = _engine(tmp_path)
    await engine.start()
    try:
        venue.faults.inject("place", Fault.UNAVAILABLE)
        await _submit(engine, clock)
        assert _count(engine, "ordergate_venue_request_seconds", method="place_order",
                      outcome="retryable_error") == 1
        # the executor's resend succeeded; one signal, one signal-to-request figure
        assert _count(engine, "ordergate_venue_request_seconds", method="place_order", outcome="ok") == 1
        assert _count(engine, "ordergate_signal_to_request_seconds", venue="sim") == 1
    finally:
        await engine.close()


async def test_each_request_through_the_guards_is_timed_by_method_and_outcome(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    await engine.start()
    try:
        await _submit(engine, clock)
        assert _count(engine, "ordergate_venue_request_seconds", venue="sim", method="place_order",
                      outcome="ok") == 1
        assert _count(engine, "ordergate_venue_request_seconds", method="fetch_fills", outcome="ok") == 1
        assert _count(engine, "ordergate_signal_to_request_seconds", venue="sim") == 1
        methods = {dict(key)["method"] for key in _samples(engine, "ordergate_venue_request_seconds_count")}
        assert methods <= {"load_instruments", "place_order", "fetch_fills", "fetch_order",
                           "fetch_open_orders", "fetch_balances", "fetch_ticker", "cancel_order"}
    finally:
        await engine.close()


async def test_send_to_first_fill_is_measured_on_the_engines_clock(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    await engine.start()
    try:
        await _submit(engine, clock, order_type="limit", limit_price=Decimal("41995"),
                      stop_loss=Decimal("41000"))
        assert _count(engine, "ordergate_fill_latency_seconds") == 0  # resting, unfilled
        for _ in range(5):
            clock.advance(1)
            await engine.tick()
        buckets = {dict(key)["le"]: value
                   for key, value in _samples(engine, "ordergate_fill_latency_seconds_bucket").items()}
        assert buckets["1.0"] == 0 and buckets["5.0"] == 1  # filled by the quote at 3 s
    finally:
        await engine.close()


async def test_working_orders_positions_and_the_kill_switch_are_read_when_scraped(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    await engine.start()
    try:
        await _submit(engine, clock, signal_id="s-1")
        await _submit(engine, clock, signal_id="s-2", order_type="limit",
                      limit_price=Decimal("41900"), stop_loss=Decimal("41000"))
        key = (("account", "main"), ("symbol", "BTC/USDT"), ("venue", "sim"))
        assert _samples(engine, "ordergate_working_orders") == {key: 1.0}
        assert _samples(engine, "ordergate_position_quantity") == {key: 0.01}
        states = _samples(engine, "ordergate_trading_state")
        assert states[(("state", "ACTIVE"),)] == 1 and states[(("state", "HALTED"),)] == 0
        breakers = _samples(engine, "ordergate_venue_breaker_state")
        assert breakers[(("state", "closed"), ("venue", "sim"))] == 1
        assert (("venue", "sim"),) in _samples(engine, "ordergate_venue_rate_limit_tokens")
        engine.set_trading_state("HALTED", "test")
        assert _samples(engine, "ordergate_trading_state")[(("state", "HALTED"),)] == 1
    finally:
        await engine.close()


async def test_a_replays_unguarded_venue_adds_no_request_series(tmp_path: Path) -> None:
    async with Scenario(tmp_path) as s:
        await s.submit()
        assert _samples(s.engine, "ordergate_venue_request_seconds_count") == {}
        assert _samples(s.engine, "ordergate_venue_breaker_state") == {}
        assert _count(s.engine, "ordergate_fill_latency_seconds", venue="sim") == 1


async def test_a_journal_in_batches_times_no_fsync(tmp_path: Path) -> None:
    """A replay's journal (`durable = false`) commits in batches and never fsyncs."""
    engine, _, clock = _engine(tmp_path, guarded=False, durable=False)
    await engine.start()
    try:
        await _submit(engine, clock)
        assert not engine.journal.durable
        assert _count(engine, "ordergate_journal_fsync_seconds") == 0
    finally:
        await engine.close()


async def test_a_sends_barrier_times_its_fsync_apart_from_its_commit(tmp_path: Path) -> None:
    """A filled market order: one barrier before the send (commit and fsync), one commit
    without an fsync at the decision's end; the fsync's seconds are a part of its
    barrier's."""
    engine, _, clock = _engine(tmp_path)
    await engine.start()
    try:
        fsyncs, commits = (_count(engine, name) for name in (
            "ordergate_journal_fsync_seconds", "ordergate_journal_commit_seconds"))
        await _submit(engine, clock)
        assert _count(engine, "ordergate_journal_fsync_seconds") - fsyncs == 1
        assert _count(engine, "ordergate_journal_commit_seconds") - commits == 2
        fsync_s = sum(_samples(engine, "ordergate_journal_fsync_seconds_sum").values())
        commit_s = sum(_samples(engine, "ordergate_journal_commit_seconds_sum").values())
        assert 0 < fsync_s < commit_s
    finally:
        await engine.close()


async def test_durable_commits_are_timed(tmp_path: Path) -> None:
    engine, _, clock = _engine(tmp_path)
    await engine.start()
    try:
        before = _count(engine, "ordergate_journal_commit_seconds")
        await _submit(engine, clock)
        assert engine.journal.durable and _count(engine, "ordergate_journal_commit_seconds") > before
    finally:
        await engine.close()
