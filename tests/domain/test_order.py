"""Spec: one transition table; every status change goes through it and is recorded."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

import pytest

from ordergate.domain.order import (
    TERMINAL,
    TRANSITIONS,
    WORKING,
    IllegalTransition,
    Order,
    OrderStatus,
    OrderTransition,
)
from ordergate.domain.values import OrderType, Side, TimeInForce

S = OrderStatus
T0 = datetime(2026, 1, 2, tzinfo=UTC)

LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
ILLEGAL = sorted((a, b) for a, b in product(S, S) if b not in TRANSITIONS[a])

# A shortest legal path from PENDING to each status, to put an order there.
PATH_TO = {
    S.PENDING: [],
    S.SUBMITTED: [S.SUBMITTED],
    S.ACCEPTED: [S.SUBMITTED, S.ACCEPTED],
    S.PARTIALLY_FILLED: [S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED],
    S.FILLED: [S.SUBMITTED, S.FILLED],
    S.CANCEL_PENDING: [S.SUBMITTED, S.ACCEPTED, S.CANCEL_PENDING],
    S.PENDING_UPDATE: [S.SUBMITTED, S.ACCEPTED, S.PENDING_UPDATE],
    S.CANCELLED: [S.SUBMITTED, S.CANCELLED],
    S.REJECTED: [S.SUBMITTED, S.REJECTED],
    S.EXPIRED: [S.SUBMITTED, S.EXPIRED],
    S.FAILED: [S.FAILED],
    S.HELD: [S.HELD],
}


@pytest.fixture
def order():
    return _order()


def _order(quantity="2", price="100"):
    return Order(
        client_order_id="c-1", signal_id="sig-1", strategy_id="st", account_id="main",
        venue="sim", symbol="BTC/USDT", side=Side.BUY, order_type=OrderType.LIMIT,
        quantity=Decimal(quantity), price=Decimal(price), time_in_force=TimeInForce.GTC,
        created_at=T0,
    )


def _order_in(status):
    order = _order()
    for i, step in enumerate(PATH_TO[status]):
        order.transition(step, T0 + timedelta(seconds=i), "setup")
    assert order.status is status
    return order


def test_the_table_covers_every_status_and_the_paths_are_legal():
    assert set(TRANSITIONS) == set(S)
    assert set(PATH_TO) == set(S)
    assert len(LEGAL) + len(ILLEGAL) == len(S) ** 2


# ---------------------------------------------------------------- illegal (unhappy first)


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_every_transition_outside_the_table_raises_and_changes_nothing(source, target):
    order = _order_in(source)
    history = list(order.transitions)
    assert not order.can_transition(target)
    with pytest.raises(IllegalTransition) as info:
        order.transition(target, T0 + timedelta(minutes=1), "venue says so")
    assert order.status is source
    assert order.transitions == history
    message = str(info.value)
    assert "c-1" in message and str(source) in message and str(target) in message
    assert "venue says so" in message


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_status_has_no_exit(status):
    assert TRANSITIONS[status] == frozenset()
    assert status.is_terminal
    assert not status.is_working
    order = _order_in(status)
    for target in S:
        with pytest.raises(IllegalTransition):
            order.transition(target, T0, "late report")


def test_terminal_set_is_exactly_the_five_final_outcomes():
    assert TERMINAL == {S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.FAILED}


def test_working_statuses_are_live_and_not_terminal():
    assert WORKING == {S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCEL_PENDING, S.PENDING_UPDATE}
    assert all(s.is_working and not s.is_terminal for s in WORKING)
    assert not S.PENDING.is_working and not S.SUBMITTED.is_working


def test_pending_order_can_only_be_submitted_held_or_fail():
    assert TRANSITIONS[S.PENDING] == {S.SUBMITTED, S.FAILED, S.HELD}


def test_a_held_stop_is_neither_working_at_a_venue_nor_finished():
    # HELD: ordergate's own (an emulated stop): exposure and an open order, but no venue
    # has it, so nothing may poll one for it or call it missing there.
    assert not S.HELD.is_working and not S.HELD.is_terminal


def test_a_held_stop_can_only_be_sent_cancelled_expired_or_failed():
    # It was never sent, so it can never be ACCEPTED, filled or rejected by a venue, nor
    # wait for a cancel's answer: a cancel of it is local and final.
    assert TRANSITIONS[S.HELD] == {S.SUBMITTED, S.CANCELLED, S.EXPIRED, S.FAILED}
    for target in (S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.REJECTED, S.CANCEL_PENDING,
                   S.PENDING_UPDATE, S.PENDING):
        assert not _order_in(S.HELD).can_transition(target)


def test_an_order_cannot_be_accepted_before_it_was_submitted(order):
    with pytest.raises(IllegalTransition):
        order.transition(S.ACCEPTED, T0, "ack")


def test_a_working_order_cannot_be_declared_failed():
    # FAILED means the venue never saw it; once accepted that is no longer possible.
    for status in WORKING:
        assert not _order_in(status).can_transition(S.FAILED)


# ---------------------------------------------------------------- legal


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_every_transition_in_the_table_succeeds_and_is_recorded(source, target):
    order = _order_in(source)
    before = len(order.transitions)
    ts = T0 + timedelta(hours=1)
    assert order.can_transition(target)
    step = order.transition(target, ts, f"why {target}")
    assert step == OrderTransition(source, target, ts, f"why {target}")
    assert order.status is target
    assert order.transitions[-1] is step
    assert len(order.transitions) == before + 1


@pytest.mark.parametrize("target", [S.PARTIALLY_FILLED, S.FILLED])
def test_fill_after_cancel_request_is_a_legal_transition(target):
    order = _order_in(S.CANCEL_PENDING)
    order.transition(target, T0, "filled while the cancel travelled")
    assert order.status is target


def test_refused_cancel_returns_the_order_to_accepted():
    order = _order_in(S.CANCEL_PENDING)
    order.transition(S.ACCEPTED, T0, "cancel rejected: unknown order")
    assert order.status is S.ACCEPTED
    assert order.status.is_working


def test_submitted_straight_to_filled_when_the_ack_was_lost(order):
    order.transition(S.SUBMITTED, T0, "sent")
    order.transition(S.FILLED, T0 + timedelta(seconds=1), "fill report before ack")
    assert order.status is S.FILLED


def test_second_partial_fill_is_a_self_transition():
    order = _order_in(S.PARTIALLY_FILLED)
    order.transition(S.PARTIALLY_FILLED, T0, "another fill")
    assert [t.to_status for t in order.transitions[-2:]] == [S.PARTIALLY_FILLED] * 2


@pytest.mark.parametrize("status", [S.ACCEPTED, S.SUBMITTED, S.PENDING, S.FILLED])
def test_self_transition_is_illegal_except_for_partial_fills(status):
    with pytest.raises(IllegalTransition):
        _order_in(status).transition(status, T0, "again")


def test_history_records_every_step_in_order_with_timestamps_and_reasons(order):
    plan = [(S.SUBMITTED, "sent"), (S.ACCEPTED, "ack"), (S.PARTIALLY_FILLED, "fill 1"),
            (S.CANCEL_PENDING, "timeout"), (S.PARTIALLY_FILLED, "fill 2"), (S.FILLED, "fill 3")]
    for i, (status, reason) in enumerate(plan):
        order.transition(status, T0 + timedelta(seconds=i), reason)
    assert [(t.from_status, t.to_status) for t in order.transitions] == list(
        zip([S.PENDING] + [s for s, _ in plan[:-1]], [s for s, _ in plan])
    )
    assert [t.reason for t in order.transitions] == [r for _, r in plan]
    assert [t.ts for t in order.transitions] == [T0 + timedelta(seconds=i) for i in range(6)]


# ---------------------------------------------------------------- quantities


def test_new_order_has_nothing_filled_and_no_average_price(order):
    assert order.status is S.PENDING
    assert order.remaining_quantity == Decimal(2)
    assert order.average_price is None
    assert order.fees == {}
    assert order.transitions == []


def test_executions_accumulate_size_notional_fees_and_average(order):
    order.add_execution(Decimal(100), Decimal("0.5"), Decimal("0.01"), "USDT")
    order.add_execution(Decimal(102), Decimal("1.5"), Decimal("0.03"), "USDT")
    order.add_execution(Decimal(102), Decimal(0), Decimal("0.0001"), "BNB")
    assert order.filled_quantity == Decimal("2.0")
    assert order.remaining_quantity == 0
    assert order.filled_notional == Decimal("203.0")
    assert order.average_price == Decimal("101.5")
    assert order.fees == {"USDT": Decimal("0.04"), "BNB": Decimal("0.0001")}  # never added up


def test_add_execution_does_not_change_status(order):
    order.add_execution(Decimal(100), Decimal(2), Decimal(0))
    assert order.status is S.PENDING
    assert order.transitions == []


def test_average_price_is_exact_decimal():
    order = _order(quantity="3")
    for price in ("0.1", "0.2", "0.4"):
        order.add_execution(Decimal(price), Decimal(1), Decimal(0))
    assert order.average_price == Decimal("0.7") / 3
    assert order.remaining_quantity == 0
