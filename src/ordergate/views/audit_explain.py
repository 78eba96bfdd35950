"""The story of one signal, from the audit log: `ordergate audit explain ID PATH`.

In file order (which is the engine's order): the signal received, each handler's verdict
with its reason, the order's transitions with theirs, each fill, the position it moved;
then one outcome line that says how it ended. `ID` is a signal ID or a client order ID
(an order's lines name its signal, so an order ID finds the whole story too).

Two streamed passes over the file, never the file in memory: the first finds which signal
`ID` is (a client order ID is only learnt at the order's first transition, after its
signal's verdicts), the second collects that signal's lines (`audit_filter.Matcher`,
which also picks up the position lines, which name only the order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ordergate.views.audit_filter import Criteria, Matcher
from ordergate.views.audit_records import Record, parse, read_lines
from ordergate.views.audit_tail import printable

_DISPLAY = Decimal("0.00000001")


@dataclass(slots=True)
class Story:
    """What the log says about one signal."""

    asked: str
    signal_id: str | None
    records: list[Record] = field(default_factory=list)
    malformed: int = 0
    """Malformed lines of the file: not readable, so possibly part of this story."""


def find_story(path: Path, asked: str) -> Story:
    """The lines of `asked`'s signal (a signal or client order ID); none when unknown."""
    signal, order_only = _identify(path, asked)
    story = Story(asked, signal)
    if signal is None and not order_only:
        return story
    criteria = Criteria(signals=frozenset({signal})) if signal else Criteria(
        orders=frozenset({asked}))
    matcher = Matcher(criteria)
    for line in read_lines(path):
        record = parse(line)
        if record.fields is None:
            story.malformed += 1
        elif matcher(record.fields):
            story.records.append(record)
    return story


def _identify(path: Path, asked: str) -> tuple[str | None, bool]:
    """(the signal ID, whether `asked` is an order whose lines name no signal)."""
    seen_as_order = False
    for line in read_lines(path):
        record = parse(line)
        if record.fields is None:
            continue
        if record.text("signal_id") == asked:
            return asked, False
        if record.text("client_order_id") == asked:
            signal = record.text("signal_id")
            if signal is not None:
                return signal, False
            seen_as_order = True
    return None, seen_as_order


def narrate(story: Story) -> list[str]:
    """The story as short lines of plain text; the last says how it ended."""
    if not story.records:
        return []
    first = story.records[0].fields or {}
    day = str(first.get("ts", ""))[:10]
    received = next((r.fields for r in story.records
                     if r.fields and r.fields.get("event") == "signal_received"), None)
    about = [f"strategy {received['strategy_id']}" if received and received.get(
        "strategy_id") else "", f"account {received['account_id']}" if received and
        received.get("account_id") else "", day]
    title = (f"Signal {story.signal_id}" if story.signal_id else f"Order {story.asked}")
    lines = [printable(f"{title} ({', '.join(a for a in about if a)})")]
    orders_named: set[str] = set()
    for record in story.records:
        fields = record.fields or {}
        lines.append(f"  {printable(_when(str(fields.get('ts', '?')), day))}  "
                     f"{printable(_sentence(fields, orders_named))}")
    lines.append(printable(_outcome(story.records)))
    return lines


def _when(ts: str, day: str) -> str:
    """The time of day, or the whole time when the story has moved on to another day."""
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return moment.time().isoformat() if ts[:10] == day else ts


def _sentence(f: Mapping[str, Any], orders_named: set[str]) -> str:
    """One line of the story; an order is named in full at its first transition only."""
    event, decision, reason = f.get("event"), str(f.get("decision")), str(f.get("reason"))
    handler = f.get("handler")
    if event == "signal_received":
        return f"received: {reason}"
    if event == "signal_invalid":
        return f"invalid at the boundary (input line {f.get('line')}): {reason}"
    if event == "handler_verdict":
        if decision == "deny":
            return f"{handler} denied it ({f.get('code')}): {reason}"
        return f"{handler} {'admitted it' if decision == 'admit' else decision}: {reason}"
    if event == "order_transition":
        order = str(f.get("client_order_id"))
        name = "order" if order in orders_named else f"order {order}"
        orders_named.add(order)
        return f"{name} {f.get('from_status')} -> {decision}: {reason}"
    if event == "fill":
        kind = "partial fill" if decision == "partial_fill" else "fill"
        return (f"{kind} {f.get('trade_id')}: {reason}, fee {f.get('fee')} "
                f"{f.get('fee_currency')}; filled {f.get('filled')}, remaining "
                f"{f.get('remaining')}")
    if event in ("position_opened", "position_changed", "position_closed"):
        return (f"position {decision} ({f.get('account_id')} at {f.get('venue')}): now "
                f"{reason}, realized PnL {plain(f.get('realized_pnl'))}")
    who = f" ({handler})" if handler else ""
    return f"{event} {decision}{who}: {reason}"


@dataclass(slots=True)
class _OrderOutcome:
    """One order's end, from its lines: its last state and its own fills."""

    state: str = ""
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    fills: int = 0
    unreadable: int = 0
    fees: dict[str, Decimal] = field(default_factory=dict)

    def add_fill(self, f: Mapping[str, Any]) -> None:
        self.fills += 1
        try:
            quantity, price = Decimal(str(f["quantity"])), Decimal(str(f["price"]))
            fee = Decimal(str(f.get("fee") or 0))
        except (KeyError, InvalidOperation):
            self.unreadable += 1
            return
        self.filled += quantity
        self.notional += quantity * price
        if fee:
            currency = str(f.get("fee_currency"))
            self.fees[currency] = self.fees.get(currency, Decimal(0)) + fee

    def money(self) -> str:
        fills = self.fills
        return (f"filled {self.filled} in {fills} fill{'s' * (fills != 1)} at average "
                f"{plain(self.notional / self.filled)}" if self.filled else "no fill")


def _outcome(records: Iterable[Record]) -> str:
    """How the signal ended: its order (the first one its lines name), with its own fills
    and fees; then any order derived from it (a bracket's exits, a TWAP's slices), each
    with its own, since an exit sells what the entry bought and adding the two would
    describe neither."""
    invalid = denied = None
    orders: dict[str, _OrderOutcome] = {}
    for record in records:
        f = record.fields or {}
        event = f.get("event")
        if event == "signal_invalid":
            invalid = f
        elif event == "handler_verdict" and f.get("decision") == "deny":
            denied = f
        elif event == "order_transition":
            cid = str(f.get("client_order_id"))
            orders.setdefault(cid, _OrderOutcome()).state = str(f.get("decision"))
        elif event == "fill":
            orders.setdefault(str(f.get("client_order_id")), _OrderOutcome()).add_fill(f)
    if orders:
        (order, first), *derived = orders.items()
        fees: dict[str, Decimal] = {}
        for outcome in orders.values():
            for currency, fee in outcome.fees.items():
                fees[currency] = fees.get(currency, Decimal(0)) + fee
        fee_text = ", ".join(f"{plain(v)} {c}" for c, v in sorted(fees.items()))
        unreadable = sum(outcome.unreadable for outcome in orders.values())
        bad = f"; {unreadable} fill line(s) with unreadable amounts" if unreadable else ""
        again = (f" (then sent again and denied: {denied.get('code')})" if denied else "")
        then = "".join(f"; then order {cid} {o.state or 'unknown'}: {o.money()}"
                       for cid, o in derived)
        return (f"Outcome: order {order} {first.state or 'unknown'}: {first.money()}{then}"
                f"{'; fees ' + fee_text if fee_text else ''}{bad}{again}.")
    if invalid is not None:
        return f"Outcome: invalid input ({invalid.get('field')}): nothing was sent."
    if denied is not None:
        return (f"Outcome: denied by {denied.get('handler')} ({denied.get('code')}): "
                "nothing was sent.")
    return ("Outcome: no verdict in the log after the signal was received (still being "
            "decided, or the log ends here).")


def plain(value: object) -> str:
    """A number without exponent or trailing zeros (`0E-8` -> `0`), to 8 places at most
    (an average's division has more); a value that is not a number, as it is."""
    try:
        number = Decimal(str(value))
        if not number.is_finite():
            return str(value)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -8:
            number = number.quantize(_DISPLAY)
    except InvalidOperation:
        return str(value)
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
