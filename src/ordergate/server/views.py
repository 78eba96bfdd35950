"""What the HTTP API shows of orders, positions and verdicts: JSON built from the journal
and the engine, money as strings (never a float on the wire).

An order is read back from the journal, not from memory: the journal holds every order
(finished ones are evicted from the ledger after a grace period), its fills and every
transition with its reason, and a restart rebuilds nothing here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ordergate.allocation.children import block_order_ids
from ordergate.domain.order import OrderStatus
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.domain.values import ZERO
from ordergate.engine import Engine
from ordergate.journal.order_journal import OrderJournal
from ordergate.pipeline.chain import Outcome
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.subscribers.audit_log import DISPLAY
from ordergate.pipeline.reasons import ReasonCode
from ordergate.server.problems import problem_body

TERMINAL = frozenset(status.value for status in OrderStatus if status.is_terminal)


def order_view(journal: OrderJournal, client_order_id: str) -> dict[str, Any] | None:
    """State, fills, average price, fees per currency and the transition history."""
    row = journal.order(client_order_id)
    if row is None:
        return None
    fills = journal.fills(client_order_id)
    filled, notional = ZERO, ZERO
    fees: dict[str, Decimal] = {}
    for fill in fills:
        quantity, price = Decimal(fill["quantity"]), Decimal(fill["price"])
        filled += quantity
        notional += quantity * price
        if Decimal(fill["fee"]):
            currency = fill["fee_currency"]
            fees[currency] = fees.get(currency, ZERO) + Decimal(fill["fee"])
    return {
        "client_order_id": row["client_order_id"], "venue_order_id": row["venue_order_id"],
        "signal_id": row["signal_id"], "strategy_id": row["strategy_id"],
        "account": row["account_id"], "venue": row["venue"], "symbol": row["symbol"],
        "side": row["side"], "type": row["order_type"], "quantity": row["quantity"],
        "price": row["price"], "time_in_force": row["time_in_force"],
        "post_only": bool(row["post_only"]), "trigger_price": row["trigger_price"],
        "expires_at": row["expires_at"],
        "parent_id": row["parent_id"], "role": row["role"], "leg": row["leg"],
        "reduce_only": bool(row["reduce_only"]),
        "children": [{"client_order_id": c["client_order_id"], "role": c["role"],
                      "leg": c["leg"], "state": c["status"]}
                     for c in journal.children(client_order_id)],
        "state": row["status"],
        "finished": row["status"] in TERMINAL,
        "filled_quantity": str(filled),
        "average_price": str(notional / filled) if filled else None,
        "fees": {currency: str(amount) for currency, amount in sorted(fees.items())},
        "fills": [{"trade_id": f["trade_id"], "price": f["price"], "quantity": f["quantity"],
                   "fee": f["fee"], "fee_currency": f["fee_currency"],
                   "liquidity": f["liquidity"], "ts": f["ts"]} for f in fills],
        "transitions": [{"from": t["from_status"], "to": t["to_status"], "ts": t["ts"],
                         "reason": t["reason"]} for t in journal.transitions(client_order_id)],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def order_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A listed order: its row, without fills and transitions (ask for the order for those)."""
    return {"client_order_id": row["client_order_id"], "venue_order_id": row["venue_order_id"],
            "signal_id": row["signal_id"], "account": row["account_id"], "venue": row["venue"],
            "symbol": row["symbol"], "side": row["side"], "type": row["order_type"],
            "quantity": row["quantity"], "price": row["price"],
            "trigger_price": row["trigger_price"],
            "filled_quantity": row["filled_quantity"], "state": row["status"],
            "parent_id": row["parent_id"], "role": row["role"], "leg": row["leg"],
            "reduce_only": bool(row["reduce_only"]),
            "created_at": row["created_at"], "updated_at": row["updated_at"]}


def positions_view(engine: Engine) -> list[dict[str, Any]]:
    """Derived money (the average entry, realized and unrealized PnL) to 8 places, as the
    audit log shows it: an average of fills is a long division (50000.000999000999...).

    Unrealized PnL is at the last mid the engine saw for the symbol (`EngineMarket.marks`:
    each signal's reference price), given with `marked_at` so its age is plain; null
    before any was seen. No venue is called for it."""
    marks = engine.market.marks
    views = []
    for _, p in sorted(engine.positions.positions.items()):
        seen = marks.get((p.venue, p.symbol))
        views.append({
            "account": p.account_id, "venue": p.venue, "symbol": p.symbol,
            "quantity": str(p.quantity), "average_entry": _derived(p.average_entry),
            "realized_pnl": _derived(p.realized_pnl),
            "mark": None if seen is None else str(seen[0]),
            "marked_at": None if seen is None else seen[1].isoformat(),
            "unrealized_pnl": None if seen is None else _derived(p.unrealized_pnl(seen[0])),
            "fees": {c: str(a) for c, a in sorted(p.fees.items())}})
    return views


def _derived(amount: Decimal) -> str:
    return f"{amount.quantize(DISPLAY):f}"


def verdict_answer(engine: Engine, signal: TradingSignalGenerated,
                   outcome: Outcome) -> tuple[int, dict[str, Any]]:
    """The answer to a signal or a direct order: what the chain decided.

    - admitted and an order made: 201 with the client order ID and the order;
    - admitted with nothing sent (a chain without the executor: a dry run): 200;
    - refused by a handler: 200 with `admitted: false`, the handler, reason code and
      reason. A refusal is the verdict asked for, not a failed request; a non-2xx status
      would tell a retrying client to try again, and 409 means "in flight" (idempotency);
    - refused as DUPLICATE_SIGNAL (this signal's order already exists: sent from the
      signal file, or before a crash lost its answer): 200, with that existing order;
    - a handler raised (INTERNAL_ERROR, already audited as `system_error`) before any
      order existed: 500 problem. Retrying is safe: the client order ID is the signal's."""
    order, code, signal_id = outcome.order, outcome.code, signal.signal_id
    if code is ReasonCode.INTERNAL_ERROR and order is None:
        return 500, problem_body(500, "internal-error", "the decision failed unexpectedly; "
                                 "it was audited (system_error) and nothing was sent",
                                 signal_id=signal_id)
    body: dict[str, Any] = {"admitted": outcome.admitted, "signal_id": signal_id,
                            "handler": outcome.handler,
                            "code": None if code is None else code.value,
                            "reason": outcome.reason, "client_order_id": None, "order": None,
                            "parent": None}
    if order is None and code is ReasonCode.DUPLICATE_SIGNAL:
        order_id = client_order_id_for(signal.strategy_id, signal.account_id, signal_id)
        if engine.journal.order(order_id) is not None:
            body["client_order_id"] = order_id
            body["order"] = order_view(engine.journal, order_id)
        return 200, body
    if order is not None:
        body["client_order_id"] = order.client_order_id
        body["order"] = order_view(engine.journal, order.client_order_id)
        return (201 if outcome.admitted else 200), body
    if outcome.admitted:  # carried out by an algorithm: the answer names its parent
        parent = parent_view(engine.journal, client_order_id_for(
            signal.strategy_id, signal.account_id, signal_id))
        if parent is not None:
            body["parent"] = parent
            return 201, body
    return 200, body


def parent_view(journal: OrderJournal, parent_id: str) -> dict[str, Any] | None:
    """A bracket, an algorithm (TWAP) or a block as the journal has it: what it was asked
    to do (`spec`), its status, and every order derived from it with what each has
    filled, so an operator reads parent -> slices (entry -> exits, block -> its accounts'
    orders) in one answer."""
    row = journal.parent(parent_id)
    if row is None:
        return None
    children, filled = [], ZERO
    rows = journal.children(parent_id)
    if row["kind"] == "block":  # a block's children are its accounts' own orders
        found = (journal.order(cid) for cid in block_order_ids(json.loads(row["spec"])))
        rows = [order for order in found if order is not None]
    for child in rows:
        cid = str(child["client_order_id"])
        done = sum((Decimal(f["quantity"]) for f in journal.fills(cid)), ZERO)
        filled += done
        children.append({"client_order_id": cid, "role": child["role"], "leg": child["leg"],
                         "state": child["status"], "quantity": child["quantity"],
                         "filled_quantity": str(done)})
    return {"parent_id": parent_id, "kind": row["kind"], "signal_id": row["signal_id"],
            "status": row["status"], "spec": json.loads(row["spec"]),
            "created_at": row["created_at"], "updated_at": row["updated_at"],
            "children": children, "children_filled": str(filled)}

