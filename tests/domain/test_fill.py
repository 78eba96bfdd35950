"""Spec: a fill is an immutable record keyed by its venue trade ID; it knows when its
commission was paid out of the traded (base) asset."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.domain.fill import Fill, base_asset
from ordergate.domain.values import Liquidity, Side


def _fill(**overrides):
    fields = {
        "client_order_id": "c-1", "trade_id": "t-1", "account_id": "main", "venue": "sim",
        "symbol": "BTC/USDT", "side": Side.BUY, "price": Decimal("100.5"),
        "quantity": Decimal("0.3"),
        "fee": Decimal("0.01"), "fee_currency": "USDT", "liquidity": Liquidity.TAKER,
        "ts": datetime(2026, 1, 2, tzinfo=UTC),
    }
    fields.update(overrides)
    return Fill(**fields)


def test_notional_is_exact_price_times_quantity():
    assert _fill().notional == Decimal("30.15")


def test_same_report_twice_is_equal_and_hashes_alike():
    assert _fill() == _fill()
    assert len({_fill(), _fill(), _fill(trade_id="t-2")}) == 2


@pytest.mark.parametrize(
    ("symbol", "base"),
    [
        ("BTC/USDT", "BTC"),
        ("1000SHIB/USDT", "1000SHIB"),
        ("BTC/USDT:USDT", None),  # linear derivative: counted in contracts
        ("BTC/USD:BTC", None),    # inverse derivative: the fee comes off the margin
        ("BTCUSDT", None),        # not unified
        ("7190437146781234", None),  # a Polymarket token ID
        ("/USDT", None),
        ("BTC/", None),
        ("", None),
    ],
)
def test_base_asset_is_the_spot_symbols_base_and_none_otherwise(symbol, base):
    assert base_asset(symbol) == base


@pytest.mark.parametrize(
    ("symbol", "fee_currency", "in_base"),
    [
        ("BTC/USDT", "BTC", "0.01"),
        ("BTC/USDT", "USDT", "0"),
        ("BTC/USDT", "BNB", "0"),
        ("BTC/USD:BTC", "BTC", "0"),
        ("ETH/BTC", "BTC", "0"),  # BTC is the quote here
    ],
)
def test_fee_in_base_is_the_fee_only_when_charged_in_the_base_asset(symbol, fee_currency, in_base):
    assert _fill(symbol=symbol, fee_currency=fee_currency).fee_in_base == Decimal(in_base)
