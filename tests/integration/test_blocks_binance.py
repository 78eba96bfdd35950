"""Blocks through the real engine and ccxt's real binance class, against the Binance
emulator serving several API keys, each its own account with its own balances.

A ccxt venue serves one account (`venues.NAME.account_id`), so two accounts on Binance are
two venues on the same exchange, each signing with its own key: here `binance-a` (alpha,
the emulator's default key) and `binance-b` (beta, a second key), and `binance-c` (gamma,
a third) where a third account is wanted. A block names the group; each child is the
same signal for one account at that account's venue, so it must land at that account's
key, spend that key's balance, and carry a client order ID of its own.

Unhappy paths first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordergate.clock import SimulatedClock
from ordergate.config import EngineConfig, config_from_mapping
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.binance_emulator import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    BinanceEmulator,
)

D = Decimal
BTC = "BTC/USDT"
STRATEGY = "it"
KEYS = {"alpha": (DEFAULT_API_KEY, DEFAULT_API_SECRET),
        "beta": ("emulator-key-beta-42", "emulator-secret-beta-42"),
        "gamma": ("emulator-key-gamma-43", "emulator-secret-gamma-43")}
VENUE = {"alpha": "binance-a", "beta": "binance-b", "gamma": "binance-c"}


def key(account: str) -> str:
    return KEYS[account][0]


def cid(account: str, signal_id: str) -> str:
    return client_order_id_for(STRATEGY, account, signal_id)


def make_config(tmp: Path, base_url: str, group: dict[str, Any],
                accounts: tuple[str, ...] = ("alpha", "beta")) -> EngineConfig:
    return config_from_mapping({
        "executor": {"backoff_base_s": 0.01, "backoff_cap_s": 0.05, "lookup_attempts": 2,
                     "max_attempts": 4, "submit_deadline_s": 30, "jitter_seed": 7},
        "reconciler": {"poll_interval_s": 0.05, "fill_timeout_s": 5},
        "risk": {"max_order_notional": "1000000"},
        # Each key starts with BTC and ETH these tests do not count as positions.
        "reconciliation": {"accounts": list(accounts), "cold_start": "ignore",
                           "compare_balances": False},
        "journal": {"path": str(tmp / "journal.sqlite")},
        "audit": {"path": str(tmp / "audit.jsonl")},
        "venues": {VENUE[a]: {"kind": "ccxt", "exchange": "binance", "account_id": a,
                              "api_key_env": f"OG_IT_{a.upper()}_KEY",
                              "secret_env": f"OG_IT_{a.upper()}_SECRET",
                              "api_url": base_url, "timeout_s": 1.0} for a in accounts},
        "accounts": {a: {"venue": VENUE[a]} for a in accounts},
        "groups": {"desk": group},
    }, source="test")


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BinanceEmulator]:
    async with BinanceEmulator() as emulator:
        emulator.set_balance("USDT", "60000")
        for account in ("beta", "gamma"):
            emulator.add_account(*KEYS[account], balances={"USDT": "30000", "BTC": "0"})
        for account, (api_key, secret) in KEYS.items():
            monkeypatch.setenv(f"OG_IT_{account.upper()}_KEY", api_key)
            monkeypatch.setenv(f"OG_IT_{account.upper()}_SECRET", secret)
        yield emulator


class Run:
    """One engine life on a journal (a second `Run` on the same directory: a restart)."""

    def __init__(self, emu: BinanceEmulator, tmp: Path, group: dict[str, Any],
                 accounts: tuple[str, ...] = ("alpha", "beta"), life: int = 0) -> None:
        self.emu, self.tmp = emu, tmp
        self.clock = SimulatedClock(datetime.now(UTC))
        self.config = make_config(tmp, emu.base_url, group, accounts)
        self.audit_path = tmp / f"audit-{life}.jsonl"
        self.engine = Engine(self.config, self.clock, journal_path=tmp / "journal.sqlite",
                             audit_path=self.audit_path)

    async def __aenter__(self) -> Run:
        await self.engine.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.close()

    def block(self, signal_id: str = "b-1", **fields: Any) -> TradingSignalGenerated:
        return TradingSignalGenerated.model_validate({
            "signal_id": signal_id, "ts": self.clock.now(), "strategy_id": STRATEGY,
            "account_id": "desk", "venue": "binance-a", "symbol": BTC, "side": "buy",
            "order_type": "market", "quantity": D("0.03"), **fields})

    def audit(self, event: str) -> list[dict[str, Any]]:
        self.engine.audit.flush()
        lines = [json.loads(x) for x in self.audit_path.read_text().splitlines() if x]
        return [x for x in lines if x["event"] == event]

    def position(self, account: str) -> Decimal:
        return self.engine.positions.quantity(account, VENUE[account], BTC)


def venue_bought(emu: BinanceEmulator, account: str) -> Decimal:
    """The BTC bought under one key, by the venue's own trades."""
    return sum((t.qty for t in emu.trades if t.account == key(account) and t.side == "BUY"),
               D(0))


def venue_held(emu: BinanceEmulator, account: str) -> Decimal:
    """The BTC one key holds from its trades: bought less the commission charged in BTC
    (what the engine's position for that account must be)."""
    return sum((t.qty - (t.commission if t.commission_asset == "BTC" else 0)
                for t in emu.trades if t.account == key(account) and t.side == "BUY"), D(0))


def spent(emu: BinanceEmulator, account: str) -> Decimal:
    return sum((t.quote_qty for t in emu.trades if t.account == key(account)), D(0))


# ---------------------------------------------------------------- failover (unhappy first)


async def test_a_child_the_key_has_no_funds_for_fails_over_to_the_other_key_at_95pc(emu, tmp_path):
    # beta's USDT is there (its equity, which the risk manager sizes by) but locked by
    # another order: only the venue can tell it cannot pay, and refuses with -2010.
    emu.set_balance("USDT", "100", "29900", api_key=key("beta"))
    async with Run(emu, tmp_path, {"accounts": ["beta", "alpha"], "policy": "failover"}) as run:
        outcome = await run.engine.submit(run.block())
        assert outcome.admitted, outcome.reason
        beta = run.engine.journal.order(cid("beta", "b-1"))
        assert beta is not None and beta["status"] == "REJECTED"
        alpha = run.engine.journal.order(cid("alpha", "b-1"))
        assert alpha is not None and alpha["status"] == "FILLED"
        assert D(alpha["quantity"]) == D("0.0285")  # 95% of 0.03, at alpha's own key
        # ... at alpha's own key: beta's key sent one order, refused, and bought nothing
        assert emu.client_order_id_counts(key("alpha")) == {cid("alpha", "b-1"): 1}
        assert emu.client_order_id_counts(key("beta")) == {}  # refused before it existed
        assert (venue_bought(emu, "alpha"), venue_bought(emu, "beta")) == (D("0.0285"), D(0))
        assert emu.balances(key("beta"))["USDT"] == (D(100), D(29900))
        assert run.position("alpha") == venue_held(emu, "alpha") > 0
        assert run.position("beta") == D(0)
        (line,) = run.audit("allocation_failover")
        assert (line["from_account"], line["to_account"], D(line["quantity"])) == (
            "beta", "alpha", D("0.0285"))
        assert "INSUFFICIENT_FUNDS" in line["reason"]


# ---------------------------------------------------------------- splits


async def test_an_equity_split_lands_each_child_at_its_own_key(emu, tmp_path):
    async with Run(emu, tmp_path, {"accounts": ["alpha", "beta"], "policy": "equity"}) as run:
        outcome = await run.engine.submit(run.block())
        assert outcome.admitted, outcome.reason
        (line,) = run.audit("allocation_decided")
        assert [(a, D(q)) for a, q in line["children"]] == [
            ("alpha", D("0.02")), ("beta", D("0.01"))]  # 60000 : 30000
        assert emu.client_order_id_counts_by_key() == {
            key("alpha"): {cid("alpha", "b-1"): 1}, key("beta"): {cid("beta", "b-1"): 1},
            key("gamma"): {}}
        assert (venue_bought(emu, "alpha"), venue_bought(emu, "beta")) == (D("0.02"), D("0.01"))
        # each key paid for its own child out of its own USDT
        assert emu.balances(key("beta"))["USDT"][0] == D(30000) - spent(emu, "beta")
        assert emu.balances(key("alpha"))["USDT"][0] == D(60000) - spent(emu, "alpha")
        assert emu.balances(key("beta"))["BTC"][0] == D("0.01") - D("0.00001")  # commission
        for account in ("alpha", "beta"):
            assert run.position(account) == venue_held(emu, account)


async def test_an_equal_split_over_three_keys(emu, tmp_path):
    accounts = ("alpha", "beta", "gamma")
    async with Run(emu, tmp_path, {"accounts": list(accounts), "policy": "equal"}, accounts) as run:
        outcome = await run.engine.submit(run.block(quantity=D("0.03001")))
        assert outcome.admitted, outcome.reason
        (line,) = run.audit("allocation_decided")
        # largest remainder: the odd lot goes to the account listed first
        assert [(a, D(q)) for a, q in line["children"]] == [
            ("alpha", D("0.01001")), ("beta", D("0.01")), ("gamma", D("0.01"))]
        for account, qty in (("alpha", "0.01001"), ("beta", "0.01"), ("gamma", "0.01")):
            assert emu.client_order_id_counts(key(account)) == {cid(account, "b-1"): 1}
            assert venue_bought(emu, account) == D(qty)
            assert run.position(account) == venue_held(emu, account)


# ---------------------------------------------------------------- restart


async def test_a_restart_mid_block_sends_no_child_twice_at_any_key(emu, tmp_path):
    group = {"accounts": ["alpha", "beta"], "policy": "equity"}
    first = Run(emu, tmp_path, group)
    sent: list[str] = []
    try:
        await first.engine.start()
        real = first.engine.blocks._run_child

        async def killed_after_first(child: TradingSignalGenerated, parent_id: str) -> Any:
            if sent:
                raise KeyboardInterrupt  # the kill, after alpha's child was sent
            sent.append(child.account_id)
            return await real(child, parent_id)

        first.engine.blocks._run_child = killed_after_first  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            await first.engine.submit(first.block())
        first.engine.journal.commit()
    finally:
        await first.engine.close()
    assert sent == ["alpha"]
    assert emu.client_order_id_counts_by_key()[key("beta")] == {}
    # a new life: new ccxt venues from the configuration, the same journal and emulator
    again = Run(emu, tmp_path, group, life=1)
    try:
        await again.engine.start()  # resumes the block: beta's child now, alpha's not again
        counts = emu.client_order_id_counts_by_key()
        assert counts[key("alpha")] == {cid("alpha", "b-1"): 1}
        assert counts[key("beta")] == {cid("beta", "b-1"): 1}
        assert (venue_bought(emu, "alpha"), venue_bought(emu, "beta")) == (D("0.02"), D("0.01"))
        for account in ("alpha", "beta"):
            assert again.position(account) == venue_held(emu, account)
        assert again.engine.journal.active_parents("block") == []
        # and the same block again is a duplicate: nothing more at either key
        duplicate = await again.engine.submit(again.block())
        assert not duplicate.admitted
        assert emu.client_order_id_counts_by_key() == counts
    finally:
        await again.engine.close()


async def test_a_block_naming_an_unknown_venue_is_refused_and_does_not_halt(emu, tmp_path):
    # Regression: the allocator read the block's reference price at the signal's venue
    # before anything had checked it: KeyError, INTERNAL_ERROR, and trading halted.
    async with Run(emu, tmp_path, {"accounts": ["alpha", "beta"], "policy": "equity"}) as run:
        refused = await run.engine.submit(run.block("typo", venue="binance"))
        assert (refused.admitted, refused.code) == (False, R.UNKNOWN_VENUE)
        assert emu.orders == []
        outcome = await run.engine.submit(run.block("b-2"))
        assert outcome.admitted, outcome.reason  # not TRADING_HALTED


async def test_a_child_whose_key_cannot_be_reached_fails_over_to_the_other_key(emu, tmp_path):
    emu.fail_next("POST", "/api/v3/order", 503, count=50, api_key=key("beta"))
    async with Run(emu, tmp_path, {"accounts": ["beta", "alpha"], "policy": "failover"}) as run:
        outcome = await run.engine.submit(run.block())
        assert outcome.admitted, outcome.reason
        beta = run.engine.journal.order(cid("beta", "b-1"))
        assert beta is not None and beta["status"] == "FAILED"
        assert emu.orders_of(key("beta")) == []  # it never reached beta's account
        assert emu.client_order_id_counts(key("alpha")) == {cid("alpha", "b-1"): 1}
        assert venue_bought(emu, "alpha") == D("0.0285")


async def test_a_kill_during_a_failover_sends_the_rerouted_child_once(emu, tmp_path):
    emu.set_balance("USDT", "100", "29900", api_key=key("beta"))
    group = {"accounts": ["beta", "alpha"], "policy": "failover"}
    first = Run(emu, tmp_path, group)
    sent: list[str] = []
    try:
        await first.engine.start()
        real = first.engine.blocks._run_child

        async def killed_before_the_reroute(child: TradingSignalGenerated, parent_id: str) -> Any:
            if sent:
                raise KeyboardInterrupt  # beta was refused; alpha's re-route not sent yet
            sent.append(child.account_id)
            return await real(child, parent_id)

        first.engine.blocks._run_child = killed_before_the_reroute  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            await first.engine.submit(first.block())
        first.engine.journal.commit()
    finally:
        await first.engine.close()
    assert emu.client_order_id_counts_by_key()[key("alpha")] == {}
    again = Run(emu, tmp_path, group, life=1)
    try:
        await again.engine.start()
        assert emu.client_order_id_counts(key("alpha")) == {cid("alpha", "b-1"): 1}
        assert emu.orders_of(key("beta")) == []
        assert venue_bought(emu, "alpha") == D("0.0285")
        assert again.position("alpha") == venue_held(emu, "alpha")
        assert again.engine.journal.active_parents("block") == []
    finally:
        await again.engine.close()
    third = Run(emu, tmp_path, group, life=2)  # and once more: nothing re-sent
    try:
        await third.engine.start()
        assert emu.client_order_id_counts(key("alpha")) == {cid("alpha", "b-1"): 1}
    finally:
        await third.engine.close()


async def test_an_account_whose_key_the_venue_refuses_is_not_eligible_and_says_why(
        emu, tmp_path, monkeypatch):
    monkeypatch.setenv("OG_IT_BETA_KEY", "a-key-binance-does-not-know")  # -2015 at its venue
    async with Run(emu, tmp_path, {"accounts": ["alpha", "beta"], "policy": "equity"}) as run:
        outcome = await run.engine.submit(run.block())
        assert outcome.admitted, outcome.reason
        (line,) = run.audit("allocation_decided")
        assert "beta: not eligible (equity unknown" in line["reason"]
        assert [(a, D(q)) for a, q in line["children"]] == [("alpha", D("0.03"))]
        assert emu.client_order_id_counts_by_key()[key("beta")] == {}
        assert venue_bought(emu, "alpha") == D("0.03")
