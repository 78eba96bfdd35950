"""Warm restart: the journal survives, the engine does not. Positions come back from the
journaled fills, unfinished orders are checked against the venue by client order ID, and
nothing is sent twice or counted twice."""

import sqlite3
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from ordergate.config import RecoverySettings
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderType
from ordergate.engine import Engine
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.faults import Fault

D = Decimal
QUOTES = [quote(0, "42000", "42010", "5"), quote(5, "41980", "41990", "0.004"),
          quote(20, "41970", "41985", "5")]


def _restart(s: Scenario, config_update: dict | None = None) -> Engine:
    """A new engine on the same journal and the same venue, as after kill -9 and restart."""
    config = s.config.model_copy(update=config_update or {})
    return Engine(config, s.clock, venues={"sim": s.venue}, journal_path=s.tmp / "journal.sqlite")


async def test_warm_restart_adopts_a_partly_filled_order_and_counts_each_fill_once(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config={"reconciler": {"fill_timeout_s": 600}}) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))
        await s.advance(5)
        assert outcome.order is not None and outcome.order.filled_quantity == D("0.004")
        client_order_id = outcome.order.client_order_id
        # crash: the first engine is abandoned, never closed
        engine = _restart(s)
        await engine.start()
        try:
            assert engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.004")
            order = engine.ledger.get(client_order_id)
            assert order is not None and order.status is S.PARTIALLY_FILLED
            s.clock.advance(16)
            await engine.tick()
            assert order.status is S.FILLED
            assert engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.010")
            assert engine.summary.counts["fills"] == 1  # only the fill after the restart is new
        finally:
            await engine.close()
    assert s.venue.orders_per_client_id == {client_order_id: 1}


async def test_fills_that_happened_while_down_are_picked_up_on_start(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES, config={"reconciler": {"fill_timeout_s": 600}}) as s:
        outcome = await s.submit(order_type="limit", limit_price=D("41990"))
        s.clock.advance(30)  # down while the market crossed the order twice
        engine = _restart(s)
        await engine.start()
        try:
            order = engine.ledger.get(outcome.order.client_order_id)
            assert order is not None and order.status is S.FILLED
            assert engine.positions.quantity("main", "sim", "BTC/USDT") == D("0.010")
        finally:
            await engine.close()


def _orphan(tmp_path, status: str = "SUBMITTED", order_type: str = "market",
            price: str | None = None, post_only: bool = False, trigger_price: str | None = None,
            side: str = "buy") -> str:
    """An order journaled as sent, whose send never happened (killed in between)."""
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:
        db.execute(
            "INSERT INTO orders (client_order_id, signal_id, strategy_id, account_id, venue,"
            " symbol, side, order_type, quantity, price, time_in_force, expected_price,"
            " expires_at, created_at, status, venue_order_id, filled_quantity, updated_at,"
            " post_only, trigger_price) VALUES ('og-orphan','sig-x','momo','main','sim',"
            "'BTC/USDT',?,?,'0.010',?,'GTC','42005',NULL,'2026-01-02T00:00:00+00:00',?,NULL,"
            "'0','2026-01-02T00:00:00+00:00',?,?)",
            (side, order_type, price, status, int(post_only), trigger_price))
    return "og-orphan"


async def _tick(engine: Engine, clock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        await engine.tick()


@asynccontextmanager
async def _restarted_with_orphan(tmp_path, update: dict | None = None, down_for_s: float = 0,
                                 **orphan):
    """A journal holding one order sent just before a kill, and an engine restarted on it
    `down_for_s` later; yields the scenario, the engine and the recovered order."""
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        pass
    client_order_id = _orphan(tmp_path, **orphan)
    s.clock.advance(down_for_s)
    engine = _restart(s, update)
    await engine.start()
    try:
        order = engine.ledger.get(client_order_id)
        assert order is not None
        yield s, engine, order
    finally:
        await engine.close()


RESUBMIT = {"recovery": RecoverySettings(absent_order_policy="resubmit", resubmit_max_age_s=120)}


async def test_an_order_the_venue_never_received_fails_once_no_request_of_it_can_land(tmp_path):
    async with _restarted_with_orphan(tmp_path) as (s, engine, order):
        # Not yet: a request sent just before the kill could still be in transit.
        assert order.status is S.SUBMITTED
        await _tick(engine, s.clock, 10)
        assert order.status is S.SUBMITTED
        await _tick(engine, s.clock, 2)  # resend_after_s 10 + clock_skew_margin_s 1 passed
        assert order.status is S.FAILED and "policy fail" in order.transitions[-1].reason
        assert s.venue.orders_per_client_id == {}


async def test_the_wait_counts_from_the_last_possible_send_not_from_each_restart(tmp_path):
    # Restarted 45 s after the order was journaled: every send of it happened within the
    # executor's 30 s deadline, so its request window closed at 41 s. Quick restarts do not
    # postpone the verdict (nor slow each start with orders that pile up).
    async with _restarted_with_orphan(tmp_path, down_for_s=45) as (s, engine, order):
        await _tick(engine, s.clock, 3)  # lookup_attempts "not found" answers, 1 s apart
        assert order.status is S.FAILED


async def test_resubmit_policy_sends_it_once_with_the_same_client_order_id(tmp_path):
    async with _restarted_with_orphan(tmp_path, RESUBMIT) as (s, engine, order):
        assert order.status is S.SUBMITTED
        assert s.venue.orders_per_client_id == {}  # nothing sent inside the request window
        await _tick(engine, s.clock, 12)
        # Sent at 11 s into a 0.004 touch: a market order takes it and the rest expires.
        assert order.status is S.EXPIRED and order.filled_quantity == D("0.004")
        assert s.venue.orders_per_client_id == {order.client_order_id: 1}


async def test_a_post_only_order_resent_after_a_restart_is_still_post_only(tmp_path):
    # Journaled as a post-only buy at 42010, the ask when it was made; resent after the
    # restart into a touch of 41990: still post-only, so the venue refuses it rather than
    # filling it as taker.
    async with _restarted_with_orphan(tmp_path, RESUBMIT, order_type="limit", price="42010",
                                      post_only=True) as (s, engine, order):
        assert order.post_only
        await _tick(engine, s.clock, 12)
        journal = engine.ledger.journal
        fills = journal.fills(order.client_order_id)
    assert order.status is S.REJECTED and fills == []
    assert order.transitions[-1].reason.startswith("POST_ONLY_WOULD_TAKE")
    assert s.venue.orders_per_client_id == {}


async def test_a_post_only_order_that_rests_after_a_restart_is_resent_once_as_post_only(tmp_path):
    sent = []
    async with _restarted_with_orphan(tmp_path, RESUBMIT, order_type="limit", price="41000",
                                      post_only=True) as (s, engine, order):
        original = s.venue.place_order

        async def spy(request):
            sent.append(request)
            return await original(request)

        s.venue.place_order = spy
        await _tick(engine, s.clock, 12)
    assert order.status is S.ACCEPTED
    assert [(r.client_order_id, r.post_only) for r in sent] == [(order.client_order_id, True)]


async def test_a_stop_resent_after_a_restart_keeps_its_trigger_and_waits_for_it(tmp_path):
    # A buy stop at 42100 journaled as sent, killed before the send: resent once after the
    # restart, still a stop at 42100, so it waits (asks 41990, 41985) instead of buying.
    sent = []
    async with _restarted_with_orphan(tmp_path, RESUBMIT, order_type="stop_market",
                                      trigger_price="42100") as (s, engine, order):
        assert (order.order_type, order.trigger_price) == (OrderType.STOP_MARKET, D("42100"))
        original = s.venue.place_order

        async def spy(request):
            sent.append(request)
            return await original(request)

        s.venue.place_order = spy
        await _tick(engine, s.clock, 25)
        fills = engine.ledger.journal.fills(order.client_order_id)
    assert [(r.order_type, r.trigger_price) for r in sent] == [(OrderType.STOP_MARKET, D("42100"))]
    assert order.status is S.ACCEPTED and fills == []


async def test_a_stop_limit_resent_after_a_restart_triggers_at_its_trigger_as_a_limit(tmp_path):
    # A sell stop at 41975, limit 41960: resent into bids of 41980 it waits; the bid of
    # 41970 at 20 s triggers it, and as a sell limit at 41960 it takes that bid.
    async with _restarted_with_orphan(tmp_path, RESUBMIT, order_type="stop_limit", side="sell",
                                      price="41960", trigger_price="41975") as (s, engine, order):
        await _tick(engine, s.clock, 12)
        assert order.status is S.ACCEPTED and order.filled_quantity == 0
        await _tick(engine, s.clock, 10)
        fills = engine.ledger.journal.fills(order.client_order_id)
    assert order.status is S.FILLED
    assert [(f["price"], f["liquidity"]) for f in fills] == [("41970", "taker")]


def _halt(s: Scenario, engine: Engine) -> None:
    engine.set_trading_state("HALTED", "operator")


def _age(s: Scenario, engine: Engine) -> None:
    s.clock.advance(200)  # down for longer than resubmit_max_age_s


@pytest.mark.parametrize("prepare, why", [(_halt, "trading state is HALTED"),
                                          (_age, "older than 120s")])
async def test_resubmit_policy_sends_nothing_while_halted_or_for_an_order_past_its_max_age(
        tmp_path, prepare, why):
    async with _restarted_with_orphan(tmp_path, RESUBMIT) as (s, engine, order):
        prepare(s, engine)
        await _tick(engine, s.clock, 12)
        assert order.status is S.FAILED
        assert f"not resent: {why}" in order.transitions[-1].reason
        assert s.venue.orders_per_client_id == {}


async def test_a_venue_that_cannot_be_asked_leaves_the_order_unresolved_not_failed(tmp_path):
    async with Scenario(tmp_path, quotes=QUOTES) as s:
        pass
    client_order_id = _orphan(tmp_path)
    s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=3)
    engine = _restart(s)
    await engine.start()
    try:
        order = engine.ledger.get(client_order_id)
        assert order is not None and order.status is S.SUBMITTED
    finally:
        await engine.close()
