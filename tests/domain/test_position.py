"""Spec: a position is built from fills only; PnL is realised against the average entry;
the quantity is what the account holds (a commission in the base asset comes off it);
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


# ---------------------------------------------------------------- commission in the base asset


def test_buy_paying_commission_in_the_base_asset_holds_the_quantity_less_the_fee(position):
    realized = position.apply(_fill(Side.BUY, "0.7", "50000", fee="0.0007", fee_currency="BTC"))
    assert position.quantity == D("0.6993")  # what the account received
    assert position.average_entry == D("50000")  # the fee is sold at the fill price
    assert realized == 0 and position.realized_pnl == 0
    assert position.fees == {"BTC": D("0.0007")}


def test_sell_paying_commission_in_the_base_asset_reduces_by_quantity_plus_fee(position):
    position.apply(_fill(Side.BUY, "1", "100"))
    realized = position.apply(_fill(Side.SELL, "0.5", "110", fee="0.0005", fee_currency="BTC"))
    assert position.quantity == D("0.4995")
    assert position.average_entry == D("100")
    assert realized == D("10") * D("0.5005")  # the fee is a disposal like the rest


def test_closing_what_the_account_holds_after_a_base_asset_commission_leaves_it_flat(position):
    position.apply(_fill(Side.BUY, "0.7", "100", fee="0.0007", fee_currency="BTC"))
    position.apply(_fill(Side.SELL, str(position.quantity), "110", fee="0.076923", fee_currency="USDT"))
    assert position.is_flat and position.average_entry == 0
    assert position.realized_pnl == D("10") * D("0.6993")  # gross of every fee
    assert position.fees == {"BTC": D("0.0007"), "USDT": D("0.076923")}


def test_base_asset_commission_on_a_buy_that_covers_a_short_leaves_the_fee_short(position):
    position.apply(_fill(Side.SELL, "1", "100"))
    assert position.apply(_fill(Side.BUY, "1", "90", fee="0.001", fee_currency="BTC")) == D("10")
    assert position.quantity == D("-0.001")
    assert position.average_entry == D("90")


@pytest.mark.parametrize(
    ("symbol", "fee_currency"),
    [
        ("BTC/USDT", "USDT"),       # spot, fee in the quote
        ("BTC/USDT", "BNB"),        # spot, fee in a third asset
        ("BTC/USDT:USDT", "USDT"),  # linear perpetual
        ("BTC/USD:BTC", "BTC"),     # inverse perpetual: fee off the margin, not the contracts
        ("21742633143463906290569050155826241533067272736897614950488156847949938836455", "USDC"),
    ],
)
def test_a_fee_outside_the_spot_base_asset_leaves_the_quantity_alone(symbol, fee_currency):
    position = Position("main", "sim", symbol)
    position.apply(_fill(Side.BUY, "2", "100", fee="0.01", fee_currency=fee_currency, symbol=symbol))
    assert position.quantity == D(2) and position.average_entry == D(100)
    assert position.fees == {fee_currency: D("0.01")}


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


_FILLS_WITH_FEE_CURRENCY = st.lists(
    st.tuples(
        st.sampled_from(list(Side)),
        st.decimals(min_value=D("0.01"), max_value=D("100"), places=3),
        st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2),
        st.decimals(min_value=D("0"), max_value=D("0.001"), places=6),
        st.sampled_from(["BTC", "USDT", "BNB"]),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(fills=_FILLS_WITH_FEE_CURRENCY)
def test_quantity_is_the_signed_fills_less_base_asset_fees_and_fees_are_per_currency(fills):
    position = Position("main", "binance", "BTC/USDT")
    for side, quantity, price, fee, currency in fills:
        position.apply(_fill(side, quantity, price, fee, fee_currency=currency))
    base_fees = sum((f for _, _, _, f, c in fills if c == "BTC"), D(0))
    assert position.quantity == sum((q * s.sign for s, q, *_ in fills), D(0)) - base_fees
    expected: dict[str, D] = {}
    for *_, fee, currency in fills:
        if fee:
            expected[currency] = expected.get(currency, D(0)) + fee
    assert position.fees == expected
    assert position.fill_count == len(fills)


@settings(max_examples=100, deadline=None)
@given(fills=_FILLS_WITH_FEE_CURRENCY)
def test_once_flat_realised_pnl_less_base_fees_at_fill_price_is_the_quote_cash_flow(fills):
    """The base-asset commission is booked as a sale of the fee at the fill price that
    brings no cash in: realised PnL stays gross and the fee's value is the difference."""
    position = Position("main", "binance", "BTC/USDT")
    cash = base_fee_value = D(0)
    for side, quantity, price, fee, currency in fills:
        position.apply(_fill(side, quantity, price, fee, fee_currency=currency))
        cash -= side.sign * quantity * price
        if currency == "BTC":
            base_fee_value += fee * price
    if not position.is_flat:  # close what the account holds, at the last price
        side, held, mark = Side.SELL if position.quantity > 0 else Side.BUY, abs(position.quantity), fills[-1][2]
        position.apply(_fill(side, held, mark))
        cash -= side.sign * held * mark
    assert position.is_flat
    assert abs(position.realized_pnl - base_fee_value - cash) < D("1e-12")
