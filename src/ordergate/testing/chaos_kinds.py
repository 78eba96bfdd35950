"""The kinds of chaos a `ChaosVenue` serves, and the calls each can strike.

The simulated venue's faults make *calls* fail (timeouts, 5xx, 429, rejects, outages);
these distort what a call that succeeded *says*, or what became of a request:

- `DUPLICATE_FILLS` (fetch_fills): every trade reported twice, as a replayed or
  overlapping trade feed does;
- `REORDERED_FILLS` (fetch_fills): newest trade first;
- `LAGGING_FILLS` (fetch_fills): the latest trade not visible yet, while the order's
  report already counts it (trade feeds lag order status on real venues);
- `STALE_REPORT` (place, fetch_order, cancel): an older report of the order than one
  already given: the first report seen for it, or, if there is none, the bare
  acknowledgement (ACCEPTED, nothing filled) of an order that has in fact traded. After
  a lost reply this is the acknowledgement arriving after the fill;
- `STATUS_LAGS_FILLS` (place, fetch_order, cancel): a report whose fills are counted but
  whose status still says ACCEPTED: the fill is heard of before the acknowledgement;
- `NOT_FOUND_YET` (place): the order is placed and the reply arrives, but for
  `visibility_lag_s` after that lookups answer "no such order" and the open-orders list
  leaves it out: queries served by a replica behind the matching engine, as Binance's
  are for a moment after a placement (-2013 "Order does not exist");
- `REPLY_LOST` (place, fetch_order, fetch_fills, cancel): the call takes effect at the
  venue and the reply is lost (`VenueTimeout`): a connection dropped mid-request;
- `DELAYED_SEND` (place): the request is held up in transit and the caller times out
  (`VenueTimeout`); the venue gets it `delay_s` later, still inside its request window
  (Binance's recvWindow, 10 s by default), and executes it then. Until then the venue
  truthfully answers "not found". The request meets the venue as any other would, faults
  and all (an outage at that moment loses it);
- `CRASH_BEFORE_SEND` / `CRASH_AFTER_SEND` (place): the process dies (`ProcessKilled`,
  a `BaseException` nothing in the engine catches) just before the request leaves, or
  just after the venue took it;
- `LOST_IN_TRANSIT` (place, replace, place_oco): the request never reaches the venue and
  the caller times out: nothing happened, which only a lookup can tell.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["APPLIES_TO", "Chaos"]


class Chaos(StrEnum):
    DUPLICATE_FILLS = "duplicate_fills"
    REORDERED_FILLS = "reordered_fills"
    LAGGING_FILLS = "lagging_fills"
    STALE_REPORT = "stale_report"
    STATUS_LAGS_FILLS = "status_lags_fills"
    NOT_FOUND_YET = "not_found_yet"
    REPLY_LOST = "reply_lost"
    DELAYED_SEND = "delayed_send"
    CRASH_BEFORE_SEND = "crash_before_send"
    CRASH_AFTER_SEND = "crash_after_send"
    LOST_IN_TRANSIT = "lost_in_transit"


_REPORTING = frozenset({"place", "fetch_order", "cancel"})
_SENDING = frozenset({"place", "replace", "place_oco"})
APPLIES_TO: dict[Chaos, frozenset[str]] = {
    Chaos.DUPLICATE_FILLS: frozenset({"fetch_fills"}),
    Chaos.REORDERED_FILLS: frozenset({"fetch_fills"}),
    Chaos.LAGGING_FILLS: frozenset({"fetch_fills"}),
    Chaos.STALE_REPORT: _REPORTING,
    Chaos.STATUS_LAGS_FILLS: _REPORTING,
    Chaos.NOT_FOUND_YET: _SENDING,
    Chaos.REPLY_LOST: _REPORTING | _SENDING | {"fetch_fills"},
    Chaos.DELAYED_SEND: _SENDING,
    Chaos.CRASH_BEFORE_SEND: _SENDING,
    Chaos.CRASH_AFTER_SEND: _SENDING,
    Chaos.LOST_IN_TRANSIT: _SENDING,
}
"""The operations each kind of chaos can be queued for."""
