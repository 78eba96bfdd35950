"""Pausing and resuming accounts and groups: what takes no new child of a block.

A paused account is judged not eligible (`paused`) for every block; a paused group
refuses its blocks whole (ALLOCATION_GROUP_PAUSED), whatever its accounts' states. An
operator chooses whether the working orders of what is paused are left to work or
cancelled. The kill switch (`trading_state`) still applies to everything, paused or not.

Config (`[accounts.NAME] status = "paused"`) pauses an account at every start; a pause
or resume at run time (`Engine.set_account_status`, `POST /v1/accounts/{id}/status`,
`ordergate accounts pause`) is audited (`account_status`, naming who and why) and, for a
pause, journaled (`account_pauses`) so that a restart keeps it: an account an operator
stopped is never resumed by a crash. A pause from either source holds: resuming an
account config pauses lasts until the next start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ordergate.allocation.eligibility import AccountStatus
from ordergate.journal.order_journal import OrderJournal


class Pauses:
    def __init__(self, paused_accounts: Iterable[str], accounts: Iterable[str],
                 groups: dict[str, tuple[str, ...]], journal: OrderJournal | None = None) -> None:
        self._accounts = set(accounts)
        self._groups = groups
        self._journal = journal
        self.accounts: set[str] = set(paused_accounts)
        self.groups: set[str] = set()
        if journal is not None:  # paused at run time before a restart: still paused
            for row in journal.rows("SELECT name, kind FROM account_pauses"):
                if row["kind"] == "group" and row["name"] in groups:
                    self.groups.add(row["name"])
                elif row["kind"] == "account" and row["name"] in self._accounts:
                    self.accounts.add(row["name"])

    def kind(self, name: str) -> str | None:
        """"account", "group", or None for a name config does not know."""
        if name in self._groups:
            return "group"
        return "account" if name in self._accounts else None

    def status(self, name: str) -> AccountStatus:
        paused = self.groups if name in self._groups else self.accounts
        return AccountStatus.PAUSED if name in paused else AccountStatus.ACTIVE

    def set(self, name: str, status: AccountStatus, reason: str = "", by: str = "",
            ts: datetime | None = None) -> bool:
        """True if it changed. Journaled, in the same commit as what follows it."""
        kind = "group" if name in self._groups else "account"
        paused = self.groups if kind == "group" else self.accounts
        before = name in paused
        if status is AccountStatus.PAUSED:
            paused.add(name)
        else:
            paused.discard(name)
        if self._journal is not None and before != (name in paused):
            if status is AccountStatus.PAUSED:
                self._journal.write("INSERT OR REPLACE INTO account_pauses VALUES (?,?,?,?,?)",
                                    (name, kind, reason, by, "" if ts is None else ts.isoformat()))
            else:
                self._journal.write("DELETE FROM account_pauses WHERE name=?", (name,))
        return before != (name in paused)

    def members(self, name: str) -> tuple[str, ...]:
        """The accounts a name covers: a group's, or the account itself."""
        return self._groups.get(name, (name,))

    def is_paused(self, account: str) -> bool:
        return account in self.accounts
