"""Pause and resume, of an account and of a group, at run time: audited with who and why."""

from decimal import Decimal as D

import pytest

from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R

from tests.allocation.test_blocks import audit, block, config, running


async def test_an_unknown_name_or_status_is_an_error_and_changes_nothing(tmp_path):
    async with running(tmp_path, config()) as e:
        with pytest.raises(KeyError):
            await e.set_account_status("nobody", "paused", "typo")
        with pytest.raises(ValueError):
            await e.set_account_status("alpha", "asleep", "typo")
        assert e.pauses.accounts == set()


async def test_a_paused_account_takes_no_child_and_its_share_goes_to_the_others(tmp_path):
    async with running(tmp_path, config(group={"accounts": ["alpha", "beta"], "policy": "equal"})) as e:
        await e.set_account_status("alpha", "paused", "margin call", by="ops")
        outcome = await e.submit(block())
        assert outcome.admitted
        assert e.positions.quantity("alpha", "sim", "BTC/USDT") == D(0)
        assert e.positions.quantity("beta", "sim", "BTC/USDT") == D("0.100")
        await e.set_account_status("alpha", "active", "margin restored", by="ops")
        await e.submit(block(signal_id="s-2"))
        assert e.positions.quantity("alpha", "sim", "BTC/USDT") == D("0.050")
        e.audit.flush()
        lines = audit(tmp_path, "account_status")
        assert [(x["name"], x["decision"], x["by"]) for x in lines] == [
            ("alpha", "paused", "ops"), ("alpha", "active", "ops")]
        assert lines[0]["reason"] == "account alpha paused: margin call"


async def test_a_paused_group_refuses_its_blocks_whole(tmp_path):
    async with running(tmp_path, config()) as e:
        await e.set_account_status("desk", "paused", "end of day", by="ops")
        outcome = await e.submit(block())
        assert (outcome.admitted, outcome.code) == (False, R.ALLOCATION_GROUP_PAUSED)
        await e.set_account_status("desk", "active", "morning", by="ops")
        assert (await e.submit(block(signal_id="s-2"))).admitted


async def test_pausing_may_cancel_the_working_orders_of_what_it_covers(tmp_path):
    async with running(tmp_path, config(group={"accounts": ["alpha", "beta"], "policy": "equal"})) as e:
        resting = block(order_type="limit", limit_price=D("41500"), stop_loss=D("40000"),
                        take_profit=D("44000"))
        assert (await e.submit(resting)).admitted
        alpha = client_order_id_for("momo", "alpha", "s-1")
        beta = client_order_id_for("momo", "beta", "s-1")
        assert e.ledger.get(alpha).status.value == "ACCEPTED"
        left = await e.set_account_status("beta", "paused", "leave it", by="ops")
        assert left == () and e.ledger.get(beta).status.value == "ACCEPTED"
        cancelled = await e.set_account_status("desk", "paused", "flatten", by="ops",
                                               cancel_working=True)
        assert sorted(cancelled) == sorted([alpha, beta])
        assert e.journal.order(alpha)["status"] == "CANCELLED"
        e.audit.flush()
        last = audit(tmp_path, "account_status")[-1]
        assert last["kind"] == "group" and sorted(last["cancelled"]) == sorted([alpha, beta])


async def test_a_pause_survives_a_restart_and_a_resume_is_kept_too(tmp_path):
    from ordergate.clock import SimulatedClock
    from ordergate.engine import Engine
    from ordergate.testing.scenario import T0
    clock = SimulatedClock(T0)
    cfg = config(group={"accounts": ["alpha", "beta"], "policy": "equal"})
    async with running(tmp_path, cfg, clock) as e:
        await e.set_account_status("alpha", "paused", "investigating", by="ops")
        await e.set_account_status("desk", "paused", "end of day", by="ops")
        await e.set_account_status("desk", "active", "morning", by="ops")
    again = Engine(cfg, clock, venues=e.venues, journal_path=tmp_path / "j.sqlite",
                   audit_path=tmp_path / "a2.jsonl")
    try:
        await again.start()
        assert again.pauses.accounts == {"alpha"} and again.pauses.groups == set()
        await again.submit(block())
        assert again.positions.quantity("alpha", "sim", "BTC/USDT") == D(0)
        assert again.positions.quantity("beta", "sim", "BTC/USDT") == D("0.100")
    finally:
        await again.close()


async def test_config_pauses_an_account_at_every_start_whatever_was_resumed(tmp_path):
    from ordergate.clock import SimulatedClock
    from ordergate.engine import Engine
    from ordergate.testing.scenario import T0
    clock = SimulatedClock(T0)
    cfg = config(accounts={"alpha": {"status": "paused"}, "beta": {}, "gamma": {}})
    async with running(tmp_path, cfg, clock) as e:
        await e.set_account_status("alpha", "active", "for today", by="ops")
        assert e.pauses.accounts == set()
    again = Engine(cfg, clock, venues=e.venues, journal_path=tmp_path / "j.sqlite",
                   audit_path=tmp_path / "a2.jsonl")
    try:
        await again.start()
        assert again.pauses.accounts == {"alpha"}
    finally:
        await again.close()
