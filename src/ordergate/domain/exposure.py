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

An algorithm's parent (a TWAP) will still send what it has not sent yet: that remainder
is exposure as real as a resting order (it fills as its slices go out), so it counts
too, as a *reservation* keyed by the parent's ID, which the algorithm's runner keeps up
to date (`reserve` as its slices are sent, `release` when it ends). A slice, once
journaled, is an order and counts as one; the runner takes its quantity off the
reservation at the same moment, so nothing is counted twice or missed. Every check reads
orders and reservations summed: to the risk of a fill, a sell resting at the venue and
one a schedule will send in a minute are the same.
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
    """Remaining quantity of working buy orders, and what buying parents will still send."""
    working_sell: Decimal
    """Remaining quantity of working sell orders, and what selling parents will still send."""

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
    """One (account, venue, symbol)'s working orders and reservations, summed."""

    buy: Decimal = ZERO
    sell: Decimal = ZERO
    buy_notional: Decimal = ZERO
    members: int = 0
    """Working orders and reservations counted here: at zero the key goes, exactly."""


class WorkingOrders:
    """Remaining quantity (and, for buys, notional) of every order not yet terminal, plus
    what active algorithm parents have reserved (their unsent remainder).

    `update(order)` after any change to an order's remaining quantity or to its
    terminality recomputes that order's contribution: what it counted before is replaced
    by what it counts now (its remaining quantity, or nothing once terminal), so no
    sequence of fills, cancels and late reports can make the totals drift from the
    orders themselves. One dictionary lookup per key and update: this runs on every
    order of a backtest. Reservations are replaced the same way (`reserve`), so their
    memory is bounded by the parents active, and they drift no more than orders do."""

    def __init__(self) -> None:
        self._counted: dict[str, _Counted] = {}
        self._reserved: dict[str, _Counted] = {}
        self._totals: dict[Key, _Totals] = {}
        self._keys_per_account: dict[str, set[tuple[str, str]]] = {}

    def __len__(self) -> int:
        """Working orders (reservations are not orders: `reservations` counts them)."""
        return len(self._counted)

    @property
    def reservations(self) -> int:
        return len(self._reserved)

    def reserve(self, parent_id: str, key: Key, side: Side, quantity: Decimal,
                notional: Decimal) -> None:
        """What parent `parent_id` will still send on `key`: `quantity` (and, for a buy,
        the `notional` it may spend: the quantity at its cap or expected price). Replaces
        the parent's previous reservation; zero (or less) releases it."""
        old = self._reserved.pop(parent_id, None)
        if old is not None:
            self._add(old, -1)
        if quantity <= 0:
            return
        new = _Counted(key, side, quantity, notional if side is Side.BUY else ZERO)
        self._reserved[parent_id] = new
        self._add(new, 1)

    def release(self, parent_id: str) -> None:
        """The parent will send nothing more (finished, cancelled, expired)."""
        old = self._reserved.pop(parent_id, None)
        if old is not None:
            self._add(old, -1)

    def reserved(self, parent_id: str) -> Decimal:
        """What `parent_id` has reserved now: zero once released."""
        old = self._reserved.get(parent_id)
        return ZERO if old is None else old.quantity

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
        totals.members += sign
        if totals.members:
            return
        # The last working order or reservation of this key went: exactly zero, whatever
        # was summed.
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
        """(venue, symbol) pairs where the account has a working order or a reservation."""
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
        """(venue, symbol) pairs where the account holds a position, has a working order or
        a parent that will still send (a reservation): what `max_open_positions` counts."""
        return set(self._open_positions(account_id)).union(self._working.symbols(account_id))

    def committed(self, account_id: str, venue: str, quote_of: Callable[[str], str | None],
                  currency: str) -> Decimal:
        """What the account's working buys at `venue` may still spend in `currency`
        (remaining quantity x limit price, or the expected price of a market order), and
        what its buying parents will still send (at their cap or expected price): equity
        that is not free for a new order. `quote_of` names a symbol's quote."""
        total = ZERO
        for venue_name, symbol in self._working.symbols(account_id):
            if venue_name == venue and quote_of(symbol) == currency:
                total += self._working.buy_notional((account_id, venue, symbol))
        return total
