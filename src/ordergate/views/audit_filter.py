"""Which audit records a reader asked for: `Criteria` (what was asked) and `Matcher` (the
test, with what it has learnt from the lines read so far).

Why the matcher learns: not every line names everything it belongs to. A position line
carries the client order ID but no signal ID; only the signal's `signal_received` line
names its account, and no field of it names the symbol. So, reading in file order, the
matcher remembers each order's signal (from the lines that carry both IDs), each
signal's account and symbol (from its latest `signal_received`: a signal ID can be
received again, for another symbol, and be refused as a duplicate) and each order's
(what its signal said when the order was made); `--signal demo-1` then also matches the
position lines of demo-1's order, and `--account main` the handlers' verdicts on main's
signals. The maps hold one entry per signal or order of the log (tens of bytes each);
accounts and symbols are learnt only when a filter needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ordergate.subscribers.audit_log import EVENT_NAMES


class CriteriaError(ValueError):
    """A filter that cannot match as written (a misspelt event name, a time that is not
    ISO-8601): refused with a message naming it, never a filter that quietly matches
    nothing."""


@dataclass(frozen=True, slots=True)
class Criteria:
    """What to show; every filter given must match (an empty set: no filter)."""

    signals: frozenset[str] = frozenset()
    orders: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    decisions: frozenset[str] = frozenset()
    """Lower case: `deny` matches `deny`, `filled` matches `FILLED`."""
    accounts: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    since: datetime | None = None
    """Inclusive, on the engine's `ts`."""
    until: datetime | None = None
    """Inclusive, on the engine's `ts`."""

    @classmethod
    def build(cls, *, signals: list[str] | None = None, orders: list[str] | None = None,
              events: list[str] | None = None, decisions: list[str] | None = None,
              accounts: list[str] | None = None, symbols: list[str] | None = None,
              since: str | None = None, until: str | None = None) -> Criteria:
        """From the command line's values (each repeatable or comma-separated)."""
        wanted_events = _values(events)
        unknown = sorted(wanted_events - EVENT_NAMES)
        if unknown:
            raise CriteriaError(f"--event {', '.join(unknown)}: not an audit event; one of "
                                f"{', '.join(sorted(EVENT_NAMES))}")
        start, end = parse_time(since, "--since"), parse_time(until, "--until")
        if start is not None and end is not None and start > end:
            raise CriteriaError(f"--since {since} is after --until {until}: nothing can match")
        return cls(_values(signals), _values(orders), wanted_events,
                   frozenset(d.lower() for d in _values(decisions)), _values(accounts),
                   _values(symbols), start, end)

    @property
    def empty(self) -> bool:
        return not (self.signals or self.orders or self.events or self.decisions
                    or self.accounts or self.symbols or self.since or self.until)


def parse_time(text: str | None, option: str = "time") -> datetime | None:
    """ISO-8601 (`2026-01-02T00:01:00Z`, `2026-01-02 00:01`, `2026-01-02`); a time
    without an offset is UTC, as the engine's clock is."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CriteriaError(f"{option} {text!r}: not an ISO-8601 time "
                            "(e.g. 2026-01-02T00:01:00Z)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _values(given: list[str] | None) -> frozenset[str]:
    return frozenset(v.strip() for item in given or () for v in item.split(",") if v.strip())


@dataclass(slots=True)
class Matcher:
    """`matcher(fields)`: whether a record matches, learning from every record it sees
    (call it on every record, in file order, matching or not)."""

    criteria: Criteria
    order_signal: dict[str, str] = field(default_factory=dict)
    signal_account: dict[str, str] = field(default_factory=dict)
    signal_symbol: dict[str, str] = field(default_factory=dict)
    order_account: dict[str, str] = field(default_factory=dict)
    order_symbol: dict[str, str] = field(default_factory=dict)
    _last_ts: str = ""
    _last_moment: datetime | None = None
    _learn: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        c = self.criteria
        self._learn = bool(c.accounts or c.symbols)

    def __call__(self, fields: Mapping[str, Any]) -> bool:
        c = self.criteria
        signal, order = _text(fields, "signal_id"), _text(fields, "client_order_id")
        if order is not None:  # always: the view shows a position line's signal too
            if signal is not None:
                self.order_signal.setdefault(order, signal)
            else:
                signal = self.order_signal.get(order)
        account = symbol = None
        if self._learn:
            account, symbol = self._learn_from(fields, signal, order)
        if c.events and _text(fields, "event") not in c.events:
            return False
        if c.decisions and (_text(fields, "decision") or "").lower() not in c.decisions:
            return False
        if c.orders and order not in c.orders:
            return False
        if c.signals and signal not in c.signals:
            return False
        if c.accounts and account not in c.accounts:
            return False
        if c.symbols and symbol not in c.symbols:
            return False
        if c.since is not None or c.until is not None:
            moment = self._moment(_text(fields, "ts"))
            if moment is None:
                return False  # no readable time: cannot be shown to be inside the window
            if c.since is not None and moment < c.since:
                return False
            if c.until is not None and moment > c.until:
                return False
        return True

    def signal_of(self, fields: Mapping[str, Any]) -> str | None:
        """The record's signal: its own field, or what its order's lines said (learnt)."""
        return _text(fields, "signal_id") or self.order_signal.get(
            _text(fields, "client_order_id") or "")

    def _learn_from(self, fields: Mapping[str, Any], signal: str | None,
                    order: str | None) -> tuple[str | None, str | None]:
        """The record's account and symbol: its own fields, else its order's, else its
        signal's. A signal ID received again (a resend, or a reuse the executor refuses
        as a duplicate) starts again from its new line; an order keeps what its signal
        said when the order was made."""
        account, symbol = _text(fields, "account_id"), _text(fields, "symbol")
        if signal is not None and _text(fields, "event") == "signal_received":
            symbol = symbol or received_symbol(_text(fields, "reason") or "")
            if account is not None:
                self.signal_account[signal] = account
            if symbol is not None:
                self.signal_symbol[signal] = symbol
        if order is not None:
            if order not in self.order_symbol and signal is not None:
                self.order_account[order] = account or self.signal_account.get(signal, "")
                self.order_symbol[order] = symbol or self.signal_symbol.get(signal, "")
            account = account or self.order_account.get(order) or None
            symbol = symbol or self.order_symbol.get(order) or None
        if signal is not None:
            account = account or self.signal_account.get(signal)
            symbol = symbol or self.signal_symbol.get(signal)
        return account, symbol

    def _moment(self, ts: str | None) -> datetime | None:
        if ts is None:
            return None
        if ts != self._last_ts:  # most lines of a decision share one timestamp
            try:
                moment = datetime.fromisoformat(ts)
            except ValueError:
                return None  # no time to compare: --since/--until pass it by, and the
                # line itself is shown as it is (its ts is the engine's own field)
            self._last_ts = ts
            self._last_moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return self._last_moment


def received_symbol(reason: str) -> str | None:
    """The symbol of a `signal_received` line, which has no field for it: its reason is
    `"{side} {quantity or 'auto-sized'} {symbol}..."` (`subscribers/audit_lines.py`)."""
    words = reason.split(" ", 3)
    return words[2] if len(words) >= 3 else None


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return None if value is None else str(value)
