"""Spec: the run summary reports fees per currency, never adding different currencies
together, as strings to 8 places under sorted keys (the file is byte-stable)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.bus import EventBus
from ordergate.domain.fill import Fill
from ordergate.domain.values import Liquidity, Side
from ordergate.events import OrderFilled
from ordergate.subscribers.positions import PositionTracker
from ordergate.subscribers.run_summary import RunSummary

D = Decimal
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _fill(trade_id, side, quantity, fee, fee_currency, symbol="BTC/USDT", account="main"):
    return Fill("c-1", trade_id, account, "binance", symbol, side, D("50000"), D(quantity),
                D(fee), fee_currency, Liquidity.TAKER, T0)


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def tracker(bus):
    return PositionTracker(bus)


@pytest.fixture
def summary(bus):
    return RunSummary(bus)


def _publish(bus, *fills):
    for fill in fills:
        bus.publish(OrderFilled(T0, fill, "s-1", fill.quantity, D(0)))


def test_fees_in_base_and_quote_are_reported_per_currency(bus, tracker, summary):
    _publish(bus, _fill("t-1", Side.BUY, "0.5", "0.0005", "BTC"),
             _fill("t-2", Side.BUY, "0.2", "0.0002", "BTC"),
             _fill("t-3", Side.SELL, "0.2", "9.9998", "USDT"))
    result = summary.as_dict(tracker, 0)
    assert result["fees"] == {"BTC": "0.00070000", "USDT": "9.99980000"}
    assert result["positions"] == {"BTC/USDT": "0.4993"}
    assert result["fills"] == 3


def test_fees_of_one_currency_are_summed_across_positions_and_accounts(bus, tracker, summary):
    _publish(bus, _fill("t-1", Side.BUY, "1", "0.5", "USDT"),
             _fill("t-2", Side.BUY, "1", "0.25", "USDT", symbol="ETH/USDT"),
             _fill("t-3", Side.SELL, "1", "0.125", "USDT", account="other"),
             _fill("t-4", Side.BUY, "1", "0.001", "ETH", symbol="ETH/USDT"))
    assert summary.as_dict(tracker, 0)["fees"] == {"ETH": "0.00100000", "USDT": "0.87500000"}


def test_no_fee_charged_reports_an_empty_mapping(bus, tracker, summary):
    _publish(bus, _fill("t-1", Side.BUY, "1", "0", "USDC", symbol="7190437146781234"))
    assert summary.as_dict(tracker, 0)["fees"] == {}


def test_fee_currencies_come_out_sorted_whatever_order_they_were_charged_in(bus, tracker, summary):
    _publish(bus, _fill("t-1", Side.SELL, "1", "1", "USDT"),
             _fill("t-2", Side.BUY, "1", "0.001", "BTC"),
             _fill("t-3", Side.BUY, "1", "0.01", "BNB"))
    fees = summary.as_dict(tracker, 0)["fees"]
    assert list(fees) == ["BNB", "BTC", "USDT"]
    assert json.dumps(fees) == '{"BNB": "0.01000000", "BTC": "0.00100000", "USDT": "1.00000000"}'
