"""Binance spot's stop orders, as the emulator's market applies them: which types exist,
which way each one triggers, and when one would trigger at once.

Binance spot has four (https://developers.binance.com/docs/binance-spot-api-docs, "Trigger
order price rules against market price"):

    STOP_LOSS, STOP_LOSS_LIMIT      a BUY triggers when the last price rises to stopPrice,
                                    a SELL when it falls to it
    TAKE_PROFIT, TAKE_PROFIT_LIMIT  a BUY triggers when the last price falls to stopPrice,
                                    a SELL when it rises to it

so a stop-loss buy and a take-profit sell have their stopPrice above the market, the other
two below. One placed with its stopPrice already reached is refused (-2010 "Stop price
would trigger immediately."). Until it triggers the order is NEW with `isWorking` false;
then STOP_LOSS / TAKE_PROFIT execute as a MARKET order, the _LIMIT types as a LIMIT order at
`price` with their `timeInForce`.
"""

from __future__ import annotations

from decimal import Decimal

STOP_MARKET_TYPES = ("STOP_LOSS", "TAKE_PROFIT")
"""Executed as a MARKET order once triggered: quantity and stopPrice, no price or
timeInForce."""
STOP_LIMIT_TYPES = ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
"""Executed as a LIMIT order once triggered: quantity, price, timeInForce and stopPrice."""
STOP_TYPES = STOP_MARKET_TYPES + STOP_LIMIT_TYPES


def triggers_on_rise(order_type: str, side: str) -> bool:
    """Does this stop trigger when the last price rises to its stopPrice (rather than
    falls to it)? A stop-loss buy and a take-profit sell do."""
    stop_loss = order_type.startswith("STOP_LOSS")
    return stop_loss == (side == "BUY")


def is_triggered(order_type: str, side: str, stop_price: Decimal, last: Decimal) -> bool:
    """Has the last price reached the stop price, in the direction this stop waits for?"""
    return last >= stop_price if triggers_on_rise(order_type, side) else last <= stop_price
