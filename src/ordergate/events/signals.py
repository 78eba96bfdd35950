"""A signal's verdicts: unparseable (`SignalInvalid`), let through by a handler
(`SignalAdmitted`), or refused by one (`SignalRejected`). The signal itself,
`TradingSignalGenerated`, is `domain/signal.py`'s."""

from __future__ import annotations

from ordergate.events.base import Event
from ordergate.records import record


@record
class SignalInvalid(Event):
    """A signal that could not be parsed: `field` names what was wrong."""

    field: str
    reason: str
    signal_id: str | None = None
    line: int | None = None


@record
class SignalAdmitted(Event):
    """One handler let the signal through; `reason` says on what grounds."""

    signal_id: str
    handler: str
    reason: str


@record
class SignalRejected(Event):
    """One handler refused the signal. Nothing was sent."""

    signal_id: str
    handler: str
    code: str
    reason: str
