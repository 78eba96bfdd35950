"""`PositionTracker`: positions per (account, venue, symbol), built from fills only.

It listens to `OrderFilled` and publishes `PositionOpened`, `PositionChanged` or
`PositionClosed`. Fills arrive here already de-duplicated by (venue, symbol, trade ID)
(the ledger journals each trade once), so a position is exactly the sum of its unique
fills, less any commission charged in the base asset (what the account holds: see
`Position`).

A commission paid in a third currency, neither the fill's base nor its quote (Binance
charges BNB, at a discount, when the account pays fees in BNB), moves no position but
leaves that currency's balance all the same. The tracker keeps those per (account, venue,
currency), a cash-like holding spent on fees, rebuilt from the journal like positions
are; `reconciliation.holdings.held_quantity` takes it off what the balance should be.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from ordergate.bus import EventBus
from ordergate.domain.fill import Fill
from ordergate.domain.position import Position
from ordergate.domain.values import ZERO
from ordergate.events import OrderFilled, PositionChanged, PositionClosed, PositionOpened

Key = tuple[str, str, str]


def third_currency(fill: Fill) -> str | None:
    """The currency of a commission that comes off neither the position (the base) nor
    the money it trades against (the quote, or a derivative's settle currency): BNB for a
    BTC/USDT fill paying its fee in BNB. None for any other fill, and for symbols without
    a base and quote (a Polymarket token: its fees are in the collateral)."""
    if not fill.fee or not fill.fee_currency:
        return None
    base, slash, rest = fill.symbol.partition("/")
    if not slash:
        return None
    quote, _, settle = rest.partition(":")
    return None if fill.fee_currency in (base, quote, settle) else fill.fee_currency


class PositionTracker:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.positions: dict[Key, Position] = {}
        self._open: dict[str, set[tuple[str, str]]] = {}  # account -> (venue, symbol) not flat
        self._fees_elsewhere: dict[Key, Decimal] = {}  # (account, venue, currency) -> paid
        bus.subscribe(OrderFilled, self.on_fill)

    def restore(self, fill: Fill) -> None:
        """Apply a fill from the journal at start-up: positions are rebuilt, not announced."""
        self._apply(fill)

    def _apply(self, fill: Fill) -> tuple[Position, bool]:
        key = (fill.account_id, fill.venue, fill.symbol)
        position = self.positions.get(key)
        if position is None:
            position = self.positions[key] = Position(*key)
        was_flat = position.is_flat
        position.apply(fill)
        if (currency := third_currency(fill)) is not None:
            fee_key = (fill.account_id, fill.venue, currency)
            self._fees_elsewhere[fee_key] = self._fees_elsewhere.get(fee_key, ZERO) + fill.fee
        if was_flat != position.is_flat:
            held = self._open.setdefault(fill.account_id, set())
            if was_flat:
                held.add((fill.venue, fill.symbol))
            else:
                held.discard((fill.venue, fill.symbol))
        return position, was_flat

    def on_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        position, was_flat = self._apply(fill)
        kind = PositionOpened if was_flat else PositionClosed if position.is_flat else PositionChanged
        self._bus.publish(kind(event.ts, fill.account_id, fill.venue, fill.symbol, position.quantity,
                               position.average_entry, position.realized_pnl,
                               fill.client_order_id, fill.trade_id))

    def quantity(self, account_id: str, venue: str, symbol: str) -> Decimal:
        position = self.positions.get((account_id, venue, symbol))
        return ZERO if position is None else position.quantity

    def fees_paid_in(self, account_id: str, venue: str, currency: str) -> Decimal:
        """Commission paid in `currency` by fills of symbols that neither buy nor sell it
        (`third_currency`): what has left the account's `currency` balance on fees."""
        return self._fees_elsewhere.get((account_id, venue, currency), ZERO)

    def open_count(self, account_id: str) -> int:
        return len(self._open.get(account_id, ()))

    def open_symbols(self, account_id: str) -> Iterator[tuple[str, str]]:
        """(venue, symbol) pairs where the account's position is not flat."""
        return iter(self._open.get(account_id, ()))
