"""Small closed vocabularies shared by signals, orders and venues.

They are `StrEnum`s so that they serialise to the exact strings a signal file, a journal
row or an audit line carries, and compare equal to those strings.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> Decimal:
        """+1 for a buy, -1 for a sell: a fill's effect on a position's signed quantity."""
        return ONE if self is Side.BUY else MINUS_ONE

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """MARKET and LIMIT execute on arrival; the two stops rest at the venue untriggered
    until the market reaches their `trigger_price` (a buy stop when the price rises to
    it, a sell stop when it falls to it), then execute as a market order (STOP_MARKET) or
    as a limit order at their `limit_price` (STOP_LIMIT)."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"

    @property
    def is_stop(self) -> bool:
        """Rests untriggered until the market reaches its trigger price."""
        return self is OrderType.STOP_MARKET or self is OrderType.STOP_LIMIT

    @property
    def has_limit_price(self) -> bool:
        """Carries a limit price (LIMIT, and STOP_LIMIT once triggered)."""
        return self is OrderType.LIMIT or self is OrderType.STOP_LIMIT

    @property
    def executes_at_market(self) -> bool:
        """Takes whatever the book offers when it executes (MARKET, STOP_MARKET once
        triggered): IOC against the touch, what it cannot fill expires."""
        return self is OrderType.MARKET or self is OrderType.STOP_MARKET


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"


class TradingState(StrEnum):
    """The kill switch. ACTIVE: trading as usual. REDUCING: only orders that shrink a
    position, counting what working orders will already take off (and working orders that
    would grow or flip a position are cancelled). HALTED: no order leaves."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @classmethod
    def parse(cls, value: str) -> TradingState:
        """The state named exactly (`"HALTED"`); anything else is an error, never ACTIVE."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(state.value for state in cls)
            raise ValueError(f"trading state must be one of {names}, got {value!r}") from None


class OrderRole(StrEnum):
    """What an order is to the intent it serves (its lineage, journaled with it).

    PRIMARY: the one order a signal (or a direct order) asked for. The others are
    derived from a parent order or algorithm, with a client order ID derived from the
    parent's and a leg number (`pipeline/client_order_id.py`), so a restart derives the
    same IDs: STOP_LOSS and TAKE_PROFIT, a bracket's reduce-only exits; AMENDMENT, the
    replacement of an amended order; SLICE, one child of an execution algorithm (TWAP)."""

    PRIMARY = "primary"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    AMENDMENT = "amendment"
    SLICE = "slice"


class BracketAction(StrEnum):
    """What happened to a bracket (an entry with its protective exits), as audited."""

    OPENED = "opened"              # journaled with its entry, before the entry was sent
    EXIT_PLACED = "exit_placed"    # an exit sent for what the entry has filled
    EXIT_CANCELLED = "exit_cancelled"  # re-sized (the entry filled more, the other exit
    #                                    filled) or no longer needed (one-cancels-the-other)
    UNPROTECTED = "unprotected"    # an exit could not be placed: the position is naked
    OVERFILLED = "overfilled"      # the exits filled more than the entry: drift
    RELINKED = "relinked"          # found again in the journal at a restart
    FINISHED = "finished"          # nothing left to protect


class StopOutcome(StrEnum):
    """What became of a held (emulated) stop whose trigger was crossed, as audited."""

    SENT = "sent"          # sent to the venue as the market or limit order it becomes
    REFUSED = "refused"    # the kill switch refused it: cancelled locally, with its code
    WAITING = "waiting"    # a reduce-only exit while HALTED and exits may not leave: held


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


ZERO = Decimal(0)
ONE = Decimal(1)
MINUS_ONE = Decimal(-1)
