"""Native amend, end to end through the `Engine`: the venue's atomic replace (the
simulated venue's; ccxt's `edit_order` against the Binance emulator's cancelReplace) for a
working leg nothing of which has filled, the explicit cancel-then-replace for one with
fills. The replacement is journaled before the one request; a fill racing the replace
makes the venue refuse it, so nothing overfills; a lost answer is resolved by looking
both legs up, never by sending again; a restart in between finishes or unwinds it.
Unhappy paths first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import RecoverySettings, config_from_mapping
from ordergate.domain.order import Order
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.domain.values import OrderRole
from ordergate.engine import Engine
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.binance_cancel_replace import PATH as CANCEL_REPLACE
from ordergate.testing.binance_emulator import DEFAULT_API_KEY, DEFAULT_API_SECRET, BinanceEmulator
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.ccxt_venue import CcxtVenue, CcxtVenueSettings
from ordergate.venues.faults import Fault

D = Decimal
RESTING = {"order_type": "limit", "limit_price": D("41900"), "stop_loss": D("40000"),
           "take_profit": D("45000")}


def _lines(s: Scenario, event: str) -> list[dict[str, Any]]:
    return [line for line in s.audit() if line["event"] == event]


def _statuses(order: Order) -> list[S]:
    return [t.to_status for t in order.transitions]


def _lineage_filled(engine: Engine, root: Order) -> Decimal:
    rows = engine.journal.children(root.client_order_id)
    return root.filled_quantity + sum((D(r["filled_quantity"]) for r in rows), D(0))


async def _tick(engine: Engine, clock: SimulatedClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        await engine.tick()


# ---------------------------------------------------------------- simulated venue: refusals


async def test_a_fill_racing_the_replace_makes_the_venue_refuse_it_and_nothing_overfills(tmp_path):
    # 0.004 fills after the engine's last look and before the replace reaches the venue:
    # the venue cancels only an order with nothing filled, so it refuses the replace.
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)  # no tick: the engine has not seen the fill
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.020"))
        assert not outcome.done and outcome.code is R.AMEND_REFUSED_BY_VENUE
        assert old.status is S.PARTIALLY_FILLED and old.filled_quantity == D("0.004")
        (new,) = s.engine.journal.children(old.client_order_id)
        assert new["status"] == "REJECTED" and new["role"] == OrderRole.AMENDMENT
        assert s.venue.orders_per_client_id.get(new["client_order_id"], 0) == 0
        assert _lineage_filled(s.engine, old) <= old.quantity
        assert [line["code"] for line in _lines(s, "order_modify_rejected")] == [
            "AMEND_REFUSED_BY_VENUE"]
        # Working again with its fill: the next amend takes the explicit path.
        again = await s.engine.amend(old.client_order_id, quantity=D("0.008"))
        assert again.done and again.order.quantity == D("0.004")
        assert S.CANCEL_PENDING in _statuses(old)


async def test_an_order_filled_before_the_replace_arrives_is_too_late(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)
        outcome = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert outcome.code is R.AMEND_TOO_LATE and old.status is S.FILLED
        assert _lineage_filled(s.engine, old) == old.quantity


async def test_a_replacement_refused_after_the_cancel_leaves_the_order_cancelled(tmp_path):
    # The account spent its USDT elsewhere after the engine last read its equity (a read
    # is cached for seconds): ordergate's risk check passes 0.5 BTC, the venue has the
    # last word. It cancels the old leg and refuses the new one.
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue._balances["main"]["USDT"] = D("1000")
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.5"))
        assert not outcome.done and outcome.code is R.AMEND_REPLACEMENT_REJECTED
        assert old.status is S.CANCELLED and old.filled_quantity == 0
        (new,) = s.engine.journal.children(old.client_order_id)
        assert new["status"] == "REJECTED"
        assert s.engine.ledger.live_orders() == [] or all(
            o.role is not OrderRole.AMENDMENT for o in s.engine.ledger.live_orders())


async def test_a_replace_lost_before_the_venue_is_never_resent_and_the_order_works_again(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue.faults.inject("replace", Fault.TIMEOUT_BEFORE_ACCEPT)
        outcome = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert outcome.done and outcome.pending
        new = outcome.order
        assert new.status is S.SUBMITTED and old.status is S.PENDING_UPDATE
        await _tick(s.engine, s.clock, 15)  # past the request window: it never landed
        assert new.status is S.FAILED and old.status is S.ACCEPTED
        assert s.venue.orders_per_client_id.get(new.client_order_id, 0) == 0
        assert _lines(s, "order_modify_rejected")[-1]["code"] == "AMEND_REFUSED_BY_VENUE"
        again = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert again.done and again.order.leg == 2 and again.order.status is S.ACCEPTED


# ---------------------------------------------------------------- simulated venue: replaced


async def test_a_new_price_replaces_the_leg_in_one_request_journaled_before_it(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        seen: list[tuple[str | None, str | None]] = []
        real = s.venue.replace_order

        async def watched(old_id: str, old_venue_id: str | None, request: Any) -> Any:
            journal = s.engine.journal
            seen.append((journal.order_status(old_id), journal.order_status(request.client_order_id)))
            return await real(old_id, old_venue_id, request)

        s.venue.replace_order = watched  # type: ignore[method-assign]
        outcome = await s.engine.amend(old.client_order_id, price=D("41950.004"))
        assert outcome.done and not outcome.pending
        new = outcome.order
        assert seen == [("PENDING_UPDATE", "SUBMITTED")], "journaled before the request"
        assert _statuses(old)[-2:] == [S.PENDING_UPDATE, S.CANCELLED]
        assert S.CANCEL_PENDING not in _statuses(old), "no separate cancel"
        assert (new.parent_id, new.role, new.leg) == (old.client_order_id, OrderRole.AMENDMENT, 1)
        assert (new.price, new.quantity, new.status) == (D("41950.00"), D("0.010"), S.ACCEPTED)
        assert s.venue.orders_per_client_id[new.client_order_id] == 1
        (updated,) = _lines(s, "order_updated")
        assert updated["new_client_order_id"] == new.client_order_id
        assert "natively" in updated["reason"]
        again = await s.engine.amend(new.client_order_id, quantity=D("0.006"))
        assert again.done and (again.order.leg, again.order.quantity) == (2, D("0.006"))
        assert new.status is S.CANCELLED and again.order.parent_id == old.client_order_id


async def test_a_leg_with_fills_is_amended_the_explicit_way(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        await s.advance(6)
        assert old.filled_quantity == D("0.004")
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.008"))
        assert outcome.done and outcome.order.quantity == D("0.004")
        assert _statuses(old)[-3:] == [S.PENDING_UPDATE, S.CANCEL_PENDING, S.CANCELLED]


async def test_a_replace_whose_answer_is_lost_is_resolved_by_looking_both_legs_up(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue.faults.inject("replace", Fault.TIMEOUT_AFTER_ACCEPT)
        outcome = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert outcome.done and not outcome.pending
        assert old.status is S.CANCELLED and outcome.order.status is S.ACCEPTED
        assert s.venue.orders_per_client_id[outcome.order.client_order_id] == 1


# ---------------------------------------------------------------- restarts


def _restart(s: Scenario, update: dict[str, Any] | None = None) -> Engine:
    config = s.config.model_copy(update=update or {})
    return Engine(config, s.clock, venues={"sim": s.venue}, journal_path=s.tmp / "journal.sqlite")


class Killed(BaseException):
    """The process dies here: nothing after it runs, nothing is closed."""


@pytest.mark.parametrize("policy", ["fail", "resubmit"])
async def test_a_restart_before_the_replace_was_sent_unwinds_it_and_never_resends(tmp_path, policy):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order

        async def killed(*_: Any) -> Any:
            raise Killed

        s.venue.replace_order = killed  # type: ignore[method-assign]
        with pytest.raises(Killed):
            await s.engine.amend(old.client_order_id, price=D("41950"))
        del s.venue.replace_order  # the venue itself is fine
        update = ({"recovery": RecoverySettings(absent_order_policy="resubmit",
                                                resubmit_max_age_s=120)}
                  if policy == "resubmit" else None)
        engine = _restart(s, update)
        await engine.start()
        try:
            old2 = engine.ledger.get(old.client_order_id)
            (row,) = engine.journal.children(old.client_order_id)
            new = engine.ledger.get(row["client_order_id"])
            assert old2 is not None and new is not None
            assert old2.status is S.PENDING_UPDATE and new.status is S.SUBMITTED
            await _tick(engine, s.clock, 15)
            assert new.status is S.FAILED, "an amendment is never resent blindly"
            assert old2.status is S.ACCEPTED and old2.price == D("41900")
            assert s.venue.orders_per_client_id.get(new.client_order_id, 0) == 0
            engine.audit.flush()
            codes = [json.loads(line).get("code") for line in
                     (s.tmp / "audit.jsonl").read_text().splitlines()
                     if '"order_modify_rejected"' in line]
            assert codes[-1] == "AMEND_INTERRUPTED"
            again = await engine.amend(old.client_order_id, price=D("41950"))
            assert again.done and again.order.status is S.ACCEPTED
        finally:
            await engine.close()


async def test_a_restart_after_the_venue_replaced_adopts_both_legs(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        real = s.venue.replace_order

        async def replaced_then_killed(*args: Any) -> Any:
            await real(*args)
            raise Killed

        s.venue.replace_order = replaced_then_killed  # type: ignore[method-assign]
        with pytest.raises(Killed):
            await s.engine.amend(old.client_order_id, price=D("41950"))
        del s.venue.replace_order
        engine = _restart(s)
        await engine.start()
        try:
            (row,) = engine.journal.children(old.client_order_id)
            new = engine.ledger.get(row["client_order_id"])
            assert engine.ledger.get(old.client_order_id).status is S.CANCELLED
            assert new is not None and new.status is S.ACCEPTED and new.price == D("41950")
            assert engine.reconciler.followed_count == 1
            assert s.venue.orders_per_client_id[new.client_order_id] == 1
        finally:
            await engine.close()


# ---------------------------------------------------------------- ccxt + the Binance emulator

KEY_ENV, SECRET_ENV = "OG_NATIVE_AMEND_KEY", "OG_NATIVE_AMEND_SECRET"
BTC = "BTC/USDT"


class Binance:
    def __init__(self, emu: BinanceEmulator, engine: Engine, clock: SimulatedClock) -> None:
        self.emu, self.engine, self.clock = emu, engine, clock

    async def rest(self, signal_id: str = "n-1") -> Order:
        signal = TradingSignalGenerated.model_validate({
            "signal_id": signal_id, "ts": self.clock.now(), "strategy_id": "it",
            "account_id": "main", "venue": "binance", "symbol": BTC, "side": "buy",
            "order_type": "limit", "limit_price": D("49000"), "quantity": D("0.03")})
        order = (await self.engine.submit(signal)).order
        assert order is not None and order.status is S.ACCEPTED
        return order

    def replaces(self) -> list[int]:
        return [status for method, path, status in self.emu.requests
                if method == "POST" and path == CANCEL_REPLACE]


@pytest.fixture
async def binance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Binance]:
    monkeypatch.setenv(KEY_ENV, DEFAULT_API_KEY)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_API_SECRET)
    async with BinanceEmulator() as emu:
        config = config_from_mapping({
            "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "lookup_attempts": 2,
                         "jitter_seed": 7},
            "reconciler": {"poll_interval_s": 0.05, "fill_timeout_s": 600},
            "reconciliation": {"cold_start": "ignore", "compare_balances": False},
            "venues": {"binance": {"kind": "ccxt", "exchange": "binance", "api_key_env": KEY_ENV,
                                   "secret_env": SECRET_ENV, "api_url": emu.base_url,
                                   "timeout_s": 0.5}},
        }, source="test")
        clock = SimulatedClock(datetime.now(UTC))
        settings = CcxtVenueSettings.model_validate(
            {"name": "binance", **config.venues["binance"].adapter_fields()})
        venue = CcxtVenue(settings, clock)
        venue._exchange.enableRateLimit = False
        engine = Engine(config, clock, venues={"binance": venue},
                        journal_path=tmp_path / "journal.sqlite",
                        audit_path=tmp_path / "audit.jsonl")
        await engine.start()
        try:
            yield Binance(emu, engine, clock)
        finally:
            await engine.close()


async def test_binance_a_fill_racing_the_cancel_replace_is_refused_and_nothing_overfills(binance):
    old = await binance.rest()
    # Another participant trades 0.01 against the order just before the cancelReplace
    # reaches the matching engine.
    binance.emu.cancel_replace.before_next(
        lambda: binance.emu.market.trade_against_resting("BTCUSDT", D("49000"), D("0.01")))
    outcome = await binance.engine.amend(old.client_order_id, quantity=D("0.05"))
    assert not outcome.done and outcome.code is R.AMEND_REFUSED_BY_VENUE
    assert binance.replaces() == [400]  # -2022: cancel refused, new order not attempted
    assert old.status is S.PARTIALLY_FILLED and old.filled_quantity == D("0.01")
    (row,) = binance.engine.journal.children(old.client_order_id)
    assert row["status"] == "REJECTED"
    assert binance.emu.orders_by_client_id(row["client_order_id"]) == []
    assert _lineage_filled(binance.engine, old) <= old.quantity


async def test_binance_a_cancel_replace_that_times_out_is_resolved_by_lookup(binance):
    old = await binance.rest()
    binance.emu.delay_next("POST", CANCEL_REPLACE, 1.5)  # done, then answered too late
    outcome = await binance.engine.amend(old.client_order_id, price=D("48900"))
    assert outcome.done and not outcome.pending, outcome.reason
    new = outcome.order
    assert old.status is S.CANCELLED and new.status is S.ACCEPTED
    assert binance.replaces() == [200]  # sent once, never again
    assert binance.emu.client_order_id_counts()[new.client_order_id] == 1


async def test_binance_an_amend_replaces_the_order_natively(binance):
    old = await binance.rest()
    outcome = await binance.engine.amend(old.client_order_id, price=D("48900"), quantity=D("0.04"))
    assert outcome.done, outcome.reason
    new = outcome.order
    assert _statuses(old)[-2:] == [S.PENDING_UPDATE, S.CANCELLED]
    assert (new.status, new.price, new.quantity, new.leg) == (S.ACCEPTED, D("48900"), D("0.04"), 1)
    assert binance.replaces() == [200]
    (venue_old,) = binance.emu.orders_by_client_id(old.client_order_id)
    (venue_new,) = binance.emu.orders_by_client_id(new.client_order_id)
    assert (venue_old.status, venue_new.status, venue_new.price) == ("CANCELED", "NEW", D("48900"))
    assert not any(path == "/api/v3/order" and method == "DELETE"
                   for method, path, _ in binance.emu.requests), "no separate cancel"
