"""Why a signal was refused: one enum for every handler, documented in the README.

A code is stable (operators grep for it, dashboards count it); the free-text reason
next to it in the audit line carries the numbers.
"""

from enum import StrEnum


class ReasonCode(StrEnum):
    # boundary
    INVALID_SIGNAL = "INVALID_SIGNAL"
    # validator
    UNKNOWN_VENUE = "UNKNOWN_VENUE"
    VENUE_DISABLED = "VENUE_DISABLED"
    VENUE_CIRCUIT_OPEN = "VENUE_CIRCUIT_OPEN"
    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    WEAK_SIGNAL = "WEAK_SIGNAL"
    LOW_CONFLUENCE = "LOW_CONFLUENCE"
    MISSING_LIMIT_PRICE = "MISSING_LIMIT_PRICE"
    STOP_LOSS_WRONG_SIDE = "STOP_LOSS_WRONG_SIDE"
    TAKE_PROFIT_WRONG_SIDE = "TAKE_PROFIT_WRONG_SIDE"
    QUANTITY_OUT_OF_LIMITS = "QUANTITY_OUT_OF_LIMITS"
    PRICE_OUT_OF_LIMITS = "PRICE_OUT_OF_LIMITS"
    STALE_SIGNAL = "STALE_SIGNAL"
    FUTURE_SIGNAL = "FUTURE_SIGNAL"
    EXPIRED_SIGNAL = "EXPIRED_SIGNAL"
    POST_ONLY_CONFLICT = "POST_ONLY_CONFLICT"
    MISSING_TRIGGER_PRICE = "MISSING_TRIGGER_PRICE"
    TRIGGER_PRICE_CONFLICT = "TRIGGER_PRICE_CONFLICT"
    PROTECT_WITHOUT_EXITS = "PROTECT_WITHOUT_EXITS"
    ALGORITHM_CONFLICT = "ALGORITHM_CONFLICT"
    # risk manager
    TRADING_HALTED = "TRADING_HALTED"
    REDUCE_ONLY = "REDUCE_ONLY"
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"
    PRICE_BAND = "PRICE_BAND"
    TRIGGER_WRONG_SIDE = "TRIGGER_WRONG_SIDE"
    MAX_POSITIONS = "MAX_POSITIONS"
    REWARD_RISK_TOO_LOW = "REWARD_RISK_TOO_LOW"
    MAX_NOTIONAL = "MAX_NOTIONAL"
    SIZE_TOO_SMALL = "SIZE_TOO_SMALL"
    NO_EQUITY = "NO_EQUITY"
    INSUFFICIENT_EQUITY = "INSUFFICIENT_EQUITY"
    # executor
    BELOW_MIN_QUANTITY = "BELOW_MIN_QUANTITY"
    BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"
    DUPLICATE_SIGNAL = "DUPLICATE_SIGNAL"
    SCHEDULE_PAST_EXPIRY = "SCHEDULE_PAST_EXPIRY"
    """A TWAP whose last slice would be due at or after the signal's `expires_at`."""
    VENUE_ERROR = "VENUE_ERROR"
    # venue answers (an order's REJECTED transition, not a handler's denial)
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    POST_ONLY_UNSUPPORTED = "POST_ONLY_UNSUPPORTED"
    STOP_WOULD_TRIGGER = "STOP_WOULD_TRIGGER"
    STOP_ORDERS_UNSUPPORTED = "STOP_ORDERS_UNSUPPORTED"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    """The venue refused the order for the account's balance."""
    # amend (`Engine.amend`, PATCH /v1/orders/{id}): the order is left as it was
    AMEND_NOT_WORKING = "AMEND_NOT_WORKING"
    AMEND_NOT_AMENDABLE = "AMEND_NOT_AMENDABLE"
    AMEND_NOTHING_TO_CHANGE = "AMEND_NOTHING_TO_CHANGE"
    AMEND_BELOW_FILLED = "AMEND_BELOW_FILLED"
    AMEND_INVALID = "AMEND_INVALID"
    AMEND_TOO_LATE = "AMEND_TOO_LATE"
    AMEND_REFUSED_BY_VENUE = "AMEND_REFUSED_BY_VENUE"
    AMEND_REPLACEMENT_REJECTED = "AMEND_REPLACEMENT_REJECTED"
    """A native replace cancelled the order and the venue refused its replacement."""
    AMEND_INTERRUPTED = "AMEND_INTERRUPTED"
    """A restart came between an amend's journal write and its answer: unwound."""
    # allocation (a signal whose account names a group): nothing was sent
    ALLOCATION_NO_ELIGIBLE_ACCOUNT = "ALLOCATION_NO_ELIGIBLE_ACCOUNT"
    ALLOCATION_BELOW_MINIMUM = "ALLOCATION_BELOW_MINIMUM"
    """Every account's share of the block was below the instrument's minimums."""
    ALLOCATION_GROUP_PAUSED = "ALLOCATION_GROUP_PAUSED"
    ALLOCATION_ACCOUNT_PAUSED = "ALLOCATION_ACCOUNT_PAUSED"
    """A child (a failover's, a completion's, one resumed at restart) for an account paused
    since its block was judged: not sent."""
    ALLOCATION_RULES_DIFFER = "ALLOCATION_RULES_DIFFER"
    """The group's venues trade the symbol in lots that do not divide one another."""
    # engine
    INTERNAL_ERROR = "INTERNAL_ERROR"
