"""Splitting a block's quantity over weighted accounts, in whole lots, exactly.

Pure arithmetic, no clock and no I/O: a replay, a restart and a test derive the very same
children from the same block and the same weights, which is what lets each child's client
order ID be derived from the signal and the account and never be sent twice.

The rules, and why:
- the block is first truncated to the instrument's lot (never more than asked for), then
  shared out in whole lots by the largest-remainder rule (Hamilton's method): each account
  gets the floor of its exact quota, and the lots left over go one each to the largest
  fractional parts, ties to the account listed first in the group. The quotas are exact:
  the Decimal weights become integers in one scale (digits and exponent), so each
  quota's floor and remainder are integer divisions and no float and no rounding context
  decides who gets a lot; the children sum to the rounded block exactly.
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
from decimal import ROUND_CEILING, Decimal

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


def _integers(weights: Sequence[Decimal]) -> list[int]:
    """The weights as integers in one common scale, exactly (digits and exponent, never a
    rounding context): 0.1, 0.25 -> 10, 25. Their ratios are the weights' ratios."""
    parts = [w.as_tuple() for w in weights]
    scale = max((-int(p.exponent) for p in parts if int(p.exponent) < 0), default=0)
    out = []
    for p in parts:
        digits = int("".join(map(str, p.digits)) or "0")
        out.append(digits * 10 ** (int(p.exponent) + scale))
    return out


def _shares(lots: int, ints: Sequence[int]) -> list[int]:
    """Lots per account, largest remainder; `ints` all positive (`_integers`). Each quota
    is `lots * w / total`; with integer weights its floor and its remainder are integer
    divisions over the one denominator `total`, so remainders compare exactly."""
    total = sum(ints)
    floors, remainders = [], []
    for w in ints:
        whole, rest = divmod(lots * w, total)
        floors.append(whole)
        remainders.append(rest)
    left = lots - sum(floors)
    if left:
        # Largest remainder first; equal remainders: the account listed first.
        order = sorted(range(len(ints)), key=lambda i: (-remainders[i], i))
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


def _sendable_lots(instrument: Instrument, price: Decimal | None, lots: int) -> tuple[int, int]:
    """(fewest, most) lots a child may have, found once and checked with the instrument's
    own rules, so each round of the split compares integers, not Decimals, per child."""
    lot = instrument.lot_size
    need = instrument.min_quantity
    if price:
        need = max(need, instrument.min_notional / price)
    fewest = max(1, int((need / lot).to_integral_value(rounding=ROUND_CEILING)))
    while fewest > 1 and _problem(instrument, (fewest - 1) * lot, price) is None:
        fewest -= 1  # the estimate's division rounded up one lot too many
    while fewest <= lots and _problem(instrument, fewest * lot, price) is not None and (
            instrument.max_quantity is None or fewest * lot <= instrument.max_quantity):
        fewest += 1  # ... or one too few
    most = lots if instrument.max_quantity is None else int(instrument.max_quantity / lot)
    return fewest, most


def split(quantity: Decimal, weights: Sequence[tuple[str, Decimal]], instrument: Instrument,
          price: Decimal | None = None) -> Split:
    """Share `quantity` over `weights` (account, weight), in the group's order."""
    if any(w < 0 for _, w in weights):
        raise ValueError("a weight is never negative")
    lot = instrument.lot_size
    block = instrument.round_quantity(quantity)
    lots = int(block / lot)
    positive = [(account, w) for account, w in weights if w > 0]
    kept = list(zip([a for a, _ in positive], _integers([w for _, w in positive])))
    fewest, most = _sendable_lots(instrument, price, lots)
    dropped: list[Dropped] = []
    while kept:
        shares = _shares(lots, [w for _, w in kept])
        failing = [(n, -i) for i, n in enumerate(shares) if n < fewest or n > most]
        if not failing:
            children = tuple(Child(account, n * lot) for (account, _), n in zip(kept, shares))
            return Split(block, children, tuple(dropped))
        n, neg_i = min(failing)  # the smallest share; equal: the one listed last
        why = _problem(instrument, n * lot, price) or f"{n * lot} cannot be sent"
        dropped.append(Dropped(kept[-neg_i][0], n * lot, why))
        del kept[-neg_i]
    return Split(block, (), tuple(dropped))
