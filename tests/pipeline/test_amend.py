"""Amend: a working order's quantity or price changed by an explicit, journaled
cancel-then-replace, its legs never filling more than the amended total."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.order import OrderStatus as S
from ordergate.domain.values import OrderRole
from ordergate.pipeline.reasons import ReasonCode as R
from ordergate.testing.scenario import Scenario, quote
from ordergate.venues.faults import Fault

D = Decimal
RESTING = {"order_type": "limit", "limit_price": D("41900"), "stop_loss": D("40000"),
           "take_profit": D("45000")}


def _lines(s, event):
    return [line for line in s.audit() if line["event"] == event]


async def test_an_unknown_or_finished_order_is_not_amended(tmp_path):
    async with Scenario(tmp_path) as s:
        filled = (await s.submit()).order
        assert filled.status is S.FILLED
        for cid in ("no-such-order", filled.client_order_id):
            outcome = await s.engine.amend(cid, quantity=D("0.02"))
            assert not outcome.done and outcome.code is R.AMEND_NOT_WORKING


async def test_nothing_to_change_below_filled_and_a_price_on_a_market_order_are_refused(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        order = (await s.submit(**RESTING)).order
        same = await s.engine.amend(order.client_order_id, quantity=D("0.010"), price=D("41900"))
        assert same.code is R.AMEND_NOTHING_TO_CHANGE
        await s.advance(6)
        await s.advance(1)
        assert order.filled_quantity == D("0.004")
        below = await s.engine.amend(order.client_order_id, quantity=D("0.004"))
        assert below.code is R.AMEND_BELOW_FILLED and "0.004 already filled" in below.reason
        assert order.status is S.PARTIALLY_FILLED  # left as it was
        assert [line["code"] for line in _lines(s, "order_modify_rejected")] == [
            "AMEND_NOTHING_TO_CHANGE", "AMEND_BELOW_FILLED"]


async def test_halted_amends_nothing_and_reducing_never_grows_an_order(tmp_path):
    async with Scenario(tmp_path) as s:
        order = (await s.submit(**RESTING)).order
        s.engine.set_trading_state("HALTED", "test")
        assert (await s.engine.amend(order.client_order_id, price=D("41950"))).code is R.TRADING_HALTED
        s.engine.set_trading_state("REDUCING", "test")
        assert (await s.engine.amend(order.client_order_id, quantity=D("0.02"))).code is R.REDUCE_ONLY
        assert order.status is S.ACCEPTED and order.price == D("41900")


async def test_a_new_price_cancels_the_leg_and_sends_the_next_one_with_its_lineage(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        outcome = await s.engine.amend(old.client_order_id, price=D("41950.004"))
        assert outcome.done and outcome.code is None
        new = outcome.order
        assert old.status is S.CANCELLED
        assert [t.to_status for t in old.transitions][-3:] == [
            S.PENDING_UPDATE, S.CANCEL_PENDING, S.CANCELLED]
        assert (new.parent_id, new.role, new.leg) == (old.client_order_id, OrderRole.AMENDMENT, 1)
        assert (new.price, new.quantity, new.status) == (D("41950.00"), D("0.010"), S.ACCEPTED)
        assert new.signal_id == old.signal_id
        (updated,) = _lines(s, "order_updated")
        assert updated["new_client_order_id"] == new.client_order_id
        again = await s.engine.amend(new.client_order_id, quantity=D("0.006"))
        assert again.done and (again.order.leg, again.order.quantity) == (2, D("0.006"))
        assert again.order.parent_id == old.client_order_id  # every leg points at the root
        assert s.venue.orders_per_client_id[again.order.client_order_id] == 1


async def test_a_fill_racing_the_amend_sizes_the_replacement_from_recorded_fills(tmp_path):
    """The venue fills 0.004 after the last poll and before the amend's cancel: the
    engine learns of it from the cancel's answer, and the new leg is sent for what is left
    of the new total, never for the new total itself."""
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5", ask_size="0.004")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)
        s.venue.advance()  # the venue fills; the engine has not polled
        assert old.filled_quantity == 0
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.008"))
        new = outcome.order
        assert old.status is S.CANCELLED and old.filled_quantity == D("0.004")
        assert new.quantity == D("0.004")  # 0.008 in total, 0.004 already filled
        total = old.filled_quantity + new.quantity
        assert total == D("0.008")


async def test_an_amend_too_late_because_the_order_filled_sends_nothing(tmp_path):
    quotes = [quote(0, "42000", "42001", "5"), quote(5, "41899", "41900", "5")]
    async with Scenario(tmp_path, quotes) as s:
        old = (await s.submit(**RESTING)).order
        s.clock.advance(6)
        s.venue.advance()  # filled in full at the venue, not yet seen
        outcome = await s.engine.amend(old.client_order_id, quantity=D("0.02"))
        assert outcome.code is R.AMEND_TOO_LATE and old.status is S.FILLED
        assert s.engine.journal.children(old.client_order_id) == []


async def test_a_lost_cancel_answer_holds_the_replacement_until_the_venue_confirms(tmp_path):
    async with Scenario(tmp_path) as s:
        old = (await s.submit(**RESTING)).order
        s.venue.faults.inject("cancel", Fault.TIMEOUT_BEFORE_ACCEPT)
        outcome = await s.engine.amend(old.client_order_id, price=D("41950"))
        assert outcome.done and outcome.pending and old.status is S.CANCEL_PENDING
        assert s.engine.journal.children(old.client_order_id) == []  # nothing sent beside it
        await s.advance(1)  # the poll asks again; cancelled, the replacement goes out
        assert old.status is S.CANCELLED
        (row,) = s.engine.journal.children(old.client_order_id)
        assert (row["role"], row["leg"], row["price"], row["status"]) == (
            "amendment", 1, "41950.00", "ACCEPTED")


async def test_a_brackets_exit_is_not_amended_by_hand(tmp_path):
    async with Scenario(tmp_path) as s:
        entry = (await s.submit(protect=True)).order
        exit_id = s.engine.journal.children(entry.client_order_id)[0]["client_order_id"]
        outcome = await s.engine.amend(exit_id, quantity=D("0.005"))
        assert outcome.code is R.AMEND_NOT_AMENDABLE
