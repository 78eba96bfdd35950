"""Spec: a TWAP signal's `expires_at` ends its schedule. A schedule that cannot fit before
it is refused; one pushed past it (a halt, a restart) sends nothing at or after it and
ends `expired`, saying what was sent, filled and left; its slices obey the same
good-till-date as a plain order; and a restart after it sends nothing."""

import json
from datetime import timedelta
from decimal import Decimal

from ordergate.domain.order import OrderStatus
from ordergate.domain.values import TradingState
from ordergate.engine import Engine
from ordergate.pipeline.client_order_id import child_client_order_id, client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import T0, Scenario, quote
from ordergate.venues.faults import Fault

D = Decimal
TWAP = {"name": "twap", "duration_s": 60, "slices": 5}  # slices due at 0, 12, 24, 36, 48 s
PARENT = client_order_id_for("momo", "main", "s-1")
KEY = ("main", "sim", "BTC/USDT")
QUOTES = [quote(0, "42000", "42001", "5")]
EXPIRY = T0 + timedelta(seconds=49)


def _slice_id(leg):
    return child_client_order_id(PARENT, "slice", leg)


def _finished(s):
    return [line for line in s.audit() if line["event"] == "algorithm_finished"]


def _sent(s):
    return set(s.venue.orders_per_client_id)


def _restart(s, tmp_path):
    s.engine = Engine(s.config, s.clock, venues={"sim": s.venue},
                      journal_path=tmp_path / "journal.sqlite")
    return s.engine.start()


# ---------------------------------------------------------------- admission


async def test_a_schedule_whose_last_slice_is_due_at_the_expiry_is_refused_not_truncated(
        tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        refused = await s.submit(algorithm=TWAP, expires_at=T0 + timedelta(seconds=48))
        assert s.engine.journal.parent(PARENT) is None and _sent(s) == set()
        assert s.engine.ledger.working.reservations == 0
        admitted = await s.submit(signal_id="s-2", algorithm=TWAP,
                                  expires_at=T0 + timedelta(seconds=48, microseconds=1))
    assert not refused.admitted and refused.code is R.SCHEDULE_PAST_EXPIRY
    assert "would be due at 2026-01-02T00:00:48+00:00" in refused.reason
    assert admitted.admitted


# ---------------------------------------------------------------- at the expiry


async def test_a_halt_that_outlasts_the_expiry_ends_the_parent_expired_with_what_was_left(
        tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP, expires_at=EXPIRY)
        await s.advance(12)  # slices 0 and 1
        s.engine.set_trading_state(TradingState.HALTED, "operator")
        for _ in range(3):
            await s.advance(12)  # to 48 s: slices 2 to 4 held
        s.engine.set_trading_state(TradingState.ACTIVE, "operator")
        await s.advance(1)  # exactly the expiry: slice 2 is due, and is not sent
        assert _sent(s) == {_slice_id(0), _slice_id(1)}
        assert s.engine.journal.parent(PARENT)["status"] == "expired"
        assert s.engine.ledger.working.totals(KEY) is None  # the remainder: exactly gone
        await s.advance(60)
        assert _sent(s) == {_slice_id(0), _slice_id(1)}
        finished = _finished(s)
    assert [f["decision"] for f in finished] == ["expired"]
    assert finished[0]["filled_quantity"] == "0.004"
    assert finished[0]["reason"].startswith(
        "expires_at 2026-01-02T00:00:49+00:00 ended the schedule: 2 of 5 slices sent "
        "(0.004 of 0.010 BTC/USDT), 0.004 filled, 0.006 left unsent")


async def test_a_slice_carries_the_signals_expiry_as_a_plain_order_does(tmp_path):
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP, expires_at=EXPIRY)
        order = s.engine.ledger.get(_slice_id(0))
        spec = json.loads(s.engine.journal.parent(PARENT)["spec"])
    assert order is not None and order.expires_at == EXPIRY
    assert spec["expires_at"] == "2026-01-02T00:00:49+00:00"


async def test_a_slice_still_unresolved_at_the_expiry_is_waited_for_and_its_fill_counted(
        tmp_path):
    # Slice 3, sent at 48.5 s after a halt, has an unknown fate at the expiry (the reply
    # was lost, the lookups fail for a while). The parent sends nothing more and reserves
    # nothing, but is expired only once that slice has ended: its fill is in the total.
    async with Scenario(tmp_path, QUOTES) as s:
        await s.submit(algorithm=TWAP, expires_at=EXPIRY)
        await s.advance(12)
        await s.advance(12)  # slices 0 to 2
        s.engine.set_trading_state(TradingState.HALTED, "operator")
        await s.advance(24)  # 48 s: slices 3 and 4 held
        s.engine.set_trading_state(TradingState.ACTIVE, "operator")
        s.venue.faults.inject("place", Fault.TIMEOUT_AFTER_ACCEPT)
        s.venue.faults.inject("fetch_order", Fault.UNAVAILABLE, times=20)
        await s.advance(0.5)
        assert _sent(s) == {_slice_id(i) for i in range(4)}
        await s.advance(0.5)  # the expiry
        assert s.engine.ledger.get(_slice_id(3)).status is OrderStatus.SUBMITTED
        assert s.engine.journal.parent(PARENT)["status"] == "active"
        assert s.engine.ledger.working.reserved(PARENT) == 0
        assert s.engine.exposures.of(*KEY).working_buy == D("0.002")  # slice 3 only
        s.venue.faults.clear()
        for _ in range(5):
            await s.advance(1)
        assert _sent(s) == {_slice_id(i) for i in range(4)}
        assert s.engine.journal.parent(PARENT)["status"] == "expired"
        assert s.engine.ledger.working.totals(KEY) is None
        finished = _finished(s)
    assert finished[0]["filled_quantity"] == "0.008"
    assert "4 of 5 slices sent (0.008 of 0.010 BTC/USDT), 0.008 filled, 0.002 left" in (
        finished[0]["reason"])


# ---------------------------------------------------------------- restart


async def test_a_restart_after_the_expiry_expires_the_parent_without_sending(tmp_path):
    s = Scenario(tmp_path, QUOTES)
    await s.engine.start()
    await s.submit(algorithm=TWAP, expires_at=EXPIRY)
    await s.advance(12)  # slices 0 and 1
    await s.engine.close()
    s.clock.advance(100)  # down past the expiry
    await _restart(s, tmp_path)
    assert s.engine.journal.parent(PARENT)["status"] == "expired"  # at the start already
    assert s.engine.ledger.working.reservations == 0
    for _ in range(6):
        await s.advance(12)
    assert _sent(s) == {_slice_id(0), _slice_id(1)}
    finished = _finished(s)
    assert [f["decision"] for f in finished] == ["expired"]
    assert "2 of 5 slices sent (0.004 of 0.010 BTC/USDT), 0.004 filled, 0.006 left unsent" in (
        finished[0]["reason"])
    await s.engine.close()


async def test_a_restart_whose_shift_carries_the_schedule_past_the_expiry_stops_there(tmp_path):
    s = Scenario(tmp_path, QUOTES)
    await s.engine.start()
    await s.submit(algorithm=TWAP, expires_at=EXPIRY)
    await s.advance(12)  # slices 0 and 1
    await s.engine.close()
    s.clock.advance(28)  # back at 40 s: slice 2 (due 24 s) goes now, the rest 16 s later
    await _restart(s, tmp_path)
    assert s.engine.ledger.working.reserved(PARENT) == D("0.006")
    await s.engine.tick()
    assert _sent(s) == {_slice_id(i) for i in range(3)}
    await s.advance(8)  # 48 s: slice 3 is due at 52 s
    assert s.engine.journal.parent(PARENT)["status"] == "active"
    assert s.engine.ledger.working.reserved(PARENT) == D("0.004")
    await s.advance(1)  # 49 s
    assert s.engine.journal.parent(PARENT)["status"] == "expired"
    await s.advance(30)
    assert _sent(s) == {_slice_id(i) for i in range(3)}
    assert s.engine.ledger.working.totals(KEY) is None
    await s.engine.close()
