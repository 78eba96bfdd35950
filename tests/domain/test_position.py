"""Spec: a position is built from fills only; PnL is realised against the average entry;
fees are kept per currency."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.domain.fill import Fill
from ordergate.domain.position import Position
from ordergate.domain.values import Liquidity, Side

D = Decimal
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _fill(side, quantity, price, fee="0", trade_id="t", fee_currency="USDT", symbol="BTC/USDT"):
    return Fill("c-1", trade_id, "main", "sim", symbol, side, D(price), D(quantity),
                D(fee), fee_currency, Liquidity.TAKER, T0)


@pytest.fixture
def position():
    return Position("main", "sim", "BTC/USDT")


def test_new_position_is_flat(position):
    assert position.is_flat
    assert position.quantity == 0 and position.realized_pnl == 0 and position.fees == {}
    assert position.fill_count == 0
    assert position.unrealized_pnl(D(123)) == 0


@pytest.mark.parametrize(
    ("entry_side", "entry", "exit", "qty", "pnl"),
    [
        (Side.BUY, "100", "110", "2", "20"),
        (Side.BUY, "100", "90", "2", "-20"),
        (Side.SELL, "100", "90", "2", "20"),
        (Side.SELL, "100", "110", "2", "-20"),
        (Side.BUY, "0.1", "0.3", "0.5", "0.1"),
    ],
)
def test_round_trip_realises_exit_minus_entry_times_quantity_signed_by_direction(
    position, entry_side, entry, exit, qty, pnl
):
    assert position.apply(_fill(entry_side, qty, entry)) == 0
    realized = position.apply(_fill(entry_side.opposite, qty, exit))
    direction = 1 if entry_side is Side.BUY else -1
    assert realized == (D(exit) - D(entry)) * D(qty) * direction == D(pnl)
    assert position.realized_pnl == D(pnl)
    assert position.is_flat
    assert position.average_entry == 0


def test_adding_to_a_position_moves_the_average_entry(position):
    position.apply(_fill(Side.BUY, "1", "100"))
    position.apply(_fill(Side.BUY, "3", "104"))
    assert position.quantity == D(4)
    assert position.average_entry == D(103)
    assert position.unrealized_pnl(D(105)) == D(8)


def test_adding_to_a_short_moves_the_average_entry(position):
    position.apply(_fill(Side.SELL, "1", "100"))
    position.apply(_fill(Side.SELL, "1", "110"))
    assert position.quantity == D(-2)
    assert position.average_entry == D(105)
    assert position.unrealized_pnl(D(100)) == D(10)


def test_partial_reduction_realises_against_the_average_and_keeps_it(position):
    position.apply(_fill(Side.BUY, "2", "100"))
    assert position.apply(_fill(Side.SELL, "0.5", "120")) == D(10)
    assert position.quantity == D("1.5")
    assert position.average_entry == D(100)


@pytest.mark.parametrize(
    ("first", "second", "pnl", "new_quantity"),
    [
        ((Side.BUY, "1", "100"), (Side.SELL, "3", "110"), "10", "-2"),
        ((Side.SELL, "1", "100"), (Side.BUY, "3", "110"), "-10", "2"),
    ],
)
def test_crossing_through_zero_closes_the_old_and_opens_the_opposite_at_fill_price(
    position, first, second, pnl, new_quantity
):
    position.apply(_fill(*first))
    assert position.apply(_fill(*second)) == D(pnl)
    assert position.quantity == D(new_quantity)
    assert position.average_entry == D(second[2])
    # the new position then realises from the crossing price
    closing = Side.BUY if D(new_quantity) < 0 else Side.SELL
    assert position.apply(_fill(closing, abs(D(new_quantity)), "110")) == 0
    assert position.is_flat


def test_fees_accumulate_separately_from_realised_pnl(position):
    position.apply(_fill(Side.BUY, "1", "100", fee="0.05"))
    position.apply(_fill(Side.SELL, "1", "101", fee="0.0505"))
    assert position.fees == {"USDT": D("0.1005")}
    assert position.realized_pnl == D(1)
    assert position.fill_count == 2


def test_fees_in_different_currencies_are_kept_apart(position):
    position.apply(_fill(Side.BUY, "0.5", "50001", fee="0.0005", fee_currency="BTC"))
    position.apply(_fill(Side.BUY, "0.2", "50002", fee="0.0002", fee_currency="BTC"))
    position.apply(_fill(Side.SELL, "0.2", "49999", fee="9.9998", fee_currency="USDT"))
    assert position.fees == {"BTC": D("0.0007"), "USDT": D("9.9998")}


def test_a_fill_without_a_fee_records_no_fee_currency(position):
    position.apply(_fill(Side.BUY, "1", "100", fee="0", fee_currency="USDT"))
    assert position.fees == {}


_FILLS = st.lists(
    st.tuples(
        st.sampled_from(list(Side)),
        st.decimals(min_value=D("0.001"), max_value=D("100"), places=3),
        st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
        st.decimals(min_value=D("0"), max_value=D("1"), places=4),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(fills=_FILLS)
def test_quantity_is_the_sum_of_signed_fills_and_fees_the_sum_of_fees(fills):
    position = Position("main", "sim", "BTC/USDT")
    for side, quantity, price, fee in fills:
        position.apply(_fill(side, quantity, price, fee))
    assert position.quantity == sum((q * s.sign for s, q, _, _ in fills), D(0))
    assert position.fees == ({"USDT": sum((f for *_, f in fills), D(0))} if any(f for *_, f in fills) else {})
    assert position.fill_count == len(fills)
    if position.is_flat:
        assert position.average_entry == 0


@settings(max_examples=200, deadline=None)
@given(fills=_FILLS, mark=st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2))
def test_flattening_at_any_mark_realises_exactly_the_unrealised_pnl(fills, mark):
    position = Position("main", "sim", "BTC/USDT")
    for side, quantity, price, _ in fills:
        position.apply(_fill(side, quantity, price))
    expected = position.realized_pnl + position.unrealized_pnl(mark)
    if not position.is_flat:
        side = Side.SELL if position.quantity > 0 else Side.BUY
        position.apply(_fill(side, abs(position.quantity), mark))
    assert position.is_flat
    assert abs(position.realized_pnl - expected) < D("1e-15")


@settings(max_examples=100, deadline=None)
@given(fills=_FILLS)
def test_cash_flow_equals_realised_pnl_once_flat(fills):
    """Whatever the path, when flat the realised PnL equals the net cash flow."""
    position = Position("main", "sim", "BTC/USDT")
    cash = D(0)
    for side, quantity, price, _ in fills:
        position.apply(_fill(side, quantity, price))
        cash -= side.sign * quantity * price
    if position.is_flat:
        assert abs(position.realized_pnl - cash) < D("1e-15")
