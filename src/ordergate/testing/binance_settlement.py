"""The settlement of a trade on the Binance emulator's market (`binance_market.py`):
what one fill of an order moves (`fill_order`). The order's own account pays and is paid,
whoever moved the market: its locked funds released (a priced order's), the base and the
quote debited and credited, the commission charged (`binance_fees`); the trade recorded
under the symbol's next trade ID, the symbol's last price moved (what triggers stops), the
order's executed quantities and status updated, and an order list told of its leg's fill.
Apart from the matching (`binance_matching.py`), which decides what trades, so that what
a trade does to the accounts is read in one place."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.testing.binance_fees import trade_commission
from ordergate.testing.binance_records import PRICED_TYPES, ZERO, EmulatedOrder, EmulatedTrade

if TYPE_CHECKING:
    from ordergate.testing.binance_market import BinanceMarket


def fill_order(market: BinanceMarket, order: EmulatedOrder, price: Decimal, qty: Decimal, *,
               is_maker: bool) -> EmulatedTrade:
    """Settle one trade of `order`: `qty` at `price`, as maker or taker."""
    spec = market.symbols[order.symbol]
    wallet = market.wallets[order.account]  # the order's own, whoever moved the market
    free, locked = wallet.free, wallet.locked
    quote_qty = price * qty
    rate = spec.maker_fee if is_maker else spec.taker_fee
    commission, commission_asset = trade_commission(market, spec, order.side, price, qty,
                                                      quote_qty, rate, wallet)
    if order.side == "BUY":
        if order.type in PRICED_TYPES:
            release = qty * order.price
            order.locked -= release
            locked[spec.quote] = locked.get(spec.quote, ZERO) - release
            free[spec.quote] = free.get(spec.quote, ZERO) + release - quote_qty
        else:
            free[spec.quote] = free.get(spec.quote, ZERO) - quote_qty
        free[spec.base] = free.get(spec.base, ZERO) + qty
    else:
        if order.type in PRICED_TYPES:
            order.locked -= qty
            locked[spec.base] = locked.get(spec.base, ZERO) - qty
        else:
            free[spec.base] = free.get(spec.base, ZERO) - qty
        free[spec.quote] = free.get(spec.quote, ZERO) + quote_qty
    free[commission_asset] = free.get(commission_asset, ZERO) - commission
    now = market._now()
    trade_id = market._last_trade_id.get(order.symbol, 0) + 1
    market._last_trade_id[order.symbol] = trade_id
    trade = EmulatedTrade(
        trade_id=trade_id, order_id=order.order_id,
        client_order_id=order.client_order_id, symbol=order.symbol, side=order.side,
        price=price, qty=qty, quote_qty=quote_qty, commission=commission,
        commission_asset=commission_asset, time_ms=now, is_maker=is_maker,
        account=order.account,
    )
    market.trades.append(trade)
    market.last_prices[order.symbol] = price
    order.executed_qty += qty
    order.cummulative_quote_qty += quote_qty
    order.trade_ids.append(trade.trade_id)
    order.update_time_ms = now
    if order.is_open and order.remaining > 0:
        order.status = "PARTIALLY_FILLED"
    if order.order_list_id >= 0 and market.list_hook is not None:
        market.list_hook.filled(order)  # a leg's fill, even partial, ends the other
    return trade
