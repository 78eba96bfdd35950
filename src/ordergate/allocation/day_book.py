"""`DayBook`: each account's day, journaled: the equity it began with, what it risked.

A day begins at `allocation.day_starts_at_utc_hour` (UTC). The first time an account's
standing is read in a day, the equity seen then is that day's start (an engine started
mid-day takes its first sight, which is what it can know); what each child of a block
risks is added as it is admitted. Both live in the journal (`account_days`, schema v9),
in the same commits as the orders, so a restart keeps the day's drawdown and budget
rather than granting a fresh one. Only today's rows are held in memory.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from ordergate.clock import Clock
from ordergate.journal.order_journal import OrderJournal


class DayBook:
    def __init__(self, journal: OrderJournal, clock: Clock, starts_at_utc_hour: int = 0) -> None:
        self._journal, self._clock = journal, clock
        self._shift = timedelta(hours=starts_at_utc_hour)
        self._day: date | None = None
        self._rows: dict[str, tuple[Decimal | None, Decimal]] = {}  # account -> (start, spent)

    def today(self) -> date:
        """The trading day now: the UTC date of (now less the day's start hour)."""
        return (self._clock.now() - self._shift).date()

    def start_equity(self, account: str, equity_now: Decimal | None) -> Decimal | None:
        """The equity `account` began today with, recording `equity_now` as it when the day
        has none yet. None: no equity known today, neither before nor now."""
        row = self._row(account)
        if row is not None and row[0] is not None:
            return row[0]
        if equity_now is None:
            return None
        self._store(account, equity_now, row[1] if row is not None else Decimal(0))
        return equity_now

    def risk_spent(self, account: str) -> Decimal:
        row = self._row(account)
        return Decimal(0) if row is None else row[1]

    def add_risk(self, account: str, amount: Decimal) -> None:
        """A child was admitted risking `amount` (quantity x entry-to-stop distance). A day
        with no start yet (a child resumed at restart on a new day) keeps its start unknown
        until the next read of the account's equity, never 0."""
        row = self._row(account)
        start, spent = (None, Decimal(0)) if row is None else row
        self._store(account, start, spent + amount)

    # ------------------------------------------------------------------ the rows

    def _row(self, account: str) -> tuple[Decimal | None, Decimal] | None:
        day = self.today()
        if day != self._day:  # a new day (or the first read): yesterday leaves memory
            self._day, self._rows = day, {}
        row = self._rows.get(account)
        if row is not None:
            return row
        found = self._journal.rows("SELECT start_equity, risk_spent FROM account_days "
                                   "WHERE account_id=? AND day=?", (account, day.isoformat()))
        if not found:
            return None
        start = found[0]["start_equity"]
        row = self._rows[account] = (Decimal(start) if start else None,
                                     Decimal(found[0]["risk_spent"]))
        return row

    def _store(self, account: str, start: Decimal | None, spent: Decimal) -> None:
        day = self.today().isoformat()
        self._journal.write("INSERT OR REPLACE INTO account_days VALUES (?,?,?,?)",
                            (account, day, "" if start is None else str(start), str(spent)))
        self._rows[account] = (start, spent)
