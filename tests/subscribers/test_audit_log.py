"""Spec: the audit file is plain printable ASCII, whatever text reaches it.

Operators read it with `tail` and `grep`: a control character from a venue's error text
(an ANSI escape), a right-to-left override in an unknown field name, or a look-alike
letter must arrive escaped (`\\u202e`), never as the raw character. JSON decoding gives
the original text back."""

import json
from datetime import UTC, datetime

import pytest

from ordergate.bus import EventBus
from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings
from ordergate.events import ReconciliationDrift, SignalInvalid, SystemError
from ordergate.subscribers.audit_log import AuditLog

T0 = datetime(2026, 1, 2, tzinfo=UTC)
HOSTILE = ["\u202eevil", "\x1b[31mred\x1b[0m", "del\x7fete", "caf\u00e9", "\u0430ccount",
           "nul\x00l", "line\u2028break", "\U0001f680", "tab\tcr\r", "\ufeffbom"]


@pytest.fixture
def audit(tmp_path):
    bus = EventBus()
    log = AuditLog(bus, AuditSettings(path=tmp_path / "audit.jsonl", rotation=None,
                                      retention=None), SimulatedClock(T0))
    yield bus, log
    log.close()


def _lines(log):
    log.flush()
    return log.path.read_bytes()


@pytest.mark.parametrize("text", HOSTILE)
def test_text_with_control_or_non_ascii_characters_is_escaped_in_the_file(audit, text):
    bus, log = audit
    bus.publish(SignalInvalid(T0, f"field{text}", f"reason {text}", None, 7))
    bus.publish(SystemError(T0, "venue", f"error {text}", "OrderFilled"))
    bus.publish(ReconciliationDrift(T0, "sim", "main", "position_mismatch", text, "1", "2",
                                    f"detail {text}"))
    raw = _lines(log)
    assert all(0x20 <= byte < 0x7F or byte == 0x0A for byte in raw), raw
    records = [json.loads(line) for line in raw.decode("ascii").splitlines()]
    assert records[0]["field"] == f"field{text}"
    assert records[0]["reason"] == f"field{text}: reason {text}"
    assert text in records[1]["reason"]
    assert records[2]["subject"] == text


def test_plain_ascii_is_written_as_it_is(audit):
    bus, log = audit
    bus.publish(SignalInvalid(T0, "quantity", "Input should be greater than 0", "s-1", 3))
    assert _lines(log) == (
        b'{"ts": "2026-01-02T00:00:00+00:00", "event": "signal_invalid", "signal_id": "s-1", '
        b'"client_order_id": null, "handler": "boundary", "decision": "invalid", "reason": '
        b'"quantity: Input should be greater than 0", "field": "quantity", "line": 3}\n')
