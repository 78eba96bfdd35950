"""What the engine knows of an account when a block arrives (`eligibility.Standing`).

Read fresh for every block, from the venue and the engine's own books, never from a
cache older than the block: the venue's balances in the instrument's quote currency
(free: the available margin; total plus the account's positions in that currency marked
at the reference price: the equity), the day's start and risk from the `DayBook`, and
positions and working orders from the exposure view. A venue that does not answer leaves
the figures unknown, and an unknown figure makes the account ineligible, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from ordergate.allocation.day_book import DayBook
from ordergate.allocation.eligibility import AccountStatus, Standing
from ordergate.market import EngineMarket
from ordergate.venues.base import VenueError

ZERO = Decimal(0)


class StandingReader:
    def __init__(self, market: EngineMarket, position: Callable[[str, str, str], Decimal],
                 days: DayBook, paused: Callable[[str], bool]) -> None:
        self._market, self._position, self._days, self._paused = market, position, days, paused

    async def equity(self, account: str, venue: str, currency: str) -> tuple[Decimal | None,
                                                                             Decimal | None]:
        """(available margin, marked equity) in `currency`; None where the venue did not say."""
        adapter = self._market.venue(venue)
        if adapter is None:
            return None, None
        try:
            balance = (await adapter.fetch_balances(account)).get(currency)
        except VenueError:
            return None, None
        free, total = (ZERO, ZERO) if balance is None else (balance.free, balance.total)
        marked = total
        for held_venue, symbol in sorted(self._market.open_symbols(account)):
            quantity = self._position(account, held_venue, symbol)
            instrument = self._market.instrument(held_venue, symbol)
            if held_venue != venue or quantity == 0 or instrument is None \
                    or instrument.quote != currency:
                continue
            mark = await self._market.reference_price(held_venue, symbol)
            if mark is None:
                return free, None  # a position that cannot be valued: equity unknown
            marked += quantity * mark
        return free, marked

    async def read(self, account: str, venue: str, symbol: str, currency: str) -> Standing:
        status = AccountStatus.PAUSED if self._paused(account) else AccountStatus.ACTIVE
        free, equity = await self.equity(account, venue, currency)
        start = self._days.start_equity(account, equity)
        day_pnl = ZERO if equity is None or start is None else equity - start
        held = self._market.open_symbols(account)
        return Standing(status, free, equity, start, day_pnl, self._days.risk_spent(account),
                        len(held), (venue, symbol) in held)
