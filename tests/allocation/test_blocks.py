"""Blocks through the engine on the simulated venue: one signal, several accounts.

Each child is a real order for its own account at the venue (its own balance), through
the whole chain; the decision is one `allocation_decided` audit line; a restart in the
middle of a block sends the children not yet sent and never one twice.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from ordergate.allocation.blocks import BlockAllocator
from ordergate.clock import SimulatedClock
from ordergate.config import config_from_mapping
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import BTC, T0, make_signal, quote
from ordergate.venues.guarded import unwrap
from ordergate.venues.market_data import MarketData

BALANCES = {"alpha": {"USDT": "60000"}, "beta": {"USDT": "30000"}, "gamma": {"USDT": "10000"}}


def config(group: dict[str, Any] | None = None, accounts: dict[str, Any] | None = None,
           balances: dict[str, Any] | None = None) -> Any:
    return config_from_mapping({
        "risk": {"max_order_notional": "1000000"},
        "reconciliation": {"accounts": ["alpha", "beta", "gamma"]},
        "venues": {"sim": {"kind": "simulated", "instruments": [BTC.model_dump()],
                           "balances": balances or BALANCES}},
        "accounts": accounts or {"alpha": {}, "beta": {}, "gamma": {}},
        "groups": {"desk": group or {"accounts": ["alpha", "beta", "gamma"],
                                     "policy": "equity"}}})


def engine(tmp: Path, cfg: Any, clock: SimulatedClock | None = None) -> Engine:
    clock = clock or SimulatedClock(T0)
    return Engine(cfg, clock, market=MarketData([quote(0, "42000", "42001", "50")]),
                  journal_path=tmp / "j.sqlite", audit_path=tmp / "a.jsonl")


@asynccontextmanager
async def running(tmp: Path, cfg: Any, clock: SimulatedClock | None = None
                  ) -> AsyncIterator[Engine]:
    """`engine(...)`, started, and closed when the block ends (also when it fails)."""
    e = engine(tmp, cfg, clock)
    try:
        await e.start()
        yield e
    finally:
        await e.close()


def block(**fields: Any) -> Any:
    return make_signal(**{"account_id": "desk", "quantity": D("0.100"), **fields})


def audit(tmp: Path, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in (tmp / "a.jsonl").read_text().splitlines()]
    return [line for line in lines if line["event"] == event]


async def test_a_block_with_no_eligible_account_is_refused_with_each_accounts_reason(tmp_path):
    cfg = config(accounts={"alpha": {"status": "paused"},
                           "beta": {"min_available_margin": "50000"}, "gamma": {"status": "paused"}})
    async with running(tmp_path, cfg) as e:
        outcome = await e.submit(block())
        assert (outcome.admitted, outcome.handler, outcome.code) == (
            False, "allocator", R.ALLOCATION_NO_ELIGIBLE_ACCOUNT)
        assert unwrap(e.venues["sim"]).orders_per_client_id == {}
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_decided")
        assert line["decision"] == "refused" and line["code"] == "ALLOCATION_NO_ELIGIBLE_ACCOUNT"
        assert "alpha: not eligible (paused)" in line["reason"]
        assert "beta: not eligible (margin 30000 < 50000)" in line["reason"]
        (rejected,) = [r for r in audit(tmp_path, "handler_verdict") if r["decision"] == "deny"]
        assert rejected["handler"] == "allocator"


async def test_an_equity_block_is_split_pro_rata_each_child_its_own_account_and_order(tmp_path):
    async with running(tmp_path, config()) as e:
        outcome = await e.submit(block())
        assert outcome.admitted and outcome.handler == "allocator"
        ids = {a: client_order_id_for("momo", a, "s-1") for a in ("alpha", "beta", "gamma")}
        orders = {a: e.journal.order(cid) for a, cid in ids.items()}
        assert {a: (o["account_id"], o["quantity"], o["status"]) for a, o in orders.items()} == {
            "alpha": ("alpha", "0.060", "FILLED"), "beta": ("beta", "0.030", "FILLED"),
            "gamma": ("gamma", "0.010", "FILLED")}
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0.030")
        sim = unwrap(e.venues["sim"])
        assert sorted(sim.orders_per_client_id.values()) == [1, 1, 1]
        balances = await sim.fetch_balances("gamma")
        assert balances["BTC"].total == D("0.010")  # gamma's own balance took gamma's child
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_decided")
        assert line["children"] == [["alpha", "0.060"], ["beta", "0.030"], ["gamma", "0.010"]]
        assert line["policy"] == "equity" and line["decision"] == "allocated"


async def test_the_same_block_again_is_a_duplicate_and_sends_nothing(tmp_path):
    async with running(tmp_path, config()) as e:
        await e.submit(block())
        again = await e.submit(block())
        assert (again.admitted, again.code) == (False, R.DUPLICATE_SIGNAL)
        assert sorted(unwrap(e.venues["sim"]).orders_per_client_id.values()) == [1, 1, 1]


POOR_BETA = config(group={"accounts": ["alpha", "beta"], "policy": "ratios",
                          "ratios": {"alpha": "1", "beta": "9"}},
                   balances={"alpha": {"USDT": "60000"}, "beta": {"USDT": "100"},
                             "gamma": {"USDT": "0"}})
"""Beta's 90% is far beyond its 100 USDT: refused for equity, and no account is left."""


async def test_a_child_refused_by_risk_does_not_stop_the_others(tmp_path):
    cfg = POOR_BETA
    async with running(tmp_path, cfg) as e:
        outcome = await e.submit(block())
        assert outcome.admitted
        assert "beta refused INSUFFICIENT_EQUITY by risk" in outcome.reason
        assert e.positions.quantity("alpha", "sim", "BTC/USDT") == D("0.010")
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0")


async def test_a_restart_mid_block_sends_the_missing_children_and_none_twice(tmp_path):
    clock = SimulatedClock(T0)
    e = engine(tmp_path, config(), clock)
    sent: list[str] = []
    try:
        await e.start()
        real = e.blocks._run_child

        async def killed_after_first(child, parent_id):
            if sent:
                raise KeyboardInterrupt  # the kill, after alpha's child was sent
            sent.append(child.account_id)
            return await real(child, parent_id)

        e.blocks._run_child = killed_after_first
        try:
            await e.submit(block())
        except KeyboardInterrupt:
            pass
        e.journal.commit()
    finally:
        await e.close()
    sim_before = unwrap(e.venues["sim"]).orders_per_client_id
    assert list(sim_before.values()) == [1]
    # a new life on the same journal and the same (simulated) venue
    again = Engine(config(), clock, venues=e.venues, journal_path=tmp_path / "j.sqlite",
                   audit_path=tmp_path / "a2.jsonl")
    try:
        await again.start()
        counts = unwrap(again.venues["sim"]).orders_per_client_id
        assert sorted(counts.values()) == [1, 1, 1]  # beta and gamma sent now, alpha not again
        assert again.positions.quantity("alpha", "sim", "BTC/USDT") == D("0.060")
        assert again.positions.quantity("gamma", "sim", "BTC/USDT") == D("0.010")
        assert again.journal.active_parents("block") == []
    finally:
        await again.close()


async def test_a_day_boundary_resets_the_drawdown_and_the_budget(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group={"accounts": ["alpha"], "policy": "equal"},
                 accounts={"alpha": {"daily_risk_budget": "25"}, "beta": {}, "gamma": {}})
    async with running(tmp_path, cfg, clock) as e:
        first = await e.submit(block(quantity=D("0.010")))  # risks 0.010 x 1000 = 10
        assert first.admitted
        assert e.days.risk_spent("alpha") > 0
        second = await e.submit(block(signal_id="s-2", quantity=D("0.020"), ts=clock.now()))
        assert second.admitted  # 10 + 20 = 30: the budget is spent after this one
        third = await e.submit(block(signal_id="s-3", quantity=D("0.010"), ts=clock.now()))
        assert third.code is R.ALLOCATION_NO_ELIGIBLE_ACCOUNT
        clock.advance(24 * 3600)  # the next day: a fresh budget
        unwrap(e.venues["sim"]).market = MarketData([quote(24 * 3600, "42000", "42001", "50")])
        fourth = await e.submit(block(signal_id="s-4", quantity=D("0.010"), ts=clock.now()))
        assert fourth.admitted, fourth.reason


def test_the_allocator_is_no_handler_of_the_chain():
    assert BlockAllocator.name == "allocator"


async def test_a_restart_keeps_the_days_spent_budget(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group={"accounts": ["alpha"], "policy": "equal"},
                 accounts={"alpha": {"daily_risk_budget": "15"}, "beta": {}, "gamma": {}})
    async with running(tmp_path, cfg, clock) as e:
        assert (await e.submit(block(quantity=D("0.020")))).admitted  # risks about 20 > 15
    again = Engine(cfg, clock, venues=e.venues, journal_path=tmp_path / "j.sqlite",
                   audit_path=tmp_path / "a2.jsonl")
    try:
        await again.start()
        refused = await again.submit(block(signal_id="s-2", quantity=D("0.010")))
        assert refused.code is R.ALLOCATION_NO_ELIGIBLE_ACCOUNT
        assert "alpha: not eligible (budget spent" in refused.reason
    finally:
        await again.close()


FAILOVER = {"accounts": ["alpha", "beta", "gamma"], "policy": "failover"}


def failover_config(**risk: Any) -> Any:
    cfg = config(group=FAILOVER, balances={"alpha": {"USDT": "100", "EUR": "1000000"},
                                           "beta": {"USDT": "30000"},
                                           "gamma": {"USDT": "10000"}})
    return cfg.model_copy(update={"risk": cfg.risk.model_copy(update=risk)}) if risk else cfg


async def test_a_child_the_risk_manager_finds_no_equity_for_fails_over_at_95_percent(tmp_path):
    async with running(tmp_path, failover_config()) as e:
        outcome = await e.submit(block())
        assert outcome.admitted
        assert "alpha refused INSUFFICIENT_EQUITY by risk" in outcome.reason
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0.095")
        assert e.positions.quantity("gamma", "sim", "BTC/USDT") == D("0")  # one re-route
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_failover")
        assert (line["from_account"], line["to_account"], line["quantity"]) == (
            "alpha", "beta", "0.095")
        assert line["reason"].startswith("child of alpha failed (INSUFFICIENT_EQUITY")


async def test_a_child_the_venue_rejects_for_funds_fails_over(tmp_path):
    # risk sizes against EUR (plenty), the venue needs USDT (100): the venue refuses
    async with running(tmp_path, failover_config(equity_currency="EUR")) as e:
        outcome = await e.submit(block())
        alpha = e.journal.order(client_order_id_for("momo", "alpha", "s-1"))
        assert alpha["status"] == "REJECTED"
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0.095")
        assert outcome.admitted


async def test_a_child_refused_for_a_reason_any_account_meets_is_not_rerouted(tmp_path):
    async with running(tmp_path, config(group=FAILOVER)) as e:
        outcome = await e.submit(block(limit_price=D("30000"), order_type="limit",
                                         stop_loss=D("29000"), take_profit=D("33000")))
        assert (outcome.admitted, outcome.code) == (False, R.PRICE_BAND)
        e.audit.flush()
        assert audit(tmp_path, "allocation_failover") == []
        assert unwrap(e.venues["sim"]).orders_per_client_id == {}


async def test_a_child_whose_answer_is_unknown_is_never_rerouted(tmp_path):
    from ordergate.venues.faults import Fault
    cfg = config(group=FAILOVER)
    cfg = cfg.model_copy(update={"executor": cfg.executor.model_copy(update={
        "max_attempts": 1, "lookup_attempts": 1})})
    async with running(tmp_path, cfg) as e:
        sim = unwrap(e.venues["sim"])
        sim.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        sim.faults.inject("fetch_order", Fault.UNAVAILABLE, times=5)
        await e.submit(block())
        e.audit.flush()
        assert audit(tmp_path, "allocation_failover") == []
        assert list(sim.orders_per_client_id) == [client_order_id_for("momo", "alpha", "s-1")]


async def test_the_last_eligible_account_failing_is_audited_not_rerouted(tmp_path):
    cfg = config(group={"accounts": ["alpha"], "policy": "failover"},
                 balances={"alpha": {"USDT": "100"}, "beta": {}, "gamma": {}})
    async with running(tmp_path, cfg) as e:
        outcome = await e.submit(block())
        assert (outcome.admitted, outcome.code) == (False, R.INSUFFICIENT_EQUITY)
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_failover")
        assert line["to_account"] is None and "no eligible account" in line["reason"]


async def test_a_kill_after_a_venue_rejection_still_fails_over_once_at_restart(tmp_path):
    clock = SimulatedClock(T0)
    cfg = failover_config(equity_currency="EUR")
    async with running(tmp_path, cfg, clock) as e:
        real = e.blocks._run_child

        async def killed_after_alpha(child, parent_id):
            await real(child, parent_id)
            e.journal.commit()  # alpha's REJECTED is on disk ...
            raise KeyboardInterrupt  # ... and the kill comes before its failover is recorded

        e.blocks._run_child = killed_after_alpha
        try:
            await e.submit(block())
        except KeyboardInterrupt:
            pass
    again = Engine(cfg, clock, venues=e.venues, journal_path=tmp_path / "j.sqlite",
                   audit_path=tmp_path / "a2.jsonl")
    try:
        await again.start()
        assert again.positions.quantity("beta", "sim", "BTC/USDT") == D("0.095")
        counts = unwrap(again.venues["sim"]).orders_per_client_id
        assert counts.get(client_order_id_for("momo", "beta", "s-1")) == 1
        assert counts.get(client_order_id_for("momo", "gamma", "s-1")) is None
    finally:
        await again.close()


async def test_the_run_summary_counts_blocks_apart_and_each_accounts_figures(tmp_path):
    cfg = POOR_BETA
    async with running(tmp_path, cfg) as e:
        await e.submit(block())  # beta's child refused for equity, failed over: none left
        summary = e.summary.as_dict(e.positions, 0)
        assert summary["signals_total"] == 1 and summary["signals_rejected"] == 0
        assert summary["blocks"]["blocks"] == 1 and summary["blocks"]["children"] == 2
        assert summary["blocks"]["children_refused"] == 1
        assert summary["rejections_by_code"] == {}  # no signal was refused: a child was
        assert summary["blocks"]["children_refused_by_code"] == {"INSUFFICIENT_EQUITY": 1}
        assert summary["per_account"]["alpha"]["positions"] == {"BTC/USDT": "0.010"}
        e.audit.flush()
        children = audit(tmp_path, "child_signal")
        assert [(c["account_id"], c["signal_id"]) for c in children] == [
            ("alpha", "s-1"), ("beta", "s-1")]
        assert [x["event"] for x in audit(tmp_path, "signal_received")] == ["signal_received"]


async def test_a_child_in_doubt_is_rerouted_only_once_the_venue_says_it_was_never_placed(
        tmp_path):
    from ordergate.venues.faults import Fault
    clock = SimulatedClock(T0)
    e = engine(tmp_path, config(group=FAILOVER), clock)
    alpha = client_order_id_for("momo", "alpha", "s-1")
    beta = client_order_id_for("momo", "beta", "s-1")
    try:
        await e.start()
        sim = unwrap(e.venues["sim"])
        sim.faults.inject("place", Fault.TIMEOUT_BEFORE_ACCEPT)  # the send is lost ...
        sim.faults.inject("fetch_order", Fault.UNAVAILABLE, times=8)  # ... and lookups fail
        sim.faults.inject("fetch_open_orders", Fault.UNAVAILABLE, times=8)
        await e.submit(block())
        for _ in range(12):
            status = e.journal.order(alpha)["status"]
            if status == "SUBMITTED":  # not known yet: beta gets nothing
                assert e.journal.order(beta) is None
            clock.advance(5)
            await e.tick()
        assert e.journal.order(alpha)["status"] == "FAILED"  # the venue never had it
        assert e.journal.order(beta)["status"] == "FILLED"
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0.095")
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_failover")
        assert line["to_account"] == "beta" and "FAILED" in line["reason"]
    finally:
        await e.close()


async def test_blocks_are_counted_in_the_metrics_by_outcome(tmp_path):
    cfg = config(accounts={"alpha": {"status": "paused"}, "beta": {"status": "paused"},
                           "gamma": {"status": "paused"}})
    async with running(tmp_path, cfg) as e:
        await e.submit(block())
        text = e.metrics.render()
        assert 'ordergate_blocks_total{group="desk",outcome="ALLOCATION_NO_ELIGIBLE_ACCOUNT"} 1.0' in text
