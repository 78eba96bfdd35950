"""Spec: what the venue's balance of an asset should be, from our positions and fees."""

from datetime import UTC, datetime
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.domain.fill import Fill
from ordergate.domain.instrument import Instrument
from ordergate.domain.values import Liquidity, Side
from ordergate.reconciliation.holdings import held_assets, held_quantity
from ordergate.subscribers.positions import PositionTracker

D = Decimal
T0 = datetime(2026, 1, 2, tzinfo=UTC)


def _fill(symbol, side, quantity, fee, fee_currency, trade_id):
    return Fill("c-1", trade_id, "main", "binance", symbol, side, D("600"), D(quantity), D(fee),
                fee_currency, Liquidity.TAKER, T0)


def _instrument(symbol):
    base, quote = symbol.split("/")
    return Instrument("binance", symbol, base, quote, D("0.01"), D("0.001"), D("0.001"))


def test_bnb_held_is_the_bnb_position_less_the_bnb_other_symbols_paid_in_commission():
    tracker = PositionTracker(EventBus())
    tracker.restore(_fill("BNB/USDT", Side.BUY, "10", "0.0075", "BNB", "1"))   # base fee: in the position
    tracker.restore(_fill("BTC/USDT", Side.BUY, "0.3", "0.0187", "BNB", "1"))  # BNB fee on BTC/USDT
    tracker.restore(_fill("ETH/USDT", Side.SELL, "1", "0.005", "BNB", "1"))
    assets = held_assets({s: _instrument(s) for s in ("BNB/USDT", "BTC/USDT", "ETH/USDT")},
                         ("USDT",))
    assert held_quantity(tracker, "main", "binance", assets["BNB"]) == D("10") - D("0.0075") - D(
        "0.0187") - D("0.005")
    assert held_quantity(tracker, "main", "binance", assets["BTC"]) == D("0.3")
    assert held_quantity(tracker, "main", "binance", assets["ETH"]) == D("-1")
    assert held_quantity(tracker, "other", "binance", assets["BNB"]) == 0
