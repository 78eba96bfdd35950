"""Spec: the small vocabularies serialise to the exact strings files carry."""

from decimal import Decimal

import pytest

from ordergate.domain.values import Liquidity, OrderType, Side, TimeInForce


@pytest.mark.parametrize(
    ("member", "text"),
    [
        (Side.BUY, "buy"), (Side.SELL, "sell"),
        (OrderType.MARKET, "market"), (OrderType.LIMIT, "limit"),
        (TimeInForce.GTC, "GTC"), (TimeInForce.IOC, "IOC"),
        (TimeInForce.FOK, "FOK"), (TimeInForce.GTD, "GTD"),
        (Liquidity.MAKER, "maker"), (Liquidity.TAKER, "taker"),
    ],
)
def test_each_member_compares_equal_to_and_parses_from_its_wire_string(member, text):
    assert member == text
    assert str(member) == text
    assert type(member)(text) is member


@pytest.mark.parametrize(("side", "sign"), [(Side.BUY, Decimal(1)), (Side.SELL, Decimal(-1))])
def test_side_sign_is_an_exact_decimal_unit(side, sign):
    assert side.sign == sign
    assert isinstance(side.sign, Decimal)


@pytest.mark.parametrize("side", list(Side))
def test_opposite_side_is_an_involution(side):
    assert side.opposite is not side
    assert side.opposite.opposite is side
    assert side.sign + side.opposite.sign == 0
