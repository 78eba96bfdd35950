"""Refusals by reason code over time, from the audit log without parsing all of it.

A million-signal replay writes some nine million audit lines (2.5 GB); decoding each would
take minutes. A refusal is a `handler_verdict` line with `"decision":"deny"`, and the
audit subscriber writes that key exactly so (compact JSON, the decision among the leading
keys), so the file is read in large blocks, searched for those bytes, and only the lines
that hold them are decoded. A line that does not decode (a crash mid-write) is counted
and reported, never fatal.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from ordergate.views.report.sources import ReportError
from ordergate.views.report.timeline import micros_of

DENY = b'"decision":"deny"'
BLOCK = 8 << 20


@dataclass(frozen=True, slots=True)
class Refusals:
    edges: list[int]
    """Bucket starts, microseconds; the last bucket runs to the end of the replay."""
    per_code: dict[str, list[int]]
    """Per reason code, refusals in each bucket."""
    unreadable: int


def scan_refusals(path: Path, edges: list[int]) -> Refusals:
    per_code: dict[str, list[int]] = {}
    unreadable = 0

    def take(line: bytes) -> None:
        nonlocal unreadable
        try:
            record = orjson.loads(line)
            if record.get("event") != "handler_verdict":
                return
            at = micros_of(str(record["ts"]))
        except (orjson.JSONDecodeError, KeyError, ValueError, AttributeError):
            unreadable += 1
            return
        code = str(record.get("code") or "UNSPECIFIED")
        bucket = max(0, bisect_right(edges, at) - 1)
        per_code.setdefault(code, [0] * len(edges))[bucket] += 1

    try:
        with open(path, "rb") as handle:
            carry = b""
            while block := handle.read(BLOCK):
                data = carry + block
                end = data.rfind(b"\n") + 1
                _lines_with(data, end, take)
                carry = data[end:]
            _lines_with(carry, len(carry), take)  # a last line without its newline
    except OSError as exc:
        raise ReportError(f"{path}: unreadable: {exc}") from None
    return Refusals(edges, dict(sorted(per_code.items())), unreadable)


def _lines_with(data: bytes, end: int, take: Callable[[bytes], None]) -> None:
    at = data.find(DENY, 0, end)
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        stop = data.find(b"\n", at, end)
        stop = end if stop < 0 else stop
        take(data[start:stop])
        at = data.find(DENY, stop, end)
