"""Spec: a TWAP schedule splits the lot-rounded quantity exactly, in whole lots, with no
slice below the instrument's minimums, and spaces the slices evenly over the duration."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.algorithms.twap import due_after, schedule, split_quantity
from ordergate.domain.instrument import Instrument

D = Decimal


def _instrument(lot="0.001", min_quantity=None, min_notional="0"):
    return Instrument("sim", "BTC/USDT", "BTC", "USDT", D("0.01"), D(lot),
                      D(min_quantity or lot), min_notional=D(min_notional))


# ---------------------------------------------------------------- unhappy first


def test_zero_slices_is_a_programming_error():
    with pytest.raises(ValueError):
        split_quantity(D("1"), 0, _instrument())


def test_a_whole_below_the_minimum_gives_no_slice_at_all():
    assert split_quantity(D("0.004"), 3, _instrument(min_quantity="0.005")) == []


def test_parts_below_the_minimum_quantity_merge_into_the_next():
    # 10 lots over 4 slices: 3, 3, 2, 2 lots; the minimum is 5 lots.
    parts = split_quantity(D("0.010"), 4, _instrument(min_quantity="0.005"))
    # 3 lots carried into leg 1 (6 lots), 2 carried into leg 3 (4 lots: still short, so
    # merged back into leg 1).
    assert parts == [(1, D("0.010"))]


def test_a_short_last_part_merges_into_the_last_slice_kept():
    # 12 lots over 3 slices of 4; minimum 5: 4 -> carried, 8 kept at leg 1, 4 -> merged back.
    parts = split_quantity(D("0.012"), 3, _instrument(min_quantity="0.005"))
    assert parts == [(1, D("0.012"))]


def test_parts_below_the_minimum_notional_merge_at_the_reference_price():
    # 1 BTC at 100 over 10 slices is 10 USDT each; the minimum notional is 25.
    parts = split_quantity(D("1"), 10, _instrument(min_notional="25"), price=D("100"))
    assert [leg for leg, _ in parts] == [2, 5, 8]
    assert [q for _, q in parts] == [D("0.300"), D("0.300"), D("0.400")]


def test_the_quantity_is_truncated_to_the_lot_first():
    parts = split_quantity(D("1.0009"), 2, _instrument())
    assert parts == [(0, D("0.500")), (1, D("0.500"))]


# ---------------------------------------------------------------- the rule


def test_largest_remainder_gives_the_extra_lots_to_the_first_slices():
    parts = split_quantity(D("0.010"), 3, _instrument())
    assert parts == [(0, D("0.004")), (1, D("0.003")), (2, D("0.003"))]


def test_slices_are_due_evenly_from_the_start():
    assert [due_after(i, 4, D("60")) for i in range(4)] == [
        timedelta(0), timedelta(seconds=15), timedelta(seconds=30), timedelta(seconds=45)]


def test_due_times_are_whole_microseconds_rounded_down():
    assert due_after(1, 3, D("1")) == timedelta(microseconds=333_333)


def test_schedule_keeps_the_leg_times_after_a_merge():
    kept = schedule(D("1"), 10, D("100"), _instrument(min_notional="25"), price=D("100"))
    assert [s.due_after for s in kept] == [timedelta(seconds=20), timedelta(seconds=50),
                                           timedelta(seconds=80)]


@given(lots=st.integers(min_value=1, max_value=10**6),
       slices=st.integers(min_value=1, max_value=1000),
       min_lots=st.integers(min_value=1, max_value=50),
       lot=st.sampled_from(["1", "0.1", "0.001", "0.00000001"]))
def test_slices_sum_to_the_rounded_quantity_and_none_is_below_the_minimum(
        lots, slices, min_lots, lot):
    instrument = _instrument(lot, min_quantity=str(D(lot) * min_lots))
    quantity = D(lot) * lots
    parts = split_quantity(quantity, slices, instrument)
    if lots < min_lots:
        assert parts == []
        return
    assert sum(q for _, q in parts) == quantity
    assert all(q >= instrument.min_quantity and instrument.is_on_lot(q) for _, q in parts)
    legs = [leg for leg, _ in parts]
    assert legs == sorted(set(legs)) and all(0 <= leg < slices for leg in legs)
