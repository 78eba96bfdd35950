"""Pausing and resuming accounts and groups: what takes no new child of a block.

A paused account is judged not eligible (`paused`) for every block; a paused group
refuses its blocks whole (ALLOCATION_GROUP_PAUSED), whatever its accounts' states. An
operator chooses whether the working orders of what is paused are left to work or
cancelled. The kill switch (`trading_state`) still applies to everything, paused or not.

Config (`[accounts.NAME] status = "paused"`) sets an account's state at start; a pause
or resume at run time (`Engine.set_account_status`, `POST /v1/accounts/{id}/status`,
`ordergate accounts pause`) holds until the next change or the next start, as the kill
switch does, and is audited (`account_status`, naming who and why).
"""

from __future__ import annotations

from collections.abc import Iterable

from ordergate.allocation.eligibility import AccountStatus


class Pauses:
    def __init__(self, paused_accounts: Iterable[str], accounts: Iterable[str],
                 groups: dict[str, tuple[str, ...]]) -> None:
        self._accounts = set(accounts)
        self._groups = groups
        self.accounts: set[str] = set(paused_accounts)
        self.groups: set[str] = set()

    def kind(self, name: str) -> str | None:
        """"account", "group", or None for a name config does not know."""
        if name in self._groups:
            return "group"
        return "account" if name in self._accounts else None

    def status(self, name: str) -> AccountStatus:
        paused = self.groups if name in self._groups else self.accounts
        return AccountStatus.PAUSED if name in paused else AccountStatus.ACTIVE

    def set(self, name: str, status: AccountStatus) -> bool:
        """True if it changed."""
        paused = self.groups if name in self._groups else self.accounts
        before = name in paused
        if status is AccountStatus.PAUSED:
            paused.add(name)
        else:
            paused.discard(name)
        return before != (name in paused)

    def members(self, name: str) -> tuple[str, ...]:
        """The accounts a name covers: a group's, or the account itself."""
        return self._groups.get(name, (name,))

    def is_paused(self, account: str) -> bool:
        return account in self.accounts
