"""Spec: a TWAP signal becomes a journaled parent whose slices are sent on schedule, each
once: through a halt, a cancel, a venue's refusal and a restart of the engine."""

from decimal import Decimal

from ordergate.domain.values import TradingState
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import child_client_order_id, client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote

D = Decimal
TWAP = {"name": "twap", "duration_s": 60, "slices": 5}
PARENT = client_order_id_for("momo", "main", "s-1")
QUOTES = [quote(0, "42000", "42001", "5")]


def _slice_id(leg):
    return child_client_order_id(PARENT, "slice", leg)


def _lines(s, event):
    return [line for line in s.audit() if line["event"] == event]


def _filled(s):
    return sum((D(c["filled_quantity"]) for c in s.engine.journal.children(PARENT)), D(0))


async def _run_out(s, seconds=12, ticks=6):
    for _ in range(ticks):
        await s.advance(seconds)


# ---------------------------------------------------------------- unhappy first


async def test_a_halt_mid_schedule_holds_the_slices_and_resuming_carries_on(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        outcome = await s.submit(algorithm=TWAP)
        assert outcome.admitted
        verdicts = {v["handler"]: v["reason"] for v in _lines(s, "handler_verdict")}
        assert "TWAP of 5 slices over 60 s started" in verdicts["executor"]
        s.engine.set_trading_state(TradingState.HALTED, "operator")
        await _run_out(s, ticks=3)
        assert set(s.venue.orders_per_client_id) == {_slice_id(0)}
        waiting = _lines(s, "algorithm_waiting")
        assert len(waiting) == 1 and "HALTED" in waiting[0]["reason"]
        s.engine.set_trading_state(TradingState.ACTIVE, "operator")
        await _run_out(s, ticks=6)
        assert s.venue.orders_per_client_id == {_slice_id(i): 1 for i in range(5)}
        assert _filled(s) == D("0.010")
        assert s.engine.journal.parent(PARENT)["status"] == "completed"


async def test_reducing_holds_a_slice_that_would_grow_the_position(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        s.engine.set_trading_state(TradingState.REDUCING, "drift")
        await _run_out(s, ticks=3)
        assert set(s.venue.orders_per_client_id) == {_slice_id(0)}
        assert "REDUCING" in _lines(s, "algorithm_waiting")[0]["reason"]


async def test_a_replayed_signal_finds_its_parent_and_is_refused(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        again = await s.submit(algorithm=TWAP)
    assert not again.admitted and again.code is R.DUPLICATE_SIGNAL
    assert PARENT in again.reason


async def test_cancelling_the_parent_sends_no_further_slice(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        await s.advance(12)
        assert await s.engine.cancel(PARENT, "operator")
        await _run_out(s)
        assert set(s.venue.orders_per_client_id) == {_slice_id(0), _slice_id(1)}
        assert s.engine.journal.parent(PARENT)["status"] == "cancelled"
        finished = _lines(s, "algorithm_finished")
        assert [f["decision"] for f in finished] == ["cancelled"]
        assert finished[0]["filled_quantity"] == "0.004"
        assert not await s.engine.cancel(PARENT, "again")


async def test_a_capped_slice_that_finds_nothing_within_the_cap_expires_and_the_next_follows(
        tmp_path):
    # The ask is above the cap: every IOC slice expires unfilled; the schedule goes on.
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm={**TWAP, "limit_price_cap": "41000"})
        await _run_out(s)
        assert s.venue.orders_per_client_id == {_slice_id(i): 1 for i in range(5)}
        assert _filled(s) == 0
        assert s.engine.journal.parent(PARENT)["status"] == "completed"


# ---------------------------------------------------------------- restart


async def test_a_twap_resumed_after_a_kill_mid_schedule_repeats_no_slice(tmp_path):
    s = Scenario(tmp_path, QUOTES)
    await s.engine.start()
    await s.submit(algorithm=TWAP)
    await s.advance(12)
    await s.engine.close()  # after two slices
    s.clock.advance(100)  # down for longer than the rest of the schedule
    s.engine = Engine(s.config, s.clock, venues={"sim": s.venue},
                      journal_path=tmp_path / "journal.sqlite")
    await s.engine.start()
    await s.engine.tick()
    # Not all at once: the rest keeps its pace, shifted by the downtime.
    assert set(s.venue.orders_per_client_id) == {_slice_id(0), _slice_id(1), _slice_id(2)}
    await _run_out(s)
    assert s.venue.orders_per_client_id == {_slice_id(i): 1 for i in range(5)}
    assert _filled(s) == D("0.010")
    assert s.engine.journal.parent(PARENT)["status"] == "completed"
    await s.engine.close()


async def test_a_slice_journaled_but_never_sent_before_a_crash_is_not_sent_twice(tmp_path):
    s = Scenario(tmp_path, QUOTES)
    await s.engine.start()
    await s.submit(algorithm=TWAP)
    # The crash: slice 1 journaled and committed, the process gone before its send.
    run = s.engine.twap._runs[PARENT]
    part = run.slices[1]
    s.clock.advance(12)
    real_submit = s.engine.executor.submit

    async def crash(venue, order):
        raise KeyboardInterrupt  # the process dies here

    s.engine.executor.submit = crash
    try:
        await s.engine.twap._send(run, part, s.venue)
    except KeyboardInterrupt:
        pass
    s.engine.executor.submit = real_submit
    s.engine.journal.commit()
    await s.engine.close()
    s.engine = Engine(s.config, s.clock, venues={"sim": s.venue},
                      journal_path=tmp_path / "journal.sqlite")
    await s.engine.start()
    await _run_out(s, ticks=8)
    assert all(n == 1 for n in s.venue.orders_per_client_id.values())
    assert _slice_id(1) in {c["client_order_id"] for c in s.engine.journal.children(PARENT)}
    assert {_slice_id(i) for i in (0, 2, 3, 4)} <= set(s.venue.orders_per_client_id)
    await s.engine.close()


# ---------------------------------------------------------------- the happy path


async def test_slices_are_sent_evenly_and_the_lineage_is_audited(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP)
        await _run_out(s)
        sent = _lines(s, "slice_sent")
        assert [(x["leg"], x["parent_id"], x["quantity"]) for x in sent] == [
            (i, PARENT, "0.002") for i in range(5)]
        assert [x["ts"][11:19] for x in sent] == ["00:00:00", "00:00:12", "00:00:24",
                                                  "00:00:36", "00:00:48"]
        assert _lines(s, "algorithm_started")[0]["client_order_id"] == PARENT
        assert _lines(s, "algorithm_finished")[0]["filled_quantity"] == "0.010"


async def test_the_same_twap_replayed_twice_writes_identical_audit_bytes(tmp_path):
    texts = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        async with Scenario(tmp_path / run, QUOTES) as s:
            await s.submit(algorithm=TWAP)
            await _run_out(s)
            s.engine.audit.flush()
        texts.append((tmp_path / run / "audit.jsonl").read_bytes())
    assert texts[0] == texts[1] and b"algorithm_finished" in texts[0]
