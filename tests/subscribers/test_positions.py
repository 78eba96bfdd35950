"""Spec: the tracker keeps one position per (account, venue, symbol) from fills, counts
what the account holds (a commission in the base asset comes off it) and announces the
position opening, changing and closing."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.bus import EventBus
from ordergate.domain.fill import Fill
from ordergate.domain.values import Liquidity, Side
from ordergate.events import OrderFilled, PositionChanged, PositionClosed, PositionOpened
from ordergate.subscribers.positions import PositionTracker

D = Decimal
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _fill(side, quantity, price="50000", fee="0", fee_currency="USDT", trade_id="t-1",
          symbol="BTC/USDT", venue="binance"):
    return Fill("c-1", trade_id, "main", venue, symbol, side, D(price), D(quantity),
                D(fee), fee_currency, Liquidity.TAKER, T0)


def _filled(fill):
    return OrderFilled(T0, fill, "s-1", fill.quantity, D(0))


@pytest.fixture
def bus():
    return EventBus()


@pytest.fixture
def announced(bus):
    events = []
    for kind in (PositionOpened, PositionChanged, PositionClosed):
        bus.subscribe(kind, events.append)
    return events


@pytest.fixture
def tracker(bus):
    return PositionTracker(bus)


def test_a_buy_paying_commission_in_the_base_asset_counts_what_the_account_received(
        bus, tracker, announced):
    bus.publish(_filled(_fill(Side.BUY, "0.5", "50001", "0.0005", "BTC", "t-1")))
    bus.publish(_filled(_fill(Side.BUY, "0.2", "50002", "0.0002", "BTC", "t-2")))
    assert tracker.quantity("main", "binance", "BTC/USDT") == D("0.6993")
    assert [type(e) for e in announced] == [PositionOpened, PositionChanged]
    assert announced[-1].quantity == D("0.6993")


def test_selling_what_the_account_holds_closes_the_position(bus, tracker, announced):
    bus.publish(_filled(_fill(Side.BUY, "0.7", fee="0.0007", fee_currency="BTC", trade_id="t-1")))
    bus.publish(_filled(_fill(Side.SELL, "0.6993", fee="34.965", fee_currency="USDT", trade_id="t-2")))
    assert tracker.quantity("main", "binance", "BTC/USDT") == 0
    assert tracker.open_count("main") == 0
    assert isinstance(announced[-1], PositionClosed)


def test_a_position_restored_from_the_journal_counts_base_asset_commission_too(tracker, announced):
    tracker.restore(_fill(Side.BUY, "0.7", fee="0.0007", fee_currency="BTC"))
    assert tracker.quantity("main", "binance", "BTC/USDT") == D("0.6993")
    assert tracker.open_count("main") == 1
    assert announced == []


def test_fees_are_kept_per_currency_on_each_position(bus, tracker):
    bus.publish(_filled(_fill(Side.BUY, "0.7", fee="0.0007", fee_currency="BTC", trade_id="t-1")))
    bus.publish(_filled(_fill(Side.SELL, "0.2", fee="9.9998", fee_currency="USDT", trade_id="t-2")))
    position = tracker.positions[("main", "binance", "BTC/USDT")]
    assert position.fees == {"BTC": D("0.0007"), "USDT": D("9.9998")}


def test_a_fee_in_the_quote_leaves_the_quantity_alone(bus, tracker):
    bus.publish(_filled(_fill(Side.BUY, "0.01", fee="0.25", fee_currency="USDT", venue="sim")))
    assert tracker.quantity("main", "sim", "BTC/USDT") == D("0.01")


def test_a_commission_in_a_third_currency_is_kept_per_account_venue_and_currency(bus):
    # Binance with fees paid in BNB: a BTC/USDT fill charges BNB, which it neither buys nor sells.
    tracker = PositionTracker(bus)
    bus.publish(_filled(_fill(Side.BUY, "0.3", fee="0.01875038", fee_currency="BNB")))
    bus.publish(_filled(_fill(Side.SELL, "0.1", fee="0.00624988", fee_currency="BNB", trade_id="t-2")))
    bus.publish(_filled(_fill(Side.BUY, "1", symbol="ETH/USDT", fee="0.001", fee_currency="BNB",
                              trade_id="t-3", venue="other")))
    assert tracker.quantity("main", "binance", "BTC/USDT") == D("0.2")  # no position moved
    assert tracker.fees_paid_in("main", "binance", "BNB") == D("0.02500026")
    assert tracker.fees_paid_in("main", "other", "BNB") == D("0.001")
    assert tracker.fees_paid_in("other-account", "binance", "BNB") == 0


@pytest.mark.parametrize(("symbol", "fee_currency"), [
    ("BTC/USDT", "BTC"),        # the base: comes off the position
    ("BTC/USDT", "USDT"),       # the quote: cash
    ("BTC/USDT:USDT", "USDT"),  # a derivative's settle currency
    ("BTC/USD:BTC", "BTC"),
    ("71321045679252212594626385532706912750332728571942532289631379312455583992563", "USDC"),
])
def test_a_commission_in_the_base_quote_or_settle_currency_is_not_a_third_currency_fee(
        bus, symbol, fee_currency):
    tracker = PositionTracker(bus)
    bus.publish(_filled(_fill(Side.BUY, "1", symbol=symbol, fee="0.5", fee_currency=fee_currency)))
    assert tracker.fees_paid_in("main", "binance", fee_currency) == 0


def test_third_currency_fees_are_rebuilt_from_restored_fills(bus):
    tracker = PositionTracker(bus)
    tracker.restore(_fill(Side.BUY, "0.3", fee="0.01875038", fee_currency="BNB"))
    assert tracker.fees_paid_in("main", "binance", "BNB") == D("0.01875038")
