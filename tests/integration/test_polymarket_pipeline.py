"""The whole engine (pipeline, journal, positions, reconciliation, restart recovery)
through `PolymarketVenue` and the official py-clob-client against the CLOB emulator on
127.0.0.1. Nothing of py-clob-client is mocked: signing, L2 authentication and parsing
run for real.

The engine runs on a `SimulatedClock` started at the wall time (the emulator checks the
client's auth timestamps against real time); the emulator's own clock (GTD expiry, trade
settlement) is moved with `emu.advance`. A kill -9 is a `ProcessKilled` raised by a
`ChaosVenue` between the adapter and the engine: the engine is abandoned with its journal
connection closed uncommitted, and a new engine with a *fresh* adapter (empty memory)
starts on the same journal, as after a restart.

Unhappy paths first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ordergate.clock import SimulatedClock
from ordergate.config import EngineConfig, config_from_mapping
from ordergate.domain.order import OrderStatus as S
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.chaos_venue import Chaos, ChaosVenue, ProcessKilled
from ordergate.testing.polymarket_emulator import EmuAccount, PolymarketEmulator
from ordergate.venues.base import VenueAdapter
from ordergate.venues.guarded import GuardedVenue
from ordergate.venues.polymarket import PolymarketVenue, PolymarketVenueSettings

D = Decimal
CONDITION = "0x" + "ef" * 32
# Real token IDs are 77-digit decimals, but a signal's `symbol` is limited to 64
# characters (domain/signal.py, not this module's to change; reported): the tests trade
# shorter IDs, which the CLOB's arithmetic treats no differently.
YES = "7132104567925221259462638553270691275033272857194253"
NO = "5211431950124591551605510604688420996992612748282795"
STRATEGY, ACCOUNT, VENUE = "pm-it", "main", "polymarket"
ENV = {"private_key_env": "OG_IT_PM_KEY", "api_key_env": "OG_IT_PM_API_KEY",
       "api_secret_env": "OG_IT_PM_SECRET", "api_passphrase_env": "OG_IT_PM_PASSPHRASE",
       "funder_env": "OG_IT_PM_FUNDER"}


def cid(signal_id: str) -> str:
    return client_order_id_for(STRATEGY, ACCOUNT, signal_id)


@dataclass
class World:
    """One emulated CLOB and account that outlive every engine started on them."""

    emu: PolymarketEmulator
    account: EmuAccount
    tmp: Path
    clock: SimulatedClock
    condition_ids: tuple[str, ...] = ()
    engines: list[Engine] = field(default_factory=list)
    adapters: list[PolymarketVenue] = field(default_factory=list)

    def config(self, **sections: dict[str, Any]) -> EngineConfig:
        raw: dict[str, Any] = {
            "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "lookup_attempts": 2,
                         "max_attempts": 3, "submit_deadline_s": 30, "jitter_seed": 7},
            "reconciler": {"poll_interval_s": 0.5, "fill_timeout_s": 60},
            "risk": {"min_reward_risk": "0", "price_band": "0.10", "max_open_positions": 5,
                     "equity_currency": "USDC"},
            "reconciliation": {"interval_s": 0},
            "audit": {"path": str(self.tmp / "audit.jsonl"), "rotation": None, "retention": None},
            "venues": {VENUE: {"kind": "polymarket", "host": self.emu.base_url,
                               "timeout_s": 2.0, "account_id": ACCOUNT, "tick_refresh_s": 0,
                               "condition_ids": list(self.condition_ids), **ENV}},
        }
        for name, values in sections.items():
            raw.setdefault(name, {}).update(values)
        return config_from_mapping(raw, source="test")

    async def start(self, *, chaos: bool = False,
                    **sections: dict[str, Any]) -> tuple[Engine, ChaosVenue | None]:
        """A new engine, with a new adapter, on the world's journal: a (re)start."""
        config = self.config(**sections)
        adapter = PolymarketVenue(PolymarketVenueSettings.model_validate(
            {"name": VENUE, **config.venues[VENUE].adapter_fields()}), self.clock)
        self.adapters.append(adapter)
        inner: VenueAdapter = adapter
        wrapper = ChaosVenue(adapter, self.clock) if chaos else None
        if wrapper is not None:
            inner = wrapper
        engine = Engine(config, self.clock, venues={VENUE: GuardedVenue.wrap(inner, self.clock)},
                        journal_path=self.tmp / "journal.sqlite",
                        audit_path=self.tmp / f"audit-{len(self.engines)}.jsonl")
        self.engines.append(engine)
        await engine.start()
        assert engine.market.venue_enabled(VENUE), "instruments did not load from the emulator"
        return engine, wrapper

    @staticmethod
    def kill(engine: Engine) -> None:
        """kill -9: whatever the journal had not committed is lost."""
        engine.journal._db.close()
        engine.audit.close()

    def signal(self, signal_id: str, **fields: Any) -> TradingSignalGenerated:
        values: dict[str, Any] = {
            "signal_id": signal_id, "ts": self.clock.now(), "strategy_id": STRATEGY,
            "account_id": ACCOUNT, "venue": VENUE, "symbol": YES, "side": "buy",
            "order_type": "limit", "limit_price": D("0.50"), "quantity": D("10"),
            "time_in_force": "FOK", "stop_loss": D("0.45"),
        }
        values.update(fields)
        return TradingSignalGenerated.model_validate(values)

    async def wait(self, engine: Engine, seconds: float) -> None:
        """Let time pass at the venue and for the engine, then let the engine act."""
        self.emu.advance(seconds)
        self.clock.advance(seconds)
        await engine.tick()

    def journal_row(self, client_order_id: str) -> dict[str, Any]:
        with sqlite3.connect(self.tmp / "journal.sqlite") as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM orders WHERE client_order_id=?",
                             (client_order_id,)).fetchone()
        assert row is not None, f"{client_order_id} is not in the journal"
        return dict(row)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    async with PolymarketEmulator() as emu:
        emu.add_market(CONDITION, [(YES, "Yes"), (NO, "No")], tick_size="0.01",
                       min_order_size="5")
        emu.set_book(YES, bids=[("0.48", "100")], asks=[("0.50", "100")])
        emu.set_book(NO, bids=[("0.48", "100")], asks=[("0.50", "100")])
        wallet = Account.create()  # a throwaway key, never a real one
        account = emu.add_account(wallet.address, collateral="1000")
        monkeypatch.setenv(ENV["private_key_env"], wallet.key.hex())
        monkeypatch.setenv(ENV["api_key_env"], account.api_key)
        monkeypatch.setenv(ENV["api_secret_env"], account.secret)
        monkeypatch.setenv(ENV["api_passphrase_env"], account.passphrase)
        monkeypatch.delenv(ENV["funder_env"], raising=False)
        w = World(emu, account, tmp_path, SimulatedClock(datetime.now(UTC)))
        try:
            yield w
        finally:
            for engine in w.engines:
                try:
                    await engine.close()
                except sqlite3.ProgrammingError:
                    pass  # a killed engine's journal is already closed
            for adapter in w.adapters:
                await adapter.close()


def world_audit(world: World, life: int) -> list[dict[str, Any]]:
    """The audit lines the `life`-th engine started on this world wrote."""
    world.engines[life].audit.flush()
    path = world.tmp / f"audit-{life}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


# ---------------------------------------------------------------- quotes


@pytest.mark.parametrize("side", ["bids", "asks"])
async def test_an_empty_side_of_the_book_is_no_reference_price_not_a_made_up_mid(
    world: World, side: str,
) -> None:
    engine, _ = await world.start()
    book = {"bids": [("0.48", "100")], "asks": [("0.50", "100")]}
    book[side] = []
    world.emu.set_book(YES, **book)
    for n in range(6):  # more than the breaker's 5: an empty book is no outage
        outcome = await engine.submit(world.signal(f"empty-{side}-{n}"))
        assert (outcome.admitted, outcome.code) == (False, R.NO_REFERENCE_PRICE)
        assert YES in outcome.reason
    assert world.emu.post_order_attempts == 0
    world.emu.set_book(YES, bids=[("0.48", "100")], asks=[("0.50", "100")])
    outcome = await engine.submit(world.signal(f"full-{side}"))
    assert outcome.admitted and outcome.order is not None and outcome.order.status is S.FILLED


# ---------------------------------------------------------------- restarts


async def test_a_kill_after_the_venue_took_the_order_is_resolved_after_a_restart_from_the_journaled_id(
    world: World,
) -> None:
    engine, chaos = await world.start(chaos=True)
    assert chaos is not None
    chaos.inject("place", Chaos.CRASH_AFTER_SEND)
    with pytest.raises(ProcessKilled):
        await engine.submit(world.signal("kill-1"))
    world.kill(engine)
    [venue_order] = world.emu.orders.values()
    assert venue_order.status == "MATCHED"  # the venue took it and filled it
    # What was committed before the send already names the venue's order.
    row = world.journal_row(cid("kill-1"))
    assert (row["status"], row["venue_order_id"]) == ("SUBMITTED", venue_order.id)

    restarted, _ = await world.start()  # a fresh adapter: nothing in memory
    order = restarted.ledger.get(cid("kill-1"))
    assert order is not None and order.status is S.FILLED
    assert order.venue_order_id == venue_order.id
    assert restarted.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    assert [f["quantity"] for f in restarted.journal.fills(cid("kill-1"))] == ["10"]
    assert world.emu.post_order_attempts == 1

    world.kill(restarted)  # and once more: the fill is not booked again
    again, _ = await world.start()
    assert again.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    assert len(again.journal.fills(cid("kill-1"))) == 1


async def test_a_kill_before_the_send_is_resent_once_after_a_restart_under_the_journaled_id(
    world: World,
) -> None:
    engine, chaos = await world.start(chaos=True)
    assert chaos is not None
    chaos.inject("place", Chaos.CRASH_BEFORE_SEND)
    with pytest.raises(ProcessKilled):
        await engine.submit(world.signal("kill-2"))
    world.kill(engine)
    journaled = world.journal_row(cid("kill-2"))["venue_order_id"]
    assert journaled and world.emu.orders == {}

    restarted, _ = await world.start(recovery={"absent_order_policy": "resubmit",
                                               "resubmit_max_age_s": 600})
    order = restarted.ledger.get(cid("kill-2"))
    assert order is not None and order.status is S.SUBMITTED  # not found yet: followed
    for _ in range(30):  # past the request window: absent, so resent
        world.clock.advance(1)
        await restarted.tick()
    assert order.status is S.FILLED
    assert list(world.emu.orders) == [journaled]
    assert world.emu.post_order_attempts == 1
    assert restarted.positions.quantity(ACCOUNT, VENUE, YES) == D("10")


async def test_after_a_restart_tokens_held_from_before_are_compared_not_read_as_zero(
    world: World,
) -> None:
    engine, _ = await world.start()  # every market loaded (no condition_ids): none watched
    assert (await engine.submit(world.signal("hold-1"))).order is not None
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    await engine.close()

    restarted, _ = await world.start(reconciliation={"interval_s": 0, "on_drift": "halt"})
    assert restarted.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    assert restarted.risk.trading_state == "ACTIVE"  # the start's drift check found none
    assert await restarted.reconcile() == []


async def test_after_a_restart_a_held_token_the_venue_disagrees_on_is_still_drift(
    world: World,
) -> None:
    engine, _ = await world.start()
    await engine.submit(world.signal("hold-2"))
    await engine.close()
    world.account.tokens[YES] = D("4")  # six went elsewhere while we were down
    restarted, _ = await world.start(reconciliation={"interval_s": 0, "on_drift": "alert"})
    drift = await restarted.reconcile()
    assert drift == []  # already reported by the start's check, once
    kinds = [(l["decision"], l["ours"], l["venues"]) for l in world_audit(world, 1)
             if l["event"] == "reconciliation_drift"]
    assert kinds == [("position_mismatch", "10", "4")]


# ---------------------------------------------------------------- trades settle on chain


async def test_a_trade_that_fails_on_chain_never_becomes_a_position(world: World) -> None:
    world.emu.chain.mine_delay_s, world.emu.chain.confirm_delay_s = 5, 10
    engine, _ = await world.start()
    outcome = await engine.submit(world.signal("fail-1"))
    order = outcome.order
    assert order is not None and not order.status.is_terminal  # matched, not final yet
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == 0
    [trade] = world.emu.trades
    world.emu.fail_trade(trade.id)
    for _ in range(4):
        await world.wait(engine, 5)
    assert world.emu.trade_status(trade) == "FAILED"
    assert order.status is S.EXPIRED and order.filled_quantity == 0  # FOK: nothing filled
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == 0
    assert engine.journal.fills(cid("fail-1")) == []
    assert await engine.reconcile() == []  # the venue holds none either: no drift
    assert engine.risk.trading_state == "ACTIVE"


async def test_a_trade_is_booked_once_confirmed_and_only_once(world: World) -> None:
    world.emu.chain.mine_delay_s, world.emu.chain.confirm_delay_s = 5, 10
    engine, _ = await world.start()
    outcome = await engine.submit(world.signal("conf-1"))
    order = outcome.order
    assert order is not None and order.status is S.SUBMITTED
    await world.wait(engine, 5)  # mined: the tokens arrived, the trade is not final
    [trade] = world.emu.trades
    assert world.emu.trade_status(trade) == "MINED"
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == 0
    assert await engine.reconcile() == []  # a balance ahead of an unfinished order: no drift
    await world.wait(engine, 10)
    assert world.emu.trade_status(trade) == "CONFIRMED"
    assert order.status is S.FILLED
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == D("10")
    for _ in range(3):
        await world.wait(engine, 5)
    assert await engine.reconcile() == []
    assert [f["trade_id"] for f in engine.journal.fills(cid("conf-1"))] == [trade.id]
    assert engine.summary.counts["fills"] == 1


async def test_a_resting_order_whose_maker_trade_fails_keeps_working_without_it(
    world: World,
) -> None:
    world.emu.chain.mine_delay_s, world.emu.chain.confirm_delay_s = 5, 10
    engine, _ = await world.start()
    outcome = await engine.submit(world.signal("rest-1", time_in_force="GTC",
                                               limit_price=D("0.46"), stop_loss=D("0.40")))
    order = outcome.order
    assert order is not None and order.status is S.ACCEPTED and order.venue_order_id
    failing = world.emu.fill_resting(order.venue_order_id, "4")
    world.emu.fail_trade(failing.id)
    good = world.emu.fill_resting(order.venue_order_id, "3")
    for _ in range(4):
        await world.wait(engine, 5)
    assert order.status is S.PARTIALLY_FILLED and order.filled_quantity == D("3")
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == D("3")
    assert [f["trade_id"] for f in engine.journal.fills(cid("rest-1"))] == [
        f"{good.id}:{order.venue_order_id}"]
    assert await engine.reconcile() == []
    # The venue counts the failed match against the order (size_matched 7 of 10): what
    # can still trade is 3, and a fill of it completes the order at the venue.
    world.emu.fill_resting(order.venue_order_id)
    for _ in range(4):
        await world.wait(engine, 5)
    assert world.emu.orders[order.venue_order_id].status == "MATCHED"
    assert order.status is S.CANCELLED and order.filled_quantity == D("6")
    assert engine.positions.quantity(ACCOUNT, VENUE, YES) == D("6")
    assert await engine.reconcile() == []


# ---------------------------------------------------------------- preparing the send


async def test_when_the_order_cannot_be_prepared_it_is_failed_and_nothing_is_sent(
    world: World,
) -> None:
    engine, _ = await world.start()
    world.emu.inject_fault("status", "GET", "/tick-size", status=503, times=None)
    outcome = await engine.submit(world.signal("prep-1"))
    order = outcome.order
    assert order is not None and order.status is S.FAILED
    assert order.venue_order_id is None
    assert [(t.from_status, t.to_status) for t in order.transitions] == [(S.PENDING, S.FAILED)]
    assert "not sent" in order.transitions[-1].reason and "503" in order.transitions[-1].reason
    assert world.emu.post_order_attempts == 0
    assert world.emu.count_requests("GET", "/tick-size") == 3  # executor.max_attempts
    assert world.journal_row(cid("prep-1"))["status"] == "FAILED"


async def test_a_read_failing_once_while_preparing_is_retried_and_the_order_sent_once(
    world: World,
) -> None:
    engine, _ = await world.start()
    world.emu.inject_fault("status", "GET", "/tick-size", status=503)
    outcome = await engine.submit(world.signal("prep-2"))
    order = outcome.order
    assert order is not None and order.status is S.FILLED
    [venue_order] = world.emu.orders.values()
    assert order.venue_order_id == venue_order.id == world.journal_row(cid("prep-2"))["venue_order_id"]
    assert world.emu.post_order_attempts == 1


async def test_an_order_the_adapter_refuses_to_sign_is_failed_unsent(world: World) -> None:
    engine, _ = await world.start()
    outcome = await engine.submit(world.signal("mkt-1", order_type="market", limit_price=None,
                                               time_in_force="IOC"))
    order = outcome.order
    assert order is not None and order.status is S.FAILED
    assert "market orders are not supported" in order.transitions[-1].reason
    assert world.emu.post_order_attempts == 0
