"""The whole pipeline (validator, risk, executor, reconciler, journal, positions, audit)
through `CcxtVenue` and ccxt's real `binance` class against the Binance emulator on
127.0.0.1. Nothing of ccxt is mocked: signing, parsing and error mapping run for real.

The engine runs on a `SimulatedClock` (started at the wall time, so the emulator's
recvWindow check and the validator's staleness check agree): retry backoff, Retry-After
and the reconciler's polling and fill timeout then cost no real time, and the tests can
say exactly how long the engine waited. ccxt's own HTTP timeout is real time.

Unhappy paths first.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from ordergate.clock import SimulatedClock, WallClock
from ordergate.config import EngineConfig, config_from_mapping
from ordergate.domain.order import Order
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.pipeline.chain import Outcome
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_SYMBOLS,
    BinanceEmulator,
)
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings
from ordergate.venues.circuit_breaker import BreakerState
from ordergate.venues.guarded import GuardedVenue, unwrap

D = Decimal
BTC = "BTC/USDT"
KEY_ENV, SECRET_ENV = "OG_IT_BINANCE_KEY", "OG_IT_BINANCE_SECRET"
ORDER_PATH = "/api/v3/order"
STRATEGY, ACCOUNT = "it", "main"


def cid(signal_id: str) -> str:
    return client_order_id_for(STRATEGY, ACCOUNT, signal_id)


def status(order: Order) -> S:
    """The order's status now (a call, so a type checker does not carry an earlier
    comparison across the `await` that changed it)."""
    return order.status


@dataclass
class Harness:
    emu: BinanceEmulator
    venue: CcxtVenue
    engine: Engine
    clock: SimulatedClock | WallClock
    audit_path: Path

    def signal(self, signal_id: str, **fields: Any) -> TradingSignalGenerated:
        values: dict[str, Any] = {
            "signal_id": signal_id, "ts": self.clock.now(), "strategy_id": STRATEGY,
            "account_id": ACCOUNT, "venue": "binance", "symbol": BTC, "side": "buy",
            "order_type": "market", "quantity": D("0.01"),
        }
        values.update(fields)
        return TradingSignalGenerated.model_validate(values)

    async def submit(self, signal_id: str, **fields: Any) -> Outcome:
        return await self.engine.submit(self.signal(signal_id, **fields))

    async def advance(self, seconds: float) -> None:
        """Let time pass, then let the engine act on it (reconciler polls)."""
        if isinstance(self.clock, SimulatedClock):
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)
        await self.engine.tick()

    def audit(self, signal_id: str | None = None) -> list[dict[str, Any]]:
        self.engine.audit.flush()
        lines = [json.loads(line) for line in self.audit_path.read_text().splitlines() if line]
        return [l for l in lines if signal_id is None or l["signal_id"] == signal_id]

    def order_posts(self) -> list[int]:
        """HTTP statuses of every POST /api/v3/order the emulator saw, in order."""
        return [status for method, path, status in self.emu.requests
                if method == "POST" and path == ORDER_PATH]

    def position(self) -> Decimal:
        return self.engine.positions.quantity(ACCOUNT, "binance", BTC)

    def venue_filled(self, client_order_id: str) -> Decimal:
        """What the venue itself says was traded for this client order ID (all its orders)."""
        return sum((t.qty for o in self.emu.orders_by_client_id(client_order_id)
                    for t in self.emu.trades_of(o)), D(0))

    def venue_held(self, client_order_id: str) -> Decimal:
        """The BTC this client order ID moved into (+) or out of (-) the account, by the
        venue's own trades: a buy delivers its quantity less a commission charged in BTC."""
        return sum((t.qty * (1 if t.side == "BUY" else -1)
                    - (t.commission if t.commission_asset == "BTC" else 0)
                    for o in self.emu.orders_by_client_id(client_order_id)
                    for t in self.emu.trades_of(o)), D(0))


def make_config(tmp_path: Path, base_url: str, **sections: dict[str, Any]) -> EngineConfig:
    raw: dict[str, Any] = {
        "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "lookup_attempts": 2,
                     "max_attempts": 4, "submit_deadline_s": 30, "jitter_seed": 7},
        "reconciler": {"poll_interval_s": 0.05, "fill_timeout_s": 5},
        # The emulator's account starts with 10 BTC and 100 ETH that these tests do not
        # count as positions (tests/integration/test_binance_reconciliation.py does).
        "reconciliation": {"cold_start": "ignore", "compare_balances": False},
        "journal": {"path": str(tmp_path / "journal.sqlite")},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        "venues": {"binance": {"kind": "ccxt", "exchange": "binance", "api_key_env": KEY_ENV,
                               "secret_env": SECRET_ENV, "api_url": base_url, "timeout_s": 1.0}},
    }
    for name, values in sections.items():
        if name == "venue":
            raw["venues"]["binance"].update(values)
        else:
            raw.setdefault(name, {}).update(values)
    return config_from_mapping(raw, source="test")


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        yield emulator


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_API_SECRET)


@pytest.fixture
async def make_harness(emu: BinanceEmulator, credentials: None, tmp_path: Path) -> AsyncIterator[Any]:
    made: list[Engine] = []

    async def factory(clock: SimulatedClock | WallClock | None = None, *, guarded: bool = False,
                      **sections: dict[str, Any]) -> Harness:
        """`guarded`: the engine builds the venue from its configuration, as it does live:
        behind the circuit breaker and rate limiter, its events on the engine's bus."""
        config = make_config(tmp_path / f"run{len(made)}", emu.base_url, **sections)
        clock = clock or SimulatedClock(datetime.now(UTC))
        audit_path = tmp_path / f"run{len(made)}" / "audit.jsonl"
        journal_path = tmp_path / f"run{len(made)}" / "journal.sqlite"
        if guarded:
            engine = Engine(config, clock, journal_path=journal_path, audit_path=audit_path)
            venue = unwrap(engine.venues["binance"])
            assert isinstance(venue, CcxtVenue)
        else:
            settings = CcxtVenueSettings.model_validate(
                {"name": "binance", **config.venues["binance"].adapter_fields()})
            venue = CcxtVenue(settings, clock)
            engine = Engine(config, clock, venues={"binance": venue},
                            journal_path=journal_path, audit_path=audit_path)
        made.append(engine)
        await engine.start()
        assert engine.market.venue_enabled("binance"), "instruments did not load from the emulator"
        return Harness(emu, venue, engine, clock, audit_path)

    try:
        yield factory
    finally:
        for engine in made:
            await engine.close()


@pytest.fixture
async def h(make_harness: Any) -> Harness:
    harness: Harness = await make_harness()
    return harness


# ---------------------------------------------------------------- ambiguous sends


async def test_timeout_after_the_venue_accepted_leaves_exactly_one_order(make_harness: Any) -> None:
    h: Harness = await make_harness(venue={"timeout_s": 0.3})
    # The venue takes the order, then answers only after ccxt has given up.
    h.emu.delay_next("POST", ORDER_PATH, 1.0)
    outcome = await h.submit("slow-1", quantity=D("0.7"))
    order = outcome.order
    assert outcome.admitted and order is not None
    assert status(order) is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("slow-1"): 1}
    assert h.order_posts() == [200]  # processed once; no resend after the timeout
    # Position = the venue's own fills, fill by fill, less the commission taken in BTC.
    assert h.position() == h.venue_held(cid("slow-1")) == D("0.6993")
    audit = h.audit("slow-1")
    statuses = [l["decision"] for l in audit if l["event"] == "order_transition"]
    assert statuses[0] == "SUBMITTED" and statuses[-1] == "FILLED"
    assert sorted(l["trade_id"] for l in audit if l["event"] == "fill") == sorted(
        str(t) for o in h.emu.orders_by_client_id(cid("slow-1"))
        for t in o.trade_ids)


async def test_timeout_on_a_resting_limit_order_is_adopted_and_followed(make_harness: Any) -> None:
    h: Harness = await make_harness(venue={"timeout_s": 0.3})
    h.emu.delay_next("POST", ORDER_PATH, 1.0)
    outcome = await h.submit("slow-2", order_type="limit", limit_price=D("49500.00"), quantity=D("0.2"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    assert order.venue_order_id == str(h.emu.orders_by_client_id(cid("slow-2"))[0].order_id)
    h.emu.trade_against_resting("BTCUSDT", "49500.00", "1")
    await h.advance(0.1)
    assert status(order) is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("slow-2"): 1}
    assert h.position() == D("0.1998")  # 0.2 less 0.0002 BTC commission


async def test_5xx_on_place_is_looked_up_then_resent_once(h: Harness) -> None:
    h.emu.fail_next("POST", ORDER_PATH, 503)
    outcome = await h.submit("5xx-1")
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("5xx-1"): 1}
    assert h.order_posts() == [503, 200]
    # Before the resend the venue was asked, lookup_attempts (2) times, and said "not found",
    # then once more after its request window (executor.resend_after_s) had passed.
    statuses = [(m, s) for m, p, s in h.emu.requests if p == ORDER_PATH]
    assert statuses == [("POST", 503), ("GET", 400), ("GET", 400), ("GET", 400), ("POST", 200)]
    assert h.position() == h.venue_held(cid("5xx-1")) == D("0.00999")


async def test_500_internal_error_on_place_is_ambiguous_too(h: Harness) -> None:
    # {"code":-1001} with HTTP 500: ccxt's OperationFailed, outside NetworkError.
    h.emu.fail_next("POST", ORDER_PATH, 500)
    outcome = await h.submit("500-1")
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("500-1"): 1}
    assert h.order_posts() == [500, 200]


async def test_429_with_retry_after_is_honoured_then_succeeds(h: Harness) -> None:
    h.emu.fail_next("POST", ORDER_PATH, 429, retry_after=2)
    before = h.clock.now()
    outcome = await h.submit("429-1")
    waited = (h.clock.now() - before).total_seconds()
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert waited >= 2.0  # the venue's Retry-After, not the 10 ms backoff
    assert h.order_posts() == [429, 200]
    # A 429 is an answer (nothing was placed): no lookup before the resend.
    assert [m for m, p, _ in h.emu.requests if p == ORDER_PATH] == ["POST", "POST"]
    assert h.emu.client_order_id_counts() == {cid("429-1"): 1}


async def test_418_ban_is_backed_off_then_succeeds(h: Harness) -> None:
    h.emu.fail_next("POST", ORDER_PATH, 418, retry_after=5)
    before = h.clock.now()
    outcome = await h.submit("418-1")
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert (h.clock.now() - before).total_seconds() >= 5.0
    assert h.order_posts() == [418, 200]
    assert h.emu.client_order_id_counts() == {cid("418-1"): 1}


async def test_418_retry_after_beyond_the_submit_deadline_gives_up_within_the_deadline(h: Harness) -> None:
    h.emu.fail_next("POST", ORDER_PATH, 418, retry_after=600)
    before = h.clock.now()
    outcome = await h.submit("418-2")
    waited = (h.clock.now() - before).total_seconds()
    assert outcome.order is not None
    assert waited <= h.engine.config.executor.submit_deadline_s
    assert h.order_posts() == [418]  # nothing sent into an active ban


async def test_dropped_connection_after_the_venue_processed_is_adopted(h: Harness) -> None:
    h.emu.drop_next("POST", ORDER_PATH, after_processing=True)
    outcome = await h.submit("drop-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.1"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    assert h.emu.client_order_id_counts() == {cid("drop-1"): 1}
    statuses = [(m, s) for m, p, s in h.emu.requests if p == ORDER_PATH]
    assert statuses[0] == ("POST", 200) and statuses[1] == ("GET", 200)
    assert [m for m, _ in statuses].count("POST") == 1


async def test_dropped_connection_before_the_venue_processed_is_resent_once(h: Harness) -> None:
    h.emu.drop_next("POST", ORDER_PATH, after_processing=False)
    outcome = await h.submit("drop-2")
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("drop-2"): 1}
    assert h.order_posts() == [0, 200]  # 0: the connection closed without an answer
    assert h.position() == D("0.00999")  # 0.01 less 0.00001 BTC commission


async def test_lookup_that_cannot_be_answered_leaves_the_order_unresolved_then_adopted(h: Harness) -> None:
    h.emu.drop_next("POST", ORDER_PATH, after_processing=True)
    h.emu.fail_next("GET", ORDER_PATH, 503, count=2)  # the lookups: no answer either
    outcome = await h.submit("unres-1")
    order = outcome.order
    assert order is not None and order.status is S.SUBMITTED  # never assumed failed
    assert any(l["event"] == "order_unresolved" for l in h.audit("unres-1"))
    await h.advance(0.1)  # the reconciler asks again; now the venue answers
    assert status(order) is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("unres-1"): 1}
    assert h.position() == D("0.00999")  # 0.01 less 0.00001 BTC commission


async def test_a_venue_clock_behind_ours_costs_one_resync_not_the_breaker(make_harness: Any) -> None:
    # As shipped: 5 sends per order, and 5 consecutive failures open the breaker.
    h: Harness = await make_harness(guarded=True, executor={"max_attempts": 5})
    h.emu.set_clock_offset(-5000)  # the venue's clock 5 s behind ours: -1021 on every request
    outcome = await h.submit("clock-1")
    order = outcome.order
    assert order is not None and status(order) is S.FILLED
    # The first signed request meets the -1021 and is resynced and retried: the placement
    # (refused once, then placed) or, as the risk manager reads the balance first, that read.
    assert h.order_posts() in ([400, 200], [200])
    assert h.emu.client_order_id_counts() == {cid("clock-1"): 1}
    guarded = h.engine.venues["binance"]
    assert isinstance(guarded, GuardedVenue) and guarded.breaker.state is BreakerState.CLOSED
    [resynced] = [l for l in h.audit() if l["event"] == "venue_clock_resynced"]
    assert 4000 < resynced["offset_ms"] < 6000 and resynced["venue"] == "binance"
    assert "ordergate_venue_clock_resyncs_total{venue=\"binance\"} 1.0" in h.engine.metrics.render()


async def test_same_signal_twice_is_sent_once(h: Harness) -> None:
    first = await h.submit("twice-1")
    second = await h.submit("twice-1")
    assert first.admitted and not second.admitted and second.code is R.DUPLICATE_SIGNAL
    assert h.emu.client_order_id_counts() == {cid("twice-1"): 1}
    assert h.position() == D("0.00999")  # 0.01 less 0.00001 BTC commission


# ---------------------------------------------------------------- the venue says no


async def test_venue_filter_failure_is_rejected_and_audited(h: Harness) -> None:
    # The venue tightened its lot after the engine loaded the markets: LOT_SIZE at the venue.
    h.emu.add_symbol(replace(DEFAULT_SYMBOLS[0], step_size=D("0.001"), min_qty=D("0.001")))
    outcome = await h.submit("lot-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.01234"))
    order = outcome.order
    assert order is not None and order.status is S.REJECTED
    assert h.order_posts() == [400]  # sent once, not retried
    assert h.emu.orders == []
    audit = h.audit("lot-1")
    assert audit[0]["event"] == "signal_received"
    rejected = [l for l in audit if l["event"] == "order_transition" and l["decision"] == "REJECTED"]
    assert len(rejected) == 1 and "LOT_SIZE" in rejected[0]["reason"]
    assert rejected[0]["client_order_id"] == cid("lot-1")
    assert h.position() == 0


async def test_an_order_beyond_the_free_balance_is_refused_before_it_is_sent(h: Harness) -> None:
    h.emu.set_balance("USDT", "10")
    outcome = await h.submit("poor-0")
    assert outcome.code is R.INSUFFICIENT_EQUITY and "USDT equity 10" in outcome.reason
    assert h.order_posts() == []


async def test_a_changed_tick_rejects_one_order_then_the_next_is_rounded_to_it(make_harness: Any) -> None:
    h: Harness = await make_harness(guarded=True)
    # The venue coarsens BTCUSDT's tick from 0.01 to 0.10 while the engine runs.
    h.emu.set_filters("BTCUSDT", tick_size="0.10", min_price="0.10")
    first = await h.submit("tick-1", order_type="limit", limit_price=D("50001.05"), quantity=D("0.01"))
    assert first.order is not None and status(first.order) is S.REJECTED
    assert "PRICE_FILTER" in first.order.transitions[-1].reason
    second = await h.submit("tick-2", order_type="limit", limit_price=D("50001.05"), quantity=D("0.01"))
    order = second.order
    assert second.admitted and order is not None
    assert order.price == D("50001.00")  # a buy rounded down to the new tick
    assert status(order) is S.FILLED and h.position() == D("0.00999")
    assert h.order_posts() == [400, 200]
    [changed] = [l for l in h.audit() if l["event"] == "instrument_rules_changed"]
    assert (D(changed["old_tick_size"]), D(changed["new_tick_size"])) == (D("0.01"), D("0.1"))
    assert changed["symbol"] == BTC and "PRICE_FILTER" in changed["why"]
    assert 'ordergate_instrument_rules_changes_total{venue="binance"} 1.0' in h.engine.metrics.render()
    instrument = h.engine.market.instrument("binance", BTC)
    assert instrument is not None and instrument.tick_size == D("0.1")


async def test_the_scheduled_refresh_announces_every_symbol_whose_rules_changed(make_harness: Any) -> None:
    h: Harness = await make_harness(guarded=True, venue={"instruments_refresh_s": 600})
    h.emu.set_filters("ETHUSDT", step_size="0.001", min_qty="0.001", min_notional="10")
    await h.advance(601)
    [changed] = [l for l in h.audit() if l["event"] == "instrument_rules_changed"]
    assert changed["symbol"] == "ETH/USDT" and "scheduled refresh" in changed["why"]
    assert (D(changed["old_lot_size"]), D(changed["new_lot_size"])) == (D("0.0001"), D("0.001"))
    assert D(changed["new_min_notional"]) == 10
    eth = h.engine.market.instrument("binance", "ETH/USDT")
    assert eth is not None and eth.lot_size == D("0.001")
    await h.advance(601)  # nothing changed since: nothing announced
    assert len([l for l in h.audit() if l["event"] == "instrument_rules_changed"]) == 1


async def test_insufficient_balance_is_rejected_not_retried(h: Harness) -> None:
    # The balance moves at the venue after the engine last read it (its equity is cached
    # for a few seconds): the risk manager admits, the venue refuses.
    assert await h.engine.market.equity("main", "binance", "USDT")
    h.emu.set_balance("USDT", "10")
    outcome = await h.submit("poor-1")
    order = outcome.order
    assert order is not None and order.status is S.REJECTED
    assert h.order_posts() == [400]
    assert h.emu.orders == []
    reasons = [l["reason"] for l in h.audit("poor-1")
               if l["event"] == "order_transition" and l["decision"] == "REJECTED"]
    assert len(reasons) == 1 and "insufficient balance" in reasons[0]
    assert h.engine.summary.counts["orders_rejected"] == 1


# ---------------------------------------------------------------- fills


async def test_market_order_filling_in_several_trades(h: Harness) -> None:
    outcome = await h.submit("mkt-1", quantity=D("0.7"))
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    venue_order = h.emu.orders_by_client_id(cid("mkt-1"))[0]
    trades = h.emu.trades_of(venue_order)
    assert [(t.price, t.qty) for t in trades] == [(D("50001"), D("0.5")), (D("50002"), D("0.2"))]
    # Fills keyed by the venue's trade IDs, in the journal and the audit log.
    fills = h.engine.journal.fills(cid("mkt-1"))
    assert sorted(f["trade_id"] for f in fills) == sorted(str(t.trade_id) for t in trades)
    fill_lines = [l for l in h.audit("mkt-1") if l["event"] == "fill"]
    assert sorted(l["trade_id"] for l in fill_lines) == sorted(str(t.trade_id) for t in trades)
    assert [l["decision"] for l in fill_lines] == ["partial_fill", "fill"]
    # Position = sum of fills less the BTC commission (what the account holds); average price exact.
    assert h.position() == sum((t.qty - t.commission for t in trades), D(0)) == D("0.6993")
    assert order.average_price == D("35000.9") / D("0.7")
    assert isinstance(order.average_price, Decimal)
    assert order.fees == {"BTC": D("0.0007")}  # commission in BTC, exact
    assert order.venue_order_id == str(venue_order.order_id)
    # A later poll sees the same trades again and counts nothing twice.
    h.engine.reconciler.follow(h.venue, order)
    await h.advance(0.1)
    assert h.position() == D("0.6993") and len(h.engine.journal.fills(cid("mkt-1"))) == 2


async def test_two_symbols_with_the_same_trade_id_are_two_fills(h: Harness) -> None:
    # Binance numbers trades per symbol: BTCUSDT's first trades and ETHUSDT's first trade
    # are trade 1 at the venue, and each is a fill of its own.
    btc = await h.submit("sym-1", quantity=D("0.7"))
    eth = await h.submit("sym-2", symbol="ETH/USDT", quantity=D("1"))
    assert btc.order is not None and eth.order is not None
    [btc_order] = h.emu.orders_by_client_id(cid("sym-1"))
    [eth_order] = h.emu.orders_by_client_id(cid("sym-2"))
    assert ([t.trade_id for t in h.emu.trades_of(btc_order)],
            [t.trade_id for t in h.emu.trades_of(eth_order)]) == ([1, 2], [1])
    assert status(eth.order) is S.FILLED and status(btc.order) is S.FILLED
    assert sorted((f["symbol"], f["trade_id"]) for f in h.engine.journal.fills()) == [
        ("BTC/USDT", "1"), ("BTC/USDT", "2"), ("ETH/USDT", "1")]
    assert h.engine.positions.quantity(ACCOUNT, "binance", "ETH/USDT") == D("0.999")
    assert h.position() == D("0.6993")
    fill_lines = [(l["symbol"], l["trade_id"]) for l in h.audit() if l["event"] == "fill"]
    assert sorted(fill_lines) == [("BTC/USDT", "1"), ("BTC/USDT", "2"), ("ETH/USDT", "1")]


async def test_an_order_filled_in_more_trades_than_a_page_reaches_its_filled_quantity(h: Harness) -> None:
    # 1100 trades: more than Binance's myTrades default page (500) and its maximum (1000).
    h.emu.set_book("BTCUSDT", [(D("49999"), D("1"))],
                   [(D(50001 + i), D("0.001")) for i in range(1100)])
    outcome = await h.submit("many-1", quantity=D("1.1"))
    order = outcome.order
    assert order is not None and status(order) is S.FILLED
    assert order.filled_quantity == D("1.1") and len(h.engine.journal.fills(cid("many-1"))) == 1100
    assert h.position() == h.venue_held(cid("many-1")) == D("1.1") - D("0.0011")


async def test_market_sell_out_of_liquidity_expires_with_its_partial_fill(h: Harness) -> None:
    h.emu.set_book("BTCUSDT", [(D("49999"), D("0.1")), (D("49998"), D("0.1"))], [(D("50001"), D("1"))])
    outcome = await h.submit("mkt-2", side="sell", quantity=D("0.5"))
    order = outcome.order
    assert order is not None and order.status is S.EXPIRED
    assert order.filled_quantity == D("0.2")
    assert h.position() == D("-0.2") == -h.venue_filled(cid("mkt-2"))
    assert order.average_price == (D("49999") * D("0.1") + D("49998") * D("0.1")) / D("0.2")


async def test_resting_limit_order_filled_later_is_picked_up_by_polling(h: Harness) -> None:
    outcome = await h.submit("rest-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.3"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    assert h.engine.reconciler.followed_count == 1
    await h.advance(0.1)
    assert status(order) is S.ACCEPTED and h.position() == 0
    h.emu.trade_against_resting("BTCUSDT", "49400.00", "0.3")
    assert status(order) is S.ACCEPTED  # the engine has not looked yet
    await h.advance(0.1)
    assert status(order) is S.FILLED
    assert h.position() == D("0.2997") and order.average_price == D("49500")
    assert h.engine.reconciler.followed_count == 0
    fill_lines = [l for l in h.audit("rest-1") if l["event"] == "fill"]
    assert len(fill_lines) == 1 and "MAKER" in fill_lines[0]["reason"].upper()


async def test_partial_fill_then_remainder_cancelled_at_the_fill_timeout(h: Harness) -> None:
    outcome = await h.submit("part-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.3"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    h.emu.trade_against_resting("BTCUSDT", "49500.00", "0.1")
    await h.advance(0.1)
    assert status(order) is S.PARTIALLY_FILLED and h.position() == D("0.0999")
    assert not any(m == "DELETE" for m, _, _ in h.emu.requests)
    await h.advance(5.0)  # past fill_timeout_s
    assert status(order) is S.CANCELLED
    venue_order = h.emu.orders_by_client_id(cid("part-1"))[0]
    assert venue_order.status == "CANCELED" and venue_order.executed_qty == D("0.1")
    assert ("DELETE", ORDER_PATH, 200) in h.emu.requests
    assert h.emu.balances()["USDT"][1] == 0  # nothing left locked at the venue
    assert h.position() == D("0.0999") == h.venue_held(cid("part-1"))
    audit = h.audit("part-1")
    decisions = [l["decision"] for l in audit if l["event"] == "order_transition"]
    assert decisions == ["SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "CANCEL_PENDING", "CANCELLED"]
    # Cancelled is final: later polls change nothing.
    await h.advance(1.0)
    assert status(order) is S.CANCELLED and h.emu.client_order_id_counts() == {cid("part-1"): 1}


async def test_remainder_policy_leave_keeps_the_order_working(make_harness: Any) -> None:
    h: Harness = await make_harness(reconciler={"remainder_policy": "leave"})
    outcome = await h.submit("leave-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.3"))
    order = outcome.order
    assert order is not None
    await h.advance(6.0)
    assert status(order) is S.ACCEPTED
    assert not any(m == "DELETE" for m, _, _ in h.emu.requests)
    assert h.emu.orders_by_client_id(cid("leave-1"))[0].status == "NEW"


# ---------------------------------------------------------------- rounding at the edges


async def test_buy_price_off_tick_is_rounded_down_and_quantity_truncated(h: Harness) -> None:
    outcome = await h.submit("round-1", order_type="limit", limit_price=D("49500.009"),
                             quantity=D("0.0123459"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    sent = h.emu.orders_by_client_id(cid("round-1"))[0]
    assert sent.price == D("49500.00") and sent.orig_qty == D("0.01234")
    assert (order.price, order.quantity) == (D("49500.00"), D("0.01234"))


async def test_sell_price_off_tick_is_rounded_up(h: Harness) -> None:
    outcome = await h.submit("round-2", side="sell", order_type="limit", limit_price=D("50500.001"),
                             quantity=D("0.01"))
    assert outcome.order is not None and outcome.order.status is S.ACCEPTED
    sent = h.emu.orders_by_client_id(cid("round-2"))[0]
    assert sent.price == D("50500.01") and sent.side == "SELL"


async def test_quantity_below_min_notional_after_truncation_is_denied_before_sending(h: Harness) -> None:
    # 0.000109 x 49000 = 5.34 before rounding; truncated to 0.00010 it is 4.90 < 5.
    outcome = await h.submit("tiny-1", order_type="limit", limit_price=D("49000.00"), quantity=D("0.000109"))
    assert not outcome.admitted and outcome.code is R.BELOW_MIN_NOTIONAL
    assert outcome.handler == "executor"
    assert h.order_posts() == [] and h.emu.orders == []
    denied = [l for l in h.audit("tiny-1") if l["event"] == "handler_verdict" and l["decision"] == "deny"]
    assert [l["code"] for l in denied] == ["BELOW_MIN_NOTIONAL"]
    # No order intent was journaled either.
    assert h.engine.journal.order_status(cid("tiny-1")) is None


async def test_market_order_below_min_notional_is_denied_before_sending(h: Harness) -> None:
    outcome = await h.submit("tiny-2", quantity=D("0.00009"))  # 0.00009 x 50000 = 4.5
    assert not outcome.admitted and outcome.code is R.BELOW_MIN_NOTIONAL
    assert h.order_posts() == []


async def test_quantity_below_one_lot_is_denied_before_sending(h: Harness) -> None:
    # The instrument's minimum is one lot (0.00001): 0.000009 truncates to zero.
    outcome = await h.submit("tiny-3", quantity=D("0.000009"))
    assert not outcome.admitted
    assert outcome.code in (R.QUANTITY_OUT_OF_LIMITS, R.BELOW_MIN_QUANTITY)
    assert h.order_posts() == []


async def test_exactly_the_min_notional_is_sent(h: Harness) -> None:
    outcome = await h.submit("edge-1", order_type="limit", limit_price=D("50000.00"), quantity=D("0.0001"))
    assert outcome.admitted and outcome.order is not None
    assert outcome.order.status is S.ACCEPTED  # 0.0001 x 50000.00 = 5.00: not below
    assert h.order_posts() == [200]


async def test_price_within_one_tick_of_the_band_is_rounded_not_refused(h: Harness) -> None:
    # A buy rounded down can only move away from the touch: it never crosses by rounding.
    outcome = await h.submit("edge-2", order_type="limit", limit_price=D("50000.999"), quantity=D("0.001"))
    assert outcome.order is not None and outcome.order.price == D("50000.99")
    sent = h.emu.orders_by_client_id(cid("edge-2"))[0]
    assert sent.price == D("50000.99") and sent.status == "NEW"  # below the 50001 ask: rests


# ---------------------------------------------------------------- reconciler races and gaps


async def test_fills_unreadable_at_first_are_picked_up_by_the_next_poll(h: Harness) -> None:
    h.emu.fail_next("GET", "/api/v3/myTrades", 503)
    outcome = await h.submit("gap-1", quantity=D("0.7"))
    order = outcome.order
    assert order is not None
    # The venue says FILLED but the engine has not seen the trades: it does not close the order.
    assert status(order) is not S.FILLED and h.position() == 0
    assert h.engine.reconciler.followed_count == 1
    await h.advance(0.1)
    assert status(order) is S.FILLED
    assert h.position() == D("0.6993") == h.venue_held(cid("gap-1"))
    assert len(h.engine.journal.fills(cid("gap-1"))) == 2


async def test_fill_racing_the_timeout_cancel_is_counted(h: Harness) -> None:
    outcome = await h.submit("race-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.3"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    # The cancel is held up on its way; meanwhile the order fills completely.
    h.emu.delay_next("DELETE", ORDER_PATH, 0.3, after_processing=False)

    async def fill_meanwhile() -> None:
        await asyncio.sleep(0.1)
        h.emu.trade_against_resting("BTCUSDT", "49500.00", "0.3")

    filler = asyncio.create_task(fill_meanwhile())
    await h.advance(5.0)  # at the fill timeout: the reconciler cancels
    await filler
    # The venue answered the cancel "unknown order" (-2011): the order had filled.
    assert ("DELETE", ORDER_PATH, 400) in h.emu.requests
    assert status(order) is S.FILLED
    assert h.position() == D("0.2997") == h.venue_held(cid("race-1"))
    decisions = [l["decision"] for l in h.audit("race-1") if l["event"] == "order_transition"]
    assert decisions[-2:] == ["CANCEL_PENDING", "FILLED"]


async def test_cancel_lost_to_a_5xx_is_retried_at_the_next_poll(h: Harness) -> None:
    outcome = await h.submit("cxl-1", order_type="limit", limit_price=D("49500.00"), quantity=D("0.3"))
    order = outcome.order
    assert order is not None
    h.emu.fail_next("DELETE", ORDER_PATH, 503)
    await h.advance(5.0)
    assert status(order) is S.CANCEL_PENDING
    assert h.emu.orders_by_client_id(cid("cxl-1"))[0].status == "NEW"
    await h.advance(0.1)
    assert status(order) is S.CANCELLED
    assert h.emu.orders_by_client_id(cid("cxl-1"))[0].status == "CANCELED"
    deletes = [s for m, p, s in h.emu.requests if m == "DELETE" and p == ORDER_PATH]
    assert deletes == [503, 200]


async def test_slippage_beyond_tolerance_is_audited(h: Harness) -> None:
    # A thin book: the second level is 4% away from the first.
    h.emu.set_book("BTCUSDT", [(D("49999"), D("1"))], [(D("50001"), D("0.1")), (D("52000"), D("1"))])
    outcome = await h.submit("slip-1", quantity=D("0.5"))
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    average = (D("50001") * D("0.1") + D("52000") * D("0.4")) / D("0.5")
    assert order.average_price == average
    lines = [l for l in h.audit("slip-1") if l["event"] == "slippage_exceeded"]
    assert len(lines) == 1
    reference = (D("49999") + D("50001")) / 2  # the mid when the signal arrived
    assert D(lines[0]["slippage"]) == ((average - reference) / reference).quantize(D("0.000001"))


# ---------------------------------------------------------------- more of the venue's answers


async def test_persistent_5xx_fails_the_order_with_nothing_at_the_venue(h: Harness) -> None:
    h.emu.fail_next("POST", ORDER_PATH, 503, count=10)
    outcome = await h.submit("down-1")
    order = outcome.order
    assert order is not None and order.status is S.FAILED
    # Each resend first waits out the venue's 10 s request window, so the 30 s submit
    # deadline, not max_attempts (4), ends it after 3 sends.
    assert h.order_posts() == [503] * 3
    # Each ambiguous 503 was looked up before the next send, including the last one:
    # lookup_attempts times, plus once after the request window.
    gets = [s for m, p, s in h.emu.requests if m == "GET" and p == ORDER_PATH]
    assert gets == [400] * (3 * (h.engine.config.executor.lookup_attempts + 1))
    assert h.emu.client_order_id_counts() == {}
    assert "3 attempt" in order.transitions[-1].reason


async def test_ioc_limit_takes_what_crosses_and_the_rest_expires(h: Harness) -> None:
    outcome = await h.submit("ioc-1", order_type="limit", limit_price=D("50001.00"), quantity=D("0.8"),
                             time_in_force="IOC")
    order = outcome.order
    assert order is not None and order.status is S.EXPIRED
    assert order.filled_quantity == D("0.5") and h.position() == D("0.4995")
    assert h.engine.reconciler.followed_count == 0  # terminal: nothing left to follow


async def test_fok_limit_without_enough_liquidity_expires_unfilled(h: Harness) -> None:
    outcome = await h.submit("fok-1", order_type="limit", limit_price=D("50001.00"), quantity=D("0.8"),
                             time_in_force="FOK")
    order = outcome.order
    assert order is not None and order.status is S.EXPIRED
    assert order.filled_quantity == 0 and h.position() == 0
    assert h.emu.trades == []


async def test_crossing_limit_fills_part_then_the_rest_later(h: Harness) -> None:
    outcome = await h.submit("cross-1", order_type="limit", limit_price=D("50001.00"), quantity=D("0.8"))
    order = outcome.order
    assert order is not None and order.status is S.PARTIALLY_FILLED
    assert h.position() == D("0.4995")
    # A new book whose ask reaches the resting remainder: it fills as maker at its limit.
    h.emu.set_book("BTCUSDT", [(D("49999"), D("1"))], [(D("50000.50"), D("2"))])
    await h.advance(0.1)
    assert status(order) is S.FILLED and h.position() == D("0.7992") == h.venue_held(cid("cross-1"))
    assert order.average_price == D("50001")  # 0.5 taken at 50001, 0.3 filled at its own limit


async def test_signal_without_quantity_is_sized_from_the_venue_balance(h: Harness) -> None:
    # 2% of 1 000 000 USDT over a 2% default stop (1000) is 20 BTC; the 100 000 notional cap
    # brings it down to 2 BTC, which walks three levels of the book.
    outcome = await h.submit("size-1", quantity=None)
    order = outcome.order
    assert order is not None and order.quantity == D("2.00000")
    assert status(order) is S.FILLED
    assert h.position() == D("1.998") == h.venue_held(cid("size-1"))
    assert len(h.engine.journal.fills(cid("size-1"))) == 3


async def test_market_sell_at_the_min_notional_by_mid_is_rejected_cleanly_by_the_venue(h: Harness) -> None:
    # 0.0001 x mid 50000 = 5.00 passes the engine's check; the venue checks a market sell at
    # the bid (49999): 4.9999 < 5. The engine checks market orders against the mid, so this
    # edge reaches the venue; what matters is that it ends cleanly: one refusal, no retry.
    outcome = await h.submit("edge-3", side="sell", quantity=D("0.0001"))
    order = outcome.order
    assert order is not None and order.status is S.REJECTED
    assert "NOTIONAL" in order.transitions[-1].reason
    assert h.order_posts() == [400] and h.emu.orders == []


async def test_fees_in_base_and_quote_currency_are_not_added_together(make_harness: Any) -> None:
    h: Harness = await make_harness()
    buy = await h.submit("fee-1", quantity=D("0.7"))    # 0.0005 BTC @ 50001 + 0.0002 BTC @ 50002
    sell = await h.submit("fee-2", side="sell", quantity=D("0.2"))  # 9.9998 USDT @ 49999
    assert buy.order is not None and sell.order is not None
    fills = h.engine.journal.fills()
    assert sorted((D(f["fee"]), f["fee_currency"]) for f in fills) == [
        (D("0.0002"), "BTC"), (D("0.0005"), "BTC"), (D("9.9998"), "USDT")]
    fees = h.engine.summary.as_dict(h.engine.positions, 0)["fees"]
    in_quote = D("0.0005") * D("50001") + D("0.0002") * D("50002") + D("9.9998")  # 45.0007 USDT
    per_currency = {"BTC": D("0.0007"), "USDT": D("9.9998")}
    if isinstance(fees, dict):
        assert {k: D(v) for k, v in fees.items()} == per_currency
    else:
        assert D(fees) == in_quote, f"fees {fees} mixes BTC and USDT"


async def test_reducing_closes_what_the_account_holds_after_base_asset_commission(make_harness: Any) -> None:
    h: Harness = await make_harness()
    h.emu.set_balance("BTC", "0")
    buy = await h.submit("hold-1", quantity=D("0.7"))
    assert buy.order is not None and buy.order.status is S.FILLED
    assert h.emu.balances()["BTC"] == (D("0.6993"), D("0"))
    h.engine.set_trading_state("REDUCING", "test")
    close = await h.submit("close-1", side="sell", quantity=None)
    assert close.order is not None
    assert close.order.status is S.FILLED, close.order.transitions[-1].reason
    assert h.emu.balances()["BTC"][0] < D("0.00001")  # flat at the venue too


async def _replay_signed_order(emu: BinanceEmulator, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST /api/v3/order signed like ccxt does: what a request held up on the way (a slow
    proxy, a congested gateway) looks like when it finally reaches the venue."""
    import aiohttp

    body = urlencode(params)
    signature = hmac.new(DEFAULT_API_SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
    async with aiohttp.ClientSession() as session, session.post(
            f"{emu.base_url}{ORDER_PATH}", data=f"{body}&signature={signature}",
            headers={"X-MBX-APIKEY": DEFAULT_API_KEY,
                     "Content-Type": "application/x-www-form-urlencoded"}) as response:
        return response.status, await response.json()


async def _late_original(h: Harness, signal_id: str, *, window_ms: int, skew_ms: int,
                         arrives_after_s: float) -> tuple[Outcome, int, dict[str, Any]]:
    """Submit while the first POST is lost on its way, then deliver that first request
    `arrives_after_s` later, as signed at the send: `window_ms` is its recvWindow and
    `skew_ms` how far the sender's clock is ahead of the venue's (Binance accepts a
    timestamp up to 1000 ms ahead of its own time)."""
    h.emu.drop_next("POST", ORDER_PATH, after_processing=False)
    sent_ms = int(datetime.now(UTC).timestamp() * 1000) + skew_ms
    submit = asyncio.create_task(h.submit(signal_id))
    await asyncio.sleep(arrives_after_s)
    status, answer = await _replay_signed_order(h.emu, {
        "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
        "newClientOrderId": cid(signal_id), "newOrderRespType": "FULL",
        "recvWindow": str(window_ms), "timestamp": str(sent_ms)})
    outcome = await submit
    if status == 200:  # the venue executed the late original: let the engine look again
        await h.advance(0.1)
    return outcome, status, answer


async def test_original_send_landing_after_the_resend_does_not_duplicate(make_harness: Any) -> None:
    # Scaled down from the shipped pairing (resend_after_s 10 s, ccxt's recvWindow 10 s)
    # to 2 s / 2000 ms so the test stays fast: the original lands 1.2 s after the send.
    h: Harness = await make_harness(
        clock=WallClock(), executor={"backoff_base_s": 0.2, "lookup_attempts": 3,
                                     "jitter_seed": 1, "resend_after_s": 2.0})
    outcome, status, answer = await _late_original(h, "late-1", window_ms=2000, skew_ms=0,
                                                   arrives_after_s=1.2)
    assert outcome.order is not None and status == 200
    assert h.emu.client_order_id_counts() == {cid("late-1"): 1}, answer
    assert h.venue_held(cid("late-1")) == h.position() == D("0.00999")
    assert outcome.order.status is S.FILLED


async def test_original_arriving_after_its_request_window_is_refused_and_one_resend_fills(make_harness: Any) -> None:
    h: Harness = await make_harness(
        clock=WallClock(), executor={"backoff_base_s": 0.05, "lookup_attempts": 2,
                                     "jitter_seed": 1, "resend_after_s": 1.0})
    outcome, status, answer = await _late_original(h, "late-2", window_ms=1000, skew_ms=0,
                                                   arrives_after_s=1.3)
    assert status == 400 and answer["code"] == -1021  # outside its recvWindow: refused
    assert outcome.order is not None and outcome.order.status is S.FILLED
    assert h.emu.client_order_id_counts() == {cid("late-2"): 1}
    assert h.position() == D("0.00999")  # 0.01 less 0.00001 BTC commission


async def test_resend_waits_out_the_request_window_plus_the_allowed_clock_skew(make_harness: Any) -> None:
    # Shipped pairing, scaled down: resend_after_s 2 s (+ the default 1 s clock-skew margin),
    # recvWindow 2000 ms; the venue's clock is 0.9 s behind ours (inside Binance's 1000 ms
    # tolerance); the original lands at 2.5 s, before the resend at 3 s.
    h: Harness = await make_harness(
        clock=WallClock(), executor={"backoff_base_s": 0.05, "lookup_attempts": 2,
                                     "jitter_seed": 1, "resend_after_s": 2.0})
    outcome, _, answer = await _late_original(h, "late-3", window_ms=2000, skew_ms=900,
                                                   arrives_after_s=2.5)
    assert outcome.order is not None
    assert h.emu.client_order_id_counts() == {cid("late-3"): 1}, answer
    assert h.venue_held(cid("late-3")) == h.position() == D("0.00999")


# ---------------------------------------------------------------- post-only


async def test_a_post_only_buy_at_the_ask_is_rejected_by_binance_with_its_code_sent_once(h: Harness) -> None:
    outcome = await h.submit("po-take", order_type="limit", limit_price=D("50001.00"),
                             post_only=True)
    order = outcome.order
    assert order is not None and order.status is S.REJECTED
    for _ in range(5):  # the reconciler's rounds send nothing more
        await h.advance(1)
    assert h.order_posts() == [400], "one LIMIT_MAKER request, refused, never resent"
    assert h.emu.orders_by_client_id(cid("po-take")) == [] and h.position() == 0
    (rejected,) = [l for l in h.audit("po-take") if l.get("decision") == "REJECTED"]
    assert rejected["code"] == "POST_ONLY_WOULD_TAKE"
    assert "Order would immediately match and take" in rejected["reason"]


async def test_a_post_only_order_rests_at_binance_as_limit_maker_and_fills_as_maker(h: Harness) -> None:
    outcome = await h.submit("po-rest", order_type="limit", limit_price=D("49500.00"),
                             quantity=D("0.3"), post_only=True)
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    (sent,) = h.emu.orders_by_client_id(cid("po-rest"))
    assert sent.type == "LIMIT_MAKER"
    h.emu.trade_against_resting("BTCUSDT", "49400.00", "0.3")
    await h.advance(0.1)
    assert status(order) is S.FILLED and order.average_price == D("49500")
    fills = h.engine.ledger.journal.fills(order.client_order_id)
    assert [f["liquidity"] for f in fills] == ["maker"]


# ---------------------------------------------------------------- stop orders
# The emulator's book is 49999.00 / 50001.00: the engine's reference (the mid) is 50000.


async def test_a_buy_stop_rests_at_binance_as_stop_loss_and_buys_at_market_once_triggered(
        h: Harness) -> None:
    outcome = await h.submit("st-rest", order_type="stop_market", trigger_price=D("50500.00"))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED
    (sent,) = h.emu.orders_by_client_id(cid("st-rest"))
    assert (sent.type, sent.stop_price, sent.working) == ("STOP_LOSS", D("50500.00"), False)
    await h.advance(1)
    assert status(order) is S.ACCEPTED and order.filled_quantity == 0
    h.emu.trade_against_resting("BTCUSDT", "50500.00", "1")  # the last price reaches it
    await h.advance(0.1)
    assert status(order) is S.FILLED and order.average_price == D("50001")
    fills = h.engine.ledger.journal.fills(order.client_order_id)
    assert [(f["price"], f["liquidity"]) for f in fills] == [("50001.00000000", "taker")]
    assert h.position() == D("0.01") - D("0.00001")  # less the commission, in BTC


async def test_a_stop_binance_finds_already_triggered_is_rejected_with_its_code_sent_once(
        h: Harness) -> None:
    # A market buy prints at 50001: Binance's last price is now above the engine's mid
    # (50000), so a buy stop at 50000.50 passes risk but would trigger at once there.
    assert (await h.submit("st-before")).order is not None
    outcome = await h.submit("st-now", order_type="stop_market", trigger_price=D("50000.50"))
    order = outcome.order
    assert order is not None and order.status is S.REJECTED
    for _ in range(5):
        await h.advance(1)
    assert h.order_posts() == [200, 400], "one stop request, refused, never resent"
    assert h.emu.orders_by_client_id(cid("st-now")) == []
    (rejected,) = [l for l in h.audit("st-now") if l.get("decision") == "REJECTED"]
    assert rejected["code"] == "STOP_WOULD_TRIGGER"
    assert "Stop price would trigger immediately" in rejected["reason"]


# ---------------------------------------------------------------- brackets on a spot account


async def test_a_spot_bracket_stop_sells_what_the_buy_delivered_net_of_the_btc_commission(
        h: Harness) -> None:
    """Binance spot takes a buy's commission out of the BTC bought: an exit sized by the
    gross fill asks to sell BTC the account does not hold and is refused for funds (found
    by the crash test's bracket plan). The exits work for the delivered quantity, to the lot."""
    h.emu.set_balance("BTC", 0)
    outcome = await h.submit("br-net", quantity=D("0.03919"), stop_loss=D("47000"),
                             take_profit=D("57000"), protect=True)
    entry = outcome.order
    assert entry is not None and status(entry) is S.FILLED
    assert h.venue_held(cid("br-net")) == D("0.03915081")  # 0.1% less, in BTC
    rows = {r["role"]: r for r in h.engine.journal.children(entry.client_order_id)}
    stop = rows["stop_loss"]
    assert (stop["status"], stop["order_type"], stop["quantity"]) == ("ACCEPTED", "stop_market", "0.03915")
    (sent,) = h.emu.orders_by_client_id(stop["client_order_id"])
    assert (sent.type, sent.orig_qty, sent.stop_price) == ("STOP_LOSS", D("0.03915"), D("47000.00"))
    # Both rest, as one OCO list (Binance locks the BTC once for it), for the same quantity.
    target = rows["take_profit"]
    assert (target["status"], target["quantity"]) == ("ACCEPTED", "0.03915")
    (resting,) = h.emu.orders_by_client_id(target["client_order_id"])
    assert resting.type == "LIMIT_MAKER"
