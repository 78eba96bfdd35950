"""The crash test's view of brackets, from the venue's records alone: what each protected
entry filled, what its exits filled and what they still have working.

A kill between an entry's fill and its exits' placement can go wrong two ways, and each
is a figure that must be 0:
- `exits_over_position`: exits working for more than the entry left open (what it
  delivered, its fills less a commission taken in BTC, minus what exits filled), or
  exits that filled more than the entry did. Reduce-only exits
  that outgrow the position would sell what the bracket does not hold: a second stop
  placed beside the first by a restart that did not find it, say. Checked right after
  every kill and at the end;
- `unprotected_entries`: a filled entry whose stop-loss does not cover what it left open
  once the engine has settled (the final run, before the market is moved through the
  stops): a restart that did not place a missing exit leaves the position naked.

Exits are recognised by their client order IDs, derived from the entry's exactly as the
engine derives them (`child_client_order_id`), so the venue's records need no help from
the journal: an exit the journal lost is still seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from typing import Any

from ordergate.domain.values import OrderRole
from ordergate.pipeline.client_order_id import child_client_order_id

EXIT_ROLES = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
MAX_EXIT_LEGS = 64
"""Legs per exit role the test recognises: an entry re-sized more often than this is a
bug in itself, and its later legs count as orders we never derived."""
_OPEN = ("NEW", "PARTIALLY_FILLED")
ZERO = Decimal(0)
BASE, LOT = "BTC", Decimal("0.00001")  # the crash test's BTC/USDT account


@cache
def exit_ids(entry: str) -> dict[str, OrderRole]:
    """Every client order ID an exit of `entry` may have, with its role."""
    return {child_client_order_id(entry, role, leg): role
            for role in EXIT_ROLES for leg in range(1, MAX_EXIT_LEGS + 1)}


@dataclass(slots=True)
class BracketAtVenue:
    entry: str
    entry_filled: Decimal = ZERO
    entry_commission: Decimal = ZERO  # taken in the base asset: the account holds less
    exits_filled: Decimal = ZERO
    working: dict[OrderRole, Decimal] = field(default_factory=dict)  # role -> open quantity

    @property
    def open_quantity(self) -> Decimal:
        """What the entry put in the account and no exit has taken out."""
        return self.entry_filled - self.entry_commission - self.exits_filled

    @property
    def to_protect(self) -> Decimal:
        """`open_quantity` in whole lots: a commission's dust below the lot cannot be sold."""
        return self.open_quantity.quantize(LOT, rounding=ROUND_FLOOR)


def brackets_at_venue(entries: Iterable[str], state: Mapping[str, Any]) -> list[BracketAtVenue]:
    by_cid: dict[str, list[Mapping[str, Any]]] = {}
    for order in state["orders"]:
        by_cid.setdefault(str(order["clientOrderId"]), []).append(order)
    base_commission: dict[str, Decimal] = {}
    for trade in state["trades"]:
        if trade["commissionAsset"] == BASE:
            cid = str(trade["clientOrderId"])
            base_commission[cid] = base_commission.get(cid, ZERO) + Decimal(trade["commission"])
    found = []
    for entry in entries:
        bracket = BracketAtVenue(entry, entry_commission=base_commission.get(entry, ZERO))
        for order in by_cid.get(entry, []):
            bracket.entry_filled += Decimal(order["executedQty"])
        for cid, role in exit_ids(entry).items():
            for order in by_cid.get(cid, []):
                executed = Decimal(order["executedQty"])
                bracket.exits_filled += executed
                if order["status"] in _OPEN:
                    left = Decimal(order["origQty"]) - executed
                    bracket.working[role] = bracket.working.get(role, ZERO) + left
        found.append(bracket)
    return found


def exits_over_position(brackets: Iterable[BracketAtVenue]) -> list[str]:
    problems = []
    for b in brackets:
        if b.exits_filled > b.entry_filled:
            problems.append(f"bracket {b.entry}: exits filled {b.exits_filled}, more than the "
                            f"entry's {b.entry_filled}: the position flipped")
        for role, working in sorted(b.working.items()):
            if working > b.open_quantity:
                problems.append(f"bracket {b.entry}: {role} exits work for {working}, the entry "
                                f"left {b.open_quantity} open")
    return problems


def unprotected_entries(brackets: Iterable[BracketAtVenue]) -> list[str]:
    return [f"bracket {b.entry}: {b.open_quantity} open, a stop-loss working for "
            f"{b.working.get(OrderRole.STOP_LOSS, ZERO)}"
            for b in brackets
            if b.to_protect > 0 and b.working.get(OrderRole.STOP_LOSS, ZERO) < b.to_protect]


def is_resting_exit(order: Mapping[str, Any]) -> bool:
    """A journal row of a bracket's exit that the venue has taken and rests (schema v8 has
    the lineage). One still being sent, or unresolved after a kill, is not: the engine
    has not settled while it may yet be placed again."""
    return order.get("role") in EXIT_ROLES and order["status"] in ("ACCEPTED", "PARTIALLY_FILLED")
