"""Journal rows back into domain objects: what a restart, and anything that carries on
after one (restart recovery, brackets, algorithms), rebuilds orders and fills from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.domain.fill import Fill
from ordergate.domain.order import Order, OrderStatus
from ordergate.domain.values import Liquidity, OrderRole, OrderType, Side, TimeInForce
from ordergate.journal.order_journal import OrderJournal

S = OrderStatus


def fill_from_row(row: dict[str, Any]) -> Fill:
    return Fill(row["client_order_id"], row["trade_id"], row["account_id"], row["venue"],
                row["symbol"], Side(row["side"]), Decimal(row["price"]), Decimal(row["quantity"]),
                Decimal(row["fee"]), row["fee_currency"], Liquidity(row["liquidity"]),
                datetime.fromisoformat(row["ts"]))


def order_from_row(row: dict[str, Any], fills: list[Fill]) -> Order:
    def dec(key: str) -> Decimal | None:
        return None if row[key] is None else Decimal(row[key])

    order = Order(
        row["client_order_id"], row["signal_id"], row["strategy_id"], row["account_id"],
        row["venue"], row["symbol"], Side(row["side"]), OrderType(row["order_type"]),
        Decimal(row["quantity"]), dec("price"), TimeInForce(row["time_in_force"]),
        datetime.fromisoformat(row["created_at"]), expected_price=dec("expected_price"),
        expires_at=datetime.fromisoformat(row["expires_at"]) if row["expires_at"] else None,
        status=S(row["status"]), venue_order_id=row["venue_order_id"],
        post_only=bool(row["post_only"]), trigger_price=dec("trigger_price"),
        parent_id=row["parent_id"], role=OrderRole(row["role"]), leg=int(row["leg"]),
        reduce_only=bool(row["reduce_only"]),
    )
    for fill in fills:  # filled quantity is re-derived from the journaled fills
        order.add_execution(fill.price, fill.quantity, fill.fee, fill.fee_currency)
    return order


def order_with_fills(journal: OrderJournal, client_order_id: str) -> Order | None:
    """The order as journaled, its filled quantity from its journaled fills; None if the
    journal has no such order."""
    row = journal.order(client_order_id)
    if row is None:
        return None
    return order_from_row(row, [fill_from_row(f) for f in journal.fills(client_order_id)])
