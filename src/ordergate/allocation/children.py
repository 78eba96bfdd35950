"""A block's children as its journaled record holds them, and what ends one.

Each child is a small JSON object in the block's `spec` (`blocks.py`): its account,
venue, quantity and state, and for a re-route or a completion what it stands in for.
Its client order ID derives from the signal (a completion's own derived signal ID) and
the account, so the record names its order without storing the ID.
"""

from __future__ import annotations

import json
from decimal import Decimal
from hashlib import blake2b
from typing import Any

from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.signal import TradingSignalGenerated
from ordergate.pipeline.chain import Outcome
from ordergate.pipeline.client_order_id import client_order_id_for
from ordergate.pipeline.reasons import ReasonCode as R

PENDING, SENT, REFUSED, FAILED = "pending", "sent", "refused", "failed"
_FAIL_OVER_CODES = frozenset({R.INSUFFICIENT_EQUITY, R.NO_EQUITY, R.VENUE_DISABLED,
                              R.VENUE_CIRCUIT_OPEN, R.VENUE_ERROR})
"""Refusals another account could pass: its own equity, its own venue."""


def failure(outcome: Outcome, order: Order | None) -> str | None:
    """Why this child failed where another account might not, or None (sent, refused for
    a reason any account would meet, or not known yet: never re-routed then)."""
    if order is None:
        code = outcome.code
        return f"{code}: {outcome.reason}" if code in _FAIL_OVER_CODES else None
    return order_failure(order)


def order_failure(order: Order, last_reason: str | None = None) -> str | None:
    """A child whose order failed (never accepted) or was refused for funds: another
    account may succeed. `last_reason`: the last transition's, for an order read back
    from the journal (which holds its transitions apart)."""
    last = last_reason if last_reason is not None else (
        order.transitions[-1].reason if order.transitions else "")
    if order.status is OrderStatus.FAILED:
        return f"FAILED: {last}"
    if order.status is OrderStatus.REJECTED and last.startswith(R.INSUFFICIENT_FUNDS):
        return last
    return None


def child_order_id(signal: TradingSignalGenerated, child: dict[str, Any]) -> str:
    return client_order_id_for(signal.strategy_id, child["account"],
                               child.get("signal_id", signal.signal_id))


def completion_signal_id(signal_id: str, attempt: int) -> str:
    """A completion's own signal ID (its client order ID derives from it): the same for
    the same block and attempt, after a restart too; hashed, as a signal ID may already
    be as long as one may be."""
    digest = blake2b(signal_id.encode(), digest_size=12).hexdigest()
    return f"completion-{attempt}-{digest}"


def new_child(account: str, venue: str, quantity: Decimal | None) -> dict[str, Any]:
    return {"account": account, "venue": venue, "state": PENDING,
            "quantity": None if quantity is None else str(quantity)}


def dumps(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def summary(parent_id: str, results: list[tuple[str, Outcome]]) -> Outcome:
    """The block's answer: admitted if any child was; each child's end in the reason."""
    parts = []
    for account, o in results:
        if o.admitted and o.order is not None:
            parts.append(f"{account} {o.order.quantity} {o.order.status}")
        else:
            parts.append(f"{account} refused {o.code} by {o.handler}")
    admitted = [o for _, o in results if o.admitted]
    reason = f"block {parent_id}: " + (", ".join(parts) or "every child was sent before")
    if admitted:
        return Outcome(True, "allocator", reason, None, admitted[0].order)
    code = next((o.code for _, o in results if o.code is not None), None)
    return Outcome(not results, "allocator", reason, code, None)


def block_order_ids(spec: dict[str, Any]) -> list[str]:
    """The client order IDs a block's record names, in its order (the children that were
    never sent included: the journal has no order for them)."""
    signal = TradingSignalGenerated.model_validate(spec["signal"])
    return [child_order_id(signal, child) for child in spec["children"]]
