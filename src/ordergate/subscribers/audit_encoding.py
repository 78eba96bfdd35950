"""An audit line's encoding: `encode_line` (compact JSON, keys in the order given, ASCII
only, the same bytes whichever encoder wrote it) and `EVENT_NAMES`, every `event` a line
can have.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# ASCII only: a control character or a right-to-left override in a venue's error text or
# a sender's field name must reach the file escaped (\u202e), not raw, where `tail` would
# render it. orjson escapes control characters but writes other text as UTF-8, so a line
# that is not plain printable ASCII is encoded again by the standard library with every
# non-ASCII character escaped (JSON leaves DEL, 0x7f, as it is: escaped here too). Same
# compact separators both ways, so a line's bytes do not depend on the path it took.
EVENT_NAMES = frozenset({
    "signal_received", "signal_invalid", "handler_verdict", "order_transition", "fill",
    "order_unresolved", "order_open_at_shutdown", "slippage_exceeded", "position_opened",
    "position_changed", "position_closed", "instrument_inferred", "venue_circuit",
    "system_error", "venue_error", "venue_disabled", "reconciliation_drift", "trading_state",
    "order_adopted", "position_adopted", "instrument_rules_changed", "venue_clock_resynced",
    "bracket",
    "algorithm_started", "slice_sent", "algorithm_waiting", "algorithm_finished",
    "order_updated", "order_modify_rejected", "stop_triggered", "allocation_decided",
    "allocation_failover", "account_status", "allocation_completion", "child_signal",
})
"""Every `event` a line can have: what a reader may filter on (`GET /v1/events?event=`),
so a misspelt name is refused instead of matching nothing, quietly, forever."""
_escaping = json.JSONEncoder(ensure_ascii=True, default=str, separators=(",", ":")).encode
_dumps = orjson.dumps


def encode_line(record: dict[str, Any]) -> str:
    raw = _dumps(record, default=str)
    if raw.isascii() and 0x7F not in raw:  # an int: `b"\x7f" in` tries it as one first
        return raw.decode("ascii")
    return _escaping(record).replace("\x7f", "\\u007f")

