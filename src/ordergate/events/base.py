"""`Event`: what every event is, a record with the time it happened."""

from __future__ import annotations

from datetime import datetime

from ordergate.records import record


@record
class Event:
    ts: datetime
