"""Spec: a fill is an immutable record keyed by its venue trade ID."""

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.domain.fill import Fill
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


def test_fill_cannot_be_modified():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _fill().quantity = Decimal(1)  # type: ignore[misc]


def test_notional_is_exact_price_times_quantity():
    assert _fill().notional == Decimal("30.15")


def test_same_report_twice_is_equal_and_hashes_alike():
    assert _fill() == _fill()
    assert len({_fill(), _fill(), _fill(trade_id="t-2")}) == 2
