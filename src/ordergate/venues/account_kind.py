"""Whether a venue's account locks what a resting sell may sell (a spot account).

On a spot account every resting sell reserves its quantity of the base asset, and
nothing at the venue ties a "reduce-only" exit to the position it protects: two exits
resting for one position (a stop-loss and a take-profit, emulated one-cancels-the-other)
reserve twice what the position holds, the second one taking the holdings of another
position or of the account, and both may fill. A margin or derivatives account holds a
position the venue itself reduces. The bracket manager asks this before it rests a
take-profit beside a stop-loss.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SpotAccount(Protocol):
    def sells_lock_holdings(self, symbol: str) -> bool:
        """True when a resting sell of `symbol` reserves base asset the account holds."""
        ...


def sells_lock_holdings(venue: object, symbol: str) -> bool:
    """Asked of `venue` or the adapter it wraps (`inner`, at any depth). An adapter that
    does not say is taken as spot: resting a second exit on a margin account only costs
    the take-profit, resting it on a spot account may sell what another position holds."""
    for _ in range(8):  # a wrapper chain is a few deep; never loop on a cycle
        if isinstance(venue, SpotAccount):
            return venue.sells_lock_holdings(symbol)
        venue = getattr(venue, "inner", None)
        if venue is None:
            return True
    return True
