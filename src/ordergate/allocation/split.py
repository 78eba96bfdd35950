"""Splitting a block's quantity over weighted accounts, in whole lots, exactly.

Pure arithmetic, no clock and no I/O: a replay, a restart and a test derive the very same
children from the same block and the same weights, which is what lets each child's client
order ID be derived from the signal and the account and never be sent twice.

The rules, and why:
- the block is first truncated to the instrument's lot (never more than asked for), then
  shared out in whole lots by the largest-remainder rule (Hamilton's method): each account
  gets the floor of its exact quota, and the lots left over go one each to the largest
  fractional parts, ties to the account listed first in the group. The quotas are exact
  fractions (`fractions.Fraction` from the Decimal weights), so no float and no rounding
  context decides who gets a lot; the children sum to the rounded block exactly.
- a child below the instrument's minimum quantity or minimum notional (at the price, where
  one is known) could not be sent: the smallest such child is dropped, its weight leaves
  the split, and the block is shared out again among the others, until every child left
  is sendable or none is left. One at a time, smallest first, so as few accounts as
  possible are dropped and a dropped account's lots go where the weights say.
- a weight of zero takes no part (the `failover` policy weighs the first eligible account
  one and the rest zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from ordergate.domain.instrument import Instrument
from ordergate.records import record


@record
class Child:
    account: str
    quantity: Decimal


@record
class Dropped:
    account: str
    quantity: Decimal
    """What the account's share came to in the split it was dropped from."""
    why: str


@record
class Split:
    block: Decimal
    """The block's quantity truncated to the lot: what the children sum to, unless every
    child was dropped (then none are left and nothing is sent)."""
    children: tuple[Child, ...]
    dropped: tuple[Dropped, ...]

    @property
    def allocated(self) -> Decimal:
        return sum((child.quantity for child in self.children), Decimal(0))


def _shares(lots: int, weights: Sequence[tuple[str, Decimal]]) -> list[int]:
    """Lots per account, largest remainder; `weights` all positive."""
    total = sum((Fraction(w) for _, w in weights), Fraction(0))
    quotas = [lots * Fraction(w) / total for _, w in weights]
    floors = [q.numerator // q.denominator for q in quotas]
    left = lots - sum(floors)
    # Largest fractional part first; equal parts: the account listed first.
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _problem(instrument: Instrument, quantity: Decimal, price: Decimal | None) -> str | None:
    if quantity <= 0:
        return "its share rounds to no lot"
    problem = instrument.quantity_problem(quantity)
    if problem is None and price is not None:
        problem = instrument.notional_problem(quantity, price)
    return problem


def split(quantity: Decimal, weights: Sequence[tuple[str, Decimal]], instrument: Instrument,
          price: Decimal | None = None) -> Split:
    """Share `quantity` over `weights` (account, weight), in the group's order."""
    if any(w < 0 for _, w in weights):
        raise ValueError("a weight is never negative")
    lot = instrument.lot_size
    block = instrument.round_quantity(quantity)
    lots = int(block / lot)
    kept = [(account, w) for account, w in weights if w > 0]
    dropped: list[Dropped] = []
    while kept:
        shares = _shares(lots, kept)
        problems = [(shares[i], -i, _problem(instrument, shares[i] * lot, price))
                    for i in range(len(kept))]
        failing = [(n, neg_i, why) for n, neg_i, why in problems if why is not None]
        if not failing:
            children = tuple(Child(account, n * lot) for (account, _), n in zip(kept, shares))
            return Split(block, children, tuple(dropped))
        n, neg_i, why = min(failing)  # the smallest share; equal: the one listed last
        account = kept[-neg_i][0]
        assert why is not None
        dropped.append(Dropped(account, n * lot, why))
        del kept[-neg_i]
    return Split(block, (), tuple(dropped))
