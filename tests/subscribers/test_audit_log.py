"""Spec: the audit file is plain printable ASCII, whatever text reaches it, and never holds
the variable values of a traceback.

Operators read it with `tail` and `grep`: a control character from a venue's error text
(an ANSI escape), a right-to-left override in an unknown field name, or a look-alike
letter must arrive escaped (`\\u202e`), never as the raw character. JSON decoding gives
the original text back. Observers (the live event stream) get exactly the file's lines,
once they are in it."""


import inspect
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ordergate.bus import EventBus
from ordergate.clock import SimulatedClock
from ordergate.config import AuditSettings
from ordergate.events import ReconciliationDrift, SignalInvalid, SystemError
from ordergate.subscribers import audit_lines, audit_log
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
        b'{"ts":"2026-01-02T00:00:00+00:00","event":"signal_invalid","signal_id":"s-1",'
        b'"client_order_id":null,"handler":"boundary","decision":"invalid","reason":'
        b'"quantity: Input should be greater than 0","field":"quantity","line":3}\n')


def test_a_line_that_needs_escaping_has_the_same_shape_as_one_that_does_not(audit):
    # orjson writes the plain line, the standard library the escaped one: same separators.
    bus, log = audit
    bus.publish(SignalInvalid(T0, "quantity", "Input should be greater than 0", "s-1", 3))
    bus.publish(SignalInvalid(T0, "quantity", "Input should be greater than \u00e90", "s-1", 3))
    plain, escaped = _lines(log).splitlines()
    assert escaped == plain.replace(b"than 0", b"than \\u00e90")


SECRET = "s3cr3t-value-of-a-local-variable"


def _fails_with_a_secret_in_a_local() -> None:
    api_secret = SECRET
    raise RuntimeError(len(api_secret))


def test_an_exception_logged_to_the_audit_sink_shows_no_variable_values(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(EventBus(), AuditSettings(path=path), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    audit_logger = audit._info.__self__  # type: ignore[attr-defined]  # the sink's bound logger
    try:
        _fails_with_a_secret_in_a_local()
    except RuntimeError:
        audit_logger.exception("something failed")
    audit.close()
    text = path.read_text()
    assert "something failed" in text and "RuntimeError" in text
    assert SECRET not in text


def test_observers_get_each_batch_as_the_file_has_it_once_it_is_written(audit):
    bus, log = audit
    seen: list[tuple[list[str], bytes]] = []
    records: list[dict] = []
    log.observers.append(lambda lines, rs: (seen.append((list(lines), log.path.read_bytes())),
                                            records.extend(rs)))
    bus.publish(SignalInvalid(T0, "quantity", "Input should be greater than 0", "s-1", 3))
    bus.publish(SignalInvalid(T0, "side", "caf\u00e9", "s-2", 4))
    assert seen == []  # nothing is observed before it is written
    log.flush()
    log.flush()  # nothing new: nothing observed
    [(lines, on_disk)] = seen
    assert "\n".join(lines).encode() + b"\n" == on_disk == log.path.read_bytes()
    assert [json.loads(line)["signal_id"] for line in lines] == ["s-1", "s-2"]
    # with each line the dict it was encoded from: what the line decodes to
    assert records == [json.loads(line) for line in lines]


def test_every_event_name_the_log_writes_is_in_event_names():
    source = inspect.getsource(audit_lines)  # the line builders (`AuditLines`)
    written = set(re.findall(r'self\._write\([^,]+, "([a-z_]+)"', source))
    written |= set(re.findall(r'Position(?:Opened|Changed|Closed): \("([a-z_]+)"', source))
    assert written == audit_log.EVENT_NAMES
