"""Spec: rounding to tick and lot always favours the trader; limits are explained."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import Side

D = Decimal


def _instrument(tick="0.01", lot="0.001", **kwargs):
    kwargs.setdefault("min_quantity", D(lot))
    return Instrument("sim", "BTC/USDT", "BTC", "USDT", D(tick), D(lot), **kwargs)


# ---------------------------------------------------------------- limits (unhappy first)


def test_quantity_below_minimum_is_explained():
    problem = _instrument(min_quantity=D("0.01")).quantity_problem(D("0.009"))
    assert problem == "quantity 0.009 below minimum 0.01"


def test_quantity_above_maximum_is_explained():
    problem = _instrument(max_quantity=D("100")).quantity_problem(D("100.001"))
    assert problem == "quantity 100.001 above maximum 100"


@pytest.mark.parametrize("quantity", ["0.01", "50", "100"])
def test_quantity_within_bounds_inclusive_has_no_problem(quantity):
    instrument = _instrument(min_quantity=D("0.01"), max_quantity=D("100"))
    assert instrument.quantity_problem(D(quantity)) is None


def test_no_maximum_means_any_large_quantity_is_fine():
    assert _instrument().quantity_problem(D("1e12")) is None


def test_notional_below_minimum_is_explained():
    problem = _instrument(min_notional=D("10")).notional_problem(D("0.099"), D("100"))
    assert problem == "notional 9.900 below minimum 10"


@pytest.mark.parametrize(("quantity", "price"), [("0.1", "100"), ("1", "10.00"), ("2", "1000")])
def test_notional_at_or_above_minimum_has_no_problem(quantity, price):
    assert _instrument(min_notional=D("10")).notional_problem(D(quantity), D(price)) is None


def test_price_below_minimum_is_explained():
    assert _instrument(min_price=D("0.01")).price_problem(D("0.001")) == (
        "price 0.001 below minimum 0.01"
    )


def test_price_above_maximum_is_explained():
    assert _instrument(max_price=D("0.99")).price_problem(D("1")) == "price 1 above maximum 0.99"


@pytest.mark.parametrize("price", ["0.01", "0.5", "0.99"])
def test_price_within_bounds_inclusive_has_no_problem(price):
    assert _instrument(min_price=D("0.01"), max_price=D("0.99")).price_problem(D(price)) is None


def test_no_price_limits_means_no_price_problem():
    assert _instrument().price_problem(D("123456789")) is None


# ---------------------------------------------------------------- quantity rounding


@pytest.mark.parametrize(
    ("lot", "quantity", "expected"),
    [
        ("0.001", "1.2349", "1.234"),
        ("0.001", "1.2341", "1.234"),
        ("0.001", "0.0009999", "0.000"),
        ("0.001", "1.234", "1.234"),
        ("0.00000001", "0.123456789", "0.12345678"),
        ("0.00000001", "0.00000001", "0.00000001"),
        ("0.00000001", "0.000000019", "0.00000001"),
        ("0.5", "1.99", "1.5"),
        ("0.5", "2.0", "2.0"),
        ("0.5", "0.49", "0.0"),
        ("5", "14.999", "10"),
        ("5", "15", "15"),
        ("1", "7.9999999", "7"),
    ],
)
def test_quantity_truncates_to_the_lot_never_rounding_up(lot, quantity, expected):
    rounded = _instrument(lot=lot).round_quantity(D(quantity))
    assert rounded == D(expected)
    assert rounded <= D(quantity)


def test_rounded_quantity_is_expressed_with_the_lot_exponent():
    assert str(_instrument(lot="0.001").round_quantity(D("2"))) == "2.000"


# ---------------------------------------------------------------- price rounding


@pytest.mark.parametrize(
    ("tick", "price", "buy", "sell"),
    [
        ("0.01", "100.129", "100.12", "100.13"),
        ("0.01", "100.121", "100.12", "100.13"),
        ("0.01", "100.12", "100.12", "100.12"),
        ("0.00000001", "0.123456781", "0.12345678", "0.12345679"),
        ("0.00000001", "0.12345678", "0.12345678", "0.12345678"),
        ("0.5", "100.3", "100.0", "100.5"),
        ("0.5", "100.5", "100.5", "100.5"),
        ("0.5", "100.75", "100.5", "101.0"),
        ("5", "101", "100", "105"),
        ("5", "105", "105", "105"),
        ("5", "104.99", "100", "105"),
    ],
)
def test_buy_price_rounds_down_and_sell_price_rounds_up_to_the_tick(tick, price, buy, sell):
    instrument = _instrument(tick=tick)
    assert instrument.round_price(D(price), Side.BUY) == D(buy)
    assert instrument.round_price(D(price), Side.SELL) == D(sell)


@pytest.mark.parametrize(
    ("tick", "price", "on_tick"),
    [("0.01", "1.23", True), ("0.01", "1.235", False), ("0.5", "2.5", True),
     ("0.5", "2.25", False), ("5", "15", True), ("5", "16", False),
     ("0.00000001", "0.00000003", True), ("0.00000001", "0.000000035", False)],
)
def test_is_on_tick(tick, price, on_tick):
    assert _instrument(tick=tick).is_on_tick(D(price)) is on_tick


@pytest.mark.parametrize(
    ("lot", "quantity", "on_lot"),
    [("0.001", "1.234", True), ("0.001", "1.2345", False), ("0.5", "1.5", True),
     ("0.5", "1.25", False), ("5", "10", True), ("5", "12", False)],
)
def test_is_on_lot(lot, quantity, on_lot):
    assert _instrument(lot=lot).is_on_lot(D(quantity)) is on_lot


def test_quantity_with_more_than_28_significant_digits_is_still_truncated():
    quantity = D("0.0999999999999999999999999999999")  # exact digits survive parse_signal_json
    rounded = _instrument(lot="0.00000001").round_quantity(quantity)
    assert rounded <= quantity


def test_buy_price_with_more_than_28_significant_digits_is_still_rounded_down():
    price = D("99.9999999999999999999999999999999")
    assert _instrument(tick="0.01").round_price(price, Side.BUY) <= price


# ---------------------------------------------------------------- invariants

_STEPS = st.sampled_from(["0.00000001", "0.0001", "0.001", "0.01", "0.25", "0.5", "1", "5", "10"])
_VALUES = st.decimals(min_value=D("0.00000001"), max_value=D("1000000"), places=10,
                      allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(lot=_STEPS, quantity=_VALUES)
def test_rounded_quantity_never_exceeds_input_and_is_on_lot(lot, quantity):
    instrument = _instrument(lot=lot)
    rounded = instrument.round_quantity(quantity)
    assert rounded <= quantity
    assert quantity - rounded < instrument.lot_size
    assert instrument.is_on_lot(rounded)


@settings(max_examples=300, deadline=None)
@given(tick=_STEPS, price=_VALUES)
def test_rounded_prices_are_on_tick_within_one_tick_and_never_worse(tick, price):
    instrument = _instrument(tick=tick)
    buy = instrument.round_price(price, Side.BUY)
    sell = instrument.round_price(price, Side.SELL)
    assert buy <= price <= sell
    assert price - buy < instrument.tick_size
    assert sell - price < instrument.tick_size
    assert instrument.is_on_tick(buy) and instrument.is_on_tick(sell)
    assert (buy == sell) is instrument.is_on_tick(price)


@settings(max_examples=100, deadline=None)
@given(lot=_STEPS, quantity=_VALUES)
def test_rounding_a_quantity_twice_changes_nothing(lot, quantity):
    instrument = _instrument(lot=lot)
    once = instrument.round_quantity(quantity)
    assert instrument.round_quantity(once) == once
