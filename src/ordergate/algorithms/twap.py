"""The TWAP schedule: how a parent quantity is split into slices and when each is due.

Pure arithmetic, no clock and no I/O, so a replay, a restart and a test all derive the
very same schedule from the same signal: the runner recomputes it from the journaled
spec instead of trusting anything it held in memory.

The rules, and why:
- the quantity is first truncated to the instrument's lot (never more than asked for),
  then split in whole lots by the largest-remainder rule. With equal weights every
  remainder is equal, so the tie-break decides: the first `lots % slices` slices get
  one lot more. The parts sum to the rounded quantity exactly, with no lot lost or made.
- a part below the instrument's minimum quantity or minimum notional (at the reference
  price, where one is known) could not be sent, so it is merged into the next slice;
  a short last part is merged into the last slice kept. The schedule is then shorter
  but keeps its times: a kept slice is due when its leg number says.
- slice `i` is due `i * duration / slices` after the start (slice 0 at once), counted
  in whole microseconds, rounded down, so no float decides when money moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from ordergate.domain.instrument import Instrument

MICROSECONDS = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Slice:
    """One child of the schedule: its leg number (its index in the uncompressed schedule,
    from which its client order ID is derived), its quantity and when it is due."""

    leg: int
    quantity: Decimal
    due_after: timedelta


def _sendable(instrument: Instrument, quantity: Decimal, price: Decimal | None) -> bool:
    """At or above the minimums (a maximum is the validator's and risk's business: a
    slice is smaller than the whole it was judged as, and merging cannot cure it)."""
    if quantity <= 0 or quantity < instrument.min_quantity:
        return False
    return price is None or instrument.notional_problem(quantity, price) is None


def split_quantity(quantity: Decimal, slices: int, instrument: Instrument,
                   price: Decimal | None = None) -> list[tuple[int, Decimal]]:
    """`(leg, quantity)` of each slice kept, in leg order; empty when even the whole
    rounded quantity is below the instrument's minimums (the executor refuses that)."""
    if slices < 1:
        raise ValueError("a schedule has at least one slice")
    lot = instrument.lot_size
    total = instrument.round_quantity(quantity)
    lots = int(total / lot)
    base, extra = divmod(lots, slices)
    kept: list[tuple[int, Decimal]] = []
    carry = Decimal(0)
    for leg in range(slices):
        part = (base + (1 if leg < extra else 0)) * lot + carry
        if _sendable(instrument, part, price):
            kept.append((leg, part))
            carry = Decimal(0)
        else:
            carry = part
    if carry > 0:
        if kept:
            leg, last = kept[-1]
            kept[-1] = (leg, last + carry)
        elif _sendable(instrument, carry, price):  # pragma: no cover - merged above
            kept.append((slices - 1, carry))
    return kept


def due_after(leg: int, slices: int, duration_s: Decimal) -> timedelta:
    """When slice `leg` is due, after the schedule's start: whole microseconds, down."""
    micros = int(duration_s * MICROSECONDS * leg / slices)
    return timedelta(microseconds=micros)


def schedule(quantity: Decimal, slices: int, duration_s: Decimal, instrument: Instrument,
             price: Decimal | None = None) -> list[Slice]:
    """The whole schedule: every slice kept, with its quantity and due offset."""
    return [Slice(leg, part, due_after(leg, slices, duration_s))
            for leg, part in split_quantity(quantity, slices, instrument, price)]
