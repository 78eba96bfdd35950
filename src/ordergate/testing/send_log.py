"""`SendLog`: the order in which a venue saw requests for a client order ID and lookups of
it, to check the promise "after a timeout, look the order up by client order ID before
any resend".

A second request under a client order ID is legitimate only once the venue has said it
does not have the first: a lookup answered "not found", or the first request refused
outright (an error that is not ambiguous: the venue did not take it). A resend with
neither in between is a second order wherever the first did arrive; the simulated venue
refuses the duplicate, so counting orders per client order ID at the venue cannot see
it. This log can.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Seen(Enum):
    SENT = "sent"
    """A request under the ID left for the venue (it may or may not have arrived)."""
    REFUSED = "refused"
    """The venue refused that request unambiguously: it does not have it."""
    ABSENT = "absent"
    """A lookup by the ID was answered "not found"."""


class SendLog:
    def __init__(self) -> None:
        self.entries: list[tuple[Seen, str]] = []

    def record(self, seen: Seen, client_order_id: str) -> None:
        self.entries.append((seen, client_order_id))

    def to_json(self) -> list[list[str]]:
        """`[["sent", "c-1"], ...]`: how a venue emulator in another process hands it over."""
        return [[seen.value, cid] for seen, cid in self.entries]

    @classmethod
    def from_json(cls, entries: Iterable[Iterable[str]]) -> SendLog:
        log = cls()
        for seen, cid in entries:
            log.record(Seen(seen), cid)
        return log

    def resent_unlooked(self) -> list[str]:
        """Client order IDs sent again with neither an absent lookup nor a refusal since
        their last send, in the order the second sends happened."""
        cleared: dict[str, bool] = {}  # sent before -> may be sent again
        offenders: list[str] = []
        for seen, cid in self.entries:
            if seen is Seen.SENT:
                if cid in cleared and not cleared[cid]:
                    offenders.append(cid)
                cleared[cid] = False
            elif cid in cleared:
                cleared[cid] = True
        return offenders
