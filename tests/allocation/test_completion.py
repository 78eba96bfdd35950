"""Completion: a child that ends short (an IOC without the liquidity, a fill timeout) is
completed on its account, sized from the block's recorded fills and working orders."""

from contextlib import asynccontextmanager
from decimal import Decimal as D

from ordergate.clock import SimulatedClock
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.testing.scenario import T0, quote
from ordergate.venues.guarded import unwrap
from ordergate.venues.market_data import MarketData

from tests.allocation.test_blocks import audit, block, config, running

ONE = {"accounts": ["alpha"], "policy": "equal"}


def thin_engine(tmp, cfg, clock):
    # 0.03 at the ask now; a deep book ten seconds later
    market = MarketData([quote(0, "42000", "42001", "0.03"), quote(10, "42000", "42001", "50")])
    return Engine(cfg, clock, market=market, journal_path=tmp / "j.sqlite",
                  audit_path=tmp / "a.jsonl")


@asynccontextmanager
async def running_thin(tmp, cfg, clock):
    e = thin_engine(tmp, cfg, clock)
    try:
        await e.start()
        yield e
    finally:
        await e.close()


def ioc_block(**fields):
    return block(order_type="limit", limit_price=D("42001"), time_in_force="IOC", **fields)


def filled_by(e, account):
    return e.positions.quantity(account, "sim", "BTC/USDT")


async def test_an_ioc_child_short_of_liquidity_is_completed_to_exactly_the_block(tmp_path):
    clock = SimulatedClock(T0)
    async with running_thin(tmp_path, config(group=ONE), clock) as e:
        await e.submit(ioc_block())
        # the simulated venue offers 0.03 at the ask to each order: each completion is
        # sized from what the block has filled so far, never from the original quantity
        assert filled_by(e, "alpha") == D("0.100")
        e.audit.flush()
        lines = audit(tmp_path, "allocation_completion")
        assert [(x["decision"], x["quantity"], x["attempt"]) for x in lines] == [
            ("completed", "0.070", 1), ("completed", "0.040", 2), ("completed", "0.010", 3)]
        assert e.journal.active_parents("block") == []  # every child ended: done


async def test_completions_stop_at_max_attempts_and_say_so(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group=ONE)
    cfg = cfg.model_copy(update={"allocation": cfg.allocation.model_copy(update={
        "completion": cfg.allocation.completion.model_copy(update={"max_attempts": 2})})})
    async with running_thin(tmp_path, cfg, clock) as e:
        await e.submit(ioc_block())
        assert filled_by(e, "alpha") == D("0.090")
        e.audit.flush()
        lines = audit(tmp_path, "allocation_completion")
        assert [x["decision"] for x in lines] == ["completed", "completed", "not_completed"]
        assert "2 completions made: no more" in lines[-1]["reason"]


async def test_completion_fills_the_rest_when_the_book_refills_and_never_more(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group=ONE)
    cfg = cfg.model_copy(update={"reconciler": cfg.reconciler.model_copy(
        update={"fill_timeout_s": 5.0})})
    async with running_thin(tmp_path, cfg, clock) as e:
        # a GTC limit: 0.03 fills now, 0.07 rests, is cancelled after the fill timeout ...
        await e.submit(block(order_type="limit", limit_price=D("42001")))
        assert filled_by(e, "alpha") == D("0.03")
        clock.advance(6)
        await e.tick()  # ... and completed with a new order for the 0.07, resting too
        clock.advance(5)
        await e.tick()  # the book refills at 10 s: the completion fills
        assert filled_by(e, "alpha") == D("0.100")
        counts = unwrap(e.venues["sim"]).orders_per_client_id
        assert sorted(counts.values()) == [1, 1]
        first = client_order_id_for("momo", "alpha", "s-1")
        assert e.journal.order(first)["status"] == "CANCELLED"


async def test_an_operator_cancel_is_not_completed(tmp_path):
    clock = SimulatedClock(T0)
    async with running_thin(tmp_path, config(group=ONE), clock) as e:
        await e.submit(block(order_type="limit", limit_price=D("42001")))
        first = client_order_id_for("momo", "alpha", "s-1")
        assert await e.cancel(first, "changed my mind")
        e.audit.flush()
        assert audit(tmp_path, "allocation_completion") == []
        assert len(unwrap(e.venues["sim"]).orders_per_client_id) == 1


async def test_no_completion_after_the_timeout(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group=ONE)
    cfg = cfg.model_copy(update={
        "reconciler": cfg.reconciler.model_copy(update={"fill_timeout_s": 40.0}),
        "allocation": cfg.allocation.model_copy(update={"completion": cfg.allocation.completion.
                                                        model_copy(update={"timeout_s": 30.0})})})
    market = MarketData([quote(0, "42000", "42001", "0.03"), quote(100, "42000", "42001", "50")])
    e = Engine(cfg, clock, market=market, journal_path=tmp_path / "j.sqlite",
               audit_path=tmp_path / "a.jsonl")
    try:
        await e.start()
        await e.submit(block(order_type="limit", limit_price=D("42001")))
        clock.advance(41)
        await e.tick()  # cancelled at 40 s, the block is 41 s old: not completed
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_completion")
        assert line["decision"] == "not_completed" and "completion.timeout_s" in line["reason"]
        assert e.journal.active_parents("block") == []
    finally:
        await e.close()


async def test_a_completion_is_sized_from_the_blocks_fills_and_working_orders(tmp_path):
    """Two accounts; alpha's child ends short while beta's still works: alpha's completion
    is for alpha's shortfall only, and the block's filled quantity never passes the block."""
    clock = SimulatedClock(T0)
    cfg = config(group={"accounts": ["alpha", "beta"], "policy": "equal"})
    async with running_thin(tmp_path, cfg, clock) as e:
        await e.submit(ioc_block())
        total = filled_by(e, "alpha") + filled_by(e, "beta")
        assert total <= D("0.100")
        e.audit.flush()
        for line in audit(tmp_path, "allocation_completion"):
            if line["quantity"] is not None:
                assert D(line["quantity"]) <= D("0.050")


async def test_a_completion_for_an_account_paused_since_goes_to_the_next_free_one(tmp_path):
    clock = SimulatedClock(T0)
    cfg = config(group={"accounts": ["alpha", "beta"], "policy": "failover"})
    cfg = cfg.model_copy(update={"reconciler": cfg.reconciler.model_copy(
        update={"fill_timeout_s": 5.0})})
    async with running_thin(tmp_path, cfg, clock) as e:
        await e.submit(block(order_type="limit", limit_price=D("42001")))  # alpha takes all
        assert filled_by(e, "alpha") == D("0.03")
        await e.set_account_status("alpha", "paused", "margin call", by="ops")  # left working
        clock.advance(6)
        await e.tick()  # alpha's child times out: the rest goes to beta, not to alpha
        clock.advance(5)
        await e.tick()
        assert filled_by(e, "alpha") == D("0.03")
        assert filled_by(e, "beta") == D("0.070")
        e.audit.flush()
        (line,) = audit(tmp_path, "allocation_completion")
        assert line["to_account"] == "beta"


async def test_a_failover_never_goes_to_an_account_paused_since_the_block_was_judged(tmp_path):
    from tests.allocation.test_blocks import FAILOVER, failover_config
    async with running_thin(tmp_path, failover_config(), SimulatedClock(T0)) as e:
        real = e.blocks._run_child

        async def pause_beta_first(child, parent_id):
            if child.account_id == "alpha":
                await e.set_account_status("beta", "paused", "ops", by="ops")
            return await real(child, parent_id)

        e.blocks._run_child = pause_beta_first
        await e.submit(block())  # alpha refused for equity: beta is paused now, gamma takes it
        assert filled_by(e, "beta") == D(0)
        assert filled_by(e, "gamma") > 0
        assert FAILOVER["policy"] == "failover"


async def test_cancelling_a_block_cancels_its_working_children_and_completes_nothing(tmp_path):
    clock = SimulatedClock(T0)
    e = thin_engine(tmp_path, config(group={"accounts": ["alpha", "beta"], "policy": "equal"}),
                    clock)
    try:
        await e.start()
        await e.submit(block(order_type="limit", limit_price=D("42001")))  # both rest, partly
        parent_id = client_order_id_for("momo", "desk", "s-1")
        assert await e.cancel(parent_id, "strategy changed its mind")
        for account in ("alpha", "beta"):
            order = e.journal.order(client_order_id_for("momo", account, "s-1"))
            assert order["status"] == "CANCELLED"
        clock.advance(15)
        await e.tick()
        e.audit.flush()
        assert audit(tmp_path, "allocation_completion") == []
        assert e.journal.parent(parent_id)["status"] == "cancelled"
        assert not await e.cancel(parent_id, "again")  # over: nothing to cancel
    finally:
        await e.close()


async def test_a_late_fill_of_the_ended_child_is_counted_before_the_completion_is_sized(tmp_path):
    """The venue fills 0.02 more of the resting child at 3 s, but its trades cannot be read
    (fetch_fills fails) when the fill timeout cancels it: the child is not closed before
    its fills are all seen, so the completion waits, and is for 0.05, not 0.07."""
    from ordergate.venues.faults import Fault
    clock = SimulatedClock(T0)
    cfg = config(group=ONE)
    cfg = cfg.model_copy(update={"reconciler": cfg.reconciler.model_copy(
        update={"fill_timeout_s": 5.0})})
    market = MarketData([quote(0, "42000", "42001", "0.03"), quote(3, "42000", "42001", "0.02"),
                         quote(20, "42000", "42001", "50")])
    e = Engine(cfg, clock, market=market, journal_path=tmp_path / "j.sqlite",
               audit_path=tmp_path / "a.jsonl")
    try:
        await e.start()
        await e.submit(block(order_type="limit", limit_price=D("42001")))
        assert filled_by(e, "alpha") == D("0.03")
        sim = unwrap(e.venues["sim"])
        sim.faults.inject("fetch_fills", Fault.UNAVAILABLE, times=4)
        for _ in range(4):  # 3 s: the venue fills 0.02; 6 s: the fill timeout's cancel
            clock.advance(1.5)
            await e.tick()
        e.audit.flush()
        assert audit(tmp_path, "allocation_completion") == []  # its fills are not all seen
        for _ in range(6):
            clock.advance(1.5)
            await e.tick()
        e.audit.flush()
        first = audit(tmp_path, "allocation_completion")[0]
        assert (first["decision"], first["quantity"]) == ("completed", "0.050")
        clock.advance(20)
        await e.tick()
        assert filled_by(e, "alpha") == D("0.100")  # never more than the block
    finally:
        await e.close()
