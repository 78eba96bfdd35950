"""One readable line per audit record, for a terminal: `ordergate audit tail`.

Layout: time, decision (coloured by what it means), who decided (the handler, or the
kind of event), the signal, the money of fills and positions (quantity @ price, aligned
on the decimal point so that a column of fills reads as one), then the reason, whole, and
the client order ID when the line has one. Nothing is cut to fit: a long reason wraps
(rich's `soft_wrap`: the terminal wraps it, a pipe gets one line per record). Without a
terminal, rich prints no colour, so the same lines can be grepped.

Every text shown comes from the file and is made printable first: the audit log escapes
control characters, but parsing undoes that, and a malformed line has no escaping at all;
a venue's error text must not move the cursor or reverse the terminal's text direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from ordergate.views.audit_records import Record

_RED = frozenset({"deny", "invalid", "rejected", "failed", "error", "failing", "unresolved",
                  "disabled", "halted"})
_GREEN = frozenset({"admit", "fill", "filled", "recovered", "active",
                    "closed"})  # a venue's circuit closed again (positions are magenta)
_YELLOW = frozenset({"partial_fill", "partially_filled", "warning", "expired", "cancelled",
                     "cancel_pending", "open", "half_open", "reducing", "adopted", "changed",
                     "inferred", "resynced"})
_BLUE = frozenset({"received", "pending", "submitted", "accepted"})
_POSITION = frozenset({"position_opened", "position_changed", "position_closed",
                       "position_adopted"})
_WHO = {"order_transition": "order", "signal_received": "signal", "fill": "fill",
        **{name: "position" for name in _POSITION}}
QUANTITY = (6, 6)
"""Digits before and after the decimal point that still align, for quantities; a larger
number widens its own line (never cut)."""
PRICE = (7, 8)
MONEY_WIDTH = sum(QUANTITY) + 1 + 3 + sum(PRICE) + 1


def style_of(decision: str, event: str) -> str:
    """The colour of a decision: red refused or broken, green admitted or filled, yellow
    partial or ended without a fill, blue on its way."""
    d = decision.lower()
    if event in _POSITION:
        return "magenta"
    if d in _RED:
        return "bold red"
    if d in _GREEN:
        return "green"
    if d in _YELLOW:
        return "yellow"
    if d in _BLUE:
        return "cyan"
    if event in ("reconciliation_drift", "order_open_at_shutdown", "slippage_exceeded"):
        return "yellow"
    return ""


def printable(text: str) -> str:
    """`text` with every non-printable character escaped (`\\x1b`, `\\u202e`)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def align_decimal(value: str, widths: tuple[int, int]) -> str:
    """`value` padded so that its decimal point sits in a fixed column (the digits are the
    file's, as written: never rounded or re-spelt)."""
    whole, dot, fraction = value.partition(".")
    return whole.rjust(widths[0]) + (dot + fraction).ljust(widths[1] + 1)


def money_of(fields: Mapping[str, Any]) -> str:
    """`quantity @ price` for fills and positions; blanks of the same width otherwise."""
    event = fields.get("event")
    if event == "fill":
        quantity, price = fields.get("quantity"), fields.get("price")
    elif event in _POSITION:
        quantity, price = fields.get("quantity"), fields.get("average_entry")
    else:
        quantity = price = None
    if quantity is None or price is None:
        return " " * MONEY_WIDTH
    return (f"{align_decimal(printable(str(quantity)), QUANTITY)} @ "
            f"{align_decimal(printable(str(price)), PRICE)}")


def render(record: Record, signal: str | None = None) -> Text:
    """The record as one line; `signal`: its signal when the line names only its order."""
    if record.fields is None:
        return render_malformed(record)
    f = record.fields
    text_of = record.text
    event = text_of("event") or "?"
    decision = text_of("decision") or "?"
    who = text_of("handler") or _WHO.get(event, event)
    line = Text(no_wrap=False)
    line.append(printable(_short_ts(text_of("ts") or "?")), style="dim")
    line.append("  ")
    line.append(printable(decision).ljust(16), style=style_of(decision, event))
    line.append(" ")
    line.append(printable(who).ljust(14), style="bold" if text_of("handler") else "")
    line.append(" ")
    line.append(printable(text_of("signal_id") or signal or "-").ljust(12))
    line.append(" ")
    line.append(money_of(f))
    line.append("  ")
    code = text_of("code")
    if code:
        line.append(printable(code) + ": ", style=style_of(decision, event))
    line.append(printable(text_of("reason") or ""))
    order = text_of("client_order_id")
    if order:
        line.append("  " + printable(order), style="dim")
    return line


def render_malformed(record: Record, width: int = 80) -> Text:
    """`malformed line N: <its first 80 characters>` and what is wrong with it."""
    head = printable(record.raw[:width].decode("utf-8", errors="replace"))
    more = "…" if len(record.raw) > width else ""
    line = Text()
    line.append(f"malformed line {record.number}: ", style="bold red")
    line.append(head + more, style="dim")
    line.append(f"  ({printable(record.problem)})", style="red")
    return line


def _short_ts(ts: str) -> str:
    """`2026-01-02T00:00:05.250000+00:00` -> `2026-01-02 00:00:05.250000Z`: same digits."""
    if ts.endswith("+00:00"):
        ts = ts[:-6] + "Z"
    return ts.replace("T", " ", 1)
