"""The simulated venue's funds: what an order needs free to be taken, and what it keeps
locked while it rests, so that a backtest refuses the orders Binance would refuse for
balance and reports the balances Binance would report.

As on Binance, an order that rests locks what it can still consume until it is done: a
buy, price x remaining quantity of the quote; on spot rules (`allow_short` off) a sell,
its remaining base quantity. The lock shrinks with each fill (recomputed from the
remaining quantity, so what is released over an order's life is exactly what was locked)
and the rest is released when the order fills, is cancelled or expires. The fee is not
locked, as the Binance emulator does not lock it; it is still asked for on top of the cost
when the order is placed, and a maker fill takes it from the free balance.
`fetch_balances` reports used = locked and free = total - locked, and an order is checked
against the free balance. Locks are kept per account and currency as orders rest, fill and
finish: no check scans the resting orders.

The state is the venue's (`_balances`, `_locked`, `_lockers`); these are plain functions
of it, called directly, because a fill shrinks its order's lock on the backtest's hot
path and a layer between would cost every fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.domain.instrument import Instrument
from ordergate.domain.values import ZERO, OrderType, Side
from ordergate.venues.base import InsufficientFunds, OrderRejected, OrderRequest

if TYPE_CHECKING:
    from ordergate.venues.simulated import SimulatedVenue, _SimOrder


def free(venue: SimulatedVenue, account: str, currency: str) -> Decimal:
    """What the account holds of `currency` that no resting order has locked."""
    total = venue._balances.get(account, {}).get(currency, ZERO)
    return total - venue._locked.get(account, {}).get(currency, ZERO)


def check_funds(venue: SimulatedVenue, instrument: Instrument, request: OrderRequest,
                market_price: Decimal) -> None:
    """Refuse what the free balance cannot pay for, fee included, as Binance does when the
    order arrives. `market_price` is where a market order would execute on arrival
    (`sim_fills.market_price`): its notional is checked there, and it costs a buy that
    has no price of its own."""
    if request.order_type is OrderType.MARKET and (
        problem := instrument.notional_problem(request.quantity, market_price)
    ):
        raise OrderRejected(f"Filter failure: NOTIONAL ({problem})")
    account = request.account_id
    if request.side is Side.BUY:
        price = request.price or request.trigger_price or market_price
        needed = request.quantity * price * (1 + venue._s.taker_fee)
        if free(venue, account, instrument.quote) < needed:
            raise InsufficientFunds(f"Account has insufficient balance: {instrument.quote} needed {needed}")
    elif not venue._s.allow_short and free(venue, account, instrument.base) < request.quantity:
        raise InsufficientFunds(f"Account has insufficient balance: {instrument.base}")


def reservation(order: _SimOrder) -> Decimal:
    """What a resting order can still consume: its cost for a buy (at its limit price,
    or an untriggered stop_market's trigger), its base for a sell."""
    price = order.request.price or order.request.trigger_price
    assert price is not None
    return price * order.remaining if order.request.side is Side.BUY else order.remaining


def lock(venue: SimulatedVenue, order: _SimOrder, instrument: Instrument) -> None:
    """Reserve what an order that starts resting can consume (`reservation`)."""
    if order.request.side is Side.BUY:
        order.lock_currency = instrument.quote
    elif not venue._s.allow_short:
        order.lock_currency = instrument.base
    else:
        return  # a margin sell borrows what it sells: nothing to reserve
    order.locked = reservation(order)
    account, key = order.request.account_id, (order.request.account_id, order.lock_currency)
    locked = venue._locked.setdefault(account, {})
    locked[order.lock_currency] = locked.get(order.lock_currency, ZERO) + order.locked
    venue._lockers[key] = venue._lockers.get(key, 0) + 1


def release(venue: SimulatedVenue, order: _SimOrder, keep: Decimal) -> None:
    """Shrink an order's lock to `keep`; at zero the order stops locking."""
    account, currency = order.request.account_id, order.lock_currency
    locked = venue._locked[account]
    locked[currency] -= order.locked - keep
    order.locked = keep
    if keep == 0:
        key = (account, currency)
        venue._lockers[key] -= 1
        if not venue._lockers[key]:  # the last lock went: exactly zero, whatever was summed
            del venue._lockers[key], locked[currency]
