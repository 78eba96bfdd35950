"""The crash test's verdict: our records (journal, audit logs, the engine's summary) checked
against the venue's own (the emulator's orders, trades and balances).

Figures (each must be 0 / "0"):
- `duplicate_orders`: client order IDs the venue holds more than one order for;
- `lost_fills`: venue trades of our orders that are not in our journal;
- `phantom_fills`: journal fills the venue has no trade for (a trade is named by its
  symbol and trade ID, as the journal keys fills: Binance numbers trades per symbol);
- `position_drift`: our position minus the venue's. Ours is the sum of the journaled fills,
  a buy's base-asset commission subtracted (Binance takes it out of the BTC bought); the
  venue's is its BTC balance (free + locked; the account starts with none);
- `engine_position_drift`: the engine's own reported position (its run summary) minus the
  venue's, so the position tracker is checked too, not only our arithmetic;
- `signals_without_outcome`: signals fed with no terminal, audited outcome: a signal with
  an order needs the order terminal in the journal and that terminal status in an audit
  line (`order_transition`); a signal without one needs a refusal in the audit log (a
  `handler_verdict` deny other than DUPLICATE_SIGNAL, or `signal_invalid`);
- `orders_without_decision`: journaled orders whose decision is not in the audit log (the
  signal received, the validator's and the risk manager's admit, the SUBMITTED transition):
  those lines are written and fsync'ed before the order's request leaves, so no kill
  during a send may leave an order, or its fills, that no audit line explains;
- `conflicting_outcomes`: orders audited with two different terminal statuses;
- `fills_applied_twice`: venue trades audited as a fill more than once, but for one line
  of each life a kill cut short before the fill was committed. The journal keys fills by
  (venue, symbol, trade ID), and a decision's audit lines are written before its commit
  (audit first: a kill between the two repeats a line instead of losing it), so a kill
  there leaves a line whose fill the next life finds missing and applies, the first time
  the journal has it: `fill_lines_repeated_after_kill` counts those, and they fail
  nothing. Any other second line means the engine applied a trade it already had (double
  counted in the order's filled quantity and in the position it held in memory);
- `order_mismatches`: orders whose journal status or filled quantity disagrees with the
  venue's (a FAILED order the venue holds, a FILLED one it calls cancelled, ...);
- `orders_not_terminal` / `venue_open_orders`: anything still working at the end;
- `drift_reports`: the engine's own reconciliation (`reconciliation_drift` audit lines)
  saying the venue disagrees with it. In a correct run there is nothing to report: a
  report is either real drift or a false alarm, and either halts trading.

`classify_kill` names the moment a kill hit, from the journal as it survived the kill and
the venue's state right after it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ordergate.testing.crash_brackets import brackets_at_venue, unprotected_entries
from ordergate.testing.crash_procs import TERMINAL, FillKey, JournalSnapshot, fill_key
from ordergate.testing.send_log import SendLog

BASE, QUOTE = "BTC", "USDT"
MOMENTS = ("start_up", "before_exits", "before_send", "in_transit", "after_send_before_ack",
           "mid_partial_fill", "mid_cancel", "working", "idle")
# The venue's word for each terminal journal status; FAILED and REJECTED have no order there.
_VENUE_STATUS = {"FILLED": "FILLED", "CANCELLED": "CANCELED", "EXPIRED": "EXPIRED"}
_VENUE_OPEN = ("NEW", "PARTIALLY_FILLED")


def decimal_text(value: Decimal) -> str:
    """"0" for any zero, plain digits otherwise (no exponent)."""
    return "0" if value == 0 else format(value.normalize(), "f")


@dataclass(slots=True)
class AuditRecord:
    """What the audit logs (all lives together) say about signals and orders."""

    terminal: dict[str, set[str]] = field(default_factory=dict)   # client order ID -> statuses
    refused: dict[str, set[str]] = field(default_factory=dict)    # signal ID -> deny codes
    invalid: set[str] = field(default_factory=set)
    fill_lines: Counter[FillKey] = field(default_factory=Counter)  # trade -> `fill` lines
    uncommitted_fill_lines: Counter[FillKey] = field(default_factory=Counter)
    """Trade -> the killed lives that audited it but whose journal, after the kill, did not
    hold it (`note_uncommitted_fills`): lines the next life rightly writes again."""
    drift: list[str] = field(default_factory=list)               # the engine's own drift reports
    decided: dict[str, set[str]] = field(default_factory=dict)  # signal ID -> what is audited
    submitted: set[str] = field(default_factory=set)             # client order IDs sent
    signals_received: int = 0
    first_signal_at: float | None = None  # wall-clock time of the first signal taken
    torn_lines: int = 0  # a line cut short by a kill mid-write


def read_audit(paths: Iterable[Path]) -> AuditRecord:
    record = AuditRecord()
    for path in paths:
        if not path.exists():
            continue
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except ValueError:
                record.torn_lines += 1
                continue
            add_audit_line(record, line)
    return record


def add_audit_line(record: AuditRecord, line: Mapping[str, Any]) -> None:
    event, decision = line.get("event"), line.get("decision")
    if event == "order_transition" and decision in TERMINAL:
        record.terminal.setdefault(str(line["client_order_id"]), set()).add(str(decision))
    elif event == "handler_verdict" and decision == "deny":
        record.refused.setdefault(str(line["signal_id"]), set()).add(str(line.get("code")))
    elif event == "handler_verdict" and decision == "admit":
        record.decided.setdefault(str(line["signal_id"]), set()).add(str(line.get("handler")))
    elif event == "order_transition" and decision == "SUBMITTED":
        record.submitted.add(str(line["client_order_id"]))
    elif event == "signal_invalid" and line.get("signal_id") is not None:
        record.invalid.add(str(line["signal_id"]))
    elif event == "fill":
        record.fill_lines[fill_key(str(line.get("symbol") or ""), line.get("trade_id"))] += 1
    elif event == "reconciliation_drift":
        record.drift.append(f"{decision}: {line.get('reason')}")
    elif event == "signal_received":
        record.decided.setdefault(str(line["signal_id"]), set()).add("received")
        record.signals_received += 1
        if record.first_signal_at is None:
            record.first_signal_at = datetime.fromisoformat(str(line["ts"])).timestamp()


def note_uncommitted_fills(life: AuditRecord, journal: JournalSnapshot,
                           into: Counter[FillKey]) -> None:
    """After a kill: count in `into` each trade that this life audited as a fill (`life`:
    its audit log alone) and the journal, as the kill left it, does not hold. Once per
    life, however many lines it wrote: two lines in one life stay a double count."""
    into.update(key for key in life.fill_lines if key not in journal.fills)


def journal_position(journal: JournalSnapshot) -> Decimal:
    """Net base quantity from our fills, a commission paid in the base asset subtracted,
    plus what a cold start adopted (`adopted_positions`, journal schema v2)."""
    total = sum((Decimal(a["quantity"]) for a in journal.adopted
                 if a["symbol"].split("/")[0] == BASE), Decimal(0))
    for fill in journal.fills.values():
        quantity = Decimal(fill["quantity"])
        total += quantity if fill["side"] == "buy" else -quantity
        if fill["fee_currency"] == BASE:
            total -= Decimal(fill["fee"])
    return total


def venue_position(state: Mapping[str, Any]) -> Decimal:
    balance = state["balances"].get(BASE, {"free": "0", "locked": "0"})
    return Decimal(balance["free"]) + Decimal(balance["locked"])


def outcome_problem(signal_id: str, client_order_id: str, journal: JournalSnapshot,
                    audit: AuditRecord) -> str | None:
    """Why this signal has no terminal, audited outcome; None when it has one."""
    order = journal.orders.get(client_order_id)
    if order is None:
        refusals = audit.refused.get(signal_id, set()) - {"DUPLICATE_SIGNAL"}
        if refusals or signal_id in audit.invalid:
            return None
        return "no order in the journal and no refusal in the audit log"
    status = order["status"]
    if status not in TERMINAL:
        return f"order {client_order_id} is still {status}"
    audited = audit.terminal.get(client_order_id, set())
    if status not in audited:
        seen = ", ".join(sorted(audited)) or "none"
        return (f"order {client_order_id} is {status} in the journal but the audit log has "
                f"no {status} transition (terminal lines: {seen})")
    return None


def order_problem(order: Mapping[str, Any], venue_orders: list[Mapping[str, Any]]) -> str | None:
    """Where the journal and the venue disagree about one order (None: they agree)."""
    status, cid = order["status"], order["client_order_id"]
    if not venue_orders:
        if status in ("FAILED", "REJECTED"):
            return None
        return f"{cid}: {status} in the journal, unknown at the venue"
    venue = venue_orders[-1]
    if status in ("FAILED", "REJECTED"):
        return (f"{cid}: {status} in the journal, but the venue holds order "
                f"{venue['orderId']} ({venue['status']}, executed {venue['executedQty']})")
    if Decimal(order["filled_quantity"]) != Decimal(venue["executedQty"]):
        return (f"{cid}: filled {order['filled_quantity']} in the journal, "
                f"{venue['executedQty']} at the venue")
    expected = _VENUE_STATUS.get(status)
    if expected is not None and venue["status"] != expected:
        return f"{cid}: {status} in the journal, {venue['status']} at the venue"
    if status not in TERMINAL and venue["status"] not in _VENUE_OPEN:
        return f"{cid}: {status} in the journal, {venue['status']} at the venue"
    return None


def figures(signals: Mapping[str, str], state: Mapping[str, Any], journal: JournalSnapshot,
            audit: AuditRecord, engine_position: Decimal | None,
            derived: Collection[str] = ()) -> tuple[dict[str, Any], list[str]]:
    """The verdict figures and, for a human, what each non-zero one is made of.

    `signals` maps every signal ID fed (in any life) to its client order ID; `derived` is
    every other client order ID the engine may derive from them (a bracket's exits)."""
    problems: list[str] = []
    ours = set(signals.values()) | set(derived)
    counts: Mapping[str, int] = state["client_order_id_counts"]
    duplicates = sorted(cid for cid, n in counts.items() if n > 1)
    problems += [f"duplicate: {counts[cid]} venue orders for client order ID {cid}"
                 for cid in duplicates]
    # The venue refuses a duplicate, so one order per ID can hide a resend that no lookup
    # preceded: the emulator's log of requests, refusals and lookups shows it.
    resent = SendLog.from_json(state["sends"]).resent_unlooked()
    problems += [f"sent again with no lookup finding it absent (nor a refusal) since: {cid}"
                 for cid in resent]
    strangers = sorted(cid for cid in counts if cid not in ours)
    problems += [f"the venue holds an order under a client order ID we never derived: {cid}"
                 for cid in strangers]

    venue_trades = {fill_key(t["symbol"], t["id"]): t for t in state["trades"]}
    lost = sorted(set(venue_trades) - set(journal.fills))
    problems += [f"lost fill: venue trade {key[0]} {key[1]} of {venue_trades[key]['clientOrderId']} "
                 f"({venue_trades[key]['qty']} @ {venue_trades[key]['price']}) is not in the journal"
                 for key in lost]
    phantom = sorted(set(journal.fills) - set(venue_trades))
    problems += [f"phantom fill: journal trade {key[0]} {key[1]} is unknown at the venue"
                 for key in phantom]

    ours_position, venue_pos = journal_position(journal), venue_position(state)
    drift = ours_position - venue_pos
    if drift:
        problems.append(f"position: journal {ours_position}, venue {venue_pos}")
    engine_drift = None if engine_position is None else engine_position - venue_pos
    if engine_drift:
        problems.append(f"position: engine reports {engine_position}, venue {venue_pos}")
    if engine_position is None:
        problems.append("the final run printed no summary: the engine's position is unknown")

    without = 0
    for signal_id, cid in sorted(signals.items()):
        if (why := outcome_problem(signal_id, cid, journal, audit)) is not None:
            without += 1
            problems.append(f"signal {signal_id} without outcome: {why}")
    undecided = []
    for signal_id, cid in sorted(signals.items()):
        if cid not in journal.orders:
            continue
        missing = sorted({"received", "validator", "risk"} - audit.decided.get(signal_id, set()))
        missing += [] if cid in audit.submitted else ["the SUBMITTED transition"]
        if missing:
            undecided.append(cid)
            problems.append(f"order {cid} (signal {signal_id}) is in the journal, but the audit "
                            f"log lacks its decision: {', '.join(missing)}")
    repeated = audit.uncommitted_fill_lines
    twice = sorted(key for key, n in audit.fill_lines.items() if n - repeated[key] > 1)
    problems += [f"fill applied twice: trade {key[0]} {key[1]} has {audit.fill_lines[key]} "
                 f"fill lines in the audit logs ({repeated[key]} of them in a life killed "
                 "before its commit)" for key in twice]
    conflicting = sorted(cid for cid, seen in audit.terminal.items() if len(seen) > 1)
    problems += [f"conflicting outcomes for {cid}: {sorted(audit.terminal[cid])}"
                 for cid in conflicting]

    by_cid: dict[str, list[Mapping[str, Any]]] = {}
    for order in state["orders"]:
        by_cid.setdefault(order["clientOrderId"], []).append(order)
    mismatches = [p for o in journal.orders.values()
                  if (p := order_problem(o, by_cid.get(o["client_order_id"], []))) is not None]
    problems += [f"mismatch: {p}" for p in mismatches]
    venue_open = [o for o in state["orders"] if o["status"] in _VENUE_OPEN]
    problems += [f"still open at the venue: {o['clientOrderId']} ({o['status']})" for o in venue_open]
    problems += [f"the engine reported drift ({n} times): {d}"
                 for d, n in Counter(audit.drift).items()]

    result: dict[str, Any] = {
        "duplicate_orders": len(duplicates) + len(strangers),
        "resent_without_lookup": len(resent),
        "lost_fills": len(lost),
        "position_drift": decimal_text(drift),
        "signals_without_outcome": without,
        "orders_without_decision": len(undecided),
        "phantom_fills": len(phantom),
        "engine_position_drift": None if engine_drift is None else decimal_text(engine_drift),
        "conflicting_outcomes": len(conflicting),
        "fills_applied_twice": len(twice),
        "fill_lines_repeated_after_kill": sum(
            min(n, audit.fill_lines[key] - 1) for key, n in repeated.items() if n > 0),
        "order_mismatches": len(mismatches),
        "orders_not_terminal": len(journal.open_orders()),
        "venue_open_orders": len(venue_open),
        "drift_reports": len(audit.drift),
        "signals": len(signals),
        "orders": len(state["orders"]),
        "fills": len(venue_trades),
        "position": decimal_text(venue_pos),
        "audit_torn_lines": audit.torn_lines,
    }
    return result, problems


FAILING = ("duplicate_orders", "resent_without_lookup", "lost_fills", "signals_without_outcome", "orders_without_decision",
           "phantom_fills",
           "conflicting_outcomes", "fills_applied_twice", "order_mismatches", "orders_not_terminal",
           "venue_open_orders", "drift_reports")


def passed(result: Mapping[str, Any]) -> bool:
    return (all(result[key] == 0 for key in FAILING) and result["position_drift"] == "0"
            and result["engine_position_drift"] == "0")


# ---------------------------------------------------------------- classifying a kill


@dataclass(frozen=True, slots=True)
class InFlight:
    """What the driver knows was happening at the venue when it killed: fault hits."""

    posts_held: int = 0           # order requests held in a delay before processing
    posts_detached: bool = False  # ... that the venue will still execute
    deletes: int = 0              # cancel requests that hit a fault (in flight or unanswered)
    signals_read: bool = True     # the engine had taken a signal (it was past its start-up)


def classify_kill(journal: JournalSnapshot, state: Mapping[str, Any], in_flight: InFlight,
                  ours: set[str], entries: Collection[str] = ()) -> str:
    """The moment a kill hit, most specific first (see MOMENTS). `entries`: the client
    order IDs of protected entries (brackets); one the venue filled whose stop-loss it
    does not hold (yet) for what is open is `before_exits`."""
    venue: dict[str, Mapping[str, Any]] = {}
    for order in state["orders"]:
        if order["clientOrderId"] in ours:
            venue[order["clientOrderId"]] = order
    if not in_flight.signals_read:
        return "start_up"  # loading markets, recovering, reconciling: no signal taken yet
    if unprotected_entries(brackets_at_venue(entries, state)):
        return "before_exits"
    unfinished = journal.open_orders()
    if in_flight.deletes or any(
            venue.get(o["client_order_id"], {}).get("status") == "CANCELED" for o in unfinished):
        return "mid_cancel"
    sent = [o for o in unfinished if o["status"] in ("PENDING", "SUBMITTED")]
    if any(o["client_order_id"] in venue for o in sent):
        return "after_send_before_ack"
    for order in unfinished:
        at_venue = venue.get(order["client_order_id"])
        if at_venue is not None and Decimal(at_venue["executedQty"]) > 0 and (
                at_venue["status"] in _VENUE_OPEN
                or Decimal(at_venue["executedQty"]) != Decimal(order["filled_quantity"])):
            return "mid_partial_fill"
    if sent:  # journaled as sent, unknown at the venue
        return "in_transit" if in_flight.posts_held and in_flight.posts_detached else "before_send"
    return "working" if unfinished else "idle"


def kills_by_moment(moments: Iterable[str]) -> dict[str, int]:
    counted = Counter(moments)
    return {m: counted[m] for m in MOMENTS if counted[m]}
