"""`PositionTracker`: positions per (account, venue, symbol), built from fills only.

It listens to `OrderFilled` and publishes `PositionOpened`, `PositionChanged` or
`PositionClosed`. Fills arrive here already de-duplicated by trade ID (the ledger
journals each trade once), so a position is exactly the sum of its unique fills, less
any commission charged in the base asset (what the account holds: see `Position`).
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


class PositionTracker:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.positions: dict[Key, Position] = {}
        self._open: dict[str, set[tuple[str, str]]] = {}  # account -> (venue, symbol) not flat
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

    def open_count(self, account_id: str) -> int:
        return len(self._open.get(account_id, ()))

    def open_symbols(self, account_id: str) -> Iterator[tuple[str, str]]:
        """(venue, symbol) pairs where the account's position is not flat."""
        return iter(self._open.get(account_id, ()))
