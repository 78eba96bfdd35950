"""The verdict of the crash test's multi-account plan (`crash_blocks`): our records
against the venue's, key by key.

- `duplicate_orders`: per key, a client order ID with two venue orders, or one we never
  derived for that key's account (a child sent with another account's key);
- `resent_without_lookup`: a client order ID sent again with no lookup answered "not
  found" (nor an outright refusal) since its previous send (the emulator's send log);
- `lost_fills` / `phantom_fills`: venue trades under any key missing from the journal,
  and journal fills the venue has no trade for;
- `position_drift`: per account, its journaled fills (a base commission subtracted)
  against its key's BTC, summed as absolute values so that opposite errors at two keys
  cannot cancel out; `engine_position_drift`: the final run's reported position against
  all keys together;
- `signals_without_outcome`: a block with no journaled child and no refusal;
- `orders_not_terminal`, `venue_open_orders`, `drift_reports` (the engine's own).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from ordergate.testing.crash_check import AuditRecord, decimal_text
from ordergate.testing.crash_procs import JournalSnapshot, fill_key
from ordergate.testing.send_log import SendLog


class Child(Protocol):
    """A block as the verdict needs it: the client order ID of each account's child."""

    def child_id(self, account: str) -> str: ...


def figures(blocks: Mapping[str, Child], state: Mapping[str, Any], journal: JournalSnapshot,
            audit: AuditRecord, engine_position: Decimal | None,
            keys: Mapping[str, tuple[str, str]]) -> tuple[dict[str, Any], list[str]]:
    """The verdict over every key (module docstring). `keys`: account -> (API key,
    secret); `blocks`: signal ID -> the block, which names each account's child."""
    problems: list[str] = []
    duplicates = 0
    for account, (api_key, _) in keys.items():
        counts: Mapping[str, int] = state["accounts"][api_key]["client_order_id_counts"]
        ours = {b.child_id(account) for b in blocks.values()}
        for cid, n in sorted(counts.items()):
            if n > 1 or cid not in ours:
                duplicates += 1
                problems.append(f"{account}'s key: {n} venue order(s) for {cid}"
                                + ("" if cid in ours else ", a client order ID never derived"))
    resent = SendLog.from_json(state["sends"]).resent_unlooked()
    problems += [f"sent again with no lookup finding it absent (nor a refusal) since: {cid}"
                 for cid in resent]
    venue_trades = {fill_key(t["symbol"], t["id"]): t for t in state["trades"]}
    lost = sorted(set(venue_trades) - set(journal.fills))
    phantom = sorted(set(journal.fills) - set(venue_trades))
    problems += [f"lost fill: venue trade {k} of {venue_trades[k]['clientOrderId']}" for k in lost]
    problems += [f"phantom fill: journal trade {k}" for k in phantom]
    drift, venue_total = Decimal(0), Decimal(0)
    for account, (api_key, _) in keys.items():
        ours_position = Decimal(0)
        for fill in journal.fills.values():
            order = journal.orders.get(str(fill["client_order_id"]), {})
            if order.get("account_id") != account:
                continue
            quantity = Decimal(fill["quantity"])
            ours_position += quantity if fill["side"] == "buy" else -quantity
            if fill["fee_currency"] == "BTC":
                ours_position -= Decimal(fill["fee"])
        balance = state["accounts"][api_key]["balances"].get("BTC", {"free": "0", "locked": "0"})
        venue_pos = Decimal(balance["free"]) + Decimal(balance["locked"])
        venue_total += venue_pos
        if ours_position != venue_pos:
            drift += abs(ours_position - venue_pos)
            problems.append(f"{account}: journal position {ours_position}, its key's BTC {venue_pos}")
    engine_drift = None if engine_position is None else engine_position - venue_total
    if engine_drift:
        problems.append(f"engine reports {engine_position}, the keys hold {venue_total}")
    if engine_position is None:
        problems.append("the final run printed no summary: the engine's position is unknown")
    children = {str(o["signal_id"]) for o in journal.orders.values()}
    without = sorted(s for s in blocks if s not in children
                     and not (audit.refused.get(s, set()) - {"DUPLICATE_SIGNAL"}))
    problems += [f"block {s} without outcome: no child in the journal, no refusal" for s in without]
    open_orders = journal.open_orders()
    problems += [f"not terminal: {o['client_order_id']} {o['status']}" for o in open_orders]
    venue_open = [o for o in state["orders"] if o["status"] in ("NEW", "PARTIALLY_FILLED")]
    problems += [f"drift reported: {d}" for d in audit.drift]
    result: dict[str, Any] = {
        "duplicate_orders": duplicates, "resent_without_lookup": len(resent),
        "lost_fills": len(lost),
        "position_drift": decimal_text(drift),
        "signals_without_outcome": len(without), "phantom_fills": len(phantom),
        "engine_position_drift": None if engine_drift is None else decimal_text(engine_drift),
        "orders_not_terminal": len(open_orders), "venue_open_orders": len(venue_open),
        "drift_reports": len(audit.drift), "blocks": len(blocks),
        "orders": len(state["orders"]), "fills": len(venue_trades),
        "children_by_key": {a: sum(state["accounts"][k]["client_order_id_counts"].values())
                            for a, (k, _) in keys.items()},
    }
    return result, problems


_ZERO_FIGURES = ("duplicate_orders", "resent_without_lookup", "lost_fills", "signals_without_outcome", "phantom_fills",
                 "orders_not_terminal", "venue_open_orders", "drift_reports")


def passed(result: Mapping[str, Any]) -> bool:
    return (all(result[k] == 0 for k in _ZERO_FIGURES) and result["position_drift"] == "0"
            and result["engine_position_drift"] == "0")
