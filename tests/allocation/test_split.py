"""The split: whole lots, exactly the rounded block, largest remainder, dust dropped."""

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.allocation.split import Child, split
from ordergate.domain.instrument import Instrument

BTC = Instrument("sim", "BTC/USDT", "BTC", "USDT", tick_size=D("0.01"), lot_size=D("0.001"),
                 min_quantity=D("0.002"), min_notional=D("10"))


def test_a_negative_weight_is_an_error_not_a_silent_zero():
    with pytest.raises(ValueError, match="negative"):
        split(D("1"), [("a", D("1")), ("b", D("-1"))], BTC)


def test_a_block_no_account_can_take_drops_every_child_and_allocates_nothing():
    result = split(D("0.003"), [("a", D(1)), ("b", D(1))], BTC)  # 0.002 + 0.001: b dropped
    assert result.children == (Child("a", D("0.003")),)  # ... and its lot goes to a
    tiny = split(D("0.0019"), [("a", D(1))], BTC)
    assert tiny.children == () and tiny.block == D("0.001")
    assert tiny.dropped[0].why == "quantity 0.001 below minimum 0.002"


def test_a_child_below_the_minimum_notional_at_the_price_is_dropped():
    result = split(D("0.010"), [("a", D(9)), ("b", D(1))], BTC, price=D("5000"))
    # b's 0.001 (then 0.002 is 10.00 at 5000: sendable) - first split gives a 0.009, b 0.001
    assert [c.account for c in result.children] == ["a"]
    assert result.dropped[0].account == "b" and "below minimum" in result.dropped[0].why


def test_the_block_is_truncated_to_the_lot_never_rounded_up():
    result = split(D("0.0109"), [("a", D(1)), ("b", D(1))], BTC)
    assert result.block == D("0.010")
    assert result.children == (Child("a", D("0.005")), Child("b", D("0.005")))


def test_left_over_lots_go_to_the_largest_remainders_ties_to_the_first_listed():
    # 10 lots over 1:1:1 -> 3.33 each: the one lot left goes to the first account
    result = split(D("0.010"), [("a", D(1)), ("b", D(1)), ("c", D(1))], BTC)
    assert [c.quantity for c in result.children] == [D("0.004"), D("0.003"), D("0.003")]
    # 10 lots over 1:2 -> 3.33, 6.67: the lot goes to the larger remainder (b)
    result = split(D("0.010"), [("a", D(1)), ("b", D(2))], BTC)
    assert [c.quantity for c in result.children] == [D("0.003"), D("0.007")]


def test_a_zero_weight_takes_no_part():
    result = split(D("0.010"), [("a", D(0)), ("b", D(1))], BTC)
    assert result.children == (Child("b", D("0.010")),) and result.dropped == ()


def test_decimal_weights_are_exact_not_floats():
    # 1/3 of equity as 0.1 + 0.2 vs 0.3: a float split would see 0.30000000000000004
    result = split(D("0.009"), [("a", D("0.1")), ("b", D("0.2")), ("c", D("0.3"))], BTC)
    assert [c.quantity for c in result.children] == [D("0.002"), D("0.003"), D("0.004")]
    assert result.allocated == D("0.009")


weights = st.lists(st.decimals(min_value=0, max_value=1_000_000, places=2), min_size=1,
                   max_size=12)


@given(quantity=st.decimals(min_value=0, max_value=50, places=6), ws=weights)
def test_children_sum_to_the_rounded_block_and_each_is_sendable(quantity, ws):
    named = [(f"acct-{i}", w) for i, w in enumerate(ws)]
    result = split(quantity, named, BTC)
    assert result.block == BTC.round_quantity(quantity)
    if result.children:
        assert result.allocated == result.block  # not a lot lost or made
    for child in result.children:
        assert BTC.is_on_lot(child.quantity) and BTC.quantity_problem(child.quantity) is None
    seen = [c.account for c in result.children] + [d.account for d in result.dropped]
    assert len(seen) == len(set(seen))  # each account once: a child or a drop
    assert split(quantity, named, BTC) == result  # deterministic


@given(quantity=st.decimals(min_value=D("0.002"), max_value=50, places=3), ws=weights)
def test_something_is_sent_whenever_the_whole_block_is_sendable_by_one_account(quantity, ws):
    named = [(f"acct-{i}", w) for i, w in enumerate(ws)]
    result = split(quantity, named, BTC)
    assert bool(result.children) == any(w > 0 for w in ws)
