"""A signal line's JSON, read at the boundary: bounded in size (`MAX_SIGNAL_LINE_BYTES`)
and nesting (`MAX_SIGNAL_DEPTH`) before the JSON parser sees it, UTF-8, numbers as
`Decimal`, no key given twice (`decode_json_object`); and `SignalParseError`, the one
exception a bad line raises, naming its field in a form safe to print (`_field_name`).
What the object becomes is `domain/signal.py`'s (`parse_signal_mapping`).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ordergate.domain.signal_rules import is_identifier


class SignalParseError(ValueError):
    """A signal line that could not become a `TradingSignalGenerated`.

    `field` names the offending field (or `json` for a line that is not JSON at all) so an
    operator can fix the producer without reading a traceback."""

    def __init__(self, field: str, reason: str, signal_id: str | None = None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.signal_id = signal_id


MAX_SIGNAL_LINE_BYTES = 64 * 1024
"""The longest signal line accepted, line ending included (bytes of UTF-8; for a `str`,
characters). A full signal is about 400 bytes. A reader should read at most one more
than this per line (`readline(MAX_SIGNAL_LINE_BYTES + 1)`), so an endless line costs it
no more memory than this."""

MAX_SIGNAL_DEPTH = 8
"""The deepest nesting of arrays and objects accepted. A signal is one flat object
(depth 1); the bound is checked before the JSON parser, which recurses once per level
(a line nested 1000 deep would raise `RecursionError` inside it)."""

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class _DuplicateKey(Exception):
    def __init__(self, key: str, pairs: list[tuple[str, Any]]) -> None:
        self.key, self.pairs = key, pairs


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`json.loads` keeps the last of two equal keys: `"side": "buy", "side": "sell"` would
    be a sell. Two values for one field is an ambiguous signal, refused."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key, pairs)
            seen.add(key)
    return obj


def _unreadable(exc: Exception) -> str:
    return f"unreadable: {type(exc).__name__}: {exc}"[:200]


def _too_deep(text: str) -> bool:
    """True if arrays and objects nest deeper than `MAX_SIGNAL_DEPTH` outside strings.

    The opening brackets bound the depth, so the usual line (one `{` and no `[`) costs two
    `find`s (memchr), and a line with a few brackets inside strings two `count`s. Only a
    line with more brackets than the bound is scanned, with its strings blanked out."""
    if "[" not in text and text.find("{", text.find("{") + 1) < 0:
        return False
    if text.count("{") + text.count("[") <= MAX_SIGNAL_DEPTH:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > MAX_SIGNAL_DEPTH:
                return True
        else:
            depth -= 1
    return False


# One decoder for every line: `json.loads` with hooks builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_int=Decimal,
                            parse_constant=_reject_constant,
                            object_pairs_hook=_object_without_duplicates)


def decode_json_object(line: str | bytes) -> dict[str, Any]:
    """A JSON object read as a signal line is (the first half of `parse_signal_json`):
    bounded in size and depth, UTF-8, numbers as `Decimal`, no key twice. Shared with the
    HTTP server, whose request bodies (a signal, a direct order) get the same boundary."""
    if len(line) > MAX_SIGNAL_LINE_BYTES:
        raise SignalParseError("json", f"line is longer than {MAX_SIGNAL_LINE_BYTES} bytes")
    if not isinstance(line, str):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignalParseError(
                "json", f"malformed JSON: not valid UTF-8 at byte {exc.start}") from None
    if _too_deep(line):
        raise SignalParseError(
            "json", f"nested deeper than {MAX_SIGNAL_DEPTH} levels; a signal is one flat object")
    try:
        raw = _DECODER.decode(line)
    except _DuplicateKey as dup:
        ids = [value for key, value in dup.pairs if key == "signal_id"]
        raise SignalParseError(_field_name(dup.key), "appears more than once: one value per "
                               "field", _echo_signal_id(ids[0]) if len(ids) == 1 else None) from None
    except ValueError as exc:
        raise SignalParseError("json", f"malformed JSON: {exc}") from None
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        raise SignalParseError("json", "malformed JSON: a number is out of range") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - not expected, but one line must not end the reader
        raise SignalParseError("json", _unreadable(exc)) from None
    if not isinstance(raw, dict):
        raise SignalParseError("json", "a signal must be a JSON object")
    return raw


MAX_FIELD_NAME = 64
"""A field name longer than this (an unknown key is the sender's text) is cut short in the
error, its audit line and its message."""


def _field_name(name: str) -> str:
    """The name of an offending field as the sender wrote it, made safe to print: escaped
    (`ascii()`) unless printable ASCII, and at most `MAX_FIELD_NAME` characters."""
    if not is_identifier(name):
        name = ascii(name)[1:-1]
    return name if len(name) <= MAX_FIELD_NAME else name[:MAX_FIELD_NAME - 3] + "..."


def _echo_signal_id(value: Any) -> str | None:
    """The signal ID to name in an error, if it is a valid one: an invalid ID is the
    sender's text and stays out of the audit line."""
    if isinstance(value, str) and 0 < len(value) <= 128 and is_identifier(value):
        return value
    return None
