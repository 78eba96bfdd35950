"""What a guarded venue tells an observer about each request it lets through: which
method, how it ended and how long it took on the wall clock.

The vocabularies are closed so the metrics built on them have bounded labels: a method
is one of the adapter's, an outcome one of six, whatever a venue's error text says.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class VenueMethod(StrEnum):
    LOAD_INSTRUMENTS = "load_instruments"
    PLACE_ORDER = "place_order"
    CANCEL_ORDER = "cancel_order"
    FETCH_ORDER = "fetch_order"
    FETCH_OPEN_ORDERS = "fetch_open_orders"
    FETCH_FILLS = "fetch_fills"
    FETCH_BALANCES = "fetch_balances"
    FETCH_TICKER = "fetch_ticker"
    REPLACE_ORDER = "replace_order"


class RequestOutcome(StrEnum):
    OK = "ok"
    REFUSED_BY_VENUE = "refused_by_venue"  # an answer: rejected, not found, bad request
    RETRYABLE_ERROR = "retryable_error"    # a timeout, a 5xx, a dropped connection
    RATE_LIMITED = "rate_limited"          # 429 / 418 from the venue
    REFUSED = "refused"                    # a nested guard's open circuit or throttle
    ERROR = "error"                        # anything else (a bug, a cancellation)


class RequestObserver(Protocol):
    def request_leaving(self, venue: str, method: VenueMethod) -> None:
        """A request has passed the guards and is about to be sent."""

    def request_answered(self, venue: str, method: VenueMethod, outcome: RequestOutcome,
                         seconds: float) -> None:
        """The request ended (`seconds` on the wall clock since it left)."""
