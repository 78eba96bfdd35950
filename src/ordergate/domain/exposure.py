"""Exposure: what an account holds *and* what its working orders may still add or take away.

A risk check that looks at filled positions only is blind to resting orders: with 0.01 BTC
long under a reduce-only switch, three resting sells of 0.01 each all "reduce" the
position, and if they fill the account is 0.02 short. So every exposure check reads this
view instead: per (account, venue, symbol) the position, and the remaining quantity of
every order not yet terminal, buys and sells apart.

An order counts from the moment it is journaled (an order still being sent, or whose
answer is unknown, can fill) until it is terminal; its remaining quantity shrinks with
each fill. `WorkingOrders` is kept up to date by the order ledger (the one place orders
change) in O(1) per change and holds only orders that are working, so its memory is
bounded by what is working, never by history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.order import Order
from ordergate.domain.values import ZERO, Side
from ordergate.records import record

Key = tuple[str, str, str]  # account, venue, symbol


@record
class SymbolExposure:
    """One account's exposure in one symbol at one venue."""

    position: Decimal
    working_buy: Decimal
    """Remaining quantity of working buy orders."""
    working_sell: Decimal
    """Remaining quantity of working sell orders."""

    @property
    def net(self) -> Decimal:
        """The position if every working order filled."""
        return self.position + self.working_buy - self.working_sell

    @property
    def is_open(self) -> bool:
        """A position, or a working order that may open or change one."""
        return self.position != 0 or self.working_buy != 0 or self.working_sell != 0

    def working(self, side: Side) -> Decimal:
        return self.working_buy if side is Side.BUY else self.working_sell

    def reduces(self, side: Side) -> bool:
        """Does an order on `side` trade against the position (rather than open or grow it)?"""
        return self.position != 0 and (self.position > 0) == (side is Side.SELL)

    def reducible(self, side: Side) -> Decimal:
        """How much an order on `side` may still take off the position without growing or
        flipping it once every working order on that side has filled: the position less
        what those orders will already take off. Zero for an order that does not reduce."""
        if not self.reduces(side):
            return ZERO
        return max(abs(self.position) - self.working(side), ZERO)


@dataclass(slots=True)
class _Counted:
    key: Key
    side: Side
    quantity: Decimal
    notional: Decimal


@dataclass(slots=True)
class _Totals:
    """One (account, venue, symbol)'s working orders, summed."""

    buy: Decimal = ZERO
    sell: Decimal = ZERO
    buy_notional: Decimal = ZERO
    orders: int = 0


class WorkingOrders:
    """Remaining quantity (and, for buys, notional) of every order not yet terminal.

    `update(order)` after any change to an order's remaining quantity or to its
    terminality recomputes that order's contribution: what it counted before is replaced
    by what it counts now (its remaining quantity, or nothing once terminal), so no
    sequence of fills, cancels and late reports can make the totals drift from the
    orders themselves. One dictionary lookup per key and update: this runs on every
    order of a backtest."""

    def __init__(self) -> None:
        self._counted: dict[str, _Counted] = {}
        self._totals: dict[Key, _Totals] = {}
        self._keys_per_account: dict[str, set[tuple[str, str]]] = {}

    def __len__(self) -> int:
        return len(self._counted)

    def update(self, order: Order) -> None:
        old = self._counted.pop(order.client_order_id, None)
        if order.status.is_terminal:
            if old is not None:
                self._add(old, -1)
            return
        remaining = order.remaining_quantity
        if remaining < 0:
            remaining = ZERO
        if old is not None:
            if old.quantity == remaining:  # a status change that moves nothing
                self._counted[order.client_order_id] = old
                return
            self._add(old, -1)
        price = order.price if order.price is not None else order.expected_price
        notional = remaining * price if order.side is Side.BUY and price is not None else ZERO
        new = _Counted((order.account_id, order.venue, order.symbol), order.side, remaining,
                       notional)
        self._counted[order.client_order_id] = new
        self._add(new, 1)

    def _add(self, counted: _Counted, sign: int) -> None:
        key = counted.key
        totals = self._totals.get(key)
        if totals is None:
            totals = self._totals[key] = _Totals()
            self._keys_per_account.setdefault(key[0], set()).add((key[1], key[2]))
        if counted.side is Side.BUY:
            totals.buy += sign * counted.quantity
            totals.buy_notional += sign * counted.notional
        else:
            totals.sell += sign * counted.quantity
        totals.orders += sign
        if totals.orders:
            return
        # The last working order of this key went: exactly zero, whatever was summed.
        del self._totals[key]
        keys = self._keys_per_account[key[0]]
        keys.discard((key[1], key[2]))
        if not keys:
            del self._keys_per_account[key[0]]

    def totals(self, key: Key) -> _Totals | None:
        return self._totals.get(key)

    def quantity(self, key: Key, side: Side) -> Decimal:
        totals = self._totals.get(key)
        if totals is None:
            return ZERO
        return totals.buy if side is Side.BUY else totals.sell

    def buy_notional(self, key: Key) -> Decimal:
        totals = self._totals.get(key)
        return ZERO if totals is None else totals.buy_notional

    def symbols(self, account_id: str) -> Iterator[tuple[str, str]]:
        """(venue, symbol) pairs where the account has a working order."""
        return iter(self._keys_per_account.get(account_id, ()))


class ExposureView:
    """Positions plus working orders, per account: what the risk manager (and any
    allocator over accounts) reads. `position` answers a position's signed quantity and
    `open_positions` the (venue, symbol) pairs where an account holds one."""

    def __init__(self, working: WorkingOrders,
                 position: Callable[[str, str, str], Decimal],
                 open_positions: Callable[[str], Iterator[tuple[str, str]]]) -> None:
        self._working = working
        self._position = position
        self._open_positions = open_positions

    def of(self, account_id: str, venue: str, symbol: str) -> SymbolExposure:
        totals = self._working.totals((account_id, venue, symbol))
        position = self._position(account_id, venue, symbol)
        if totals is None:
            return SymbolExposure(position, ZERO, ZERO)
        return SymbolExposure(position, totals.buy, totals.sell)

    def open_symbols(self, account_id: str) -> set[tuple[str, str]]:
        """(venue, symbol) pairs where the account holds a position or has a working order:
        what `max_open_positions` counts."""
        return set(self._open_positions(account_id)).union(self._working.symbols(account_id))

    def committed(self, account_id: str, venue: str, quote_of: Callable[[str], str | None],
                  currency: str) -> Decimal:
        """What the account's working buys at `venue` may still spend in `currency`
        (remaining quantity x limit price, or the expected price of a market order):
        equity that is not free for a new order. `quote_of` names a symbol's quote."""
        total = ZERO
        for venue_name, symbol in self._working.symbols(account_id):
            if venue_name == venue and quote_of(symbol) == currency:
                total += self._working.buy_notional((account_id, venue, symbol))
        return total
