"""Trouble and the kill switch: an unexpected exception (`SystemError`), a background
venue call failing and answering again (`supervision.py` says each once per episode),
and the kill switch moving, by policy or by an operator."""

from __future__ import annotations

from ordergate.domain.values import TradingState
from ordergate.events.base import Event
from ordergate.records import record


@record
class SystemError(Event):  # noqa: A001 - the name the issue asks for; shadows a builtin only here
    """Something inside the engine raised unexpectedly: a subscriber (`event_type` is the
    event it was handling), or a step of a decision or of the control loop (`source`
    names it). `error` is the exception's type and message, `where` the place it was
    raised. Audited and counted; by policy (`supervision.on_error`) it halts trading."""

    source: str
    error: str
    event_type: str = ""
    where: str = ""
    signal_id: str | None = None


@record
class VenueCallFailed(Event):
    """A background call to a venue (following orders, reconciling, reloading instruments)
    started failing; it is retried, and this is said once per episode, not once per try.
    `subject` is the order or account a refusal was specific to (empty for the venue)."""

    venue: str
    operation: str
    subject: str
    error: str


@record
class VenueCallRecovered(Event):
    """The venue answered that call again, after `failures` failed tries over `seconds`."""

    venue: str
    operation: str
    subject: str
    failures: int
    seconds: float
    last_error: str


@record
class TradingStateChanged(Event):
    """The kill switch moved (ACTIVE, REDUCING, HALTED), by policy or by an operator."""

    from_state: TradingState
    to_state: TradingState
    reason: str
    by: str = ""
    """The operator who moved it (an HTTP token's name); empty for a policy."""
